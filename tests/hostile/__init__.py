"""Hostile input against the live system: WebSocket and REST fuzzing, the access matrix."""
