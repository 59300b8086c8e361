"""sandboxer.js on the wire: the original protocol as the app sees it, plus run ids, code
caching and fresh contexts for warm reuse. The process is started exactly as in production."""

from __future__ import annotations

import json
from typing import Any

from .helpers import RawSandbox, user_message


def init(
    run_id: int, javascript: str | None, code_hash: str = "h1", **extra: Any
) -> dict[str, Any]:
    cmd = {
        "cmd": "initialize",
        "cmd_id": "i",
        "reply": False,
        "run_id": run_id,
        "code_hash": code_hash,
        "app_context": {},
        **extra,
    }
    if javascript is not None:
        cmd["javascript"] = javascript
    return cmd


def inbound(run_id: int, msg: dict[str, Any], cmd: str = "inbound-message") -> dict[str, Any]:
    return {"cmd": cmd, "cmd_id": "m", "reply": False, "run_id": run_id, "msg": msg}


async def start(
    raw: RawSandbox, run_id: int, js: str | None, msg: dict[str, Any] | None = None, **extra: Any
) -> None:
    await raw.send(init(run_id, js, **extra))
    await raw.send(inbound(run_id, msg or user_message("hi")))
    loading = await raw.recv()
    assert (loading["cmd"], loading["msg"], loading["run_id"]) == (
        "log.info",
        "Loading sandboxed code ...",
        run_id,
    )


async def expect(raw: RawSandbox, cmd: str) -> dict[str, Any]:
    line = await raw.recv()
    assert line["cmd"] == cmd, line
    return line


async def finish(raw: RawSandbox, run_id: int) -> None:
    """Answer the "Done." log and check the run ends with js.done."""
    done_log = await expect(raw, "log.info")
    assert done_log["msg"] == "Done." and done_log["run_id"] == run_id
    await raw.reply(done_log)
    js_done = await expect(raw, "js.done")
    assert js_done["run_id"] == run_id and js_done["reply"] is False


ECHO_APP = """
api.on_inbound_message = function (cmd) {
    api.request('kv.get', {key: 'k'}, function (reply) {
        api.log_info(JSON.stringify({reply: reply, keys: Object.keys(cmd).sort(),
                                     content: cmd.msg.content}), function () { api.done(); });
    });
};
"""


async def test_ready_line(raw_sandbox: RawSandbox) -> None:
    ready = await raw_sandbox.recv()
    assert ready["cmd"] == "sandbox.ready" and ready["run_id"] is None
    assert ready["reply"] is False and ready["failed_modules"] == []


async def test_request_reply_cycle(raw_sandbox: RawSandbox) -> None:
    await raw_sandbox.recv()
    await start(raw_sandbox, 1, ECHO_APP)
    get = await expect(raw_sandbox, "kv.get")
    # Fields at top level, an incrementing decimal cmd_id per run, reply false.
    assert get == {"cmd": "kv.get", "cmd_id": "2", "reply": False, "key": "k", "run_id": 1}
    await raw_sandbox.reply(get, value={"a": 1})
    log = await expect(raw_sandbox, "log.info")
    seen = json.loads(log["msg"])
    # The app sees the original fields only: no run_id on replies or commands.
    assert seen["reply"] == {
        "cmd": "kv.get",
        "cmd_id": "2",
        "reply": True,
        "success": True,
        "value": {"a": 1},
    }
    assert seen["keys"] == ["cmd", "cmd_id", "msg", "reply"]
    assert seen["content"] == "hi"
    await raw_sandbox.reply(log)
    await finish(raw_sandbox, 1)


async def test_non_ascii_goes_in_escaped_and_comes_back_utf8(raw_sandbox: RawSandbox) -> None:
    await raw_sandbox.recv()
    await start(raw_sandbox, 1, ECHO_APP, user_message("café ☕ ñ"))
    await raw_sandbox.reply(await expect(raw_sandbox, "kv.get"), value="ü")
    raw = await raw_sandbox.recv_raw()
    assert "café ☕ ñ".encode() in raw  # UTF-8 on the way back, not \\u escapes
    assert json.loads(json.loads(raw)["msg"])["reply"]["value"] == "ü"


