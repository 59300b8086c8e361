"""A JavaScript app conversation's own pages: the code editor, the app config keys, the logs,
and the push (``send_jsbox``) button.

The conversation page shows the type's panel (``conversations/types/jsbox.html``), which loads
a summary from here. Code is saved only once it compiles the way the sandbox compiles it
(:mod:`vumigo.sandbox.syntax`); a syntax error comes back on the editor with its line, and
the code as typed, so nothing is lost. Saves call ``web.changed()`` so the next message runs
the new code, not the engine's cached copy.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import Response

from vumigo.apps.actions import request_action
from vumigo.apps.jsbox.config import (
    APP_CONFIG_KEY,
    APP_CONFIG_SECTION,
    MAX_CODE_BYTES,
    MAX_VALUE_BYTES,
    JsBoxConfig,
    with_app_config,
    with_code,
)
from vumigo.apps.jsbox.logs import recent_lines
from vumigo.apps.jsbox.runtime import JsBoxRuntime
from vumigo.contacts import DELIVERY_CLASSES, conversation_group_keys
from vumigo.conversations import service
from vumigo.db.models import Conversation
from vumigo.errors import InvalidInput, NotFound, VumigoError
from vumigo.sandbox.syntax import SyntaxCheckUnavailable, SyntaxProblem, check_syntax
from vumigo.web import csrf, forms
from vumigo.web.context import Page, Web
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)
log = logging.getLogger(__name__)

TYPE = "jsbox"
LOG_LINES = 200
SUMMARY_LOG_LINES = 5
_LOG_LINE = re.compile(r"\[(?P<when>[^,\]]*), (?P<level>[A-Z]+)\] (?P<text>.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class LogLine:
    when: str
    level: str
    text: str


@dataclass(frozen=True, slots=True)
class ConfigEntry:
    key: str
    value: str  # as shown for editing: JSON pretty-printed when it parses
    is_json: bool  # the app reads it as JSON (config, translations): checked when typed

    @property
    def rows(self) -> int:
        return min(20, max(3, self.value.count("\n") + 2))


def parse_log_line(line: str) -> LogLine:
    """``[2024-01-02T03:04:05, INFO] text`` in parts; a line in another shape is all text."""
    found = _LOG_LINE.fullmatch(line)
    if found is None:
        return LogLine("", "", line)
    return LogLine(found["when"].replace("T", " ")[:19], found["level"], found["text"])


def textarea(text: str) -> str:
    """A textarea's text with the line ends the code had: browsers submit them as CRLF."""
    return text.replace("\r\n", "\n")


def line_count(code: str) -> int:
    return code.count("\n") + (0 if code.endswith("\n") or not code else 1)


def reads_as_json(key: str) -> bool:
    return key == APP_CONFIG_KEY or key.startswith("translation.")


def shown_value(value: Any) -> tuple[str, bool]:
    """A stored app config value as text for its editor, and whether it is JSON."""
    text = value if isinstance(value, str) else json.dumps(value)
    try:
        parsed = json.loads(text)
    except ValueError:
        return text, False
    if isinstance(parsed, dict | list):
        return json.dumps(parsed, indent=2, ensure_ascii=False), True
    return text, False


def config_entries(config: JsBoxConfig) -> list[ConfigEntry]:
    """The app config keys, ``config`` first, then in key order."""
    entries = []
    for key in sorted(config.app_config, key=lambda k: (k != APP_CONFIG_KEY, k)):
        text, _ = shown_value(config.app_config[key])
        entries.append(ConfigEntry(key, text, reads_as_json(key)))
    return entries


async def read_form(web: Web) -> FormData:
    """The posted form, allowing fields as large as code (see ``csrf.MAX_FIELD``)."""
    return await web.request.form(max_part_size=csrf.MAX_FIELD)


