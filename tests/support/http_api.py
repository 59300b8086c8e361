"""Test data and peers for the HTTP API: conversations with tokens, and a push receiver."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.factories import (
    hold_tag,
    make_account,
    make_conversation,
    make_pool,
    route_both_ways,
)
from vumigo.apps.http_api.config import new_token
from vumigo.db.engine import Database

#: Quick retries and polls, and 127.0.0.1 allowed as a push destination (tests only).
TEST_ENV = {
    "VUMIGO_HTTP_API_PUSH_ALLOW": "127.0.0.1/32",
    "VUMIGO_HTTP_API_RETRY_INTERVALS": "0.2,0.2,0.2,0.2,0.2",
    "VUMIGO_HTTP_API_POLL_INTERVAL": "0.2",
    "VUMIGO_HTTP_API_PUSH_TIMEOUT": "2",
}


def use_test_env(monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    for name, value in {**TEST_ENV, **extra}.items():
        monkeypatch.setenv(name, value)


async def make_http_api_conversation(
    db: Database,
    account_key: str,
    conversation_type: str = "http_api_nostream",
    status: str = "running",
    **section: Any,
) -> tuple[str, str]:
    """A conversation with one API token; returns (conversation key, token)."""
    token, digest = new_token()
    config = {conversation_type: {"api_tokens": [digest], **section}}
    key = await make_conversation(db, account_key, conversation_type, config, status=status)
    return key, token


@dataclass
class HttpApiSetup:
    account: str
    account_token: str  # bearer token, for the developer phone
    conv: str
    token: str  # the conversation's API token
    conversation_type: str
    pool: str = "dev"
    tag: str = "10001"

    @property
    def auth(self) -> tuple[str, str]:
        return (self.account, self.token)

    def api_url(self, base: str, resource: str = "messages.json") -> str:
        return f"{base}/api/v1/go/{self.conversation_type}/{self.conv}/{resource}"

    def phone_url(self, base: str) -> str:
        return f"{base}/api/v1/dev/{self.pool}/{self.tag}/messages"


async def http_api_setup(
    db: Database, conversation_type: str = "http_api_nostream", tag: str = "10001", **section: Any
) -> HttpApiSetup:
    """An account holding a developer phone tag routed both ways to an HTTP API conversation."""
    account, account_token = await make_account(db)
    await make_pool(db, "dev", [tag])
    await hold_tag(db, account, "dev", tag)
    conv, token = await make_http_api_conversation(db, account, conversation_type, **section)
    await route_both_ways(db, account, "dev", tag, f"CONVERSATION:{conversation_type}:{conv}")
    return HttpApiSetup(account, account_token, conv, token, conversation_type, tag=tag)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class PushReceiver:
    """An HTTP server on 127.0.0.1 that records POSTs and answers ``respond(path, n)``."""

    respond: Callable[[str, int], int] = lambda _path, _n: 200
    received: list[Received] = field(default_factory=list)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def url(self, path: str, credentials: str = "") -> str:
        at = f"{credentials}@" if credentials else ""
        return f"http://{at}127.0.0.1:{self.port}{path}"

    def bodies(self, path: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [r.body for r in self.received if path is None or r.path == path]

    def wait_for(self, count: int, path: str | None = None, timeout: float = 15) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.bodies(path)) >= count:
                return True
            time.sleep(0.05)
        return False


@contextmanager
def push_receiver(respond: Callable[[str, int], int] | None = None) -> Iterator[PushReceiver]:
    receiver = PushReceiver() if respond is None else PushReceiver(respond)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            with receiver.lock:
                receiver.attempts += 1
                n = receiver.attempts
            status = receiver.respond(self.path, n)
            if 200 <= status < 300:
                with receiver.lock:
                    receiver.received.append(
                        Received(self.path, dict(self.headers.items()), json.loads(raw))
                    )
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


async def update_section(db: Database, conv: str, **changes: Any) -> None:
    """Changes a conversation's HTTP API settings (before the platform first reads them)."""
    from vumigo.db.models import Conversation

    async with db.transaction() as session:
        row = await session.get(Conversation, conv)
        assert row is not None
        section = dict(row.config.get(row.conversation_type, {}))
        section.update(changes)
        row.config = {**row.config, row.conversation_type: section}
