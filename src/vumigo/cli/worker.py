"""``vumigo worker``: one role of the platform per process (the distributed mode)."""

from __future__ import annotations

import click

from vumigo.cli.common import State, VumigoCommand, pass_state, run
from vumigo.cli.server import _migrate
from vumigo.workers import ROLES, run_worker


@click.command(cls=VumigoCommand)
@click.option("--role", required=True, type=click.Choice(ROLES), help="What this process does.")
@click.option("--host", help="web role: address to bind (default: the `host` setting).")
@click.option("--port", type=click.IntRange(0, 65535), help="web role: port to bind.")
@click.option(
    "--migrate/--no-migrate",
    default=False,
    help="Upgrade the database schema first (do it from one process only).",
)
@pass_state
def worker(state: State, role: str, host: str | None, port: int | None, migrate: bool) -> None:
    """Run one role of the platform until stopped: web, dispatcher, apps, transports, or
    one of the parts of apps that can run apart: sandbox, scheduler, push.

    Run several copies of a role to share its work; they meet through RabbitMQ
    (VUMIGO_BROKER_URL) and PostgreSQL (VUMIGO_DATABASE_URL). Work that must be single (a
    transport's connections, the scheduler's housekeeping) is held by one process at a time
    and taken over when it dies. See docs/deploy.md.
    """
    if migrate:
        run(_migrate(state.settings))
    run_worker(state.settings, role, host, port)


COMMANDS = (worker,)
