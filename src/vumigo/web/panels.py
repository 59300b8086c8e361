"""What the per-type panels of the conversation and router pages share.

Loading the conversation or router a panel edits (scoped to the account, and of the panel's
type), reading the numbered rows of a repeating form (``handler-0-keyword``, ...), offering the
account's contact groups with their sizes, and saving a config only after its type has checked
it, so a form can never store something the app would fail on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from vumigo.apps.actions import ActionApp, app_class
from vumigo.apps.routers import router_classes
from vumigo.contacts import conversation_group_keys, list_groups
from vumigo.contacts.groups import count_group_contacts
from vumigo.conversations import routers as rsvc
from vumigo.conversations import service as csvc
from vumigo.db.models import Conversation, Router
from vumigo.errors import InvalidInput, NotFound
from vumigo.routing.connectors import DEFAULT_ENDPOINT
from vumigo.web import forms

# More rows than this in one repeating form is not a person typing.
MAX_ROWS = 500
# prefix-N-field; a prefix may end in a number (``choices_3``: the choices of row 3).
_ROW_NAME = re.compile(r"^([a-z_]+(?:_\d{1,4})?)-(\d{1,4})-([a-z_]+)$")


async def conversation_of(
    session: AsyncSession, account_key: str, key: str, conversation_type: str
) -> Conversation:
    """The account's conversation of this type; another account's, or another type, is 404."""
    conv = await csvc.get_conversation(session, account_key, key)
    if conv.conversation_type != conversation_type:
        raise NotFound(f"Conversation {key} is not a {conversation_type} conversation.")
    return conv


async def router_of(session: AsyncSession, account_key: str, key: str, router_type: str) -> Router:
    rtr = await rsvc.get_router(session, account_key, key)
    if rtr.router_type != router_type:
        raise NotFound(f"Router {key} is not a {router_type} router.")
    return rtr


def numbered_rows(form: FormData | dict[str, Any], prefix: str) -> list[tuple[int, dict[str, str]]]:
    """The numbered rows of a repeating form with their numbers, in number order:
    ``prefix-N-field`` → row N.

    Every value is checked as form text (no NULs, bounded); rows whose fields are all blank
    are left out, so a form can offer empty rows for adding.
    """
    found: dict[int, dict[str, str]] = {}
    for name in form:
        match = _ROW_NAME.match(name)
        if match is None or match.group(1) != prefix:
            continue
        number, field = int(match.group(2)), match.group(3)
        if number not in found and len(found) >= MAX_ROWS:
            raise InvalidInput(f"At most {MAX_ROWS} rows can be saved at once.")
        found.setdefault(number, {})[field] = forms.text(
            form, name, label=field.replace("_", " "), max_length=forms.MAX_TEXT
        )
    return [(number, row) for number, row in sorted(found.items()) if any(row.values())]


def rows(form: FormData | dict[str, Any], prefix: str) -> list[dict[str, str]]:
    """The rows of ``numbered_rows`` without their numbers."""
    return [row for _, row in numbered_rows(form, prefix)]


@dataclass(frozen=True, slots=True)
class GroupChoice:
    key: str
    name: str
    smart: bool
    size: int
    chosen: bool


async def group_choices(
    session: AsyncSession, account_key: str, conversation_key: str | None = None
) -> list[GroupChoice]:
    """The account's groups by name, with how many contacts each has now, marking the ones
    the conversation sends to."""
    chosen = (
        set(await conversation_group_keys(session, account_key, conversation_key))
        if conversation_key
        else set()
    )
    found = []
    for group in await list_groups(session, account_key):
        size = await count_group_contacts(session, account_key, group.key)
        found.append(
            GroupChoice(group.key, group.name, group.query is not None, size, group.key in chosen)
        )
    return sorted(found, key=lambda g: (g.name.casefold(), g.key))


async def read_group_keys(
    session: AsyncSession, account_key: str, given: Iterable[str]
) -> list[str]:
    """Group keys from a form, each checked to be one of the account's groups (400 if not)."""
    known = {group.key: group for group in await list_groups(session, account_key)}
    keys: list[str] = []
    for key in given:
        if key not in known:
            shown = key if len(key) <= 40 else key[:40] + "…"
            raise InvalidInput(f"Unknown group {shown!r}: choose one of your groups.")
        if key not in keys:
            keys.append(key)
    return keys


def form_list(form: FormData, name: str) -> list[str]:
    """Every value of a repeated field (checkboxes), as text."""
    values = []
    for value in form.getlist(name):
        if not isinstance(value, str) or "\x00" in value:
            raise InvalidInput(f"{name} must be text")
        values.append(value.strip())
    return [value for value in values if value]


def checked_conversation_config(conv: Conversation, config: dict[str, Any]) -> dict[str, Any]:
    """The config as the conversation's type would store it; InvalidInput says what is wrong."""
    cls = app_class(conv.conversation_type)
    if cls is not None and issubclass(cls, ActionApp):
        return cls.validate_config(config)
    return config


def checked_router_config(rtr: Router, config: dict[str, Any]) -> dict[str, Any]:
    cls = router_classes().get(rtr.router_type)
    return cls.validate_config(config) if cls is not None else config


def merged_endpoints(
    current: Iterable[str], before: Iterable[str], after: Iterable[str]
) -> list[str]:
    """Extra endpoints after an editor's change: the ones its old config named and its new one
    does not are dropped (their routing entries go with them), new ones are added, and the
    ones typed by hand in the settings stay."""
    gone = set(before) - set(after)
    kept = [name for name in current if name not in gone]
    for name in after:
        if name != DEFAULT_ENDPOINT and name not in kept:
            kept.append(name)
    return kept
