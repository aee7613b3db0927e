"""Local stand-ins for the outside services the tests cannot reach."""
