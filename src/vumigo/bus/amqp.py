"""The RabbitMQ bus (aio-pika): durable queues, persistent messages, publisher confirms.

Each named queue ``Q`` is durable and comes with two helpers:

- ``Q.retry``: a failed delivery is dead-lettered here by RabbitMQ (nack without requeue), waits
  out a per-queue TTL, and is dead-lettered back to ``Q`` — redelivery with back-off that
  survives restarts, with the attempt count kept by RabbitMQ in the ``x-death`` header;
- ``Q.dead``: after ``max_attempts`` failures the delivery is parked here for an operator to
  inspect and replay (``vumigo bus dead-letters``).

A publish returns once RabbitMQ has confirmed it (so it is on disk for a persistent message to
a durable queue); ``publish_many`` has RabbitMQ confirm a batch together. The connection is
robust: aio-pika reconnects with back-off and restores the consumers' channels, queues and
consumers. A publish made while disconnected waits for the connection to come back and is made
again (a confirm lost with the connection may so put a message on its queue twice: consumers
are idempotent), for up to ``publish_patience`` seconds, then raises ``BusUnavailable``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)
from aiormq.exceptions import ChannelInvalidStateError

from vumigo.bus.base import (
    DEAD_LETTER_SUFFIX,
    BatchHandler,
    Bus,
    BusUnavailable,
    Consumer,
    Delivery,
    Handler,
)

log = logging.getLogger(__name__)

RETRY_SUFFIX = ".retry"
RETRY_DELAY_MS = 1000
# What a publish or a declare raises while the connection is down (aio-pika's connection
# errors are ConnectionErrors; a channel waiting to be restored is in an invalid state).
DISCONNECTED = (ConnectionError, ChannelInvalidStateError)


def attempts_of(message: AbstractIncomingMessage) -> int:
    """How many times RabbitMQ has dead-lettered this message for a retry."""
    deaths = (message.headers or {}).get("x-death")
    if not isinstance(deaths, list):
        return 0
    total = 0
    for death in deaths:
        if isinstance(death, dict) and death.get("reason") == "rejected":
            count = death.get("count", 0)
            total += int(count) if isinstance(count, int) else 0
    return total


class AmqpConsumer(Consumer):
    def __init__(
        self,
        bus: AmqpBus,
        queue: AbstractQueue,
        handler: BatchHandler,
        max_batch: int,
        concurrency: int,
        logical: str,
    ) -> None:
        self.bus = bus
        self.queue = queue
        self.logical = logical  # the name callers use, without the broker prefix
        self.handler = handler
        self.max_batch = max(1, max_batch)
        self.slots = asyncio.Semaphore(max(1, concurrency))
        self.inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self.tag: str | None = None
        self.in_hand: set[asyncio.Task[None]] = set()
        self.loop_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.tag = await self.queue.consume(self.inbox.put, no_ack=False)
        self.loop_task = asyncio.create_task(self._loop(), name=f"amqp-consume:{self.queue.name}")

    async def _loop(self) -> None:
        while True:
            await self.slots.acquire()
            try:
                first = await self.inbox.get()
            except asyncio.CancelledError:
                self.slots.release()
                raise
            batch = [first]
            while len(batch) < self.max_batch and not self.inbox.empty():
                batch.append(self.inbox.get_nowait())
            task = asyncio.create_task(self._handle(batch))
            self.in_hand.add(task)
            task.add_done_callback(self.in_hand.discard)

    async def _handle(self, batch: list[AbstractIncomingMessage]) -> None:
        deliveries = [
            Delivery(self.logical, message.body, attempts_of(message)) for message in batch
        ]
        try:
            await self.handler(deliveries)
        except asyncio.CancelledError:
            for message in batch:
                with contextlib.suppress(Exception):
                    await message.nack(requeue=True)
            raise
        except Exception as exc:
            if self.bus.is_outage(exc):
                await self._outage(batch, exc)
                return
            log.exception("handler for %s failed (%d deliveries)", self.queue.name, len(batch))
            for message, delivery in zip(batch, deliveries, strict=True):
                await self._fail(message, delivery)
        else:
            # Each acked on its own: with several batches in flight on one channel, a
            # multiple-ack could also ack an earlier batch that is still being handled.
            for message in batch:
                with contextlib.suppress(Exception):
                    await message.ack()
        finally:
            self.slots.release()

    async def _outage(self, batch: list[AbstractIncomingMessage], exc: Exception) -> None:
        """Hands a batch back as it was (not through the retry queue, which counts attempts),
        after a pause: an outage says nothing about the messages."""
        log.warning(
            "handler for %s hit an outage (%s); retrying %d deliveries in %.1f s",
            self.queue.name,
            exc,
            len(batch),
            self.bus.outage_delay,
        )
        await asyncio.sleep(self.bus.outage_delay)
        for message in batch:
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)

    async def _fail(self, message: AbstractIncomingMessage, delivery: Delivery) -> None:
        try:
            if delivery.attempts + 1 >= self.bus.max_attempts:
                log.error("moving a message of %s to its dead-letter queue", self.queue.name)
                await self.bus.publish(self.logical + DEAD_LETTER_SUFFIX, message.body)
                await message.ack()
            else:
                await message.nack(requeue=False)  # → the retry queue, then back
        except Exception:
            log.exception("could not hand back a message of %s", self.queue.name)

    async def cancel(self) -> None:
        if self.tag is not None:
            with contextlib.suppress(Exception):
                await self.queue.cancel(self.tag)
        if self.loop_task is not None:
            self.loop_task.cancel()
            await asyncio.gather(self.loop_task, return_exceptions=True)
        if self.in_hand:
            await asyncio.gather(*self.in_hand, return_exceptions=True)
        # Whatever was prefetched but not handled goes back to the queue.
        while not self.inbox.empty():
            with contextlib.suppress(Exception):
                await self.inbox.get_nowait().nack(requeue=True)


class AmqpBus(Bus):
    # How long a publish waits for a lost connection to come back before it gives up.
    publish_patience: float = 60.0

    def __init__(self, url: str, prefix: str = "") -> None:
        self.url = url
        # Prepended to every queue name on the broker (callers never see it).
        self.prefix = prefix
        self.connection: AbstractRobustConnection | None = None
        self.channel: AbstractRobustChannel | None = None
        self.declared: dict[str, AbstractQueue] = {}
        self.consumers: list[AmqpConsumer] = []
        self.lock = asyncio.Lock()

    async def start(self) -> None:
        self.connection = await aio_pika.connect_robust(self.url, reconnect_interval=1)
        self.channel = await self.connection.channel(publisher_confirms=True)

    async def stop(self) -> None:
        for consumer in self.consumers:
            await consumer.cancel()
        self.consumers.clear()
        if self.connection is not None:
            await self.connection.close()
        self.connection = self.channel = None
        self.declared.clear()

    def _channel(self) -> AbstractRobustChannel:
        if self.channel is None:
            raise RuntimeError("the AMQP bus is not started")
        return self.channel

    async def declare(self, name: str) -> AbstractQueue:
        """Declares ``name`` with its retry queue (and its dead-letter queue) once."""
        queue = self.declared.get(name)
        if queue is not None:
            return queue
        async with self.lock:
            if name in self.declared:
                return self.declared[name]
            channel = self._channel()
            logical, name = name, self.prefix + name
            if name.endswith(DEAD_LETTER_SUFFIX) or name.endswith(RETRY_SUFFIX):
                queue = await channel.declare_queue(name, durable=True)
            else:
                await channel.declare_queue(
                    name + RETRY_SUFFIX,
                    durable=True,
                    arguments={
                        "x-message-ttl": RETRY_DELAY_MS,
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": name,
                    },
                )
                await channel.declare_queue(name + DEAD_LETTER_SUFFIX, durable=True)
                queue = await channel.declare_queue(
                    name,
                    durable=True,
                    arguments={
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": name + RETRY_SUFFIX,
                    },
                )
            self.declared[logical] = queue
            return queue

    async def publish(self, queue: str, body: bytes) -> None:
        message = aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.publish_patience
        while True:
            try:
                declared = await self.declare(queue)
                await self._channel().default_exchange.publish(message, routing_key=declared.name)
                return
            except DISCONNECTED as exc:
                left = deadline - loop.time()
                if left <= 0:
                    raise BusUnavailable(f"RabbitMQ cannot be reached: {exc}") from exc
                log.warning("publishing to %s: %s; waiting for RabbitMQ", queue, exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._channel().ready(), left)
                await asyncio.sleep(0.05)  # ready() may answer before the channel is usable

    async def publish_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        # Published together, so RabbitMQ confirms them together: one pass to its disk for a
        # batch rather than a round trip per message.
        await asyncio.gather(*(self.publish(queue, body) for queue, body in items))

    async def consume(self, queue: str, handler: Handler, prefetch: int = 1) -> Consumer:
        async def one_at_a_time(deliveries: list[Delivery]) -> None:
            for delivery in deliveries:
                await handler(delivery)

        return await self.consume_batch(queue, one_at_a_time, 1, prefetch)

    async def consume_batch(
        self, queue: str, handler: BatchHandler, max_batch: int = 100, concurrency: int = 1
    ) -> Consumer:
        declared = await self.declare(queue)
        # A channel per consumer, so each has its own prefetch window.
        assert self.connection is not None
        channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=max(1, max_batch) * max(1, concurrency))
        # Declared (passively) rather than looked up, so the channel restores the queue and
        # its consumer after a reconnection: a queue it was not told about stays forgotten.
        own_queue = await channel.declare_queue(declared.name, passive=True)
        consumer = AmqpConsumer(self, own_queue, handler, max_batch, concurrency, queue)
        await consumer.start()
        self.consumers.append(consumer)
        return consumer

    async def depth(self, queue: str) -> int:
        declared = await self.declare(queue)
        # Asked of the underlying channel: aio-pika's queue objects keep the count they were
        # declared with, not the current one.
        underlay = await self._channel().get_underlay_channel()
        result: Any = await underlay.queue_declare(declared.name, passive=True)
        return int(result.message_count or 0)

    async def dead_letters(self, queue: str) -> list[Delivery]:
        dead = await self.declare(queue + DEAD_LETTER_SUFFIX)
        taken: list[AbstractIncomingMessage] = []
        while (message := await dead.get(no_ack=False, fail=False)) is not None:
            taken.append(message)
        found = [Delivery(queue + DEAD_LETTER_SUFFIX, m.body, attempts_of(m)) for m in taken]
        for message in taken:  # put them back, untouched
            await message.nack(requeue=True)
        return found

    async def replay_dead_letters(self, queue: str) -> int:
        dead = await self.declare(queue + DEAD_LETTER_SUFFIX)
        moved = 0
        while (message := await dead.get(no_ack=False, fail=False)) is not None:
            await self.publish(queue, message.body)
            await message.ack()
            moved += 1
        return moved
