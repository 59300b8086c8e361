"""Operator pages (/admin/): for operators only, hidden (404) from everyone else.

Every page is fetched as an operator; every address and method as a signed-in non-operator
gets the plain 404 page and changes nothing; forms check CSRF; bad input is a 400 page that
says what was wrong; and what the forms do is checked through the services.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import insert

from tests.support.factories import hold_tag, make_pool
from tests.web.conftest import BrowserFactory
from tests.web.helpers import PASSWORD, Browser, make_user
from vumigo.accounts.apps import allowed_types
from vumigo.accounts.queries import get_account
from vumigo.accounts.users import authenticate, get_user, set_admin
from vumigo.billing.credit import credit_state
from vumigo.channels.acquisition import tag_owner
from vumigo.channels.tagpools import pool_permissions, pool_summary
from vumigo.db.base import utcnow
from vumigo.db.models import (
    Account,
    Batch,
    Conversation,
    MessageBatch,
    StoredMessage,
    Tag,
    TagPool,
    User,
)
from vumigo.runtime import Platform
from vumigo.web import passwords
from vumigo.web.pages import admin as admin_pages

ADMIN = "root@example.com"
NO_PAGE = "There is no page at this address."


@pytest.fixture
async def admin(new_browser: BrowserFactory, platform: Platform) -> Browser:
    """Signed in as an operator, in an account of their own."""
    me = await new_browser()
    me.account = await make_user(platform.db, ADMIN)
    async with platform.db.transaction() as session:
        await set_admin(session, (await get_user(session, ADMIN)).id, True)
    assert (await me.sign_in(ADMIN)).status_code == 303
    return me


async def user_id(platform: Platform, email: str) -> int:
    async with platform.db.sessions() as session:
        return (await get_user(session, email)).id


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """The routes of a router, those of the routers it includes too."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += api_routes(route.original_router.routes)
    return found


def every_route(params: dict[str, str]) -> list[tuple[str, str]]:
    """Every (method, path) the operator pages have, with their path parameters filled in."""
    found = []
    for route in api_routes(admin_pages.router.routes):
        path = route.path
        for name, value in params.items():
            path = path.replace("{" + name + "}", value)
        found += [(method, path) for method in sorted((route.methods or set()) - {"HEAD"})]
    return found


async def refused(admin: Browser, url: str, form: dict[str, Any], message: str) -> None:
    """The form is answered with a 400 HTML page that says ``message``."""
    response = await admin.post(url, form)
    assert response.status_code == 400, (url, form, response.status_code)
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text, (url, form, message)


async def test_nav_entry_only_for_operators(admin: Browser, browser: Browser) -> None:
    mine = await admin.get("/")
    theirs = await browser.get("/")
    assert 'href="/admin/"' in mine.text and ">Operator<" in mine.text
    assert 'href="/admin/"' not in theirs.text and "Operator" not in theirs.text


async def test_every_page_as_an_operator(admin: Browser, browser: Browser) -> None:
    await make_pool(admin.db, "devphone", ["100", "101"])
    await hold_tag(admin.db, browser.account, "devphone", "100")
    alice = await user_id(admin.platform, "alice@example.com")
    pages = {
        "/admin/": ["Accounts", "In today", "devphone", "dispatcher.inbound", "/billing/admin/"],
        "/admin/accounts/": ["alice@example.com", ADMIN, browser.account],
        "/admin/accounts/?q=ALICE": ["alice@example.com"],
        "/admin/accounts/new": ['name="email"', 'name="all_apps"'],
        f"/admin/accounts/{browser.account}/": [
            "alice@example.com",
            "Credits",
            "Javascript App",
            "devphone",
            'name="amount"',
            "/billing/admin/",
        ],
        "/admin/users/": ["alice@example.com", ADMIN, "operator"],
        "/admin/users/?q=root": [ADMIN],
        f"/admin/users/new?account={browser.account}": [browser.account],
        f"/admin/users/{alice}/": ["alice@example.com", "Make an operator"],
        "/admin/pools/": ["devphone", 'name="tag_range"', "tagpools.yaml"],
        "/admin/pools/devphone/": ["100", "101", "Test User", "Release"],
        "/admin/pools/devphone/?show=free": ["101"],
    }
    for url, texts in pages.items():
        page = await admin.get(url)
        assert page.status_code == 200, url
        assert page.headers["content-type"].startswith("text/html")
        for text in texts:
            assert text in page.text, (url, text)
    free = await admin.get("/admin/pools/devphone/?show=free")
    assert "Test User" not in free.text.split('id="pool-tags"')[1].split("</table>")[0]
    searched = await admin.get("/admin/users/?q=alice")
    assert ADMIN not in searched.text.split('id="users"')[1].split("</table>")[0]


