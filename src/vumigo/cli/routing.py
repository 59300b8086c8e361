"""An account's routing table: ``vumigo routing show|add|remove|clear|replace``.

Connectors are written as in the original: ``TRANSPORT_TAG:pool:tag``, ``CONVERSATION:type:key``,
``ROUTER:type:key:INBOUND|OUTBOUND`` and ``OPT_OUT``.
"""

from __future__ import annotations

import click
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.accounts.queries import get_account
from vumigo.cli.common import (
    State,
    VumigoGroup,
    emit,
    in_transaction,
    pass_state,
    read_json_file,
)
from vumigo.routing import table

account_option = click.option("--account", "account_key", required=True, help="Account key.")


def entry_arguments(command: click.decorators.FC) -> click.decorators.FC:
    for name in reversed(("source", "source_endpoint", "target", "target_endpoint")):
        command = click.argument(name)(command)
    return command


def _lines(routes: table.RoutingTable) -> list[str]:
    lines = [
        f"{source} [{endpoint}] -> {target[0]} [{target[1]}]"
        for source, endpoints in routes.items()
        for endpoint, target in endpoints.items()
    ]
    return lines or ["no routing entries"]


@click.group(cls=VumigoGroup)
def routing() -> None:
    """Show and edit an account's routing table."""


@routing.command("show")
@account_option
@pass_state
def routing_show(state: State, account_key: str) -> None:
    """Show the table (with --json: {source: {endpoint: [target, endpoint]}})."""

    async def work(session: AsyncSession) -> table.RoutingTable:
        await get_account(session, account_key)
        return await table.load_table(session, account_key)

    routes = in_transaction(state, work)
    emit(state, routes, _lines(routes))


@routing.command("add")
@account_option
@entry_arguments
@pass_state
def routing_add(
    state: State,
    account_key: str,
    source: str,
    source_endpoint: str,
    target: str,
    target_endpoint: str,
) -> None:
    """Route SOURCE's SOURCE_ENDPOINT to TARGET's TARGET_ENDPOINT."""

    async def work(session: AsyncSession) -> bool:
        return await table.add_entry(
            session, account_key, source, source_endpoint, target, target_endpoint
        )

    added = in_transaction(state, work)
    entry = f"{source} [{source_endpoint}] -> {target} [{target_endpoint}]"
    emit(
        state,
        {"added": added, "source": [source, source_endpoint], "target": [target, target_endpoint]},
        f"added {entry}" if added else f"{entry} was already there",
    )


@routing.command("remove")
@account_option
@entry_arguments
@pass_state
def routing_remove(
    state: State,
    account_key: str,
    source: str,
    source_endpoint: str,
    target: str,
    target_endpoint: str,
) -> None:
    """Remove the entry SOURCE SOURCE_ENDPOINT -> TARGET TARGET_ENDPOINT."""

    async def work(session: AsyncSession) -> None:
        await table.remove_entry(
            session, account_key, source, source_endpoint, target, target_endpoint
        )

    in_transaction(state, work)
    emit(
        state,
        {"removed": True, "source": [source, source_endpoint], "target": [target, target_endpoint]},
        f"removed {source} [{source_endpoint}] -> {target} [{target_endpoint}]",
    )


@routing.command("clear")
@account_option
@pass_state
def routing_clear(state: State, account_key: str) -> None:
    """Remove every entry of the account's table."""

    async def work(session: AsyncSession) -> int:
        await get_account(session, account_key)
        return await table.clear_table(session, account_key)

    count = in_transaction(state, work)
    emit(state, {"removed": count}, f"removed {count} routing entr{'y' if count == 1 else 'ies'}")


@routing.command("replace")
@account_option
@click.option(
    "--file",
    "table_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="JSON file with the whole table, in the shape `show --json` prints.",
)
@pass_state
def routing_replace(state: State, account_key: str, table_file: str) -> None:
    """Replace the whole table (checked entry by entry; nothing changes if one is bad)."""
    routes = read_json_file(table_file, "--file")

    async def work(session: AsyncSession) -> int:
        return await table.replace_table(session, account_key, routes)

    count = in_transaction(state, work)
    emit(state, {"entries": count}, f"routing table replaced ({count} entries)")


COMMANDS = (routing,)
