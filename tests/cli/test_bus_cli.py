"""`vumigo bus`: dead letters shown and replayed, depths, and a clear error without a broker."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from typing import Any

import pytest
from click.testing import CliRunner

from vumigo.bus.amqp import AmqpBus
from vumigo.cli import cli

AMQP_URL = os.environ.get("VUMIGO_TEST_AMQP_URL")


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_without_a_broker_it_says_why() -> None:
    code, out, err = invoke("bus", "depth", env={"VUMIGO_BROKER_URL": ""})
    assert code == 1 and out == ""
    assert err.startswith("error: no broker configured")


@pytest.mark.skipif(not AMQP_URL, reason="RabbitMQ is started by `make test`")
def test_dead_letters_are_listed_and_replayed() -> None:
    assert AMQP_URL is not None
    prefix = f"cli{uuid.uuid4().hex[:6]}."

    async def with_bus(work: Any) -> Any:
        bus = AmqpBus(AMQP_URL, prefix)
        await bus.start()
        try:
            return await work(bus)
        finally:
            await bus.stop()

    asyncio.run(with_bus(lambda b: b.publish("dispatcher.inbound.dead", b'{"poison": true}')))
    env = {"VUMIGO_BROKER_URL": AMQP_URL, "VUMIGO_BROKER_PREFIX": prefix}
    code, out, _ = invoke("--json", "bus", "dead-letters", "dispatcher.inbound", env=env)
    assert code == 0
    assert [d["body"] for d in json.loads(out)] == ['{"poison": true}']
    code, out, _ = invoke("bus", "depth", "dispatcher.inbound", env=env)
    assert out.strip() == "dispatcher.inbound: 0 waiting, 1 dead"
    code, out, _ = invoke("bus", "dead-letters", "dispatcher.inbound", "--replay", env=env)
    assert out.strip() == "replayed 1 message(s) onto dispatcher.inbound"
    assert asyncio.run(with_bus(lambda b: b.depth("dispatcher.inbound"))) == 1
    assert asyncio.run(with_bus(lambda b: b.dead_letters("dispatcher.inbound"))) == []
