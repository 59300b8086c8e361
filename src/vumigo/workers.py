"""One role of the platform per process, for the distributed mode (``vumigo worker --role``).

Roles (``vumigo.roles`` says what each engine role runs):

- ``web``: the ASGI app (UI, HTTP APIs, transport webhooks); takes ``--host``/``--port``.
- ``dispatcher``: routing, opt-outs, billing and storage of every message and event.
- ``apps``: the conversation workers and routers, and by default the three below too.
- ``transports``: the channels' connections (SMPP binds and the like).
- ``sandbox``: the jsbox conversation workers and their node processes.
- ``scheduler``: scheduled tasks and the action apps' timers.
- ``push``: the HTTP API's push outbox.

Set ``dedicated_roles`` (``VUMIGO_DEDICATED_ROLES='["sandbox","scheduler","push"]'``) to keep
that work out of ``apps`` processes once processes of those roles run.

Several copies of each may run at once: they share the work through RabbitMQ's queues and the
database. Work that must be single (a transport's connections, the scheduler's housekeeping,
metric rollups) is held through leases (``vumigo.leases``) and taken over when its holder dies.
Every engine process also offers to run the metric rollups; one at a time does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from vumigo.config import Settings
from vumigo.roles import ENGINE_ROLES, ROLES
from vumigo.runtime import Platform

log = logging.getLogger(__name__)

__all__ = ["ENGINE_ROLES", "ROLES", "run_worker", "worker_settings"]


def worker_settings(settings: Settings, role: str) -> Settings:
    """The settings of a process running ``role``: its engine roles, and nothing else."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    # The web role runs no engine workers of its own: it stores and queues, others handle.
    return settings.model_copy(update={"roles": [] if role == "web" else [role]})


def run_worker(settings: Settings, role: str, host: str | None, port: int | None) -> None:
    own = worker_settings(settings, role)
    logging.basicConfig(
        level=settings.log_level, format=f"%(asctime)s {role} %(levelname)s %(name)s: %(message)s"
    )
    if role == "web":
        from vumigo.web.app import serve

        serve(own, host, port)
        return
    asyncio.run(_run_engine_role(own))


async def _run_engine_role(settings: Settings) -> None:
    platform = Platform(settings, background_jobs=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopping.set)
    await platform.start()
    parts = platform.engine.parts
    log.info(
        "worker running roles %s (apps parts: %s)",
        ", ".join(settings.roles),
        ", ".join(name for name, on in vars(parts).items() if on) or "none",
    )
    try:
        await stopping.wait()
    finally:
        await platform.stop()
