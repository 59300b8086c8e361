"""Runs the docs' shell scripts for real, with ``vumigo`` answered by this test process.

A script is run by bash, exactly as a reader would run it; only the ``vumigo`` it finds on its
PATH is a small stand-in that hands its arguments to :class:`CliBridge`, which runs the real
command (``vumigo.cli``, through click's test runner) in this process and hands back its
output and exit status. The commands are the same code; what is saved is a Python start-up
with every import for each command, about two seconds each.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from vumigo.cli import cli

# The stand-in: standard library only, and started with -SE so it loads nothing else.
SHIM = """#!{python} -SE
import json, os, sys, urllib.request
cwd = os.getcwd()
args = [
    os.path.join(cwd, a) if not a.startswith("-") and os.path.isfile(os.path.join(cwd, a)) else a
    for a in sys.argv[1:]
]
stdin = sys.stdin.read() if "-" in args else ""
body = json.dumps({{"args": args, "stdin": stdin}}).encode()
with urllib.request.urlopen("http://127.0.0.1:{port}/", body, timeout=120) as answer:
    result = json.load(answer)
sys.stdout.write(result["stdout"])
sys.stderr.write(result["stderr"])
sys.exit(result["code"])
"""


class CliBridge:
    """Serves ``vumigo`` commands to the stand-in on a loopback port, one at a time."""

    def __init__(self, folder: Path) -> None:
        self.calls: list[list[str]] = []
        self._lock = threading.Lock()
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                answer = json.dumps(bridge.run(request["args"], request["stdin"])).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.bin = folder / "bin"
        self.bin.mkdir(parents=True, exist_ok=True)
        shim = self.bin / "vumigo"
        shim.write_text(SHIM.format(python=sys.executable, port=self.server.server_address[1]))
        shim.chmod(shim.stat().st_mode | stat.S_IXUSR)

    def run(self, args: list[str], stdin: str = "") -> dict[str, Any]:
        with self._lock:
            self.calls.append(args)
            result = CliRunner().invoke(cli, args, input=stdin or None, catch_exceptions=False)
            return {"stdout": result.stdout, "stderr": result.stderr, "code": result.exit_code}

    def vumigo(self, *args: str) -> str:
        """Runs one command here; returns its output, failing the test if the command failed."""
        result = self.run(list(args))
        assert result["code"] == 0, (args, result)
        return str(result["stdout"]).strip()

    def script(
        self,
        path: Path,
        env: Mapping[str, str],
        timeout: float = 60,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Runs a shell script with bash in its own folder, ``vumigo`` being the stand-in."""
        full_env = {**os.environ, **env, "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}"}
        done = subprocess.run(
            ["bash", path.name],
            cwd=path.parent,
            env=full_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert done.returncode == 0, (path.name, done.stdout, done.stderr)
        return done

    def popen(self, path: Path, env: Mapping[str, str]) -> subprocess.Popen[str]:
        """Starts a long-running script (a stream, a push receiver) in a process group of its
        own, so that stopping it stops what it started too (see ``examples.running``)."""
        full_env = {**os.environ, **env, "PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}"}
        command = ["bash", path.name] if path.suffix == ".sh" else [sys.executable, path.name]
        return subprocess.Popen(
            command,
            cwd=path.parent,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
