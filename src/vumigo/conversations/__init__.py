"""Conversations (an account's running apps) and routers: their records and lifecycle."""
