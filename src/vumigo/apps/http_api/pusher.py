"""The push worker: POSTs due deliveries from the outbox to the accounts' URLs.

Each push is a POST of the Vumi JSON with ``Content-Type: application/json; charset=utf-8``,
Basic auth taken from ``user:password@`` in the URL, and a 5 s limit. A 2xx is done; 5xx,
time-outs and connection errors are retried on the configured schedule; anything else (a 4xx,
a redirect, a URL that can never work, a destination the operator does not allow) is given up
at once, as retrying would not change the answer.

Push URLs are chosen by accounts, so every connection goes through the sandbox's network
guard: private, loopback and link-local addresses are refused unless the operator's allow-list
names them, and the check is made on the address actually connected to.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx

from vumigo.apps.http_api import outbox
from vumigo.apps.http_api.config import check_push_url
from vumigo.apps.http_api.outbox import Claim, Outcome
from vumigo.apps.http_api.settings import HttpApiSettings
from vumigo.db.engine import Database
from vumigo.sandbox.netguard import (
    AddressPolicy,
    Connector,
    DestinationNotAllowed,
    GuardedBackend,
    GuardedTransport,
    Resolver,
    direct_connector,
    system_resolver,
)

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/json; charset=utf-8"
PRUNE_EVERY = 3600.0  # seconds between clean-ups of old finished deliveries


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """The URL without ``user:password@``, and those credentials (percent-decoded)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    host = parts.netloc.rpartition("@")[2]
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, (unquote(parts.username or ""), unquote(parts.password or ""))


class Pusher:
    def __init__(
        self,
        db: Database,
        settings: HttpApiSettings,
        resolver: Resolver = system_resolver,
        connector: Connector = direct_connector,
    ) -> None:
        self.db = db
        self.settings = settings
        backend = GuardedBackend(
            AddressPolicy.from_allow_list(settings.push_allow), resolver, connector
        )
        self.client = httpx.AsyncClient(
            transport=GuardedTransport(backend),
            timeout=settings.push_timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"User-Agent": "vumigo-http-api"},
        )
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[asyncio.Task[None], Claim] = {}
        self._retries: list[float] = []  # heap: monotonic times of the retries we scheduled

    def wake(self) -> None:
        """New deliveries may be due: look now rather than at the next poll."""
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="http-api-pusher")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        unfinished = list(self._inflight.values())
        for attempt in list(self._inflight):
            attempt.cancel()
        await asyncio.gather(*self._inflight, return_exceptions=True)
        self._inflight.clear()
        try:
            await outbox.release(self.db, unfinished)
        except Exception:  # the leases run out by themselves; this only saves the wait
            log.exception("could not hand back %d unfinished pushes", len(unfinished))
        await self.client.aclose()

    # -- the loop ---------------------------------------------------------------------

    async def _run(self) -> None:
        last_prune = 0.0
        while True:
            try:
                self._wake.clear()
                free = self.settings.push_concurrency - len(self._inflight)
                claims = await outbox.claim_due(self.db, free, self.settings.lease) if free else []
                for claim in claims:
                    task = asyncio.create_task(self._attempt(claim))
                    self._inflight[task] = claim
                    task.add_done_callback(self._finished)
                if claims and len(claims) == free:
                    continue  # there may be more due
                if time.monotonic() - last_prune > PRUNE_EVERY:
                    last_prune = time.monotonic()
                    await outbox.prune(self.db, self.settings.keep_days)
                await self._idle()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("push worker error; carrying on")
                await asyncio.sleep(self.settings.poll_interval)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._inflight.pop(task, None)
        self._wake.set()  # a slot is free

    async def _idle(self) -> None:
        # A retry this worker scheduled sooner than the next poll is looked for on time; ones
        # scheduled by other processes are found by the poll.
        now = time.monotonic()
        while self._retries and self._retries[0] <= now:
            heapq.heappop(self._retries)  # the claim just made has taken it
        timeout = self.settings.poll_interval
        if self._retries:
            timeout = min(timeout, self._retries[0] - now)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    async def _attempt(self, claim: Claim) -> None:
        outcome = await self.push(claim.url, claim.body)
        if outcome.result != "delivered":
            log.info("push %d attempt %d: %s", claim.id, claim.attempts, outcome.error)
        try:
            await outbox.record(self.db, claim, outcome, self.settings.retry_intervals)
        except Exception:  # the lease runs out and the push is tried again
            log.exception("could not record push %d", claim.id)
            return
        if outcome.result == "retry" and claim.attempts <= len(self.settings.retry_intervals):
            due = time.monotonic() + self.settings.retry_intervals[claim.attempts - 1]
            heapq.heappush(self._retries, due)

    # -- one push ---------------------------------------------------------------------

    async def push(self, url: str, body: str) -> Outcome:
        problem = check_push_url(url)
        if problem is not None:
            return Outcome("give_up", error=problem)
        target, auth = split_credentials(url)
        try:
            async with asyncio.timeout(self.settings.push_timeout):
                # Streamed and not read: a receiver's reply body is of no interest, and a
                # huge one must not cost memory.
                async with self.client.stream(
                    "POST",
                    target,
                    content=body.encode("utf-8"),
                    headers={"Content-Type": CONTENT_TYPE},
                    auth=auth,
                ) as response:
                    status = response.status_code
        except DestinationNotAllowed as exc:
            return Outcome("give_up", error=str(exc))
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            return Outcome("give_up", error=f"invalid URL: {exc}")
        except (TimeoutError, httpx.TimeoutException):
            return Outcome("retry", error=f"timed out after {self.settings.push_timeout:g} s")
        except (httpx.HTTPError, OSError) as exc:
            return Outcome("retry", error=f"connection error: {exc or type(exc).__name__}")
        if 200 <= status < 300:
            return Outcome("delivered", status_code=status)
        if status >= 500:
            return Outcome("retry", status_code=status, error=f"HTTP {status}")
        return Outcome("give_up", status_code=status, error=f"HTTP {status}")
