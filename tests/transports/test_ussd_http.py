"""USSD over HTTP: aggregator callbacks in, CON/END answers out, sessions and their timeouts.

Most tests use a small menu conversation type defined here; one drives the real dialogue app
through a three-question survey.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, ClassVar

import httpx
import pytest

from tests.support.live import live_server
from tests.transports.platform_support import Channel, RunningPlatform, make_channel, wait_for
from vumigo.apps import workers
from vumigo.apps.base import AppContext, ConversationApp
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.models import UssdSession
from vumigo.message import UserMessage
from vumigo.store import messages as store
from vumigo.transports.ussd_http import latest_input
from vumigo.web.app import create_app

CODE = "*120*55#"
PHONE = "+27820001111"
URL = "/api/v1/transports/ussd_http/ussd"


class MenuApp(ConversationApp):
    """Welcome menu → news menu → goodbye; says nothing to "silent"."""

    conversation_type = "test_ussd_menu"
    seen: ClassVar[list[tuple[str | None, str | None]]] = []

    async def consume_user_message(self, ctx: AppContext, msg: UserMessage) -> None:
        MenuApp.seen.append((msg.session_event, msg.content))
        if msg.session_event == "close" or msg.content == "silent":
            return
        if msg.session_event == "new":
            ctx.reply_to(msg, "Welcome!\n1. News\n2. Quit")
        elif msg.content == "1":
            ctx.reply_to(msg, "News:\n1. Today\n2. Quit")
        else:
            ctx.reply_to(msg, "Goodbye.", continue_session=False)


@pytest.fixture(autouse=True)
def menu_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real = workers.app_classes
    monkeypatch.setattr(
        workers, "app_classes", lambda: {**real(), MenuApp.conversation_type: MenuApp}
    )
    MenuApp.seen.clear()
    yield


def ussd_meta(**settings: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "transport_type": "ussd_http",
        "transport_name": "ussd_test",
        "delivery_class": "ussd",
    }
    meta.update({f"ussd_http.{key}": value for key, value in settings.items()})
    return meta


async def ussd_channel(db: Database, **settings: Any) -> Channel:
    return await make_channel(db, "ussd", [CODE], ussd_meta(**settings), MenuApp.conversation_type)


@pytest.fixture
async def in_process(sqlite_db: Database, settings: Settings) -> AsyncIterator[Callable[..., Any]]:
    """Starts a platform in this event loop; its web app is reached without a socket."""
    started: list[tuple[RunningPlatform, httpx.AsyncClient]] = []

    async def start(**pool_settings: Any) -> tuple[RunningPlatform, httpx.AsyncClient]:
        channel = await ussd_channel(sqlite_db, **pool_settings)
        channel_platform = RunningPlatform(settings, channel)
        await channel_platform.start()
        app = create_app(channel_platform.platform)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        started.append((channel_platform, client))
        return channel_platform, client

    yield start
    for running, client in started:
        await client.aclose()
        await running.stop()


def step(session: str, text: str, **extra: str) -> dict[str, str]:
    return {"sessionId": session, "serviceCode": CODE, "phoneNumber": PHONE, "text": text, **extra}


async def test_three_turn_session_over_real_http(sqlite_db: Database, settings: Settings) -> None:
    await ussd_channel(sqlite_db)
    with live_server(settings) as server, httpx.Client(base_url=server.url, timeout=15) as http:
        answers = [http.post(URL, data=step("ATUid_1", text)).text for text in ("", "1", "1*2")]
    assert answers == [
        "CON Welcome!\n1. News\n2. Quit",
        "CON News:\n1. Today\n2. Quit",
        "END Goodbye.",
    ]
    assert MenuApp.seen == [("new", None), ("resume", "1"), ("resume", "2")]
    async with sqlite_db.sessions() as session:
        row = await session.get(UssdSession, ("ussd_test", "ATUid_1"))
    assert row is not None
    assert (row.state, row.turns, row.msisdn, row.tag) == ("closed", 3, PHONE, CODE)


async def test_idle_session_times_out_and_the_app_hears_close(
    in_process: Callable[..., Any], sqlite_db: Database
) -> None:
    platform, http = await in_process(session_timeout=0.5)
    response = await http.post(URL, data=step("s-idle", ""))
    assert response.text.startswith("CON Welcome!")

    async def closed() -> bool:
        return ("close", None) in MenuApp.seen

    await wait_for(closed, 5)
    async with sqlite_db.sessions() as session:
        row = await session.get(UssdSession, ("ussd_test", "s-idle"))
    assert row is not None and row.state == "closed"
    # The same session id again starts afresh.
    again = await http.post(URL, data=step("s-idle", "1"))
    assert again.text.startswith("CON Welcome!")
    assert MenuApp.seen[-1] == ("new", "1")
    [(inbound, _)] = [
        m for m in await platform.messages("inbound") if m[0].session_event == "close"
    ]
    assert (inbound.from_addr, inbound.to_addr, inbound.transport_type) == (PHONE, CODE, "ussd")


async def test_app_that_does_not_answer_in_time_gets_end_and_close(
    in_process: Callable[..., Any],
) -> None:
    _, http = await in_process(reply_timeout=0.3, timeout_text="Try later")
    await http.post(URL, data=step("s-slow", ""))
    response = await http.post(URL, data=step("s-slow", "silent"))
    assert response.text == "END Try later"

    async def closed() -> bool:
        return MenuApp.seen[-1:] == [("close", None)]

    await wait_for(closed, 5)


async def test_aggregator_end_notification_closes_the_session(
    in_process: Callable[..., Any],
) -> None:
    _, http = await in_process()
    await http.post(URL, data=step("s-end", ""))
    response = await http.post(f"{URL}/end", data={"sessionId": "s-end"})
    assert response.text == "closed"
    await wait_for(lambda: _seen(("close", None)), 5)
    assert (await http.post(f"{URL}/end", data={"sessionId": "s-end"})).text == "not open"


async def _seen(item: tuple[str | None, str | None]) -> bool:
    return item in MenuApp.seen


async def test_json_body_custom_field_names_and_latest_text(
    in_process: Callable[..., Any],
) -> None:
    _, http = await in_process(
        session_field="session",
        phone_field="msisdn",
        service_code_field="code",
        text_field="input",
        text_mode="latest",
    )
    fields = {"session": "j1", "msisdn": PHONE, "code": CODE}
    assert (await http.post(URL, json={**fields, "input": ""})).text.startswith("CON Welcome!")
    assert (await http.post(URL, json={**fields, "input": "1"})).text.startswith("CON News:")
    assert (await http.post(URL, json={**fields, "input": "2"})).text == "END Goodbye."
    assert MenuApp.seen == [("new", None), ("resume", "1"), ("resume", "2")]


async def test_shared_secret_and_basic_auth(in_process: Callable[..., Any]) -> None:
    _, http = await in_process(secret="s3cret", username="agg", password="pw")
    assert (await http.post(URL, data=step("a1", ""))).status_code == 401
    assert (await http.post(URL, data=step("a1", "", secret="wrong"))).status_code == 401
    ok = await http.post(URL, data=step("a1", ""), headers={"X-Vumigo-Secret": "s3cret"})
    assert ok.status_code == 200
    basic = await http.post(URL, data=step("a2", ""), auth=("agg", "pw"))
    assert basic.status_code == 200
    assert (await http.post(URL, data=step("a3", ""), auth=("agg", "no"))).status_code == 401


async def test_unknown_pool_and_missing_fields(in_process: Callable[..., Any]) -> None:
    _, http = await in_process()
    assert (
        await http.post("/api/v1/transports/ussd_http/nope", data=step("x", ""))
    ).status_code == 404
    missing = await http.post(URL, data={"sessionId": "x", "serviceCode": CODE})
    assert missing.status_code == 400
    assert "phoneNumber" in missing.json()["reason"]


async def test_a_reply_nobody_waits_for_is_nacked(
    in_process: Callable[..., Any], sqlite_db: Database
) -> None:
    platform, _ = await in_process()
    transport = platform.transport("ussd_test")
    late = UserMessage(
        to_addr=PHONE,
        from_addr=CODE,
        transport_name="ussd_test",
        transport_type="ussd",
        content="too late",
        in_reply_to="gone",
    )
    async with sqlite_db.transaction() as session:
        await store.add_message(session, late, store.OUTBOUND, "queued", None)
    await transport.send_many([late])
    [nack] = await platform.events(late.message_id)
    assert nack.event_type == "nack"
    assert "no USSD request is waiting" in str(nack.nack_reason)


@pytest.mark.parametrize(
    ("previous", "text", "mode", "expected"),
    [
        ("", "", "cumulative", ""),
        ("", "1", "cumulative", "1"),
        ("1", "1*2", "cumulative", "2"),
        ("1*2", "1*2*hello*world", "cumulative", "hello*world"),
        ("1", "3", "cumulative", "3"),  # the aggregator restarted the text: take its last part
        ("1", "9*4", "cumulative", "4"),
        ("1", "1*2", "latest", "1*2"),
    ],
)
def test_latest_input(previous: str, text: str, mode: str, expected: str) -> None:
    assert latest_input(previous, text, mode) == expected


async def test_three_turn_session_with_the_dialogue_app(
    sqlite_db: Database, settings: Settings
) -> None:
    from tests.e2e.test_apps_conversations import THREE_QUESTIONS
    from vumigo.contacts import service as contacts

    channel = await make_channel(
        sqlite_db, "ussd", [CODE], ussd_meta(), "dialogue", {"poll": THREE_QUESTIONS}
    )
    with live_server(settings) as server, httpx.Client(base_url=server.url, timeout=15) as http:
        answers = [
            http.post(URL, data=step("ATUid_dlg", text)).text
            for text in ("", "2", "2*Thandi", "2*Thandi*1")
        ]
    assert answers == [
        "CON Favourite colour?\n1. Red\n2. Blue",
        "CON Your name?",
        "CON Happy?\n1. Yes\n2. No",
        "END Thank you!",
    ]
    async with sqlite_db.sessions() as session:
        contact = await contacts.find_by_address(session, channel.account, "ussd", PHONE)
    assert contact is not None
    assert {k: contact.extra.get(k) for k in ("colour", "name", "happy")} == {
        "colour": "blue",
        "name": "Thandi",
        "happy": "yes",
    }