async def test_every_address_is_hidden_from_others(
    admin: Browser, browser: Browser, new_browser: BrowserFactory
) -> None:
    await make_pool(admin.db, "devphone", ["100"])
    await hold_tag(admin.db, browser.account, "devphone", "100")
    alice = await user_id(admin.platform, "alice@example.com")
    filled = {"key": browser.account, "user_id": str(alice), "name": "devphone", "rest": "x"}
    every = [*every_route(filled), ("GET", "/admin/nothing/here"), ("DELETE", "/admin/")]
    assert len(every) > 20  # the whole set, so a new route is covered without a new line here
    form = {
        "on": "1",
        "amount": "100",
        "tag": "100",
        "account": browser.account,
        "pool": "devphone",
        "email": "sneaky@example.com",
        "password": "long enough pw",
        "name": "sneaky",
        "tags": "x1",
        "app": "jsbox",
        "yaml": "pools:\n  p2:\n    tags: [a]\n",
    }
    for method, path in every:
        for headers in ({"x-csrf-token": browser.token}, {}):
            response = await browser.client.request(
                method, path, data=form if method == "POST" else None, headers=headers
            )
            assert response.status_code == 404, (method, path, headers)
            if method != "HEAD":
                assert NO_PAGE in response.text and "Operator" not in response.text
    # Nothing changed: no credit, no new user, the tag still held, alice not an operator.
    async with admin.db.sessions() as session:
        assert (await credit_state(session, browser.account)).balance == 0
        assert (await get_user(session, "alice@example.com")).is_admin is False
        assert await tag_owner(session, "devphone", "100") == browser.account
        assert await session.get(TagPool, "p2") is None
        assert await authenticate(session, "sneaky@example.com", "long enough pw") is None
    # An operator sees the same page for an address that does not exist.
    missing = await admin.get("/admin/nothing/here")
    assert missing.status_code == 404 and NO_PAGE in missing.text
    # Signed out: the sign-in page, as everywhere.
    stranger = await new_browser()
    gone = await stranger.get("/admin/accounts/")
    assert gone.status_code == 303 and gone.headers["location"] == "/signin?next=/admin/accounts/"


async def test_forms_need_the_csrf_token(admin: Browser, browser: Browser) -> None:
    url = f"/admin/accounts/{browser.account}/topup"
    missing = await admin.client.post(url, data={"amount": "10"})
    wrong = await admin.client.post(url, data={"amount": "10", "csrf_token": "x" * 40})
    assert missing.status_code == wrong.status_code == 403
    assert "form has expired" in missing.text
    async with admin.db.sessions() as session:
        assert (await credit_state(session, browser.account)).balance == 0
    assert (await admin.post(url, {"amount": "10"})).status_code == 303


