"""The account API's JSON-RPC methods, with the original's result shapes and validation.

A "campaign" is the account itself (the original's ``campaigns`` was a stub returning one
campaign, "Your Campaign", keyed by the account key). Endpoints are named
``<connector>::<endpoint>``. ``update_routing_table`` takes the same description
``routing_table`` returns and replaces the account's table with its ``routing_entries``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.channels.acquisition import account_tags
from vumigo.conversations.routers import inbound_connector, list_routers, outbound_connector
from vumigo.conversations.service import connector as conversation_connector
from vumigo.conversations.service import list_conversations
from vumigo.db.engine import Database
from vumigo.db.models import Conversation, Router, Tag
from vumigo.errors import VumigoError
from vumigo.routing.connectors import DEFAULT_ENDPOINT, transport_tag
from vumigo.routing.table import load_table, replace_table

SEP = "::"
FAILURE = 8002  # txjsonrpc's code for a failed call; what go-http's users have always seen
INVALID_ROUTING_TABLE = 400  # the original's InvalidRoutingTable fault code


class Fault(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _nothing() -> None:
    return None


@dataclass(slots=True)
class Call:
    db: Database
    account_key: str
    # Told when the routing table changed, so the engine's cached look-ups are dropped at once.
    changed: Callable[[], None] = _nothing


def _endpoint(connector: str, name: str) -> dict[str, str]:
    return {"uuid": f"{connector}{SEP}{name}", "name": name}


def format_conversation(conv: Conversation) -> dict[str, Any]:
    conn = str(conversation_connector(conv))
    return {
        "uuid": conv.key,
        "type": conv.conversation_type,
        "name": conv.name,
        "status": conv.status,
        "description": conv.description,
        "endpoints": [_endpoint(conn, e) for e in (DEFAULT_ENDPOINT, *conv.extra_endpoints)],
    }


def format_channel(tag: Tag) -> dict[str, Any]:
    conn = str(transport_tag(tag.pool, tag.tag))
    return {
        "uuid": f"{tag.pool}:{tag.tag}",
        "tag": [tag.pool, tag.tag],
        "name": tag.tag,
        "description": f"{tag.pool.replace('_', ' ').title()}: {tag.tag}",
        "endpoints": [_endpoint(conn, DEFAULT_ENDPOINT)],
    }


def format_router(router: Router) -> dict[str, Any]:
    inbound, outbound = str(inbound_connector(router)), str(outbound_connector(router))
    return {
        "uuid": router.key,
        "type": router.router_type,
        "name": router.name,
        "status": router.status,
        "description": router.description,
        "channel_endpoints": [
            _endpoint(inbound, e) for e in (DEFAULT_ENDPOINT, *router.extra_inbound_endpoints)
        ],
        "conversation_endpoints": [
            _endpoint(outbound, e) for e in (DEFAULT_ENDPOINT, *router.extra_outbound_endpoints)
        ],
    }


async def _conversations(session: AsyncSession, account: str) -> list[dict[str, Any]]:
    return [format_conversation(c) for c in await list_conversations(session, account)]


async def _channels(session: AsyncSession, account: str) -> list[dict[str, Any]]:
    return [format_channel(t) for t in await account_tags(session, account)]


async def _routers(session: AsyncSession, account: str) -> list[dict[str, Any]]:
    return [format_router(r) for r in await list_routers(session, account)]


async def _entries(session: AsyncSession, account: str) -> list[dict[str, Any]]:
    table = await load_table(session, account)
    return [
        {
            "source": {"uuid": f"{source}{SEP}{source_ep}"},
            "target": {"uuid": f"{target}{SEP}{target_ep}"},
        }
        for source, endpoints in table.items()
        for source_ep, (target, target_ep) in endpoints.items()
    ]


def _campaign(call: Call, campaign_key: Any) -> str:
    if not isinstance(campaign_key, str):
        raise Fault(FAILURE, f"campaign_key must be a string, not {type(campaign_key).__name__}")
    if campaign_key != call.account_key:
        # Another account's key is as unknown as a made-up one.
        raise Fault(FAILURE, f"Unknown campaign {campaign_key!r}")
    return campaign_key


async def campaigns(call: Call) -> list[dict[str, str]]:
    return [{"key": call.account_key, "name": "Your Campaign"}]


async def conversations(call: Call, campaign_key: Any) -> list[dict[str, Any]]:
    async with call.db.sessions() as session:
        return await _conversations(session, _campaign(call, campaign_key))


async def channels(call: Call, campaign_key: Any) -> list[dict[str, Any]]:
    async with call.db.sessions() as session:
        return await _channels(session, _campaign(call, campaign_key))


async def routers(call: Call, campaign_key: Any) -> list[dict[str, Any]]:
    async with call.db.sessions() as session:
        return await _routers(session, _campaign(call, campaign_key))


async def routing_entries(call: Call, campaign_key: Any) -> list[dict[str, Any]]:
    async with call.db.sessions() as session:
        return await _entries(session, _campaign(call, campaign_key))


async def routing_table(call: Call, campaign_key: Any) -> dict[str, Any]:
    account = _campaign(call, campaign_key)
    async with call.db.sessions() as session:
        return {
            "channels": await _channels(session, account),
            "routers": await _routers(session, account),
            "conversations": await _conversations(session, account),
            "routing_entries": await _entries(session, account),
        }


def _check_routing(routing: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The (source, target) pairs of a routing description, its shape checked as the
    original's RoutingType signature did."""
    if not isinstance(routing, dict):
        raise Fault(FAILURE, "routing must be an object")
    for key in ("channels", "routers", "conversations", "routing_entries"):
        if not isinstance(routing.get(key), list):
            raise Fault(FAILURE, f"routing must have a list {key!r}")
    pairs = []
    for entry in routing["routing_entries"]:
        ends = (entry.get("source"), entry.get("target")) if isinstance(entry, dict) else ()
        if len(ends) != 2 or not all(
            isinstance(end, dict) and isinstance(end.get("uuid"), str) for end in ends
        ):
            raise Fault(FAILURE, f"invalid routing entry {entry!r}: needs source and target uuids")
        source, target = ends
        assert isinstance(source, dict) and isinstance(target, dict)
        pairs.append((source, target))
    return pairs


