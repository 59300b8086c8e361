"""Routers: ``vumigo router create|list|show|start|stop|archive``."""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.accounts.queries import get_account
from vumigo.cli.common import State, VumigoGroup, emit, in_transaction, pass_state
from vumigo.cli.conversations import (
    account_check,
    change,
    describe,
    key_argument,
    list_lines,
    read_config,
    show,
)
from vumigo.conversations import routers as rsvc
from vumigo.db.models import Router

ROUTERS = (rsvc.find_router, rsvc.get_router)


@click.group(cls=VumigoGroup)
def router() -> None:
    """Create and run routers (keyword, group, app_multiplexer)."""


@router.command("create")
@click.option("--account", "account_key", required=True, help="Account key.")
@click.option("--type", "router_type", required=True, help="Router type.")
@click.option("--name", required=True, help="Name.")
@click.option("--description", default="", help="Description.")
@click.option("--config-file", type=click.Path(dir_okay=False), help="JSON file with the config.")
@click.option("--inbound-endpoint", multiple=True, help="Extra channel-side endpoint.")
@click.option("--outbound-endpoint", multiple=True, help="Extra conversation-side endpoint.")
@pass_state
def router_create(
    state: State,
    account_key: str,
    router_type: str,
    name: str,
    description: str,
    config_file: str | None,
    inbound_endpoint: tuple[str, ...],
    outbound_endpoint: tuple[str, ...],
) -> None:
    """Create a (stopped) router; prints its key."""
    config = read_config(config_file)

    async def work(session: AsyncSession) -> Router:
        return await rsvc.create_router(
            session,
            account_key,
            router_type,
            name,
            description=description,
            config=config,
            extra_inbound_endpoints=inbound_endpoint,
            extra_outbound_endpoints=outbound_endpoint,
        )

    made = in_transaction(state, work)
    emit(state, describe(made), made.key)


@router.command("list")
@click.option("--account", "account_key", required=True, help="Account key.")
@click.option("--all", "everything", is_flag=True, help="Include archived ones.")
@pass_state
def router_list(state: State, account_key: str, everything: bool) -> None:
    """List an account's routers."""

    async def work(session: AsyncSession) -> list[Router]:
        await get_account(session, account_key)
        return await rsvc.list_routers(session, account_key, archived=None if everything else False)

    items = in_transaction(state, work)
    emit(state, [describe(i) for i in items], list_lines(list(items)))


@router.command("show")
@key_argument
@account_check
@pass_state
def router_show(state: State, key: str, account_key: str | None) -> None:
    """Show a router and its config."""
    show(state, key, account_key, ROUTERS)


@router.command("start")
@key_argument
@account_check
@pass_state
def router_start(state: State, key: str, account_key: str | None) -> None:
    """Start a router."""
    change(state, key, account_key, ROUTERS, rsvc.start_router, "started")


@router.command("stop")
@key_argument
@account_check
@pass_state
def router_stop(state: State, key: str, account_key: str | None) -> None:
    """Stop a router."""
    change(state, key, account_key, ROUTERS, rsvc.stop_router, "stopped")


@router.command("archive")
@key_argument
@account_check
@pass_state
def router_archive(state: State, key: str, account_key: str | None) -> None:
    """Archive a stopped router and remove its routing entries (both sides)."""
    change(state, key, account_key, ROUTERS, rsvc.archive_router, "archived")


COMMANDS = (router,)