async def test_create_an_account_with_its_first_user(admin: Browser) -> None:
    made = await admin.post(
        "/admin/accounts/new",
        {
            "account_name": "Acme Health",
            "email": "Nurse@Acme.example",
            "name": "Nia",
            "surname": "Nurse",
            "password": "a good password",
            "all_apps": "on",
        },
    )
    assert made.status_code == 303
    key = re.fullmatch(r"/admin/accounts/([0-9a-f]{32})/", made.headers["location"])
    assert key
    async with admin.db.sessions() as session:
        account = await get_account(session, key.group(1))
        person = await authenticate(session, "nurse@acme.example", "a good password")
        allowed = await allowed_types(session, key.group(1))
    assert account.name == "Acme Health" and "jsbox" in allowed and "keyword" in allowed
    assert person is not None and person.account_key == key.group(1) and not person.is_admin
    page = await admin.get(made.headers["location"])
    assert "Account “Acme Health” created" in page.text and "nurse@acme.example" in page.text

    # Without a password: a set-password link, shown on this page only.
    linked = await admin.post(
        "/admin/accounts/new", {"email": "second@acme.example", "account_name": "Acme Two"}
    )
    assert linked.status_code == 200
    link = re.search(r'id="reset-link">[^<]*/password/reset/([^<]+)</p>', linked.text)
    assert link and await passwords.token_is_live(admin.db, link.group(1))
    second = re.search(r'action="/admin/accounts/([0-9a-f]{32})/topup"', linked.text)
    assert second and "Acme Two" in linked.text
    again = await admin.get(f"/admin/accounts/{second.group(1)}/")
    assert link.group(1) not in again.text
    async with admin.db.sessions() as session:
        assert await allowed_types(session, second.group(1)) == frozenset()  # not ticked
    # The link is a working set-password token: with it, the new user chooses a password.
    await passwords.use_reset(admin.db, link.group(1), "chosen password")
    async with admin.db.sessions() as session:
        assert await authenticate(session, "second@acme.example", "chosen password") is not None


BAD_NEW_ACCOUNTS = [
    ({"email": "alice@example.com", "password": "long enough"}, "already exists"),
    ({"email": "ALICE@example.com"}, "already exists"),
    ({"email": "not an address"}, "Invalid e-mail address"),
    ({"email": ""}, "E-mail address is required"),
    ({"email": "new@example.com", "password": "short"}, "at least 8 characters"),
    ({"email": "new@example.com", "account_name": "x" * 300}, "at most 255"),
]


async def test_bad_new_accounts(admin: Browser, browser: Browser) -> None:
    for form, message in BAD_NEW_ACCOUNTS:
        await refused(admin, "/admin/accounts/new", form, message)
    async with admin.db.sessions() as session:
        assert await authenticate(session, "new@example.com", "long enough") is None


async def test_users_create_admin_reset_disable(admin: Browser, browser: Browser) -> None:
    made = await admin.post(
        "/admin/users/new",
        {"account": browser.account, "email": "bo@example.com", "password": "bo's password"},
    )
    assert made.status_code == 303
    bo = await user_id(admin.platform, "bo@example.com")
    assert made.headers["location"] == f"/admin/users/{bo}/"
    async with admin.db.sessions() as session:
        assert (await get_user(session, "bo@example.com")).account_key == browser.account

    assert (await admin.post(f"/admin/users/{bo}/admin", {"on": "1"})).status_code == 303
    async with admin.db.sessions() as session:
        assert (await get_user(session, "bo@example.com")).is_admin
    assert (await admin.post(f"/admin/users/{bo}/admin", {"on": "0"})).status_code == 303
    async with admin.db.sessions() as session:
        assert not (await get_user(session, "bo@example.com")).is_admin

    reset = await admin.post(f"/admin/users/{bo}/reset")
    assert reset.status_code == 200
    token = re.search(r'id="reset-link">[^<]*/password/reset/([^<]+)</p>', reset.text)
    assert token and await passwords.token_is_live(admin.db, token.group(1))
    assert token.group(1) not in (await admin.get(f"/admin/users/{bo}/")).text

    # Disabling alice signs her out at once.
    alice = await user_id(admin.platform, "alice@example.com")
    assert (await admin.post(f"/admin/users/{alice}/active", {"on": "0"})).status_code == 303
    assert (await browser.get("/")).status_code == 303
    async with admin.db.sessions() as session:
        assert await authenticate(session, "alice@example.com", PASSWORD) is None
    refused = await admin.post(f"/admin/users/{alice}/reset")
    assert refused.status_code == 400 and "disabled" in refused.text
    assert (await admin.post(f"/admin/users/{alice}/active", {"on": "1"})).status_code == 303
    async with admin.db.sessions() as session:
        assert await authenticate(session, "alice@example.com", PASSWORD) is not None


