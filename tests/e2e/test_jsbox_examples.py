"""The three example apps shipped inside the vumigo_v02 npm package, unmodified but for their
``require`` (pointed at the installed package), run as jsbox conversations through
``vumigo serve`` and the developer phone, over several USSD turns each. Their replies are the
ones the apps' own test files expect (``examples/*/test/app.test.js``).

The code and app config are set with ``vumigo jsbox set-code`` / ``set-config`` from files.
The http example's ``httpbin.org`` requests go to a local server answering with the example's
own fixtures (``examples/http/test/fixtures.js``); the server is on 127.0.0.1, which the
sandbox's http resource refuses unless the operator allow-lists it, as this test does with
``VUMIGO_JSBOX_HTTP_ALLOW``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.sandbox.helpers import (
    EXAMPLES,
    NODE_READY,
    FixtureServer,
    Route,
    example_app,
    read_fixture_js,
)
from tests.support.factories import (
    hold_tag,
    make_account,
    make_conversation,
    make_pool,
    route_both_ways,
)
from tests.support.live import free_port
from vumigo.cli import cli
from vumigo.contacts.service import create_contact
from vumigo.db.engine import Database
from vumigo.db.models import Contact

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not NODE_READY, reason="node and node_modules/vumigo_v02 are needed"),
]

VUMIGO = str(Path(sys.executable).with_name("vumigo"))
MENU = "Tea or coffee?\n1. Tea\n2. Coffee"
DESTINY = "Choose your destiny:\n1. Put something\n2. Post something\n3. Cause an error"
TAGS = {"simple": "7001", "http": "7002", "contacts": "7003"}


@dataclass
class Platform:
    url: str
    token: str
    account: str
    conversations: dict[str, str]
    db_url: str

    def turn(
        self, app: str, from_addr: str, content: str | None, session_event: str
    ) -> dict[str, Any]:
        """One USSD turn on the app's tag; returns the one reply."""
        response = httpx.post(
            f"{self.url}/api/v1/dev/dev/{TAGS[app]}/messages",
            json={
                "from_addr": from_addr,
                "content": content,
                "session_event": session_event,
                "transport_type": "ussd",
                "wait": 15,
            },
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        replies: list[dict[str, Any]] = response.json()["replies"]
        assert len(replies) == 1, replies
        return replies[0]

    def say(self, app: str, from_addr: str, content: str | None) -> str:
        event = "new" if content is None else "resume"
        reply = self.turn(app, from_addr, content, event)
        assert reply["helper_metadata"]["go"]["conversation_key"] == self.conversations[app]
        return str(reply["content"])

    def ends_session(self, app: str, from_addr: str, content: str) -> str:
        reply = self.turn(app, from_addr, content, "resume")
        assert reply["session_event"] == "close", reply
        return str(reply["content"])


async def _setup(db_url: str) -> tuple[str, str, dict[str, str]]:
    db = Database(db_url)
    try:
        account, token = await make_account(db)
        await make_pool(db, "dev", list(TAGS.values()))
        conversations = {}
        for app, tag in TAGS.items():
            await hold_tag(db, account, "dev", tag)
            conv = await make_conversation(db, account, "jsbox", {})
            await route_both_ways(db, account, "dev", tag, f"CONVERSATION:jsbox:{conv}")
            conversations[app] = conv
        async with db.transaction() as session:
            # The contacts example's registered user, as its test sets one up.
            await create_contact(
                session,
                account,
                {
                    "msisdn": "+273321",
                    "name": "Anakin",
                    "extra": {"registered": "true", "beverage": "tea"},
                },
            )
        return account, token, conversations
    finally:
        await db.dispose()


def _jsbox(db_url: str, data_dir: Path, *args: str) -> None:
    env = {"VUMIGO_DATABASE_URL": db_url, "VUMIGO_DATA_DIR": str(data_dir), "VUMIGO_CONFIG": None}
    result = CliRunner().invoke(cli, ["jsbox", *args], env=env)
    assert result.exit_code == 0, (args, result.output, result.stderr)


def _beverage_extra(db_url: str) -> dict[str, str]:
    async def read() -> dict[str, str]:
        db = Database(db_url)
        try:
            async with db.sessions() as session:
                found = await session.scalar(select(Contact).where(Contact.msisdn == "+273123"))
            assert found is not None
            return dict(found.extra)
        finally:
            await db.dispose()

    return asyncio.run(read())


@pytest.fixture
def fixtures() -> Iterator[FixtureServer]:
    server = FixtureServer()
    for fixture in read_fixture_js(EXAMPLES / "http" / "test" / "fixtures.js"):
        request, response = fixture["request"], fixture["response"]
        path = request["url"].removeprefix("http://httpbin.org")
        server.routes[request["method"], path] = Route(
            response["code"], json.dumps(response["data"]).encode()
        )
    yield server
    server.close()


@pytest.fixture
def platform(sqlite_url: str, tmp_path: Path, fixtures: FixtureServer) -> Iterator[Platform]:
    account, token, conversations = asyncio.run(_setup(sqlite_url))
    sources = {
        "simple": example_app("simple"),
        "http": example_app("http").replace("http://httpbin.org", fixtures.url("")),
        "contacts": example_app("contacts"),
    }
    app_config = tmp_path / "config.json"
    app_config.write_text(json.dumps({"name": "some_app"}))
    for app, source in sources.items():
        code = tmp_path / f"{app}.js"
        code.write_text(source)
        _jsbox(sqlite_url, tmp_path, "set-code", conversations[app], str(code))
        _jsbox(sqlite_url, tmp_path, "set-config", conversations[app], "config", str(app_config))

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VUMIGO_")}
    env.update(
        VUMIGO_DATABASE_URL=sqlite_url,
        VUMIGO_DATA_DIR=str(tmp_path),
        VUMIGO_JSBOX_HTTP_ALLOW="127.0.0.1",
    )
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [VUMIGO, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "vumigo serve did not come up"
            time.sleep(0.1)
        yield Platform(url, token, account, conversations, sqlite_url)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


def test_the_three_examples_through_vumigo_serve(
    platform: Platform, fixtures: FixtureServer
) -> None:
    # examples/simple: a menu, and the end state for each choice; a new session starts over.
    assert platform.say("simple", "+27001", None) == MENU
    assert platform.say("simple", "+27002", None) == MENU  # users interleave
    assert platform.ends_session("simple", "+27001", "1") == "Meh. Bye."
    assert platform.ends_session("simple", "+27002", "2") == "Cool :) Bye."
    assert platform.say("simple", "+27001", None) == MENU
    assert platform.say("simple", "+27001", "9") == MENU  # not a choice: asked again
    assert platform.ends_session("simple", "+27001", "2") == "Cool :) Bye."

    # examples/http: put, post and an error status, answered by the example's fixtures.
    who = "+27003"
    assert platform.say("http", who, None) == DESTINY
    assert platform.say("http", who, "1") == "What would you like to put?"
    assert platform.ends_session("http", who, "hello world!") == (
        "You just performed a put. It was echoed back: hello world!"
    )
    put = fixtures.requests[-1]
    assert (put.method, put.path) == ("PUT", "/put")
    assert json.loads(put.body) == {"message": "hello world!"}
    assert platform.say("http", who, None) == DESTINY
    assert platform.say("http", who, "2") == "What would you like to post?"
    assert platform.ends_session("http", who, "hello world!") == (
        "You just performed a post. It was echoed back: hello world!"
    )
    assert (fixtures.requests[-1].method, fixtures.requests[-1].path) == ("POST", "/post")
    assert platform.say("http", who, None) == DESTINY
    assert platform.ends_session("http", who, "3") == (
        "You just performed a request. It got a response with the status code 418"
    )

    # examples/contacts: a registered contact is greeted; a new one registers in three turns.
    anakin = platform.turn("contacts", "+273321", None, "new")
    assert anakin["content"] == "Hello Anakin. I hear you like tea. That's nice. Bye."
    assert anakin["session_event"] == "close"
    luke = "+273123"
    assert platform.say("contacts", luke, None) == "What is your name?"
    assert platform.say("contacts", luke, "Luke") == "Do you like tea or coffee?\n1. Tea\n2. Coffee"
    assert platform.ends_session("contacts", luke, "2") == (
        "Hello Luke. I hear you like coffee. That's nice. Bye."
    )
    assert _beverage_extra(platform.db_url) == {"registered": "true", "beverage": "coffee"}
    # The next session finds the registered contact.
    reply = platform.turn("contacts", luke, None, "new")
    assert reply["content"] == "Hello Luke. I hear you like coffee. That's nice. Bye."
    assert reply["session_event"] == "close"
