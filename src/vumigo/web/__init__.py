"""The web side: the ASGI app that serves the UI, the HTTP APIs and transport webhooks."""
