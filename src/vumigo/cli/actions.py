"""Conversation actions, groups and typed config from the command line.

Commands for the ``conversation`` group:

- ``action KEY NAME [--param k=v ...] [--at TIME] [--yes]``: ask for an action (``bulk_send``
  with ``message``, ``delivery_class``, ``dedupe``; ``send_dialogue``); the running platform's
  scheduler runs it, now or at TIME (ISO 8601 in UTC, or ``+30m``, ``+2h``, ``+1d``);
- ``tasks KEY``: the conversation's actions and how far their sends have got;
- ``cancel-task TASK``: stop a task that has not finished;
- ``groups KEY [--add NAME|KEY ...] [--remove NAME|KEY ...]``: the groups it sends to;
- ``configure KEY --config-file FILE``: replace the config, checked by the conversation type;
- ``poll KEY [--set FILE]``: print or replace a dialogue's poll (JSON).

And ``configure KEY --config-file FILE`` for the ``router`` group. ``CONVERSATION_COMMANDS`` and
``ROUTER_COMMANDS`` list them for the groups to add.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.apps.actions import (
    NEEDS_CONFIRMATION,
    ActionApp,
    ActionError,
    app_class,
    request_action,
)
from vumigo.apps.bulk_message.window import progress
from vumigo.apps.dialogue.editing import get_poll, save_poll
from vumigo.apps.routers import router_classes
from vumigo.cli.common import (
    State,
    VumigoCommand,
    columns,
    emit,
    in_transaction,
    parse_pairs,
    pass_state,
    read_json_file,
    to_json,
    when,
)
from vumigo.contacts import conversation_group_keys, get_group, set_conversation_groups
from vumigo.contacts.groups import find_group, groups_named
from vumigo.conversations import routers as rsvc
from vumigo.conversations import service as csvc
from vumigo.db.models import Conversation, ScheduledTask
from vumigo.errors import InvalidInput, NotFound

_RELATIVE = re.compile(r"^\+(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}

key_argument = click.argument("key")
account_option = click.option(
    "--account", "account_key", help="Account key (refused unless it owns KEY)."
)


def parse_time(text: str) -> datetime:
    """``--at``: ISO 8601 (UTC unless it says otherwise) or ``+<n>[smhd]`` from now."""
    relative = _RELATIVE.match(text.strip())
    if relative:
        amount, unit = relative.groups()
        return datetime.now(UTC) + timedelta(**{_UNITS[unit]: int(amount)})
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a time; use e.g. 2030-01-31T09:00 (UTC) or +30m", param_hint="--at"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


async def _conversation(session: AsyncSession, key: str, account_key: str | None) -> Conversation:
    if account_key:
        return await csvc.get_conversation(session, account_key, key)
    return await csvc.find_conversation(session, key)


def describe_task(task: ScheduledTask) -> dict[str, Any]:
    return {
        "id": task.id,
        "conversation_key": task.conversation_key,
        "action": task.action,
        "params": task.params,
        "status": task.status,
        "due_at": task.due_at,
        "started_at": task.started_at,
        "finished_at": task.finished_at,
        "attempts": task.attempts,
        "error": task.error,
        "result": task.result,
    }


@click.command("action", cls=VumigoCommand)
@key_argument
@click.argument("name")
@click.option("--param", "params", multiple=True, help="KEY=VALUE (repeatable).")
@click.option("--at", "at", help="When: ISO 8601 UTC time, or +30m / +2h / +1d.")
@click.option("--yes", is_flag=True, help="Confirm an action that needs confirmation.")
@account_option
@pass_state
def conversation_action(
    state: State,
    key: str,
    name: str,
    params: tuple[str, ...],
    at: str | None,
    yes: bool,
    account_key: str | None,
) -> None:
    """Run action NAME of conversation KEY, now or --at a time (needs `vumigo serve` running)."""
    values = parse_pairs(params, "--param")
    due = parse_time(at) if at else None

    async def work(session: AsyncSession) -> ScheduledTask:
        conv = await _conversation(session, key, account_key)
        try:
            return await request_action(
                session, conv.key, name, values, account_key=conv.account_key, at=due, confirmed=yes
            )
        except ActionError as exc:
            if str(exc) == NEEDS_CONFIRMATION:
                raise ActionError(f"{NEEDS_CONFIRMATION} Add --yes to confirm it.") from exc
            raise

    task = in_transaction(state, work)
    when_text = "now" if due is None else task.due_at.isoformat(timespec="seconds")
    emit(state, describe_task(task), f"{task.id} ({name}, due {when_text})")


@click.command("tasks", cls=VumigoCommand)
@key_argument
@account_option
@pass_state
def conversation_tasks(state: State, key: str, account_key: str | None) -> None:
    """List a conversation's actions, newest first, with the progress of their sends."""

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        conv = await _conversation(session, key, account_key)
        tasks = await session.scalars(
            select(ScheduledTask)
            .where(ScheduledTask.conversation_key == conv.key)
            .order_by(ScheduledTask.created_at.desc())
            .limit(50)
        )
        found = []
        for task in tasks.all():
            data = describe_task(task)
            data["progress"] = await progress(session, task.id)
            found.append(data)
        return found

    found = in_transaction(state, work)
    rows = []
    for task in found:
        sent = task["progress"]
        done = (
            f"{sent['queued']} queued, {sent['sent']} sent, {sent['acked']} acked, "
            f"{sent['failed']} failed of {sent['total']}"
            if sent
            else (task["error"] or "")
        )
        rows.append((task["id"], task["action"], task["status"], when(task["due_at"]), done))
    text = columns(rows, ("task", "action", "status", "due", "progress")) if rows else "none"
    emit(state, found, text)


