"""Running the docs' Python examples and reading what long-running examples print."""

from __future__ import annotations

import contextlib
import io
import os
import queue
import runpy
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from unittest import mock


def run_python(path: Path, env: Mapping[str, str]) -> str:
    """Runs an example script in this process with ``env`` set; returns what it printed."""
    out = io.StringIO()
    with mock.patch.dict(os.environ, dict(env)), contextlib.redirect_stdout(out):
        runpy.run_path(str(path), run_name="__main__")
    return out.getvalue()


class Lines:
    """The lines a running process prints, readable with a time limit."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        stdout = proc.stdout

        def pump() -> None:
            for line in stdout:
                self.lines.put(line.rstrip("\n"))

        threading.Thread(target=pump, daemon=True).start()

    def next(self, timeout: float = 15) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            stderr = ""
            if self.proc.poll() is not None and self.proc.stderr is not None:
                stderr = self.proc.stderr.read()
            raise AssertionError(f"nothing printed in {timeout} s; stderr: {stderr!r}") from None


@contextlib.contextmanager
def running(proc: subprocess.Popen[str]) -> Iterator[Lines]:
    """Yields the process's output; stops its whole process group afterwards (a script's
    curl outlives bash otherwise, and keeps its stream open)."""
    try:
        yield Lines(proc)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def wait_until(check: object, timeout: float = 15, every: float = 0.05) -> None:
    """Polls ``check()`` until it is true."""
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(every)
