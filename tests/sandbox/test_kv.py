"""The kv resource and the in-memory key-value store."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from vumigo.sandbox.protocol import ProtocolHandler
from vumigo.sandbox.resources import ResourceRegistry
from vumigo.sandbox.resources.kv import InMemoryKeyValueStore, KeyValueResource
from vumigo.sandbox.run import Run

from .helpers import make_run


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> InMemoryKeyValueStore:
    return InMemoryKeyValueStore(clock)


@pytest.fixture
def kv(store: InMemoryKeyValueStore) -> ProtocolHandler:
    return ProtocolHandler(ResourceRegistry([KeyValueResource(store, max_keys=10)]))


async def call(handler: ProtocolHandler, cmd: str, run: Run | None = None, **f: Any) -> Any:
    reply = await handler.dispatch({"cmd": cmd, "cmd_id": "1", **f}, run or make_run("acct"))
    assert reply is not None
    return {k: v for k, v in reply.items() if k not in ("cmd", "cmd_id", "reply", "run_id")}


async def test_set_get_delete_round_trip(kv: ProtocolHandler) -> None:
    value = {"x": [1, 2.5, None, True, "ü"]}
    assert await call(kv, "kv.set", key="k", value=value) == {"success": True}
    assert await call(kv, "kv.get", key="k") == {"success": True, "value": value}
    assert await call(kv, "kv.delete", key="k") == {"success": True, "existed": True}
    assert await call(kv, "kv.delete", key="k") == {"success": True, "existed": False}
    assert await call(kv, "kv.get", key="k") == {"success": True, "value": None}


async def test_set_without_value_stores_null(kv: ProtocolHandler) -> None:
    await call(kv, "kv.set", key="k")
    assert await call(kv, "kv.get", key="k") == {"success": True, "value": None}


async def test_keys_are_per_account(kv: ProtocolHandler) -> None:
    await call(kv, "kv.set", make_run("a"), key="k", value=1)
    assert (await call(kv, "kv.get", make_run("b"), key="k"))["value"] is None
    assert (await call(kv, "kv.get", make_run("a"), key="k"))["value"] == 1


async def test_incr(kv: ProtocolHandler) -> None:
    assert await call(kv, "kv.incr", key="n") == {"success": True, "value": 1}
    assert await call(kv, "kv.incr", key="n", amount=5) == {"success": True, "value": 6}
    assert await call(kv, "kv.incr", key="n", amount=-10) == {"success": True, "value": -4}
    assert (await call(kv, "kv.get", key="n"))["value"] == -4


async def test_ttl_expires_and_frees_quota(kv: ProtocolHandler, clock: Clock) -> None:
    await call(kv, "kv.set", key="t", value="v", seconds=10)
    clock.now += 9
    assert (await call(kv, "kv.get", key="t"))["value"] == "v"
    clock.now += 2
    assert (await call(kv, "kv.get", key="t"))["value"] is None
    for i in range(10):  # the expired key no longer counts
        assert (await call(kv, "kv.set", key=f"k{i}", value=i))["success"] is True


async def test_incr_keeps_ttl_and_overwrite_clears_it(kv: ProtocolHandler, clock: Clock) -> None:
    await call(kv, "kv.set", key="n", value=1, seconds=10)
    await call(kv, "kv.incr", key="n")
    clock.now += 11
    assert (await call(kv, "kv.get", key="n"))["value"] is None
    await call(kv, "kv.set", key="m", value=1, seconds=10)
    await call(kv, "kv.set", key="m", value=2)
    clock.now += 11
    assert (await call(kv, "kv.get", key="m"))["value"] == 2


@pytest.mark.parametrize(
    ("cmd", "fields", "reason"),
    [
        ("kv.get", {}, "Value expected for key"),
        ("kv.set", {"key": 3, "value": 1}, "Value expected for key"),
        ("kv.delete", {"key": None}, "Value expected for key"),
        ("kv.incr", {}, "Value expected for key"),
        ("kv.set", {"key": "k", "value": 1, "seconds": "soon"}, "seconds must be a number or null"),
        ("kv.set", {"key": "k", "value": 1, "seconds": 1.5}, "seconds must be a number or null"),
        ("kv.set", {"key": "k", "value": 1, "seconds": 0}, "seconds must be positive"),
        ("kv.incr", {"key": "n", "amount": "2"}, "amount must be an integer"),
        ("kv.incr", {"key": "s"}, "value is not an integer or out of range"),
    ],
)
async def test_failures(kv: ProtocolHandler, cmd: str, fields: Any, reason: str) -> None:
    await call(kv, "kv.set", key="s", value="text")
    assert await call(kv, cmd, **fields) == {"success": False, "reason": reason}


async def test_quota_soft_warning_then_too_many_keys(kv: ProtocolHandler) -> None:
    run = make_run("acct")
    for i in range(10):
        assert (await call(kv, "kv.set", run, key=f"k{i}", value=i))["success"] is True
    warnings = [line for line in run.logs if line.level == logging.WARNING]
    assert len(warnings) == 1 and "soft limit of 8 keys" in warnings[0].message
    assert await call(kv, "kv.set", run, key="k10", value=1) == {
        "success": False,
        "reason": "Too many keys",
    }
    assert await call(kv, "kv.incr", run, key="k11") == {
        "success": False,
        "reason": "Too many keys",
    }
    errors = [line for line in run.logs if line.level == logging.ERROR]
    assert len(errors) == 1 and "hard limit of 10 keys" in errors[0].message
    # Existing keys can still be written, and deleting makes room.
    assert (await call(kv, "kv.set", run, key="k3", value="new"))["success"] is True
    assert (await call(kv, "kv.incr", run, key="k4"))["value"] == 5
    await call(kv, "kv.delete", run, key="k0")
    assert (await call(kv, "kv.set", run, key="k10", value=1))["success"] is True
