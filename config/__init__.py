"""Project wiring: settings, URLs, the ASGI app (`asgi`) and the Celery app (`celery`)."""
