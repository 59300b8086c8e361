"""The platform in one process: storage, the bus and the workers, started and stopped together.

``Platform`` is what every part receives: the settings, the database and (as the engine lands)
the bus and the running workers. The web app holds one; so do the CLI commands that need one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from vumigo.config import Settings
from vumigo.db.engine import Database

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

log = logging.getLogger(__name__)

Hook = Callable[["Platform"], Awaitable[None]]


class Platform:
    def __init__(self, settings: Settings, background_jobs: bool = False) -> None:
        """``background_jobs``: also run the platform-wide periodic jobs (metric rollups and
        exports). ``vumigo serve`` and ``vumigo worker`` do; embedded test platforms do not."""
        self.settings = settings
        self.db = Database(settings.resolved_database_url)
        self._start_hooks: list[Hook] = []
        self._stop_hooks: list[Hook] = []
        self.started = False
        self.roles: tuple[str, ...] = tuple(settings.roles)
        from vumigo.engine.core import Engine

        self.engine: Engine = Engine(settings, self.db)
        if background_jobs:
            from vumigo.metrics.runner import attach

            # Metric rollups and exports, run by one process at a time (it holds a lease).
            attach(self)

    def on_start(self, hook: Hook) -> None:
        """Registers work to run when the platform starts (in registration order)."""
        self._start_hooks.append(hook)

    def on_stop(self, hook: Hook) -> None:
        """Registers work to run when the platform stops (in reverse registration order)."""
        self._stop_hooks.append(hook)

    async def start(self) -> None:
        await self.engine.start(self.roles)
        for hook in self._start_hooks:
            await hook(self)
        self.started = True
        log.info("platform started (database %s)", self.db.dialect)

    async def stop(self) -> None:
        for hook in reversed(self._stop_hooks):
            try:
                await hook(self)
            except Exception:
                log.exception("error while stopping")
        await self.engine.stop()
        await self.db.dispose()
        self.started = False
