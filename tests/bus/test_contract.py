"""One contract for every bus: the in-process one and RabbitMQ (started by `make test`)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest

from vumigo.bus import Bus, Delivery
from vumigo.bus.memory import MemoryBus

AMQP_URL = os.environ.get("VUMIGO_TEST_AMQP_URL")


def make_bus(kind: str, prefix: str | None = None) -> Bus:
    if kind == "memory":
        return MemoryBus()
    if not AMQP_URL:
        pytest.skip("RabbitMQ is started by `make test` (VUMIGO_TEST_AMQP_URL unset)")
    from vumigo.bus.amqp import AmqpBus

    # A prefix of its own, as installations sharing a broker have.
    return AmqpBus(AMQP_URL, prefix=prefix if prefix is not None else f"t{uuid.uuid4().hex[:6]}.")


@pytest.fixture(params=["memory", "amqp"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    instance = make_bus(request.param)
    instance.retry_delays = (0.01,)
    await instance.start()
    yield instance
    await instance.stop()


@pytest.fixture
def queue() -> str:
    return f"test.{uuid.uuid4().hex[:10]}"


async def collect(
    bus: Bus, queue: str, count: int, prefetch: int = 4, timeout: float = 10
) -> list[bytes]:
    got: list[bytes] = []
    done = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        got.append(delivery.body)
        if len(got) >= count:
            done.set()

    consumer = await bus.consume(queue, handler, prefetch)
    await asyncio.wait_for(done.wait(), timeout)
    await consumer.cancel()
    return got


async def test_publish_then_consume_in_order(bus: Bus, queue: str) -> None:
    for n in range(20):
        await bus.publish(queue, f"m{n}".encode())
    assert await collect(bus, queue, 20, prefetch=1) == [f"m{n}".encode() for n in range(20)]


async def test_prefetch_limits_deliveries_in_hand(bus: Bus, queue: str) -> None:
    in_hand = 0
    most = 0
    done = asyncio.Event()
    seen = 0

    async def slow(_delivery: Delivery) -> None:
        nonlocal in_hand, most, seen
        in_hand += 1
        most = max(most, in_hand)
        await asyncio.sleep(0.02)
        in_hand -= 1
        seen += 1
        if seen == 12:
            done.set()

    for n in range(12):
        await bus.publish(queue, str(n).encode())
    consumer = await bus.consume(queue, slow, prefetch=3)
    await asyncio.wait_for(done.wait(), 10)
    await consumer.cancel()
    assert most == 3


async def test_failures_are_retried_then_dead_lettered_and_replayable(bus: Bus, queue: str) -> None:
    bus.max_attempts = 3
    attempts: list[int] = []
    succeeded = asyncio.Event()

    async def flaky(delivery: Delivery) -> None:
        if delivery.body == b"poison":
            attempts.append(delivery.attempts)
            raise RuntimeError("cannot handle this")
        succeeded.set()

    await bus.publish(queue, b"poison")
    consumer = await bus.consume(queue, flaky)
    deadline = asyncio.get_running_loop().time() + 15
    while not await bus.dead_letters(queue):
        assert asyncio.get_running_loop().time() < deadline, "never dead-lettered"
        await asyncio.sleep(0.05)
    assert attempts == [0, 1, 2]
    dead = await bus.dead_letters(queue)
    assert [d.body for d in dead] == [b"poison"]
    assert [d.body for d in await bus.dead_letters(queue)] == [b"poison"]  # looking is harmless
    await consumer.cancel()

    assert await bus.replay_dead_letters(queue) == 1
    assert await bus.dead_letters(queue) == []
    assert await bus.depth(queue) == 1


async def test_batches_take_what_is_waiting(bus: Bus, queue: str) -> None:
    for n in range(25):
        await bus.publish(queue, str(n).encode())
    await asyncio.sleep(0.1)
    sizes: list[int] = []
    bodies: list[bytes] = []
    done = asyncio.Event()

    async def handler(deliveries: list[Delivery]) -> None:
        sizes.append(len(deliveries))
        bodies.extend(d.body for d in deliveries)
        if len(bodies) >= 25:
            done.set()

    consumer = await bus.consume_batch(queue, handler, max_batch=10)
    await asyncio.wait_for(done.wait(), 10)
    await consumer.cancel()
    assert sorted(int(b) for b in bodies) == list(range(25))
    assert max(sizes) <= 10
    assert len(sizes) < 25  # batched, not one by one


async def test_failed_batch_is_redelivered_whole(bus: Bus, queue: str) -> None:
    for n in range(5):
        await bus.publish(queue, str(n).encode())
    await asyncio.sleep(0.1)
    calls = 0
    handled: list[bytes] = []
    done = asyncio.Event()

    async def handler(deliveries: list[Delivery]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("first batch fails")
        handled.extend(d.body for d in deliveries)
        if len(handled) >= 5:
            done.set()

    consumer = await bus.consume_batch(queue, handler, max_batch=10)
    await asyncio.wait_for(done.wait(), 15)
    await consumer.cancel()
    assert sorted(handled) == [str(n).encode() for n in range(5)]


async def test_depth_counts_waiting_messages(bus: Bus, queue: str) -> None:
    for n in range(7):
        await bus.publish(queue, str(n).encode())
    await asyncio.sleep(0.1)
    assert await bus.depth(queue) == 7


async def test_amqp_messages_survive_a_new_connection(queue: str) -> None:
    first = make_bus("amqp", prefix="")
    await first.start()
    for n in range(3):
        await first.publish(queue, str(n).encode())
    await first.stop()
    second = make_bus("amqp", prefix="")
    await second.start()
    try:
        assert sorted(await collect(second, queue, 3)) == [b"0", b"1", b"2"]
    finally:
        await second.stop()


async def test_amqp_unacked_messages_return_when_a_consumer_dies(queue: str) -> None:
    first = make_bus("amqp", prefix="")
    await first.start()
    for n in range(3):
        await first.publish(queue, str(n).encode())
    started = asyncio.Event()

    async def stuck(_delivery: Delivery) -> None:
        started.set()
        await asyncio.sleep(3600)

    await first.consume(queue, stuck)
    await asyncio.wait_for(started.wait(), 10)
    assert first.connection is not None
    await first.connection.close()  # like a crash: nothing acked
    second = make_bus("amqp", prefix="")
    await second.start()
    try:
        assert sorted(await collect(second, queue, 3)) == [b"0", b"1", b"2"]
    finally:
        await second.stop()
        for consumer in getattr(first, "consumers", []):
            if consumer.loop_task:
                consumer.loop_task.cancel()


async def test_outage_failures_are_retried_without_counting_as_attempts(
    bus: Bus, queue: str
) -> None:
    bus.max_attempts = 2
    bus.outage_delay = 0.01
    bus.outage_test = lambda exc: isinstance(exc, ConnectionRefusedError)
    attempts: list[int] = []
    done = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        attempts.append(delivery.attempts)
        if len(attempts) <= 4:
            raise ConnectionRefusedError(111, "the database is down")
        done.set()

    await bus.publish(queue, b"m")
    consumer = await bus.consume(queue, handler)
    await asyncio.wait_for(done.wait(), 10)
    await consumer.cancel()
    assert attempts == [0] * 5  # more failures than max_attempts, none of them counted
    assert await bus.dead_letters(queue) == []


async def test_publish_many_puts_each_on_its_queue(bus: Bus, queue: str) -> None:
    other = queue + ".other"
    await bus.publish_many([(queue, b"a"), (other, b"b"), (queue, b"c")])
    assert sorted(await collect(bus, queue, 2)) == [b"a", b"c"]
    assert await collect(bus, other, 1) == [b"b"]
