"""The message store: every message and event, by batch, with incremental counters."""
