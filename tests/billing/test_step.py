"""The dispatcher's billing step: charges join the unit, the cutoff holds or closes, held
messages are released after a top-up."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select

from tests.billing.conftest import inbound, new_account, outbound, receive, send, set_price
from vumigo.billing import credit, held
from vumigo.billing.policy import save_policy
from vumigo.billing.step import OUT_OF_CREDIT_REPLY, Action, Billing, Decision, session_length
from vumigo.db.engine import Database
from vumigo.db.models import CreditTransaction, StoredMessage
from vumigo.store import messages as store
from vumigo.store.unit import Unit

D = Decimal


async def transactions(db: Database) -> list[CreditTransaction]:
    async with db.sessions() as session:
        query = select(CreditTransaction).order_by(CreditTransaction.id)
        return list((await session.execute(query)).scalars())


async def balance(db: Database, account: str) -> Decimal:
    async with db.sessions() as session:
        return (await credit.credit_state(session, account)).balance


async def cutoff_on(db: Database, account: str, top_up: str = "100", left: str = "5") -> Billing:
    """An account below its lowest threshold (10% of its last top-up) with the cutoff on."""
    async with db.transaction() as session:
        await save_policy(session, (10, 20, 50), cutoff=True)
        await credit.top_up(session, account, top_up)
        await credit.change_balance(session, account, D(left) - D(top_up))
    return Billing(db)


async def test_inbound_is_billed_once_per_message(db: Database) -> None:
    a = await new_account(db)
    await set_price(db, "inbound", "0.5", pool="pool")
    billing = Billing(db)
    msg = inbound(a, provider="mtn")
    await receive(billing, db, a, msg, msg)  # twice in one batch
    await receive(billing, db, a, msg)  # and redelivered in another
    rows = await transactions(db)
    assert [(r.kind, r.direction, r.message_id, r.credit_amount) for r in rows] == [
        ("message", "inbound", msg.message_id, D(-5))
    ]
    assert (rows[0].pool, rows[0].tag, rows[0].provider) == ("pool", "10001", "mtn")
    assert msg.helper_metadata["go"]["is_paid"] is True
    assert await balance(db, a) == D(-5)


async def test_a_message_is_billed_in_and_out_separately(sqlite_db: Database) -> None:
    a = await new_account(sqlite_db)
    await set_price(sqlite_db, "inbound", "1")
    await set_price(sqlite_db, "outbound", "2")
    billing = Billing(sqlite_db)
    msg = outbound(a)
    unit = Unit()
    await billing.plan_inbound(unit, msg, a, "pool", "10001")
    await billing.plan_outbound(unit, msg, a, "pool", "10001")
    await unit.commit(sqlite_db)
    assert await balance(sqlite_db, a) == D(-30)


async def test_without_a_price_a_message_goes_unbilled(sqlite_db: Database) -> None:
    a = await new_account(sqlite_db)
    billing = Billing(sqlite_db)
    msg = outbound(a)
    assert await send(billing, sqlite_db, msg) == [Decision.send()]
    assert await transactions(sqlite_db) == []
    assert "is_paid" not in msg.helper_metadata["go"]


async def test_sessions_are_charged_at_start_and_by_length(db: Database) -> None:
    a = await new_account(db)
    await set_price(
        db, "outbound", "1", session_cost="5", session_unit_cost="2", session_unit_time="20"
    )
    billing = Billing(db)
    start = outbound(a, session_event="new")
    middle = outbound(a, session_event=None)
    end = outbound(a, session_event="close")
    end.helper_metadata["session_metadata"] = {
        "session_start": 1700000000.25,
        "session_end": 1700000041,
    }
    await send(billing, db, start, middle, end)
    rows = {r.message_id: r for r in await transactions(db)}
    assert rows[start.message_id].credit_amount == D(-60)
    assert rows[start.message_id].session_created is True
    assert rows[middle.message_id].credit_amount == D(-10)
    # 40.75 s is three started units of 20 s.
    assert rows[end.message_id].session_length == D("40.750")
    assert rows[end.message_id].session_length_cost == D(6)
    assert rows[end.message_id].credit_amount == D(-70)


def test_session_length_needs_both_ends() -> None:
    msg = outbound("a")
    assert session_length(msg) is None
    msg.helper_metadata["session_metadata"] = {"session_start": 10}
    assert session_length(msg) is None
    msg.helper_metadata["session_metadata"] = {"session_start": 10, "session_end": 5}
    assert session_length(msg) is None
    msg.helper_metadata["session_metadata"] = {"session_start": "x", "session_end": 5}
    assert session_length(msg) is None
    msg.helper_metadata["session_metadata"] = {"session_start": 10, "session_end": 12.0004}
    assert session_length(msg) == D("2.001")


async def test_cutoff_holds_a_new_message(db: Database) -> None:
    a = await new_account(db)
    await set_price(db, "outbound", "1")
    billing = await cutoff_on(db, a)
    for event in (None, "new"):
        msg = outbound(a, session_event=event)
        [decision] = await send(billing, db, msg)
        assert decision == Decision.hold()
        assert decision.action is Action.HOLD
        assert decision.reason == held.OUT_OF_CREDIT
        assert msg.content == "hello"  # untouched: it will be sent as it is, later
    assert [r.kind for r in await transactions(db)] == ["topup"]
    assert await balance(db, a) == D(5)


async def test_cutoff_closes_a_session_in_progress(db: Database) -> None:
    a = await new_account(db)
    await set_price(db, "outbound", "1")
    billing = await cutoff_on(db, a)
    for event in ("resume", "close"):
        msg = outbound(a, session_event=event, content="Question 2 of 5")
        [decision] = await send(billing, db, msg)
        assert decision.action is Action.CLOSE_SESSION
        assert msg.session_event == "close"
        assert msg.content == OUT_OF_CREDIT_REPLY == "Vumi Go account has run out of credits."
    assert await balance(db, a) == D(5)  # not charged


async def test_inbound_is_billed_even_past_the_cutoff(sqlite_db: Database) -> None:
    a = await new_account(sqlite_db)
    await set_price(sqlite_db, "inbound", "1")
    billing = await cutoff_on(sqlite_db, a)
    await receive(billing, sqlite_db, a, inbound(a))
    assert await balance(sqlite_db, a) == D(-5)


async def test_above_the_lowest_threshold_messages_are_sent(sqlite_db: Database) -> None:
    a = await new_account(sqlite_db)
    await set_price(sqlite_db, "outbound", "1")
    billing = await cutoff_on(sqlite_db, a, left="10")  # exactly 10%: not below it
    assert await send(billing, sqlite_db, outbound(a)) == [Decision.send()]
    assert await balance(sqlite_db, a) == D(0)


async def test_an_account_without_credit_is_cut_off(sqlite_db: Database) -> None:
    a = await new_account(sqlite_db)
    async with sqlite_db.transaction() as session:
        await save_policy(session, cutoff=True)
    billing = Billing(sqlite_db)
    assert await send(billing, sqlite_db, outbound(a)) == [Decision.hold()]


async def test_without_the_cutoff_an_account_can_go_negative(sqlite_db: Database) -> None:
    a = await new_account(sqlite_db)
    await set_price(sqlite_db, "outbound", "1")
    billing = await cutoff_on(sqlite_db, a)
    async with sqlite_db.transaction() as session:
        await save_policy(session, cutoff=False)
    billing.forget()
    assert await send(billing, sqlite_db, outbound(a)) == [Decision.send()]
    assert await balance(sqlite_db, a) == D(-5)


async def store_held(db: Database, account: str, count: int) -> list[str]:
    """What the dispatcher does with a held message: stores it as held, saying why."""
    msgs = [outbound(account, content=f"message {i}") for i in range(count)]
    async with db.transaction() as session:
        await store.add_messages(session, [(m, "outbound", "queued", account) for m in msgs])
    unit = Unit()
    for msg in msgs:
        guard = unit.claim_message(msg.message_id, "queued", held.HELD)
        unit.fail(msg.message_id, held.OUT_OF_CREDIT, guard)
    await unit.commit(db)
    return [m.message_id for m in msgs]


async def states(db: Database, ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(StoredMessage.message_id, StoredMessage.state, StoredMessage.failure).where(
                StoredMessage.message_id.in_(ids)
            )
        )
        return {i: (s, f) for i, s, f in rows.all()}


async def test_held_messages_are_released_after_a_top_up(db: Database) -> None:
    a = await new_account(db)
    billing = await cutoff_on(db, a)
    ids = await store_held(db, a, 3)
    async with db.sessions() as session:
        listed = await held.held_messages(session, a)
        assert await held.count_held(session, a) == 3
    assert [h.message_id for h in listed] == ids
    assert {h.reason for h in listed} == {held.OUT_OF_CREDIT}

    requeued: list[list[str]] = []

    async def requeue(message_ids: Sequence[str]) -> None:
        # By now they are queued again, so the transport's queued → sent claim works.
        assert {s for s, _ in (await states(db, message_ids)).values()} == {"queued"}
        requeued.append(list(message_ids))

    # Still out of credit: nothing is released.
    assert await billing.release_held(a, requeue) == []
    assert await billing.sweep_held(requeue) == []
    assert {s for s, _ in (await states(db, ids)).values()} == {"held"}

    await billing.top_up(a, "1000", requeue=requeue)
    assert requeued == [ids]
    assert await states(db, ids) == {i: ("queued", None) for i in ids}
    assert await billing.release_held(a, requeue) == []  # nothing left to release


async def test_a_top_up_elsewhere_is_noticed_by_the_sweep(sqlite_db: Database) -> None:
    a = await new_account(sqlite_db)
    b = await new_account(sqlite_db)
    billing = await cutoff_on(sqlite_db, a)
    ids = await store_held(sqlite_db, a, 2)
    other = await store_held(sqlite_db, b, 1)  # b never had credit: stays held
    async with sqlite_db.transaction() as session:
        await credit.top_up(session, a, "500")  # e.g. `vumigo credit add` in another process
    released: list[str] = []

    async def requeue(message_ids: Sequence[str]) -> None:
        released.extend(message_ids)

    assert await billing.sweep_held(requeue) == ids
    assert released == ids
    assert (await states(sqlite_db, other))[other[0]][0] == "held"
