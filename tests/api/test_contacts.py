"""The contacts and groups REST API: go-http against a live server, isolation, hostile input."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import requests

from tests.api.gohttp_shim import ContactsApiClient
from tests.support.factories import make_account
from tests.support.live import live_server
from vumigo.config import Settings
from vumigo.contacts import service
from vumigo.contacts.groups import add_to_group, create_group
from vumigo.db.engine import Database
from vumigo.runtime import Platform
from vumigo.web.app import create_app

API = "/api/v1/go"

# --- go-http, unmodified but for the shim, against a real server --------------------------------


async def test_go_http_contact_crud(sqlite_db: Database, settings: Settings) -> None:
    _account, token = await make_account(sqlite_db)
    with live_server(settings) as server:
        client = ContactsApiClient(token, api_url=server.url + API)
        made = client.create_contact(
            {"name": "Thandi", "msisdn": "+27821234567", "extra": {"city": "CPT"}}
        )
        assert made["$VERSION"] == 2 and made["groups"] == [] and made["surname"] is None
        assert client.get_contact(made["key"]) == made
        assert client.get_contact(msisdn="+27821234567")["key"] == made["key"]
        updated = client.update_contact(made["key"], {"surname": "Nkosi"})
        assert (updated["name"], updated["surname"]) == ("Thandi", "Nkosi")
        updated = client.update_contact(made["key"], {"extra": {"lang": "zu"}})
        assert updated["extra"] == {"lang": "zu"}  # PUT replaces extra as a whole
        assert client.delete_contact(made["key"])["key"] == made["key"]
        with pytest.raises(requests.HTTPError) as caught:
            client.get_contact(made["key"])
        assert caught.value.response.status_code == 404
        assert caught.value.response.json() == {
            "status_code": 404,
            "reason": f"Contact '{made['key']}' not found.",
        }
        with pytest.raises(requests.HTTPError) as caught:
            client.get_contact(msisdn="+27820000000")
        assert caught.value.response.status_code == 400


async def test_go_http_follows_cursors(sqlite_db: Database, settings: Settings) -> None:
    account, token = await make_account(sqlite_db)
    async with sqlite_db.transaction() as s:
        for n in range(250):
            await service.create_contact(s, account, name=f"c{n}", msisdn=f"+2782{n:07d}")
    with live_server(settings) as server:
        client = ContactsApiClient(token, api_url=server.url + API)
        names = [c["name"] for c in client.contacts()]
        assert sorted(names) == sorted(f"c{n}" for n in range(250))
        # Three pages of 100, 100 and 50; the last one's cursor is null.
        first = requests.get(
            server.url + API + "/contacts/", headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert len(first["data"]) == 100 and first["cursor"]
        rest = list(client.contacts(start_cursor=first["cursor"]))
        assert len(rest) == 150 and not {c["key"] for c in rest} & {c["key"] for c in first["data"]}


async def test_go_http_groups_and_members(sqlite_db: Database, settings: Settings) -> None:
    account, token = await make_account(sqlite_db)
    async with sqlite_db.transaction() as s:
        for n in range(120):
            await service.create_contact(
                s, account, msisdn=f"+2782{n:07d}", extra={"city": "CPT" if n % 2 else "JHB"}
            )
    with live_server(settings) as server:
        client = ContactsApiClient(token, api_url=server.url + API)
        static = client.create_group({"name": "Static"})
        assert (static["query"], static["$VERSION"]) == (None, None)
        smart = client.create_group({"name": "Cape Town", "query": "extras-city:CPT"})
        assert client.get_group(smart["key"]) == smart
        assert client.update_group(static["key"], {"name": "Friends"})["name"] == "Friends"
        member = client.create_contact({"msisdn": "+27829999999", "groups": [static["key"]]})
        assert member["groups"] == [static["key"]]
        assert [c["key"] for c in client.group_contacts(static["key"])] == [member["key"]]
        smart_members = list(client.group_contacts(smart["key"]))  # two pages
        assert len(smart_members) == 60
        assert {c["extra"]["city"] for c in smart_members} == {"CPT"}
        assert client.delete_group(static["key"])["key"] == static["key"]
        assert client.get_contact(member["key"])["groups"] == []
        with pytest.raises(requests.HTTPError):
            client.get_group(static["key"])


# --- the same API in-process, on SQLite and PostgreSQL -----------------------------------------


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def call(
        self, method: str, path: str, token: str | None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        return await self.client.request(method, API + path, headers=headers, **kwargs)


@pytest.fixture
async def api(db_url: str, tmp_path: Any) -> AsyncIterator[Api]:
    platform = Platform(Settings(data_dir=tmp_path / "var", database_url=db_url))
    transport = httpx.ASGITransport(app=create_app(platform))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Api(client)
    await platform.db.dispose()


@pytest.fixture
async def two(db: Database) -> dict[str, Any]:
    """Accounts A and B, with a contact, a group and a member in A."""
    a, token_a = await make_account(db, name="A")
    _b, token_b = await make_account(db, name="B")
    async with db.transaction() as s:
        group = await create_group(s, a, "A's group")
        contact = await service.create_contact(s, a, name="Ann", msisdn="+27821234567")
        await add_to_group(s, a, group.key, [contact.key])
    return {"a": token_a, "b": token_b, "contact": contact.key, "group": group.key}


def assert_error(response: httpx.Response, status: int, reason: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status_code", "reason"} and body["status_code"] == status
    assert reason in body["reason"], body


async def test_cross_account_isolation(api: Api, two: dict[str, Any]) -> None:
    b, key, group = two["b"], two["contact"], two["group"]
    assert_error(await api.call("GET", f"/contacts/{key}", b), 404, f"Contact '{key}' not found.")
    assert_error(await api.call("PUT", f"/contacts/{key}", b, json={"name": "B's"}), 404)
    assert_error(await api.call("DELETE", f"/contacts/{key}", b), 404)
    listed = await api.call("GET", "/contacts/", b)
    assert listed.json() == {"cursor": None, "data": []}
    streamed = await api.call("GET", "/contacts/", b, params={"stream": "true"})
    assert streamed.status_code == 200 and streamed.text == ""
    looked_up = await api.call("GET", "/contacts/", b, params={"query": "msisdn=+27821234567"})
    assert_error(looked_up, 400, "not found")
    assert_error(await api.call("GET", f"/groups/{group}", b), 404, f"Group '{group}' not found.")
    assert_error(await api.call("PUT", f"/groups/{group}", b, json={"name": "x"}), 404)
    assert_error(await api.call("DELETE", f"/groups/{group}", b), 404)
    assert_error(await api.call("GET", f"/groups/{group}/contacts", b), 404)
    assert (await api.call("GET", "/groups/", b)).json() == {"cursor": None, "data": []}
    made = await api.call("POST", "/contacts/", b, json={"name": "Bo", "groups": [group]})
    assert_error(made, 400, f"Group '{group}' not found.")
    # A still has everything, unchanged.
    mine = await api.call("GET", f"/contacts/{key}", two["a"])
    assert (mine.json()["name"], mine.json()["groups"]) == ("Ann", [group])
    members = await api.call("GET", f"/groups/{group}/contacts", two["a"])
    assert [c["key"] for c in members.json()["data"]] == [key]


async def test_lookups_streams_and_pages(api: Api, two: dict[str, Any]) -> None:
    a = two["a"]
    for n in range(5):
        await api.call("POST", "/contacts/", a, json={"msisdn": f"+2783000000{n}"})
    found = await api.call("GET", "/contacts/", a, params={"query": "msisdn=27821234567"})
    assert found.json()["cursor"] is None and found.json()["data"][0]["key"] == two["contact"]
    page = (await api.call("GET", "/contacts/", a, params={"max_results": "4"})).json()
    assert len(page["data"]) == 4 and page["cursor"]
    rest = (await api.call("GET", "/contacts/", a, params={"cursor": page["cursor"]})).json()
    assert len(rest["data"]) == 2 and rest["cursor"] is None
    streamed = await api.call("GET", "/contacts/", a, params={"stream": "true"})
    lines = [json.loads(line) for line in streamed.text.splitlines()]
    assert streamed.headers["content-type"].startswith("application/json")
    assert len(lines) == 6 and all(set(c) >= {"key", "msisdn", "extra"} for c in lines)
    groups = await api.call("GET", "/groups/", a, params={"stream": "true"})
    assert [json.loads(line)["key"] for line in groups.text.splitlines()] == [two["group"]]
    members = await api.call(
        "GET", f"/groups/{two['group']}/contacts", a, params={"stream": "true"}
    )
    assert [json.loads(line)["key"] for line in members.text.splitlines()] == [two["contact"]]


HOSTILE_AUTH = [
    ({}, "Authentication required"),
    ({"Authorization": ""}, "Authentication required"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, "must be 'Bearer <token>'"),
    ({"Authorization": "Bearer"}, "must be 'Bearer <token>'"),
    ({"Authorization": "Bearer a b"}, "must be 'Bearer <token>'"),
    ({"Authorization": "Bearer " + "x" * 5000}, "must be 'Bearer <token>'"),
    ({"Authorization": "Bearer not-a-real-token"}, "Invalid or revoked API token."),
]


@pytest.mark.parametrize(("headers", "reason"), HOSTILE_AUTH)
async def test_bad_auth_is_401(api: Api, headers: dict[str, str], reason: str) -> None:
    for method, path in [("GET", "/contacts/"), ("POST", "/groups/"), ("GET", "/groups/x")]:
        response = await api.call(method, path, None, headers=headers)
        assert_error(response, 401, reason)
        assert response.headers["www-authenticate"].startswith("Bearer")


NESTED = "[" * 100_000 + "]" * 100_000
HOSTILE = [
    ("POST", "/contacts/", {"content": "{nope"}, 400, "Invalid JSON"),
    ("POST", "/contacts/", {"content": ""}, 400, "must be a JSON object"),
    ("POST", "/contacts/", {"json": ["a"]}, 400, "must be a JSON object"),
    ("POST", "/contacts/", {"content": NESTED}, 400, "Invalid JSON"),
    ("POST", "/contacts/", {"json": {"key": "mine"}}, 400, "Invalid contact fields: key"),
    ("POST", "/contacts/", {"json": {"b": 1, "a": 2}}, 400, "Invalid contact fields: a, b"),
    ("POST", "/contacts/", {"json": {"name": 7}}, 400, "must be a string"),
    ("POST", "/contacts/", {"json": {"name": "a\u0000"}}, 400, "NUL"),
    ("POST", "/contacts/", {"content": '{"name": "\\ud800"}'}, 400, "invalid Unicode"),
    ("POST", "/contacts/", {"json": {"extra": {"k": 1}}}, 400, "must be a string"),
    ("POST", "/contacts/", {"json": {"groups": [["x"]]}}, 400, "must be a string"),
    ("POST", "/contacts/", {"json": {"name": "x" * 300_000}}, 413, "too large"),
    ("POST", "/contacts/", {"content": "1" * 5000}, 400, "Invalid JSON"),
    ("GET", "/contacts/?cursor=bad%20cursor", {}, 400, "Invalid cursor"),
    ("GET", "/contacts/?cursor=" + "a" * 100, {}, 400, "Invalid cursor"),
    ("GET", "/contacts/?max_results=ten", {}, 400, "max_results must be an integer"),
    ("GET", "/contacts/?max_results=0", {}, 400, "positive"),
    ("GET", "/contacts/?query=msisdn", {}, 400, "Query must be of the form 'field=value'"),
    ("GET", "/contacts/?query=name=Ann", {}, 400, "Query field must be one of: [bbm_pin"),
    ("GET", "/contacts/?query=msisdn=%00", {}, 400, "not found"),
    ("GET", "/contacts/?stream=true&query=msisdn=1", {}, 400, "query parameter not supported"),
    ("GET", "/contacts/%00", {}, 404, "not found"),
    ("GET", "/contacts/" + "k" * 5000, {}, 404, "not found"),
    ("PUT", "/contacts/nope", {"json": {"name": "x"}}, 404, "Contact 'nope' not found."),
    ("POST", "/contacts/some-key", {"json": {}}, 405, "Method Not Allowed"),
    ("DELETE", "/contacts/", {}, 405, "Method Not Allowed"),
    ("GET", "/contacts/a/b/c", {}, 404, "Not Found"),
    ("POST", "/groups/", {"json": {}}, 400, "Group name is required."),
    ("POST", "/groups/", {"json": {"name": "x", "query": "name:("}}, 400, "Invalid query"),
    ("POST", "/groups/", {"json": {"name": "x", "query": "shoe:9"}}, 400, "Unknown field 'shoe'"),
    ("POST", "/groups/", {"json": {"name": "x", "query": 5}}, 400, "must be a string"),
    ("POST", "/groups/", {"json": {"name": "x", "size": 5}}, 400, "Invalid group fields: size"),
    ("GET", "/groups/?query=x", {}, 400, "query parameter not supported"),
    ("POST", "/groups/key", {"json": {}}, 405, "Method Not Allowed"),
    ("GET", "/groups/nope/contacts", {}, 404, "Group 'nope' not found."),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "reason"), HOSTILE)
async def test_hostile_input_gets_a_clear_4xx(
    api: Api,
    two: dict[str, Any],
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    reason: str,
) -> None:
    assert_error(await api.call(method, path, two["a"], **kwargs), status, reason)


async def test_group_query_edits_are_checked(api: Api, two: dict[str, Any]) -> None:
    a, group = two["a"], two["group"]
    bad = await api.call("PUT", f"/groups/{group}", a, json={"query": "name:["})
    assert_error(bad, 400, "Invalid query")
    made_smart = await api.call("PUT", f"/groups/{group}", a, json={"query": "msisdn:+2782*"})
    assert made_smart.json()["query"] == "msisdn:+2782*"
    back = await api.call("PUT", f"/groups/{group}", a, json={"query": None})
    assert back.json()["query"] is None and back.json()["name"] == "A's group"
