"""Hops: the path a message took through the routing table, kept in its routing_metadata.

Inbound hops (``go_hops``) and outbound hops (``go_outbound_hops``) are lists of
``[[source_connector, source_endpoint], [target_connector, target_endpoint]]`` as in the
original. Events retrace an outbound message's hops back to the conversation that sent it.
"""

from __future__ import annotations

from vumigo.message import UserMessage

INBOUND_HOPS = "go_hops"
OUTBOUND_HOPS = "go_outbound_hops"

Hop = list[list[str]]


def add_hop(msg: UserMessage, key: str, source: tuple[str, str], target: tuple[str, str]) -> None:
    hops: list[Hop] = msg.routing_metadata.setdefault(key, [])
    hops.append([[source[0], source[1]], [target[0], target[1]]])


def hops(msg: UserMessage, key: str) -> list[Hop]:
    value = msg.routing_metadata.get(key)
    return value if isinstance(value, list) else []


def last_target(msg: UserMessage, key: str) -> tuple[str, str] | None:
    path = hops(msg, key)
    if not path:
        return None
    target = path[-1][1]
    return (target[0], target[1])


def first_source(msg: UserMessage, key: str) -> tuple[str, str] | None:
    path = hops(msg, key)
    if not path:
        return None
    source = path[0][0]
    return (source[0], source[1])