BAD_USER_FORMS = [
    ("/admin/users/new", {"account": "f" * 32, "email": "x@example.com"}, "Unknown account"),
    ("/admin/users/new", {"email": "x@example.com"}, "Give the key of the account"),
    ("/admin/users/new", {"account": "{account}", "email": "alice@example.com"}, "exists"),
    ("/admin/users/{me}/admin", {"on": "0"}, "your own operator rights"),
    ("/admin/users/{me}/active", {"on": "0"}, "cannot disable yourself"),
    ("/admin/users/{me}/active", {"on": "yes"}, "on=1 or on=0"),
]


async def test_bad_user_forms(admin: Browser, browser: Browser) -> None:
    me = str(await user_id(admin.platform, ADMIN))
    for url, form, message in BAD_USER_FORMS:
        filled = {k: v.replace("{account}", browser.account) for k, v in form.items()}
        await refused(admin, url.replace("{me}", me), filled, message)
    async with admin.db.sessions() as session:
        still = await get_user(session, ADMIN)
    assert still.is_admin and still.is_active


async def test_unknown_keys_in_addresses_are_not_found(admin: Browser) -> None:
    for url in (
        f"/admin/accounts/{'0' * 32}/",
        "/admin/users/999999/",
        "/admin/users/99999999999999999999999/",
        "/admin/pools/nope/",
    ):
        response = await admin.get(url)
        assert response.status_code in (400, 404), url
        assert response.headers["content-type"].startswith("text/html")
    for url in (f"/admin/accounts/{'0' * 32}/topup", "/admin/pools/nope/tags"):
        assert (await admin.post(url, {"amount": "5", "tags": "a"})).status_code == 404


async def test_tag_pools_create_add_assign_release(admin: Browser, browser: Browser) -> None:
    made = await admin.post(
        "/admin/pools/new",
        {
            "name": "longcode",
            "tag_range": "2782:10001-10005",
            "meta": "display_name: Long code\ncountry_name: ZA\nsupports:\n  replies: true",
        },
    )
    assert made.status_code == 303 and made.headers["location"] == "/admin/pools/longcode/"
    listed = await admin.post("/admin/pools/new", {"name": "short", "tags": "123, 456\n789"})
    assert listed.status_code == 303
    imported = await admin.post(
        "/admin/pools/import",
        {"yaml": "pools:\n  ussd:\n    tags: '[\"*120*%d#\" % i for i in range(1, 4)]'\n"},
    )
    assert imported.status_code == 303
    added = await admin.post("/admin/pools/longcode/tags", {"tags": "278210001 extra-1"})
    assert added.status_code == 303
    async with admin.db.sessions() as session:
        longcode = await pool_summary(session, "longcode")
        short = await pool_summary(session, "short")
        ussd = await pool_summary(session, "ussd")
    assert (longcode.total, short.total, ussd.total) == (6, 3, 3)
    assert longcode.meta["supports.replies"] is True

    assigned = await admin.post(
        "/admin/pools/longcode/assign", {"account": browser.account, "max_keys": "2"}
    )
    assert assigned.status_code == 303
    from_account = await admin.post(
        f"/admin/accounts/{browser.account}/pools", {"pool": "short", "max_keys": ""}
    )
    assert from_account.status_code == 303
    async with admin.db.sessions() as session:
        grants = {g.pool: g.max_keys for g in await pool_permissions(session, browser.account)}
    assert grants == {"longcode": 2, "short": None}

    # The account takes a channel through its own page; the operator releases it.
    taken = await browser.post("/channels/new", {"pool": "longcode", "tag": ""})
    assert taken.status_code == 303
    page = await admin.get("/admin/pools/longcode/?show=held")
    assert "Test User" in page.text and "278210001" in page.text
    released = await admin.post(
        "/admin/pools/longcode/release",
        {"tag": "278210001", "next": f"/admin/accounts/{browser.account}/"},
    )
    assert released.status_code == 303
    assert released.headers["location"] == f"/admin/accounts/{browser.account}/"
    async with admin.db.sessions() as session:
        assert await tag_owner(session, "longcode", "278210001") is None
    again = await admin.post("/admin/pools/longcode/release", {"tag": "278210001"})
    assert again.status_code == 400 and "not held" in again.text

    removed = await admin.post(f"/admin/accounts/{browser.account}/pools/remove", {"pool": "short"})
    assert removed.status_code == 303
    async with admin.db.sessions() as session:
        assert [g.pool for g in await pool_permissions(session, browser.account)] == ["longcode"]


