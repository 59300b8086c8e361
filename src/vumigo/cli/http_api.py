"""``vumigo http-api ...``: an HTTP API conversation's tokens, push URLs, settings, deliveries.

- ``token create CONV``: makes a token and prints it, once (only its digest is stored);
- ``token remove CONV TOKEN_OR_ID`` (or ``--all``): revokes tokens;
- ``set-url CONV --messages URL --events URL``: push URLs ("" clears one);
- ``set CONV ...``: metric store, content length limit, ignore flags;
- ``show CONV``, ``deliveries CONV``, ``retry CONV``: what is configured and pushed.

``--account KEY`` makes a command refuse a conversation of another account.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.apps.http_api import deliveries as push_deliveries
from vumigo.apps.http_api.config import (
    METRIC_STORE,
    TYPES,
    ApiConfig,
    check_push_url,
    new_token,
    token_id,
)
from vumigo.apps.http_api.config import digest as token_digest
from vumigo.config import ConfigError, load_settings
from vumigo.db.engine import Database
from vumigo.db.models import Conversation
from vumigo.db.models.http_api import DELIVERY_STATUSES

T = TypeVar("T")


def _config_file() -> str | None:
    # The root group keeps --config on its context object, when there is one.
    root = click.get_current_context().find_root().obj
    value = getattr(root, "config_file", None)
    return value if isinstance(value, str) else None


def run(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Runs ``work`` in one transaction: a command that fails changes nothing."""
    try:
        settings = load_settings(_config_file())
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from exc

    async def main() -> T:
        db = Database(settings.resolved_database_url)
        try:
            async with db.transaction() as session:
                return await work(session)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise click.ClickException(f"database error: {detail}") from exc


async def find(session: AsyncSession, key: str, account_key: str | None) -> Conversation:
    row = await session.get(Conversation, key)
    if row is None or (account_key is not None and row.account_key != account_key):
        owner = f" in account {account_key}" if account_key else ""
        raise click.ClickException(f"no conversation {key}{owner}")
    if row.conversation_type not in TYPES:
        raise click.ClickException(
            f"conversation {key} is a {row.conversation_type} conversation, not an HTTP API one"
        )
    return row


def section(row: Conversation) -> dict[str, Any]:
    value = row.config.get(row.conversation_type)
    return dict(value) if isinstance(value, dict) else {}


def save(row: Conversation, changed: dict[str, Any]) -> None:
    # A new dict, so that SQLAlchemy sees the JSON column change.
    row.config = {**row.config, row.conversation_type: changed}


conversation_argument = click.argument("conversation")
account_option = click.option(
    "--account", "account_key", help="Account key (refused unless it owns the conversation)."
)


@click.group("http-api")
def http_api() -> None:
    """HTTP API conversations: tokens, push URLs, settings and push deliveries."""


@http_api.group("token")
def token() -> None:
    """Create and remove a conversation's API tokens."""


@token.command("create")
@conversation_argument
@account_option
def token_create(conversation: str, account_key: str | None) -> None:
    """Make a token for CONVERSATION and print it (it is shown this once)."""
    secret, digest = new_token()

    async def work(session: AsyncSession) -> None:
        row = await find(session, conversation, account_key)
        changed = section(row)
        tokens = [t for t in changed.get("api_tokens") or [] if isinstance(t, str)]
        changed["api_tokens"] = [*tokens, digest]
        save(row, changed)

    run(work)
    click.echo(secret)
    click.echo(f"token {token_id(digest)} created; it is not shown again", err=True)


@token.command("remove")
@conversation_argument
@click.argument("token_or_id", required=False)
@click.option("--all", "remove_all", is_flag=True, help="Remove every token.")
@account_option
def token_remove(
    conversation: str, token_or_id: str | None, remove_all: bool, account_key: str | None
) -> None:
    """Remove a token, given as itself or by the id `show` lists."""
    if remove_all == (token_or_id is not None):
        raise click.UsageError("give a token (or its id), or --all")

    async def work(session: AsyncSession) -> int:
        row = await find(session, conversation, account_key)
        changed = section(row)
        tokens = [t for t in changed.get("api_tokens") or [] if isinstance(t, str)]
        if remove_all:
            kept: list[str] = []
        else:
            assert token_or_id is not None
            wanted = token_digest(token_or_id)
            kept = [t for t in tokens if t != wanted and token_id(t) != token_or_id]
        if len(kept) == len(tokens) and not remove_all:
            raise click.ClickException(f"no such token on conversation {conversation}")
        changed["api_tokens"] = kept
        save(row, changed)
        return len(tokens) - len(kept)

    click.echo(f"removed {run(work)} token(s)")


