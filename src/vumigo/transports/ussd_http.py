"""USSD over HTTP (type ``ussd_http``), in the style most aggregators copied from Africa's Talking.

Each time the subscriber answers, the aggregator POSTs the session id, the service code they
dialled, their number and the text, and shows them the body of our answer: ``CON <menu>`` to
keep the session open for another answer, ``END <text>`` to close it. The pool's tags are its
service codes (``*120*123#``).

A request becomes an inbound message with ``session_event`` ``new`` (the first request of a
session id) or ``resume``; the HTTP answer is the app's reply to it, ``END`` when the reply
closes the session. Sessions live in ``ussd_sessions``. One that has been quiet for
``session_timeout`` seconds is closed, and the app gets a ``close`` message, as it does when
the aggregator reports that the session ended, or the app took longer than ``reply_timeout``
to answer (the subscriber then sees ``timeout_text``).

The HTTP request waits for the reply. In the embedded mode it waits in memory, on a future the
transport resolves when the reply is sent. In the distributed mode the request is held by a web
process and the reply is sent by whichever transports process runs the transport, so they meet
in the session's row: the request writes the inbound message id it waits on (``waiting_for``),
the transport writes the reply there if that id is still awaited (else the reply is nacked, as
in memory), and the request polls the row every ``REPLY_POLL`` seconds. A request that gives
up clears ``waiting_for`` in one conditional write, so a reply is either taken or nacked,
never both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update

from vumigo.db.base import utcnow
from vumigo.db.models import UssdSession
from vumigo.db.upsert import insert_for
from vumigo.message import Event, UserMessage, generate_id
from vumigo.transports.addresses import find_tag
from vumigo.transports.base import Transport
from vumigo.transports.options import Options

log = logging.getLogger(__name__)

PREFIX = "ussd_http"
SWEEP_INTERVAL = 1.0
REPLY_POLL = 0.02  # seconds between looks for a reply written by another process
KEEP_CLOSED = timedelta(days=1)


@dataclass(frozen=True)
class UssdHttpSettings:
    session_field: str = "sessionId"
    service_code_field: str = "serviceCode"
    phone_field: str = "phoneNumber"
    text_field: str = "text"
    # "cumulative": text is every answer so far joined by "*" (Africa's Talking);
    # "latest": text is only the latest answer.
    text_mode: str = "cumulative"
    session_timeout: float = 180.0
    reply_timeout: float = 10.0
    timeout_text: str = "Sorry, the service is not responding. Please try again later."

    @classmethod
    def of(cls, meta: dict[str, Any]) -> UssdHttpSettings:
        o = Options(meta, PREFIX)
        d = cls()
        return cls(
            session_field=o.get_str("session_field", d.session_field),
            service_code_field=o.get_str("service_code_field", d.service_code_field),
            phone_field=o.get_str("phone_field", d.phone_field),
            text_field=o.get_str("text_field", d.text_field),
            text_mode=o.get_choice("text_mode", d.text_mode, ("cumulative", "latest")),
            session_timeout=o.get_float("session_timeout", d.session_timeout),
            reply_timeout=o.get_float("reply_timeout", d.reply_timeout),
            timeout_text=o.get_str("timeout_text", d.timeout_text),
        )


@dataclass(frozen=True)
class Answer:
    text: str
    close: bool

    @property
    def body(self) -> str:
        return f"{'END' if self.close else 'CON'} {self.text}"


def latest_input(previous: str, text: str, mode: str) -> str:
    """The subscriber's newest answer, given the text of the previous request and this one."""
    if mode == "latest":
        return text
    if not previous:
        return text
    if text.startswith(previous + "*"):
        return text[len(previous) + 1 :]
    return text.rsplit("*", 1)[-1]


