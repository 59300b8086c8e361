"""Jasmin SMS gateway for the comparison: installed from PyPI into its own venv, run privately.

``install`` makes (or reuses) a venv under the scratch folder with the pinned release;
``Jasmin.start`` writes a jasmin.cfg with every listener on a free 127.0.0.1 port, starts jasmind
and the deliversmd daemon (the MO HTTP thrower, run apart as Jasmin's own help recommends) against
the given RabbitMQ and Redis, then configures it through its jCli console: a user, an SMPP client
connector to the simulator, an HTTP connector to the push receiver, and default MT and MO routes.

Settings chosen, and why (printed with the results; see docs/benchmarks.md):

- connector ``submit_throughput 0``: no rate cap (the default is 1 submit_sm per second);
- connector and every daemon section at log level WARNING, the HTTP access log off: Jasmin logs
  each message at INFO by default, which a tuned installation turns down;
- ``billing_feature = False`` on the HTTP API: the comparison uses no billing;
- the user has no quotas (unlimited balance, http_throughput unset, i.e. not throttled).
Everything else is Jasmin's default, e.g. the consumer prefetch of 1 per connector, which is
hard-coded.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from services import free_port, wait_port

VERSION = "0.11.1"
USER, PASSWORD = "bench", "benchpw"
CONNECTOR = "smsc"
SYSTEM_ID = "jasmin"  # what Jasmin binds to the simulator as
HTTP_CONNECTOR = "pushrcv"
CONFIRMATIONS = (
    "Successfully added Group",
    "Successfully added User",
    "Successfully added connector",
    "Successfully started connector",
    "Successfully added Httpcc",
    "Successfully added MTRoute",
    "Successfully added MORoute",
)
SETTINGS = (
    f"Jasmin {VERSION} (jasmind + deliversmd, RabbitMQ, Redis): one SMPP client connector "
    "(transceiver, submit_throughput 0 = uncapped, consumer prefetch 1 as hard-coded), log level "
    "WARNING everywhere, HTTP access log off, HTTP API billing off, user without quotas"
)


def install(scratch: Path) -> Path:
    """The venv holding Jasmin VERSION, made on first use (about 45 s)."""
    venv = scratch / f"jasmin-{VERSION}-venv"
    python = venv / "bin" / "python"
    if (venv / "bin" / "jasmind.py").exists() and (venv / ".installed").exists():
        return venv
    print(f"installing jasmin=={VERSION} into {venv}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            f"jasmin=={VERSION}",
        ],
        check=True,
    )
    (venv / ".installed").touch()
    return venv


def _config(root: Path, amqp_port: int, redis_port: int, ports: dict[str, int], spec: Path) -> str:
    quiet = "log_level = WARNING\n"
    return f"""\
[smpp-server]
id = smpps_01
bind = 127.0.0.1
port = {ports["smpps"]}
{quiet}
[smpp-server-pb]
bind = 127.0.0.1
port = {ports["smpps_pb"]}
{quiet}
[client-management]
bind = 127.0.0.1
port = {ports["smppcm"]}
{quiet}
[sm-listener]
{quiet}
[dlr]
{quiet}
[router]
bind = 127.0.0.1
port = {ports["router"]}
{quiet}
[http-api]
bind = 127.0.0.1
port = {ports["http"]}
billing_feature = False
access_log = None
{quiet}
[jcli]
bind = 127.0.0.1
port = {ports["jcli"]}
authentication = False
{quiet}
[amqp-broker]
host = 127.0.0.1
port = {amqp_port}
spec = {spec}
{quiet}
[redis-client]
host = 127.0.0.1
port = {redis_port}
{quiet}
[deliversm-thrower]
{quiet}
[smpp-server-pb-client]
host = 127.0.0.1
port = {ports["smpps_pb"]}
[service-smppclient]
{quiet}
"""


class JCli:
    """Jasmin's telnet console: send a line, read up to the next prompt."""

    PROMPTS = (b"jcli : ", b"> ")

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.sock.sendall(b"\r\n")  # the console speaks once it has heard a line
        self._read()

    def _read(self) -> str:
        data = b""
        while not data.rstrip(b"\r\n").endswith(self.PROMPTS) or data.endswith(b"\n"):
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            data += chunk
            if any(data.endswith(p) for p in self.PROMPTS):
                break
        return data.decode("utf-8", "replace")

    def run(self, *lines: str) -> str:
        out = ""
        for line in lines:
            self.sock.sendall(line.encode() + b"\r\n")
            out += self._read()
        return out

    def close(self) -> None:
        self.sock.sendall(b"quit\r\n")
        self.sock.close()


