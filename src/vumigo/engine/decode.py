"""Turning a batch of bus deliveries back into messages."""

from __future__ import annotations

import logging
from typing import TypeVar

from vumigo.bus import Delivery
from vumigo.message import Event, MessageError, UserMessage, from_json

log = logging.getLogger(__name__)

M = TypeVar("M", UserMessage, Event)


def decode_all(deliveries: list[Delivery], kind: type[M]) -> list[M]:
    """The deliveries' messages of the expected kind. Undecodable ones, or ones of the wrong
    kind, are logged and dropped: they can never succeed, and cannot be stored."""
    found: list[M] = []
    for delivery in deliveries:
        try:
            msg = from_json(delivery.body)
        except MessageError as exc:
            log.error("dropping undecodable message on %s: %s", delivery.queue, exc)
            continue
        if isinstance(msg, kind):
            found.append(msg)
        else:
            log.error("dropping a %s on %s", msg.message_type, delivery.queue)
    return found