async def test_replies_matched_by_cmd_id_in_any_order(raw_sandbox: RawSandbox) -> None:
    app = """
    api.on_inbound_message = function () {
        var got = [];
        function check() { if (got.length === 2) { api.log_info(got.join(','), api.done); } }
        api.request('kv.get', {key: 'a'}, function (r) { got.push('a=' + r.value); check(); });
        api.request('kv.get', {key: 'b'}, function (r) { got.push('b=' + r.value); check(); });
    };
    """
    await raw_sandbox.recv()
    await start(raw_sandbox, 1, app)
    first, second = await expect(raw_sandbox, "kv.get"), await expect(raw_sandbox, "kv.get")
    await raw_sandbox.reply({**second, "cmd_id": "99"}, value="nobody")  # unknown id: ignored
    await raw_sandbox.reply({**first, "run_id": 0}, value="stale")  # another run: ignored
    await raw_sandbox.reply(second, value="B")
    await raw_sandbox.reply(first, value="A")
    log = await expect(raw_sandbox, "log.info")
    assert log["msg"] == "b=B,a=A"


async def test_fresh_context_per_run_and_cached_code(raw_sandbox: RawSandbox) -> None:
    app = """
    var before = typeof leaked;
    leaked = 'yes';
    api.on_inbound_message = function () { api.log_info('before=' + before, api.done); };
    """
    await raw_sandbox.recv()
    for run_id in (1, 2, 3):
        # The code crosses the pipe once; later runs name it by hash.
        await start(raw_sandbox, run_id, app if run_id == 1 else None)
        log = await expect(raw_sandbox, "log.info")
        assert log["msg"] == "before=undefined" and log["run_id"] == run_id
        await raw_sandbox.reply(log)
        await finish(raw_sandbox, run_id)


async def test_finished_run_cannot_talk(raw_sandbox: RawSandbox) -> None:
    # Modules are shared between runs (as in the original's reused processes), so a run can
    # leave its api behind; once the run is over, that api is mute.
    app = """
    var q = require('q');
    api.on_inbound_message = function () {
        if (q.__old) { q.__old.log_info('from the past'); }
        q.__old = api;
        api.log_info('now', api.done);
    };
    """
    await raw_sandbox.recv()
    for run_id in (1, 2):
        await start(raw_sandbox, run_id, app if run_id == 1 else None)
        log = await expect(raw_sandbox, "log.info")
        assert (log["msg"], log["run_id"]) == ("now", run_id)
        await raw_sandbox.reply(log)
        await finish(raw_sandbox, run_id)


async def test_require_whitelist(raw_sandbox: RawSandbox) -> None:
    app = """
    var names = ['vumigo_v02', 'q', 'jed', 'lodash', 'moment', 'fs', 'child_process', 'net',
                 'vm', 'module', '../../../etc/passwd', 'smpp'];
    var out = names.map(function (n) { return n + ':' + (require(n) !== null); });
    api.on_inbound_message = function () {
        api.log_info(out.join(' ') + ' process:' + typeof process + ' setTimeout:' +
                     typeof setTimeout, api.done);
    };
    """
    await raw_sandbox.recv()
    await start(raw_sandbox, 1, app)
    log = await expect(raw_sandbox, "log.info")
    assert log["msg"] == (
        "vumigo_v02:true q:true jed:true lodash:true moment:true fs:false "
        "child_process:false net:false vm:false module:false ../../../etc/passwd:false "
        "smpp:false process:undefined setTimeout:undefined"
    )


async def test_app_context_narrows_modules(raw_sandbox: RawSandbox) -> None:
    app = """api.on_inbound_message = function () {
        api.log_info(String(require('q') !== null) + String(require('lodash') !== null), api.done);
    };"""
    await raw_sandbox.recv()
    await start(raw_sandbox, 1, app, app_context={"modules": ["q"]})
    assert (await expect(raw_sandbox, "log.info"))["msg"] == "truefalse"


