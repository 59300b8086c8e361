"""The dialogue app with the engine: a dialogue sent to a group over SMS and answered, and an
httpjson state calling out to a (local, allow-listed) server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from sqlalchemy import select

from tests.apps.helpers import (
    ask,
    channel,
    conversation,
    give_groups,
    make_contacts,
    make_group,
    outbound_to,
    running_engine,
    task_of,
    wait_for,
)
from tests.apps.test_dialogue import link, state
from tests.support.live import free_port
from vumigo.apps import sessions
from vumigo.apps.scheduler import services_for
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.models import Contact, GroupMember
from vumigo.message import UserMessage

POLL: dict[str, Any] = {
    "start_state": {"uuid": "tag"},
    "states": [
        state("tag", "group", group={"key": "GROUP"}, exit_endpoint={"uuid": "tag-out"}),
        state(
            "age",
            "freetext",
            text="How old are you?",
            store_as="age",
            exit_endpoint={"uuid": "age-out"},
        ),
        state("hook", "httpjson", url="URL", method="POST", exit_endpoint={"uuid": "hook-out"}),
        state("end", "end", text="Thanks!"),
    ],
    "connections": [link("tag-out", "age"), link("age-out", "hook"), link("hook-out", "end")],
}


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VUMIGO_APPS_POLL_INTERVAL", "0.05")
    monkeypatch.setenv("VUMIGO_APPS_HTTP_ALLOW", "127.0.0.1")


@pytest.fixture
def hook_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


async def test_send_dialogue_then_answers_by_sms(
    sqlite_db: Database, settings: Settings, hook_server: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = hook_server
    account, _ = await channel(sqlite_db, ["10001"])
    joined = await make_group(sqlite_db, account, "answered")
    poll = json.loads(json.dumps(POLL).replace("GROUP", joined).replace('"URL"', f'"{url}"'))
    conv = await conversation(sqlite_db, account, "dialogue", {"poll": poll}, tag="10001")
    group = await make_group(sqlite_db, account, "panel")
    people = ["+27821000001", "+27821000002"]
    await make_contacts(sqlite_db, account, [{"msisdn": p} for p in people], group=group)
    await give_groups(sqlite_db, account, conv, [group])
    async with running_engine(settings) as engine:
        task = await ask(sqlite_db, conv, "send_dialogue")
        services_for(engine).scheduler.wake()

        async def sent() -> bool:
            found = await task_of(sqlite_db, task)
            return found is not None and found.status == "done"

        assert await wait_for(sent)
        questions = await outbound_to(sqlite_db, account)
        assert sorted((m.to_addr, m.content) for m in questions) == [
            (p, "How old are you?") for p in people
        ]
        saved = await sessions.load(sqlite_db, conv, people[0])
        assert saved == {"state": "age", "finished": False, "answers": {}}

        answer = UserMessage(
            to_addr="10001",
            from_addr=people[0],
            content="42",
            transport_name="dev",
            transport_type="sms",
            helper_metadata={"tag": {"tag": ["dev", "10001"]}},
        )
        await engine.accept_inbound(answer)

        async def thanked() -> bool:
            return any(m.content == "Thanks!" for m in await outbound_to(sqlite_db, account))

        assert await wait_for(thanked)
    assert received == [
        {
            "conversation_key": conv,
            "from_addr": people[0],
            "state": "hook",
            "answers": {"age": "42"},
        }
    ]
    async with sqlite_db.sessions() as session:
        contact = (await session.scalars(select(Contact).where(Contact.msisdn == people[0]))).one()
        members = set(
            (
                await session.scalars(
                    select(GroupMember.contact_key).where(GroupMember.group_key == joined)
                )
            ).all()
        )
    assert contact.extra == {"age": "42", "age-1": "42"}
    assert len(members) == 2  # the group state before the first question ran for everyone