BAD_POOL_FORMS = [
    ("/admin/pools/new", {"name": "bad name", "tags": "a"}, "Invalid pool name"),
    ("/admin/pools/new", {"name": "p", "tag_range": "x:9-1"}, "END is before START"),
    ("/admin/pools/new", {"name": "p", "tag_range": "nonsense"}, "expected PREFIX:START-END"),
    ("/admin/pools/new", {"name": "p", "tags": "a", "tag_range": "x:1-2"}, "not both"),
    ("/admin/pools/new", {"name": "p", "tag_range": "x:1-200000"}, "too long"),
    ("/admin/pools/new", {"name": "p", "meta": "a: [unclosed"}, "Invalid metadata YAML"),
    ("/admin/pools/new", {"name": "p", "meta": "- a list"}, "must be a mapping"),
    ("/admin/pools/new", {"name": "p", "meta": "supports.replies: 3"}, "true or false"),
    ("/admin/pools/new", {"name": "taken", "tags": "a"}, "already exists"),
    ("/admin/pools/new", {"name": "p", "tags": "a::b"}, "no spaces or"),
    ("/admin/pools/import", {"yaml": "pools: [1, 2]"}, "top-level"),
    (
        "/admin/pools/import",
        {"yaml": "pools:\n  x:\n    tags: 'import os'"},
        "Cannot read tags",
    ),
    ("/admin/pools/import", {"yaml": "pools: {}"}, "declares no pools"),
    ("/admin/pools/taken/tags", {}, "Give the tags to add"),
    ("/admin/pools/taken/tags", {"tag_range": "t:5-1"}, "END is before START"),
    ("/admin/pools/taken/assign", {"account": "f" * 32}, "Unknown account"),
    ("/admin/pools/taken/assign", {"account": "{account}", "max_keys": "-1"}, "whole number"),
    ("/admin/pools/taken/release", {"tag": "nope"}, "not held"),
]


async def test_bad_pool_forms(admin: Browser, browser: Browser) -> None:
    await make_pool(admin.db, "taken", ["t1"])
    for url, form, message in BAD_POOL_FORMS:
        filled = {k: v.replace("{account}", browser.account) for k, v in form.items()}
        await refused(admin, url, filled, message)
    async with admin.db.sessions() as session:
        assert await session.get(TagPool, "p") is None
        assert (await pool_summary(session, "taken")).total == 1
        assert await pool_permissions(session, browser.account) == []


async def test_account_permissions_credit_and_disabling(admin: Browser, browser: Browser) -> None:
    base = f"/admin/accounts/{browser.account}"
    saved = await admin.post(
        base + "/permissions", {"app": ["jsbox", "keyword"], "flag": ["can_manage_optouts"]}
    )
    assert saved.status_code == 303
    async with admin.db.sessions() as session:
        assert await allowed_types(session, browser.account) == {"jsbox", "keyword"}
        account = await get_account(session, browser.account)
    assert account.flags() == ["can_manage_optouts"]
    assert 'value="jsbox" checked' in (await admin.get(base + "/")).text

    topped = await admin.post(base + "/topup", {"amount": "250.5", "note": "March"})
    assert topped.status_code == 303
    async with admin.db.sessions() as session:
        assert (await credit_state(session, browser.account)).balance == Decimal("250.5")
    assert "250.5" in (await admin.get(base + "/")).text

    assert (await admin.post(base + "/disable")).status_code == 303
    assert (await browser.get("/")).status_code == 303  # signed out
    async with admin.db.sessions() as session:
        assert await authenticate(session, "alice@example.com", PASSWORD) is None
    assert "disabled" in (await admin.get(base + "/")).text
    assert (await admin.post(base + "/enable")).status_code == 303
    async with admin.db.sessions() as session:
        assert await authenticate(session, "alice@example.com", PASSWORD) is not None


