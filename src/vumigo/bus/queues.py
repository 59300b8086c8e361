"""The names of the bus's queues: one obvious place, so every hop agrees on them."""

from __future__ import annotations

DISPATCHER_INBOUND = "dispatcher.inbound"
DISPATCHER_OUTBOUND = "dispatcher.outbound"
DISPATCHER_EVENT = "dispatcher.event"


def transport_outbound(transport_name: str) -> str:
    return f"transport.{transport_name}.outbound"


def app_inbound(conversation_type: str) -> str:
    return f"app.{conversation_type}.inbound"


def app_event(conversation_type: str) -> str:
    return f"app.{conversation_type}.event"


def router_inbound(router_type: str) -> str:
    return f"router.{router_type}.inbound"


def router_outbound(router_type: str) -> str:
    return f"router.{router_type}.outbound"


def router_event(router_type: str) -> str:
    return f"router.{router_type}.event"