async def update_routing_table(call: Call, campaign_key: Any, routing: Any) -> None:
    account = _campaign(call, campaign_key)
    pairs = _check_routing(routing)
    async with call.db.transaction() as session:
        chans = await _channels(session, account)
        rtrs = await _routers(session, account)
        convs = await _conversations(session, account)
        receive_outbound = {e["uuid"] for c in chans for e in c["endpoints"]} | {
            e["uuid"] for r in rtrs for e in r["conversation_endpoints"]
        }
        receive_inbound = {e["uuid"] for c in convs for e in c["endpoints"]} | {
            e["uuid"] for r in rtrs for e in r["channel_endpoints"]
        }
        table: dict[str, dict[str, list[str]]] = {}
        for source, target in pairs:
            src, dst = source["uuid"], target["uuid"]
            if src in receive_outbound:
                if dst not in receive_inbound:
                    raise Fault(
                        INVALID_ROUTING_TABLE,
                        f"Source outbound-receiving endpoint {source!r} should link to an "
                        f"inbound-receiving endpoint but links to {target!r}",
                    )
            elif src in receive_inbound:
                if dst not in receive_outbound:
                    raise Fault(
                        INVALID_ROUTING_TABLE,
                        f"Source inbound-receiving endpoint {source!r} should link to an "
                        f"outbound-receiving endpoint but links to {target!r}",
                    )
            else:
                raise Fault(INVALID_ROUTING_TABLE, f"Unknown source endpoint {source!r}")
            src_conn, _, src_ep = src.rpartition(SEP)
            dst_conn, _, dst_ep = dst.rpartition(SEP)
            table.setdefault(src_conn, {})[src_ep] = [dst_conn, dst_ep]
        try:
            await replace_table(session, account, table)
        except VumigoError as exc:
            raise Fault(INVALID_ROUTING_TABLE, str(exc)) from exc
    call.changed()


Method = Callable[..., Awaitable[Any]]

METHODS: dict[str, tuple[Method, int]] = {
    "campaigns": (campaigns, 0),
    "conversations": (conversations, 1),
    "channels": (channels, 1),
    "routers": (routers, 1),
    "routing_entries": (routing_entries, 1),
    "routing_table": (routing_table, 1),
    "update_routing_table": (update_routing_table, 2),
}
