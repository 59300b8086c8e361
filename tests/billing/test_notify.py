"""Low-credit notifications: thresholds, the e-mail through a real SMTP server, the banner."""

from __future__ import annotations

import asyncio
import email.policy
import time
from collections.abc import Iterator
from decimal import Decimal
from email import message_from_bytes
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.billing.conftest import new_account, outbound, send, set_price
from tests.support.live import free_port
from vumigo.billing import credit, notify, policy
from vumigo.billing.policy import Policy
from vumigo.billing.step import Billing
from vumigo.db.engine import Database
from vumigo.db.models import CreditNotification, User
from vumigo.web.mail import MailSettings

D = Decimal


class Sink:
    """An SMTP server on loopback that keeps what it is sent."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []

    # aiosmtpd calls the handler's handle_DATA for each message.
    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


@pytest.mark.parametrize(
    ("before", "after", "want"),
    [
        ("100", "60", None),  # 60% is above every threshold
        ("60", "50", 50),  # reaching a threshold counts
        ("51", "49", 50),
        ("49", "21", None),  # still between 50 and 20
        ("21", "20", 20),
        ("40", "5", 10),  # several at once: the lowest reached
        ("5", "4", None),  # already below the lowest
        ("50.5", "50.4", None),  # both round up to 51%
    ],
)
def test_thresholds_are_crossed_going_down(before: str, after: str, want: int | None) -> None:
    rules = Policy(percentages=(10, 20, 50))
    assert policy.crossed(rules, D(before), D(after), D(100)) == want


def test_thresholds_parse_and_sort() -> None:
    assert policy.parse_percentages("50, 10,20,10") == (10, 20, 50)
    assert policy.parse_percentages([]) == ()
    with pytest.raises(Exception, match="between 0 and 100"):
        policy.parse_percentages("150")


async def add_user(db: Database, account: str, email: str, active: bool = True) -> None:
    async with db.transaction() as session:
        session.add(User(account_key=account, email=email, password_hash="x", is_active=active))


async def wait_for(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return result


async def test_low_credit_email_reaches_the_smtp_server(
    db: Database, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    a = await new_account(db, "Clinic Reminders")
    await add_user(db, a, "owner@example.org")
    await add_user(db, a, "gone@example.org", active=False)
    await set_price(db, "outbound", "3")  # 30 credits a message
    async with db.transaction() as session:
        await credit.top_up(session, a, "100")
        await policy.save_policy(session, (10, 20, 50), cutoff=True)
    mail = MailSettings(host="127.0.0.1", port=port, from_addr="billing@vumigo.test")
    billing = Billing(db, mail=mail)

    await send(billing, db, outbound(a))  # 70 left: 70%, no threshold
    await asyncio.sleep(0.05)
    assert sink.received == []
    await send(billing, db, outbound(a))  # 40 left: below 50%
    assert await wait_for(lambda: len(sink.received) == 1)
    to, first = sink.received[0]
    assert to == ["owner@example.org"]
    assert first["From"] == "billing@vumigo.test"
    assert first["Subject"] == "Vumi Go: credit for Clinic Reminders is below 50%"
    body = first.get_content()
    assert "40 credits left: 40% of the 100 credits" in body
    assert "held" not in body

    await send(billing, db, outbound(a))  # 10 left: the lowest threshold, where sending stops
    assert await wait_for(lambda: len(sink.received) == 2)
    assert "below 10%" in sink.received[1][1]["Subject"]
    assert "messages the account sends are held" in sink.received[1][1].get_content()

    await billing.notifier.idle()  # the SMTP server has it; now it is marked sent
    async with db.sessions() as session:
        rows = (await session.execute(select(CreditNotification))).scalars().all()
    # 40 → 10 went past 20% too, but only the lowest threshold reached is notified.
    assert [(r.level, r.cutoff, r.emailed_at is not None, r.email_error) for r in rows] == [
        (50, False, True, None),
        (10, True, True, None),
    ]
    await billing.stop()


async def test_failed_email_is_retried_then_given_up(sqlite_db: Database) -> None:
    a = await new_account(sqlite_db)
    await add_user(sqlite_db, a, "owner@example.org")
    await set_price(sqlite_db, "outbound", "6")
    async with sqlite_db.transaction() as session:
        await credit.top_up(session, a, "100")
    # Nothing listens there: every attempt fails.
    mail = MailSettings(host="127.0.0.1", port=free_port(), timeout=2)
    billing = Billing(sqlite_db, mail=mail)
    await send(billing, sqlite_db, outbound(a))  # 40 left
    await billing.notifier.idle()
    for _ in range(notify.MAX_ATTEMPTS):
        await billing.notifier.drain()
    async with sqlite_db.sessions() as session:
        row = (await session.execute(select(CreditNotification))).scalar_one()
    assert row.attempts == notify.MAX_ATTEMPTS
    assert row.emailed_at is not None  # given up: no more tries
    assert "did not take" in (row.email_error or "")


async def test_banner_says_how_low_the_credit_is(sqlite_db: Database) -> None:
    a = await new_account(sqlite_db)
    rules = Policy(percentages=(10, 20, 50), cutoff=True)
    async with sqlite_db.transaction() as session:
        assert await notify.banner(session, a, Policy()) is None  # no credit, no cutoff
        assert (await notify.banner(session, a, rules)) == notify.Banner(
            "error",
            "Your account has run out of credit: messages you send are held and open sessions "
            "are ended until it is topped up.",
        )
        await credit.top_up(session, a, "1000")
        assert await notify.banner(session, a, rules) is None
        await credit.change_balance(session, a, D("-650.5"))
        shown = await notify.banner(session, a, rules)
    assert shown is not None and shown.level == "info"
    assert "349.5 credits, 35% of your last top-up" in shown.text


async def test_with_emails_off_nothing_is_sent(sqlite_db: Database, smtp: tuple[Sink, int]) -> None:
    sink, port = smtp
    a = await new_account(sqlite_db)
    await add_user(sqlite_db, a, "owner@example.org")
    await set_price(sqlite_db, "outbound", "6")
    async with sqlite_db.transaction() as session:
        await credit.top_up(session, a, "100")
    billing = Billing(sqlite_db, mail=MailSettings(host="127.0.0.1", port=port))
    billing.defaults = Policy(emails=False)
    await send(billing, sqlite_db, outbound(a))  # 40 left: below 50%
    assert await billing.notifier.drain() == 0
    assert sink.received == []
    async with sqlite_db.sessions() as session:
        row = (await session.execute(select(CreditNotification))).scalar_one()
    assert row.level == 50 and row.emailed_at is not None
