"""One push: outcomes by status and failure, Basic auth from the URL, the destination guard.

Real traffic only ever goes to receivers on 127.0.0.1, allow-listed; the guard's refusals are
shown with name resolution and connecting replaced, so no private address is ever contacted.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpcore
import pytest

from vumigo.apps.http_api.outbox import Outcome
from vumigo.apps.http_api.pusher import Pusher, split_credentials
from vumigo.apps.http_api.settings import HttpApiSettings
from vumigo.db.engine import Database
from vumigo.sandbox.netguard import direct_connector

LOCAL = HttpApiSettings(push_allow=("127.0.0.1/32",), push_timeout=1.0)


@contextmanager
def receiver(status: int = 200, delay: float = 0.0) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
            time.sleep(delay)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, Outcome("delivered", 200)),
        (204, Outcome("delivered", 204)),
        (500, Outcome("retry", 500, "HTTP 500")),
        (503, Outcome("retry", 503, "HTTP 503")),
        (400, Outcome("give_up", 400, "HTTP 400")),
        (404, Outcome("give_up", 404, "HTTP 404")),
        (302, Outcome("give_up", 302, "HTTP 302")),  # redirects are not followed
    ],
)
async def test_outcome_by_status(sqlite_db: Database, status: int, expected: Outcome) -> None:
    pusher = Pusher(sqlite_db, LOCAL)
    with receiver(status) as (port, seen):
        outcome = await pusher.push(f"http://127.0.0.1:{port}/hook", '{"a": 1}')
    await pusher.client.aclose()
    assert outcome == expected
    assert seen[0]["body"] == b'{"a": 1}'
    assert seen[0]["headers"]["Content-Type"] == "application/json; charset=utf-8"


async def test_basic_auth_comes_from_the_url(sqlite_db: Database) -> None:
    pusher = Pusher(sqlite_db, LOCAL)
    with receiver() as (port, seen):
        url = f"http://us%40er:p%3Ass@127.0.0.1:{port}/in?x=1"
        assert (await pusher.push(url, "{}")).result == "delivered"
    await pusher.client.aclose()
    assert seen[0]["path"] == "/in?x=1"
    expected = base64.b64encode(b"us@er:p:ss").decode()
    assert seen[0]["headers"]["Authorization"] == f"Basic {expected}"


def test_split_credentials() -> None:
    assert split_credentials("https://a.example/x") == ("https://a.example/x", None)
    assert split_credentials("https://u:p@a.example:8443/x") == (
        "https://a.example:8443/x",
        ("u", "p"),
    )


async def test_timeouts_and_refused_connections_are_retried(sqlite_db: Database) -> None:
    pusher = Pusher(sqlite_db, replace(LOCAL, push_timeout=0.3))
    with receiver(delay=1.0) as (port, _seen):
        slow = await pusher.push(f"http://127.0.0.1:{port}/", "{}")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    refused = await pusher.push(f"http://127.0.0.1:{closed}/", "{}")
    await pusher.client.aclose()
    assert (slow.result, slow.error) == ("retry", "timed out after 0.3 s")
    assert refused.result == "retry" and (refused.error or "").startswith("connection error")


@pytest.mark.parametrize(
    "url", ["ftp://example.org/x", "http:///nohost", "http://example.org:99999/", "not a url"]
)
async def test_urls_that_can_never_work_are_given_up(sqlite_db: Database, url: str) -> None:
    pusher = Pusher(sqlite_db, LOCAL)
    outcome = await pusher.push(url, "{}")
    await pusher.client.aclose()
    assert outcome.result == "give_up"


async def never_connect(*_args: Any) -> httpcore.AsyncNetworkStream:
    raise AssertionError("the guard should have refused before connecting")


@pytest.mark.parametrize(
    ("url", "resolves_to"),
    [
        ("http://intranet.example/hook", ["10.1.2.3"]),
        ("http://metadata.example/latest", ["169.254.169.254"]),
        ("http://sneaky.example/", ["93.184.216.34", "192.168.1.1"]),  # one bad answer is enough
        ("http://v6.example/", ["::1"]),
        ("http://127.0.0.1/", []),  # literal addresses are checked without resolving
        ("http://[::ffff:10.0.0.1]/", []),
    ],
)
async def test_private_destinations_are_refused(
    sqlite_db: Database, url: str, resolves_to: list[str]
) -> None:
    async def resolver(_host: str, _port: int) -> list[str]:
        return resolves_to

    pusher = Pusher(sqlite_db, HttpApiSettings(), resolver, never_connect)
    outcome = await pusher.push(url, "{}")
    await pusher.client.aclose()
    assert outcome.result == "give_up"
    assert "not allowed" in (outcome.error or "")


async def test_public_destinations_pass_the_guard(sqlite_db: Database) -> None:
    """A public answer is connected to; the connection is steered to a local receiver."""
    connected: list[str] = []

    async def resolver(_host: str, _port: int) -> list[str]:
        return ["93.184.216.34"]

    with receiver() as (port, seen):

        async def to_local(address: str, _port: int, *rest: Any) -> httpcore.AsyncNetworkStream:
            connected.append(address)
            return await direct_connector("127.0.0.1", port, *rest)

        pusher = Pusher(sqlite_db, HttpApiSettings(), resolver, to_local)
        outcome = await pusher.push("http://hooks.example.com/in", "{}")
        await pusher.client.aclose()
    assert outcome.result == "delivered"
    assert connected == ["93.184.216.34"]
    assert seen[0]["headers"]["Host"] == "hooks.example.com"
