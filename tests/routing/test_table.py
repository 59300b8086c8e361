"""The routing table: the original's JSON shape, checked links, one target per source, lookup."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support import service_factories as factories
from vumigo.conversations.service import archive_conversation
from vumigo.db.engine import Database
from vumigo.errors import Conflict, InvalidInput, NotFound
from vumigo.routing.connectors import conversation
from vumigo.routing.table import (
    add_entry,
    clear_table,
    entries_of,
    load_table,
    lookup,
    remove_connector_entries,
    remove_entry,
    replace_table,
)


@dataclass
class World:
    account: str
    other: str
    tag: str  # the account's channel connector
    conv: str  # its bulk_message conversation, endpoints default and sms
    js: str  # its jsbox conversation
    router_in: str
    router_out: str  # keyword router's conversation side, endpoints default and help
    their_tag: str
    their_conv: str


async def _world(session: AsyncSession) -> World:
    acct = await factories.account(session)
    other = await factories.account(session, "other")
    await factories.pool(session, tags=["t1", "t2", "t3"], grant=[acct.key, other.key])
    await factories.channel(session, acct.key)
    await factories.channel(session, other.key)
    conv = await factories.conversation(session, acct.key, extra_endpoints=["sms"])
    js = await factories.conversation(session, acct.key, "jsbox")
    router = await factories.router(session, acct.key, extra_outbound_endpoints=["help"])
    theirs = await factories.conversation(session, other.key)
    return World(
        acct.key, other.key, "TRANSPORT_TAG:longcode:t1", f"CONVERSATION:bulk_message:{conv.key}",
        f"CONVERSATION:jsbox:{js.key}", f"ROUTER:keyword:{router.key}:INBOUND",
        f"ROUTER:keyword:{router.key}:OUTBOUND", "TRANSPORT_TAG:longcode:t2",
        f"CONVERSATION:bulk_message:{theirs.key}",
    )  # fmt: skip


async def test_add_load_and_lookup(db: Database) -> None:
    async with db.transaction() as session:
        w = await _world(session)
        assert await add_entry(session, w.account, w.tag, "default", w.conv, "default") is True
        assert await add_entry(session, w.account, w.conv, "default", w.tag, "default") is True
        assert await add_entry(session, w.account, w.conv, "sms", w.tag, "default") is True
        # The same link again is not an error, and nothing is added.
        assert await add_entry(session, w.account, w.tag, "default", w.conv, "default") is False
    async with db.transaction() as session:
        assert await load_table(session, w.account) == {
            w.tag: {"default": [w.conv, "default"]},
            w.conv: {"default": [w.tag, "default"], "sms": [w.tag, "default"]},
        }
        assert await lookup(session, w.account, w.tag, "default") == (w.conv, "default")
        assert await lookup(session, w.account, conversation("bulk_message", w.conv[-32:]), "sms")
        assert await lookup(session, w.account, w.tag, "other") is None
        assert await lookup(session, w.other, w.tag, "default") is None
        assert await load_table(session, w.other) == {}


async def test_routers_and_opt_out(db: Database) -> None:
    async with db.transaction() as session:
        w = await _world(session)
        await add_entry(session, w.account, w.tag, "default", w.router_in, "default")
        await add_entry(session, w.account, w.router_in, "default", w.tag, "default")
        await add_entry(session, w.account, w.router_out, "help", w.js, "default")
        await add_entry(session, w.account, w.js, "default", w.router_out, "help")
        await add_entry(session, w.account, "OPT_OUT", "default", w.conv, "default")
        assert await lookup(session, w.account, w.router_out, "help") == (w.js, "default")
        assert await lookup(session, w.account, "OPT_OUT", "default") == (w.conv, "default")


CASES = [
    # (source, source endpoint, target, target endpoint, error, message)
    ("{tag}", "default", "{js}", "default", Conflict,
     "{tag} [default] is already routed to {conv} [default]; remove that entry first"),
    ("{their_tag}", "default", "{conv}", "default", NotFound,
     "account {account} does not hold channel longcode:t2"),
    ("TRANSPORT_TAG:longcode:t3", "default", "{conv}", "default", NotFound,
     "does not hold channel longcode:t3"),
    ("TRANSPORT_TAG:nope:t1", "default", "{conv}", "default", NotFound, "does not hold channel"),
    ("{tag}", "default", "{their_conv}", "default", NotFound,
     "account {account} has no conversation"),
    ("{conv}", "default", "TRANSPORT_TAG:longcode:t1", "sms", InvalidInput,
     "{tag} has no endpoint 'sms' (it has default)"),
    ("{conv}", "help", "{tag}", "default", InvalidInput,
     "{conv} has no endpoint 'help' (it has default, sms)"),
    ("{router_out}", "nope", "{js}", "default", InvalidInput, "has no endpoint 'nope'"),
    ("CONVERSATION:jsbox:{conv_key}", "default", "{tag}", "default", InvalidInput,
     "conversation {conv_key} is of type bulk_message, not jsbox"),
    ("ROUTER:group:{router_key}:INBOUND", "default", "{tag}", "default", InvalidInput,
     "router {router_key} is of type keyword, not group"),
    ("ROUTER:keyword:nope:INBOUND", "default", "{tag}", "default", NotFound,
     "has no router nope"),
    ("{tag}", "default", "{tag}", "default", InvalidInput, "must join opposite directions"),
    ("{tag}", "default", "CONVERSATION:x", "default", InvalidInput, "malformed connector"),
    ("{tag}", "bad endpoint", "{conv}", "default", InvalidInput, "invalid endpoint name"),
    ("BILLING:OUTBOUND", "default", "{tag}", "default", InvalidInput,
     "BILLING:OUTBOUND is part of the platform's own routing"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "source_ep", "target", "target_ep", "error", "message"), CASES)
async def test_add_refusals(
    sqlite_db: Database,
    source: str,
    source_ep: str,
    target: str,
    target_ep: str,
    error: type[Exception],
    message: str,
) -> None:
    async with sqlite_db.transaction() as session:
        w = await _world(session)
        await add_entry(session, w.account, w.tag, "default", w.conv, "default")
        values = {**vars(w), "conv_key": w.conv[-32:], "router_key": w.router_in.split(":")[2]}
        args = [part.format(**values) for part in (source, source_ep, target, target_ep)]
        with pytest.raises(error, match=re.escape(message.format(**values))):
            await add_entry(session, w.account, *args)
        assert await load_table(session, w.account) == {w.tag: {"default": [w.conv, "default"]}}


async def test_archived_conversations_and_unknown_accounts(db: Database) -> None:
    async with db.transaction() as session:
        w = await _world(session)
        await archive_conversation(session, w.account, w.js[-32:])
        with pytest.raises(InvalidInput, match=f"conversation {w.js[-32:]} is archived"):
            await add_entry(session, w.account, w.tag, "default", w.js, "default")
        with pytest.raises(NotFound, match="unknown account 'nope'"):
            await add_entry(session, "nope", w.tag, "default", w.conv, "default")


async def test_remove_and_clear(db: Database) -> None:
    async with db.transaction() as session:
        w = await _world(session)
        await add_entry(session, w.account, w.tag, "default", w.conv, "default")
        await add_entry(session, w.account, w.conv, "default", w.tag, "default")
        with pytest.raises(NotFound, match="has no routing entry"):
            await remove_entry(session, w.account, w.tag, "default", w.js, "default")
        with pytest.raises(NotFound):
            await remove_entry(session, w.other, w.tag, "default", w.conv, "default")
        await remove_entry(session, w.account, w.tag, "default", w.conv, "default")
        assert await load_table(session, w.account) == {w.conv: {"default": [w.tag, "default"]}}
        assert await clear_table(session, w.account) == 1
        assert await load_table(session, w.account) == {}


async def test_replace_table(db: Database) -> None:
    async with db.transaction() as session:
        w = await _world(session)
        await add_entry(session, w.account, w.tag, "default", w.conv, "default")
        table = {
            w.tag: {"default": [w.router_in, "default"]},
            w.router_in: {"default": [w.tag, "default"]},
            w.router_out: {"default": [w.js, "default"], "help": [w.conv, "sms"]},
        }
        assert await replace_table(session, w.account, table) == 4
        assert await load_table(session, w.account) == table
        bad = {**table, w.conv: {"default": [w.their_tag, "default"]}}
        with pytest.raises(NotFound, match="does not hold channel longcode:t2"):
            await replace_table(session, w.account, bad)
        assert await load_table(session, w.account) == table
        assert await replace_table(session, w.account, {}) == 0
        assert await load_table(session, w.account) == {}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ([], "a routing table must be an object"),
        ({"OPT_OUT": ["x"]}, "'OPT_OUT' must map endpoints to targets"),
        ({"OPT_OUT": {"default": "CONVERSATION:a:b"}}, "must map to [target_connector,"),
        ({"OPT_OUT": {"default": ["CONVERSATION:a:b"]}}, "must map to [target_connector,"),
        ({"OPT_OUT": {"default": ["CONVERSATION:a:b", 1]}}, "must map to [target_connector,"),
        ({"OPT_OUT": {"default": ["TRANSPORT_TAG:a:b", "default"]}}, "opposite directions"),
        ({"NOPE": {"default": ["CONVERSATION:a:b", "default"]}}, "malformed connector 'NOPE'"),
    ],
)
def test_entries_of_refuses_bad_shapes(table: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        entries_of(table)


async def test_remove_connector_entries(db: Database) -> None:
    async with db.transaction() as session:
        w = await _world(session)
        await add_entry(session, w.account, w.tag, "default", w.conv, "default")
        await add_entry(session, w.account, w.conv, "sms", w.tag, "default")
        await add_entry(session, w.account, w.conv, "default", w.tag, "default")
        removed = await remove_connector_entries(session, w.account, [w.conv], endpoints=["sms"])
        assert removed == 1
        assert await remove_connector_entries(session, w.other, [w.conv]) == 0
        assert await remove_connector_entries(session, w.account, [w.conv]) == 2
        assert await load_table(session, w.account) == {}
