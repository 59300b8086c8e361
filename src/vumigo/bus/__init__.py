"""The message bus: named queues carrying Vumi message JSON between the platform's workers.

``base.Bus`` is the one interface; ``memory.MemoryBus`` runs everything in one process and the
RabbitMQ implementation runs it across processes. Code above the bus never knows which it has.
"""

from vumigo.bus.base import BatchHandler, Bus, BusUnavailable, Consumer, Delivery, Handler

__all__ = [
    "BatchHandler",
    "Bus",
    "BusUnavailable",
    "Consumer",
    "Delivery",
    "Handler",
    "create_bus",
]


def create_bus(broker_url: str | None, prefix: str = "") -> Bus:
    """The bus a configuration asks for: RabbitMQ for an amqp:// URL, else the in-process one."""
    if broker_url:
        from vumigo.bus.amqp import AmqpBus

        bus: Bus = AmqpBus(broker_url, prefix)
        return bus
    from vumigo.bus.memory import MemoryBus

    return MemoryBus()
