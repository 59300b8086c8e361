"""The traffic side of the comparison: an HTTP load driver and an HTTP push receiver.

Both are small asyncio HTTP/1.1 implementations rather than a client library, so that the load
costs little CPU on a machine it shares with the gateways, and costs the same whichever gateway
is measured.

- ``drive``: N requests over C keep-alive connections, each waiting for its answer before the
  next; records when each started and how long its answer took.
- ``PushReceiver``: accepts POSTs (the Vumi JSON of our HTTP API's push, or Jasmin's form-encoded
  MO), answers ``ACK/Jasmin`` (what Jasmin's thrower requires; our pusher takes any 2xx), and
  times each MO from the send time the simulator wrote into its text.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

Request = Callable[[int], bytes]  # message number → the whole HTTP request


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return status, body
            body += chunk[:-2]
    return status, await reader.read()


@dataclass
class Drive:
    started: float  # wall time of the first request
    latencies: list[float]  # seconds, one per request
    failures: list[str] = field(default_factory=list)


async def drive(port: int, request: Request, n: int, concurrency: int) -> Drive:
    todo = iter(range(n))
    latencies: list[float] = []
    failures: list[str] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in todo:
                begun = time.perf_counter()
                writer.write(request(i))
                status, body = await _read_response(reader)
                latencies.append(time.perf_counter() - begun)
                if not 200 <= status < 300:
                    failures.append(f"{status} {body[:200]!r}")
        finally:
            writer.close()

    started = time.time()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return Drive(started, latencies, failures)


class PushReceiver:
    """Counts pushed MO messages and times each from the simulator's send time."""

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nACK/Jasmin"

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.port = 0
        self.reset()

    def reset(self) -> None:
        self.seen: set[int] = set()
        self.latencies: list[float] = []  # seconds from the simulator's send to the push
        self.last_at = 0.0
        self.duplicates = 0
        self.unreadable = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def _record(self, content: str) -> None:
        words = content.split()
        if len(words) != 3 or words[0] != "mo":
            self.unreadable += 1
            return
        now = time.time()
        number, sent_ms = int(words[1]), int(words[2])
        if number in self.seen:
            self.duplicates += 1
            return
        self.seen.add(number)
        self.latencies.append(now - sent_ms / 1000)
        self.last_at = now

    def _content(self, headers: dict[str, str], body: bytes) -> str:
        if headers.get("content-type", "").startswith("application/json"):
            return str(json.loads(body).get("content") or "")
        return parse_qs(body.decode("latin-1")).get("content", [""])[0]

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                try:
                    self._record(self._content(headers, body))
                except ValueError:
                    self.unreadable += 1
                writer.write(self.ANSWER)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        finally:
            writer.close()
