"""Messages waiting for the SMSC: one Submission per message, one Segment per submit_sm."""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from .pdu import Pdu


@dataclass(eq=False, slots=True)
class Submission:
    """One of our messages, which may need several submit_sm."""

    message_id: str
    parts: int
    smsc_ids: list[str | None] = field(init=False)  # by part, once accepted
    failed: bool = False

    def __post_init__(self) -> None:
        self.smsc_ids = [None] * self.parts

    @property
    def complete(self) -> bool:
        return all(smsc_id is not None for smsc_id in self.smsc_ids)


@dataclass(eq=False, slots=True)
class Segment:
    """One submit_sm. ``order`` is its place in the queue, kept when it has to be retried."""

    order: int
    submission: Submission
    part: int  # index into submission.smsc_ids
    pdu: Pdu
    attempts: int = 0


class SendQueue:
    """Segments waiting to be sent.

    Segments sent back (throttled, or cut off with the connection) go out before fresh ones and
    in their original order, so a retry does not overtake or reshuffle the messages behind it.
    ``put`` waits while ``limit`` segments are queued, to push back on whoever is submitting.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._fresh: deque[Segment] = deque()
        self._retries: list[tuple[int, Segment]] = []
        self._ready = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()

    def __len__(self) -> int:
        return len(self._fresh) + len(self._retries)

    async def put(self, segments: list[Segment]) -> None:
        while len(self) >= self._limit:
            self._space.clear()
            await self._space.wait()
        self._fresh.extend(segments)
        self._ready.set()

    def retry(self, segments: Iterable[Segment]) -> None:
        for segment in segments:
            heapq.heappush(self._retries, (segment.order, segment))
        if self:
            self._ready.set()

    async def get(self) -> Segment:
        while not self:
            self._ready.clear()
            await self._ready.wait()
        segment = heapq.heappop(self._retries)[1] if self._retries else self._fresh.popleft()
        if len(self) < self._limit:
            self._space.set()
        return segment

    def discard(self, submission: Submission) -> None:
        """Drop the unsent segments of a message that has already failed."""
        self._fresh = deque(s for s in self._fresh if s.submission is not submission)
        self._retries = [item for item in self._retries if item[1].submission is not submission]
        heapq.heapify(self._retries)
        if len(self) < self._limit:
            self._space.set()

    def message_ids(self) -> list[str]:
        segments = [item[1] for item in sorted(self._retries, key=lambda item: item[0])]
        segments.extend(self._fresh)
        return list(dict.fromkeys(s.submission.message_id for s in segments))