@http_api.command("set-url")
@conversation_argument
@click.option("--messages", "message_url", help='Push URL for inbound messages ("" clears).')
@click.option("--events", "event_url", help='Push URL for events ("" clears).')
@account_option
def set_url(
    conversation: str, message_url: str | None, event_url: str | None, account_key: str | None
) -> None:
    """Set where inbound messages and events are pushed."""
    if message_url is None and event_url is None:
        raise click.UsageError("give --messages and/or --events")
    changes: dict[str, str | None] = {}
    for name, url in (("push_message_url", message_url), ("push_event_url", event_url)):
        if url is None:
            continue
        problem = check_push_url(url) if url else None
        if problem is not None:
            raise click.BadParameter(problem, param_hint=name)
        changes[name] = url or None

    async def work(session: AsyncSession) -> None:
        row = await find(session, conversation, account_key)
        save(row, {**section(row), **changes})

    run(work)
    click.echo("push URLs updated")


@http_api.command("set")
@conversation_argument
@click.option("--metric-store", help="Store that metrics.json fires into.")
@click.option("--content-length-limit", type=click.IntRange(min=0), help="0 for no limit.")
@click.option("--ignore-messages/--handle-messages", default=None)
@click.option("--ignore-events/--handle-events", default=None)
@account_option
def set_options(
    conversation: str,
    metric_store: str | None,
    content_length_limit: int | None,
    ignore_messages: bool | None,
    ignore_events: bool | None,
    account_key: str | None,
) -> None:
    """Set a conversation's other HTTP API options."""
    changes: dict[str, Any] = {}
    if metric_store is not None:
        if not METRIC_STORE.fullmatch(metric_store):
            raise click.BadParameter("letters, digits, _ . - only", param_hint="--metric-store")
        changes["metric_store"] = metric_store
    if content_length_limit is not None:
        changes["content_length_limit"] = content_length_limit or None
    if ignore_messages is not None:
        changes["ignore_messages"] = ignore_messages
    if ignore_events is not None:
        changes["ignore_events"] = ignore_events
    if not changes:
        raise click.UsageError("nothing to set")

    async def work(session: AsyncSession) -> None:
        row = await find(session, conversation, account_key)
        save(row, {**section(row), **changes})

    run(work)
    click.echo("settings updated")


@http_api.command("show")
@conversation_argument
@account_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(conversation: str, account_key: str | None, as_json: bool) -> None:
    """Show a conversation's API settings, token ids and push delivery counts."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        row = await find(session, conversation, account_key)
        config = ApiConfig.from_section(section(row))
        return {
            "key": row.key,
            "account_key": row.account_key,
            "conversation_type": row.conversation_type,
            "tokens": [token_id(t) for t in config.api_tokens],
            "push_message_url": push_deliveries.redact(config.push_message_url or "") or None,
            "push_event_url": push_deliveries.redact(config.push_event_url or "") or None,
            "ignore_messages": config.ignore_messages,
            "ignore_events": config.ignore_events,
            "metric_store": config.metric_store,
            "content_length_limit": config.content_length_limit,
            "deliveries": await push_deliveries.status_counts(session, row.key),
        }

    data = run(work)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for name, value in data.items():
        if isinstance(value, list):
            value = ", ".join(value) or "none"
        elif isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        click.echo(f"{name}: {'-' if value is None else value}")


@http_api.command("deliveries")
@conversation_argument
@click.option("--status", type=click.Choice(DELIVERY_STATUSES))
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@account_option
def deliveries(conversation: str, status: str | None, limit: int, account_key: str | None) -> None:
    """List recent push deliveries, newest first."""

    async def work(session: AsyncSession) -> list[push_deliveries.DeliveryView]:
        row = await find(session, conversation, account_key)
        return await push_deliveries.list_deliveries(session, row.key, status, limit)

    rows = run(work)
    if not rows:
        click.echo("none")
    for d in rows:
        error = f"  {d.last_error}" if d.last_error else ""
        click.echo(f"{d.id}  {d.kind}  {d.status}  attempts={d.attempts}  {d.url}{error}")


@http_api.command("retry")
@conversation_argument
@click.option("--id", "delivery_id", type=int, help="Only this delivery.")
@account_option
def retry(conversation: str, delivery_id: int | None, account_key: str | None) -> None:
    """Push failed and given-up deliveries again."""

    async def work(session: AsyncSession) -> int:
        row = await find(session, conversation, account_key)
        return await push_deliveries.retry(session, row.key, delivery_id)

    click.echo(f"{run(work)} deliveries queued again")


COMMANDS = [http_api]
