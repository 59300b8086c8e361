"""Helpers for the SMPP tests: running the SMSC simulator, its control API, recording callbacks.

(A module of its own rather than conftest.py, so test files can import these names.)
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from vumigo.transports.smpp import MemoryCorrelationStore, SmppClient

ROOT = Path(__file__).resolve().parents[3]
SIMULATOR = ROOT / "tools" / "smsc" / "simulator.js"


@dataclass
class Simulator:
    process: subprocess.Popen[str]
    smpp_port: int
    control_port: int

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.control_port}"


def _given(name: str, args: tuple[str, ...]) -> bool:
    return any(arg.startswith(f"--{name}=") for arg in args)


def start_simulator(*args: str) -> Simulator:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    defaults = [f"--{name}=0" for name in ("port", "control-port") if not _given(name, args)]
    process = subprocess.Popen(
        [node, str(SIMULATOR), *defaults, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("SMSC listening"):
        process.kill()
        raise RuntimeError(f"simulator did not start: {line!r}")
    ports = dict(item.split("=") for item in line.split()[2:])
    return Simulator(process, int(ports["smpp"]), int(ports["control"]))


def stop_simulator(simulator: Simulator) -> None:
    simulator.process.terminate()
    try:
        simulator.process.wait(5)
    except subprocess.TimeoutExpired:
        simulator.process.kill()
        simulator.process.wait()


class Smsc:
    """The running simulator's control API."""

    def __init__(self, simulator: Simulator, http: httpx.AsyncClient) -> None:
        self.port = simulator.smpp_port
        self._http = http

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await self._http.post(path, json=body or {})
        response.raise_for_status()
        return response.json()

    async def get(self, path: str) -> Any:
        response = await self._http.get(path)
        response.raise_for_status()
        return response.json()

    async def mode(self, **settings: Any) -> Any:
        return await self.post("/mode", settings)

    async def mo(self, **message: Any) -> list[int]:
        result = await self.post("/mo", message)
        statuses: list[int] = result["statuses"]
        return statuses

    async def received(self) -> list[dict[str, Any]]:
        received: list[dict[str, Any]] = await self.get("/received")
        return received

    async def submits(self) -> list[dict[str, Any]]:
        submits: list[dict[str, Any]] = await self.get("/submits")
        return submits

    async def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = await self.get("/stats")
        return stats


@dataclass
class Recorder:
    """Collects what a client reports, and waits for it."""

    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    inbound: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)
    # Set to make on_inbound raise this many times before it starts storing messages.
    inbound_failures: int = 0

    async def on_event(self, kind: str, message_id: str, /, **details: Any) -> None:
        self.events.append((kind, message_id, details))

    async def on_inbound(
        self, source: str, destination: str, content: str, /, **details: Any
    ) -> None:
        if self.inbound_failures > 0:
            self.inbound_failures -= 1
            raise RuntimeError("database unavailable")
        self.inbound.append((source, destination, content, details))

    def of_kind(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(message_id, details) for k, message_id, details in self.events if k == kind]

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if loop.time() > deadline:
                raise AssertionError(f"timed out; events={self.events} inbound={self.inbound}")
            await asyncio.sleep(0.01)


@dataclass
class Harness:
    client: SmppClient
    recorder: Recorder
    store: MemoryCorrelationStore


MakeClient = Callable[..., Awaitable[Harness]]
