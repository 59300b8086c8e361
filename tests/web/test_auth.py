"""Signing in and out, sessions, CSRF, password change and reset."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.web.conftest import BrowserFactory
from tests.web.helpers import PASSWORD, Browser, csrf_of, make_user
from vumigo.db.base import utcnow
from vumigo.db.models.web import PasswordReset, WebSession
from vumigo.runtime import Platform
from vumigo.web import mail, passwords, sessions


async def test_pages_need_sign_in(new_browser: BrowserFactory) -> None:
    anon = await new_browser()
    for path in ("/", "/conversations/", "/channels/", "/routing/", "/account/", "/phone/"):
        response = await anon.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/signin?next={path}"


async def test_sign_in_and_out(new_browser: BrowserFactory, platform: Platform) -> None:
    await make_user(platform.db, "carol@example.com")
    me = await new_browser()
    page = await me.get("/signin")
    assert page.status_code == 200 and 'name="email"' in page.text
    response = await me.client.post(
        "/signin",
        data={
            "email": "Carol@Example.com",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": "/channels/",
        },
    )
    assert response.status_code == 303 and response.headers["location"] == "/channels/"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    home = await me.get("/")
    assert home.status_code == 200 and "carol@example.com" in home.text
    out = await me.client.post("/signout", data={"csrf_token": csrf_of(home.text)})
    assert out.status_code == 303
    assert (await me.get("/")).status_code == 303
    async with platform.db.sessions() as session:
        assert (await session.execute(select(WebSession))).first() is None


async def test_wrong_password_is_refused_without_saying_which(
    new_browser: BrowserFactory, platform: Platform
) -> None:
    await make_user(platform.db, "dave@example.com")
    me = await new_browser()
    for email, password in (("dave@example.com", "nope"), ("nobody@example.com", PASSWORD)):
        response = await me.sign_in(email, password)
        assert response.status_code == 400
        assert "match an account" in response.text
    assert (await me.get("/")).status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "\\\\evil"])
async def test_sign_in_never_redirects_off_site(
    new_browser: BrowserFactory, platform: Platform, target: str
) -> None:
    await make_user(platform.db, "erin@example.com")
    me = await new_browser()
    page = await me.get("/signin")
    response = await me.client.post(
        "/signin",
        data={
            "email": "erin@example.com",
            "password": PASSWORD,
            "csrf_token": csrf_of(page.text),
            "next": target,
        },
    )
    assert response.headers["location"] == "/"


async def test_sign_in_form_needs_its_csrf_cookie(
    new_browser: BrowserFactory, platform: Platform
) -> None:
    await make_user(platform.db, "fay@example.com")
    me = await new_browser()
    response = await me.client.post(
        "/signin", data={"email": "fay@example.com", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403
    assert "expired" in response.text


async def test_every_post_needs_the_session_token(browser: Browser) -> None:
    for path in ("/conversations/new", "/channels/new", "/routing/add", "/signout"):
        response = await browser.client.post(path, data={"name": "x"})
        assert response.status_code == 403, path
        response = await browser.client.post(path, data={"csrf_token": "wrong", "name": "x"})
        assert response.status_code == 403, path
    # The header works too (htmx and the page scripts send it).
    response = await browser.client.post(
        "/conversations/new", data={}, headers={"X-CSRF-Token": browser.token}
    )
    assert response.status_code == 400  # past CSRF: the form itself is incomplete


async def test_secure_cookie_behind_https(platform: Platform, new_browser: BrowserFactory) -> None:
    platform.settings.public_url = "https://go.example.org"
    me = await new_browser()
    await make_user(me.db, "gus@example.com")
    page = await me.get("/signin")
    assert "Secure" in page.headers["set-cookie"]


async def test_expired_session_signs_out(browser: Browser) -> None:
    async with browser.db.transaction() as session:
        await session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert (await browser.get("/")).status_code == 303


async def test_password_change_ends_other_sessions(
    browser: Browser, new_browser: BrowserFactory
) -> None:
    second = await new_browser()
    await second.sign_in("alice@example.com")
    assert (await second.get("/")).status_code == 200
    bad = await browser.post(
        "/account/password", {"current": "wrong", "password": "newpass123", "confirm": "newpass123"}
    )
    assert bad.status_code == 400 and "current password is not right" in bad.text
    mismatch = await browser.post(
        "/account/password", {"current": PASSWORD, "password": "newpass123", "confirm": "other123"}
    )
    assert mismatch.status_code == 400 and "do not match" in mismatch.text
    ok = await browser.post(
        "/account/password",
        {"current": PASSWORD, "password": "newpass123", "confirm": "newpass123"},
    )
    assert ok.status_code == 303
    assert (await browser.get("/")).status_code == 200  # this browser stays signed in
    assert (await second.get("/")).status_code == 303  # the other one is out
    third = await new_browser()
    assert (await third.sign_in("alice@example.com", "newpass123")).status_code == 303


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    sent: list[dict[str, str]] = []

    async def capture(to_addr: str, subject: str, body: str, settings: Any = None) -> bool:
        sent.append({"to": to_addr, "subject": subject, "body": body})
        return True

    monkeypatch.setattr("vumigo.web.pages.auth.send_mail", capture)
    return sent


def _link(body: str) -> str:
    found = re.search(r"http://\S+/password/reset/(\S+)", body)
    assert found
    return found.group(1)


async def test_password_reset_by_email(
    new_browser: BrowserFactory, platform: Platform, outbox: list[dict[str, str]]
) -> None:
    await make_user(platform.db, "hal@example.com")
    me = await new_browser()
    form = await me.get("/password/reset")
    token = csrf_of(form.text)
    for email in ("hal@example.com", "nobody@example.com"):
        response = await me.client.post(
            "/password/reset", data={"email": email, "csrf_token": token}
        )
        assert response.status_code == 200 and "on its way" in response.text
    assert [m["to"] for m in outbox] == ["hal@example.com"]  # the page never says which
    reset = _link(outbox[0]["body"])
    page = await me.get(f"/password/reset/{reset}")
    assert page.status_code == 200 and 'name="confirm"' in page.text
    short = await me.client.post(
        f"/password/reset/{reset}",
        data={"password": "short", "confirm": "short", "csrf_token": token},
    )
    assert short.status_code == 400 and "at least 8" in short.text
    done = await me.client.post(
        f"/password/reset/{reset}",
        data={"password": "brand new pw", "confirm": "brand new pw", "csrf_token": token},
    )
    assert done.status_code == 200 and "password is changed" in done.text
    # Single use: the link is dead now.
    again = await me.get(f"/password/reset/{reset}")
    assert again.status_code == 404
    reuse = await me.client.post(
        f"/password/reset/{reset}",
        data={"password": "another pw1", "confirm": "another pw1", "csrf_token": token},
    )
    assert reuse.status_code == 400 and "not valid any more" in reuse.text
    assert (await me.sign_in("hal@example.com", "brand new pw")).status_code == 303


async def test_reset_tokens_expire_and_one_use_spends_all(platform: Platform) -> None:
    await make_user(platform.db, "ivy@example.com")
    first = await passwords.create_reset(platform.db, "ivy@example.com")
    second = await passwords.create_reset(platform.db, "ivy@example.com")
    assert first and second
    await passwords.use_reset(platform.db, second[0], "fresh password")
    assert not await passwords.token_is_live(platform.db, first[0])
    third = await passwords.create_reset(platform.db, "ivy@example.com")
    assert third
    async with platform.db.transaction() as session:
        await session.execute(
            update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert not await passwords.token_is_live(platform.db, third[0])
    assert await passwords.create_reset(platform.db, "unknown@example.com") is None
    async with platform.db.sessions() as session:
        hashes = (await session.execute(select(PasswordReset.token_hash))).scalars().all()
    assert third[0] not in hashes and sessions.digest(third[0]) in hashes  # only digests kept


async def test_mail_goes_through_smtp_when_configured() -> None:
    received: list[bytes] = []

    async def smtp_peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 test ESMTP\r\n")
        in_data = False
        data = b""
        while line := await reader.readline():
            if in_data:
                if line == b".\r\n":
                    in_data = False
                    received.append(data)
                    writer.write(b"250 queued\r\n")
                else:
                    data += line
                continue
            verb = line[:4].upper()
            if verb == b"DATA":
                in_data = True
                writer.write(b"354 go on\r\n")
            elif verb == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(smtp_peer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        settings = mail.MailSettings(host="127.0.0.1", port=port, from_addr="go@example.org")
        assert await mail.send_mail("jo@example.com", "Hello", "the body", settings)
    finally:
        server.close()
        await server.wait_closed()
    assert b"Subject: Hello" in received[0] and b"the body" in received[0]
    # No server listening: reported, not raised.
    closed = mail.MailSettings(host="127.0.0.1", port=port, timeout=1)
    assert not await mail.send_mail("jo@example.com", "Hello", "the body", closed)


async def test_sign_in_returns_to_the_page_asked_for(
    new_browser: BrowserFactory, platform: Platform
) -> None:
    await make_user(platform.db, "kim@example.com")
    me = await new_browser()
    asked = await me.get("/conversations/?status=running&p=2")
    location = asked.headers["location"]
    assert location == "/signin?next=/conversations/%3Fstatus%3Drunning%26p%3D2"
    form = await me.get(location)
    assert 'value="/conversations/?status=running&amp;p=2"' in form.text
