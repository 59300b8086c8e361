"""The registry of app types and the per-account permission to create them."""

from __future__ import annotations

import pytest

from tests.support import service_factories as factories
from vumigo.accounts.apps import (
    APP_TYPES,
    CONVERSATION_TYPES,
    ROUTER_TYPES,
    allowed_types,
    app_type,
    disable_app,
    enable_app,
    enable_apps,
    require_allowed,
)
from vumigo.db.engine import Database
from vumigo.errors import InvalidInput, NotFound, PermissionDenied

# The reference's §3 table: type, display name, original module.
REGISTRY = [
    ("bulk_message", "Group Message", "go.apps.bulk_message"),
    ("dialogue", "Dialogue", "go.apps.dialogue"),
    ("multi_survey", "Old Multi Surveys", "go.apps.multi_surveys"),
    ("survey", "Old Surveys", "go.apps.surveys"),
    ("opt_out", "Opt Out Handler", "go.apps.opt_out"),
    ("sequential_send", "Sequential Send", "go.apps.sequential_send"),
    ("subscription", "Subscription Manager", "go.apps.subscription"),
    ("wikipedia", "Wikipedia", "go.apps.wikipedia"),
    ("jsbox", "Javascript App", "go.apps.jsbox"),
    ("http_api", "HTTP API", "go.apps.http_api"),
    ("http_api_nostream", "HTTP API (No Streaming)", "go.apps.http_api_nostream"),
    ("rapidsms", "Rapid SMS", "go.apps.rapidsms"),
    ("static_reply", "Static Reply", "go.apps.static_reply"),
]


@pytest.mark.parametrize(("name", "display_name", "module"), REGISTRY)
def test_conversation_types(name: str, display_name: str, module: str) -> None:
    app = app_type(name)
    assert (app.display_name, app.kind, app.module) == (display_name, "conversation", module)
    assert app_type(module) is app


def test_router_types() -> None:
    assert set(ROUTER_TYPES) == {"keyword", "group", "app_multiplexer"}
    assert app_type("app_multiplexer").display_name == "Application Multiplexer"
    assert app_type("go.routers.keyword", "router").name == "keyword"
    assert set(CONVERSATION_TYPES) | set(ROUTER_TYPES) == set(APP_TYPES)
    assert len(CONVERSATION_TYPES) == len(REGISTRY)


@pytest.mark.parametrize(
    ("name", "kind", "message"),
    [
        ("nope", None, "unknown app type 'nope'; known: app_multiplexer, bulk_message, dialogue"),
        ("keyword", "conversation", "unknown conversation type 'keyword'; known: bulk_message"),
        ("jsbox", "router", "unknown router type 'jsbox'; known: app_multiplexer, group, keyword"),
    ],
)
def test_unknown_types_list_the_known(name: str, kind: str | None, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        app_type(name, kind)  # type: ignore[arg-type]


async def test_enable_disable_and_allowed(db: Database) -> None:
    async with db.transaction() as session:
        acct = await factories.account(session, apps=False)
        assert await allowed_types(session, acct.key) == frozenset()
        assert await enable_app(session, acct.key, "go.apps.jsbox") is True
        assert await enable_app(session, acct.key, "jsbox") is False
        assert await enable_app(session, acct.key, "keyword") is True
        assert await allowed_types(session, acct.key) == {"jsbox", "keyword"}
        assert (await require_allowed(session, acct.key, "jsbox", "conversation")).name == "jsbox"
        assert await disable_app(session, acct.key, "jsbox") is True
        assert await disable_app(session, acct.key, "jsbox") is False
        with pytest.raises(PermissionDenied, match="may not create conversations of type jsbox"):
            await require_allowed(session, acct.key, "jsbox", "conversation")
        newly = await enable_apps(session, acct.key)
        assert "keyword" not in newly and len(newly) == len(APP_TYPES) - 1
        assert await allowed_types(session, acct.key) == set(APP_TYPES)


async def test_unknown_account_or_type(sqlite_db: Database) -> None:
    async with sqlite_db.transaction() as session:
        acct = await factories.account(session, apps=False)
        with pytest.raises(NotFound, match="unknown account 'nope'"):
            await enable_app(session, "nope", "jsbox")
        with pytest.raises(NotFound):
            await disable_app(session, "nope", "jsbox")
        with pytest.raises(InvalidInput, match="unknown app type"):
            await enable_app(session, acct.key, "go.apps.nope")