@click.command("cancel-task", cls=VumigoCommand)
@click.argument("task_id")
@pass_state
def conversation_cancel_task(state: State, task_id: str) -> None:
    """Cancel a task that is pending or running (a running send stops within seconds)."""

    async def work(session: AsyncSession) -> str:
        task = await session.get(ScheduledTask, task_id)
        if task is None:
            raise NotFound(f"unknown task {task_id!r}")
        if task.status not in ("pending", "running"):
            raise InvalidInput(f"task {task_id} is already {task.status}")
        await session.execute(
            update(ScheduledTask)
            .where(ScheduledTask.id == task_id)
            .values(status="cancelled", error="cancelled by an operator")
        )
        return task.status

    was = in_transaction(state, work)
    emit(state, {"id": task_id, "was": was, "status": "cancelled"}, f"cancelled {task_id}")


async def _group_key(session: AsyncSession, account_key: str, name_or_key: str) -> str:
    group = await find_group(session, account_key, name_or_key)
    if group is not None:
        return group.key
    named = await groups_named(session, account_key, name_or_key)
    if not named:
        raise NotFound(f"no group called {name_or_key!r}")
    if len(named) > 1:
        keys = ", ".join(g.key for g in named)
        raise InvalidInput(f"{len(named)} groups are called {name_or_key!r}; use a key: {keys}")
    return named[0].key


@click.command("groups", cls=VumigoCommand)
@key_argument
@click.option("--add", "added", multiple=True, help="Group name or key to add (repeatable).")
@click.option("--remove", "removed", multiple=True, help="Group name or key to remove.")
@account_option
@pass_state
def conversation_groups(
    state: State,
    key: str,
    added: tuple[str, ...],
    removed: tuple[str, ...],
    account_key: str | None,
) -> None:
    """Show, or change, the contact groups a conversation sends to."""

    async def work(session: AsyncSession) -> list[dict[str, Any]]:
        conv = await _conversation(session, key, account_key)
        account = conv.account_key
        keys = await conversation_group_keys(session, account, conv.key)
        for name in added:
            group = await _group_key(session, account, name)
            if group not in keys:
                keys.append(group)
        for name in removed:
            group = await _group_key(session, account, name)
            if group not in keys:
                raise InvalidInput(f"the conversation does not send to {name!r}")
            keys.remove(group)
        if added or removed:
            await set_conversation_groups(session, account, conv.key, keys)
        groups = [await get_group(session, account, k) for k in keys]
        return [{"key": g.key, "name": g.name, "smart": g.query is not None} for g in groups]

    groups = in_transaction(state, work)
    rows = [(g["key"], g["name"], "smart" if g["smart"] else "static") for g in groups]
    emit(state, groups, columns(rows, ("group", "name", "kind")) if rows else "none")