BAD_ACCOUNT_FORMS: list[tuple[str, dict[str, Any], str]] = [
    ("/topup", {"amount": "-5"}, "must be zero or more"),
    ("/topup", {"amount": "0"}, "must be above zero"),
    ("/topup", {"amount": "lots"}, "must be a number"),
    ("/topup", {"amount": "1e400"}, "too large"),
    ("/topup", {"amount": "0.0000001"}, "decimal places"),
    ("/topup", {"amount": "NaN"}, "zero or more"),
    ("/topup", {}, "Credits is required"),
    ("/permissions", {"app": ["jsbox", "go.apps.nope"]}, "Unknown app type"),
    ("/permissions", {"flag": ["is_root"]}, "Unknown account flag"),
    ("/pools", {"pool": "nope"}, "Unknown tagpool"),
    ("/pools", {"pool": ""}, "Pool is required"),
    ("/pools", {"pool": "devphone", "max_keys": "many"}, "whole number"),
    ("/pools/remove", {"pool": "devphone"}, "has no permission"),
]


async def test_operators_cannot_lock_themselves_out(admin: Browser) -> None:
    await refused(admin, f"/admin/accounts/{admin.account}/disable", {}, "your own account")
    async with admin.db.sessions() as session:
        assert await authenticate(session, ADMIN, PASSWORD) is not None


async def test_bad_account_forms(admin: Browser, browser: Browser) -> None:
    await make_pool(admin.db, "devphone", ["100"])
    for path, form, message in BAD_ACCOUNT_FORMS:
        await refused(admin, f"/admin/accounts/{browser.account}{path}", form, message)
    async with admin.db.sessions() as session:
        assert (await credit_state(session, browser.account)).balance == 0
        assert len(await allowed_types(session, browser.account)) > 10  # as make_user left it
        assert await pool_permissions(session, browser.account) == []


async def test_lists_page_and_search(admin: Browser, browser: Browser) -> None:
    for n in range(30):
        await make_user(admin.db, f"user{n:02d}@bulk.example", apps=False)
    first = await admin.get("/admin/accounts/")
    assert "Page 1 of 2" in first.text and "32 in all" in first.text
    last = await admin.get("/admin/accounts/?p=99")  # past the end: the last page
    assert "Page 2 of 2" in last.text
    found = await admin.get("/admin/accounts/?q=user07")
    assert "user07@bulk.example" in found.text and "user08@bulk.example" not in found.text
    none = await admin.get("/admin/accounts/?q=%25")
    assert "No account matches" in none.text
    users = await admin.get("/admin/users/?p=2")
    assert "Page 2 of 2" in users.text and "user29@bulk.example" in users.text
    nul = await admin.get("/admin/users/?q=%00root")  # a NUL is dropped from a search
    assert nul.status_code == 200 and ADMIN in nul.text