class UssdHttpTransport(Transport):
    transport_type = "ussd_http"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting: dict[str, asyncio.Future[UserMessage]] = {}  # inbound id → its reply
        self.timeouts = 0
        self._sweeper: asyncio.Task[None] | None = None

    def settings(self, pool: str) -> UssdHttpSettings:
        return UssdHttpSettings.of(self.pools.get(pool, {}))

    async def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_loop(), name=f"{self.name} sweeper")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        for future in self.waiting.values():
            future.cancel()
        self.waiting.clear()

    # -- a request from the aggregator -----------------------------------------------

    async def handle(
        self, pool: str, session_id: str, service_code: str, msisdn: str, text: str
    ) -> Answer:
        settings = self.settings(pool)
        tag = await self._tag_for(pool, service_code)
        shared = self.engine.distributed
        message_id = generate_id()
        event, content = await self._advance(
            pool, tag, session_id, msisdn, text, settings, message_id if shared else None
        )
        msg = self.inbound(
            pool,
            tag,
            msisdn,
            content or None,
            transport_type="ussd",
            session_event=event,
            transport_metadata={"ussd_http": {"session_id": session_id}},
            message_id=message_id,
        )
        future: asyncio.Future[UserMessage] = asyncio.get_running_loop().create_future()
        self.waiting[msg.message_id] = future  # before receive: the reply may be quick
        try:
            await self.receive(msg)
            if shared:
                answer = await self._wait_in_db(session_id, message_id, settings.reply_timeout)
                if answer is None:
                    raise TimeoutError
                if answer.close:
                    await self._set_closed(session_id)
                return answer
            reply = await asyncio.wait_for(future, settings.reply_timeout)
        except TimeoutError:
            self.timeouts += 1
            log.warning(
                "%s: no reply within %ss in session %s",
                self.name,
                settings.reply_timeout,
                session_id,
            )
            await self.end_session(session_id)
            return Answer(settings.timeout_text, close=True)
        finally:
            self.waiting.pop(msg.message_id, None)
        close = reply.session_event == "close"
        if close:
            await self._set_closed(session_id)
        return Answer(reply.content or "", close)

    async def _wait_in_db(self, session_id: str, message_id: str, timeout: float) -> Answer | None:
        """The reply to ``message_id`` once a transports process has written it; None if none
        came within ``timeout`` (and then none will be taken: the wait is withdrawn)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            answer = await self._stored_reply(session_id, message_id)
            if answer is not None:
                return answer
            if loop.time() >= deadline:
                break
            await asyncio.sleep(min(REPLY_POLL, max(0.0, deadline - loop.time())))
        async with self.engine.db.transaction() as session:
            withdrawn = await session.execute(
                update(UssdSession)
                .where(
                    UssdSession.transport == self.name,
                    UssdSession.session_id == session_id,
                    UssdSession.waiting_for == message_id,
                )
                .values(waiting_for=None)
            )
        if int(getattr(withdrawn, "rowcount", 0) or 0):
            return None
        return await self._stored_reply(session_id, message_id)  # it came at the last moment

    async def _stored_reply(self, session_id: str, message_id: str) -> Answer | None:
        async with self.engine.db.sessions() as session:
            row = (
                await session.execute(
                    select(UssdSession.reply, UssdSession.reply_close).where(
                        UssdSession.transport == self.name,
                        UssdSession.session_id == session_id,
                        UssdSession.reply_for == message_id,
                    )
                )
            ).first()
        return None if row is None else Answer(row[0] or "", bool(row[1]))

    async def end_session(self, session_id: str) -> bool:
        """Closes an open session (the aggregator says it ended, or it timed out) and tells the
        app; False if it was not open."""
        async with self.engine.db.transaction() as session:
            result = await session.execute(
                update(UssdSession)
                .where(
                    UssdSession.transport == self.name,
                    UssdSession.session_id == session_id,
                    UssdSession.state == "open",
                )
                .values(state="closed", updated_at=utcnow())
                .returning(UssdSession.pool, UssdSession.tag, UssdSession.msisdn)
            )
            row = result.first()
        if row is None:
            return False
        await self._send_close(session_id, row[0], row[1], row[2])
        return True

    async def _send_close(self, session_id: str, pool: str, tag: str, msisdn: str) -> None:
        msg = self.inbound(
            pool,
            tag,
            msisdn,
            None,
            transport_type="ussd",
            session_event="close",
            transport_metadata={"ussd_http": {"session_id": session_id}},
        )
        await self.receive(msg)

    async def _tag_for(self, pool: str, service_code: str) -> str:
        # An unknown code is passed on as it is: the dispatcher treats it as unroutable.
        return await find_tag(self.engine.db, pool, service_code) or service_code.strip()

    async def _advance(
        self,
        pool: str,
        tag: str,
        session_id: str,
        msisdn: str,
        text: str,
        settings: UssdHttpSettings,
        waiting_for: str | None = None,
    ) -> tuple[str, str]:
        """Records this request in its session (and, if given, the inbound message id whose
        reply it waits for); returns the session event and the content."""
        now = utcnow()
        async with self.engine.db.transaction() as session:
            row = await session.get(UssdSession, (self.name, session_id))
            if row is not None and row.state == "open":
                content = latest_input(row.text, text, settings.text_mode)
                row.text, row.turns, row.updated_at = text, row.turns + 1, now
                row.waiting_for = waiting_for
                return "resume", content
            values = {
                "waiting_for": waiting_for,
                "reply_for": None,
                "reply": None,
                "reply_close": False,
                "transport": self.name,
                "session_id": session_id,
                "pool": pool,
                "tag": tag,
                "msisdn": msisdn,
                "state": "open",
                "text": text,
                "turns": 1,
                "created_at": now,
                "updated_at": now,
            }
            statement = insert_for(session, UssdSession).values(**values)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["transport", "session_id"], set_=values
                )
            )
            return "new", text

    async def _set_closed(self, session_id: str) -> None:
        async with self.engine.db.transaction() as session:
            await session.execute(
                update(UssdSession)
                .where(UssdSession.transport == self.name, UssdSession.session_id == session_id)
                .values(state="closed", updated_at=utcnow())
            )

    # -- replies from the app --------------------------------------------------------

    async def send(self, msg: UserMessage) -> None:
        await self.send_many([msg])

    async def send_many(self, msgs: list[UserMessage]) -> None:
        events = []
        for msg in await self.claim_many(msgs):
            future = self.waiting.get(msg.in_reply_to or "")
            if future is not None and not future.done():
                future.set_result(msg)
                events.append(Event.ack(msg.message_id, msg.message_id))
            elif self.engine.distributed and msg.in_reply_to and await self._hand_over(msg):
                events.append(Event.ack(msg.message_id, msg.message_id))
            else:
                # USSD over HTTP can only answer a request the subscriber is waiting on.
                reason = "no USSD request is waiting for this reply (it timed out or was answered)"
                if not msg.in_reply_to:
                    reason = "USSD over HTTP cannot start a session; only replies can be sent"
                events.append(Event.nack(msg.message_id, nack_reason=reason))
        await self.engine.accept_events(events)

    async def _hand_over(self, msg: UserMessage) -> bool:
        """Writes a reply for the web process whose request awaits it; False if none does."""
        async with self.engine.db.transaction() as session:
            result = await session.execute(
                update(UssdSession)
                .where(
                    UssdSession.transport == self.name,
                    UssdSession.waiting_for == msg.in_reply_to,
                )
                .values(
                    waiting_for=None,
                    reply_for=msg.in_reply_to,
                    reply=msg.content or "",
                    reply_close=msg.session_event == "close",
                )
            )
        return bool(getattr(result, "rowcount", 0))

    # -- housekeeping ----------------------------------------------------------------

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            try:
                await self.sweep()
            except Exception:
                log.exception("%s: closing idle USSD sessions", self.name)

    async def sweep(self) -> int:
        """Closes sessions idle past their pool's session_timeout; returns how many."""
        closed: list[tuple[str, str, str, str]] = []
        now = utcnow()
        for pool in list(self.pools):
            cutoff = now - timedelta(seconds=self.settings(pool).session_timeout)
            async with self.engine.db.transaction() as session:
                rows = await session.execute(
                    update(UssdSession)
                    .where(
                        UssdSession.transport == self.name,
                        UssdSession.pool == pool,
                        UssdSession.state == "open",
                        UssdSession.updated_at < cutoff,
                    )
                    .values(state="closed", updated_at=now)
                    .returning(UssdSession.session_id, UssdSession.tag, UssdSession.msisdn)
                )
                closed.extend((sid, pool, tag, msisdn) for sid, tag, msisdn in rows)
        for session_id, pool, tag, msisdn in closed:
            await self._send_close(session_id, pool, tag, msisdn)
        async with self.engine.db.transaction() as session:
            await session.execute(
                delete(UssdSession).where(
                    UssdSession.transport == self.name,
                    UssdSession.state == "closed",
                    UssdSession.updated_at < now - KEEP_CLOSED,
                )
            )
        return len(closed)

    def health(self) -> dict[str, Any]:
        return {
            **super().health(),
            "waiting": len(self.waiting),
            "queue_depth": len(self.waiting),
            "throttled": False,
            "reply_timeouts": self.timeouts,
        }
