"""Router decisions, table-driven: keyword matching, the USSD menu's states, config checks;
and the per-address sessions they keep."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.apps.helpers import channel, make_router
from vumigo.apps import sessions
from vumigo.apps.routers import router_classes
from vumigo.apps.routers.app_multiplexer import (
    DEFAULT_ERROR,
    DEFAULT_INVALID_INPUT,
    AppMultiplexer,
    menu_text,
)
from vumigo.apps.routers.base import RouterContext
from vumigo.apps.routers.group import GroupRouter
from vumigo.apps.routers.keyword import KeywordRouter, first_word
from vumigo.apps.subscription import SubscriptionApp, matching_handler
from vumigo.config import Settings
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.dispatcher.lookups import AppInfo
from vumigo.engine.core import Engine
from vumigo.errors import InvalidInput
from vumigo.message import UserMessage


def inbound(content: str | None, session_event: str | None = None) -> UserMessage:
    return UserMessage(
        to_addr="1201",
        from_addr="+27820000001",
        content=content,
        session_event=session_event,
        transport_name="dev",
        transport_type="ussd",
    )


def info(router_type: str, config: dict[str, Any], key: str = "r1") -> AppInfo:
    return AppInfo(key, "acct", "router", router_type, "running", False, config)


@pytest.mark.parametrize(
    ("content", "endpoint"),
    [
        ("red rose", "red_ep"),
        ("RED", "red_ep"),
        ("  Blue\tsky", "blue_ep"),
        ("redder", "default"),
        ("", "default"),
        (None, "default"),
        ("green", "default"),
    ],
)
async def test_keyword_router(content: str | None, endpoint: str) -> None:
    config = {"keyword_endpoint_mapping": {"Red": "red_ep", "blue": "blue_ep"}}
    ctx = RouterContext(None, info("keyword", config))  # type: ignore[arg-type]
    msg = inbound(content)
    await KeywordRouter(None).route_inbound(ctx, msg)  # type: ignore[arg-type]
    assert ctx.endpoint == endpoint == msg.routing_endpoint


def test_first_word() -> None:
    assert [first_word(t) for t in ("Hi there", "", None, " x ")] == ["hi", "", "", "x"]


MENU: dict[str, Any] = {
    "menu_title": {"content": "Choose"},
    "entries": [{"label": "News", "endpoint": "news"}, {"label": "Weather", "endpoint": "wx"}],
}


@pytest.mark.parametrize(
    ("saved", "content", "event", "reply", "endpoint", "next_state"),
    [
        (None, None, "new", "Choose\n1) News\n2) Weather", None, {"state": "select"}),
        (None, "2", "resume", "Choose\n1) News\n2) Weather", None, {"state": "select"}),
        ({"state": "select"}, "2", "resume", None, "wx", {"state": "selected", "endpoint": "wx"}),
        ({"state": "select"}, "3", "resume", DEFAULT_INVALID_INPUT, None, {"state": "bad_input"}),
        (
            {"state": "bad_input"},
            "1",
            "resume",
            "Choose\n1) News\n2) Weather",
            None,
            {"state": "select"},
        ),
        (
            {"state": "selected", "endpoint": "news"},
            "9",
            "resume",
            None,
            "news",
            {"state": "selected", "endpoint": "news"},
        ),
        ({"state": "selected", "endpoint": "gone"}, "9", "resume", DEFAULT_ERROR, None, None),
        (
            {"state": "selected", "endpoint": "news"},
            None,
            "new",
            "Choose\n1) News\n2) Weather",
            None,
            {"state": "select"},
        ),
        ({"state": "selected", "endpoint": "news"}, None, "close", None, "news", None),
    ],
)
async def test_menu_states(
    sqlite_db: Database,
    settings: Settings,
    saved: dict[str, Any] | None,
    content: str | None,
    event: str,
    reply: str | None,
    endpoint: str | None,
    next_state: dict[str, Any] | None,
) -> None:
    engine = Engine(settings, sqlite_db)
    router = AppMultiplexer(engine)
    if saved is not None:
        async with sqlite_db.transaction() as session:
            await sessions.save("r1", "+27820000001", saved, 300)(session)
    ctx = RouterContext(engine, info("app_multiplexer", MENU))
    msg = inbound(content, event)
    await router.route_inbound(ctx, msg)
    assert [r.content for r in ctx.replies] == ([reply] if reply else [])
    assert ctx.endpoint == endpoint
    if endpoint is not None and saved == {"state": "select"}:
        # The chosen app gets a fresh session, not the menu choice.
        assert (msg.content, msg.session_event, ctx.save_forwarded) == (None, "new", True)
    async with sqlite_db.transaction() as session:
        for write in ctx.extra_writes:
            await write(session)
    assert await sessions.load(sqlite_db, "r1", "+27820000001") == next_state


async def test_sessions_expire_and_are_swept(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        await sessions.save("c1", "a", {"n": 1}, expires_in=60)(session)
        await sessions.save("c1", "b", {"n": 2})(session)  # never expires
    assert await sessions.load(sqlite_db, "c1", "a") == {"n": 1}
    later = utcnow() + timedelta(seconds=61)
    assert await sessions.load(sqlite_db, "c1", "a", now=later) is None
    assert await sessions.sweep(sqlite_db, now=later) == 1
    assert await sessions.load(sqlite_db, "c1", "b", now=later) == {"n": 2}


def test_menu_text_defaults() -> None:
    assert menu_text({"entries": [{"label": "A", "endpoint": "a"}]}) == (
        "Please select a choice.\n1) A"
    )


@pytest.mark.parametrize(
    ("cls", "config", "message"),
    [
        (KeywordRouter, {"keyword_endpoint_mapping": ["a"]}, "must be an object"),
        (KeywordRouter, {"keyword_endpoint_mapping": {"two words": "x"}}, "one word"),
        (KeywordRouter, {"keyword_endpoint_mapping": {"a": "bad endpoint"}}, "endpoint name"),
        (GroupRouter, {"rules": {}}, "must be a list"),
        (GroupRouter, {"rules": [{"endpoint": "x"}]}, "needs a group"),
        (AppMultiplexer, {"entries": []}, "non-empty list"),
        (AppMultiplexer, {"entries": [{"label": "", "endpoint": "x"}]}, "needs a label"),
        (AppMultiplexer, {**MENU, "session_expiry": 0}, "positive number"),
        (AppMultiplexer, {**MENU, "menu_title": "Hi"}, "menu_title must be an object"),
        (SubscriptionApp, {"handlers": [{"keyword": "a b"}]}, "one-word keyword"),
        (SubscriptionApp, {"handlers": [{"keyword": "a", "operation": "x"}]}, "subscribe or"),
    ],
)
def test_config_checks(cls: Any, config: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        cls.validate_config(config)


def test_router_types_are_registered() -> None:
    assert set(router_classes()) == {"keyword", "group", "app_multiplexer"}


@pytest.mark.parametrize(
    ("content", "campaign"),
    [("JOIN", "news"), ("join now", "news"), ("stop it", "quit"), ("joiner", None), ("", None)],
)
def test_subscription_keywords(content: str, campaign: str | None) -> None:
    config = {
        "handlers": [
            {"keyword": "Join", "operation": "subscribe", "campaign_name": "news"},
            {"keyword": "stop", "operation": "unsubscribe", "campaign_name": "quit"},
        ]
    }
    handler = matching_handler(config, content)
    assert (handler or {}).get("campaign_name") == campaign


async def test_stopped_router_consumes_its_messages(
    sqlite_db: Database, settings: Settings
) -> None:
    from vumigo.apps.routers.worker import RouterWorkers
    from vumigo.db.models import StoredMessage
    from vumigo.store import messages as store

    account, _ = await channel(sqlite_db, ["1201"])
    router = await make_router(sqlite_db, account, "keyword", {}, status="stopped")
    msg = inbound("hi")
    msg.helper_metadata["go"] = {"user_account": account, "router_key": router}
    async with sqlite_db.transaction() as session:
        await store.add_message(session, msg, store.INBOUND, "accepted", account)
    engine = Engine(settings, sqlite_db)
    workers = RouterWorkers(engine)
    await workers.handle_inbound(KeywordRouter(engine), [msg])
    async with sqlite_db.sessions() as session:
        stored = await session.get(StoredMessage, msg.message_id)
    assert stored is not None and (stored.state, stored.failure) == (
        "processed",
        "router not running",
    )
