"""Import jobs: the upload's preview and guesses, the mapping checks, and the runner's progress,
one-at-a-time rule and interruption."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from vumigo.contacts.columns import Column
from vumigo.contacts.import_jobs import check_plan, create_upload, read_preview
from vumigo.contacts.import_runner import INTERRUPTED, STALE_AFTER, Runner
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models import Contact, ContactImport
from vumigo.errors import Conflict, InvalidInput


def people(count: int) -> bytes:
    lines = ["Mobile,First name,Town"] + [f"+2782{n:07d},P{n},CPT" for n in range(count)]
    return ("\n".join(lines) + "\n").encode()


def test_preview_guesses_from_the_header_or_the_values() -> None:
    preview = read_preview(people(7), "people.csv")
    assert preview.header == ["Mobile", "First name", "Town"]
    assert len(preview.rows) == 5 and preview.rows[0] == ["+27820000000", "P0", "CPT"]
    assert preview.total == 7 and preview.width == 3
    assert preview.guessed == [
        Column("msisdn", "msisdn"),
        Column("name", "string"),
        Column("town", "string"),
    ]
    # Without a header, a column of phone numbers is still taken for the contact number.
    bare = read_preview(b"0821234567,Ann\n+27 82 765 4321,Bo\n", "bare.csv")
    assert bare.header is None and bare.guessed == [Column("msisdn", "msisdn"), Column()]


@pytest.mark.parametrize(
    ("columns", "rule", "country", "message"),
    [
        ([Column("name")], "new", None, "Please specify a Contact Number field."),
        ([Column("msisdn"), Column("key")], "new", None, "only for the update rules"),
        ([Column("msisdn")], "upload_is_truth", None, "Please specify a Contact Key field."),
        ([Column("msisdn", "rot13")], "new", None, "Unknown normaliser"),
        ([Column("msisdn")], "new", "Narnia", "Unknown country"),
        ([Column("msisdn")], "sideways", None, "Unknown import rule"),
        ([Column("msisdn"), Column("msisdn")], "new", None, "More than one column"),
    ],
)
def test_plans_the_importer_would_refuse_are_refused_first(
    columns: list[Column], rule: str, country: str | None, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_plan(columns, rule, True, country)


async def test_runs_in_the_background_with_progress(db: Database, account: str) -> None:
    job = await create_upload(db, account, "people.csv", people(2500))
    runner = Runner(db)
    plan = check_plan([Column("msisdn", "msisdn"), Column("name"), Column()], "new", True, None)
    await runner.start(account, job.key, plan, None)
    seen = []
    while job.key in runner.live:
        async with db.sessions() as session:
            row = await session.get(ContactImport, job.key)
        assert row is not None
        seen.append(runner.progress(row))
        await asyncio.sleep(0.01)
    await runner.wait(job.key)
    async with db.sessions() as session:
        row = await session.get(ContactImport, job.key)
        made = len((await session.scalars(select(Contact.key))).all())
    assert row is not None and row.status == "done" and row.created == 2500 and made == 2500
    final = runner.progress(row)
    assert final.status == "done" and final.percent == 100 and final.rows_done == 2500
    # The bar only moves forward, and is full only when the import is done.
    percents = [p.percent for p in seen if p.percent is not None]
    assert percents == sorted(percents)
    assert all(
        (p.status == "running" and (p.percent or 0) < 100) or p.status == "done" for p in seen
    )


async def test_one_import_at_a_time_per_account(
    db: Database, account: str, other_account: str
) -> None:
    runner = Runner(db)
    plan = check_plan([Column("msisdn", "msisdn")], "new", False, None)
    first = await create_upload(db, account, "a.csv", b"+27821111111\n")
    second = await create_upload(db, account, "b.csv", b"+27822222222\n")
    theirs = await create_upload(db, other_account, "c.csv", b"+27823333333\n")
    await runner.start(account, first.key, plan, None)
    with pytest.raises(Conflict, match="Another import is running"):
        await runner.start(account, second.key, plan, None)
    await runner.start(other_account, theirs.key, plan, None)  # another account may
    await runner.wait(first.key)
    with pytest.raises(Conflict, match="already been started"):
        await runner.start(account, first.key, plan, None)
    await runner.start(account, second.key, plan, None)
    await runner.wait(second.key)
    await runner.wait(theirs.key)


async def test_stopping_interrupts_and_says_so(db: Database, account: str) -> None:
    job = await create_upload(db, account, "people.csv", people(20_000))
    runner = Runner(db)
    plan = check_plan([Column("msisdn", "msisdn")], "new", True, None)
    await runner.start(account, job.key, plan, None)
    await asyncio.sleep(0.05)
    await runner.stop()
    async with db.sessions() as session:
        row = await session.get(ContactImport, job.key)
        made = (await session.scalars(select(Contact.key))).all()
    assert row is not None and row.status == "failed" and row.message == INTERRUPTED
    assert made == []  # a new import is all or nothing
    assert runner.live == {}


async def test_a_job_whose_process_went_away_is_settled_as_interrupted(
    db: Database, account: str
) -> None:
    job = await create_upload(db, account, "a.csv", b"+27821111111\n")
    runner = Runner(db)
    async with db.transaction() as session:
        await session.execute(
            update(ContactImport)
            .where(ContactImport.key == job.key)
            .values(status="running", updated_at=utcnow() - STALE_AFTER - timedelta(seconds=1))
        )
    async with db.sessions() as session:
        row = await session.get(ContactImport, job.key)
    assert row is not None and runner.stalled(row)
    settled = await runner.settle(row)
    assert settled.status == "failed" and settled.message == INTERRUPTED
    # A fresh row from another process is still running, except on SQLite (one process).
    async with db.transaction() as session:
        await session.execute(
            update(ContactImport)
            .where(ContactImport.key == job.key)
            .values(status="running", updated_at=utcnow())
        )
    async with db.sessions() as session:
        row = await session.get(ContactImport, job.key)
    assert row is not None and runner.stalled(row) == (db.dialect == "sqlite")


async def test_uploads_left_unmapped_are_swept(db: Database, account: str) -> None:
    old = await create_upload(db, account, "old.csv", b"+27821111111\n")
    async with db.transaction() as session:
        await session.execute(
            update(ContactImport)
            .where(ContactImport.key == old.key)
            .values(created_at=utcnow() - timedelta(days=2))
        )
    await create_upload(db, account, "new.csv", b"+27821111111\n")
    async with db.sessions() as session:
        names = (await session.scalars(select(ContactImport.filename))).all()
    assert names == ["new.csv"]
