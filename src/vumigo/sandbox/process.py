"""One sandbox node process: start it, drive runs through it one at a time, kill it.

A process is trusted with nothing. Each run has a wall-clock deadline, a cap on stdout plus
stderr, and ends at the first unknown command or malformed line; any of those, or the process
dying, kills it (the pool then replaces it). The host never waits on the process without a
deadline, including while writing to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
import subprocess
from dataclasses import dataclass, field
from typing import Any

from vumigo.sandbox.isolation import LaunchPlan
from vumigo.sandbox.limits import SandboxSettings
from vumigo.sandbox.protocol import (
    ANSWERED_IN_SANDBOX,
    DONE_COMMAND,
    READY_COMMAND,
    ProtocolError,
    ProtocolHandler,
    decode,
    encode,
    exit_command,
    failure,
    inbound_command,
    initialize_command,
)
from vumigo.sandbox.resources import UnknownCommand
from vumigo.sandbox.run import Outcome, Run, RunResult

logger = logging.getLogger(__name__)

STDERR_TAIL_BYTES = 16 * 1024
STDERR_LOG_LINES = 20


class SandboxStartError(Exception):
    """The process did not start, or did not say it was ready in time."""


class ProcessGone(Exception):
    """The process was dead before the run reached it: no app code ran, nothing was logged,
    and the run can be retried on another process."""


@dataclass(frozen=True)
class AppCode:
    """An app's JavaScript and the hash the sandboxer caches its compiled form under."""

    source: str
    hash: str = field(default="")

    def __post_init__(self) -> None:
        if not self.hash:
            digest = hashlib.sha256(self.source.encode("utf-8", "surrogatepass")).hexdigest()
            object.__setattr__(self, "hash", digest[:32])


@dataclass
class _RunState:
    run_id: int
    output: int = 0
    lines: int = 0
    over_limit: bool = False


