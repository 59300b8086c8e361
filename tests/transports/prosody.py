"""A private Prosody XMPP server for tests: loopback only, plain text, throwaway accounts.

Prosody refuses to run as root (its posix module aborts start-up while the ports are already
bound, so it looks up while broken), so as root it is run as the ``prosody`` user, which the
Debian package creates, in a folder that user owns.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

DOMAIN = "localhost"

CONFIG = """
pidfile = "{base}/prosody.pid"
data_path = "{base}/data"
log = {{ info = "{base}/prosody.log"; error = "{base}/prosody.err" }}
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
s2s_ports = {{ }}
component_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
modules_enabled = {{ "roster"; "saslauth"; "disco"; "ping"; "posix" }}
modules_disabled = {{ "s2s"; "tls" }}
VirtualHost "{domain}"
"""


@dataclass
class Prosody:
    base: Path
    port: int
    process: subprocess.Popen[bytes]

    @property
    def config(self) -> Path:
        return self.base / "prosody.cfg.lua"


def _as_prosody() -> list[str]:
    return ["runuser", "-u", "prosody", "--"] if os.geteuid() == 0 else []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _chown_tree(path: Path) -> None:
    for entry in [path, *path.rglob("*")]:
        shutil.chown(entry, "prosody", "prosody")


def start_prosody(accounts: dict[str, str]) -> Prosody:
    """Starts Prosody on a free port with ``accounts`` (user → password) registered."""
    if shutil.which("prosody") is None or shutil.which("prosodyctl") is None:
        pytest.skip("prosody is not installed (apt-get install prosody)")
    base = Path(tempfile.mkdtemp(prefix="vumigo-prosody-"))
    (base / "data").mkdir()
    port = _free_port()
    (base / "prosody.cfg.lua").write_text(CONFIG.format(base=base, port=port, domain=DOMAIN))
    if os.geteuid() == 0:
        _chown_tree(base)
    config = str(base / "prosody.cfg.lua")
    for user, password in accounts.items():
        subprocess.run(
            [*_as_prosody(), "prosodyctl", "--config", config, "register", user, DOMAIN, password],
            check=True,
            capture_output=True,
            timeout=30,
        )
    process = subprocess.Popen(
        [*_as_prosody(), "prosody", "--config", config, "-F"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Prosody(base, port, process)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.05)
    stop_prosody(server)
    raise RuntimeError(f"prosody did not start; see {base}/prosody.err")


def stop_prosody(server: Prosody) -> None:
    # The pid file holds prosody's own pid (under runuser, the Popen is runuser's).
    pidfile = server.base / "prosody.pid"
    try:
        os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
    except (OSError, ValueError):
        server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    shutil.rmtree(server.base, ignore_errors=True)
