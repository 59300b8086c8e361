"""The ``log`` resource and the per-conversation log store.

Every line an app logs (and every line the host adds about a run: a timeout, a crash's stderr,
an unknown command) is kept in the conversation's log as ``"[<ISO time>, <LEVEL>] <msg>"``, newest
first, capped at 1000 entries, as Vumi Go showed at ``/conversations/<key>/jsbox_logs/``.
"""

from __future__ import annotations

import datetime
import logging
from collections import deque
from typing import Protocol

from vumigo.sandbox.resources import Reply, Request, Resource, ResourceError, command
from vumigo.sandbox.run import LogSink, Run

MAX_LOGS_PER_CONVERSATION = 1000

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}

logger = logging.getLogger("vumigo.sandbox.app")


class LogStore(Protocol):
    """Keeps the newest log lines of each conversation."""

    async def append(self, account_key: str, conversation_key: str, line: str) -> None: ...

    async def recent(
        self, account_key: str, conversation_key: str, limit: int = MAX_LOGS_PER_CONVERSATION
    ) -> list[str]:
        """Newest first."""
        ...


class InMemoryLogStore:
    def __init__(self, max_lines: int = MAX_LOGS_PER_CONVERSATION) -> None:
        self.max_lines = max_lines
        self._lines: dict[tuple[str, str], deque[str]] = {}

    async def append(self, account_key: str, conversation_key: str, line: str) -> None:
        key = (account_key, conversation_key)
        lines = self._lines.setdefault(key, deque(maxlen=self.max_lines))
        lines.appendleft(line)

    async def recent(
        self, account_key: str, conversation_key: str, limit: int = MAX_LOGS_PER_CONVERSATION
    ) -> list[str]:
        return list(self._lines.get((account_key, conversation_key), ()))[:limit]


def format_line(level: int, message: str, when: datetime.datetime | None = None) -> str:
    when = when or datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    return f"[{when.isoformat()}, {logging.getLevelName(level)}] {message}"


def store_sink(store: LogStore, account_key: str, conversation_key: str) -> LogSink:
    """A run's log sink writing to ``store`` (and to the operator's Python log at DEBUG)."""

    async def sink(level: int, message: str) -> None:
        logger.debug("[account %s, conversation %s] %s", account_key, conversation_key, message)
        await store.append(account_key, conversation_key, format_line(level, message))

    return sink


def _message(request: Request) -> str:
    msg = request.get("msg")
    if msg is None:
        raise ResourceError("Value expected for msg")
    return msg if isinstance(msg, str) else str(msg)


_LOG_REQUEST = {"msg": "the message (non-strings are converted to text)"}
_LOG_ERRORS = ("Value expected for msg",)


class LogResource(Resource):
    """Write lines to the conversation's log."""

    name = "log"
    limits = {
        "lines kept": f"the newest {MAX_LOGS_PER_CONVERSATION} per conversation "
        "(`vumigo jsbox logs`, and the conversation's page)",
    }

    async def _log(self, level: int, request: Request, run: Run) -> Reply:
        await run.log(level, _message(request))
        return {}

    @command("Log at DEBUG.", request=_LOG_REQUEST, errors=_LOG_ERRORS)
    async def debug(self, request: Request, run: Run) -> Reply:
        return await self._log(logging.DEBUG, request, run)

    @command("Log at INFO.", request=_LOG_REQUEST, errors=_LOG_ERRORS)
    async def info(self, request: Request, run: Run) -> Reply:
        return await self._log(logging.INFO, request, run)

    @command("Log at WARNING.", request=_LOG_REQUEST, errors=_LOG_ERRORS)
    async def warning(self, request: Request, run: Run) -> Reply:
        return await self._log(logging.WARNING, request, run)

    @command("Log at ERROR.", request=_LOG_REQUEST, errors=_LOG_ERRORS)
    async def error(self, request: Request, run: Run) -> Reply:
        return await self._log(logging.ERROR, request, run)

    @command("Log at CRITICAL.", request=_LOG_REQUEST, errors=_LOG_ERRORS)
    async def critical(self, request: Request, run: Run) -> Reply:
        return await self._log(logging.CRITICAL, request, run)

    @command(
        "Log at a given level.",
        request={
            **_LOG_REQUEST,
            "level": "integer Python log level (10 DEBUG ... 50 CRITICAL) or a level name; "
            "default INFO",
        },
        errors=(*_LOG_ERRORS, "Invalid log level: <level>"),
    )
    async def log(self, request: Request, run: Run) -> Reply:
        level = request.get("level", logging.INFO)
        if level is None:
            level = logging.INFO
        if isinstance(level, str):
            level = _LEVELS.get(level.lower(), level)
        if isinstance(level, bool) or not isinstance(level, int):
            raise ResourceError(f"Invalid log level: {level!r}")
        return await self._log(level, request, run)
