"""The Python side of bench/peers/smsc.js: starts it, and speaks to its control API."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().with_name("smsc.js")


class Simulator:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["node", str(SCRIPT)], cwd=SCRIPT.parent, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        ports = dict(item.split("=") for item in self.process.stdout.readline().split()[2:])
        self.port = int(ports["smpp"])
        self.control_port = int(ports["control"])

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.control_port)
        data = json.dumps(body or {}).encode()
        writer.write(
            f"{method} {path} HTTP/1.1\r\nHost: smsc\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        raw = await reader.read()
        writer.close()
        head, _, payload = raw.partition(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"simulator {path}: {payload.decode()}")
        return json.loads(payload)

    async def gateway(self, system_id: str) -> dict[str, Any]:
        stats = await self.call("GET", "/stats")
        return dict(stats["gateways"].get(system_id) or {})

    async def wait_bound(self, system_ids: list[str], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            binds = (await self.call("GET", "/stats"))["binds"]
            if all(s in binds for s in system_ids):
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"not all of {system_ids} bound to the simulator")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(5)
