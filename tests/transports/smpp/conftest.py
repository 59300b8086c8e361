"""Fixtures: the SMSC simulator (tools/smsc/simulator.js under node) and clients bound to it.

One simulator serves the whole folder; each test resets it and gets its own clients, which are
stopped afterwards. Everything listens on 127.0.0.1 on ports the OS picked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from vumigo.transports.smpp import MemoryCorrelationStore, SmppClient, SmppConfig

from .smpp_harness import (
    Harness,
    MakeClient,
    Recorder,
    Simulator,
    Smsc,
    start_simulator,
    stop_simulator,
)


@pytest.fixture(scope="session")
def simulator() -> Iterator[Simulator]:
    running = start_simulator()
    yield running
    stop_simulator(running)


@pytest.fixture
async def smsc(simulator: Simulator) -> AsyncIterator[Smsc]:
    async with httpx.AsyncClient(base_url=simulator.control_url, timeout=10) as http:
        control = Smsc(simulator, http)
        await control.post("/reset")
        yield control


@pytest.fixture
async def make_client(smsc: Smsc) -> AsyncIterator[MakeClient]:
    """Build, start and bind a client against the simulator; every one is stopped afterwards."""
    started: list[SmppClient] = []

    async def make(bind: bool = True, port: int | None = None, **settings: Any) -> Harness:
        options: dict[str, Any] = {
            "port": port or smsc.port,
            "reconnect_min": 0.05,
            "reconnect_max": 0.5,
            "enquire_link_interval": 0,
            **settings,
        }
        recorder = Recorder()
        store = MemoryCorrelationStore()
        client = SmppClient(SmppConfig(**options), store, recorder.on_inbound, recorder.on_event)
        started.append(client)
        await client.start()
        if bind:
            await client.wait_bound(5)
        return Harness(client, recorder, store)

    yield make
    for client in started:
        await client.stop(timeout=1)
