"""Routers end to end through a live platform and the developer phone.

keyword: two conversations behind one tag, picked by the first word, events counted back along
the hops. app_multiplexer: a USSD menu handing the session to one of two apps and keeping it
there, bad input, session expiry. group: the sender's static group picks the conversation.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.apps.helpers import (
    behind_router,
    channel,
    conversation,
    make_contacts,
    make_group,
    make_router,
    phone,
    router_on_tag,
    wait_for,
)
from tests.support.live import live_server
from vumigo.apps.routers.app_multiplexer import DEFAULT_INVALID_INPUT
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.store.batches import find_batch
from vumigo.store.counters import counters

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VUMIGO_APPS_POLL_INTERVAL", "0.1")


async def batch_counts(db: Database, kind: str, key: str, account: str) -> dict[str, int]:
    async with db.sessions() as session:
        batch = await find_batch(session, kind, key, account)
        return await counters(session, batch) if batch else {}


async def test_keyword_router_picks_conversation_by_first_word(
    sqlite_db: Database, settings: Settings
) -> None:
    account, token = await channel(sqlite_db, ["10001"])
    router = await make_router(
        sqlite_db, account, "keyword", {"keyword_endpoint_mapping": {"Red": "red", "blue": "blue"}}
    )
    await router_on_tag(sqlite_db, account, router, "keyword", "10001")
    convs = {}
    for endpoint, text in (("red", "Roses"), ("blue", "Violets"), ("default", "Anything?")):
        conv = await conversation(sqlite_db, account, "static_reply", {"reply_text": text})
        await behind_router(
            sqlite_db, account, router, "keyword", endpoint, f"CONVERSATION:static_reply:{conv}"
        )
        convs[endpoint] = conv
    with live_server(settings) as server:
        ask = lambda text: phone(server.url, token, "10001", "+27820000001", text)  # noqa: E731
        assert [r["content"] for r in ask("RED please")] == ["Roses"]
        assert [r["content"] for r in ask("  blue")] == ["Violets"]
        reply = ask("green")
        assert [r["content"] for r in reply] == ["Anything?"]
        assert reply[0]["helper_metadata"]["go"]["conversation_key"] == convs["default"]

        async def acked_back() -> bool:
            # Acks follow the hops back: counted on the conversation's and the router's batch.
            red = await batch_counts(sqlite_db, "conversation", convs["red"], account)
            via = await batch_counts(sqlite_db, "router", router, account)
            return red.get("ack") == 1 and via.get("ack") == 3

        assert await wait_for(acked_back)
    counts = await batch_counts(sqlite_db, "router", router, account)
    assert counts["inbound"] == 3


MENU = {
    "menu_title": {"content": "Pick one"},
    "entries": [
        {"label": "Survey", "endpoint": "survey"},
        {"label": "Info", "endpoint": "info"},
    ],
    "invalid_input_message": DEFAULT_INVALID_INPUT,
}

POLL = {
    "start_state": {"uuid": "q1"},
    "states": [
        {
            "uuid": "q1",
            "name": "q1",
            "type": "freetext",
            "text": "Your name?",
            "store_as": "name",
            "entry_endpoint": {"uuid": "q1-in"},
            "exit_endpoint": {"uuid": "q1-out"},
        },
        {
            "uuid": "q2",
            "name": "q2",
            "type": "freetext",
            "text": "Your town?",
            "store_as": "town",
            "entry_endpoint": {"uuid": "q2-in"},
            "exit_endpoint": {"uuid": "q2-out"},
        },
        {
            "uuid": "bye",
            "name": "bye",
            "type": "end",
            "text": "Thanks",
            "entry_endpoint": {"uuid": "bye-in"},
        },
    ],
    "connections": [
        {"source": {"uuid": "q1-out"}, "target": {"uuid": "q2-in"}},
        {"source": {"uuid": "q2-out"}, "target": {"uuid": "bye-in"}},
    ],
}


async def menu_setup(db: Database, config: dict[str, Any]) -> tuple[str, str]:
    account, token = await channel(db, ["1201"])
    router = await make_router(db, account, "app_multiplexer", config)
    await router_on_tag(db, account, router, "app_multiplexer", "1201")
    survey = await conversation(db, account, "dialogue", {"poll": POLL})
    info = await conversation(db, account, "static_reply", {"reply_text": "Open 9 to 5"})
    await behind_router(
        db, account, router, "app_multiplexer", "survey", f"CONVERSATION:dialogue:{survey}"
    )
    await behind_router(
        db, account, router, "app_multiplexer", "info", f"CONVERSATION:static_reply:{info}"
    )
    return account, token


def ussd(url: str, token: str, who: str, content: str | None, event: str = "resume") -> Any:
    replies = phone(url, token, "1201", who, content, session_event=event, transport_type="ussd")
    assert len(replies) == 1, replies
    return replies[0]


async def test_ussd_menu_hands_session_to_chosen_app_and_keeps_it(
    sqlite_db: Database, settings: Settings
) -> None:
    _account, token = await menu_setup(sqlite_db, MENU)
    with live_server(settings) as server:
        url = server.url
        menu = ussd(url, token, "+27821110001", None, "new")
        assert menu["content"] == "Pick one\n1) Survey\n2) Info"
        assert menu["session_event"] is None
        assert ussd(url, token, "+27821110001", "7")["content"] == DEFAULT_INVALID_INPUT
        assert ussd(url, token, "+27821110001", "x")["content"].startswith("Pick one")
        assert ussd(url, token, "+27821110001", "1")["content"] == "Your name?"
        # The session stays with the survey: "2" is an answer now, not a menu choice.
        assert ussd(url, token, "+27821110001", "2")["content"] == "Your town?"
        end = ussd(url, token, "+27821110001", "Durban")
        assert (end["content"], end["session_event"]) == ("Thanks", "close")
        # A new session starts at the menu again; the other app answers its callers.
        assert ussd(url, token, "+27821110001", None, "new")["content"].startswith("Pick one")
        other = ussd(url, token, "+27821110002", None, "new")
        assert other["content"].startswith("Pick one")
        info = ussd(url, token, "+27821110002", "2")
        assert (info["content"], info["session_event"]) == ("Open 9 to 5", "close")


async def test_ussd_menu_session_expires(sqlite_db: Database, settings: Settings) -> None:
    _account, token = await menu_setup(sqlite_db, {**MENU, "session_expiry": 1})
    with live_server(settings) as server:
        url = server.url
        ussd(url, token, "+27821110003", None, "new")
        assert ussd(url, token, "+27821110003", "1")["content"] == "Your name?"
        time.sleep(1.3)
        # The menu session has gone: the caller is back at the menu, not in the survey.
        assert ussd(url, token, "+27821110003", "Sam")["content"].startswith("Pick one")


async def test_group_router_routes_by_static_group(sqlite_db: Database, settings: Settings) -> None:
    account, token = await channel(sqlite_db, ["10001"])
    vips = await make_group(sqlite_db, account, "vips")
    await make_contacts(sqlite_db, account, [{"msisdn": "+27820000010"}], group=vips)
    await make_contacts(sqlite_db, account, [{"msisdn": "+27820000011"}])
    router = await make_router(
        sqlite_db, account, "group", {"rules": [{"group": vips, "endpoint": "vip"}]}
    )
    await router_on_tag(sqlite_db, account, router, "group", "10001")
    for endpoint, text in (("vip", "Welcome back"), ("default", "Hello")):
        conv = await conversation(sqlite_db, account, "static_reply", {"reply_text": text})
        await behind_router(
            sqlite_db, account, router, "group", endpoint, f"CONVERSATION:static_reply:{conv}"
        )
    with live_server(settings) as server:
        vip = phone(server.url, token, "10001", "+27820000010", "hi")
        known = phone(server.url, token, "10001", "+27820000011", "hi")
        stranger = phone(server.url, token, "10001", "+27820000012", "hi")
    assert [r["content"] for r in vip] == ["Welcome back"]
    assert [r["content"] for r in known] == ["Hello"]
    assert [r["content"] for r in stranger] == ["Hello"]
