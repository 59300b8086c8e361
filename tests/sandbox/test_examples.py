"""The three example apps shipped in vumigo_v02 run unmodified through the warm pool, over
several USSD turns, giving the replies their own test suites expect."""

from __future__ import annotations

import json

import pytest

from vumigo.sandbox.resources.http import HttpResource, HttpSettings

from .conftest import HarnessFactory
from .fake_contacts import FakeContactsResource
from .helpers import (
    EXAMPLES,
    FixtureServer,
    Harness,
    LoopbackOnly,
    Route,
    app_config,
    event,
    example_app,
    read_fixture_js,
    user_message,
)

MENU = "Tea or coffee?\n1. Tea\n2. Coffee"


async def turn(h: Harness, account: str, app: str, content: str | None, addr: str) -> str | None:
    result = await h.run(account, app, user_message(content, from_addr=addr))
    assert result.ok, (result.error, result.messages())
    reply = h.last_reply(account)
    assert reply.in_reply_to is not None and reply.in_reply_to["from_addr"] == addr
    return reply.content


async def user_state(h: Harness, account: str, addr: str, store: str = "some_app") -> str:
    user = await h.kv_value(account, f"users.{store}.{addr}")
    return str(user["state"]["name"])


async def test_simple_app(harness: Harness) -> None:
    app = example_app("simple")
    alice, bob = "+27001", "+27002"
    assert await turn(harness, "acct", app, None, alice) == MENU
    assert harness.last_reply().continue_session is True
    assert await user_state(harness, "acct", alice) == "states:start"
    assert await turn(harness, "acct", app, None, bob) == MENU  # users interleave
    assert await turn(harness, "acct", app, "1", alice) == "Meh. Bye."
    assert harness.last_reply().continue_session is False
    assert await user_state(harness, "acct", alice) == "states:tea"
    assert await turn(harness, "acct", app, "2", bob) == "Cool :) Bye."
    assert await user_state(harness, "acct", bob) == "states:coffee"
    # A new session after an EndState starts over.
    assert await turn(harness, "acct", app, None, alice) == MENU
    assert await user_state(harness, "acct", alice) == "states:start"
    # An invalid choice repeats the question.
    assert await turn(harness, "acct", app, "9", alice) == MENU
    assert await turn(harness, "acct", app, "2", alice) == "Cool :) Bye."
    pool = harness.manager.pool("acct")
    assert pool.stats.started == 1 and pool.stats.runs == 7  # one warm process served all


async def test_simple_app_logs(harness: Harness) -> None:
    result = await harness.run("acct", example_app("simple"), user_message(None))
    assert result.messages()[0] == "Loading sandboxed code ..."
    assert result.messages()[-1] == "Done."
    assert "Switched to state: states:start" in result.messages()
    stored = await harness.logs.recent("acct", "acct-conv")
    assert stored[0].endswith("INFO] Done.") and len(stored) == len(result.logs)


@pytest.fixture
def http_harness(make_harness: HarnessFactory, fixture_server: FixtureServer) -> Harness:
    for fixture in read_fixture_js(EXAMPLES / "http" / "test" / "fixtures.js"):
        request, response = fixture["request"], fixture["response"]
        path = request["url"].removeprefix("http://httpbin.org")
        body = json.dumps(response["data"]).encode()
        fixture_server.routes[request["method"], path] = Route(response["code"], body)
    net = LoopbackOnly()
    http = HttpResource(
        HttpSettings(allow=("127.0.0.1",)), resolver=net.resolve, connector=net.connect
    )
    return make_harness(http=http)


