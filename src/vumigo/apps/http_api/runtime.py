"""The HTTP API's per-process state, shared by its conversation types and its web routes.

One engine (one platform) has one of these: the settings, the concurrency limiter (counted in
the database in the distributed mode), the stream hub and the push worker. The two conversation
types both start the push worker; it runs once, in engines that run the ``push`` part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from vumigo.apps.http_api.limiter import ConcurrencyLimiter, DbConcurrencyLimiter
from vumigo.apps.http_api.pusher import Pusher
from vumigo.apps.http_api.settings import HttpApiSettings
from vumigo.apps.http_api.stream import StreamHub
from vumigo.sandbox.netguard import Connector, Resolver, direct_connector, system_resolver

if TYPE_CHECKING:
    from vumigo.engine.core import Engine


class HttpApiRuntime:
    def __init__(
        self,
        engine: Engine,
        settings: HttpApiSettings,
        resolver: Resolver = system_resolver,
        connector: Connector = direct_connector,
    ) -> None:
        self.engine = engine
        self.settings = settings
        # Counted in the database when other web processes serve the same accounts.
        self.limiter: ConcurrencyLimiter = (
            DbConcurrencyLimiter(engine.db, settings.concurrency_limit)
            if engine.distributed
            else ConcurrencyLimiter(settings.concurrency_limit)
        )
        self.hub = StreamHub(engine.db, settings.poll_interval)
        self.resolver = resolver
        self.connector = connector
        self.pusher: Pusher | None = None
        self._users = 0

    async def start_pusher(self) -> None:
        self._users += 1
        if self.pusher is None and self.engine.parts.push:
            self.pusher = Pusher(self.engine.db, self.settings, self.resolver, self.connector)
            await self.pusher.start()

    async def stop_pusher(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users == 0 and self.pusher is not None:
            pusher, self.pusher = self.pusher, None
            await pusher.stop()

    def wake_pusher(self) -> None:
        if self.pusher is not None:
            self.pusher.wake()


_RUNTIMES: WeakKeyDictionary[Engine, HttpApiRuntime] = WeakKeyDictionary()


def runtime_for(engine: Engine) -> HttpApiRuntime:
    """This engine's runtime, made on first use with settings from the environment."""
    runtime = _RUNTIMES.get(engine)
    if runtime is None:
        runtime = _RUNTIMES[engine] = HttpApiRuntime(engine, HttpApiSettings.from_env())
    return runtime


def configure(
    engine: Engine,
    settings: HttpApiSettings,
    resolver: Resolver = system_resolver,
    connector: Connector = direct_connector,
) -> HttpApiRuntime:
    """Sets an engine's runtime explicitly (benchmarks, tests); call before the engine starts."""
    runtime = _RUNTIMES[engine] = HttpApiRuntime(engine, settings, resolver, connector)
    return runtime
