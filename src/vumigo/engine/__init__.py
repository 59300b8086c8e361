"""The message engine: the bus, the dispatcher, conversation workers and transports, wired."""

from vumigo.engine.core import Engine

__all__ = ["Engine"]
