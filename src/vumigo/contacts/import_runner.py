"""Running imports in the background of the web process, with progress a page can poll.

An import runs as an asyncio task in the process that was asked to start it, one at a time per
account. Its progress is kept in memory as the importer reports it, and on PostgreSQL written to
the job's row every second too. On SQLite it cannot be: a ``new`` import is one transaction that
holds the database's only write lock until it ends, so there the row is written as the import
starts and ends, and the live figures come from this process. A job a stopped process left
``running`` is shown as interrupted.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import select, update

from vumigo.contacts.columns import Column
from vumigo.contacts.import_jobs import Plan, content_of, find_import, spooled
from vumigo.contacts.importer import ImportResult, import_contacts
from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models.contact_imports import ContactImport
from vumigo.errors import Conflict, VumigoError
from vumigo.runtime import Platform

log = logging.getLogger(__name__)

FLUSH_EVERY = 1.0
# A running job whose row has not moved for this long (PostgreSQL) lost its process.
STALE_AFTER = timedelta(minutes=2)
RECENT = 100
INTERRUPTED = "The import was interrupted before it finished (the server stopped)."


@dataclass
class Live:
    account_key: str
    rows: int = 0
    total: int | None = None
    task: asyncio.Task[None] | None = None

    def update(self, rows: int, total: int | None) -> None:
        self.rows, self.total = rows, total


@dataclass(frozen=True)
class Progress:
    """What a page shows of a job: its state, rows so far, and a percentage if known."""

    status: str
    rows_done: int
    rows_total: int | None
    percent: int | None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")


class Runner:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.live: dict[str, Live] = {}
        # The last figures of jobs that ended here, for a poll that read the row just before.
        self.recent: dict[str, Live] = {}

    def stalled(self, job: ContactImport) -> bool:
        if job.status != "running" or job.key in self.live:
            return False
        # SQLite serves the UI from one process: a job running anywhere is running here.
        return self.db.dialect == "sqlite" or job.updated_at < utcnow() - STALE_AFTER

    def progress(self, job: ContactImport) -> Progress:
        """What to show of a job (``settle`` it first, so a lost one reads as failed)."""
        live = self.live.get(job.key) or self.recent.get(job.key)
        rows, total = (live.rows, live.total) if live else (job.rows_done, job.rows_total)
        if job.status == "done":
            return Progress("done", rows, max(total or 0, rows), 100)
        if job.status == "running":
            # Held below 100 until the end: blank lines count in the total but not as rows.
            percent = min(99, rows * 100 // total) if total else None
            return Progress("running", rows, total, percent)
        return Progress(job.status, rows, total, min(100, rows * 100 // total) if total else 0)

    async def settle(self, job: ContactImport) -> ContactImport:
        """The job as it is now; one that lost its process is marked failed first."""
        if self.stalled(job):
            still = (ContactImport.key == job.key) & (ContactImport.status == "running")
            if self.db.dialect != "sqlite":
                still = still & (ContactImport.updated_at < utcnow() - STALE_AFTER)
            now = utcnow()
            async with self.db.transaction() as session:
                await session.execute(
                    update(ContactImport)
                    .where(still)
                    .values(
                        status="failed",
                        message=INTERRUPTED,
                        content=None,
                        updated_at=now,
                        finished_at=now,
                    )
                )
        # Read again either way: the job may have finished while this request waited.
        async with self.db.sessions() as session:
            return await find_import(session, job.account_key, job.key)

    async def start(self, account_key: str, key: str, plan: Plan, group_key: str | None) -> None:
        """Marks the job running and starts it; Conflict if it or another is already going."""
        if any(live.account_key == account_key for live in self.live.values()):
            raise Conflict("Another import is running for this account; wait for it to finish.")
        # Claimed before the first await, so a second request in this process sees it.
        live = self.live[key] = Live(account_key)
        try:
            async with self.db.transaction() as session:
                job = await find_import(session, account_key, key)
                if job.status != "uploaded":
                    raise Conflict("This import has already been started.")
                busy = await session.scalars(
                    select(ContactImport).where(
                        ContactImport.account_key == account_key,
                        ContactImport.status == "running",
                    )
                )
                if any(not self.stalled(other) for other in busy if other.key != key):
                    raise Conflict(
                        "Another import is running for this account; wait for it to finish."
                    )
                job.status = "running"
                job.columns = [{"field": c.field, "normaliser": c.normaliser} for c in plan.columns]
                job.rule = plan.rule
                job.has_header = plan.has_header
                job.country = plan.country
                job.group_key = group_key
                job.updated_at = utcnow()
        except BaseException:
            self.live.pop(key, None)
            raise
        live.task = asyncio.create_task(self._run(key, live), name=f"contact-import-{key}")

    async def wait(self, key: str) -> None:
        """Until the job running here (if any) has finished."""
        live = self.live.get(key)
        if live is not None and live.task is not None:
            await asyncio.gather(live.task, return_exceptions=True)

    async def stop(self, _platform: Platform | None = None) -> None:
        tasks = [live.task for live in self.live.values() if live.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, key: str, live: Live) -> None:
        outcome: dict[str, Any] = {"status": "failed", "message": INTERRUPTED}
        flusher = None
        try:
            async with self.db.sessions() as session:
                job = await find_import(session, live.account_key, key)
                content = await content_of(session, key)
            if self.db.dialect != "sqlite":
                flusher = asyncio.create_task(self._flush(key, live))
            with spooled(content, job.filename) as path:
                result = await import_contacts(
                    self.db,
                    job.account_key,
                    path,
                    filename=job.filename,
                    columns=[Column(c["field"], c["normaliser"]) for c in job.columns],
                    rule=job.rule,
                    group_keys=[job.group_key] if job.group_key else [],
                    country=job.country,
                    has_header=job.has_header,
                    progress=live.update,
                )
            outcome = _outcome(result)
        except VumigoError as exc:
            outcome = {"status": "failed", "message": str(exc)}
        except asyncio.CancelledError:
            outcome["rows_done"] = live.rows
            raise
        except Exception:
            log.exception("contact import %s failed", key)
            outcome = {
                "status": "failed",
                "message": "The import failed unexpectedly. Try again; if it fails again, "
                "an operator can find the cause in the server's log.",
            }
        finally:
            if flusher is not None:
                flusher.cancel()
                await asyncio.gather(flusher, return_exceptions=True)
            try:
                await self._finish(key, outcome)
            except Exception:
                log.exception("could not record the end of contact import %s", key)
            finally:
                self.recent[key] = live
                while len(self.recent) > RECENT:
                    del self.recent[next(iter(self.recent))]
                self.live.pop(key, None)

    async def _flush(self, key: str, live: Live) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            try:
                async with self.db.transaction() as session:
                    await session.execute(
                        update(ContactImport)
                        .where(ContactImport.key == key, ContactImport.status == "running")
                        .values(rows_done=live.rows, rows_total=live.total, updated_at=utcnow())
                    )
            except Exception:  # a missed progress write is not worth stopping the import for
                log.warning("could not record progress of contact import %s", key, exc_info=True)

    async def _finish(self, key: str, outcome: dict[str, Any]) -> None:
        now = utcnow()
        async with self.db.transaction() as session:
            await session.execute(
                update(ContactImport)
                .where(ContactImport.key == key)
                .values(content=None, updated_at=now, finished_at=now, **outcome)
            )


def _outcome(result: ImportResult) -> dict[str, Any]:
    outcome: dict[str, Any] = {
        "status": "done" if result.saved else "failed",
        "rows_done": result.rows,
        "created": result.created,
        "updated": result.updated,
        "failed": result.error_count,
        "saved": result.saved,
        "errors": [[error.row, error.message] for error in result.errors],
        "message": None,
    }
    if not result.saved:
        outcome["message"] = (
            f"Nothing was saved: {result.error_count:,} rows had errors, and a new import is "
            "all or nothing. Fix the rows listed below and upload the file again."
        )
    return outcome


_runners: WeakKeyDictionary[Platform, Runner] = WeakKeyDictionary()


def runner_for(platform: Platform) -> Runner:
    """The platform's one runner; its imports are cancelled when the platform stops."""
    runner = _runners.get(platform)
    if runner is None:
        runner = _runners[platform] = Runner(platform.db)
        platform.on_stop(runner.stop)
    return runner
