"""The opt-outs REST API: go-http's OptOutsApiClient live, isolation and hostile input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import requests

from tests.api.gohttp_shim import OptOutsApiClient
from tests.support.factories import make_account
from tests.support.live import live_server
from vumigo.config import Settings
from vumigo.contacts.optouts import get_optout, is_opted_out, set_optout
from vumigo.db.engine import Database
from vumigo.runtime import Platform
from vumigo.web.app import create_app

API = "/api/v1/go"


async def test_go_http_optouts(sqlite_db: Database, settings: Settings) -> None:
    account, token = await make_account(sqlite_db)
    with live_server(settings) as server:
        client = OptOutsApiClient(token, api_url=server.url + API)
        assert client.count() == 0
        assert client.get_optout("msisdn", "+27821234567") is None
        made = client.set_optout("msisdn", "+27821234567")
        assert (made["address_type"], made["address"]) == ("msisdn", "+27821234567")
        assert made["user_account"] == account and made["message"] is None
        assert client.get_optout("msisdn", "+27821234567") == made
        with pytest.raises(requests.HTTPError) as caught:
            client.set_optout("msisdn", "+27821234567")
        assert caught.value.response.status_code == 409
        assert caught.value.response.json()["status"] == {
            "code": 409,
            "reason": "Opt out already exists.",
        }
        # Addresses go out percent-encoded (+ → %2B, @ → %40, / kept) and are decoded once.
        client.set_optout("gtalk_id", "ann@example.org/phone")
        client.set_optout("twitter_handle", "@a%2Bb c")
        assert client.count() == 3
        assert client.delete_optout("msisdn", "+27821234567") == made
        assert client.delete_optout("msisdn", "+27821234567") is None
        assert client.get_optout("msisdn", "+27821234567") is None
        assert client.count() == 2
    async with sqlite_db.sessions() as s:
        assert await is_opted_out(s, account, "gtalk_id", "ann@example.org/phone")
        assert await is_opted_out(s, account, "twitter_handle", "@a%2Bb c")
        assert not await is_opted_out(s, account, "msisdn", "+27821234567")


@pytest.fixture
async def api(db_url: str, tmp_path: Any) -> AsyncIterator[httpx.AsyncClient]:
    platform = Platform(Settings(data_dir=tmp_path / "var", database_url=db_url))
    transport = httpx.ASGITransport(app=create_app(platform))
    async with httpx.AsyncClient(transport=transport, base_url="http://test" + API) as client:
        yield client
    await platform.db.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_status(response: httpx.Response, code: int, reason: str) -> None:
    assert response.status_code == code, response.text
    assert response.json()["status"] == {"code": code, "reason": reason}


async def test_accounts_do_not_share_optouts(db: Database, api: httpx.AsyncClient) -> None:
    a, token_a = await make_account(db)
    b, token_b = await make_account(db)
    async with db.transaction() as s:
        await set_optout(s, a, "msisdn", "+27821234567", "msg-1")
    path = "/optouts/msisdn/%2B27821234567"
    assert_status(await api.get(path, headers=bearer(token_b)), 404, "Opt out not found.")
    assert_status(
        await api.delete(path, headers=bearer(token_b)), 404, "There's nothing to delete."
    )
    count = await api.get("/optouts/count", headers=bearer(token_b))
    assert count.json() == {"opt_out_count": 0, "status": {"code": 200, "reason": "OK"}}
    # B opting the same number out makes B's own record and leaves A's alone.
    assert (await api.put(path, headers=bearer(token_b))).status_code == 200
    assert (await api.delete(path, headers=bearer(token_b))).status_code == 200
    mine = await api.get(path, headers=bearer(token_a))
    assert mine.json()["opt_out"]["message"] == "msg-1"
    assert mine.json()["status"] == {"code": 200, "reason": "OK"}
    async with db.sessions() as s:
        assert await get_optout(s, a, "msisdn", "+27821234567") is not None
        assert await get_optout(s, b, "msisdn", "+27821234567") is None


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "Authentication required"),
        ({"Authorization": "Token abc"}, "must be 'Bearer <token>'"),
        ({"Authorization": "Bearer \x7f"}, "must be 'Bearer <token>'"),
        ({"Authorization": "Bearer nope"}, "Invalid or revoked API token."),
    ],
)
async def test_bad_auth(api: httpx.AsyncClient, headers: dict[str, str], reason: str) -> None:
    for method, path in [("GET", "/optouts/count"), ("PUT", "/optouts/msisdn/%2B1")]:
        response = await api.request(method, path, headers=headers)
        assert response.status_code == 401
        assert reason in response.json()["status"]["reason"]


@pytest.mark.parametrize(
    ("method", "path", "code", "reason"),
    [
        ("PUT", "/optouts/msisdn/" + "9" * 300, 400, "Address must be 1 to 255 characters."),
        ("PUT", "/optouts/" + "t" * 40 + "/1", 400, "Address type must be 1 to 32 characters."),
        ("PUT", "/optouts/msisdn/", 400, "Address must be 1 to 255 characters."),
        ("PUT", "/optouts/msisdn/a%00b", 400, "Addresses cannot contain NUL"),
        ("GET", "/optouts/msisdn/a%00b", 400, "Addresses cannot contain NUL"),
        ("POST", "/optouts/msisdn/1", 405, "Method Not Allowed"),
        ("DELETE", "/optouts/count", 405, "Method Not Allowed"),
        ("GET", "/optouts/", 404, "Not Found"),
        ("GET", "/optouts/msisdn", 404, "Not Found"),
    ],
)
async def test_hostile_input(
    db: Database, api: httpx.AsyncClient, method: str, path: str, code: int, reason: str
) -> None:
    _account, token = await make_account(db)
    response = await api.request(method, path, headers=bearer(token))
    assert response.status_code == code, response.text
    assert response.json()["status"]["code"] == code
    assert reason in response.json()["status"]["reason"]
