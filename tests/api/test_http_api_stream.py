"""Streaming (``http_api``): inbound messages and events as endless NDJSON to GET clients."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import requests

from tests.support.http_api import HttpApiSetup, http_api_setup, use_test_env
from tests.support.live import LiveServer, live_server
from vumigo.config import Settings
from vumigo.db.engine import Database


class StreamClient:
    """A plain ``requests`` streaming reader, as the reference says clients read the stream."""

    def __init__(self, url: str, auth: tuple[str, str]) -> None:
        self.response = requests.get(url, auth=auth, stream=True, timeout=30)
        self.lines: list[dict[str, Any]] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for line in self.response.iter_lines():
                if line:
                    self.lines.append(json.loads(line))
        except Exception:  # closed under our feet: the test is done with us
            pass

    def close(self) -> None:
        # close() alone does not wake a thread blocked reading the socket; shutdown() does.
        connection = self.response.raw.connection
        if connection is not None and connection.sock is not None:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)
        self.response.close()
        self.thread.join(timeout=5)


@contextmanager
def streams(url: str, auth: tuple[str, str], count: int = 1) -> Iterator[list[StreamClient]]:
    clients = [StreamClient(url, auth) for _ in range(count)]
    try:
        yield clients
    finally:
        for client in clients:
            client.close()


def wait_for(condition: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def phone(live: LiveServer, s: HttpApiSetup, content: str) -> str:
    response = httpx.post(
        s.phone_url(live.url),
        json={"from_addr": "+27825550000", "content": content, "wait": 0},
        headers={"Authorization": f"Bearer {s.account_token}"},
        timeout=10,
    )
    return str(response.json()["message_id"])


@pytest.fixture
async def setup(sqlite_db: Database) -> HttpApiSetup:
    return await http_api_setup(sqlite_db, "http_api")


@pytest.fixture
def live(
    settings: Settings, setup: HttpApiSetup, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    """Started after the setup, so the developer phone's transport runs from the start."""
    use_test_env(monkeypatch)
    with live_server(settings) as server:
        yield server


def test_inbound_messages_arrive_on_an_open_stream(live: LiveServer, setup: HttpApiSetup) -> None:
    with streams(setup.api_url(live.url), setup.auth) as (client,):
        assert client.response.status_code == 200
        assert client.response.headers["Content-Type"] == "application/json; charset=utf-8"
        assert client.response.headers["X-Accel-Buffering"] == "no"
        assert "Content-Length" not in client.response.headers
        ids = [phone(live, setup, f"hello {i}") for i in range(3)]
        assert wait_for(lambda: len(client.lines) == 3)
    assert [line["message_id"] for line in client.lines] == ids
    assert client.lines[0]["content"] == "hello 0"
    assert client.lines[0]["helper_metadata"]["go"]["conversation_key"] == setup.conv


def test_two_clients_share_the_messages(live: LiveServer, setup: HttpApiSetup) -> None:
    with streams(setup.api_url(live.url), setup.auth, count=2) as clients:
        time.sleep(0.3)  # both connected
        ids = [phone(live, setup, f"m{i}") for i in range(20)]
        assert wait_for(lambda: sum(len(c.lines) for c in clients) == 20)
        time.sleep(0.3)  # and nothing more comes
    got = [line["message_id"] for c in clients for line in c.lines]
    assert sorted(got) == sorted(ids)  # every message, each to exactly one client
    assert all(c.lines for c in clients)  # and both clients had a share


def test_backlog_waits_for_the_first_client(live: LiveServer, setup: HttpApiSetup) -> None:
    ids = [phone(live, setup, f"early {i}") for i in range(3)]
    time.sleep(0.5)  # handled (and kept) with nobody connected
    with streams(setup.api_url(live.url), setup.auth) as (client,):
        assert wait_for(lambda: len(client.lines) == 3)
        later = phone(live, setup, "later")
        assert wait_for(lambda: len(client.lines) == 4)
    assert [line["message_id"] for line in client.lines] == [*ids, later]


def test_events_stream(live: LiveServer, setup: HttpApiSetup) -> None:
    with streams(setup.api_url(live.url, "events.json"), setup.auth) as (client,):
        sent = httpx.put(
            setup.api_url(live.url), auth=setup.auth, json={"to_addr": "+1", "content": "x"}
        ).json()
        assert wait_for(lambda: len(client.lines) == 2)  # ack, then the delivery report
    assert {e["user_message_id"] for e in client.lines} == {sent["message_id"]}
    assert [e["event_type"] for e in client.lines] == ["ack", "delivery_report"]


def test_stream_needs_auth(live: LiveServer, setup: HttpApiSetup) -> None:
    response = httpx.get(setup.api_url(live.url), auth=(setup.account, "wrong"))
    assert response.status_code == 401
    assert response.json() == {"success": False, "reason": "Unauthorized"}