async def jsbox_conversation(session: AsyncSession, web: Web, key: str) -> Conversation:
    """The account's jsbox conversation ``key``; NotFound for anything else."""
    conv = await service.get_conversation(session, web.account_key, key)
    if conv.conversation_type != TYPE:
        raise NotFound(f"Conversation {key} is not a Javascript App.")
    return conv


async def has_groups(session: AsyncSession, conv: Conversation) -> bool:
    return bool(await conversation_group_keys(session, conv.account_key, conv.key))


async def log_lines(web: Web, conv: Conversation, limit: int) -> list[LogLine]:
    """The newest lines first. Lines an app in this process logged a moment ago are still
    buffered: write them first, so a refresh right after a message shows its lines."""
    app = web.platform.engine.apps.apps.get(TYPE)
    runtime = getattr(app, "runtime", None)
    if isinstance(runtime, JsBoxRuntime):
        await runtime.logs.flush()
    async with web.db.sessions() as session:
        lines = await recent_lines(session, conv.account_key, conv.key, limit)
    return [parse_log_line(line) for line in lines]


async def _page(web: Web, template: str, key: str, status: int = 200, **extra: Any) -> Response:
    async with web.db.sessions() as session:
        conv = await jsbox_conversation(session, web, key)
        groups = await has_groups(session, conv)
    return await web.page(
        template,
        status=status,
        nav="conversations",
        conv=conv,
        jsbox=JsBoxConfig.of(conv.config),
        has_groups=groups,
        delivery_classes=DELIVERY_CLASSES,
        **extra,
    )


async def _store(web: Web, key: str, change: Any) -> None:
    """Applies ``change(conv.config) -> new config`` to the account's jsbox conversation."""
    async with web.db.transaction() as session:
        conv = await jsbox_conversation(session, web, key)
        await service.update_conversation(
            session, web.account_key, key, config=change(dict(conv.config))
        )
    web.changed()


# --- Code ---------------------------------------------------------------------------------


@router.get("/conversations/{key}/jsbox/code")
async def code_page(web: Page, key: str) -> Response:
    return await _page(web, "jsbox/code.html", key)


@router.post("/conversations/{key}/jsbox/code")
async def save_code(web: Page, key: str) -> Response:
    form = await read_form(web)
    code = textarea(
        forms.text(form, "code", label="The JavaScript", max_length=MAX_CODE_BYTES, strip=False)
    )
    problem: SyntaxProblem | None = None
    try:
        with_code({}, code)  # empty or too large: say so before running node
        try:
            problem = await check_syntax(code)
        except SyntaxCheckUnavailable as exc:
            log.warning("jsbox code saved without a syntax check: %s", exc)
            await web.flash("info", f"The syntax could not be checked ({exc}).")
        if problem is not None:
            raise InvalidInput(f"Not saved: {problem}")
        await _store(web, key, lambda config: with_code(config, code))
    except VumigoError as exc:
        if exc.status_code == 404:
            raise
        return await _page(
            web,
            "jsbox/code.html",
            key,
            status=exc.status_code,
            code=code,
            error=str(exc),
            problem=problem,
        )
    await web.flash("success", f"Saved: {line_count(code)} lines, no syntax errors.")
    return web.redirect(f"/conversations/{key}/jsbox/code")


# --- App config ---------------------------------------------------------------------------


@router.get("/conversations/{key}/jsbox/config")
async def config_page(web: Page, key: str) -> Response:
    return await _config_page(web, key)


async def _config_page(web: Web, key: str, status: int = 200, **extra: Any) -> Response:
    async with web.db.sessions() as session:
        conv = await jsbox_conversation(session, web, key)
    return await _page(
        web,
        "jsbox/config.html",
        key,
        status=status,
        entries=config_entries(JsBoxConfig.of(conv.config)),
        **extra,
    )


