"""``vumigo jsbox ...``: a JavaScript app conversation's code, app config, logs and pushes.

- ``set-code CONV FILE``: the app's JavaScript (``-`` reads standard input);
- ``set-config CONV KEY FILE`` or ``set-config CONV KEY --value TEXT``: one app config key
  (``config`` is the app's JSON config and must be a JSON object);
- ``show CONV``: what is configured;
- ``logs CONV [--limit N]``: the app's newest log lines, newest first;
- ``send CONV [--delivery-class C]``: push to the conversation's groups (``send_jsbox``), run by
  the platform's scheduler (``vumigo serve`` must be running).

Code and config changes reach a running platform within a second or two (its conversation
look-ups are cached that long). ``--account KEY`` makes a command refuse a conversation of
another account.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.apps.actions import request_action
from vumigo.apps.jsbox.config import (
    APP_CONFIG_KEY,
    JsBoxConfig,
    parse_app_config,
    with_app_config,
    with_code,
)
from vumigo.apps.jsbox.logs import recent_lines
from vumigo.cli.common import State, VumigoGroup, emit, in_transaction, pass_state
from vumigo.conversations import service as csvc
from vumigo.db.base import utcnow
from vumigo.db.models import Conversation
from vumigo.errors import InvalidInput
from vumigo.sandbox.resources.log import MAX_LOGS_PER_CONVERSATION

conversation_argument = click.argument("conversation")
account_option = click.option(
    "--account", "account_key", help="Account key (refused unless it owns the conversation)."
)


async def find_jsbox(session: AsyncSession, key: str, account_key: str | None) -> Conversation:
    if account_key:
        conv = await csvc.get_conversation(session, account_key, key)
    else:
        conv = await csvc.find_conversation(session, key)
    if conv.conversation_type != "jsbox":
        raise InvalidInput(
            f"conversation {key} is a {conv.conversation_type} conversation, not jsbox"
        )
    return conv


def read_text(path: str, what: str) -> str:
    """A file's text (UTF-8), or standard input for ``-``."""
    try:
        if path == "-":
            return sys.stdin.read()
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint=what) from exc
    except UnicodeDecodeError as exc:
        raise click.BadParameter(f"{path} is not UTF-8 text: {exc}", param_hint=what) from exc


def _store(conv: Conversation, config: dict[str, Any]) -> None:
    conv.config = config
    conv.updated_at = utcnow()


def describe(conv: Conversation) -> dict[str, Any]:
    config = JsBoxConfig.of(conv.config)
    code = config.javascript or ""
    keys = {}
    for key, value in sorted(config.app_config.items()):
        text = value if isinstance(value, str) else ""
        keys[key] = {"bytes": len(text.encode("utf-8", errors="surrogatepass"))}
    return {
        "conversation_key": conv.key,
        "account_key": conv.account_key,
        "status": conv.status,
        "code_bytes": len(code.encode("utf-8", errors="surrogatepass")),
        "code_sha1": hashlib.sha1(code.encode("utf-8", errors="surrogatepass")).hexdigest()
        if code
        else None,
        "app_config_keys": keys,
        "app_config": parse_app_config(config.app_config.get(APP_CONFIG_KEY)),
        "process_events": config.process_events,
        "delivery_class": config.delivery_class,
    }


def describe_text(info: dict[str, Any]) -> list[str]:
    lines = [
        f"conversation  {info['conversation_key']} ({info['status']})",
        f"account       {info['account_key']}",
    ]
    if info["code_bytes"]:
        lines.append(f"code          {info['code_bytes']} bytes, sha1 {info['code_sha1']}")
    else:
        lines.append("code          none")
    for key, entry in info["app_config_keys"].items():
        lines.append(f"app config    {key} ({entry['bytes']} bytes)")
    if info["app_config"]:
        lines.append(f"name          {info['app_config'].get('name', '-')}")
        lines.append(
            f"events        {'sent to the app' if info['process_events'] else 'counted only'}"
        )
    return lines


