"""Fixtures for the sandbox tests (helpers live in helpers.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from vumigo.sandbox import SandboxManager, SandboxSettings, build_registry
from vumigo.sandbox.isolation import launch_plan
from vumigo.sandbox.resources import Resource
from vumigo.sandbox.resources.http import HttpResource, HttpSettings
from vumigo.sandbox.resources.kv import InMemoryKeyValueStore
from vumigo.sandbox.resources.log import InMemoryLogStore
from vumigo.sandbox.resources.metrics import InMemoryMetricSink
from vumigo.sandbox.resources.outbound import InMemoryOutbox

from .helpers import NODE_READY, FixtureServer, Harness, RawSandbox

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if NODE_READY:
        return
    skip = pytest.mark.skip(reason="node and node_modules/vumigo_v02 are needed")
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(skip)


@pytest.fixture
def sandbox_settings() -> SandboxSettings:
    # Short limits keep abuse tests fast; prewarm off keeps process counts predictable.
    return SandboxSettings(timeout=10.0, prewarm=False)


HarnessFactory = Callable[..., Harness]


@pytest.fixture
async def make_harness(sandbox_settings: SandboxSettings) -> AsyncIterator[HarnessFactory]:
    made: list[Harness] = []

    def factory(
        *,
        http: HttpSettings | HttpResource | None = None,
        extra: list[Resource] | None = None,
        max_keys: int = 10_000,
        **overrides: Any,
    ) -> Harness:
        outbox, kv, metrics, logs = (
            InMemoryOutbox(),
            InMemoryKeyValueStore(),
            InMemoryMetricSink(),
            InMemoryLogStore(),
        )
        registry = build_registry(
            kv_store=kv,
            max_keys=max_keys,
            outbound=outbox,
            metrics=metrics,
            http=http,
            extra=extra or [],
        )
        manager = SandboxManager(
            replace(sandbox_settings, **overrides), resources=registry, log_store=logs
        )
        harness = Harness(manager, outbox, kv, metrics, logs)
        made.append(harness)
        return harness

    yield factory
    for harness in made:
        await harness.manager.close()


@pytest.fixture
async def harness(make_harness: HarnessFactory) -> Harness:
    return make_harness()


@pytest.fixture
async def raw_sandbox(sandbox_settings: SandboxSettings) -> AsyncIterator[RawSandbox]:
    plan = launch_plan(sandbox_settings)
    proc = await asyncio.create_subprocess_exec(
        *plan.argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=plan.env,
        cwd=plan.cwd,
        preexec_fn=plan.preexec(plan.allocate_uid()),
    )
    sandbox = RawSandbox(proc)
    yield sandbox
    await sandbox.close()


@pytest.fixture
def fixture_server() -> Iterator[FixtureServer]:
    server = FixtureServer()
    yield server
    server.close()