async def test_http_app(http_harness: Harness, fixture_server: FixtureServer) -> None:
    # The app's httpbin.org URLs point at the local fixture server instead.
    app = example_app("http").replace("http://httpbin.org", fixture_server.url(""))
    h, addr = http_harness, "+27003"
    assert await turn(h, "acct", app, None, addr) == (
        "Choose your destiny:\n1. Put something\n2. Post something\n3. Cause an error"
    )
    assert await turn(h, "acct", app, "1", addr) == "What would you like to put?"
    assert await turn(h, "acct", app, "hello world!", addr) == (
        "You just performed a put. It was echoed back: hello world!"
    )
    assert h.last_reply().continue_session is False
    put = fixture_server.requests[-1]
    assert put.method == "PUT" and json.loads(put.body) == {"message": "hello world!"}
    assert put.headers["Content-Type"].startswith("application/json")

    assert await turn(h, "acct", app, None, addr) == (
        "Choose your destiny:\n1. Put something\n2. Post something\n3. Cause an error"
    )
    assert await turn(h, "acct", app, "2", addr) == "What would you like to post?"
    assert await turn(h, "acct", app, "hello world!", addr) == (
        "You just performed a post. It was echoed back: hello world!"
    )
    assert fixture_server.requests[-1].method == "POST"

    assert await turn(h, "acct", app, None, addr) is not None
    assert await turn(h, "acct", app, "3", addr) == (
        "You just performed a request. It got a response with the status code 418"
    )
    assert h.last_reply().continue_session is False
    assert await user_state(h, "acct", addr, "some_app") == "states:error"


async def test_contacts_app(make_harness: HarnessFactory) -> None:
    contacts = FakeContactsResource()
    h = make_harness(extra=[contacts])
    app = example_app("contacts")
    contacts.add(
        "acct", msisdn="+273321", name="Anakin", extra={"registered": "true", "beverage": "tea"}
    )
    assert await turn(h, "acct", app, None, "+273321") == (
        "Hello Anakin. I hear you like tea. That's nice. Bye."
    )
    # An unknown user registers over three turns.
    assert await turn(h, "acct", app, None, "+273123") == "What is your name?"
    luke = contacts.find("acct", "msisdn", "+273123")
    assert luke is not None and luke["extra"] == {}
    assert await turn(h, "acct", app, "Luke", "+273123") == (
        "Do you like tea or coffee?\n1. Tea\n2. Coffee"
    )
    assert contacts.contacts[luke["key"]]["name"] == "Luke"
    assert await turn(h, "acct", app, "2", "+273123") == (
        "Hello Luke. I hear you like coffee. That's nice. Bye."
    )
    saved = contacts.contacts[luke["key"]]
    assert saved["extra"] == {"registered": "true", "beverage": "coffee"}
    # Next session: registered.
    assert await turn(h, "acct", app, None, "+273123") == (
        "Hello Luke. I hear you like coffee. That's nice. Bye."
    )
    # Another account's contacts are its own.
    assert await turn(h, "other", app, None, "+273321") == "What is your name?"


async def test_event_without_listener_saves_blank_user(harness: Harness) -> None:
    result = await harness.run("acct", example_app("simple"), event("ack"))
    assert result.ok
    # The toolkit's known quirk (reference §3): an event with no listener saves a blank user.
    assert await harness.kv_value("acct", "users.default.undefined") is not None
    assert harness.sent() == []


TRANSLATED_APP = """
var vumigo = require('vumigo_v02');
var App = vumigo.App;
var EndState = vumigo.states.EndState;
var TApp = App.extend(function (self) {
    App.call(self, 'states:start');
    var $ = self.$;
    self.states.add('states:start', function (name) {
        return new EndState(name, {text: $('Hello {{name}}').context({name: 'Jo'}),
                                   next: 'states:start'});
    });
});
vumigo.interact(this.api, TApp);
"""


async def test_translation_config(harness: Harness) -> None:
    # A user with a language makes the toolkit ask for config "translation.<lang>"; its
    # interpolation uses lodash templates (code generation in the outer realm).
    user = {
        "addr": "+27009",
        "lang": "af",
        "answers": {},
        "metadata": {},
        "in_session": False,
        "state": {"name": None, "metadata": {}, "creator_opts": {}},
    }
    await harness.kv.set("acct", "users.some_app.+27009", json.dumps(user), None, 100)
    messages = {
        "": {"domain": "messages", "lang": "af"},
        "Hello {{name}}": [None, "Hallo {{name}}"],
    }
    config = {**app_config(), "translation.af": json.dumps(messages)}
    msg = user_message(None, from_addr="+27009")
    result = await harness.run("acct", TRANSLATED_APP, msg, config)
    assert result.ok, result.messages()
    assert harness.last_reply().content == "Hallo Jo"
