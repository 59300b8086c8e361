"""A group send survives SIGKILL of `vumigo serve`: after a restart everyone has one message.

10,000 contacts; the server is killed once a few thousand messages are stored, at whatever
point it happens to be (a chunk half-committed, messages queued but not sent, acks on the bus),
then started again on the same database. The send resumes by itself.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from tests.apps.helpers import ask, channel, conversation, give_groups, make_contacts, make_group
from tests.support.live import free_port
from vumigo.db.engine import Database
from vumigo.db.models import BulkRecipient, BulkSend, ScheduledTask, StoredMessage

VUMIGO = str(Path(sys.executable).with_name("vumigo"))
CONTACTS = 10_000


class Serve:
    def __init__(self, db_url: str, data_dir: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("VUMIGO_")}
        env.update(
            VUMIGO_DATABASE_URL=db_url,
            VUMIGO_DATA_DIR=str(data_dir),
            VUMIGO_APPS_POLL_INTERVAL="0.2",
            VUMIGO_LOG_LEVEL="WARNING",
        )
        self.proc = subprocess.Popen(
            [VUMIGO, "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("vumigo serve exited")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).is_success:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("vumigo serve did not come up")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


async def queued(db: Database, send_id: str) -> int:
    async with db.sessions() as session:
        send = await session.get(BulkSend, send_id)
        return send.queued if send else 0


async def wait_until(check: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():  # type: ignore[operator]
            return True
        await asyncio.sleep(0.1)
    return False


@pytest.mark.slow
async def test_bulk_send_killed_mid_way_resumes_and_sends_everyone_one_message(
    sqlite_db: Database, sqlite_url: str, tmp_path: Path
) -> None:
    account, _ = await channel(sqlite_db, ["10001"])
    conv = await conversation(sqlite_db, account, "bulk_message", {}, tag="10001")
    group = await make_group(sqlite_db, account, "everyone")
    await make_contacts(
        sqlite_db, account, [{"msisdn": f"+2783{n:07d}"} for n in range(CONTACTS)], group=group
    )
    await give_groups(sqlite_db, account, conv, [group])
    task = await ask(sqlite_db, conv, "bulk_send", {"message": "Clinic open today"})

    first = Serve(sqlite_url, tmp_path)
    try:

        async def part_way() -> bool:
            return await queued(sqlite_db, task) >= 3000

        assert await wait_until(part_way, 60), "the send never got going"
    finally:
        first.kill()
    stored_before = await queued(sqlite_db, task)
    assert stored_before < CONTACTS, "killed too late to prove anything"

    second = Serve(sqlite_url, tmp_path)
    try:

        async def finished() -> bool:
            async with sqlite_db.sessions() as session:
                found = await session.get(ScheduledTask, task)
                unsent = (
                    await session.execute(
                        select(func.count()).where(
                            StoredMessage.direction == "outbound", StoredMessage.state != "sent"
                        )
                    )
                ).scalar_one()
            return found is not None and found.status == "done" and unsent == 0

        # Generous: on a busy machine 10,000 sends can take minutes; a healthy run is ~15 s.
        assert await wait_until(finished, 300), "the send did not finish after the restart"
    finally:
        second.stop()

    async with sqlite_db.sessions() as session:
        rows = (
            await session.execute(
                select(StoredMessage.to_addr, StoredMessage.state).where(
                    StoredMessage.direction == "outbound"
                )
            )
        ).all()
        recipients = (
            await session.execute(
                select(func.count(func.distinct(BulkRecipient.contact_key))).where(
                    BulkRecipient.send_id == task
                )
            )
        ).scalar_one()
    per_address = Counter(to for to, _state in rows)
    assert len(per_address) == CONTACTS
    assert set(per_address.values()) == {1}
    assert {state for _to, state in rows} == {"sent"}
    assert recipients == CONTACTS
