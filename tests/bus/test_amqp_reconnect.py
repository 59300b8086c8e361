"""The RabbitMQ bus across a broker restart (a broker of this test's own).

A publish made while the broker is away waits for it and then goes through; consumers come
back by themselves; persistent messages published before the restart are still delivered.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator

import pytest

from tests.support.private_servers import PrivateRabbit
from vumigo.bus import BusUnavailable, Delivery
from vumigo.bus.amqp import AmqpBus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def broker() -> Iterator[PrivateRabbit]:
    if not os.environ.get("VUMIGO_TEST_AMQP_URL"):
        pytest.skip("RabbitMQ is started by `make test` (VUMIGO_TEST_AMQP_URL unset)")
    server = PrivateRabbit()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def rabbit(broker: PrivateRabbit) -> PrivateRabbit:
    """The module's broker, running (a test before may have stopped it)."""
    if not broker.running():
        broker.start()
    return broker


async def test_publishes_wait_and_consumers_return_after_a_restart(rabbit: PrivateRabbit) -> None:
    bus = AmqpBus(rabbit.url, prefix="r.")
    await bus.start()
    got: list[bytes] = []

    async def handler(delivery: Delivery) -> None:
        got.append(delivery.body)

    try:
        await bus.consume("q", handler)
        await bus.publish("q", b"before")
        restarted = threading.Thread(target=lambda: (rabbit.stop(), rabbit.start()))
        restarted.start()
        await asyncio.sleep(0.5)  # the broker is going away
        await bus.publish_many([("q", b"during 1"), ("q", b"during 2")])
        await asyncio.to_thread(restarted.join)
        await bus.publish("q", b"after")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while len(set(got)) < 4 and loop.time() < deadline:
            await asyncio.sleep(0.05)
        assert set(got) == {b"before", b"during 1", b"during 2", b"after"}
    finally:
        await bus.stop()


async def test_a_publish_gives_up_when_the_broker_stays_away(rabbit: PrivateRabbit) -> None:
    bus = AmqpBus(rabbit.url, prefix="r.")
    bus.publish_patience = 1.0
    await bus.start()
    try:
        await bus.publish("q", b"first")
        await asyncio.to_thread(rabbit.stop)
        with pytest.raises(BusUnavailable):
            await bus.publish("q", b"lost")
    finally:
        await bus.stop()