class SandboxProcess:
    def __init__(
        self, plan: LaunchPlan, settings: SandboxSettings, handler: ProtocolHandler
    ) -> None:
        self.plan = plan
        self.settings = settings
        self.handler = handler
        self.runs = 0
        self.code_hashes: set[str] = set()
        self.pid: int | None = None
        self.uid: int | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self._stderr_tail = bytearray()
        self._current: _RunState | None = None
        self._idle_output = 0

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def start(self) -> None:
        self.uid = self.plan.allocate_uid()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self.plan.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self.plan.env,
                cwd=self.plan.cwd,
                preexec_fn=self.plan.preexec(self.uid),
                limit=self.settings.output_limit + 1,
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            self.plan.release_uid(self.uid)
            raise SandboxStartError(f"could not start node: {exc}") from exc
        self.pid = self._proc.pid
        self._stderr_task = asyncio.create_task(self._read_stderr())
        assert self._proc.stdout is not None
        try:
            line = await asyncio.wait_for(self._proc.stdout.readline(), self.settings.start_timeout)
            ready = decode(line) if line else None
        except (TimeoutError, ValueError, ProtocolError) as exc:
            await self.kill()
            raise SandboxStartError(f"sandbox did not start: {exc!r}") from exc
        if ready is None or ready.get("cmd") != READY_COMMAND:
            await self.kill()
            raise SandboxStartError(f"sandbox did not start: {self.stderr_text()[-500:]}")
        if ready.get("failed_modules"):
            logger.warning("sandbox could not load modules %s", ready["failed_modules"])

    def stderr_text(self) -> str:
        return self._stderr_tail.decode("utf-8", errors="replace")

    async def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        while chunk := await self._proc.stderr.read(65536):
            self._stderr_tail += chunk
            del self._stderr_tail[:-STDERR_TAIL_BYTES]
            state = self._current
            if state is not None:
                state.output += len(chunk)
                state.over_limit = state.over_limit or state.output > self.settings.output_limit
                if state.over_limit:
                    self._signal_kill()
            else:
                # Output between runs (a finished run's leftovers) gets the same budget.
                self._idle_output += len(chunk)
                if self._idle_output > self.settings.output_limit:
                    self._signal_kill()

    def _signal_kill(self) -> None:
        if self.alive:
            assert self._proc is not None
            self._proc.kill()

    async def kill(self) -> None:
        self._signal_kill()
        if self._proc is not None:
            await self._proc.wait()
            # Only now is the uid free: no process of it is left to be signalled.
            self.plan.release_uid(self.uid)
            self.uid = None
        if self._stderr_task is not None:
            # stderr reaches EOF once the process is gone; bounded in case a grandchild holds it.
            await asyncio.wait([self._stderr_task], timeout=1.0)

    async def stop(self) -> None:
        """Ask the sandboxer to exit; kill it if it does not within a second."""
        if self.alive:
            self._write(exit_command())
            assert self._proc is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._proc.wait(), 1.0)
        await self.kill()

    def _write(self, obj: dict[str, Any]) -> None:
        if self._proc is None or self._proc.stdin is None or not self.alive:
            return
        data = encode(obj)  # TypeError/ValueError for unencodable replies reach the caller
        # If the process is gone the write fails; the run loop sees EOF and reports that.
        with contextlib.suppress(ConnectionError, RuntimeError):
            self._proc.stdin.write(data)

    async def _drain(self) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        with contextlib.suppress(ConnectionError):
            await self._proc.stdin.drain()

    async def run(self, run: Run, code: AppCode) -> RunResult:
        loop = asyncio.get_running_loop()
        started = loop.time()
        self.runs += 1
        state = _RunState(self.runs)
        self._current = state
        tasks: set[asyncio.Task[None]] = set()
        try:
            outcome, error = await asyncio.wait_for(
                self._drive(run, code, state, tasks), self.settings.timeout
            )
        except TimeoutError:
            outcome = Outcome.TIMEOUT
            error = f"Sandbox timed out after {self.settings.timeout:g} seconds. Killing sandbox."
        finally:
            self._current = None
            for task in tasks:
                task.cancel()
        if outcome is not Outcome.DONE:
            await self.kill()
            if state.over_limit and outcome is Outcome.CRASHED:
                outcome = Outcome.OUTPUT_LIMIT
            if outcome is Outcome.OUTPUT_LIMIT:
                error = (
                    f"Sandbox output exceeded {self.settings.output_limit} bytes. Killing sandbox."
                )
            await run.log(logging.ERROR, error or "Sandbox failed.")
            await self._log_stderr(run)
        return RunResult(outcome, tuple(run.logs), error, loop.time() - started, self.pid)

    async def _log_stderr(self, run: Run) -> None:
        # The original logged a dead sandbox's stderr through the log resource: it is where an
        # uncaught exception's stack trace ends up.
        lines = [line for line in self.stderr_text().splitlines() if line.strip()]
        for line in lines[-STDERR_LOG_LINES:]:
            await run.log(logging.ERROR, line[:1000])

    def _exit_error(self) -> str:
        assert self._proc is not None
        code = self._proc.returncode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return f"Sandbox process was killed by {name}."
        return f"Sandbox process exited with status {code}."

    async def _drive(
        self, run: Run, code: AppCode, state: _RunState, tasks: set[asyncio.Task[None]]
    ) -> tuple[Outcome, str | None]:
        if not self.alive:
            raise ProcessGone(self._exit_error())
        assert self._proc is not None and self._proc.stdout is not None
        javascript = None if code.hash in self.code_hashes else code.source
        self._write(initialize_command(state.run_id, code.hash, javascript))
        self._write(inbound_command(state.run_id, run))
        self.code_hashes.add(code.hash)
        await self._drain()
        while True:
            try:
                line = await self._proc.stdout.readline()
            except ValueError:  # one line longer than the whole output budget
                state.over_limit = True
                return Outcome.OUTPUT_LIMIT, None
            if not line:
                await self._proc.wait()
                if state.lines == 0 and not state.over_limit:
                    # The sandboxer's first line of a run comes before any app code runs.
                    raise ProcessGone(self._exit_error())
                return Outcome.CRASHED, self._exit_error()
            state.lines += 1
            state.output += len(line)
            if state.over_limit or state.output > self.settings.output_limit:
                state.over_limit = True
                return Outcome.OUTPUT_LIMIT, None
            try:
                command = decode(line)
            except ProtocolError as exc:
                return Outcome.PROTOCOL_ERROR, f"{exc}. Killing sandbox."
            if command.get("run_id") != state.run_id or command.get("reply"):
                continue  # a finished run's straggler, or a reply we never asked for
            name = command["cmd"]
            if name == DONE_COMMAND:
                if tasks:
                    # Requests the app sent without waiting still take effect.
                    await asyncio.wait(tasks)
                return Outcome.DONE, None
            if name.startswith("sandbox."):
                continue
            problem = self.handler.unknown(command, run)
            if problem is not None:
                return Outcome.PROTOCOL_ERROR, problem
            task = asyncio.create_task(self._serve(command, run))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def _serve(self, command: dict[str, Any], run: Run) -> None:
        try:
            reply = await self.handler.dispatch(command, run)
        except UnknownCommand as exc:  # checked before dispatch; kept as a backstop
            await run.log(logging.ERROR, str(exc))
            self._signal_kill()
            return
        if reply is None or (
            command.get("answered") is True and command["cmd"] in ANSWERED_IN_SANDBOX
        ):
            return
        try:
            self._write(reply)
        except (TypeError, ValueError) as exc:  # e.g. NaN or an object JSON cannot hold
            self._write(failure(command, f"Reply could not be encoded: {exc}"))
        await self._drain()