class Jasmin:
    def __init__(self, venv: Path, root: Path, amqp_port: int, redis_port: int) -> None:
        self.venv = venv
        self.root = root
        self.amqp_port = amqp_port
        self.redis_port = redis_port
        self.ports = {
            name: free_port() for name in ("smpps", "smpps_pb", "smppcm", "router", "http", "jcli")
        }
        self.http_url = f"http://127.0.0.1:{self.ports['http']}/send"
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def start(self) -> None:
        etc = self.root / "etc" / "jasmin"
        for sub in (etc / "store", etc / "resource", self.root / "var" / "log" / "jasmin"):
            sub.mkdir(parents=True, exist_ok=True)
        # The PyPI package ships no AMQP spec file; txAMQP (a dependency) has the same one.
        site = next((self.venv / "lib").glob("python3*/site-packages"))
        spec = site / "txamqp" / "specs" / "standard" / "amqp0-9-1.stripped.xml"
        cfg = etc / "jasmin.cfg"
        cfg.write_text(_config(self.root, self.amqp_port, self.redis_port, self.ports, spec))
        env = {**os.environ, "ROOT_PATH": str(self.root), "CONFIG_PATH": f"{etc}/"}
        python, bin_dir = str(self.venv / "bin" / "python"), self.venv / "bin"
        log = open(self.root / "daemons.log", "ab")  # noqa: SIM115 (the daemons keep it open)
        self.processes.append(
            subprocess.Popen(
                [python, str(bin_dir / "jasmind.py"), "-c", str(cfg)],
                env=env,
                stdout=log,
                stderr=log,
            )
        )
        alive = self.processes[0].poll
        try:
            wait_port(self.ports["jcli"], 60, "jasmind", lambda: alive() is None)
        except RuntimeError as exc:
            # e.g. "Lock not acquired": jasmind allows one instance per machine (/tmp/jasmind).
            tail = (self.root / "daemons.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{exc}; its output:\n{tail}") from None
        wait_port(self.ports["http"], 30, "jasmind's HTTP API")
        self.processes.append(
            subprocess.Popen(
                [
                    python,
                    str(bin_dir / "deliversmd.py"),
                    "-c",
                    str(cfg),
                    "-i",
                    f"b{self.ports['jcli']}",
                ],
                env=env,
                stdout=log,
                stderr=log,
            )
        )

    def configure(self, smsc_port: int, push_url: str) -> str:
        """Sets up the user, connectors and routes; returns the console's answers."""
        cli = JCli(self.ports["jcli"])
        try:
            out = cli.run(
                "group -a", "gid bench", "ok",
                "user -a", f"username {USER}", f"password {PASSWORD}", "gid bench", "uid bench",
                "ok",
                "smppccm -a", f"cid {CONNECTOR}", "host 127.0.0.1", f"port {smsc_port}",
                f"username {SYSTEM_ID}", "password pw", "submit_throughput 0", "loglevel 30",
                "ok",
                f"smppccm -1 {CONNECTOR}",
                "httpccm -a", f"cid {HTTP_CONNECTOR}", f"url {push_url}", "method POST", "ok",
                "mtrouter -a", "type defaultroute", f"connector smppc({CONNECTOR})", "rate 0.00",
                "ok",
                "morouter -a", "type defaultroute", f"connector http({HTTP_CONNECTOR})", "ok",
            )  # fmt: skip
        finally:
            cli.close()
        for marker in CONFIRMATIONS:
            if marker not in out:
                raise RuntimeError(f"jCli did not confirm the set-up:\n{out}")
        return out

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
