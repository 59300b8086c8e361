"""Escape and abuse: each attack is contained (the run ends, with a log line saying why) and a
bystander account's warm process carries on untouched.

The attacks assume the worst: the app has escaped the vm and holds node's real ``process``."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from vumigo.sandbox import Outcome, RunResult

from .conftest import HarnessFactory
from .helpers import FixtureServer, Harness, Route, example_app, user_message

ESCAPE = "var P = api.constructor.constructor('return process')();\n"
MENU = "Tea or coffee?\n1. Tea\n2. Coffee"


def attack(body: str) -> str:
    """An app that escapes the vm, then runs ``body`` when a message arrives; what it logs on
    success is a finding, what it logs or throws on failure is the expected outcome."""
    return ESCAPE + "api.on_inbound_message = function (cmd) {\n" + body + "\n};\n"


class Arena:
    """A harness with a bystander account whose process must survive every attack."""

    def __init__(self, harness: Harness) -> None:
        self.h = harness
        self.bystander_pid: int | None = None

    async def warm_bystander(self) -> None:
        result = await self.h.run("bystander", example_app("simple"), user_message(None))
        assert result.ok
        self.bystander_pid = result.pid

    async def attack(self, app: str, content: str | None = "go") -> RunResult:
        result = await self.h.run("attacker", app, user_message(content))
        assert result.logs, "the run must leave a log line"
        return result

    async def check_bystander(self) -> None:
        result = await self.h.run("bystander", example_app("simple"), user_message(None))
        assert result.ok and result.pid == self.bystander_pid
        assert self.h.last_reply("bystander").content == MENU


@pytest.fixture
async def arena(make_harness: HarnessFactory) -> AsyncIterator[Arena]:
    # A generous clock: each attack must fail for its own reason, even on a loaded CI machine.
    a = Arena(make_harness(timeout=20.0))
    await a.warm_bystander()
    yield a
    await a.check_bystander()


@pytest.fixture
async def short_clock_arena(make_harness: HarnessFactory) -> AsyncIterator[Arena]:
    a = Arena(make_harness(timeout=2.0))
    await a.warm_bystander()
    yield a
    await a.check_bystander()


def assert_crashed_with(result: RunResult, *texts: str) -> None:
    assert result.outcome is Outcome.CRASHED, (result.outcome, result.messages())
    errors = "\n".join(result.messages(logging.ERROR))
    for text in texts:
        assert text in errors


FS_ATTACKS = {
    "read /etc/passwd": "api.log_info(P.mainModule.require('fs').readFileSync('/etc/passwd', "
    "'utf8'));",
    "read host environ": "api.log_info(P.mainModule.require('fs').readFileSync("
    "'/proc/1/environ', 'utf8'));",
    "spawn a process": "api.log_info(String(P.mainModule.require('child_process')"
    ".execSync('id')));",
    "start a worker": "new (P.mainModule.require('worker_threads').Worker)('1', {eval: true});",
    "process.binding": "P.binding('spawn_sync');",
    "open the inspector": "P.mainModule.require('inspector').open(9229);",
}


@pytest.mark.parametrize("body", FS_ATTACKS.values(), ids=FS_ATTACKS.keys())
async def test_permission_model_blocks(arena: Arena, body: str) -> None:
    result = await arena.attack(attack(body))
    assert_crashed_with(result, "ERR_ACCESS_DENIED")
    assert not any("root:" in m or "uid=" in m for m in result.messages(logging.INFO))


async def test_write_a_file(arena: Arena) -> None:
    target = Path("/var/tmp") / f"sandbox-escape-{uuid.uuid4().hex}"
    result = await arena.attack(
        attack(f"P.mainModule.require('fs').writeFileSync('{target}', 'pwned');")
    )
    assert_crashed_with(result, "ERR_ACCESS_DENIED")
    assert not target.exists()


@pytest.fixture
def host_secret(monkeypatch: pytest.MonkeyPatch) -> str:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    monkeypatch.setenv("VUMIGO_TEST_SECRET", secret)
    return secret


async def test_host_environment_is_not_passed(arena: Arena, host_secret: str) -> None:
    result = await arena.attack(
        attack("api.log_info('env=' + JSON.stringify(P.env), function () { api.done(); });")
    )
    assert result.ok
    assert "env={}" in result.messages()
    assert not any(host_secret in m for m in result.messages())


async def test_signal_another_accounts_process(arena: Arena) -> None:
    if not arena.h.manager.isolation.unique_uids:
        pytest.skip("no per-process uids (host not root): sandboxes can signal each other")
    result = await arena.attack(
        attack("P.kill(Number(cmd.msg.content), 'SIGKILL'); api.log_info('killed it', api.done);"),
        content=str(arena.bystander_pid),
    )
    assert_crashed_with(result, "EPERM")


@pytest.fixture
async def tcp_listener() -> AsyncIterator[tuple[int, list[int]]]:
    accepted: list[int] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port, accepted
    server.close()
    await server.wait_closed()


CONNECT = """
var sock = P.mainModule.require('net').connect(%s);
sock.on('connect', function () { api.log_info('CONNECTED', api.done); });
sock.on('error', function (e) { api.log_info('blocked: ' + e.code, api.done); });
"""


async def test_tcp_to_a_local_port(arena: Arena, tcp_listener: tuple[int, list[int]]) -> None:
    if not arena.h.manager.isolation.network_namespace:
        pytest.skip("no network namespace on this machine: direct sockets are not blocked")
    port, accepted = tcp_listener
    result = await arena.attack(attack(CONNECT % f"{port}, '127.0.0.1'"))
    assert result.ok
    assert "CONNECTED" not in result.messages()
    assert any(m.startswith("blocked: ") for m in result.messages())
    await asyncio.sleep(0.1)
    assert accepted == []


@pytest.fixture
def unix_socket() -> Iterator[tuple[str, socket.socket]]:
    # In /dev/shm, not /tmp: /tmp stays visible to sandboxes when the platform itself is
    # installed under it (as a CI checkout may be), while /dev/shm is always hidden.
    path = f"/dev/shm/vumigo-test-{uuid.uuid4().hex}.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o666)
    server.listen()
    server.setblocking(False)
    yield path, server
    server.close()
    os.unlink(path)


async def test_world_writable_unix_socket(
    arena: Arena, unix_socket: tuple[str, socket.socket]
) -> None:
    if not arena.h.manager.isolation.mount_namespace:
        pytest.skip("no mount namespace on this machine: Unix sockets are not hidden")
    path, server = unix_socket
    result = await arena.attack(attack(CONNECT % f"'{path}'"))
    assert result.ok
    assert "blocked: ENOENT" in result.messages()
    with pytest.raises(BlockingIOError):
        server.accept()


async def test_http_to_loopback_without_allow_list(
    arena: Arena, fixture_server: FixtureServer
) -> None:
    fixture_server.routes["GET", "/admin"] = Route(200, b"secret")
    app = (
        attack(
            "api.request('http.get', {url: cmd.msg.content}, function (r) {"
            " api.log_error('http: ' + r.success + ' ' + (r.reason || r.body), api.done); });"
        )
        .replace("api.log_error(", "api.request('log.error', {msg: ")
        .replace(", api.done); });", "}, api.done); });")
    )
    result = await arena.attack(app, content=fixture_server.url("/admin"))
    assert result.ok
    (line,) = [m for m in result.messages() if m.startswith("http: ")]
    assert line.startswith("http: false Destination 127.0.0.1 (127.0.0.1) is not allowed")
    assert fixture_server.requests == []


async def test_infinite_loop(short_clock_arena: Arena) -> None:
    result = await short_clock_arena.attack(attack("while (true) {}"))
    assert result.outcome is Outcome.TIMEOUT
    assert result.error == "Sandbox timed out after 2 seconds. Killing sandbox."
    assert result.error in result.messages(logging.ERROR)
    assert result.elapsed < 4


@pytest.mark.parametrize(
    "body",
    [
        "var a = []; for (;;) { a.push(new Array(1e6).fill(7)); }",
        "var b = []; for (;;) { b.push(Buffer.alloc(64 * 1024 * 1024, 1)); }",
    ],
    ids=["js heap", "buffers"],
)
async def test_memory_bomb(arena: Arena, body: str) -> None:
    result = await arena.attack(attack(body))
    assert result.outcome is Outcome.CRASHED, result.error
    errors = "\n".join(result.messages(logging.ERROR)).lower()
    assert "memory" in errors or "allocation failed" in errors


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        (
            "for (var i = 0; i < 1000; i++) { api.log_info('x'.repeat(10000)); }",
            Outcome.OUTPUT_LIMIT,
        ),
        ("api.log_info('y'.repeat(2 * 1024 * 1024));", Outcome.OUTPUT_LIMIT),
        (
            "for (var i = 0; i < 50; i++) { P.stderr.write('z'.repeat(100000)); }",
            Outcome.OUTPUT_LIMIT,
        ),
        ("P.stdout.write('not json at all\\n');", Outcome.PROTOCOL_ERROR),
    ],
    ids=["many lines", "one huge line", "stderr", "garbage"],
)
async def test_output_flood(arena: Arena, body: str, outcome: Outcome) -> None:
    result = await arena.attack(attack(body))
    assert result.outcome is outcome
    assert result.error is not None and result.error in result.messages(logging.ERROR)


async def test_ten_thousand_and_one_kv_keys(arena: Arena) -> None:
    app = """
    api.on_inbound_message = function () {
        var i = 0;
        function next() {
            api.request('kv.set', {key: 'k' + i, value: i}, function (r) {
                if (!r.success) {
                    api.log_info('stopped at ' + i + ': ' + r.reason, api.done);
                    return;
                }
                i += 1;
                if (i > 10000) { api.log_info('no limit', api.done); return; }
                next();
            });
        }
        next();
    };
    """
    result = await arena.attack(app)
    assert result.ok, result.error
    assert "stopped at 10000: Too many keys" in result.messages()
    assert any("soft limit of 8000 keys" in m for m in result.messages(logging.WARNING))
    assert any("hard limit of 10000 keys" in m for m in result.messages(logging.ERROR))
    assert await arena.h.kv.count("attacker") == 10000
    assert await arena.h.kv.count("bystander") == 1  # its user record, nothing more
