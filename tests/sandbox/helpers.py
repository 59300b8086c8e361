"""Helpers for the sandbox tests: example apps, message builders, a raw line-level driver for
sandboxer.js, and a harness bundling a SandboxManager with in-memory stores and sinks."""

from __future__ import annotations

import asyncio
import http.server
import ipaddress
import json
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpcore

from vumigo.sandbox import RunContext, RunResult, SandboxManager
from vumigo.sandbox.limits import find_modules_dir
from vumigo.sandbox.netguard import direct_connector
from vumigo.sandbox.protocol import decode, encode
from vumigo.sandbox.resources.kv import InMemoryKeyValueStore
from vumigo.sandbox.resources.log import InMemoryLogStore
from vumigo.sandbox.resources.metrics import InMemoryMetricSink
from vumigo.sandbox.resources.outbound import InMemoryOutbox, OutboundMessage
from vumigo.sandbox.run import Run

MODULES_DIR = find_modules_dir()
EXAMPLES = MODULES_DIR / "vumigo_v02" / "examples"

NODE_READY = shutil.which("node") is not None and (MODULES_DIR / "vumigo_v02").is_dir()


def example_app(name: str) -> str:
    """An example app's source as a Vumi Go conversation would hold it: the examples require
    the toolkit by relative path, a deployed app by its package name."""
    source = (EXAMPLES / name / "lib" / "app.js").read_text()
    return source.replace("require('../../../lib')", "require('vumigo_v02')")


def app_config(name: str = "some_app", **extra: Any) -> dict[str, Any]:
    return {"config": json.dumps({"name": name, **extra})}


def user_message(
    content: str | None,
    *,
    from_addr: str = "+27831234567",
    session_event: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    if session_event is None:
        session_event = "new" if content is None else "resume"
    msg: dict[str, Any] = {
        "message_id": uuid.uuid4().hex,
        "message_version": "20110921",
        "message_type": "user_message",
        "timestamp": "2024-01-01 00:00:00.000000",
        "from_addr": from_addr,
        "to_addr": "*120*1#",
        "content": content,
        "session_event": session_event,
        "transport_name": "ussd_transport",
        "transport_type": "ussd",
        "transport_metadata": {},
        "helper_metadata": {},
        "in_reply_to": None,
        "group": None,
        "provider": None,
        "routing_metadata": {},
    }
    msg.update(extra)
    return msg


def event(event_type: str = "ack", **extra: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "message_id": uuid.uuid4().hex,
        "message_version": "20110921",
        "message_type": "event",
        "event_id": uuid.uuid4().hex,
        "event_type": event_type,
        "user_message_id": uuid.uuid4().hex,
        "sent_message_id": "remote-1",
        "timestamp": "2024-01-01 00:00:00.000000",
        "helper_metadata": {},
        "transport_metadata": {},
    }
    msg.update(extra)
    return msg


def make_run(
    account_key: str = "acct",
    message: Mapping[str, Any] | None = None,
    app_config: Mapping[str, Any] | None = None,
    context: RunContext | None = None,
) -> Run:
    return Run(
        account_key=account_key,
        app_config=app_config or {},
        message=message if message is not None else user_message("hi"),
        context=context or RunContext(conversation_key="conv"),
    )


@dataclass
class Harness:
    manager: SandboxManager
    outbox: InMemoryOutbox
    kv: InMemoryKeyValueStore
    metrics: InMemoryMetricSink
    logs: InMemoryLogStore
    contexts: dict[str, RunContext] = field(default_factory=dict)

    async def run(
        self,
        account: str,
        app: str,
        message: Mapping[str, Any],
        config: Mapping[str, Any] | None = None,
    ) -> RunResult:
        context = self.contexts.get(account, RunContext(conversation_key=f"{account}-conv"))
        return await self.manager.run(account, app, config or app_config(), message, context)

    def sent(self, account: str | None = None) -> list[OutboundMessage]:
        return [msg for acct, _, msg in self.outbox.sent if account in (None, acct)]

    def last_reply(self, account: str | None = None) -> OutboundMessage:
        return self.sent(account)[-1]

    async def kv_value(self, account: str, key: str) -> Any:
        raw = await self.kv.get(account, key)
        return None if raw is None else json.loads(raw)


class RawSandbox:
    """Drives sandboxer.js line by line, exactly as started in production (same argv and
    isolation), for wire-level protocol checks."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def send(self, obj: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(encode(obj))
        await self.proc.stdin.drain()

    async def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        await self.proc.stdin.drain()

    async def recv_raw(self, timeout: float = 5.0) -> bytes:
        assert self.proc.stdout is not None
        return await asyncio.wait_for(self.proc.stdout.readline(), timeout)

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        line = await self.recv_raw(timeout)
        assert line, "sandboxer closed stdout"
        return decode(line)

    async def reply(self, request: dict[str, Any], **fields: Any) -> None:
        await self.send(
            {
                "cmd": request["cmd"],
                "cmd_id": request["cmd_id"],
                "reply": True,
                "run_id": request["run_id"],
                "success": True,
                **fields,
            }
        )

    async def close(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()


def read_fixture_js(path: Path) -> Any:
    """Evaluate a toolkit test fixture module (``module.exports = function() {...}``)."""
    import subprocess

    script = f"console.log(JSON.stringify(require({json.dumps(str(path))})()))"
    out = subprocess.run(["node", "-e", script], capture_output=True, check=True, env={})
    return json.loads(out.stdout)


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunked: bool = False  # no Content-Length: the body is sent in 1000-byte chunks


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FixtureServer:
    """A threaded HTTP server on 127.0.0.1 answering from a route table and recording
    requests. Unknown routes get 404."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Route] = {}
        self.requests: list[SeenRequest] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(
                    SeenRequest(self.command, self.path, dict(self.headers.items()), body)
                )
                route = server.routes.get((self.command, self.path), Route(404, b"not found"))
                if route.delay:
                    time.sleep(route.delay)
                self.send_response(route.status)
                framing = (
                    {"Transfer-Encoding": "chunked"}
                    if route.chunked
                    else {"Content-Length": str(len(route.body))}
                )
                for name, value in {**framing, **route.headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command == "HEAD":
                    return
                if not route.chunked:
                    self.wfile.write(route.body)
                    return
                for i in range(0, len(route.body), 1000):
                    chunk = route.body[i : i + 1000]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients that stop reading (size cap, timeout) are expected here

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class LoopbackOnly:
    """Test doubles for the http resource's resolution and connection steps. Names resolve
    from a fixed table (no DNS query leaves the machine), and only loopback addresses are
    really connected to: anything else is recorded and refused, so no test can send traffic
    off the machine even if the guard under test is broken."""

    def __init__(self, names: dict[str, list[str]] | None = None) -> None:
        self.names = names or {}
        self.resolved: list[str] = []
        self.connected: list[tuple[str, int]] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.resolved.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.names[host]

    async def connect(
        self, address: str, port: int, timeout: float | None, options: Any
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((address, port))
        if not ipaddress.ip_address(address).is_loopback:
            raise httpcore.ConnectError(f"test connector refuses {address}")
        return await direct_connector(address, port, timeout, options)

    @property
    def off_machine(self) -> list[tuple[str, int]]:
        return [c for c in self.connected if not ipaddress.ip_address(c[0]).is_loopback]