@router.post("/conversations/{key}/jsbox/config")
async def set_config_key(web: Page, key: str) -> Response:
    form = await read_form(web)
    name = forms.text(form, "key", label="Key", max_length=255)
    value = textarea(
        forms.text(form, "value", label="Value", max_length=MAX_VALUE_BYTES, strip=False)
    )
    try:
        if not name:
            raise InvalidInput("Give the key a name (the app reads it with config.get).")
        with_app_config({}, name, value)  # checked before anything is loaded
        await _store(web, key, lambda config: with_app_config(config, name, value))
    except VumigoError as exc:
        if exc.status_code == 404:
            raise
        failed = {"key": name, "value": value}
        return await _config_page(web, key, status=exc.status_code, error=str(exc), failed=failed)
    await web.flash("success", f"Saved app config “{name}”.")
    return web.redirect(f"/conversations/{key}/jsbox/config")


@router.post("/conversations/{key}/jsbox/config/remove")
async def remove_config_key(web: Page, key: str) -> Response:
    form = await forms.read_form(web.request)
    name = forms.text(form, "key", label="Key", required=True, max_length=255)

    def without(config: dict[str, Any]) -> dict[str, Any]:
        section = config.get(APP_CONFIG_SECTION)
        values = dict(section) if isinstance(section, dict) else {}
        if name not in values:
            raise NotFound(f"The app config has no key “{name}”.")
        del values[name]
        return {**config, APP_CONFIG_SECTION: values}

    await _store(web, key, without)
    await web.flash("success", f"Removed app config “{name}”.")
    return web.redirect(f"/conversations/{key}/jsbox/config")


# --- Logs, summary, push ------------------------------------------------------------------


@router.get("/conversations/{key}/jsbox/logs")
async def logs_page(web: Page, key: str) -> Response:
    async with web.db.sessions() as session:
        conv = await jsbox_conversation(session, web, key)
    lines = await log_lines(web, conv, LOG_LINES)
    updated = datetime.now(UTC).strftime("%H:%M:%S UTC")
    if web.is_htmx and web.request.headers.get("hx-target") == "jsbox-logs":
        return web.fragment("jsbox/_logs.html", conv=conv, lines=lines, updated=updated)
    return await _page(web, "jsbox/logs.html", key, lines=lines, updated=updated)


@router.get("/conversations/{key}/jsbox/summary")
async def summary(web: Page, key: str) -> Response:
    """The conversation page's panel: what the app is, its newest log lines, the push form."""
    async with web.db.sessions() as session:
        conv = await jsbox_conversation(session, web, key)
        groups = await has_groups(session, conv)
    config = JsBoxConfig.of(conv.config)
    code = config.javascript or ""
    return web.fragment(
        "jsbox/_summary.html",
        conv=conv,
        jsbox=config,
        code_lines=line_count(code),
        code_bytes=len(code.encode("utf-8", errors="replace")),
        lines=await log_lines(web, conv, SUMMARY_LOG_LINES),
        has_groups=groups,
        delivery_classes=DELIVERY_CLASSES,
    )


@router.post("/conversations/{key}/jsbox/push")
async def push(web: Page, key: str) -> Response:
    form = await forms.read_form(web.request)
    delivery_class = forms.text(form, "delivery_class", label="Delivery class", max_length=32)
    back = forms.text(form, "back", max_length=16)
    if delivery_class and delivery_class not in DELIVERY_CLASSES:
        raise InvalidInput(f"Unknown delivery class {delivery_class!r}.")
    params = {"delivery_class": delivery_class} if delivery_class else {}
    try:
        async with web.db.transaction() as session:
            conv = await jsbox_conversation(session, web, key)
            await request_action(
                session, conv.key, "send_jsbox", params, account_key=web.account_key
            )
    except VumigoError as exc:
        if exc.status_code == 404:
            raise
        await web.flash("error", f"Not sent: {exc}")
    else:
        await web.flash(
            "success", "Push messages triggered: the app runs once for each contact in its groups."
        )
    # Back to where the button was: the conversation page, or one of these pages.
    tab = back if back in ("code", "config", "logs") else ""
    return web.redirect(f"/conversations/{key}/jsbox/{tab}" if tab else f"/conversations/{key}/")
