"""Billing as a step of the dispatcher: each message's charge joins its batch's unit of work.

The dispatcher calls ``plan_inbound`` for every message a transport brings in for an account,
and ``plan_outbound`` for every message leaving for a tag. Billing looks the price up (cached),
computes the charge, and adds it to the unit, so the transaction rows and the balance change
commit with the messages' routing, or not at all. All the charges of one unit are written
together: one multi-row insert and one balance update per account.

With the cutoff on and the account below its lowest threshold, an outbound message is not
charged: a message that would open a conversation is held (the dispatcher stores it as held),
and a reply inside a session becomes the session's close, saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.billing import held
from vumigo.billing.costs import INBOUND, OUTBOUND, Cost, CostCache, charge_for
from vumigo.billing.credit import CreditState, PendingCharge, apply_charges, credit_state, top_up
from vumigo.billing.notify import Notifier, mail_settings
from vumigo.billing.policy import Policy, below_cutoff, from_settings, load_policy
from vumigo.db.engine import Database
from vumigo.message import UserMessage
from vumigo.store.unit import Unit
from vumigo.web.mail import MailSettings

log = logging.getLogger(__name__)

OUT_OF_CREDIT_REPLY = "Vumi Go account has run out of credits."


class Action(StrEnum):
    SEND = "send"
    HOLD = "hold"
    CLOSE_SESSION = "close_session"


@dataclass(frozen=True, slots=True)
class Decision:
    """What the dispatcher should do with an outbound message after billing saw it."""

    action: Action
    reason: str = ""

    @classmethod
    def send(cls) -> Decision:
        """Send it (charged, or free when no price applies)."""
        return cls(Action.SEND)

    @classmethod
    def hold(cls, reason: str = held.OUT_OF_CREDIT) -> Decision:
        """Store it as held with ``reason``; ``Billing.release_held`` sends it later."""
        return cls(Action.HOLD, reason)

    @classmethod
    def close_session(cls) -> Decision:
        """Send it: it has been rewritten into the session's close with the out-of-credit
        text, and is not charged."""
        return cls(Action.CLOSE_SESSION, "the account has run out of credit")


def session_length(msg: UserMessage) -> Decimal | None:
    """Seconds between ``session_start`` and ``session_end`` of the helper metadata, if both
    are there, rounded up to the millisecond the transaction keeps."""
    meta = msg.helper_metadata.get("session_metadata") or {}
    start, end = meta.get("session_start"), meta.get("session_end")
    if start is None or end is None:
        return None
    try:
        length = Decimal(str(end)) - Decimal(str(start))
    except InvalidOperation:
        return None
    if not length.is_finite() or length < 0:
        return None
    return length.quantize(Decimal("0.001"), rounding=ROUND_CEILING)


class _UnitCharges:
    """The charges planned into one unit, written by one ``unit.write`` when it commits."""

    def __init__(self, billing: Billing, policy: Policy) -> None:
        self.billing = billing
        self.policy = policy
        self.charges: dict[tuple[str, str], PendingCharge] = {}

    async def write(self, session: AsyncSession) -> None:
        charges = list(self.charges.values())
        try:
            # A savepoint: should billing fail, the messages still go (unbilled), as the
            # original's billing dispatcher let them.
            async with session.begin_nested():
                added = await apply_charges(session, charges, self.policy)
        except SQLAlchemyError:
            log.exception("billing of %d message(s) failed; they go unbilled", len(charges))
            return
        for charge in charges:
            self.billing.forget(charge.account_key)
        if added:
            notifier = self.billing.notifier
            loop = asyncio.get_running_loop()
            event.listen(
                session.sync_session,
                "after_commit",
                lambda _s: loop.call_soon(notifier.kick),
                once=True,
            )


class Billing:
    def __init__(
        self,
        db: Database,
        settings: object = None,
        *,
        mail: MailSettings | None = None,
        cost_ttl: float = 5.0,
        credit_ttl: float = 1.0,
        policy_ttl: float = 5.0,
    ) -> None:
        self.db = db
        self.defaults = from_settings(settings)
        self.sweep_seconds = float(getattr(settings, "billing_sweep_seconds", 15.0))
        self.costs = CostCache(cost_ttl)
        self.credit_ttl = credit_ttl
        self.policy_ttl = policy_ttl
        base_url = str(getattr(settings, "base_url", "") or "")
        url = f"{base_url}/billing/" if base_url else ""
        self.notifier = Notifier(db, mail or mail_settings(settings), url)
        self._policy: tuple[float, Policy] | None = None
        self._credit: dict[str, tuple[float, CreditState]] = {}
        self._open: dict[int, tuple[weakref.ref[Unit], _UnitCharges]] = {}
        self._missing_costs: set[tuple[str, str | None, str | None, str]] = set()
        self._loop: asyncio.Task[None] | None = None

    # -- the dispatcher's calls ---------------------------------------------------------

    async def plan_inbound(
        self, unit: Unit, msg: UserMessage, account_key: str, pool: str | None, tag: str | None
    ) -> None:
        """Bills a message from a transport. Inbound is always billed, even past the cutoff."""
        await self._bill(unit, msg, account_key, pool, tag, INBOUND, await self.policy())

    async def plan_outbound(
        self, unit: Unit, msg: UserMessage, account_key: str, pool: str | None, tag: str | None
    ) -> Decision:
        """Bills a message leaving for a tag, or holds / closes it when the account has run
        out (cutoff on). May rewrite ``msg`` (``Decision.close_session``)."""
        policy = await self.policy()
        if policy.cutoff:
            credit = await self.credit(account_key)
            if below_cutoff(policy, credit.balance, credit.last_topup_balance):
                if msg.session_event in (None, "new"):
                    return Decision.hold()
                msg.payload["session_event"] = "close"
                msg.payload["content"] = OUT_OF_CREDIT_REPLY
                return Decision.close_session()
        await self._bill(unit, msg, account_key, pool, tag, OUTBOUND, policy)
        return Decision.send()

    async def release_held(self, account_key: str, requeue: held.Requeue) -> list[str]:
        """Sends the account's held messages again, unless it is still below the cutoff.

        The messages are ``queued`` again before ``requeue(message_ids)`` is awaited (oldest
        first); returns their ids.
        """
        self.forget(account_key)
        policy = await self.policy()
        credit = await self.credit(account_key)
        if below_cutoff(policy, credit.balance, credit.last_topup_balance):
            return []
        async with self.db.transaction() as session:
            ids = await held.unhold(session, account_key)
        if ids:
            log.info("releasing %d held message(s) of %s", len(ids), account_key)
            await requeue(ids)
        return ids

    async def sweep_held(self, requeue: held.Requeue) -> list[str]:
        """``release_held`` for every account that has held messages (a top-up made by another
        process, or one that raced a hold, is noticed here)."""
        async with self.db.sessions() as session:
            accounts = await held.accounts_with_held(session)
        released: list[str] = []
        for account_key in accounts:
            released += await self.release_held(account_key, requeue)
        return released

    # -- operator actions in this process -------------------------------------------------

    async def top_up(
        self,
        account_key: str,
        amount: Decimal | str | int,
        note: str = "",
        requeue: held.Requeue | None = None,
    ) -> CreditState:
        """Adds credit and, given a ``requeue``, releases the account's held messages."""
        async with self.db.transaction() as session:
            state = await top_up(session, account_key, amount, note)
        self.forget(account_key)
        if requeue is not None:
            await self.release_held(account_key, requeue)
        return state

    def forget(self, account_key: str | None = None) -> None:
        """Drops cached state: one account's credit, or (no key) everything cached."""
        if account_key is not None:
            self._credit.pop(account_key, None)
            return
        self._credit.clear()
        self._policy = None
        self.costs.forget()
        self._missing_costs.clear()

    # -- background work --------------------------------------------------------------------

    async def start(
        self, requeue: held.Requeue | None = None, interval: float | None = None
    ) -> None:
        """Sends pending e-mails now and every ``interval`` seconds (the settings' sweep
        interval by default); with ``requeue``, also releases the held messages of accounts
        that have been topped up meanwhile, by this process or any other."""
        if self._loop is None:
            every = self.sweep_seconds if interval is None else interval
            self._loop = asyncio.get_running_loop().create_task(self._every(every, requeue))

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        await self.notifier.idle()

    async def _every(self, interval: float, requeue: held.Requeue | None) -> None:
        while True:
            try:
                await self.notifier.drain()
                if requeue is not None:
                    await self.sweep_held(requeue)
            except Exception:
                log.exception("billing background work failed; retrying later")
            await asyncio.sleep(interval)

    # -- look-ups ---------------------------------------------------------------------------

    async def policy(self) -> Policy:
        now = time.monotonic()
        if self._policy is not None and self._policy[0] > now:
            return self._policy[1]
        async with self.db.sessions() as session:
            policy = await load_policy(session, self.defaults)
        self._policy = (now + self.policy_ttl, policy)
        return policy

    async def credit(self, account_key: str) -> CreditState:
        """The account's credit as of at most ``credit_ttl`` seconds ago (the cutoff check;
        charging itself never uses a cached balance)."""
        now = time.monotonic()
        hit = self._credit.get(account_key)
        if hit is not None and hit[0] > now:
            return hit[1]
        async with self.db.sessions() as session:
            state = await credit_state(session, account_key)
        self._credit[account_key] = (now + self.credit_ttl, state)
        return state

    async def _cost(
        self, account_key: str, pool: str | None, provider: str | None, direction: str
    ) -> Cost | None:
        return await self.costs.find(self.db, account_key, pool, provider, direction)

    async def _bill(
        self,
        unit: Unit,
        msg: UserMessage,
        account_key: str,
        pool: str | None,
        tag: str | None,
        direction: str,
        policy: Policy,
    ) -> None:
        provider = msg.payload.get("provider")
        cost = await self._cost(account_key, pool, provider, direction)
        if cost is None:
            scope = (account_key, pool, provider, direction)
            if scope not in self._missing_costs:
                self._missing_costs.add(scope)
                log.warning("no %s price for %s on pool %s: not billed", direction, *scope[:2])
            return
        charge = charge_for(cost, msg.session_event == "new", session_length(msg))
        pending = PendingCharge(account_key, msg.message_id, direction, pool, tag, provider, charge)
        self._charges_of(unit, policy).charges.setdefault((msg.message_id, direction), pending)
        go: dict[str, Any] = msg.helper_metadata.setdefault("go", {})
        go["is_paid"] = True

    def _charges_of(self, unit: Unit, policy: Policy) -> _UnitCharges:
        """The unit's charges, made (and registered with the unit) on its first charge."""
        key = id(unit)
        entry = self._open.get(key)
        if entry is not None and entry[0]() is unit:
            return entry[1]
        charges = _UnitCharges(self, policy)
        self._open[key] = (weakref.ref(unit), charges)
        # Forget the entry once the unit is gone, so an id reused later starts afresh.
        weakref.finalize(unit, self._open.pop, key, None)
        unit.write(charges.write)
        return charges


async def current_policy(engine: object, db: Database, settings: Any) -> Policy:
    """The billing policy in force: the running billing step's (cached) when this process has
    one, else read from the database over the settings' defaults (a web-only process)."""
    running = getattr(engine, "billing", None)
    if isinstance(running, Billing):
        return await running.policy()
    async with db.sessions() as session:
        return await load_policy(session, from_settings(settings))
