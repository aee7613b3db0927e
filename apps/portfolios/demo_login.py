"""The demo login, importable without Django (the dev launcher prints it)."""

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-portfolio"  # noqa: S105 - a documented demo login; seed_demo refuses production
