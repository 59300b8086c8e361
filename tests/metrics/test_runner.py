"""The rollup job started with a platform: it runs under the lease, once per database, and
stops with the platform."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import func, select

from tests.metrics.helpers import put_points
from tests.support.factories import make_account
from vumigo.config import Settings
from vumigo.db.models import MetricRollup
from vumigo.leases import Lease
from vumigo.metrics.config import metrics_settings
from vumigo.metrics.names import Series
from vumigo.metrics.runner import LEASE, attach
from vumigo.runtime import Platform


class QuickSettings(Settings):
    """Settings with the fields vumigo.config is to grow (read through getattr meanwhile)."""

    metrics_rollup_seconds: float = 0.1
    metrics_grace_seconds: float = 0.0


async def test_attached_job_rolls_up_while_the_platform_runs(
    tmp_path: Path, sqlite_url: str
) -> None:
    settings = QuickSettings(data_dir=tmp_path / "var", database_url=sqlite_url, roles=[])
    assert metrics_settings(settings).rollup_seconds == 0.1
    platform = Platform(settings)
    job = attach(platform)
    assert attach(platform) is job  # attaching twice starts one job
    account, _ = await make_account(platform.db)
    minute = int(time.time()) // 60 * 60 - 120
    await put_points(platform.db, Series(account, "default", "x", "sum"), [(minute + 1, 2.0)])
    await platform.start()
    try:
        deadline = time.monotonic() + 10
        rows = 0
        while rows == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            async with platform.db.sessions() as session:
                rows = await session.scalar(select(func.count()).select_from(MetricRollup)) or 0
        assert rows == 1
        # The job holds the lease: another process's attempt would wait.
        assert not await Lease(platform.db, LEASE).acquire()
    finally:
        await platform.stop()
    other = Lease(platform.db, LEASE)
    assert await other.acquire()  # released on stop
    await other.release()
