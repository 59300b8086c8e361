"""The sandbox runtime's public face: :class:`SandboxManager` runs a message through an
account's app, keeping one :class:`~vumigo.sandbox.pool.SandboxPool` per account."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from vumigo.sandbox.isolation import IsolationReport, launch_plan
from vumigo.sandbox.limits import SandboxSettings
from vumigo.sandbox.pool import SandboxPool
from vumigo.sandbox.process import AppCode
from vumigo.sandbox.protocol import ProtocolHandler
from vumigo.sandbox.resources import Resource, ResourceRegistry
from vumigo.sandbox.resources.config import ConfigResource
from vumigo.sandbox.resources.http import HttpResource, HttpSettings
from vumigo.sandbox.resources.kv import (
    DEFAULT_MAX_KEYS,
    InMemoryKeyValueStore,
    KeyValueResource,
    KeyValueStore,
)
from vumigo.sandbox.resources.log import InMemoryLogStore, LogResource, LogStore, store_sink
from vumigo.sandbox.resources.metrics import InMemoryMetricSink, MetricSink, MetricsResource
from vumigo.sandbox.resources.outbound import InMemoryOutbox, OutboundResource, OutboundSink
from vumigo.sandbox.run import Run, RunContext, RunResult

logger = logging.getLogger(__name__)

_CODE_CACHE_SIZE = 64


def build_registry(
    *,
    kv_store: KeyValueStore | None = None,
    max_keys: int = DEFAULT_MAX_KEYS,
    outbound: OutboundSink | None = None,
    allowed_helper_metadata: Iterable[str] = (),
    metrics: MetricSink | None = None,
    http: HttpResource | HttpSettings | None = None,
    extra: Iterable[Resource] = (),
) -> ResourceRegistry:
    """The resources that need no database, with in-memory stores and sinks for whatever is
    not given. The engine passes its own stores and sinks, and adds contacts, groups, ... as
    ``extra``."""
    http_resource = http if isinstance(http, HttpResource) else HttpResource(http)
    registry = ResourceRegistry(
        [
            ConfigResource(),
            LogResource(),
            KeyValueResource(kv_store or InMemoryKeyValueStore(), max_keys),
            http_resource,
            OutboundResource(outbound or InMemoryOutbox(), allowed_helper_metadata),
            MetricsResource(metrics or InMemoryMetricSink()),
        ]
    )
    for resource in extra:
        registry.register(resource)
    return registry


class SandboxManager:
    """Runs messages through accounts' apps. Use as ``async with SandboxManager(...) as m``."""

    def __init__(
        self,
        settings: SandboxSettings | None = None,
        *,
        resources: ResourceRegistry | None = None,
        log_store: LogStore | None = None,
    ) -> None:
        self.settings = settings or SandboxSettings()
        self.plan = launch_plan(self.settings)
        self.resources = resources or build_registry()
        self.log_store: LogStore = log_store or InMemoryLogStore()
        self.handler = ProtocolHandler(self.resources)
        self._pools: OrderedDict[str, SandboxPool] = OrderedDict()
        self._code: OrderedDict[str, AppCode] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    @property
    def isolation(self) -> IsolationReport:
        return self.plan.report

    def pool(self, account_key: str) -> SandboxPool:
        pool = self._pools.get(account_key)
        if pool is None:
            pool = SandboxPool(account_key, self.settings, self.plan, self.handler)
            self._pools[account_key] = pool
        self._pools.move_to_end(account_key)
        return pool

    def _app_code(self, source: str) -> AppCode:
        # Hashing a large app on every message would cost more than running it.
        code = self._code.get(source)
        if code is None:
            code = self._code[source] = AppCode(source)
            if len(self._code) > _CODE_CACHE_SIZE:
                self._code.popitem(last=False)
        else:
            self._code.move_to_end(source)
        return code

    async def run(
        self,
        account_key: str,
        app_code: str,
        app_config: Mapping[str, Any],
        message: Mapping[str, Any],
        context: RunContext | None = None,
    ) -> RunResult:
        """Run one message (``message_type: user_message``) or event (``message_type: event``)
        through the account's app. Never raises for anything the app does: the outcome, the
        run's log lines and an error text come back in the :class:`RunResult`."""
        context = context or RunContext()
        run = Run(
            account_key=account_key,
            app_config=app_config,
            message=message,
            context=context,
            log_sink=store_sink(self.log_store, account_key, context.conversation_key),
        )
        pool = self.pool(account_key)
        result = await pool.run(self._app_code(app_code), run)
        self.reap()
        return result

    async def warm(self, account_key: str) -> None:
        await self.pool(account_key).warm()

    def accounts(self) -> list[str]:
        """Accounts with a live pool, least recently used first."""
        return list(self._pools)

    def reap(self) -> None:
        """Close pools idle for longer than ``idle_timeout`` and the least recently used ones
        beyond ``max_pools`` (in the background). Done after every run; an engine with quiet
        periods may also call it on a timer."""
        # Pools are in least-recently-used order, so the scan stops at the first one to keep.
        now = time.monotonic()
        for key, pool in list(self._pools.items()):
            expired = now - pool.last_used > self.settings.idle_timeout
            if not expired and len(self._pools) <= self.settings.max_pools:
                break
            if pool.busy:
                continue
            del self._pools[key]
            task = asyncio.create_task(pool.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        pools, self._pools = list(self._pools.values()), OrderedDict()
        await asyncio.gather(*(pool.close() for pool in pools), *list(self._closing))
        await self.resources.aclose()

    async def __aenter__(self) -> SandboxManager:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
