"""Every page renders for a signed-in user, assets are served locally, errors are HTML."""

from __future__ import annotations

import pytest

from tests.web.helpers import Browser
from vumigo.web.assets import VENDOR

PAGES = [
    "/",
    "/conversations/",
    "/conversations/new",
    "/routers/",
    "/routers/new",
    "/channels/",
    "/channels/new",
    "/routing/",
    "/phone/",
    "/account/",
    "/account/tokens",
    "/account/users",
]


@pytest.mark.parametrize("path", PAGES)
async def test_page_renders(browser: Browser, path: str) -> None:
    response = await browser.get(path)
    assert response.status_code == 200, response.text
    text = response.text
    assert text.startswith("<!doctype html>") and 'name="viewport"' in text
    assert "/static/vendor/pico.min.css" in text and "/static/vendor/htmx.min.js" in text
    assert "https://" not in text  # nothing from a CDN
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"


async def test_assets_are_served_from_node_modules_only_by_allow_list(browser: Browser) -> None:
    for name in VENDOR:
        response = await browser.get(f"/static/vendor/{name}")
        assert response.status_code == 200 and len(response.content) > 1000, name
    for path in ("/static/vendor/package.json", "/static/vendor/../vendor/x", "/static/app.css"):
        response = await browser.get(path)
        assert response.status_code == (200 if path == "/static/app.css" else 404), path
    assert (await browser.get("/static/app.js")).status_code == 200
    assert (await browser.get("/static/phone.js")).status_code == 200


async def test_dashboard_counts(browser: Browser) -> None:
    made = await browser.post(
        "/conversations/new", {"name": "Dash", "conversation_type": "opt_out"}
    )
    assert made.status_code == 303
    page = await browser.get("/")
    assert "Dash" in page.text and "<small>Running</small><strong>1</strong>" in page.text


async def test_htmx_errors_are_fragments(browser: Browser) -> None:
    response = await browser.get(
        "/conversations/0123456789abcdef0123456789abcdef/", headers={"HX-Request": "true"}
    )
    assert response.status_code == 404
    assert response.text.startswith("<article") and "Not found" in response.text


async def test_htmx_redirects_to_sign_in(browser: Browser) -> None:
    await browser.post("/signout")
    response = await browser.get("/routing/", headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["hx-redirect"].startswith("/signin")


async def test_hostile_input_is_never_a_500(browser: Browser) -> None:
    made = await browser.post("/conversations/new", {"name": "ok", "conversation_type": "opt_out"})
    key = made.headers["location"].split("/")[2]
    gets = [
        f"/conversations/{key}/messages?q=%00&before=99999999999999999999999",
        f"/conversations/{key}/messages?direction=%00&before=-1",
        "/conversations/?query=%00&p=99999999999999999999",
        "/conversations/%00/",
        "/channels/new?country=%00&pool=%00",
        f"/conversations/{key}/export?format=csv&date_from=31/02/2026",
    ]
    for path in gets:
        response = await browser.get(path)
        assert response.status_code in (200, 400, 404), (path, response.status_code)
    posts = [
        ("/conversations/new", {"name": "a\x00b", "conversation_type": "opt_out"}),
        (f"/conversations/{key}/edit", {"name": "x", "config": '{"a": "\\u0000"}'}),
        ("/routing/add", {"source": "\x00::\x00", "target": "x"}),
        ("/channels/release", {"channel": "a:\x00"}),
        ("/account/tokens/99999999999999999999999/revoke", {}),
        ("/account/profile", {"name": "\x00", "email_summary": "never"}),
    ]
    for path, data in posts:
        response = await browser.post(path, data)
        assert response.status_code in (303, 400, 404, 409), (path, response.status_code)
