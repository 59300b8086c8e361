"""What conversations and routers share: input checks and the start/stop/archive rules.

The original's UI set ``starting`` and waited for the worker to report ``running``. Here the
workers live in the platform itself and read the status from the database, so start and stop
set the final status directly; ``starting`` and ``stopping`` are still understood if present.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from vumigo.db.base import utcnow
from vumigo.db.models.conversations import STATUSES
from vumigo.errors import Conflict, InvalidInput
from vumigo.routing.connectors import DEFAULT_ENDPOINT, validate_endpoint


class Lifecycled(Protocol):
    key: str
    status: str
    archived: bool
    archived_at: datetime | None


def check_name(name: str) -> str:
    value = name.strip() if isinstance(name, str) else ""
    if not value or len(value) > 255:
        raise InvalidInput("a name of 1-255 characters is required")
    return value


def check_config(config: Any) -> dict[str, Any]:
    """A config must be a JSON object; a copy is returned so callers can't alias stored state."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise InvalidInput("the config must be a JSON object")
    try:
        return dict(json.loads(json.dumps(config)))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"the config is not valid JSON: {exc}") from exc


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise InvalidInput(f"unknown status {status!r}; known: {', '.join(STATUSES)}")
    return status


def check_endpoints(names: Iterable[str] | None) -> list[str]:
    """Extra endpoint names: valid, unique, in order, and never ``default`` (always present)."""
    if names is None:
        return []
    if isinstance(names, str):
        raise InvalidInput("endpoints must be a list of names")
    seen: dict[str, None] = {}
    for name in names:
        if validate_endpoint(name) != DEFAULT_ENDPOINT:
            seen[name] = None
    return list(seen)


def start(item: Lifecycled, label: str) -> None:
    if item.archived:
        raise Conflict(f"{label.capitalize()} {item.key} is archived")
    if item.status in ("running", "starting"):
        raise Conflict(f"{label.capitalize()} already running")
    item.status = "running"


def stop(item: Lifecycled, label: str) -> None:
    if item.archived:
        raise Conflict(f"{label.capitalize()} {item.key} is archived")
    if item.status in ("stopped", "stopping"):
        raise Conflict(f"{label.capitalize()} already stopped")
    item.status = "stopped"


def archive(item: Lifecycled, label: str) -> None:
    if item.archived:
        raise Conflict(f"{label.capitalize()} already archived")
    if item.status != "stopped":
        raise Conflict(f"Only stopped {label}s can be archived")
    item.archived = True
    item.archived_at = utcnow()


def refuse_archived(item: Lifecycled, label: str) -> None:
    if item.archived:
        raise Conflict(f"{label.capitalize()} {item.key} is archived")
