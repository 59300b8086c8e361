"""The transport types this platform runs: the one list of transport modules."""

from __future__ import annotations

import importlib

from vumigo.transports.base import Transport

# "module:class" for every transport type.
TRANSPORT_CLASSES: tuple[str, ...] = (
    "vumigo.transports.dev:DevTransport",
    "vumigo.transports.smpp_transport:SmppTransport",
    "vumigo.transports.ussd_http:UssdHttpTransport",
    "vumigo.transports.http_sms:HttpSmsTransport",
    "vumigo.transports.xmpp:XmppTransport",
)


def transport_classes() -> dict[str, type[Transport]]:
    found: dict[str, type[Transport]] = {}
    for path in TRANSPORT_CLASSES:
        module_name, _, attr = path.partition(":")
        cls: type[Transport] = getattr(importlib.import_module(module_name), attr)
        found[cls.transport_type] = cls
    return found
