"""Low-credit notifications: the banner the UI shows, and the e-mail sent once per threshold.

A notification row is written in the same transaction as the charge that crossed a threshold
(see ``credit.apply_charges``); that table is the e-mail outbox. ``Notifier.drain`` sends what
is pending through the configured SMTP server (``vumigo.web.mail``), claiming each row first so
that two processes draining at once do not both send it, and gives up after a few attempts.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.billing.credit import credit_state
from vumigo.billing.policy import Policy, below_cutoff, level_of, percent_of
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models import Account, CreditNotification, User
from vumigo.web.mail import MailSettings, send_mail

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BATCH = 50


def mail_settings(settings: object) -> MailSettings:
    """SMTP settings: the ``smtp_*`` fields of the platform settings when it has them, else the
    ``VUMIGO_SMTP_*`` environment that the UI's e-mails use."""
    base = MailSettings()
    host = getattr(settings, "smtp_host", None)
    if host is None:
        return base
    return base.model_copy(
        update={
            "host": host,
            "port": getattr(settings, "smtp_port", base.port),
            "from_addr": getattr(settings, "smtp_from_addr", base.from_addr),
        }
    )


def credits_text(value: Decimal) -> str:
    """1234.500000 as "1,234.5": no trailing zeros, never an exponent."""
    return f"{value.normalize():,f}"


def email_text(notice: CreditNotification, account_name: str, url: str) -> tuple[str, str]:
    percent = percent_of(notice.balance, notice.last_topup_balance)
    subject = f"Vumi Go: credit for {account_name} is below {notice.level}%"
    lines = [
        "Hello,",
        "",
        f"The Vumi Go account {account_name!r} has {credits_text(notice.balance)} credits left: "
        f"{percent}% of the {credits_text(notice.last_topup_balance)} credits it had after its "
        f"last top-up, and below the {notice.level}% low-credit threshold.",
        "",
    ]
    if notice.cutoff:
        lines += [
            "This is the lowest threshold. From now on, messages the account sends are held",
            "(not sent, and not lost) and sessions in progress are ended, until it is topped up.",
            "",
        ]
    lines.append("Ask your Vumi Go operator for a top-up. Held messages go out once it is done.")
    if url:
        lines.append(f"Credit and statements: {url}")
    return subject, "\n".join(lines) + "\n"


async def _recipients(session: AsyncSession, account_key: str) -> tuple[str, list[str]]:
    name = await session.scalar(select(Account.name).where(Account.key == account_key))
    emails = await session.scalars(
        select(User.email)
        .where(User.account_key == account_key, User.is_active.is_(True))
        .order_by(User.id)
    )
    return name or account_key, list(emails)


class Notifier:
    def __init__(self, db: Database, mail: MailSettings, url: str = "") -> None:
        self.db = db
        self.mail = mail
        self.url = url
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def kick(self) -> None:
        """Drains the outbox soon, in the background (called after a commit that added rows)."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                await self.drain()
            except Exception:
                log.exception("could not send low-credit e-mails")
            if not self._again:
                return

    async def idle(self) -> None:
        """Waits for a background drain to finish (tests and shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def drain(self) -> int:
        """Sends every pending notification; returns how many were sent."""
        async with self.db.sessions() as session:
            pending = list(
                await session.scalars(
                    select(CreditNotification)
                    .where(
                        CreditNotification.emailed_at.is_(None),
                        CreditNotification.attempts < MAX_ATTEMPTS,
                    )
                    .order_by(CreditNotification.id)
                    .limit(BATCH)
                )
            )
        sent = 0
        for notice in pending:
            sent += await self._send(notice)
        return sent

    async def _send(self, notice: CreditNotification) -> bool:
        async with self.db.transaction() as session:
            claimed = await session.execute(
                update(CreditNotification)
                .where(
                    CreditNotification.id == notice.id,
                    CreditNotification.emailed_at.is_(None),
                    CreditNotification.attempts == notice.attempts,
                )
                .values(attempts=notice.attempts + 1)
            )
            if getattr(claimed, "rowcount", 0) != 1:
                return False  # another process has it
            name, emails = await _recipients(session, notice.account_key)
        error: str | None = None
        if not emails:
            error = "the account has no active users to e-mail"
        else:
            subject, body = email_text(notice, name, self.url)
            for address in emails:
                if not await send_mail(address, subject, body, self.mail):
                    error = f"the SMTP server did not take the e-mail to {address}"
        async with self.db.transaction() as session:
            values: dict[str, object] = {"email_error": error}
            if error is None or notice.attempts + 1 >= MAX_ATTEMPTS or not emails:
                values["emailed_at"] = utcnow()
            await session.execute(
                update(CreditNotification)
                .where(CreditNotification.id == notice.id)
                .values(**values)
            )
        return error is None


@dataclass(frozen=True, slots=True)
class Banner:
    level: str  # "info" or "error": the UI's flash levels
    text: str


async def banner(session: AsyncSession, account_key: str, policy: Policy) -> Banner | None:
    """What the UI should say about the account's credit, if anything."""
    state = await credit_state(session, account_key)
    if below_cutoff(policy, state.balance, state.last_topup_balance):
        return Banner(
            "error",
            "Your account has run out of credit: messages you send are held and open sessions "
            "are ended until it is topped up.",
        )
    if level_of(policy, state.balance, state.last_topup_balance) is None:
        return None
    percent = percent_of(state.balance, state.last_topup_balance)
    return Banner(
        "info",
        f"Your credit is low: {credits_text(state.balance)} credits, {percent}% of your last "
        "top-up. Ask your operator for a top-up.",
    )