async def seed_big_platform(platform: Platform) -> dict[str, str]:
    """20,000 accounts with a user and a conversation each, 100,000 tags in 10 pools (a third
    held), and 60,000 messages through tags and conversations over the last few days (more
    batch rows than the overview's traffic window)."""
    now = utcnow()
    accounts = [
        {"key": f"{n:032x}", "name": f"Org {n}", "created_at": now - timedelta(seconds=n)}
        for n in range(1, 20_001)
    ]
    people = [
        {"account_key": a["key"], "email": f"user{n}@big.example", "password_hash": "x"}
        for n, a in enumerate(accounts)
    ]
    conversations = [
        {
            "key": f"c{n:031x}",
            "account_key": a["key"],
            "conversation_type": "bulk_message",
            "name": f"Conversation {n}",
            "status": "running" if n % 2 else "stopped",
        }
        for n, a in enumerate(accounts)
    ]
    pools = [{"name": f"pool{p}", "meta": {"display_name": f"Pool {p}"}} for p in range(10)]
    tags = [
        {
            "pool": f"pool{n % 10}",
            "tag": f"{n:07d}",
            "owner": accounts[n % len(accounts)]["key"] if n % 3 == 0 else None,
            "acquired_at": now if n % 3 == 0 else None,
        }
        for n in range(100_000)
    ]
    batches = [
        {"key": f"b{n:031x}", "owner_kind": kind, "owner_ref": f"{kind}{n}", "account_key": None}
        for n in range(200)
        for kind in ("tag", "conversation")
    ]
    messages, attached = [], []
    for n in range(60_000):  # oldest first, as they would have been stored
        when = now - timedelta(seconds=(60_000 - n) * 5)
        direction = "inbound" if n % 2 else "outbound"
        messages.append(
            {
                "message_id": f"m{n:031x}",
                "direction": direction,
                "state": "processed" if n % 2 else "sent",
                "payload": "{}",
                "timestamp": when,
            }
        )
        for kind in ("tag", "conversation"):
            attached.append(
                {
                    "batch_key": f"b{n % 200:031x}" if kind == "tag" else f"b{200 + n % 200:031x}",
                    "message_id": f"m{n:031x}",
                    "direction": direction,
                    "timestamp": when,
                }
            )
    # Each batch was made "tag" then "conversation" in turn; give them their own keys.
    for n, batch in enumerate(batches):
        batch["key"] = f"b{(n // 2) + (200 if n % 2 else 0):031x}"
    async with platform.db.transaction() as session:
        conn = await session.connection()  # Core inserts: the quickest way in on both databases
        for table, rows in (
            (Account, accounts),
            (User, people),
            (Conversation, conversations),
            (TagPool, pools),
            (Tag, tags),
            (Batch, batches),
            (StoredMessage, messages),
            (MessageBatch, attached),
        ):
            for start in range(0, len(rows), 5000):
                await conn.execute(insert(table), rows[start : start + 5000])
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    inbound_today = sum(
        1 for m in messages if m["direction"] == "inbound" and m["timestamp"] >= today
    )
    return {
        "account": str(accounts[1234]["key"]),
        "email": str(people[1234]["email"]),
        "inbound_today": f"{inbound_today:,}",
    }


async def test_pages_work_with_a_big_database(admin: Browser) -> None:
    seeded = await seed_big_platform(admin.platform)
    async with admin.db.sessions() as session:
        someone = (await get_user(session, seeded["email"])).id
    pages = [
        "/admin/",
        "/admin/accounts/",
        "/admin/accounts/?p=400",
        "/admin/accounts/?p=801",
        "/admin/accounts/?q=user1234%40",
        "/admin/accounts/?q=Org%2019999",
        f"/admin/accounts/{seeded['account']}/",
        "/admin/users/",
        "/admin/users/?p=700",
        "/admin/users/?q=user777",
        f"/admin/users/{someone}/",
        "/admin/pools/",
        "/admin/pools/pool3/",
        "/admin/pools/pool3/?show=held&p=60",
        "/admin/pools/pool3/?show=free&p=9999",
    ]
    # Server time is measured in bench/ui.py, not asserted here; this checks that paging far
    # in and the bounded counts work at this size.
    for url in pages:
        response = await admin.get(url)
        assert response.status_code == 200, url
    overview = await admin.get("/admin/")
    assert ">20,001<" in overview.text  # the accounts: those seeded and the operator's
    assert f"In today</small><strong>{seeded['inbound_today']}</strong>" in overview.text
