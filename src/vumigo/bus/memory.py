"""The in-process bus: asyncio queues in one process, for the embedded mode and the tests.

It is not durable by itself. The embedded mode gets durability from the database: every message
is stored with its processing state before it is put on the bus, and start-up recovery puts back
whatever was accepted but not finished (see ``vumigo.engine.recovery``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque

from vumigo.bus.base import DEAD_LETTER_SUFFIX, BatchHandler, Bus, Consumer, Delivery, Handler

log = logging.getLogger(__name__)


class _Queue:
    def __init__(self) -> None:
        self.items: deque[Delivery] = deque()
        self.ready = asyncio.Condition()

    async def put(self, delivery: Delivery) -> None:
        async with self.ready:
            self.items.append(delivery)
            self.ready.notify()

    async def get(self) -> Delivery:
        async with self.ready:
            await self.ready.wait_for(lambda: bool(self.items))
            return self.items.popleft()

    async def get_batch(self, most: int) -> list[Delivery]:
        """Waits for one delivery, then takes whatever else is waiting, up to ``most``."""
        async with self.ready:
            await self.ready.wait_for(lambda: bool(self.items))
            count = min(most, len(self.items))
            return [self.items.popleft() for _ in range(count)]


class MemoryConsumer(Consumer):
    def __init__(self, bus: MemoryBus, queue: str, handler: Handler, prefetch: int) -> None:
        self.bus = bus
        self.queue = queue
        self.handler = handler
        self.slots = asyncio.Semaphore(max(1, prefetch))
        self.in_hand: set[asyncio.Task[None]] = set()
        self.loop_task = asyncio.create_task(self._loop(), name=f"consume:{queue}")

    async def _loop(self) -> None:
        source = self.bus.queue(self.queue)
        while True:
            await self.slots.acquire()
            try:
                delivery = await source.get()
            except asyncio.CancelledError:
                self.slots.release()
                raise
            task = asyncio.create_task(self._handle(delivery))
            self.in_hand.add(task)
            task.add_done_callback(self.in_hand.discard)

    async def _handle(self, delivery: Delivery) -> None:
        try:
            await self.handler(delivery)
        except asyncio.CancelledError:
            # Stopping mid-delivery: hand it back so nothing is lost within this process.
            self.bus.queue(self.queue).items.appendleft(delivery)
            raise
        except Exception as exc:
            if self.bus.is_outage(exc):
                log.warning("handler for %s hit an outage (%s); retrying", self.queue, exc)
                await self.bus.redeliver(delivery, counted=False)
            else:
                log.exception(
                    "handler for %s failed (attempt %d)", self.queue, delivery.attempts + 1
                )
                await self.bus.redeliver(delivery)
        finally:
            self.slots.release()

    async def cancel(self) -> None:
        self.loop_task.cancel()
        await asyncio.gather(self.loop_task, return_exceptions=True)
        if self.in_hand:
            await asyncio.gather(*self.in_hand, return_exceptions=True)


class MemoryBatchConsumer(Consumer):
    def __init__(
        self, bus: MemoryBus, queue: str, handler: BatchHandler, max_batch: int, concurrency: int
    ) -> None:
        self.bus = bus
        self.queue = queue
        self.handler = handler
        self.max_batch = max(1, max_batch)
        self.slots = asyncio.Semaphore(max(1, concurrency))
        self.in_hand: set[asyncio.Task[None]] = set()
        self.loop_task = asyncio.create_task(self._loop(), name=f"consume-batch:{queue}")

    async def _loop(self) -> None:
        source = self.bus.queue(self.queue)
        while True:
            await self.slots.acquire()
            try:
                batch = await source.get_batch(self.max_batch)
            except asyncio.CancelledError:
                self.slots.release()
                raise
            task = asyncio.create_task(self._handle(batch))
            self.in_hand.add(task)
            task.add_done_callback(self.in_hand.discard)

    async def _handle(self, batch: list[Delivery]) -> None:
        try:
            await self.handler(batch)
        except asyncio.CancelledError:
            self.bus.queue(self.queue).items.extendleft(reversed(batch))
            raise
        except Exception as exc:
            outage = self.bus.is_outage(exc)
            if outage:
                log.warning("batch handler for %s hit an outage (%s); retrying", self.queue, exc)
            else:
                log.exception("batch handler for %s failed (%d deliveries)", self.queue, len(batch))
            for delivery in batch:
                await self.bus.redeliver(delivery, counted=not outage)
        finally:
            self.slots.release()

    async def cancel(self) -> None:
        self.loop_task.cancel()
        await asyncio.gather(self.loop_task, return_exceptions=True)
        if self.in_hand:
            await asyncio.gather(*self.in_hand, return_exceptions=True)


class MemoryBus(Bus):
    def __init__(self) -> None:
        self.queues: defaultdict[str, _Queue] = defaultdict(_Queue)
        self.consumers: list[Consumer] = []
        self.retry_tasks: set[asyncio.Task[None]] = set()

    def queue(self, name: str) -> _Queue:
        return self.queues[name]

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for consumer in self.consumers:
            await consumer.cancel()
        self.consumers.clear()
        for task in list(self.retry_tasks):
            task.cancel()

    async def publish(self, queue: str, body: bytes) -> None:
        await self.queue(queue).put(Delivery(queue=queue, body=body))

    async def consume(self, queue: str, handler: Handler, prefetch: int = 1) -> Consumer:
        consumer = MemoryConsumer(self, queue, handler, prefetch)
        self.consumers.append(consumer)
        return consumer

    async def consume_batch(
        self, queue: str, handler: BatchHandler, max_batch: int = 100, concurrency: int = 1
    ) -> Consumer:
        consumer = MemoryBatchConsumer(self, queue, handler, max_batch, concurrency)
        self.consumers.append(consumer)
        return consumer

    async def redeliver(self, delivery: Delivery, counted: bool = True) -> None:
        """Puts a failed delivery back after a delay; ``counted``: the failure was the
        message's (not an outage's), so it counts towards dead-lettering."""
        if counted:
            delivery.attempts += 1
            if delivery.attempts >= self.max_attempts:
                log.error("moving a message of %s to its dead-letter queue", delivery.queue)
                dead = Delivery(
                    delivery.queue + DEAD_LETTER_SUFFIX, delivery.body, delivery.attempts
                )
                self.queue(dead.queue).items.append(dead)
                return
        delay = self.retry_delay(delivery.attempts) if counted else self.outage_delay

        async def later() -> None:
            await asyncio.sleep(delay)
            await self.queue(delivery.queue).put(delivery)

        task = asyncio.create_task(later())
        self.retry_tasks.add(task)
        task.add_done_callback(self.retry_tasks.discard)

    async def depth(self, queue: str) -> int:
        return len(self.queue(queue).items)

    async def dead_letters(self, queue: str) -> list[Delivery]:
        return list(self.queue(queue + DEAD_LETTER_SUFFIX).items)

    async def replay_dead_letters(self, queue: str) -> int:
        dead = self.queue(queue + DEAD_LETTER_SUFFIX).items
        moved = 0
        while dead:
            item = dead.popleft()
            await self.publish(queue, item.body)
            moved += 1
        return moved
