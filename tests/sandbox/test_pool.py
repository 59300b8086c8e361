"""Warm pools: reuse, recycling, per-account separation, sizing, and the manager around them."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from dataclasses import replace

from vumigo.sandbox import Outcome, SandboxManager, SandboxSettings
from vumigo.sandbox.resources import Reply, Request, Resource, command
from vumigo.sandbox.run import Run

from .conftest import HarnessFactory
from .helpers import Harness, app_config, example_app, user_message

PID_APP = """
api.on_inbound_message = function (cmd) {
    api.log_info('content=' + cmd.msg.content, function () { api.done(); });
};
"""
CRASH_APP = "api.on_inbound_message = function () { throw new Error('app bug 42'); };"


def pid_of(h: Harness, account: str) -> int:
    (pid,) = h.manager.pool(account).pids()
    return pid


async def test_process_reused_then_recycled_after_n_messages(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness(messages_per_process=3)
    pids = []
    for i in range(7):
        result = await h.run("acct", PID_APP, user_message(str(i)))
        assert result.ok and f"content={i}" in result.messages()
        pids.append(result.pid)
    assert pids[0] == pids[1] == pids[2] != pids[3]
    assert pids[3] == pids[4] == pids[5] != pids[6]
    assert h.manager.pool("acct").stats.started == 3


async def test_recycled_after_error_and_stderr_logged(harness: Harness) -> None:
    await harness.run("acct", PID_APP, user_message("a"))
    first = pid_of(harness, "acct")
    result = await harness.run("acct", CRASH_APP, user_message("b"))
    assert result.outcome is Outcome.CRASHED
    assert result.error == "Sandbox process exited with status 1."
    errors = result.messages(logging.ERROR)
    assert any("app bug 42" in line for line in errors)
    stored = await harness.logs.recent("acct", "acct-conv")
    assert any("app bug 42" in line and "ERROR]" in line for line in stored)
    assert harness.manager.pool("acct").pids() == []  # the broken process is gone
    result = await harness.run("acct", PID_APP, user_message("c"))
    assert result.ok and pid_of(harness, "acct") != first


async def test_recycled_when_code_changes(harness: Harness) -> None:
    await harness.run("acct", PID_APP, user_message("a"))
    first = pid_of(harness, "acct")
    await harness.run("acct", PID_APP, user_message("b"))
    assert pid_of(harness, "acct") == first
    changed = PID_APP.replace("content=", "v2 content=")
    result = await harness.run("acct", changed, user_message("c"))
    assert result.ok and "v2 content=c" in result.messages()
    assert pid_of(harness, "acct") != first


async def test_accounts_never_share_a_process(harness: Harness) -> None:
    app = example_app("simple")
    for account in ("a1", "a2", "a1", "a2"):
        assert (await harness.run(account, app, user_message(None))).ok
    assert pid_of(harness, "a1") != pid_of(harness, "a2")
    assert harness.manager.pool("a1").stats.started == 1
    assert harness.manager.pool("a2").stats.started == 1


async def test_pool_size_bounds_concurrency(make_harness: HarnessFactory) -> None:
    slow = """api.on_inbound_message = function () {
        api.request('slow.wait', {}, function () { api.done(); });
    };"""
    active = 0
    peak = 0

    class Slow(Resource):
        name = "slow"

        @command("Wait a little.")
        async def wait(self, request: Request, run: Run) -> Reply:
            nonlocal active, peak
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(0.2)
            active -= 1
            return {}

    h = make_harness(pool_size=2, extra=[Slow()])
    results = await asyncio.gather(*(h.run("acct", slow, user_message(str(i))) for i in range(5)))
    assert all(r.ok for r in results)
    assert peak == 2
    assert len(h.manager.pool("acct").pids()) == 2


async def test_prewarm_replaces_a_retired_process(make_harness: HarnessFactory) -> None:
    h = make_harness(prewarm=True)
    await h.manager.warm("acct")
    pool = h.manager.pool("acct")
    assert pool.stats.started == 1 and len(pool.pids()) == 1
    await h.run("acct", CRASH_APP, user_message("x"))
    for _ in range(400):  # the replacement starts in the background
        if len(pool.pids()) == 1:
            break
        await asyncio.sleep(0.05)
    assert pool.stats.started == 2 and len(pool.pids()) == 1
    assert (await h.run("acct", PID_APP, user_message("y"))).ok
    assert pool.stats.started == 2  # the message did not wait for a start


async def test_process_dead_between_runs_is_replaced(harness: Harness) -> None:
    await harness.run("acct", PID_APP, user_message("a"))
    pid = pid_of(harness, "acct")
    os.kill(pid, signal.SIGKILL)  # the host has not noticed yet when the message comes
    result = await harness.run("acct", PID_APP, user_message("b"))
    assert result.ok and pid_of(harness, "acct") != pid
    assert result.messages(logging.ERROR) == []  # nothing ran in the dead process
    assert harness.manager.pool("acct").stats.started == 2


async def test_unknown_command_ends_the_run(harness: Harness) -> None:
    app = """api.on_inbound_message = function () {
        api.request('kv.explode', {}, function () { api.log_info('should not happen'); });
    };"""
    result = await harness.run("acct", app, user_message("x"))
    assert result.outcome is Outcome.PROTOCOL_ERROR
    assert result.error is not None
    assert "Resource kv received unknown command 'explode'" in result.error
    assert result.error in result.messages(logging.ERROR)
    assert "should not happen" not in result.messages()
    assert harness.manager.pool("acct").pids() == []
    assert (await harness.run("acct", PID_APP, user_message("y"))).ok


async def test_done_waits_for_requests_sent_without_waiting(harness: Harness) -> None:
    app = """api.on_inbound_message = function () {
        api.request('kv.set', {key: 'fire', value: 'forget'});
        api.done();
    };"""
    assert (await harness.run("acct", app, user_message("x"))).ok
    assert await harness.kv_value("acct", "fire") == "forget"


async def test_unencodable_reply_becomes_failure(make_harness: HarnessFactory) -> None:
    class Nan(Resource):
        name = "nan"

        @command("Reply with NaN.")
        async def get(self, request: Request, run: Run) -> Reply:
            return {"value": float("nan")}

    app = """api.on_inbound_message = function () {
        api.request('nan.get', {}, function (r) { api.log_info(r.success + ' ' + r.reason,
                                                               api.done); });
    };"""
    h = make_harness(extra=[Nan()])
    result = await h.run("acct", app, user_message("x"))
    assert result.ok
    assert any(m.startswith("false Reply could not be encoded") for m in result.messages())


async def test_start_failure_is_a_result_not_an_exception(
    sandbox_settings: SandboxSettings,
) -> None:
    broken = replace(sandbox_settings, node="/nonexistent/node")
    async with SandboxManager(broken) as manager:
        result = await manager.run("acct", PID_APP, app_config(), user_message("x"))
    assert result.outcome is Outcome.CRASHED
    assert result.error is not None and "could not start node" in result.error


async def test_idle_pools_are_closed(make_harness: HarnessFactory) -> None:
    h = make_harness(idle_timeout=0.1)
    await h.run("a1", PID_APP, user_message("x"))
    pid = pid_of(h, "a1")
    await asyncio.sleep(0.2)
    await h.run("a2", PID_APP, user_message("y"))  # runs trigger the sweep
    assert h.manager.accounts() == ["a2"]
    for _ in range(200):  # the pool is closed in the background
        if not os.path.exists(f"/proc/{pid}"):
            break
        await asyncio.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}")


async def test_least_recently_used_pool_closed_beyond_max_pools(
    make_harness: HarnessFactory,
) -> None:
    h = make_harness(max_pools=2)
    for account in ("a1", "a2", "a3"):
        await h.run(account, PID_APP, user_message("x"))
    assert h.manager.accounts() == ["a2", "a3"]


async def test_reap_on_a_timer(make_harness: HarnessFactory) -> None:
    h = make_harness(idle_timeout=0.1)
    await h.run("a1", PID_APP, user_message("x"))
    await asyncio.sleep(0.2)
    h.manager.reap()
    assert h.manager.accounts() == []


async def test_close_stops_everything(make_harness: HarnessFactory) -> None:
    h = make_harness()
    await h.run("a1", PID_APP, user_message("x"))
    pid = pid_of(h, "a1")
    await h.manager.close()
    await asyncio.sleep(0.1)
    assert not os.path.exists(f"/proc/{pid}")
