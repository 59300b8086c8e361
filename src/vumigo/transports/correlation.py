"""Carrier ids in the database: what the SMPP client (and the HTTP SMS transport) correlate
receipts with, kept across restarts.

Writes are batched: ``put`` is called once per accepted submit_sm, on the connection's reading
path, so waiting for a commit each time would cap a bind at one message per commit. An id is
visible to ``get`` from the moment ``put`` returns (it is looked up in memory until its batch is
written), so a receipt that overtakes the write still matches. ``flush`` waits until everything
put so far is durable; the SMPP transport calls it before it records acks, so a message whose
ack is stored always has its id stored too.

Most receipts come within seconds of the submit, so the newest ids are also kept in memory
(``recent``) and the database is only asked about older ones, such as those sent before a
restart: on a busy platform a query per receipt, one receipt after another, is what would
limit a bind's throughput.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy import delete, select

from vumigo.db.base import utcnow
from vumigo.db.engine import Database
from vumigo.db.models import SmscCorrelation
from vumigo.db.upsert import insert_for
from vumigo.transports.smpp import MemoryCorrelationStore

log = logging.getLogger(__name__)

MAX_BATCH = 500


class DbCorrelationStore:
    """The ``CorrelationStore`` of ``vumigo.transports.smpp`` on ``transport_correlations``.

    ``transport`` is the transport's name and ``link`` the carrier it talks to (for SMPP the
    SMSC's system_id@host:port), so two carriers that both number their messages from 1 cannot
    answer for each other's receipts.
    """

    def __init__(self, db: Database, transport: str, link: str, recent: int = 100_000) -> None:
        self.db = db
        self.transport = transport
        self.link = link
        self._pending: dict[str, str] = {}
        self._recent = MemoryCorrelationStore(recent)
        self._writing: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None
        self.write_errors = 0

    async def put(self, smsc_id: str, message_id: str) -> None:
        self._pending[smsc_id] = message_id
        await self._recent.put(smsc_id, message_id)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon())

    async def get(self, smsc_id: str) -> str | None:
        found = (
            await self._recent.get(smsc_id)
            or self._pending.get(smsc_id)
            or self._writing.get(smsc_id)
        )
        if found is not None:
            return found
        async with self.db.sessions() as session:
            result = await session.execute(
                select(SmscCorrelation.message_id).where(
                    SmscCorrelation.transport == self.transport,
                    SmscCorrelation.link == self.link,
                    SmscCorrelation.smsc_id == smsc_id,
                )
            )
            return result.scalar_one_or_none()

    async def flush(self) -> None:
        """Returns once every id put so far is written."""
        async with self._lock:
            while self._pending:
                batch = dict(list(self._pending.items())[:MAX_BATCH])
                for key in batch:
                    del self._pending[key]
                self._writing = batch
                try:
                    await self._write(batch)
                except Exception:
                    # Put back for the next flush; receipts still match from memory meanwhile.
                    self.write_errors += 1
                    self._pending = {**batch, **self._pending}
                    raise
                finally:
                    self._writing = {}

    async def close(self) -> None:
        if self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher
        await self.flush()

    async def prune(self, older_than: timedelta) -> int:
        """Forgets ids older than ``older_than``: their receipts are not coming any more."""
        async with self.db.transaction() as session:
            result = await session.execute(
                delete(SmscCorrelation).where(
                    SmscCorrelation.transport == self.transport,
                    SmscCorrelation.link == self.link,
                    SmscCorrelation.created_at < utcnow() - older_than,
                )
            )
        return int(getattr(result, "rowcount", 0) or 0)

    async def _flush_soon(self) -> None:
        await asyncio.sleep(0)  # let the puts of one burst of responses gather
        try:
            await self.flush()
        except Exception:
            log.exception("storing SMSC ids for %s/%s", self.transport, self.link)

    async def _write(self, batch: dict[str, str]) -> None:
        now = utcnow()
        rows = [
            {
                "transport": self.transport,
                "link": self.link,
                "smsc_id": smsc_id,
                "message_id": message_id,
                "created_at": now,
            }
            for smsc_id, message_id in batch.items()
        ]
        async with self.db.transaction() as session:
            insert = insert_for(session, SmscCorrelation)
            # An SMSC that restarts its numbering reuses ids: the newest message owns the id.
            statement = insert.on_conflict_do_update(
                index_elements=["transport", "link", "smsc_id"],
                set_={"message_id": insert.excluded.message_id, "created_at": now},
            )
            await session.execute(statement, rows)
