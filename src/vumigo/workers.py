"""One role of the platform per process, for the distributed mode (``vumigo worker --role``).

Roles:

- ``web``: the ASGI app (UI, HTTP APIs, transport webhooks); takes ``--host``/``--port``.
- ``dispatcher``: routing, opt-outs, billing and storage of every message and event.
- ``apps``: the conversation workers (and what they run: push outboxes, schedulers, sandboxes).
- ``transports``: the channels' connections (SMPP binds and the like).

Several copies of each may run at once: they share the work through RabbitMQ's queues and the
database. Work that must be single is held through leases (``vumigo.leases``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from vumigo.config import Settings
from vumigo.runtime import Platform

log = logging.getLogger(__name__)

ENGINE_ROLES = ("dispatcher", "apps", "transports")
ROLES = ("web", *ENGINE_ROLES)


def run_worker(settings: Settings, role: str, host: str | None, port: int | None) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    logging.basicConfig(
        level=settings.log_level, format=f"%(asctime)s {role} %(levelname)s %(name)s: %(message)s"
    )
    if role == "web":
        from vumigo.web.app import serve

        # The web role runs no engine workers of its own: it stores and queues, others handle.
        serve(settings.model_copy(update={"roles": []}), host, port)
        return
    asyncio.run(_run_engine_role(settings.model_copy(update={"roles": [role]})))


async def _run_engine_role(settings: Settings) -> None:
    platform = Platform(settings, background_jobs=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopping.set)
    await platform.start()
    log.info("worker running roles %s", ", ".join(settings.roles))
    try:
        await stopping.wait()
    finally:
        await platform.stop()
