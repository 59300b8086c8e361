"""The ESME: binds to one SMSC, sends submit_sm through a window, takes deliver_sm in.

Delivery guarantees
-------------------
Outbound is at-least-once. A segment stays in memory until its submit_sm_resp arrives. If the
connection drops first, it is sent again after reconnecting; if the SMSC had in fact accepted it
and only the resp was lost, the handset receives it twice (SMPP gives no way to ask). A segment
whose resp did arrive is never sent again. ESME_RTHROTTLED and ESME_RMSGQFUL slow the client down
and the same segment is retried, never dropped; any other error status is a nack.

Inbound is persist-then-acknowledge: deliver_sm_resp goes out after ``on_inbound``/``on_event``
returned, so the SMSC re-delivers anything we did not finish with (duplicates are possible).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
from collections import Counter
from dataclasses import dataclass, replace
from typing import Final

from .codec import choose_data_coding
from .config import BindRole, SmppConfig
from .events import EventHandler, EventKind, InboundHandler
from .flow import FlowControl
from .inbound import InboundProcessor
from .multipart import split
from .outbox import Segment, SendQueue, Submission
from .pdu import ESME_RMSGQFUL, ESME_ROK, ESME_RTHROTTLED, Pdu, Value, status_name
from .receipts import store_key
from .session import SessionClosed, SmppSession
from .store import CorrelationStore
from .ussd import SessionEvent, outbound_tlvs

logger = logging.getLogger(__name__)

_THROTTLING: Final = frozenset({ESME_RTHROTTLED, ESME_RMSGQFUL})


@dataclass(slots=True)
class _InFlight:
    segment: Segment
    sent_at: float


class SmppClient:
    def __init__(
        self,
        config: SmppConfig,
        store: CorrelationStore,
        on_inbound: InboundHandler,
        on_event: EventHandler,
    ) -> None:
        self.config = config
        self._store = store
        self._on_event = on_event
        self.counters: Counter[str] = Counter()
        self._inbound = InboundProcessor(
            config, store, on_inbound, on_event, self.counters, lambda: bool(self._in_flight)
        )
        self._flow = FlowControl(
            config.window,
            config.mt_tps,
            config.throttle_delay,
            config.throttle_delay_max,
            config.throttle_min_tps,
        )
        self._queue = SendQueue(config.max_queue)
        self._in_flight: dict[int, _InFlight] = {}
        self._slot_free = asyncio.Event()
        self._order = itertools.count()
        self._reference = random.randrange(256)
        self._links: dict[BindRole, str] = dict.fromkeys(config.bind_roles, "down")
        self._sessions: dict[BindRole, SmppSession] = {}
        self._sender_tasks: list[asyncio.Task[None]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._deliveries: asyncio.Queue[tuple[SmppSession, Pdu]] = asyncio.Queue()
        self._bound = asyncio.Event()
        self._stopping = asyncio.Event()
        self.last_error: str | None = None

    # ------------------------------------------------------------------ public face

    async def start(self) -> None:
        """Start connecting and binding in the background; see ``wait_bound``."""
        if self._tasks:
            raise RuntimeError("SmppClient already started")
        self._tasks = [
            asyncio.create_task(self._run_link(role), name=f"smpp {role}")
            for role in self.config.bind_roles
        ]
        self._tasks.extend(
            asyncio.create_task(self._inbound_worker(), name=f"smpp inbound {n}")
            for n in range(self.config.inbound_concurrency)
        )

    async def wait_bound(self, timeout: float | None = None) -> None:
        await asyncio.wait_for(self._bound.wait(), timeout)

    async def submit(
        self,
        message_id: str,
        source_addr: str,
        destination_addr: str,
        content: str,
        *,
        session_event: SessionEvent | None = None,
        data_coding: int | None = None,
        registered_delivery: int | None = None,
        ussd_session_info: int | None = None,
    ) -> None:
        """Queue a message; returns once it is queued (waiting if the queue is full).

        Raises ValueError (codec.EncodingError, multipart.MessageTooLong) for content that
        cannot be sent, before anything is queued.
        """
        if self._stopping.is_set():
            raise RuntimeError("SmppClient is stopped")
        config = self.config
        coding = choose_data_coding(content, config.data_coding)
        coding = coding if data_coding is None else data_coding
        self._reference = (self._reference + 1) & 0xFF
        parts = split(content, coding, config.long_messages, self._reference)
        params: dict[str, Value] = {
            "service_type": config.service_type,
            "source_addr_ton": config.source_ton,
            "source_addr_npi": config.source_npi,
            "source_addr": source_addr,
            "dest_addr_ton": config.dest_ton,
            "dest_addr_npi": config.dest_npi,
            "destination_addr": destination_addr,
            "registered_delivery": (
                config.registered_delivery if registered_delivery is None else registered_delivery
            ),
            "data_coding": coding,
        }
        tlvs: dict[str, Value] = {}
        if config.ussd and session_event is not None:
            params["service_type"] = config.ussd_service_type
            if ussd_session_info is None:
                ussd_session_info = self._inbound.ussd_session_info(destination_addr)
            tlvs.update(outbound_tlvs(session_event, ussd_session_info))
            if session_event == "close":
                self._inbound.end_ussd_session(destination_addr)
        submission = Submission(message_id, len(parts))
        segments = []
        for index, part in enumerate(parts):
            part_tlvs = dict(tlvs)
            if part.message_payload is not None:
                part_tlvs["message_payload"] = part.message_payload
            pdu_params = {
                **params,
                "esm_class": part.esm_class,
                "short_message": part.short_message,
            }
            pdu = Pdu("submit_sm", params=pdu_params, tlvs=part_tlvs)
            segments.append(Segment(next(self._order), submission, index, pdu))
        await self._queue.put(segments)
        self.counters["messages_queued"] += 1

    async def stop(self, timeout: float = 5.0) -> list[str]:
        """Stop sending, let in-flight submits and inbound work finish (up to ``timeout``),
        unbind and close. Returns the ids of messages that got neither ack nor nack: the
        caller keeps them for the next start."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._stopping.set()
        await _cancel(self._sender_tasks)
        while self._in_flight and self._sessions and loop.time() < deadline:
            self._slot_free.clear()
            try:
                await asyncio.wait_for(self._slot_free.wait(), deadline - loop.time())
            except TimeoutError:
                break
        try:
            # (a zero timeout would time out even on an empty queue: join() never got to run)
            await asyncio.wait_for(self._deliveries.join(), max(0.05, deadline - loop.time()))
        except TimeoutError:
            logger.warning("stopping with %d inbound PDUs unanswered", self._deliveries.qsize())
        for session in list(self._sessions.values()):
            await session.unbind(max(0.1, min(2.0, deadline - loop.time())))
        await _cancel(self._tasks)
        self._links = dict.fromkeys(self._links, "stopped")
        unanswered = [entry.segment.submission.message_id for entry in self._in_flight.values()]
        return list(dict.fromkeys(unanswered + self._queue.message_ids()))

    def health(self) -> dict[str, object]:
        return {
            "connected": any(state in ("binding", "bound") for state in self._links.values()),
            "bound": self._bound.is_set(),
            "links": dict(self._links),
            "throttled": self._flow.throttled,
            "queued": len(self._queue),
            "in_flight": len(self._in_flight),
            "window": self.config.window,
            "effective_window": self._flow.window,
            "tps_limit": self._flow.tps,
            "mo_parts_pending": len(self._inbound.reassembler),
            "counters": dict(self.counters),
            "last_error": self.last_error,
        }

    # ------------------------------------------------------------------ connections

    async def _run_link(self, role: BindRole) -> None:
        """Connect, bind and serve one link; on loss, back off exponentially and go again."""
        config = self.config
        delay = config.reconnect_min
        while not self._stopping.is_set():
            self._links[role] = "connecting"
            session: SmppSession | None = None
            try:
                label = f"{config.host}:{config.port} {role}"
                session = await SmppSession.open(config, self, self.counters, label)
                self._links[role] = "binding"
                await session.bind(role)
            except asyncio.CancelledError:
                if session is not None:
                    session.abort()
                raise
            except Exception as exc:  # any failure to bind just means: wait, then try again
                self.last_error = f"{role}: {exc.__class__.__name__}: {exc}"
                self.counters["bind_failures"] += 1
                logger.warning("SMPP %s bind failed: %s", role, self.last_error)
                if session is not None:
                    session.abort()
            else:
                self.counters[f"binds_{role}"] += 1
                delay = config.reconnect_min
                if self._stopping.is_set():  # stop() came while we were binding
                    await session.unbind(1.0)
                    break
                await self._serve(role, session)
            self._links[role] = "down"
            if self._stopping.is_set():
                break
            with contextlib.suppress(TimeoutError):  # woken early by stop()
                await asyncio.wait_for(self._stopping.wait(), delay)
            delay = min(delay * 2, config.reconnect_max)

    async def _serve(self, role: BindRole, session: SmppSession) -> None:
        self._sessions[role] = session
        self._links[role] = "bound"
        self._update_bound()
        tasks: list[asyncio.Task[None]] = []
        if role != "receiver" and not self._stopping.is_set():
            tasks = [
                asyncio.create_task(self._send_loop(session), name=f"{session.label} sender"),
                asyncio.create_task(self._watch_responses(session), name=f"{session.label} watch"),
            ]
            self._sender_tasks.extend(tasks)
        try:
            await session.wait_closed()
        finally:
            if not session.closed:  # cancelled by stop() before the session was unbound
                session.abort()
            await _cancel(tasks)
            self._sender_tasks = [t for t in self._sender_tasks if t not in tasks]
            self._sessions.pop(role, None)
            self._update_bound()
            if role != "receiver":
                self._requeue_in_flight()
            if not self._stopping.is_set():
                self.counters["connections_lost"] += 1

    def _update_bound(self) -> None:
        if all(role in self._sessions for role in self.config.bind_roles):
            self._bound.set()
        else:
            self._bound.clear()

    def _requeue_in_flight(self) -> None:
        if not self._in_flight:
            return
        segments = [entry.segment for entry in self._in_flight.values()]
        self._in_flight.clear()
        self._slot_free.set()
        self.counters["segments_requeued"] += len(segments)
        self._queue.retry(s for s in segments if not s.submission.failed)

    # ------------------------------------------------------------------ sending

    async def _send_loop(self, session: SmppSession) -> None:
        loop = asyncio.get_running_loop()
        while not session.closed:
            while len(self._in_flight) >= self._flow.window:
                self._slot_free.clear()
                await self._slot_free.wait()
            await self._flow.wait_turn()
            segment = await self._queue.get()
            if segment.submission.failed:
                continue
            if session.closed:
                self._queue.retry([segment])
                return
            sequence = session.next_sequence()
            self._in_flight[sequence] = _InFlight(segment, loop.time())
            segment.attempts += 1
            try:
                session.send(replace(segment.pdu, sequence=sequence))
                self.counters["submit_sm"] += 1
                if segment.attempts > 1:
                    self.counters["submit_sm_retries"] += 1
                await session.drain()
            except SessionClosed:
                return  # whatever is in flight is re-queued when the link notices the loss

    async def _watch_responses(self, session: SmppSession) -> None:
        """Drop a connection on which a submit_sm has gone unanswered for response_timeout."""
        loop = asyncio.get_running_loop()
        timeout = self.config.response_timeout
        while not session.closed:
            await asyncio.sleep(min(1.0, timeout / 4))
            oldest = next(iter(self._in_flight.values()), None)
            if oldest is not None and loop.time() - oldest.sent_at > timeout:
                logger.warning(
                    "%s: submit_sm unanswered for %.1fs, reconnecting", session.label, timeout
                )
                self.counters["response_timeouts"] += 1
                session.abort()
                return

    # ------------------------------------------------------------------ SessionHandler

    async def on_response(self, session: SmppSession, pdu: Pdu) -> None:
        entry = self._in_flight.pop(pdu.sequence, None)
        if entry is None:
            logger.warning(
                "%s: %s for unknown sequence %d", session.label, pdu.command, pdu.sequence
            )
            return
        self._slot_free.set()
        segment = entry.segment
        if pdu.command == "submit_sm_resp" and pdu.status == ESME_ROK:
            await self._accepted(segment, pdu.text("message_id"))
        elif pdu.status in _THROTTLING:
            self.counters["throttled"] += 1
            pause = self._flow.on_throttle()
            logger.info("SMSC throttling (%s); pausing %.2fs", status_name(pdu.status), pause)
            self._queue.retry([segment])
        else:
            reason = status_name(pdu.status) if pdu.status else pdu.command
            await self._rejected(segment, reason, pdu.status)

    async def on_deliver(self, session: SmppSession, pdu: Pdu) -> None:
        # Answered by the inbound worker once handled, so reading (and acks) carry on meanwhile.
        self._deliveries.put_nowait((session, pdu))

    async def _accepted(self, segment: Segment, smsc_id: str) -> None:
        self._flow.on_success()
        self.counters["submit_sm_ok"] += 1
        submission = segment.submission
        submission.smsc_ids[segment.part] = smsc_id
        if smsc_id:
            try:
                key = store_key(smsc_id, self.config.submit_id_base)
                await self._store.put(key, submission.message_id)
            except Exception:
                # Not re-sent (the SMSC has it); its receipts just will not match.
                self.counters["store_errors"] += 1
                logger.exception("could not store SMSC id %r", smsc_id)
        if submission.complete and not submission.failed:
            ids = [smsc_id or "" for smsc_id in submission.smsc_ids]
            await self._emit("ack", submission.message_id, smsc_id=ids[0], smsc_ids=ids)

    async def _rejected(self, segment: Segment, reason: str, status: int) -> None:
        self.counters["submit_sm_failed"] += 1
        submission = segment.submission
        if submission.failed:
            return
        submission.failed = True
        self._queue.discard(submission)
        await self._emit("nack", submission.message_id, reason=reason, status=status)

    async def _emit(self, kind: EventKind, message_id: str, **details: object) -> None:
        self.counters[f"events_{kind}"] += 1
        try:
            await self._on_event(kind, message_id, **details)
        except Exception:
            self.counters["callback_errors"] += 1
            logger.exception("on_event(%s, %s) failed", kind, message_id)

    # ------------------------------------------------------------------ receiving

    async def _inbound_worker(self) -> None:
        while True:
            session, pdu = await self._deliveries.get()
            try:
                status = await self._inbound.handle(pdu)
                try:
                    session.respond(pdu, status)
                except SessionClosed:
                    # The SMSC will deliver it again on the next bind.
                    self.counters["inbound_unanswered"] += 1
            finally:
                self._deliveries.task_done()


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
