"""Conversations: ``vumigo conversation create|list|show|start|stop|archive``.

Operators may name a conversation by key alone; ``--account`` then also checks the owner.
The helpers here serve ``cli.routers`` as well: the two differ only in the services they call.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.accounts.queries import get_account
from vumigo.cli.common import (
    State,
    VumigoGroup,
    columns,
    emit,
    in_transaction,
    pass_state,
    read_json_file,
    when,
)
from vumigo.conversations import routers as rsvc
from vumigo.conversations import service as csvc
from vumigo.db.models import Conversation, Router
from vumigo.db.models.conversations import STATUSES

Item = Conversation | Router


def read_config(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    config = read_json_file(path, "--config-file")
    if not isinstance(config, dict):
        raise click.BadParameter(f"{path} must hold a JSON object", param_hint="--config-file")
    return config


def describe(item: Item) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": item.key,
        "account_key": item.account_key,
        "name": item.name,
        "description": item.description,
        "status": item.status,
        "archived": item.archived,
        "archived_at": item.archived_at,
        "created_at": item.created_at,
        "config": item.config,
    }
    if isinstance(item, Conversation):
        data["conversation_type"] = item.conversation_type
        data["connector"] = str(csvc.connector(item))
        data["endpoints"] = csvc.endpoints(item)
    else:
        data["router_type"] = item.router_type
        data["connectors"] = [str(rsvc.inbound_connector(item)), str(rsvc.outbound_connector(item))]
        data["inbound_endpoints"] = ["default", *item.extra_inbound_endpoints]
        data["outbound_endpoints"] = ["default", *item.extra_outbound_endpoints]
    return data


def show_lines(data: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in data.items():
        if key == "config":
            continue
        if isinstance(value, list):
            shown = ", ".join(value)
        elif isinstance(value, datetime):
            shown = value.isoformat(timespec="seconds")
        else:
            shown = value
        lines.append(f"{key}: {'-' if shown in (None, '') else shown}")
    lines.append("config: " + json.dumps(data["config"], indent=2, sort_keys=True))
    return lines


def list_lines(items: list[Item]) -> list[str] | str:
    if not items:
        return "none"
    rows = [
        (
            i.key,
            i.conversation_type if isinstance(i, Conversation) else i.router_type,
            i.status,
            "archived" if i.archived else "",
            when(i.created_at),
            i.name,
        )
        for i in items
    ]
    return columns(rows, ["KEY", "TYPE", "STATUS", "", "CREATED", "NAME"])


Finder = Callable[[AsyncSession, str], Awaitable[Any]]
Getter = Callable[[AsyncSession, str, str], Awaitable[Any]]
Action = Callable[[AsyncSession, str, str], Awaitable[Any]]

key_argument = click.argument("key")
account_check = click.option(
    "--account", "account_key", help="Account key (refused unless it owns KEY)."
)


def show(state: State, key: str, account_key: str | None, lookup: tuple[Finder, Getter]) -> None:
    """Prints one conversation or router, looked up by key (scoped to --account if given)."""
    find, get = lookup

    async def work(session: AsyncSession) -> Item:
        item: Item = await (get(session, account_key, key) if account_key else find(session, key))
        return item

    data = describe(in_transaction(state, work))
    emit(state, data, show_lines(data))


def change(
    state: State,
    key: str,
    account_key: str | None,
    lookup: tuple[Finder, Getter],
    action: Action,
    verb: str,
) -> None:
    """Runs a lifecycle action (start/stop/archive) on KEY in its owner's name and reports."""
    find, get = lookup

    async def work(session: AsyncSession) -> tuple[Item, Any]:
        item: Item = await (get(session, account_key, key) if account_key else find(session, key))
        return item, await action(session, item.account_key, key)

    item, result = in_transaction(state, work)
    data: dict[str, Any] = {"key": item.key, "status": item.status, "archived": item.archived}
    text = f"{verb} {item.key}"
    if verb == "archived":
        data["routing_entries_removed"] = result
        text += f" ({result} routing entries removed)"
    emit(state, data, text)


@click.group(cls=VumigoGroup)
def conversation() -> None:
    """Create and run conversations (an account's apps)."""


@conversation.command("create")
@click.option("--account", "account_key", required=True, help="Account key.")
@click.option("--type", "conversation_type", required=True, help="Conversation type.")
@click.option("--name", required=True, help="Name.")
@click.option("--description", default="", help="Description.")
@click.option("--config-file", type=click.Path(dir_okay=False), help="JSON file with the config.")
@click.option("--endpoint", "endpoints", multiple=True, help="Extra endpoint (repeatable).")
@pass_state
def conversation_create(
    state: State,
    account_key: str,
    conversation_type: str,
    name: str,
    description: str,
    config_file: str | None,
    endpoints: tuple[str, ...],
) -> None:
    """Create a (stopped) conversation; prints its key."""
    config = read_config(config_file)

    async def work(session: AsyncSession) -> Conversation:
        return await csvc.create_conversation(
            session,
            account_key,
            conversation_type,
            name,
            description=description,
            config=config,
            extra_endpoints=endpoints,
        )

    conv = in_transaction(state, work)
    emit(state, describe(conv), conv.key)


@conversation.command("list")
@click.option("--account", "account_key", required=True, help="Account key.")
@click.option("--type", "conversation_type", help="Only this type.")
@click.option("--status", type=click.Choice(STATUSES), help="Only this status.")
@click.option("--archived", is_flag=True, help="Only archived ones.")
@click.option("--all", "everything", is_flag=True, help="Archived and active ones.")
@pass_state
def conversation_list(
    state: State,
    account_key: str,
    conversation_type: str | None,
    status: str | None,
    archived: bool,
    everything: bool,
) -> None:
    """List an account's conversations (active ones unless told otherwise)."""

    async def work(session: AsyncSession) -> list[Conversation]:
        await get_account(session, account_key)
        return await csvc.list_conversations(
            session,
            account_key,
            conversation_type=conversation_type,
            status=status,
            archived=None if everything else archived,
        )

    items = in_transaction(state, work)
    emit(state, [describe(i) for i in items], list_lines(list(items)))


CONVERSATIONS = (csvc.find_conversation, csvc.get_conversation)


@conversation.command("show")
@key_argument
@account_check
@pass_state
def conversation_show(state: State, key: str, account_key: str | None) -> None:
    """Show a conversation and its config."""
    show(state, key, account_key, CONVERSATIONS)


@conversation.command("start")
@key_argument
@account_check
@pass_state
def conversation_start(state: State, key: str, account_key: str | None) -> None:
    """Start a conversation."""
    change(state, key, account_key, CONVERSATIONS, csvc.start_conversation, "started")


@conversation.command("stop")
@key_argument
@account_check
@pass_state
def conversation_stop(state: State, key: str, account_key: str | None) -> None:
    """Stop a conversation."""
    change(state, key, account_key, CONVERSATIONS, csvc.stop_conversation, "stopped")


@conversation.command("archive")
@key_argument
@account_check
@pass_state
def conversation_archive(state: State, key: str, account_key: str | None) -> None:
    """Archive a stopped conversation and remove its routing entries."""
    change(state, key, account_key, CONVERSATIONS, csvc.archive_conversation, "archived")


COMMANDS = (conversation,)
