"""The scheduler: runs conversation actions when they come due, and survives restarts.

Tasks live in ``scheduled_tasks``. A scheduler claims a due task by moving it to ``running``
with a lease (``locked_until``) that it renews while the task runs; a task whose worker died
comes due again once its lease runs out, so another process (or the restarted one) resumes it.
With the in-process bus there is only ever one engine on the database, so at start-up it takes
back its predecessor's running tasks at once instead of waiting for their leases.

Each poll also calls the action apps' ``tick`` (sequential sends schedule their runs there) and,
now and then, sweeps expired sessions. Nothing here holds work in memory that the table does
not also hold.

With several scheduler processes (the distributed mode), every one claims due tasks, so long
tasks such as bulk sends spread over them; the claims keep each task to one process. The ticks
and the sweep are done by one process at a time, the holder of the ``scheduler-housekeeping``
lease: they are safe to repeat, but repeating them in every process only adds load.

Operator settings, from ``VUMIGO_APPS_*`` environment variables (default in brackets):
``POLL_INTERVAL`` [1] seconds between looks at the table; ``TASK_LEASE`` [30] seconds a claim
lasts without renewal; ``MAX_TASKS`` [4] tasks run at once per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from sqlalchemy import and_, or_, select, update

from vumigo.apps import sessions
from vumigo.apps.actions import NEEDS_RUNNING, ActionApp, ActionError, ActionRun, actions_of
from vumigo.db.base import utcnow
from vumigo.db.models import ScheduledTask
from vumigo.leases import Lease

if TYPE_CHECKING:
    from vumigo.apps.routers.worker import RouterWorkers
    from vumigo.engine.core import Engine

log = logging.getLogger(__name__)

# The scheduler's notion of now. Tests of schedules replace it (``scheduler.CLOCK = ...``).
CLOCK: Callable[[], datetime] = utcnow

MAX_ATTEMPTS = 5
RETRY_DELAYS = (5.0, 30.0, 120.0, 600.0)
SWEEP_INTERVAL = 60.0
HOUSEKEEPING_LEASE = "scheduler-housekeeping"


def now() -> datetime:
    return CLOCK()


@dataclass(frozen=True)
class AppsSettings:
    poll_interval: float = 1.0
    task_lease: float = 30.0
    max_tasks: int = 4

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AppsSettings:
        source = os.environ if env is None else env
        defaults = cls()

        def number(name: str, default: float) -> float:
            raw = source.get(f"VUMIGO_APPS_{name}")
            try:
                return float(raw) if raw else default
            except ValueError:
                raise ValueError(f"VUMIGO_APPS_{name} must be a number, not {raw!r}") from None

        return cls(
            poll_interval=number("POLL_INTERVAL", defaults.poll_interval),
            task_lease=number("TASK_LEASE", defaults.task_lease),
            max_tasks=int(number("MAX_TASKS", defaults.max_tasks)),
        )


class Scheduler:
    def __init__(self, engine: Engine, settings: AppsSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.runs: dict[str, ActionRun] = {}
        self.wakeup = asyncio.Event()
        self.loop_task: asyncio.Task[None] | None = None
        self._last_heartbeat = 0.0
        self._last_sweep = 0.0
        self._housekeeping = Lease(engine.db, HOUSEKEEPING_LEASE)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.task_lease)

    async def start(self) -> None:
        from vumigo.bus.memory import MemoryBus

        if isinstance(self.engine.bus, MemoryBus):
            await self._take_back_running()
        self.loop_task = asyncio.create_task(self._loop(), name="apps-scheduler")

    async def stop(self) -> None:
        if self.loop_task is not None:
            self.loop_task.cancel()
            await asyncio.gather(self.loop_task, return_exceptions=True)
            self.loop_task = None
        held = list(self.tasks)  # taken first: each task forgets itself as it ends
        running = list(self.tasks.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await self._release(held)
        self.runs.clear()
        await self._housekeeping.release()

    def wake(self) -> None:
        self.wakeup.set()

    # -- the loop -----------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            try:
                await self.poll()
            except Exception:
                log.exception("scheduler poll failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), self.settings.poll_interval)
            self.wakeup.clear()

    async def poll(self) -> None:
        """One round: renew leases, start due tasks, let apps do time-driven work, sweep."""
        monotonic = time.monotonic()
        if monotonic - self._last_heartbeat >= self.settings.task_lease / 3:
            self._last_heartbeat = monotonic
            await self._heartbeat()
        await self._claim_due()
        if not await self._housekeeper():
            return
        current = now()
        for app in list(self.engine.apps.apps.values()):
            if isinstance(app, ActionApp):
                try:
                    await app.tick(current)
                except Exception:
                    log.exception("%s tick failed", app.conversation_type)
        if monotonic - self._last_sweep >= SWEEP_INTERVAL:
            self._last_sweep = monotonic
            await sessions.sweep(self.engine.db)

    async def _housekeeper(self) -> bool:
        """Whether this process does the ticks and sweeps now (always, when it is alone)."""
        if not self.engine.distributed:
            return True
        lease = self._housekeeping
        try:
            return await lease.still_held() if lease.held else await lease.acquire()
        except Exception:
            log.exception("asking for the %s lease", HOUSEKEEPING_LEASE)
            return False

    def _due(self, at: datetime) -> Any:
        return or_(
            and_(ScheduledTask.status == "pending", ScheduledTask.due_at <= at),
            and_(
                ScheduledTask.status == "running",
                or_(ScheduledTask.locked_until.is_(None), ScheduledTask.locked_until < at),
            ),
        )

    async def _claim_due(self) -> None:
        free = self.settings.max_tasks - len(self.tasks)
        if free <= 0:
            return
        at = now()
        async with self.engine.db.sessions() as session:
            ids = (
                await session.scalars(
                    select(ScheduledTask.id)
                    .where(self._due(at))
                    .order_by(ScheduledTask.due_at)
                    .limit(free)
                )
            ).all()
        for task_id in ids:
            if task_id not in self.tasks and await self._claim(task_id, at):
                self.tasks[task_id] = asyncio.create_task(self._run(task_id), name=task_id)

    async def _claim(self, task_id: str, at: datetime) -> bool:
        async with self.engine.db.transaction() as session:
            result = await session.execute(
                update(ScheduledTask)
                .where(ScheduledTask.id == task_id, self._due(at))
                .values(
                    status="running",
                    locked_by=self.worker_id,
                    locked_until=at + self.lease,
                    started_at=at,
                )
            )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    async def _heartbeat(self) -> None:
        """Renews the leases of the tasks running here; stops any this worker no longer holds
        (cancelled by someone, or taken over after a stall)."""
        ids = list(self.runs)
        if not ids:
            return
        async with self.engine.db.transaction() as session:
            held = set(
                (
                    await session.scalars(
                        update(ScheduledTask)
                        .where(
                            ScheduledTask.id.in_(ids),
                            ScheduledTask.locked_by == self.worker_id,
                            ScheduledTask.status == "running",
                        )
                        .values(locked_until=now() + self.lease)
                        .returning(ScheduledTask.id)
                    )
                ).all()
            )
        for task_id in ids:
            if task_id not in held and task_id in self.tasks:
                log.info("task %s is no longer ours; stopping it", task_id)
                self.runs[task_id].cancelled.set()
                self.tasks[task_id].cancel()

    async def _take_back_running(self) -> None:
        async with self.engine.db.transaction() as session:
            await session.execute(
                update(ScheduledTask)
                .where(ScheduledTask.status == "running")
                .values(locked_until=None, locked_by=None)
            )

    # -- running one task ---------------------------------------------------------------

    async def _run(self, task_id: str) -> None:
        try:
            async with self.engine.db.sessions() as session:
                task = await session.get(ScheduledTask, task_id)
            assert task is not None
            conversation = await self.engine.lookups.conversation(task.conversation_key)
            app = self.engine.apps.apps.get(conversation.app_type) if conversation else None
            action = actions_of(conversation.app_type).get(task.action) if conversation else None
            if conversation is None or not isinstance(app, ActionApp) or action is None:
                raise ActionError(f"Nothing here can run {task.action}.")
            if action.needs_running and not conversation.running:
                raise ActionError(NEEDS_RUNNING)
            run = ActionRun(self.engine, task.id, conversation, action, dict(task.params))
            self.runs[task_id] = run
            result = await app.run_action(run)
        except asyncio.CancelledError:
            raise  # stop() releases the lease; a cancel by someone else left the row as is
        except ActionError as exc:
            await self._finish(task_id, "failed", error=str(exc))
        except Exception as exc:
            log.exception("task %s failed", task_id)
            await self._failed(task_id, exc)
        else:
            await self._finish(task_id, "done", result=result)
        finally:
            self.tasks.pop(task_id, None)
            self.runs.pop(task_id, None)

    async def _finish(
        self,
        task_id: str,
        status: str,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        async with self.engine.db.transaction() as session:
            await session.execute(
                update(ScheduledTask)
                .where(ScheduledTask.id == task_id, ScheduledTask.locked_by == self.worker_id)
                .values(
                    status=status,
                    result=result,
                    error=error,
                    finished_at=now(),
                    locked_by=None,
                    locked_until=None,
                )
            )

    async def _failed(self, task_id: str, exc: Exception) -> None:
        """An unexpected failure: try again later, a few times, then give up."""
        async with self.engine.db.transaction() as session:
            task = await session.get(ScheduledTask, task_id)
            if task is None or task.locked_by != self.worker_id:
                return
            task.attempts += 1
            task.error = f"{type(exc).__name__}: {exc}"
            task.locked_by = None
            task.locked_until = None
            if task.attempts >= MAX_ATTEMPTS:
                task.status = "failed"
                task.finished_at = now()
            else:
                delay = RETRY_DELAYS[min(task.attempts, len(RETRY_DELAYS)) - 1]
                task.status = "pending"
                task.due_at = now() + timedelta(seconds=delay)

    async def _release(self, task_ids: list[str]) -> None:
        """Hands tasks this worker was running back to the table, due at once."""
        if not task_ids:
            return
        async with self.engine.db.transaction() as session:
            await session.execute(
                update(ScheduledTask)
                .where(
                    ScheduledTask.id.in_(task_ids),
                    ScheduledTask.locked_by == self.worker_id,
                    ScheduledTask.status == "running",
                )
                .values(status="pending", locked_by=None, locked_until=None)
            )


class AppServices:
    """What the ready-made apps run beside the conversation workers, once per engine: the
    scheduler, the router workers, and the in-process wake-ups of waiting senders."""

    def __init__(self, engine: Engine, settings: AppsSettings | None = None) -> None:
        from vumigo.apps.routers.worker import RouterWorkers

        self.engine = engine
        self.settings = settings or AppsSettings.from_env()
        self.scheduler = Scheduler(engine, self.settings)
        self.routers: RouterWorkers = RouterWorkers(engine)
        self._users = 0
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)

    async def start(self) -> None:
        self._users += 1
        if self._users == 1:
            parts = self.engine.parts
            if parts.conversations:
                await self.routers.start()
            if parts.scheduler:
                await self.scheduler.start()

    async def stop(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users == 0:
            await self.scheduler.stop()
            await self.routers.stop()

    @contextlib.contextmanager
    def send_waiter(self, conversation_key: str) -> Iterator[asyncio.Event]:
        """An event set whenever a message of the conversation is acked or nacked here."""
        event = asyncio.Event()
        self._waiters[conversation_key].add(event)
        try:
            yield event
        finally:
            self._waiters[conversation_key].discard(event)
            if not self._waiters[conversation_key]:
                del self._waiters[conversation_key]

    def wake_senders(self, conversation_key: str) -> None:
        for event in self._waiters.get(conversation_key, ()):
            event.set()


_SERVICES: WeakKeyDictionary[Engine, AppServices] = WeakKeyDictionary()


def services_for(engine: Engine) -> AppServices:
    services = _SERVICES.get(engine)
    if services is None:
        services = _SERVICES[engine] = AppServices(engine)
    return services
