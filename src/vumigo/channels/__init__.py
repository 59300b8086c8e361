"""Channels: tag pools, which accounts may use them, and acquiring and releasing their tags."""
