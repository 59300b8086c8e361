"""Outbound pacing: a token bucket for mt_tps, and slowing down when the SMSC says so.

ESME_RTHROTTLED / ESME_RMSGQFUL are handled like congestion in TCP: pause, halve the window (and
the rate, if one is set), then add one back to the window for each window's worth of accepted
submits. Throttle answers that arrive during a pause were for PDUs sent before it, so they count as
the same event rather than halving again and again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

Clock = Callable[[], float]


class TokenBucket:
    """On average at most ``rate`` takes a second; a rate of 0 means no limit."""

    def __init__(self, rate: float, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._stamp = clock()
        self.rate = rate
        self._tokens = self._burst

    @property
    def _burst(self) -> float:
        # A tenth of a second's worth lets the bucket make up for event-loop lateness without
        # sending a burst a strict SMSC would count against us.
        return max(1.0, self.rate / 10)

    def set_rate(self, rate: float) -> None:
        self._refill()
        self.rate = rate
        self._tokens = min(self._tokens, self._burst)

    def _refill(self) -> None:
        now = self._clock()
        if self.rate > 0:
            self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def take(self) -> None:
        if self.rate <= 0:
            return
        while True:
            self._refill()
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self.rate)


class FlowControl:
    """The current window and rate, and any pause the SMSC asked for."""

    def __init__(
        self,
        window: int,
        tps: float,
        throttle_delay: float,
        throttle_delay_max: float,
        min_tps: float,
        clock: Clock = time.monotonic,
    ) -> None:
        self.max_window = window
        self.window = window
        self.max_tps = tps
        self._bucket = TokenBucket(tps, clock)
        self._delay = throttle_delay
        self._delay_max = throttle_delay_max
        self._min_tps = min(min_tps, tps) if tps > 0 else min_tps
        self._clock = clock
        self._pause_until = 0.0
        self._streak = 0
        self._successes = 0

    @property
    def tps(self) -> float:
        return self._bucket.rate

    @property
    def paused(self) -> bool:
        return self._clock() < self._pause_until

    @property
    def throttled(self) -> bool:
        """True while paused or not yet back to the configured window and rate."""
        return self.paused or self.window < self.max_window or self.tps < self.max_tps

    def on_throttle(self) -> float:
        """Note a throttling answer; returns the seconds until sending may resume."""
        now = self._clock()
        if now < self._pause_until:
            return self._pause_until - now
        pause = min(self._delay * 2.0**self._streak, self._delay_max)
        self._streak += 1
        self._pause_until = now + pause
        self.window = max(1, self.window // 2)
        if self.max_tps > 0:
            self._bucket.set_rate(max(self._min_tps, self.tps / 2))
        self._successes = 0
        return pause

    def on_success(self) -> None:
        self._streak = 0
        if self.window >= self.max_window and self.tps >= self.max_tps:
            return
        self._successes += 1
        if self._successes < self.window:
            return
        self._successes = 0
        self.window = min(self.max_window, self.window + 1)
        if self.max_tps > 0:
            step = max(self._min_tps, self.max_tps / 10)
            self._bucket.set_rate(min(self.max_tps, self.tps + step))

    async def wait_turn(self) -> None:
        """Sleep through any pause, then take a token for one submit_sm."""
        while (wait := self._pause_until - self._clock()) > 0:
            await asyncio.sleep(wait)
        await self._bucket.take()