def _read_object(path: str) -> dict[str, Any]:
    data = read_json_file(path, "--config-file")
    if not isinstance(data, dict):
        raise click.BadParameter(f"{path} must hold a JSON object", param_hint="--config-file")
    return data


def validated_config(conversation_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """A conversation type's config after its own checks (types without checks take any)."""
    cls = app_class(conversation_type)
    if cls is not None and issubclass(cls, ActionApp):
        return cls.validate_config(config)
    return config


@click.command("configure", cls=VumigoCommand)
@key_argument
@click.option("--config-file", required=True, type=click.Path(dir_okay=False))
@account_option
@pass_state
def conversation_configure(
    state: State, key: str, config_file: str, account_key: str | None
) -> None:
    """Replace a conversation's config with a JSON file, checked for its type."""
    config = _read_object(config_file)

    async def work(session: AsyncSession) -> Conversation:
        conv = await _conversation(session, key, account_key)
        checked = validated_config(conv.conversation_type, config)
        return await csvc.update_conversation(session, conv.account_key, conv.key, config=checked)

    conv = in_transaction(state, work)
    emit(state, {"key": conv.key, "config": conv.config}, f"configured {conv.key}")


@click.command("poll", cls=VumigoCommand)
@key_argument
@click.option("--set", "poll_file", type=click.Path(dir_okay=False), help="JSON file to save.")
@account_option
@pass_state
def conversation_poll(
    state: State, key: str, poll_file: str | None, account_key: str | None
) -> None:
    """Print a dialogue's poll as JSON, or replace it (--set FILE) after checking it."""
    poll = read_json_file(poll_file, "--set") if poll_file else None

    async def work(session: AsyncSession) -> dict[str, Any]:
        conv = await _conversation(session, key, account_key)
        if poll is None:
            return await get_poll(session, conv.account_key, conv.key)
        return await save_poll(session, conv.account_key, conv.key, poll)

    saved = in_transaction(state, work)
    if poll is None:
        click.echo(to_json(saved))
    else:
        emit(state, saved, f"saved the poll of {key}")


@click.command("configure", cls=VumigoCommand)
@key_argument
@click.option("--config-file", required=True, type=click.Path(dir_okay=False))
@account_option
@pass_state
def router_configure(state: State, key: str, config_file: str, account_key: str | None) -> None:
    """Replace a router's config with a JSON file, checked for its type."""
    config = _read_object(config_file)

    async def work(session: AsyncSession) -> dict[str, Any]:
        router = await (
            rsvc.get_router(session, account_key, key)
            if account_key
            else rsvc.find_router(session, key)
        )
        cls = router_classes().get(router.router_type)
        checked = cls.validate_config(config) if cls is not None else config
        await rsvc.update_router(session, router.account_key, router.key, config=checked)
        return {"key": router.key, "config": checked}

    data = in_transaction(state, work)
    emit(state, data, f"configured {data['key']}")


CONVERSATION_COMMANDS = (
    conversation_action,
    conversation_tasks,
    conversation_cancel_task,
    conversation_groups,
    conversation_configure,
    conversation_poll,
)
ROUTER_COMMANDS = (router_configure,)


def _attach() -> None:
    """These are subcommands of ``conversation`` and ``router``: attach them to those groups
    (this module is imported by the CLI's discovery like every command module)."""
    from vumigo.cli.conversations import conversation
    from vumigo.cli.routers import router

    for command in CONVERSATION_COMMANDS:
        conversation.add_command(command)
    for command in ROUTER_COMMANDS:
        router.add_command(command)


_attach()
