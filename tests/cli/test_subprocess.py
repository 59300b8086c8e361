"""The installed ``vumigo`` script, run for real: a private data folder, real exit statuses,
and ``vumigo serve`` answering /health."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

VUMIGO = Path(sys.executable).parent / "vumigo"


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VUMIGO_")}
    env["VUMIGO_DATA_DIR"] = str(data_dir)
    return env


def vumigo(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VUMIGO), *args],
        env=_env(data_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_script_with_its_own_data_folder(tmp_path: Path) -> None:
    data = tmp_path / "var"
    assert vumigo(data, "migrate").returncode == 0
    assert (data / "vumigo.db").exists()

    made = vumigo(data, "user", "create", "--email", "op@example.org", "--password", "pw")
    assert made.returncode == 0, made.stderr
    account = made.stdout.strip()
    again = vumigo(data, "user", "create", "--email", "OP@example.org", "--password", "pw")
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr == "error: a user with e-mail op@example.org already exists\n"
    assert len(account) == 32


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_answers_health(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [str(VUMIGO), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(tmp_path / "var"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        status = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code
                break
            except httpx.TransportError:
                time.sleep(0.1)
        if status != 200:
            assert server.stderr is not None
            pytest.fail(server.stderr.read() if server.poll() is not None else "no answer in 30 s")
        assert (tmp_path / "var" / "vumigo.db").exists()  # serve migrated by itself
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
