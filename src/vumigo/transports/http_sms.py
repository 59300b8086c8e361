"""Generic HTTP SMS aggregator (type ``http_sms``): send by HTTP request, receive by webhook.

Outbound, each message is one request to the pool's ``http_sms.send.url`` (a template:
``{to}``, ``{from}``, ``{content}``, ``{message_id}``, ``{pool}``, ``{tag}``), as a GET with the
``send.fields`` in the query, or a POST with them as a form or JSON body. A 2xx answer is an ack
(the aggregator's id, read from ``send.id_field`` of a JSON answer, becomes
``sent_message_id``); another 4xx is a nack; a 5xx, 408, 429 or a network error is retried
after each of ``send.retry_delays`` seconds, then nacked. Messages waiting on an answer survive a
restart (``Handoff``).

Requests only go to public addresses: private, loopback and link-local destinations (after DNS
resolution too) are refused unless the operator's allow-list, the ``VUMIGO_HTTP_SMS_ALLOW``
environment variable (comma-separated CIDRs and host names), names them.

Inbound messages and status callbacks arrive on webhooks (``http_sms_api``), which store them
through ``receive_message`` and ``receive_status``; they need only the database, so the web
process need not run the transport. A status callback quotes the aggregator's id (or ours),
which is matched through ``transport_correlations``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from vumigo.message import Event, UserMessage
from vumigo.sandbox.netguard import (
    AddressPolicy,
    DestinationNotAllowed,
    GuardedBackend,
    GuardedTransport,
)
from vumigo.store import messages as store
from vumigo.transports.base import Transport
from vumigo.transports.correlation import DbCorrelationStore
from vumigo.transports.handoff import Handoff, event_id_for
from vumigo.transports.options import OptionError, Options

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

log = logging.getLogger(__name__)

PREFIX = "http_sms"
ALLOW_ENV = "VUMIGO_HTTP_SMS_ALLOW"
DEFAULT_FIELDS = {
    "to": "{to}",
    "from": "{from}",
    "content": "{content}",
    "message_id": "{message_id}",
}
RETRYABLE = frozenset({408, 425, 429})
# Aggregators' status words, and what each says about delivery (others mean pending).
STATUS_WORDS = {
    "delivered": "delivered", "delivrd": "delivered", "success": "delivered", "ok": "delivered",
    "failed": "failed", "undeliv": "failed", "undelivered": "failed", "rejected": "failed",
    "rejectd": "failed", "expired": "failed", "error": "failed", "deleted": "failed",
}  # fmt: skip
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def allow_list() -> tuple[str, ...]:
    return tuple(p.strip() for p in os.environ.get(ALLOW_ENV, "").split(",") if p.strip())


@dataclass(frozen=True)
class SendSettings:
    url: str
    method: str = "POST"
    body: str = "form"
    fields: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FIELDS))
    headers: dict[str, str] = field(default_factory=dict)
    username: str = ""
    password: str = ""
    id_field: str = ""
    retry_delays: tuple[float, ...] = (1.0, 5.0, 30.0, 120.0)
    timeout: float = 10.0
    concurrency: int = 10

    @classmethod
    def of(cls, meta: dict[str, Any]) -> SendSettings:
        o = Options(meta, PREFIX)
        url = o.get_str("send.url")
        if not url.startswith(("http://", "https://")):
            raise OptionError(f"{PREFIX}.send.url must be an http(s) URL, not {url!r}")
        delays = o.get_list("send.retry_delays")
        try:
            retry_delays = tuple(float(d) for d in delays) if delays else cls.retry_delays
        except ValueError:
            raise OptionError(f"{PREFIX}.send.retry_delays must be numbers") from None
        return cls(
            url=url,
            method=o.get_choice("send.method", "post", ("get", "post")).upper(),
            body=o.get_choice("send.body", "form", ("form", "json")),
            fields=o.get_mapping("send.fields") or dict(DEFAULT_FIELDS),
            headers=o.get_mapping("send.headers"),
            username=o.get_str("send.username"),
            password=o.get_str("send.password"),
            id_field=o.get_str("send.id_field"),
            retry_delays=retry_delays,
            timeout=o.get_float("send.timeout", cls.timeout),
            concurrency=max(1, o.get_int("send.concurrency", cls.concurrency)),
        )


def render(template: str, values: dict[str, str], escape: bool = False) -> str:
    """Fills ``{name}`` placeholders (unknown ones stay as they are); ``escape`` URL-quotes."""

    def fill(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        if value is None:
            return match.group(0)
        return quote(value, safe="") if escape else value

    return _PLACEHOLDER.sub(fill, template)


def dig(data: Any, path: str) -> str | None:
    """The value at a dotted path of a JSON document (``messages.0.id``), as text."""
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return None if data is None or isinstance(data, dict | list) else str(data)


def delivery_status(word: str, overrides: dict[str, str]) -> str:
    key = word.strip().lower()
    mapped = {k.lower(): v for k, v in overrides.items()}.get(key) or STATUS_WORDS.get(key)
    return mapped if mapped in ("delivered", "failed", "pending") else "pending"


class Permanent(Exception):
    """The aggregator refused the message; sending it again would not help."""


class HttpSmsTransport(Transport):
    transport_type = "http_sms"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.handoff = Handoff(self, before_write=self._flush_ids)
        self.stores: dict[str, DbCorrelationStore] = {}
        self.client = httpx.AsyncClient(
            transport=GuardedTransport(GuardedBackend(AddressPolicy.from_allow_list(allow_list()))),
            trust_env=False,
            follow_redirects=False,
            headers={"User-Agent": "vumigo-http-sms"},
        )
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._deliveries: set[asyncio.Task[None]] = set()
        self.retrying = 0
        self.last_error: str | None = None
        self.throttled_until = 0.0

    def ids(self, pool: str) -> DbCorrelationStore:
        if pool not in self.stores:
            self.stores[pool] = DbCorrelationStore(self.engine.db, self.name, pool)
        return self.stores[pool]

    async def start(self) -> None:
        await self.handoff.requeue_unanswered()

    async def stop(self) -> None:
        # Unfinished deliveries stay "sending" and go out again after the next start.
        for task in list(self._deliveries):
            task.cancel()
        await asyncio.gather(*self._deliveries, return_exceptions=True)
        await self.handoff.close()
        for ids in self.stores.values():
            await ids.close()
        await self.client.aclose()

    async def _flush_ids(self) -> None:
        for ids in list(self.stores.values()):
            await ids.flush()

    # -- outbound --------------------------------------------------------------------

    async def send(self, msg: UserMessage) -> None:
        await self.send_many([msg])

    async def send_many(self, msgs: list[UserMessage]) -> None:
        for msg in await self.handoff.take(msgs):
            pool, tag = (msg.helper_metadata.get("tag", {}).get("tag") or ["", ""])[:2]
            try:
                settings = SendSettings.of(self.pools.get(str(pool), {}))
            except OptionError as exc:
                self.handoff.nack(msg.message_id, f"pool {pool} cannot send: {exc}")
                continue
            slots = self._slots.setdefault(str(pool), asyncio.Semaphore(settings.concurrency))
            await slots.acquire()  # a slow aggregator holds up the queue, not memory
            task = asyncio.create_task(self._deliver(msg, str(pool), str(tag), settings))
            self._deliveries.add(task)
            task.add_done_callback(self._finished(slots))

    def _finished(self, slots: asyncio.Semaphore) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            self._deliveries.discard(task)
            slots.release()

        return done

    async def _deliver(self, msg: UserMessage, pool: str, tag: str, settings: SendSettings) -> None:
        values = {
            "to": msg.to_addr or "",
            "from": msg.from_addr or tag,
            "content": msg.content or "",
            "message_id": msg.message_id,
            "pool": pool,
            "tag": tag,
        }
        error = ""
        for attempt, delay in enumerate((0.0, *settings.retry_delays)):
            if delay:
                self.retrying += 1
                try:
                    await asyncio.sleep(delay)
                finally:
                    self.retrying -= 1
            try:
                sent_id = await self._request(settings, values)
            except Permanent as exc:
                self.handoff.nack(msg.message_id, str(exc))
                return
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                self.handoff.nack(msg.message_id, f"cannot send to the configured URL: {exc}")
                return
            except (httpx.HTTPError, OSError) as exc:
                error = f"{exc.__class__.__name__}: {exc}"
                self.last_error = error
                log.info(
                    "%s: attempt %d for %s failed: %s",
                    self.name,
                    attempt + 1,
                    msg.message_id,
                    error,
                )
                continue
            await self.ids(pool).put(sent_id, msg.message_id)
            self.handoff.ack(msg.message_id, sent_id)
            self.last_error = None
            return
        self.handoff.nack(
            msg.message_id, f"gave up after {len(settings.retry_delays) + 1} attempts: {error}"
        )

    async def _request(self, settings: SendSettings, values: dict[str, str]) -> str:
        """One attempt; returns the aggregator's id for the message."""
        params = {name: render(template, values) for name, template in settings.fields.items()}
        request: dict[str, Any] = {
            "headers": {k: render(v, values) for k, v in settings.headers.items()},
            "timeout": settings.timeout,
        }
        if settings.username:
            request["auth"] = (settings.username, settings.password)
        if settings.method == "GET":
            request["params"] = params
        elif settings.body == "json":
            request["json"] = params
        else:
            request["data"] = params
        url = render(settings.url, values, escape=True)
        try:
            response = await self.client.request(settings.method, url, **request)
        except DestinationNotAllowed as exc:
            raise Permanent(str(exc)) from None
        status = response.status_code
        if status == 429:
            self.throttled_until = time.monotonic() + 60
        if 200 <= status < 300:
            found = None
            if settings.id_field:
                with contextlib.suppress(ValueError):
                    found = dig(response.json(), settings.id_field)
            return found or values["message_id"]
        if status >= 500 or status in RETRYABLE:
            raise httpx.HTTPStatusError(
                f"HTTP {status}", request=response.request, response=response
            )
        raise Permanent(f"HTTP {status}: {response.text[:200]}")

    def health(self) -> dict[str, Any]:
        return {
            **super().health(),
            "connected": self.last_error is None,
            "throttled": time.monotonic() < self.throttled_until,
            "queue_depth": len(self._deliveries),
            "retrying": self.retrying,
            "last_error": self.last_error,
            "allow": list(allow_list()),
        }


