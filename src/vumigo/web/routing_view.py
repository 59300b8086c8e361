"""The routing table as pages show it: endpoints with readable labels, and links between them.

An endpoint's id is ``<connector>::<endpoint>``, as in the original's UI and JSON-RPC API.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.accounts.apps import APP_TYPES
from vumigo.channels.acquisition import account_tags
from vumigo.conversations.routers import inbound_connector, list_routers, outbound_connector
from vumigo.conversations.service import connector as conversation_connector
from vumigo.conversations.service import endpoints as conversation_endpoints
from vumigo.conversations.service import list_conversations
from vumigo.routing.connectors import DEFAULT_ENDPOINT, transport_tag
from vumigo.routing.table import RoutingTable

SEP = "::"


def endpoint_id(connector: str, endpoint: str) -> str:
    return f"{connector}{SEP}{endpoint}"


def split_endpoint_id(value: str) -> tuple[str, str]:
    connector, sep, endpoint = value.rpartition(SEP)
    return (connector, endpoint) if sep else ("", "")


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    connector: str
    name: str
    label: str  # e.g. "Channel dev:10001", "Conversation “Hello” (static_reply)"
    side: str  # channel | router-in | router-out | conversation | opt-out
    url: str | None


@dataclass(frozen=True, slots=True)
class Link:
    source: str  # endpoint ids
    target: str


def _type_name(name: str) -> str:
    app = APP_TYPES.get(name)
    return app.display_name if app else name


async def account_endpoints(session: AsyncSession, account_key: str) -> list[Endpoint]:
    """Every endpoint the account can route: its channels, routers' two sides, conversations."""
    found: list[Endpoint] = []
    for tag in await account_tags(session, account_key):
        conn = str(transport_tag(tag.pool, tag.tag))
        found.append(
            Endpoint(
                endpoint_id(conn, DEFAULT_ENDPOINT),
                conn,
                DEFAULT_ENDPOINT,
                f"Channel {tag.pool}:{tag.tag}",
                "channel",
                "/channels/",
            )
        )
    for rtr in await list_routers(session, account_key):
        label = f"Router “{rtr.name}” ({_type_name(rtr.router_type)})"
        sides = (
            (inbound_connector(rtr), rtr.extra_inbound_endpoints, "router-in", "channel side"),
            (outbound_connector(rtr), rtr.extra_outbound_endpoints, "router-out", "app side"),
        )
        for conn_obj, extra, side, words in sides:
            conn = str(conn_obj)
            for name in (DEFAULT_ENDPOINT, *extra):
                found.append(
                    Endpoint(
                        endpoint_id(conn, name),
                        conn,
                        name,
                        f"{label}, {words}",
                        side,
                        f"/routers/{rtr.key}/",
                    )
                )
    for conv in await list_conversations(session, account_key):
        conn = str(conversation_connector(conv))
        label = f"Conversation “{conv.name}” ({_type_name(conv.conversation_type)})"
        for name in conversation_endpoints(conv):
            found.append(
                Endpoint(
                    endpoint_id(conn, name),
                    conn,
                    name,
                    label,
                    "conversation",
                    f"/conversations/{conv.key}/",
                )
            )
    return found


def table_links(table: RoutingTable) -> list[Link]:
    return [
        Link(endpoint_id(source, source_ep), endpoint_id(target[0], target[1]))
        for source, endpoints in table.items()
        for source_ep, target in endpoints.items()
    ]


@dataclass(frozen=True, slots=True)
class Attached:
    """One link touching a given connector, seen from that connector."""

    direction: str  # "in" (messages arrive from other) or "out" (messages go to other)
    endpoint: str
    other_connector: str
    other_endpoint: str


def links_of(table: RoutingTable, connector: str) -> list[Attached]:
    """The links that send to or receive from ``connector`` (for a conversation's page)."""
    found = []
    for source, endpoints in table.items():
        for source_ep, (target, target_ep) in endpoints.items():
            if source == connector:
                found.append(Attached("out", source_ep, target, target_ep))
            elif target == connector:
                found.append(Attached("in", target_ep, source, source_ep))
    return found
