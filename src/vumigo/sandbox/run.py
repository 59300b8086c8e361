"""One run: a single message or event handled by an app, and what came of it."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

logger = logging.getLogger(__name__)

#: Where a run's log lines go besides :attr:`RunResult.logs` (the conversation's log store).
LogSink = Callable[[int, str], Awaitable[None]]


class Outcome(StrEnum):
    """How a run ended. Anything but ``DONE`` also retires the process that ran it."""

    DONE = "done"  # the app said js.done
    CRASHED = "crashed"  # the process died: uncaught exception, memory, CPU rlimit, start-up
    TIMEOUT = "timeout"  # the wall clock ran out
    OUTPUT_LIMIT = "output_limit"  # too much stdout/stderr
    PROTOCOL_ERROR = "protocol_error"  # unknown command, or a line that is not a JSON command


@dataclass(frozen=True)
class LogLine:
    level: int
    message: str
    timestamp: float = field(default_factory=time.time)

    @property
    def level_name(self) -> str:
        return logging.getLevelName(self.level)


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    logs: tuple[LogLine, ...]
    error: str | None = None
    elapsed: float = 0.0
    #: The node process that ran it (None if none could be started).
    pid: int | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.DONE

    def messages(self, min_level: int = logging.NOTSET) -> list[str]:
        return [line.message for line in self.logs if line.level >= min_level]


@dataclass(frozen=True)
class RunContext:
    """What the engine knows about the conversation a message belongs to.

    ``endpoints`` are the conversation's extra endpoints (``send_to_endpoint``), ``tags`` the
    ``"pool:tag"`` endpoints the account holds (``send_to_tag``). ``extras`` carries data for
    resources added later (contacts, opt-outs, ...) without changing this class.
    """

    conversation_key: str = ""
    endpoints: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    extras: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    """The state of one run that resources can see."""

    account_key: str
    app_config: Mapping[str, Any]
    message: Mapping[str, Any]
    context: RunContext = field(default_factory=RunContext)
    log_sink: LogSink | None = None
    logs: list[LogLine] = field(default_factory=list)
    #: Once-per-run markers, e.g. so a quota warning is logged once, not per request.
    notes: set[str] = field(default_factory=set)

    @property
    def is_event(self) -> bool:
        return self.message.get("message_type") == "event"

    @property
    def command(self) -> str:
        return "inbound-event" if self.is_event else "inbound-message"

    @property
    def message_id(self) -> str | None:
        value = None if self.is_event else self.message.get("message_id")
        return value if isinstance(value, str) else None

    async def log(self, level: int, message: str) -> None:
        self.logs.append(LogLine(level, message))
        if self.log_sink is None:
            return
        try:
            await self.log_sink(level, message)
        except Exception:
            # A broken log store must not fail the app's request or the run.
            logger.exception("could not store sandbox log line for %s", self.account_key)
