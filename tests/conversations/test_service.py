"""Conversations: creation by allowed type, account scoping, filters and the lifecycle."""

from __future__ import annotations

import pytest

from tests.support import service_factories as factories
from vumigo.accounts.apps import disable_app
from vumigo.conversations.service import (
    archive_conversation,
    connector,
    create_conversation,
    endpoints,
    find_conversation,
    get_conversation,
    list_conversations,
    start_conversation,
    stop_conversation,
    update_conversation,
)
from vumigo.db.engine import Database
from vumigo.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from vumigo.routing.table import add_entry, load_table


async def test_create_and_get(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session)
        conv = await create_conversation(
            session, acct.key, "go.apps.jsbox", " My app ", description="d",
            config={"jsbox": {"javascript": "x"}}, extra_endpoints=["sms", "default", "sms"],
        )  # fmt: skip
    async with db.transaction() as session:
        got = await get_conversation(session, acct.key, conv.key)
        assert (got.conversation_type, got.name, got.description) == ("jsbox", "My app", "d")
        assert (got.status, got.archived, got.config) == (
            "stopped", False, {"jsbox": {"javascript": "x"}}
        )  # fmt: skip
        assert endpoints(got) == ["default", "sms"]
        assert str(connector(got)) == f"CONVERSATION:jsbox:{conv.key}"
        assert (await find_conversation(session, conv.key)).key == conv.key


async def test_create_refusals(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        acct = await factories.account(session)
        await disable_app(session, acct.key, "jsbox")
        cases: list[tuple[dict[str, object], type[Exception], str]] = [
            ({"conversation_type": "jsbox"}, PermissionDenied,
             f"account {acct.key} may not create conversations of type jsbox"),
            ({"conversation_type": "nope"}, InvalidInput, "unknown conversation type 'nope'"),
            ({"conversation_type": "keyword"}, InvalidInput, "unknown conversation type"),
            ({"name": "  "}, InvalidInput, "a name of 1-255 characters is required"),
            ({"config": ["x"]}, InvalidInput, "the config must be a JSON object"),
            ({"config": {"when": object()}}, InvalidInput, "the config is not valid JSON"),
            ({"extra_endpoints": "sms"}, InvalidInput, "endpoints must be a list"),
            ({"extra_endpoints": ["a b"]}, InvalidInput, "invalid endpoint name 'a b'"),
            ({"account_key": "nope"}, NotFound, "unknown account 'nope'"),
        ]  # fmt: skip
        for overrides, error, message in cases:
            args: dict[str, object] = {
                "account_key": acct.key, "conversation_type": "bulk_message", "name": "n",
            }  # fmt: skip
            args.update(overrides)
            with pytest.raises(error, match=message):
                await create_conversation(session, **args)  # type: ignore[arg-type]


async def test_scoped_by_account(db: Database) -> None:
    async with db.transaction() as session:
        mine = await factories.account(session)
        theirs = await factories.account(session, "other")
        conv = await factories.conversation(session, theirs.key)
        for action in (get_conversation, start_conversation, stop_conversation):
            with pytest.raises(NotFound, match=f"account {mine.key} has no conversation"):
                await action(session, mine.key, conv.key)
        with pytest.raises(NotFound):
            await archive_conversation(session, mine.key, conv.key)
        with pytest.raises(NotFound):
            await update_conversation(session, mine.key, conv.key, name="x")
        with pytest.raises(NotFound, match="unknown conversation 'nope'"):
            await find_conversation(session, "nope")
        assert await list_conversations(session, mine.key) == []


async def test_lifecycle(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session)
        conv = await factories.conversation(session, acct.key)
        with pytest.raises(Conflict, match="Conversation already stopped"):
            await stop_conversation(session, acct.key, conv.key)
        assert (await start_conversation(session, acct.key, conv.key)).status == "running"
        with pytest.raises(Conflict, match="Conversation already running"):
            await start_conversation(session, acct.key, conv.key)
        with pytest.raises(Conflict, match="Only stopped conversations can be archived"):
            await archive_conversation(session, acct.key, conv.key)
        assert (await stop_conversation(session, acct.key, conv.key)).status == "stopped"
        assert await archive_conversation(session, acct.key, conv.key) == 0
        got = await get_conversation(session, acct.key, conv.key)
        assert got.archived and got.archived_at is not None
        for action, message in (
            (archive_conversation, "Conversation already archived"),
            (start_conversation, f"Conversation {conv.key} is archived"),
            (stop_conversation, "is archived"),
        ):
            with pytest.raises(Conflict, match=message):
                await action(session, acct.key, conv.key)
        with pytest.raises(Conflict, match="is archived"):
            await update_conversation(session, acct.key, conv.key, name="x")


async def test_archive_removes_its_routing_entries(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session)
        await factories.channel(session, acct.key)
        conv = await factories.conversation(session, acct.key)
        other = await factories.conversation(session, acct.key, "jsbox")
        tag = "TRANSPORT_TAG:longcode:t1"
        await add_entry(session, acct.key, tag, "default", str(connector(conv)), "default")
        await add_entry(session, acct.key, str(connector(conv)), "default", tag, "default")
        await add_entry(session, acct.key, str(connector(other)), "default", tag, "default")
        assert await archive_conversation(session, acct.key, conv.key) == 2
        assert await load_table(session, acct.key) == {
            str(connector(other)): {"default": [tag, "default"]}
        }


async def test_list_filters(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session)
        bulk = await factories.conversation(session, acct.key, name="b")
        js = await factories.conversation(session, acct.key, "jsbox", name="j")
        old = await factories.conversation(session, acct.key, "jsbox", name="o")
        await start_conversation(session, acct.key, js.key)
        await archive_conversation(session, acct.key, old.key)

        async def keys(**filters: object) -> set[str]:
            found = await list_conversations(session, acct.key, **filters)  # type: ignore[arg-type]
            return {c.key for c in found}

        assert await keys() == {bulk.key, js.key}
        assert await keys(conversation_type="jsbox") == {js.key}
        assert await keys(status="running") == {js.key}
        assert await keys(status="stopped") == {bulk.key}
        assert await keys(archived=True) == {old.key}
        assert await keys(archived=None) == {bulk.key, js.key, old.key}
        with pytest.raises(InvalidInput, match="unknown status 'paused'"):
            await keys(status="paused")


async def test_update_detaches_dropped_endpoints(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session)
        await factories.channel(session, acct.key)
        conv = await factories.conversation(session, acct.key, "jsbox", extra_endpoints=["sms"])
        tag, me = "TRANSPORT_TAG:longcode:t1", str(connector(conv))
        await add_entry(session, acct.key, me, "sms", tag, "default")
        await add_entry(session, acct.key, tag, "default", me, "default")
        updated = await update_conversation(
            session, acct.key, conv.key, name="New", description="D", config={"a": 1},
            extra_endpoints=["ussd"],
        )  # fmt: skip
        assert (updated.name, updated.description, updated.config) == ("New", "D", {"a": 1})
        assert updated.extra_endpoints == ["ussd"]
        assert await load_table(session, acct.key) == {tag: {"default": [me, "default"]}}