# -- inbound (the webhooks call these; they need no running transport, only the database) --


async def receive_message(
    engine: Engine,
    transport_name: str,
    pool: str,
    tag: str,
    from_addr: str,
    content: str,
    provider_id: str,
) -> tuple[str, bool]:
    """Stores an inbound message; returns its id and whether it was new. The aggregator's id
    makes the message id, so a callback it repeats is stored once."""
    fields: dict[str, Any] = {}
    if provider_id:
        fields["message_id"] = event_id_for(transport_name, pool, "mo", provider_id)
    msg = UserMessage(
        to_addr=tag,
        from_addr=from_addr,
        content=content,
        transport_name=transport_name,
        transport_type="sms",
        helper_metadata={"tag": {"tag": [pool, tag]}},
        transport_metadata={"http_sms": {"id": provider_id}},
        **fields,
    )
    return msg.message_id, await engine.accept_inbound(msg)


async def receive_status(
    engine: Engine,
    ids: DbCorrelationStore,
    carrier_id: str,
    word: str,
    overrides: dict[str, str],
) -> bool:
    """Turns a status callback into a delivery report; False if the id is unknown."""
    message_id = await ids.get(carrier_id)
    if message_id is None:
        # Some aggregators quote the message_id we sent them instead of their own.
        async with engine.db.sessions() as session:
            record = await store.get_message(session, carrier_id)
        if record is None or record.direction != store.OUTBOUND:
            return False
        message_id = carrier_id
    status = delivery_status(word, overrides)
    event_id = event_id_for(ids.transport, message_id, status)
    event = Event.delivery_report(message_id, delivery_status=status, event_id=event_id)
    await engine.accept_event(event)
    return True
