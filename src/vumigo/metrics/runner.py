"""Starting the rollup job (and the Graphite exporter) with a platform.

``attach(platform)`` makes the platform, once started, run the job under the
``metrics-rollup`` lease: every process may call it, one runs the job at a time, and another
takes over when that one dies. Attaching twice is harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref

from vumigo.leases import run_while_held
from vumigo.metrics.config import metrics_settings
from vumigo.metrics.graphite import GraphiteExporter
from vumigo.metrics.rollup import Rollup
from vumigo.runtime import Platform

LEASE = "metrics-rollup"

_attached: weakref.WeakKeyDictionary[Platform, Rollup] = weakref.WeakKeyDictionary()


def attach(platform: Platform) -> Rollup:
    """Runs the rollup job while ``platform`` runs; returns the job (tests drive it)."""
    found = _attached.get(platform)
    if found is not None:
        return found
    settings = metrics_settings(platform.settings)
    job = Rollup(platform.db, settings, GraphiteExporter.from_settings(settings))
    _attached[platform] = job
    tasks: list[asyncio.Task[None]] = []

    async def start(p: Platform) -> None:
        work = run_while_held(p.db, LEASE, job.run_forever)
        tasks.append(asyncio.create_task(work, name=LEASE))

    async def stop(_p: Platform) -> None:
        while tasks:
            task = tasks.pop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    platform.on_start(start)
    platform.on_stop(stop)
    return job
