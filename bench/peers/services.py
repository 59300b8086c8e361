"""The servers the gateway comparison needs, each private to one run, and what they cost.

- ``Rabbit`` and ``Redis``: a RabbitMQ node and a Redis server on free loopback ports with their
  data under a scratch folder (the same recipe as scripts/services.sh), for Jasmin.
- ``ensure_packages``: installs the Debian packages that are missing, as scripts/system-deps.sh
  does for the test suite's servers.
- ``Usage``: CPU seconds and peak resident memory of a set of process trees, read from /proc
  (the whole tree under each root, so a daemon's helpers count too).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(
    port: int, timeout: float, what: str, alive: Callable[[], bool] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if alive is not None and not alive():
                raise RuntimeError(f"{what} exited before listening on {port}") from None
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout:.0f}s")


def ensure_packages(commands: dict[str, str]) -> None:
    """apt-get installs the package of each command (name → package) not on the PATH."""
    missing = sorted({pkg for cmd, pkg in commands.items() if shutil.which(cmd) is None})
    if not missing:
        return
    if os.geteuid() != 0:
        raise RuntimeError(f"missing system packages: {' '.join(missing)} (install them as root)")
    print(f"installing system packages: {' '.join(missing)}", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300"]
    subprocess.run([*apt, "update", "-qq"], check=True, env=env)
    subprocess.run(
        [*apt, "install", "-y", "-qq", "--no-install-recommends", *missing],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def _own(path: Path, user: str) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, user, user)
        for child in path.rglob("*"):
            shutil.chown(child, user, user)


class Rabbit:
    """A RabbitMQ node of its own: own node name, ports, data and log folders."""

    def __init__(self, base: Path) -> None:
        self.base = base / "rabbit"
        self.port = free_port()
        self.pid = 0

    def start(self) -> None:
        for sub in ("mnesia", "log"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        _own(self.base, "rabbitmq")
        pidfile = self.base / "rabbit.pid"
        env = {
            **os.environ,
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_NODENAME": f"vumibench{self.port}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_PID_FILE": str(pidfile),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-rabbit disk_free_limit 50000000",
        }
        with open(self.base / "start.log", "wb") as log:
            subprocess.run(["rabbitmq-server", "-detached"], env=env, stdout=log, stderr=log)
        wait_port(self.port, 120, "RabbitMQ")
        deadline = time.monotonic() + 30
        while not self.pid and time.monotonic() < deadline:
            try:
                self.pid = int(pidfile.read_text().strip())
            except (OSError, ValueError):
                time.sleep(0.1)
        if not self.pid:
            raise RuntimeError(f"RabbitMQ wrote no pid file; see {self.base / 'log'}")

    def stop(self) -> None:
        _terminate(self.pid, 15)


class Redis:
    def __init__(self, base: Path) -> None:
        self.base = base / "redis"
        self.port = free_port()
        self.pid = 0

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        pidfile = self.base / "redis.pid"
        subprocess.run(
            [
                "redis-server",
                "--daemonize", "yes",
                "--bind", "127.0.0.1",
                "--port", str(self.port),
                "--dir", str(self.base),
                "--pidfile", str(pidfile),
                "--logfile", str(self.base / "redis.log"),
                "--save", "",
                "--appendonly", "no",
            ],
            check=True,
        )  # fmt: skip
        wait_port(self.port, 30, "Redis")
        deadline = time.monotonic() + 10
        while not self.pid and time.monotonic() < deadline:
            try:
                self.pid = int(pidfile.read_text().strip())
            except (OSError, ValueError):
                time.sleep(0.05)

    def stop(self) -> None:
        _terminate(self.pid, 10)


def _terminate(pid: int, timeout: float) -> None:
    if not pid:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


# -- what processes cost ----------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def tree_of(roots: Iterable[int]) -> set[int]:
    """The roots and all their descendants that are alive now."""
    children = _children()
    found: set[int] = set()
    todo = [pid for pid in roots if pid]
    while todo:
        pid = todo.pop()
        if pid in found:
            continue
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and of its children that it has waited for."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # After the command: state ppid ... utime(12) stime(13) cutime(14) cstime(15), 0-based.
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / CLOCK_TICKS


def rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


@dataclass
class Cost:
    cpu_seconds: float
    peak_rss: int  # bytes: the largest sum over the trees' processes seen while sampling


class Usage:
    """Samples named process trees while a run goes on: CPU used and peak resident memory."""

    def __init__(self, groups: dict[str, list[int]], interval: float = 0.2) -> None:
        self.groups = groups
        self.interval = interval
        self._start: dict[str, dict[int, float]] = {}
        self._last: dict[str, dict[int, float]] = {}
        self._peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> None:
        for name, roots in self.groups.items():
            pids = tree_of(roots)
            cpu = {pid: cpu_seconds(pid) for pid in pids}
            self._start.setdefault(name, dict(cpu))
            last = self._last.setdefault(name, {})
            last.update(cpu)
            total = sum(rss_bytes(pid) for pid in pids)
            self._peak[name] = max(self._peak.get(name, 0), total)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> Usage:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def cost(self, name: str) -> Cost:
        start, last = self._start.get(name, {}), self._last.get(name, {})
        # A process born during the run counts from zero; one that ended counts to its last sample.
        used = sum(value - start.get(pid, 0.0) for pid, value in last.items())
        return Cost(used, self._peak.get(name, 0))
