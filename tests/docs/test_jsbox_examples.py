"""The JavaScript sandbox's example apps (docs/examples/jsbox/), run as jsbox conversations of
a running platform and talked to from the developer phone, as the docs tell readers to."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.docs.conftest import EXAMPLES, DocsPlatform
from tests.sandbox.helpers import NODE_READY, FixtureServer, Route
from vumigo.db.engine import Database
from vumigo.db.models import Contact, MetricPoint

pytestmark = pytest.mark.skipif(not NODE_READY, reason="node and node_modules/vumigo_v02 needed")

JSBOX = EXAMPLES / "jsbox"


def _one(replies: list[dict[str, object]]) -> dict[str, object]:
    assert len(replies) == 1, replies
    return replies[0]


def _query(db_url: str, statement: object) -> list[object]:
    async def read() -> list[object]:
        db = Database(db_url)
        try:
            async with db.sessions() as session:
                return list((await session.execute(statement)).scalars())  # type: ignore[call-overload]
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_rating_survey_fires_metrics(docs_platform: DocsPlatform) -> None:
    p = docs_platform
    _, channel = p.jsbox(
        "Rating survey", JSBOX / "rating_metrics.js", {"name": "rating", "metric_store": "surveys"}
    )
    menu = "How was your visit today?\n1. Great\n2. Fine\n3. Poor"
    for who, choice in (("+27830000001", "1"), ("+27830000002", "3")):
        assert _one(p.say(channel, who, None, "new"))["content"] == menu
        thanks = _one(p.say(channel, who, choice, "resume"))
        assert (thanks["content"], thanks["session_event"]) == ("Thank you for rating us!", "close")
    points = _query(
        p.db_url,
        select(MetricPoint).where(
            MetricPoint.account_key == p.account, MetricPoint.store == "surveys"
        ),
    )
    fired = sorted((pt.store, pt.name, pt.aggregator, pt.value) for pt in points)  # type: ignore[attr-defined]
    assert fired == [
        ("surveys", "rating", "avg", 1.0),
        ("surveys", "rating", "avg", 5.0),
        ("surveys", "ratings", "last", 1.0),
        ("surveys", "ratings", "last", 2.0),
    ]


@pytest.fixture
def dictionary() -> Iterator[FixtureServer]:
    server = FixtureServer()
    server.routes["GET", "/define?word=sandbox"] = Route(
        200, b'{"definition": "a box of sand to play in"}'
    )
    yield server
    server.close()


def test_word_lookup_calls_a_web_service(
    docs_platform: DocsPlatform, dictionary: FixtureServer
) -> None:
    p = docs_platform
    config = {"name": "words", "dictionary_url": dictionary.url("/define")}
    _, channel = p.jsbox("Word lookup", JSBOX / "word_lookup.js", config)
    who = "+27830000003"
    assert _one(p.say(channel, who, None, "new"))["content"] == "Which word should I look up?"
    answer = _one(p.say(channel, who, " Sandbox", "resume"))
    assert answer["content"] == "sandbox: a box of sand to play in"
    assert [(r.method, r.path) for r in dictionary.requests] == [("GET", "/define?word=sandbox")]
    # A word the service does not know (404): the app says so instead of failing.
    assert _one(p.say(channel, who, None, "new"))["content"] == "Which word should I look up?"
    sorry = _one(p.say(channel, who, "zzz", "resume"))
    assert sorry["content"] == "Sorry, I could not look up zzz just now."


def test_favourite_colour_is_kept_on_the_contact(docs_platform: DocsPlatform) -> None:
    p = docs_platform
    _, channel = p.jsbox("Favourite colour", JSBOX / "favourite_colour.js", {"name": "colours"})
    who = "+27830000004"
    first = _one(p.say(channel, who, None, "new"))
    assert first["content"] == "Hello! What is your favourite colour?"
    saved = _one(p.say(channel, who, "Green ", "resume"))
    assert saved["content"] == "Thanks! I will remember that you like green."
    contacts = _query(p.db_url, select(Contact).where(Contact.msisdn == who))
    assert [c.extra for c in contacts] == [{"colour": "green"}]  # type: ignore[attr-defined]
    again = _one(p.say(channel, who, None, "new"))
    assert again["content"] == "Welcome back! Your favourite colour is green."


def test_the_smallest_app(docs_platform: DocsPlatform) -> None:
    p = docs_platform
    _, channel = p.jsbox("Hello", JSBOX / "hello.js", {"name": "hello"})
    hello = _one(p.say(channel, "+27830000005", "hi", transport_type="sms"))
    assert (hello["content"], hello["to_addr"]) == ("Hello!", "+27830000005")
