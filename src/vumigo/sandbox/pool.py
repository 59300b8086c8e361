"""A pool of warm sandbox processes serving one account.

A pool never serves two accounts: a process that ran one account's code could have been changed
by it (the ``vm`` is no boundary), so it must never see another account's messages. Within the
account, processes are handed out one run at a time and retired:

- after any run that did not end with ``js.done`` (crash, timeout, output cap, protocol error);
- after ``messages_per_process`` runs;
- when the account's app code changes (a process that loaded other code is not reused).

A retired process is replaced in the background (``prewarm``), so the next message does not
wait for node to start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from vumigo.sandbox.isolation import LaunchPlan
from vumigo.sandbox.limits import SandboxSettings
from vumigo.sandbox.process import AppCode, ProcessGone, SandboxProcess, SandboxStartError
from vumigo.sandbox.protocol import ProtocolHandler
from vumigo.sandbox.run import Outcome, Run, RunResult

logger = logging.getLogger(__name__)


class PoolClosed(RuntimeError):
    pass


@dataclass
class PoolStats:
    started: int = 0
    retired: int = 0
    runs: int = 0


class SandboxPool:
    def __init__(
        self,
        account_key: str,
        settings: SandboxSettings,
        plan: LaunchPlan,
        handler: ProtocolHandler,
    ) -> None:
        self.account_key = account_key
        self.settings = settings
        self.plan = plan
        self.handler = handler
        self.stats = PoolStats()
        self.last_used = time.monotonic()
        self._idle: list[SandboxProcess] = []
        self._busy: set[SandboxProcess] = set()
        self._starting = 0
        self._active = 0
        self._code_hash: str | None = None
        self._closed = False
        self._cond = asyncio.Condition()
        self._background: set[asyncio.Task[None]] = set()

    @property
    def busy(self) -> int:
        """Runs in the pool, including those waiting for or starting a process."""
        return self._active

    @property
    def size(self) -> int:
        return len(self._idle) + len(self._busy) + self._starting

    def pids(self) -> list[int]:
        return [p.pid for p in (*self._idle, *self._busy) if p.pid is not None]

    def _usable(self, proc: SandboxProcess) -> bool:
        if not proc.alive or proc.runs >= self.settings.messages_per_process:
            return False
        # A fresh process has loaded no code yet; one that ran other code is done for.
        return not proc.code_hashes or proc.code_hashes == {self._code_hash}

    async def run(self, code: AppCode, run: Run) -> RunResult:
        self._active += 1
        try:
            return await self._run(code, run)
        finally:
            self._active -= 1

    async def _run(self, code: AppCode, run: Run) -> RunResult:
        self.last_used = time.monotonic()
        self._code_hash = code.hash
        for attempt in (1, 2):
            try:
                proc = await self._acquire()
            except SandboxStartError as exc:
                await run.log(logging.ERROR, f"Sandbox could not start: {exc}")
                return RunResult(Outcome.CRASHED, tuple(run.logs), str(exc))
            result: RunResult | None = None
            try:
                result = await proc.run(run, code)
                return result
            except ProcessGone as exc:
                # Died while idle (e.g. killed from outside): nothing ran, so run it elsewhere.
                logger.warning("sandbox %s for %s was gone: %s", proc.pid, self.account_key, exc)
                if attempt == 2:
                    await run.log(logging.ERROR, f"Sandbox failed: {exc}")
                    return RunResult(Outcome.CRASHED, tuple(run.logs), str(exc), pid=proc.pid)
            finally:
                self.stats.runs += 1
                self.last_used = time.monotonic()
                await self._release(proc, result)
        raise AssertionError("unreachable")

    async def _acquire(self) -> SandboxProcess:
        async with self._cond:
            while True:
                if self._closed:
                    raise PoolClosed(self.account_key)
                while self._idle:
                    proc = self._idle.pop()
                    if self._usable(proc):
                        self._busy.add(proc)
                        return proc
                    self._retire(proc)
                if self.size < self.settings.pool_size:
                    self._starting += 1
                    break
                await self._cond.wait()
        try:
            proc = await self._spawn()
        finally:
            async with self._cond:
                self._starting -= 1
                self._cond.notify_all()
        async with self._cond:
            self._busy.add(proc)
        return proc

    async def _spawn(self) -> SandboxProcess:
        proc = SandboxProcess(self.plan, self.settings, self.handler)
        await proc.start()
        self.stats.started += 1
        return proc

    async def _release(self, proc: SandboxProcess, result: RunResult | None) -> None:
        async with self._cond:
            self._busy.discard(proc)
            if result is not None and result.ok and not self._closed and self._usable(proc):
                self._idle.append(proc)
            else:
                self._retire(proc)
                if self.settings.prewarm and not self._closed:
                    self._in_background(self._prewarm_one())
            self._cond.notify_all()

    def _retire(self, proc: SandboxProcess) -> None:
        self.stats.retired += 1
        self._in_background(proc.stop())

    def _in_background(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _prewarm_one(self) -> None:
        async with self._cond:
            if self._closed or self.size >= self.settings.pool_size:
                return
            self._starting += 1
        try:
            proc = await self._spawn()
        except SandboxStartError:
            logger.exception("could not prewarm a sandbox for %s", self.account_key)
            return
        finally:
            async with self._cond:
                self._starting -= 1
        async with self._cond:
            if self._closed:
                self._retire(proc)
            else:
                self._idle.append(proc)
            self._cond.notify_all()

    async def warm(self) -> None:
        """Start processes until the pool is full, and wait for them."""
        missing = self.settings.pool_size - self.size
        await asyncio.gather(*(self._prewarm_one() for _ in range(max(0, missing))))

    async def close_idle(self) -> None:
        async with self._cond:
            idle, self._idle = self._idle, []
            for proc in idle:
                self._retire(proc)
        await self._settle()

    async def close(self) -> None:
        async with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = list(self._busy)
            self._cond.notify_all()
        for proc in idle:
            self._retire(proc)
        for proc in busy:
            await proc.kill()
        await self._settle()

    async def _settle(self) -> None:
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
