"""The config and log resources, and the per-conversation log store."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from vumigo.sandbox.process import SandboxProcess
from vumigo.sandbox.protocol import ProtocolHandler
from vumigo.sandbox.resources import ResourceRegistry
from vumigo.sandbox.resources.config import ConfigResource
from vumigo.sandbox.resources.log import (
    InMemoryLogStore,
    LogResource,
    format_line,
    store_sink,
)

from .helpers import Harness, make_run, user_message

CONFIG = {"config": '{"name": "app"}', "translation.fr": '{"": {}}', "poll": {"a": 1}}


@pytest.fixture
def handler() -> ProtocolHandler:
    return ProtocolHandler(ResourceRegistry([ConfigResource(), LogResource()]))


async def call(handler: ProtocolHandler, cmd: str, **fields: Any) -> dict[str, Any]:
    run = make_run(app_config=CONFIG)
    reply = await handler.dispatch({"cmd": cmd, "cmd_id": "1", "reply": False, **fields}, run)
    assert reply is not None
    return {k: v for k, v in reply.items() if k not in ("cmd", "cmd_id", "reply", "run_id")}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"key": "config"}, {"success": True, "value": '{"name": "app"}'}),
        ({"key": "translation.fr"}, {"success": True, "value": '{"": {}}'}),
        ({"key": "poll"}, {"success": True, "value": {"a": 1}}),  # non-JSON-string values pass
        ({"key": "missing"}, {"success": True, "value": None}),
        ({}, {"success": False, "reason": "Value expected for key"}),
        ({"key": 5}, {"success": False, "reason": "Value expected for key"}),
    ],
)
async def test_config_get(handler: ProtocolHandler, fields: dict[str, Any], expected: Any) -> None:
    assert await call(handler, "config.get", **fields) == expected


@pytest.mark.parametrize(
    ("cmd", "fields", "level"),
    [
        ("log.debug", {"msg": "d"}, logging.DEBUG),
        ("log.info", {"msg": "i"}, logging.INFO),
        ("log.warning", {"msg": "w"}, logging.WARNING),
        ("log.error", {"msg": "e"}, logging.ERROR),
        ("log.critical", {"msg": "c"}, logging.CRITICAL),
        ("log.log", {"msg": "l"}, logging.INFO),
        ("log.log", {"msg": "l", "level": 40}, logging.ERROR),
        ("log.log", {"msg": "l", "level": "warning"}, logging.WARNING),
        ("log.info", {"msg": 42}, logging.INFO),
    ],
)
async def test_log_levels(cmd: str, fields: dict[str, Any], level: int) -> None:
    store = InMemoryLogStore()
    run = make_run(account_key="a")
    run.log_sink = store_sink(store, "a", "conv")
    handler = ProtocolHandler(ResourceRegistry([LogResource()]))
    reply = await handler.dispatch({"cmd": cmd, "cmd_id": "1", **fields}, run)
    assert reply is not None and reply["success"] is True
    assert run.logs[-1].level == level and run.logs[-1].message == str(fields["msg"])
    (line,) = await store.recent("a", "conv")
    assert line.endswith(f"{logging.getLevelName(level)}] {fields['msg']}")


@pytest.mark.parametrize(
    ("cmd", "fields", "reason"),
    [
        ("log.info", {}, "Value expected for msg"),
        ("log.error", {"msg": None}, "Value expected for msg"),
        ("log.log", {"msg": "x", "level": "loud"}, "Invalid log level: 'loud'"),
        ("log.log", {"msg": "x", "level": True}, "Invalid log level: True"),
    ],
)
async def test_log_failures(handler: ProtocolHandler, cmd: str, fields: Any, reason: str) -> None:
    assert await call(handler, cmd, **fields) == {"success": False, "reason": reason}


async def test_log_store_keeps_newest_1000_per_conversation() -> None:
    store = InMemoryLogStore()
    for i in range(1005):
        await store.append("a", "c1", f"line {i}")
    await store.append("a", "c2", "other")
    lines = await store.recent("a", "c1")
    assert len(lines) == 1000
    assert lines[0] == "line 1004" and lines[-1] == "line 5"
    assert await store.recent("a", "c2") == ["other"]
    assert await store.recent("b", "c1") == []


def test_log_line_format() -> None:
    line = format_line(logging.WARNING, "careful")
    assert re.fullmatch(r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?, WARNING\] careful", line)


async def test_broken_log_store_does_not_fail_the_request() -> None:
    async def broken(level: int, message: str) -> None:
        raise RuntimeError("store down")

    run = make_run()
    run.log_sink = broken
    handler = ProtocolHandler(ResourceRegistry([LogResource()]))
    reply = await handler.dispatch({"cmd": "log.info", "cmd_id": "1", "msg": "x"}, run)
    assert reply is not None and reply["success"] is True
    assert run.logs[-1].message == "x"


async def test_lines_answered_in_the_sandbox_are_stored_in_order_and_not_replied_to(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[dict[str, Any]] = []
    original = SandboxProcess._write

    def recording(self: SandboxProcess, obj: dict[str, Any]) -> None:
        written.append(obj)
        original(self, obj)

    monkeypatch.setattr(SandboxProcess, "_write", recording)
    app = """
    api.on_inbound_message = function () {
        api.log_info('one', function () {
            api.request('log.warning', {msg: 'two'}, function () {
                api.request('log.log', {msg: 'three', level: 'error'}, function () {
                    api.done();
                });
            });
        });
    };
    """
    result = await harness.run("acct", app, user_message("hi"))
    assert result.ok, result.error
    assert [(line.level, line.message) for line in result.logs] == [
        (logging.INFO, "Loading sandboxed code ..."),
        (logging.INFO, "one"),
        (logging.WARNING, "two"),
        (logging.ERROR, "three"),
        (logging.INFO, "Done."),
    ]
    stored = await harness.logs.recent("acct", "acct-conv")
    assert [line.rsplit("] ", 1)[1] for line in reversed(stored)][-4:] == [
        "one",
        "two",
        "three",
        "Done.",
    ]
    # Only log.log, which can be refused, was answered by the host.
    replies = [obj["cmd"] for obj in written if obj.get("reply")]
    assert replies == ["log.log"]
