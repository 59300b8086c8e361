"""Routing connectors in the original's string forms, and their direction rules.

A connector names one side of a link in the routing table:

- ``TRANSPORT_TAG:<pool>:<tag>``: a channel; receives outbound messages.
- ``CONVERSATION:<type>:<key>``: a conversation; receives inbound messages.
- ``ROUTER:<type>:<key>:INBOUND``: a router's channel side; receives inbound messages.
- ``ROUTER:<type>:<key>:OUTBOUND``: a router's conversation side; receives outbound messages.
- ``OPT_OUT``: the opt-out step; as a source it hands inbound opt-out messages on (to an
  ``opt_out`` conversation, say).
- ``BILLING:INBOUND`` / ``BILLING:OUTBOUND``: the billing step.

An entry must join a connector that sends one way to one that receives that way, which the
original states as "an entry must join opposite directions".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vumigo.errors import InvalidInput

Kind = Literal["TRANSPORT_TAG", "CONVERSATION", "ROUTER", "OPT_OUT", "BILLING"]
Direction = Literal["INBOUND", "OUTBOUND"]

DEFAULT_ENDPOINT = "default"


@dataclass(frozen=True, slots=True)
class Connector:
    kind: Kind
    parts: tuple[str, ...] = ()

    def __str__(self) -> str:
        return ":".join((self.kind, *self.parts))

    @property
    def receives(self) -> Direction:
        """The direction of messages this connector receives when it is a link's target."""
        if self.kind in ("CONVERSATION", "OPT_OUT"):
            return "INBOUND"
        if self.kind == "TRANSPORT_TAG":
            return "OUTBOUND"
        return "INBOUND" if self.parts[-1] == "INBOUND" else "OUTBOUND"

    @property
    def sends(self) -> Direction:
        """The direction of messages that leave this connector as a link's source."""
        if self.kind in ("ROUTER", "BILLING"):
            # A router's INBOUND side emits outbound messages towards the channel and the
            # OUTBOUND side emits inbound messages towards conversations.
            return "OUTBOUND" if self.parts[-1] == "INBOUND" else "INBOUND"
        if self.kind == "OPT_OUT":
            # Opt-out messages are handed on to whatever the account routed from OPT_OUT
            # (an opt_out conversation); its replies go back through the original tag.
            return "INBOUND"
        return "INBOUND" if self.receives == "OUTBOUND" else "OUTBOUND"

    # Convenience accessors for the common kinds.
    @property
    def pool(self) -> str:
        return self.parts[0]

    @property
    def tag(self) -> str:
        return self.parts[1]

    @property
    def app_type(self) -> str:
        return self.parts[0]

    @property
    def key(self) -> str:
        return self.parts[1]


def transport_tag(pool: str, tag: str) -> Connector:
    return Connector("TRANSPORT_TAG", (pool, tag))


def conversation(conversation_type: str, key: str) -> Connector:
    return Connector("CONVERSATION", (conversation_type, key))


def router(router_type: str, key: str, side: Direction) -> Connector:
    return Connector("ROUTER", (router_type, key, side))


OPT_OUT = Connector("OPT_OUT")


def parse(text: str) -> Connector:
    """Parses a connector string; raises InvalidInput with the reason when it is malformed."""
    if not isinstance(text, str) or not text:
        raise InvalidInput("empty connector")
    kind, *parts = text.split(":")
    if kind == "OPT_OUT":
        if parts:
            raise InvalidInput(f"malformed connector {text!r}: OPT_OUT takes no parts")
        return OPT_OUT
    if kind in ("TRANSPORT_TAG", "CONVERSATION"):
        if kind == "TRANSPORT_TAG" and len(parts) > 2:
            # Tags may contain ':' (e.g. xmpp addresses); the pool never does.
            parts = [parts[0], ":".join(parts[1:])]
        if len(parts) != 2 or not all(parts):
            shape = (
                "TRANSPORT_TAG:<pool>:<tag>"
                if kind == "TRANSPORT_TAG"
                else ("CONVERSATION:<type>:<key>")
            )
            raise InvalidInput(f"malformed connector {text!r}: expected {shape}")
        return Connector(kind, (parts[0], parts[1]))  # type: ignore[arg-type]
    if kind == "ROUTER":
        if len(parts) != 3 or not all(parts) or parts[2] not in ("INBOUND", "OUTBOUND"):
            raise InvalidInput(
                f"malformed connector {text!r}: expected ROUTER:<type>:<key>:INBOUND|OUTBOUND"
            )
        return Connector("ROUTER", (parts[0], parts[1], parts[2]))
    if kind == "BILLING":
        if parts not in (["INBOUND"], ["OUTBOUND"]):
            raise InvalidInput(f"malformed connector {text!r}: expected BILLING:INBOUND|OUTBOUND")
        return Connector("BILLING", (parts[0],))
    raise InvalidInput(
        f"malformed connector {text!r}: unknown kind {kind!r} (expected TRANSPORT_TAG, "
        "CONVERSATION, ROUTER, OPT_OUT or BILLING)"
    )


def check_link(source: Connector, target: Connector) -> None:
    """Raises InvalidInput unless a link from ``source`` to ``target`` joins opposite directions."""
    if source.sends != target.receives:
        raise InvalidInput(
            f"invalid routing entry {source} -> {target}: an entry must join opposite "
            f"directions ({source} sends {source.sends.lower()}, "
            f"{target} receives {target.receives.lower()})"
        )


def validate_endpoint(name: str) -> str:
    if not isinstance(name, str) or not name or any(c.isspace() for c in name) or "::" in name:
        raise InvalidInput(f"invalid endpoint name {name!r}")
    return name
