"""The http resource against a local server (127.0.0.1 allow-listed; the connection step only
reaches loopback)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from vumigo.sandbox.protocol import ProtocolHandler
from vumigo.sandbox.resources import ResourceRegistry
from vumigo.sandbox.resources.http import HttpResource, HttpSettings

from .helpers import FixtureServer, LoopbackOnly, Route, make_run


@pytest.fixture
async def http() -> AsyncIterator[ProtocolHandler]:
    net = LoopbackOnly()
    settings = HttpSettings(allow=("127.0.0.1",), timeout=1.0, max_response_bytes=1000)
    resource = HttpResource(settings, resolver=net.resolve, connector=net.connect)
    yield ProtocolHandler(ResourceRegistry([resource]))
    await resource.aclose()


async def call(handler: ProtocolHandler, cmd: str, **fields: Any) -> dict[str, Any]:
    reply = await handler.dispatch({"cmd": cmd, "cmd_id": "9", **fields}, make_run())
    assert reply is not None
    assert (reply["cmd"], reply["cmd_id"], reply["reply"]) == (cmd, "9", True)
    return {k: v for k, v in reply.items() if k not in ("cmd", "cmd_id", "reply", "run_id")}


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
async def test_methods(http: ProtocolHandler, fixture_server: FixtureServer, method: str) -> None:
    fixture_server.routes[method.upper(), "/thing?a=1"] = Route(200, "ok ☕".encode())
    data = json.dumps({"message": "héllo"})
    reply = await call(
        http,
        f"http.{method}",
        url=fixture_server.url("/thing?a=1"),
        data=data,
        headers={"Content-Type": ["application/json; charset=utf-8"], "X-One": "1"},
    )
    assert reply == {"success": True, "code": 200, "body": "ok ☕"}
    (seen,) = fixture_server.requests
    assert seen.method == method.upper()
    assert json.loads(seen.body) == {"message": "héllo"}
    assert seen.headers["Content-Type"] == "application/json; charset=utf-8"
    assert seen.headers["X-One"] == "1"


async def test_head(http: ProtocolHandler, fixture_server: FixtureServer) -> None:
    fixture_server.routes["HEAD", "/"] = Route(204)
    assert await call(http, "http.head", url=fixture_server.url("/")) == {
        "success": True,
        "code": 204,
        "body": "",
    }


async def test_error_status_is_a_successful_reply(
    http: ProtocolHandler, fixture_server: FixtureServer
) -> None:
    # The toolkit raises HttpResponseError for non-2xx itself, from `code`.
    fixture_server.routes["GET", "/status/418"] = Route(418, b"teapot")
    reply = await call(http, "http.get", url=fixture_server.url("/status/418"))
    assert reply == {"success": True, "code": 418, "body": "teapot"}


async def test_redirect_within_allowed_hosts_is_followed(
    http: ProtocolHandler, fixture_server: FixtureServer
) -> None:
    fixture_server.routes["GET", "/a"] = Route(302, headers={"Location": "/b"})
    fixture_server.routes["GET", "/b"] = Route(200, b"landed")
    reply = await call(http, "http.get", url=fixture_server.url("/a"))
    assert reply["body"] == "landed"


async def test_too_many_redirects(http: ProtocolHandler, fixture_server: FixtureServer) -> None:
    fixture_server.routes["GET", "/loop"] = Route(302, headers={"Location": "/loop"})
    reply = await call(http, "http.get", url=fixture_server.url("/loop"))
    assert reply == {"success": False, "reason": "Too many redirects (more than 5)"}


async def test_response_cap_by_content_length(
    http: ProtocolHandler, fixture_server: FixtureServer
) -> None:
    fixture_server.routes["GET", "/big"] = Route(200, b"x" * 1001)
    reply = await call(http, "http.get", url=fixture_server.url("/big"))
    assert reply == {
        "success": False,
        "reason": "Received 1001 bytes, maximum of 1000 bytes allowed.",
    }


async def test_response_cap_without_content_length(
    http: ProtocolHandler, fixture_server: FixtureServer
) -> None:
    # Without a declared length the bytes themselves are counted.
    fixture_server.routes["GET", "/stream"] = Route(200, b"y" * 5000, chunked=True)
    fixture_server.routes["GET", "/fine"] = Route(200, b"z" * 1000, chunked=True)
    assert (await call(http, "http.get", url=fixture_server.url("/fine")))["success"] is True
    reply = await call(http, "http.get", url=fixture_server.url("/stream"))
    assert reply["success"] is False and "maximum of 1000 bytes" in reply["reason"]


async def test_timeout(http: ProtocolHandler, fixture_server: FixtureServer) -> None:
    fixture_server.routes["GET", "/slow"] = Route(200, b"late", delay=2.0)
    reply = await call(http, "http.get", url=fixture_server.url("/slow"))
    assert reply == {"success": False, "reason": "Request timed out after 1 seconds"}


async def test_body_decoding(http: ProtocolHandler, fixture_server: FixtureServer) -> None:
    fixture_server.routes["GET", "/latin"] = Route(
        200, "café".encode("latin-1"), headers={"Content-Type": "text/plain; charset=latin-1"}
    )
    fixture_server.routes["GET", "/junk"] = Route(200, b"\xff\xfeok")
    assert (await call(http, "http.get", url=fixture_server.url("/latin")))["body"] == "café"
    assert (await call(http, "http.get", url=fixture_server.url("/junk")))[
        "body"
    ] == "\ufffd\ufffdok"


async def test_no_cookies_between_requests(
    http: ProtocolHandler, fixture_server: FixtureServer
) -> None:
    fixture_server.routes["GET", "/login"] = Route(200, b"", headers={"Set-Cookie": "sid=abc"})
    fixture_server.routes["GET", "/me"] = Route(200, b"")
    await call(http, "http.get", url=fixture_server.url("/login"))
    await call(http, "http.get", url=fixture_server.url("/me"))
    assert "Cookie" not in fixture_server.requests[-1].headers


async def test_verify_options_are_ignored(
    http: ProtocolHandler, fixture_server: FixtureServer
) -> None:
    fixture_server.routes["GET", "/"] = Route(200, b"ok")
    reply = await call(
        http,
        "http.get",
        url=fixture_server.url("/"),
        verify_options=["VERIFY_NONE"],
        ssl_method="SSLv3",
    )
    assert reply["success"] is True


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({}, "No URL given"),
        ({"url": ""}, "No URL given"),
        ({"url": 5}, "No URL given"),
        ({"url": "http://127.0.0.1/", "data": {"a": 1}}, "data must be a string"),
        (
            {"url": "http://127.0.0.1/", "headers": ["a"]},
            "headers must be an object of header names to lists of values",
        ),
        ({"url": "http://127.0.0.1/", "headers": {"a": [1]}}, "header 'a' must have string values"),
    ],
)
async def test_request_failures(http: ProtocolHandler, fields: Any, reason: str) -> None:
    assert await call(http, "http.get", **fields) == {"success": False, "reason": reason}


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "file:///etc/passwd", "not a url"])
async def test_unsupported_urls(http: ProtocolHandler, url: str) -> None:
    reply = await call(http, "http.get", url=url)
    assert reply["success"] is False and reply["reason"]
