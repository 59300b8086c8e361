"""The configuration reference, from the settings objects and the modules that read the rest.

The main part comes from :class:`vumigo.config.Settings` (every field's name, type, default and
description). The app types' and the UI's own environment variables are read where they are
used; their modules list them in their docstrings (``- ``NAME`` [default]: what it does``),
which is where this page takes them from, and the few single variables are described below.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from vumigo.docsgen.markdown import cell, code, generated_notice, inline, table

PATH = "reference/configuration.md"

#: Groups of variables documented in their module's docstring: (prefix, module, title, intro).
DOCSTRING_GROUPS: tuple[tuple[str, str, str, str], ...] = (
    (
        "VUMIGO_JSBOX_",
        "vumigo.apps.jsbox.settings",
        "JavaScript sandbox",
        "Read by the processes that run JavaScript apps (the apps or sandbox role).",
    ),
    (
        "VUMIGO_HTTP_API_",
        "vumigo.apps.http_api.settings",
        "HTTP API",
        "Read by web processes (the API itself) and by the processes that push (apps or push).",
    ),
    (
        "VUMIGO_APPS_",
        "vumigo.apps.scheduler",
        "Scheduler",
        "Read by the processes that run conversation actions (apps or scheduler).",
    ),
)

#: Single variables, each read in one place: name -> (where, what it does).
SINGLE_VARIABLES: dict[str, tuple[str, str]] = {
    "VUMIGO_CONFIG": (
        "vumigo.cli",
        "Path of a TOML settings file, as `--config` gives it; environment variables still win.",
    ),
    "VUMIGO_NODE_MODULES": (
        "vumigo.web.assets",
        "The node_modules folder the UI's assets (htmx, Pico CSS, Chart.js) are served from; "
        "default: the nearest one holding them, from the installed package upwards.",
    ),
    "VUMIGO_HTTP_SMS_ALLOW": (
        "vumigo.transports.http_sms",
        "Comma-separated CIDRs and host names the generic HTTP SMS transport may send to "
        "although they are not public addresses.",
    ),
    "VUMIGO_APPS_HTTP_ALLOW": (
        "vumigo.apps.dialogue.calls",
        "Comma-separated CIDRs and host names a dialogue's httpjson states may call although "
        "they are not public addresses.",
    ),
    "VUMIGO_DOCS_SITE": (
        "vumigo.web.docs_site",
        "The built documentation served at /docs/; default: `site/` of the source checkout "
        "(`make docs` builds it).",
    ),
}

_VARIABLE = re.compile(r"``([A-Z][A-Z0-9_]*)``\s*\[([^\]]*)\]:?\s*")


def docstring_variables(module: ModuleType) -> list[tuple[str, str, str]]:
    """``(NAME, default, description)`` for each ``NAME`` [default]: text`` in a docstring.

    A description runs to the next variable or the end of its paragraph."""
    doc = inspect.cleandoc(module.__doc__ or "")
    found = []
    matches = list(_VARIABLE.finditer(doc))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(doc)
        text = doc[match.end() : end].split("\n\n")[0]
        text = " ".join(text.split()).rstrip(";").rstrip()
        text = text.removesuffix("-").rstrip().rstrip(";").strip()
        found.append((match.group(1), match.group(2), text))
    return found


def _type_name(annotation: Any) -> str:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    if not text or text in ("list", "dict"):
        text = str(annotation)
    return text.replace("pathlib.", "").replace("typing.", "").replace(" | ", " or ")


def _default(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        return info.default_factory()  # type: ignore[call-arg]
    return None if info.default is PydanticUndefined else info.default


def _shown(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return code("true" if value else "false")
    if isinstance(value, str) and not value:
        return "empty"
    if isinstance(value, list):
        return code(str(value).replace("'", '"'))
    return code(str(value))


def _settings_rows(fields: dict[str, FieldInfo], prefix: str) -> Iterable[list[str]]:
    for name, info in fields.items():
        yield [
            code(f"{prefix}{name.upper()}") + "<br>" + code(name),
            code(_type_name(info.annotation)),
            _shown(_default(info)),
            cell(info.description or ""),
        ]


def _settings_section() -> str:
    from vumigo.config import Settings

    rows = _settings_rows(Settings.model_fields, "VUMIGO_")
    return table(["variable / TOML key", "type", "default", "what it sets"], rows)


def _mail_section() -> str:
    from vumigo.web.mail import MailSettings

    rows = [row[:1] + row[2:] for row in _settings_rows(MailSettings.model_fields, "VUMIGO_SMTP_")]
    for row in rows:
        row[0] = row[0].split("<br>")[0]  # read from the environment only: no TOML key
    return table(["variable", "default", "what it sets"], rows)


def _docstring_default(default: str) -> str:
    if not default or default == "none":
        return "unset"
    return code(default) if " " not in default else inline(default)


def _group_section(prefix: str, module_name: str, title: str, intro: str) -> str:
    module = importlib.import_module(module_name)
    rows = [
        [code(prefix + name), _docstring_default(default), inline(text.strip(".")) or " "]
        for name, default, text in docstring_variables(module)
    ]
    return f"### {title}\n\n{intro}\n\n" + table(["variable", "default", "what it sets"], rows)


def render() -> str:
    groups = "\n".join(_group_section(*group) for group in DOCSTRING_GROUPS)
    singles = table(
        ["variable", "what it sets"],
        [[code(name), inline(text)] for name, (_, text) in sorted(SINGLE_VARIABLES.items())],
    )
    page = f"""# Configuration

Every process of the platform (`vumigo serve`, `vumigo worker`, and the other commands) reads
its settings the same way:

1. `VUMIGO_*` environment variables, which win;
2. a TOML file, named by `--config FILE` or `VUMIGO_CONFIG`, with the same names in lower case
   (`database_url = "postgresql+asyncpg://..."`);
3. the defaults below, which give the embedded mode: one process, SQLite under `./var`, the
   in-process bus, the web server on 127.0.0.1:8000.

List values are written as JSON in the environment (`VUMIGO_ROLES='["dispatcher"]'`) and as
TOML arrays in the file. An unknown key in the file, or a value of the wrong type, stops the
process with a message naming it.

This page is generated from the settings objects and the modules that read them.

## Platform settings

{_settings_section()}
## Further environment variables

These are read from the environment only, by the part of the platform that uses them.

{groups}
### E-mail

The UI's e-mails (password resets, low-credit warnings). With no host set, e-mails are written
to the log instead.

{_mail_section()}
### Other variables

{singles}"""
    return generated_notice("vumigo.config.Settings and the modules that read settings") + page
