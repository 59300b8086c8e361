"""Conversation actions: things an operator or account asks a conversation to do once.

An action (``bulk_send``, ``send_dialogue``, ...) is declared by its conversation type with the
rules the original had: it may need a contact group, a running conversation, or an explicit
confirmation, and it may be scheduled for later. Asking for an action checks those rules and
writes a ``scheduled_tasks`` row, due now or at the time given; the scheduler of a running
platform picks it up (see ``vumigo.apps.scheduler``). Going through the table even for "now"
is what lets the CLI and the web UI, which are other processes, ask the engine for work, and
what lets a send that was running when the process died carry on after a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.apps.base import ConversationApp
from vumigo.contacts import conversation_group_keys
from vumigo.db.base import utcnow
from vumigo.db.models import Conversation, ScheduledTask
from vumigo.dispatcher.lookups import AppInfo
from vumigo.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from vumigo.engine.core import Engine

# The original's wording, so UI messages stay familiar.
NEEDS_GROUP = "This action needs a contact group."
NEEDS_RUNNING = "This action needs a running conversation."
NEEDS_CONFIRMATION = "This action needs confirmation."


class ActionError(InvalidInput):
    """An action cannot be asked for or run as given; ``str(err)`` says why, for a person."""


@dataclass(frozen=True)
class Param:
    """One parameter of an action. ``kind`` is str, bool or int; values are coerced to it."""

    name: str
    kind: type = str
    required: bool = False
    default: Any = None
    help: str = ""

    def clean(self, value: Any) -> Any:
        if self.kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
        elif self.kind is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                return int(value)
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)
        raise ActionError(f"Parameter '{self.name}' must be a {self.kind.__name__}.")


@dataclass(frozen=True)
class Action:
    name: str
    display_name: str
    needs_group: bool = False
    needs_running: bool = False
    needs_confirmation: bool = False
    schedulable: bool = True
    # Internal actions are the platform's own (a sequential send's scheduled run): nobody may
    # ask for them by hand.
    internal: bool = False
    params: tuple[Param, ...] = ()

    def clean_params(self, given: Mapping[str, Any]) -> dict[str, Any]:
        known = {param.name: param for param in self.params}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ActionError(f"Unknown parameter(s) for {self.name}: {', '.join(unknown)}.")
        cleaned: dict[str, Any] = {}
        for param in self.params:
            if param.name in given and given[param.name] is not None:
                cleaned[param.name] = param.clean(given[param.name])
            elif param.required:
                raise ActionError(f"Parameter '{param.name}' is required.")
            elif param.default is not None:
                cleaned[param.name] = param.default
        return cleaned


@dataclass
class ActionRun:
    """One run of an action: what its handler gets."""

    engine: Engine
    task_id: str
    conversation: AppInfo
    action: Action
    params: dict[str, Any]
    # Set when the task was cancelled, so a handler can tell that apart from a shutdown.
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)


class ActionApp(ConversationApp):
    """A conversation type with actions (and, optionally, periodic work).

    Starting one also starts the engine's app services (the scheduler and the router workers),
    once per engine however many types share them.
    """

    actions: ClassVar[tuple[Action, ...]] = ()

    async def start(self) -> None:
        from vumigo.apps.scheduler import services_for

        await services_for(self.engine).start()

    async def stop(self) -> None:
        from vumigo.apps.scheduler import services_for

        await services_for(self.engine).stop()

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> dict[str, Any]:
        """The config as it should be stored; raises InvalidInput naming what is wrong."""
        return config

    async def run_action(self, run: ActionRun) -> dict[str, Any]:
        """Runs an action; returns a JSON-able summary stored on the task."""
        handler = getattr(self, f"action_{run.action.name}", None)
        if handler is None:
            raise ActionError(f"{self.conversation_type} cannot run {run.action.name}.")
        result: dict[str, Any] = await handler(run)
        return result

    async def tick(self, now: datetime) -> None:
        """Called by the scheduler every poll: time-driven work (sequential sends) goes here."""


def app_class(conversation_type: str) -> type[ConversationApp] | None:
    from vumigo.apps.registry import app_classes

    return app_classes().get(conversation_type)


def actions_of(conversation_type: str) -> dict[str, Action]:
    cls = app_class(conversation_type)
    declared: tuple[Action, ...] = getattr(cls, "actions", ())
    return {action.name: action for action in declared}


def find_action(conversation_type: str, name: str) -> Action:
    found = actions_of(conversation_type).get(name)
    if found is None:
        public = sorted(a.name for a in actions_of(conversation_type).values() if not a.internal)
        known = ", ".join(public) or "none"
        raise ActionError(
            f"Conversation type {conversation_type} has no action {name!r} (actions: {known})."
        )
    return found


def as_utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


async def check_rules(session: AsyncSession, conversation: Conversation, action: Action) -> None:
    """The action's needs that the conversation must meet now (and again when it runs)."""
    if action.needs_running and (conversation.status != "running" or conversation.archived):
        raise ActionError(NEEDS_RUNNING)
    if action.needs_group and not await conversation_group_keys(
        session, conversation.account_key, conversation.key
    ):
        raise ActionError(NEEDS_GROUP)


async def request_action(
    session: AsyncSession,
    conversation_key: str,
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    account_key: str | None = None,
    at: datetime | None = None,
    confirmed: bool = False,
    unique_key: str | None = None,
    internal: bool = False,
) -> ScheduledTask:
    """Checks an action request and schedules it (due now, or at ``at``); returns the task.

    ``account_key`` scopes the look-up (another account's conversation is NotFound);
    ``confirmed`` says the person asking confirmed an action that needs it.
    """
    conversation = await session.get(Conversation, conversation_key)
    if conversation is None or (account_key and conversation.account_key != account_key):
        raise NotFound(f"Conversation '{conversation_key}' not found.")
    action = find_action(conversation.conversation_type, name)
    if action.internal and not internal:
        raise ActionError(f"{name} is run by the platform and cannot be asked for.")
    cleaned = action.clean_params(params or {})
    if action.needs_confirmation and not confirmed:
        raise ActionError(NEEDS_CONFIRMATION)
    if at is not None and not action.schedulable:
        raise ActionError(f"{name} cannot be scheduled.")
    await check_rules(session, conversation, action)
    task = ScheduledTask(
        account_key=conversation.account_key,
        conversation_key=conversation.key,
        action=action.name,
        params=cleaned,
        status="pending",
        due_at=as_utc(at) if at is not None else utcnow(),
        unique_key=unique_key,
        attempts=0,
    )
    session.add(task)
    await session.flush()
    return task
