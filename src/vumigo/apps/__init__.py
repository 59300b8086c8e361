"""Conversation types (apps) and routers: one module each, registered by type name."""
