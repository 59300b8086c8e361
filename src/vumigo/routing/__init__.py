"""Connectors and the per-account routing table that joins channels, routers and conversations."""
