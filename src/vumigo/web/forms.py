"""Reading HTML forms and query strings without trusting them.

Every reader returns a clean value or raises InvalidInput with a sentence a person can act on;
``UIRoute`` turns that into a 400 page, so a hand-made request never causes a 500.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from starlette.datastructures import FormData
from starlette.requests import Request

from vumigo.errors import InvalidInput

T = TypeVar("T")
MAX_TEXT = 10_000


async def read_form(request: Request) -> FormData:
    return await request.form()


def text(
    form: FormData | dict[str, Any],
    name: str,
    *,
    label: str | None = None,
    required: bool = False,
    max_length: int = 255,
    strip: bool = True,
) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise InvalidInput(f"{label or name} must be text")
    if "\x00" in value:
        raise InvalidInput(f"{label or name} must not contain NUL characters")
    if strip:
        value = value.strip()
    if required and not value:
        raise InvalidInput(f"{label or name} is required")
    if len(value) > max_length:
        raise InvalidInput(f"{label or name} must be at most {max_length} characters")
    return value


def choice(value: str | None, allowed: Iterable[str], default: str) -> str:
    """``value`` if it is one of ``allowed``, else ``default`` (for filters and tabs)."""
    return value if value is not None and value in set(allowed) else default


def query_text(value: str, max_length: int = 255) -> str:
    """A free-text query-string value made safe to search with (trimmed, no NULs)."""
    return value.replace("\x00", "").strip()[:max_length]


def cursor(value: str | None) -> int | None:
    """A paging cursor (a positive database sequence number), or None if it isn't one."""
    if value is None or not value.isdigit() or len(value) > 18:
        return None
    return int(value)


def positive_int(value: str | None, default: int = 1, maximum: int = 1_000_000) -> int:
    if value is None or not value.strip().isdigit():
        return default
    return max(1, min(int(value), maximum))


def json_object(raw: str, label: str = "config") -> dict[str, Any]:
    """A JSON object typed into a textarea; InvalidInput says where it went wrong."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"The {label} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    if not isinstance(value, dict):
        raise InvalidInput(f'The {label} must be a JSON object, like {{"key": "value"}}')
    if _has_nul(value):
        raise InvalidInput(f"The {label} must not contain NUL characters (\\u0000)")
    return value


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


def name_list(raw: str) -> list[str]:
    """Endpoint names typed as a comma- or space-separated list."""
    return [part for part in raw.replace(",", " ").split() if part]


@dataclass(frozen=True, slots=True)
class PageOf(Generic[T]):
    items: Sequence[T]
    number: int
    count: int  # pages in all
    total: int

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.count


def paginate(items: Sequence[T], number: int, per_page: int) -> PageOf[T]:
    """One page of ``items`` (1-based); a page past the end shows the last page."""
    count = max(1, math.ceil(len(items) / per_page))
    number = min(max(1, number), count)
    start = (number - 1) * per_page
    return PageOf(items[start : start + per_page], number, count, len(items))
