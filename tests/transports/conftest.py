"""Fixtures for the transport tests that run the whole platform against a real peer.

The SMSC simulator here is separate from the one tests/transports/smpp/ starts for the client's
own tests (its fixtures override these names inside that folder).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.transports.smpp.smpp_harness import Simulator, Smsc, start_simulator, stop_simulator


@pytest.fixture(scope="session")
def smsc_process() -> Iterator[Simulator]:
    running = start_simulator()
    yield running
    stop_simulator(running)


@pytest.fixture
async def smsc(smsc_process: Simulator) -> AsyncIterator[Smsc]:
    async with httpx.AsyncClient(base_url=smsc_process.control_url, timeout=10) as http:
        control = Smsc(smsc_process, http)
        await control.post("/reset")
        yield control
