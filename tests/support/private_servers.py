"""A PostgreSQL or RabbitMQ server of a test's own, that the test may stop and start again.

Set up as ``scripts/services.sh`` sets up the suite's shared servers (same settings, loopback
only), but one at a time and restartable on the same port with the same data, so a fault test
can take its server away without disturbing anyone else's.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.live import free_port


def _as_user(user: str, command: list[str]) -> list[str]:
    """``command`` run as ``user`` when we are root (the servers refuse to run as root)."""
    if os.getuid() != 0:
        return command
    return ["su", user, "-s", "/bin/sh", "-c", subprocess.list2cmdline(command)]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _scratch(prefix: str) -> Path:
    # Not under pytest's tmp_path: its folders are private to us, and the servers run as
    # their own users.
    base = Path(tempfile.mkdtemp(prefix=prefix))
    base.chmod(0o755)
    return base


class PrivatePostgres:
    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not found:
            raise RuntimeError("PostgreSQL's initdb is not installed")
        self.bin = found[-1].parent
        self.base = _scratch("vumigo-pg-")
        self.data = self.base / "data"
        self.port = free_port()
        if os.getuid() == 0:
            shutil.chown(self.base, "postgres")
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync",
            "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = _as_user("postgres", [str(self.bin / tool), *args])
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        log = str(self.base / "pg.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        """A fast shutdown: clients are disconnected, as when the server goes away."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


class PrivateRabbit:
    def __init__(self) -> None:
        if shutil.which("rabbitmq-server") is None:
            raise RuntimeError("rabbitmq-server is not installed")
        self.base = _scratch("vumigo-rabbit-")
        self.port = free_port()
        dist = free_port()
        for sub in ("mnesia", "log"):
            (self.base / sub).mkdir()
        if os.getuid() == 0:
            for path in (self.base, self.base / "mnesia", self.base / "log"):
                shutil.chown(path, "rabbitmq", "rabbitmq")
        self.pid_file = self.base / "rabbit.pid"
        self.env = {
            **os.environ,
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_NODENAME": f"vumitest{self.port}@localhost",
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(dist),
            "RABBITMQ_PID_FILE": str(self.pid_file),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-rabbit disk_free_limit 50000000",
        }

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def start(self, timeout: float = 60.0) -> None:
        """Starts the node (again, with its queues and persistent messages) and waits for it."""
        subprocess.run(
            ["rabbitmq-server", "-detached"], env=self.env, check=True, capture_output=True
        )
        deadline = time.monotonic() + timeout
        while not _port_open(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError(f"RabbitMQ did not start; see {self.base / 'log'}")
            time.sleep(0.1)

    def stop(self, timeout: float = 30.0) -> None:
        """Stops the node and waits until it is gone."""
        pid = self._pid()
        if pid is None:
            return
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, 9)
        self.pid_file.unlink(missing_ok=True)

    def running(self) -> bool:
        pid = self._pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True

    def _pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def remove(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.base, ignore_errors=True)