@click.group("jsbox", cls=VumigoGroup)
def jsbox() -> None:
    """JavaScript app conversations: code, app config, logs and push messages."""


@jsbox.command("set-code")
@conversation_argument
@click.argument("file")
@click.option("--source-url", default="", help="Where the code came from (shown, not fetched).")
@account_option
@pass_state
def set_code(
    state: State, conversation: str, file: str, source_url: str, account_key: str | None
) -> None:
    """Set the app's JavaScript from FILE ('-' for standard input)."""
    source = read_text(file, "FILE")

    async def work(session: AsyncSession) -> dict[str, Any]:
        conv = await find_jsbox(session, conversation, account_key)
        _store(conv, with_code(conv.config, source, source_url))
        return describe(conv)

    info = in_transaction(state, work)
    emit(state, info, f"code of {conversation} set: {info['code_bytes']} bytes")


@jsbox.command("set-config")
@conversation_argument
@click.argument("key")
@click.argument("file", required=False)
@click.option("--value", help="The value itself instead of a FILE.")
@click.option("--source-url", default="", help="Where the value came from (shown, not fetched).")
@account_option
@pass_state
def set_config(
    state: State,
    conversation: str,
    key: str,
    file: str | None,
    value: str | None,
    source_url: str,
    account_key: str | None,
) -> None:
    """Set app config KEY from FILE or --value (KEY 'config' holds the app's JSON config)."""
    if (file is None) == (value is None):
        raise click.UsageError("give either FILE or --value")
    text = value if value is not None else read_text(str(file), "FILE")

    async def work(session: AsyncSession) -> dict[str, Any]:
        conv = await find_jsbox(session, conversation, account_key)
        _store(conv, with_app_config(conv.config, key, text, source_url))
        return describe(conv)

    info = in_transaction(state, work)
    size = info["app_config_keys"][key]["bytes"]
    emit(state, info, f"app config {key!r} of {conversation} set: {size} bytes")


@jsbox.command("show")
@conversation_argument
@account_option
@pass_state
def show(state: State, conversation: str, account_key: str | None) -> None:
    """Show a conversation's code size, app config keys and app settings."""

    async def work(session: AsyncSession) -> dict[str, Any]:
        return describe(await find_jsbox(session, conversation, account_key))

    info = in_transaction(state, work)
    emit(state, info, describe_text(info))


@jsbox.command("logs")
@conversation_argument
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_LOGS_PER_CONVERSATION),
    default=100,
    show_default=True,
    help="How many lines.",
)
@account_option
@pass_state
def logs(state: State, conversation: str, limit: int, account_key: str | None) -> None:
    """Print the app's newest log lines, newest first."""

    async def work(session: AsyncSession) -> list[str]:
        conv = await find_jsbox(session, conversation, account_key)
        return await recent_lines(session, conv.account_key, conv.key, limit)

    lines = in_transaction(state, work)
    emit(state, lines, lines or "no log lines")


@jsbox.command("send")
@conversation_argument
@click.option("--delivery-class", help="Contact address to push to (default: the app's, else sms).")
@account_option
@pass_state
def send(
    state: State, conversation: str, delivery_class: str | None, account_key: str | None
) -> None:
    """Push: run the app once for every opted-in contact of the conversation's groups."""
    params = {"delivery_class": delivery_class} if delivery_class else {}

    async def work(session: AsyncSession) -> dict[str, Any]:
        conv = await find_jsbox(session, conversation, account_key)
        task = await request_action(
            session, conv.key, "send_jsbox", params, account_key=conv.account_key
        )
        return {"id": task.id, "conversation_key": conv.key, "action": task.action}

    task = in_transaction(state, work)
    emit(state, task, f"{task['id']} (send_jsbox, due now)")


COMMANDS = (jsbox,)
