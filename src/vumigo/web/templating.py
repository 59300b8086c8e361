"""Jinja2 set-up for the UI: one environment, autoescaped, with the few helpers templates use."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from vumigo import __version__

TEMPLATES = Path(__file__).parent / "templates"


def _datetime(value: datetime | str | None, with_seconds: bool = False) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace(" ", "T"))
        except ValueError:
            return value
    else:
        when = value
    return when.strftime("%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M")


def _number(value: int | float | None) -> str:
    if value is None:
        return "0"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def _static(path: str) -> str:
    # The version in the query string makes browsers fetch assets anew after an upgrade.
    return f"/static/{path}?v={__version__}"


def _query(params: dict[str, Any], **changes: Any) -> str:
    """A query string from ``params`` with ``changes`` applied; empty values are dropped."""
    merged = {**params, **changes}
    kept = {k: v for k, v in merged.items() if v not in (None, "")}
    return "?" + urlencode(kept) if kept else "?"


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _htmx_headers(token: str) -> Markup:
    # An attribute value for hx-headers; json.dumps keeps it valid JSON, escaping keeps it HTML.
    return Markup.escape(json.dumps({"X-CSRF-Token": token}))


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dt"] = _datetime
    env.filters["number"] = _number
    env.filters["pretty_json"] = _pretty_json
    env.filters["urlpart"] = lambda value: quote(str(value), safe="")
    env.globals["static"] = _static
    env.globals["query"] = _query
    env.globals["htmx_headers"] = _htmx_headers
    env.globals["version"] = __version__
    return env


environment = make_environment()
