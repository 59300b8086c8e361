"""Pacing and queueing (flow.py, outbox.py)."""

from __future__ import annotations

import asyncio
import time

from vumigo.transports.smpp.flow import FlowControl, TokenBucket
from vumigo.transports.smpp.outbox import Segment, SendQueue, Submission
from vumigo.transports.smpp.pdu import Pdu


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_throttle_pauses_and_halves_once_per_pause() -> None:
    clock = FakeClock()
    flow = FlowControl(8, 100, throttle_delay=0.1, throttle_delay_max=1.0, min_tps=5, clock=clock)
    assert not flow.throttled
    assert flow.on_throttle() == 0.1
    assert (flow.window, flow.tps, flow.paused, flow.throttled) == (4, 50, True, True)
    # More throttled answers for PDUs sent before the pause: same event, no further halving.
    clock.now += 0.05
    assert round(flow.on_throttle(), 3) == 0.05
    assert (flow.window, flow.tps) == (4, 50)
    # Still throttled after the pause: the pause doubles, window and rate halve again.
    clock.now += 0.06
    assert flow.on_throttle() == 0.2
    assert (flow.window, flow.tps) == (2, 25)
    for _ in range(3):
        clock.now += 5
        flow.on_throttle()
    assert (flow.window, flow.tps) == (1, 5)  # floors: window 1, min_tps
    clock.now += 5
    assert flow.on_throttle() == 1.0  # capped at throttle_delay_max


def test_recovers_one_step_per_window_of_successes() -> None:
    clock = FakeClock()
    flow = FlowControl(4, 0, throttle_delay=0.1, throttle_delay_max=1.0, min_tps=1, clock=clock)
    flow.on_throttle()
    clock.now += 1
    assert (flow.window, flow.paused) == (2, False)
    assert flow.throttled  # not yet back to the configured window
    flow.on_success()
    assert flow.window == 2
    flow.on_success()
    assert flow.window == 3
    for _ in range(3):
        flow.on_success()
    assert flow.window == 4 and not flow.throttled
    # A success resets the back-off: the next throttle pauses for the first delay again.
    assert flow.on_throttle() == 0.1


async def test_token_bucket_paces_takes() -> None:
    bucket = TokenBucket(200)
    started = time.monotonic()
    for _ in range(60):
        await bucket.take()
    elapsed = time.monotonic() - started
    # A burst of 20 (a tenth of a second's worth), then 40 more at 200/s: at least 0.2 s.
    assert 0.19 <= elapsed < 1.5


async def test_unlimited_bucket_never_waits() -> None:
    bucket = TokenBucket(0)
    for _ in range(10_000):
        await bucket.take()


def _segments(message_id: str, count: int, start: int) -> list[Segment]:
    submission = Submission(message_id, count)
    return [Segment(start + i, submission, i, Pdu("submit_sm")) for i in range(count)]


async def test_retries_go_first_in_their_original_order() -> None:
    queue = SendQueue(limit=100)
    a, b, c = _segments("a", 1, 0), _segments("b", 1, 1), _segments("c", 2, 2)
    await queue.put(a + b + c)
    first, second = await queue.get(), await queue.get()
    queue.retry([second, first])  # answered out of order
    got = [await queue.get() for _ in range(4)]
    assert [s.order for s in got] == [0, 1, 2, 3]
    assert queue.message_ids() == []


async def test_discard_drops_a_failed_message_and_put_waits_for_space() -> None:
    queue = SendQueue(limit=2)
    first = _segments("m1", 2, 0)
    await queue.put(first)
    waiting = asyncio.create_task(queue.put(_segments("m2", 1, 2)))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    queue.discard(first[0].submission)
    await asyncio.wait_for(waiting, 1)
    assert queue.message_ids() == ["m2"]
    assert Submission("x", 2).complete is False
