"""A unit of work: the store writes of a batch of messages, done in one transaction.

Workers plan what each message should do, into a ``Unit``; ``Unit.commit`` then does it all in
one transaction with a handful of statements, and returns what to publish once it is durable.

Effects can be guarded by a claim (a state change of a message or event, e.g. accepted →
processed). A guarded effect happens only if its claim succeeds, which is how a message that is
delivered twice has its effects once, even when both copies are in one batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, update
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.db.engine import Database
from vumigo.db.models import OptOut, StoredMessage
from vumigo.db.upsert import insert_for
from vumigo.message import Event, UserMessage
from vumigo.store import messages as store

Guard = tuple[str, str] | None  # ("message" | "event", id), or None for unconditional
Write = Callable[[AsyncSession], Awaitable[None]]


@dataclass
class Unit:
    message_claims: dict[str, tuple[str, str]] = field(default_factory=dict)
    event_claims: dict[str, tuple[str, str]] = field(default_factory=dict)
    new_messages: list[tuple[Guard, store.NewMessage]] = field(default_factory=list)
    attachments: list[tuple[Guard, store.Attachment]] = field(default_factory=list)
    payloads: list[tuple[Guard, UserMessage, str | None]] = field(default_factory=list)
    failures: list[tuple[Guard, str, str]] = field(default_factory=list)
    optouts: list[tuple[Guard, str, str, str, str]] = field(default_factory=list)
    new_events: list[tuple[Guard, Event]] = field(default_factory=list)
    event_counts: list[tuple[Guard, Event, Sequence[str]]] = field(default_factory=list)
    extra_writes: list[tuple[Guard, Write]] = field(default_factory=list)
    publishes: list[tuple[Guard, str, UserMessage | Event]] = field(default_factory=list)
    passed: set[tuple[str, str]] = field(default_factory=set)

    # -- planning ---------------------------------------------------------------------

    def claim_message(self, message_id: str, from_state: str, to_state: str) -> Guard:
        self.message_claims.setdefault(message_id, (from_state, to_state))
        return ("message", message_id)

    def claim_event(self, event_id: str, from_state: str, to_state: str) -> Guard:
        self.event_claims.setdefault(event_id, (from_state, to_state))
        return ("event", event_id)

    def add_message(
        self, msg: UserMessage, direction: str, state: str, account: str | None, guard: Guard
    ) -> None:
        self.new_messages.append((guard, (msg, direction, state, account)))

    def attach(
        self, msg: UserMessage, direction: str, batches: Sequence[str], guard: Guard = None
    ) -> None:
        if batches:
            self.attachments.append((guard, (msg, direction, list(batches))))

    def save_payload(self, msg: UserMessage, account: str | None, guard: Guard = None) -> None:
        self.payloads.append((guard, msg, account))

    def fail(self, message_id: str, why: str, guard: Guard = None) -> None:
        """Records why a message was not delivered (its state is set by its claim)."""
        self.failures.append((guard, message_id, why))

    def record_optout(self, account: str, msg: UserMessage, address_type: str) -> None:
        self.optouts.append((None, account, address_type, msg.from_addr or "", msg.message_id))

    def add_event(self, event: Event, guard: Guard = None) -> None:
        self.new_events.append((guard, event))

    def count_event(self, event: Event, batches: Sequence[str], guard: Guard) -> None:
        self.event_counts.append((guard, event, list(batches)))

    def write(self, fn: Write, guard: Guard = None) -> None:
        """Any other write that must commit with this unit (e.g. a push outbox row)."""
        self.extra_writes.append((guard, fn))

    def publish(self, queue: str, msg: UserMessage | Event, guard: Guard = None) -> None:
        self.publishes.append((guard, queue, msg))

    # -- doing --------------------------------------------------------------------------

    async def commit(self, db: Database) -> list[tuple[str, UserMessage | Event]]:
        """Does every planned write in one transaction; returns the (queue, message) pairs to
        publish, now that the writes are durable."""
        async with db.transaction() as session:
            self.passed = await self._claim(session)
            ok = self.ok

            await store.add_messages(session, [m for g, m in self.new_messages if ok(g)])
            await store.attach_many(session, [a for g, a in self.attachments if ok(g)])
            await store.save_payloads(session, [(m, a) for g, m, a in self.payloads if ok(g)])
            await self._record_optouts(session, [o for o in self.optouts if ok(o[0])])
            await self._record_failures(session, [(i, w) for g, i, w in self.failures if ok(g)])
            await store.add_events(session, [e for g, e in self.new_events if ok(g)])
            await store.count_events(session, [(e, b) for g, e, b in self.event_counts if ok(g)])
            for guard, write in self.extra_writes:
                if ok(guard):
                    await write(session)
        return [(queue, msg) for guard, queue, msg in self.publishes if ok(guard)]

    def ok(self, guard: Guard) -> bool:
        """Whether a guarded effect happened (after ``commit``): its claim succeeded."""
        return guard is None or guard in self.passed

    async def _claim(self, session: AsyncSession) -> set[tuple[str, str]]:
        passed: set[tuple[str, str]] = set()
        by_states: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
        for message_id, states in self.message_claims.items():
            by_states[states].append(message_id)
        for (from_state, to_state), ids in by_states.items():
            for claimed in await store.claim_many(session, ids, from_state, to_state):
                passed.add(("message", claimed))
        by_states.clear()
        for event_id, states in self.event_claims.items():
            by_states[states].append(event_id)
        for (from_state, to_state), ids in by_states.items():
            for claimed in await store.claim_events(session, ids, from_state, to_state):
                passed.add(("event", claimed))
        return passed

    @staticmethod
    async def _record_optouts(
        session: AsyncSession, optouts: list[tuple[Guard, str, str, str, str]]
    ) -> None:
        if optouts:
            rows = [
                {"account_key": a, "address_type": t, "address": addr, "message_id": m}
                for _, a, t, addr, m in optouts
            ]
            await session.execute(insert_for(session, OptOut).on_conflict_do_nothing(), rows)

    @staticmethod
    async def _record_failures(session: AsyncSession, failures: list[tuple[str, str]]) -> None:
        if failures:
            stmt = (
                update(StoredMessage)
                .where(StoredMessage.message_id == bindparam("f_id"))
                .values(failure=bindparam("f_why"))
            )
            conn = await session.connection()
            await conn.execute(stmt, [{"f_id": i, "f_why": w} for i, w in failures])
