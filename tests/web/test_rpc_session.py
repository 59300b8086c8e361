"""The UI's own scripts may call the JSON-RPC API with the session, but only with its CSRF
header; the original's ``Basic session_id:<session>`` works too."""

from __future__ import annotations

import base64

from tests.web.helpers import Browser
from vumigo.web import sessions

URL = "/api/v1/go/api/"
CALL = {"method": "campaigns", "params": [], "jsonrpc": "2.0", "id": 1}


async def test_session_needs_the_csrf_header(browser: Browser) -> None:
    without = await browser.client.post(URL, json=CALL)
    assert without.status_code == 401
    wrong = await browser.client.post(URL, json=CALL, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 401
    ok = await browser.client.post(URL, json=CALL, headers={"X-CSRF-Token": browser.token})
    assert ok.status_code == 200
    assert ok.json()["result"] == [{"key": browser.account, "name": "Your Campaign"}]


async def test_basic_session_id(browser: Browser, new_browser: object) -> None:
    token = browser.client.cookies.get(sessions.COOKIE)
    assert token
    creds = base64.b64encode(f"session_id:{token}".encode()).decode()
    browser.client.cookies.clear()
    ok = await browser.client.post(URL, json=CALL, headers={"Authorization": f"Basic {creds}"})
    assert ok.status_code == 200 and ok.json()["error"] is None
    bad = base64.b64encode(b"session_id:forged").decode()
    refused = await browser.client.post(URL, json=CALL, headers={"Authorization": f"Basic {bad}"})
    assert refused.status_code == 401
