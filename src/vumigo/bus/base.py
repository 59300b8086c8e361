"""The bus interface: publish to a named queue; consume with a prefetch limit; ack or nack.

A consumer's handler is called once per delivery (or per batch of deliveries). Returning
normally acknowledges it; raising hands it back for redelivery with back-off, and after
``max_attempts`` failures it moves to the queue's dead-letter queue (``<queue>.dead``), where
an operator can look at it and replay it.
Handlers therefore ack only after their effects are stored, which is the platform's rule.

A failure that is no fault of the message (the database is down: ``is_outage`` says so) is
retried after ``outage_delay`` without counting as an attempt, however long the outage lasts.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

DEAD_LETTER_SUFFIX = ".dead"


@dataclass(slots=True)
class Delivery:
    """One message taken from a queue. ``attempts`` counts earlier failed deliveries."""

    queue: str
    body: bytes
    attempts: int = 0
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Delivery], Awaitable[None]]
BatchHandler = Callable[[list[Delivery]], Awaitable[None]]
OutageTest = Callable[[BaseException], bool]


class BusUnavailable(Exception):
    """The broker could not be reached for long enough that a publish gave up."""


class Consumer(abc.ABC):
    @abc.abstractmethod
    async def cancel(self) -> None:
        """Stops taking new deliveries and waits for those in hand to finish."""


class Bus(abc.ABC):
    max_attempts: int = 5
    retry_delays: tuple[float, ...] = (0.05, 0.25, 1.0, 5.0)
    # Tells an outage from a failure of the message; the engine sets the database's test.
    outage_test: OutageTest | None = None
    outage_delay: float = 1.0

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    @abc.abstractmethod
    async def publish(self, queue: str, body: bytes) -> None:
        """Puts ``body`` on ``queue``; when this returns the bus has accepted it."""

    async def publish_many(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Puts each (queue, body); when this returns the bus has accepted every one."""
        for queue, body in items:
            await self.publish(queue, body)

    @abc.abstractmethod
    async def consume(self, queue: str, handler: Handler, prefetch: int = 1) -> Consumer:
        """Calls ``handler`` for each delivery, at most ``prefetch`` at a time."""

    @abc.abstractmethod
    async def consume_batch(
        self, queue: str, handler: BatchHandler, max_batch: int = 100, concurrency: int = 1
    ) -> Consumer:
        """Calls ``handler`` with up to ``max_batch`` deliveries at once (whatever is waiting,
        without waiting for more), at most ``concurrency`` batches at a time. Returning acks
        the whole batch; raising hands every delivery in it back for redelivery."""

    @abc.abstractmethod
    async def depth(self, queue: str) -> int:
        """How many messages wait on ``queue`` (not counting those being handled)."""

    @abc.abstractmethod
    async def dead_letters(self, queue: str) -> list[Delivery]:
        """The messages that failed ``max_attempts`` times on ``queue``, oldest first."""

    @abc.abstractmethod
    async def replay_dead_letters(self, queue: str) -> int:
        """Moves ``queue``'s dead letters back onto it; returns how many moved."""

    def is_outage(self, exc: BaseException) -> bool:
        """Whether a handler failed because something it needs is down, not because of what
        it was handling."""
        return self.outage_test is not None and self.outage_test(exc)

    def retry_delay(self, attempts: int) -> float:
        index = min(max(attempts - 1, 0), len(self.retry_delays) - 1)
        return self.retry_delays[index]