async def test_events_and_unknown_host_commands(raw_sandbox: RawSandbox) -> None:
    app = """
    api.on_inbound_event = function (cmd) { api.log_info('event ' + cmd.msg.event_type); };
    api['on_inbound_custom_cmd-x'] = function (cmd) { api.log_info('custom ' + cmd.cmd); };
    """
    await raw_sandbox.recv()
    await raw_sandbox.send(init(1, app))
    await raw_sandbox.send(inbound(1, {"event_type": "ack"}, cmd="inbound-event"))
    await expect(raw_sandbox, "log.info")  # Loading ...
    assert (await expect(raw_sandbox, "log.info"))["msg"] == "event ack"
    # Only the first "." and the first "-" become "_".
    await raw_sandbox.send(inbound(1, {}, cmd="inbound.custom-cmd-x"))
    assert (await expect(raw_sandbox, "log.info"))["msg"] == "custom inbound.custom-cmd-x"
    # No handler at all: the default logs an error and ends the run.
    await raw_sandbox.send(inbound(1, {}, cmd="mystery"))
    error = await expect(raw_sandbox, "log.error")
    assert error["msg"].startswith("Received unknown command: ")
    await finish(raw_sandbox, 1)


async def test_commands_before_initialize_are_dropped(raw_sandbox: RawSandbox) -> None:
    await raw_sandbox.recv()
    await raw_sandbox.send(inbound(1, user_message("early")))
    await start(raw_sandbox, 1, ECHO_APP)
    assert (await expect(raw_sandbox, "kv.get"))["run_id"] == 1


async def test_exit(raw_sandbox: RawSandbox) -> None:
    await raw_sandbox.recv()
    await raw_sandbox.send({"cmd": "exit", "cmd_id": "e", "reply": False, "run_id": None})
    assert await raw_sandbox.proc.wait() == 0


async def test_bad_line_crashes(raw_sandbox: RawSandbox) -> None:
    await raw_sandbox.recv()
    await raw_sandbox.send_raw(b"{not json\n")
    assert await raw_sandbox.proc.wait() != 0


async def test_throwing_app_crashes_with_stack_on_stderr(raw_sandbox: RawSandbox) -> None:
    await raw_sandbox.recv()
    await start(raw_sandbox, 1, "api.on_inbound_message = function () { undefined_fn(); };")
    assert await raw_sandbox.proc.wait() != 0
    assert raw_sandbox.proc.stderr is not None
    assert b"undefined_fn is not defined" in await raw_sandbox.proc.stderr.read()


async def test_unknown_code_hash_without_code_crashes(raw_sandbox: RawSandbox) -> None:
    await raw_sandbox.recv()
    await raw_sandbox.send(init(1, None, code_hash="never-sent"))
    assert await raw_sandbox.proc.wait() != 0


LOGGING_APP = """
api.on_inbound_message = function (cmd) {
    api.log_info('first', function (reply) {
        api.request('log.info', {}, function (refused) {
            api.request('kv.get', {key: JSON.stringify([reply, refused.success])}, function () {
                api.done();
            });
        });
    });
};
"""


async def test_log_lines_are_answered_in_the_sandbox(raw_sandbox: RawSandbox) -> None:
    await raw_sandbox.recv()
    await start(raw_sandbox, 1, LOGGING_APP)
    # A log line with a msg is answered at once, exactly as the host would; it still comes
    # to the host, marked, so that the host stores it and sends nothing back.
    first = await expect(raw_sandbox, "log.info")
    assert first["msg"] == "first" and first["answered"] is True
    # One without a msg can be refused, so only the host answers it.
    bare = await expect(raw_sandbox, "log.info")
    assert "answered" not in bare
    await raw_sandbox.reply(bare, success=False, reason="Value expected for msg")
    get = await expect(raw_sandbox, "kv.get")
    local_reply, refused = json.loads(get["key"])
    assert local_reply == {
        "cmd": "log.info",
        "cmd_id": first["cmd_id"],
        "reply": True,
        "success": True,
    }
    assert refused is False
    await raw_sandbox.reply(get, value=None)
    done_log = await expect(raw_sandbox, "log.info")
    assert done_log["answered"] is True
    await expect(raw_sandbox, "js.done")
