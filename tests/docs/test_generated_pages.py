"""The committed reference pages are what the code generates now (``vumigo docs generate
--check``), and the generators miss nothing: every setting a module reads is documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from vumigo import docsgen
from vumigo.apps.http_api.settings import HttpApiSettings
from vumigo.apps.scheduler import AppsSettings
from vumigo.docsgen import config as config_page

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return docsgen.render_all()


def test_the_generated_pages_are_current(rendered: dict[str, str]) -> None:
    stale = docsgen.stale(DOCS, rendered)
    assert stale == [], (
        f"out of date: {stale}; run `vumigo docs generate` (or `make docs`) and commit the result"
    )


def test_every_environment_variable_read_in_the_code_is_documented(
    rendered: dict[str, str],
) -> None:
    page = rendered[config_page.PATH]
    source = "\n".join(p.read_text() for p in (ROOT / "src" / "vumigo").rglob("*.py"))
    named = set(re.findall(r"\bVUMIGO_[A-Z0-9_]*[A-Z0-9]\b", source))
    prefixes = {prefix.rstrip("_") for prefix, *_ in config_page.DOCSTRING_GROUPS}
    missing = sorted(n for n in named - prefixes if f"`{n}`" not in page and n != "VUMIGO_SMTP")
    assert missing == [], f"environment variables missing from the configuration page: {missing}"


def _documented(module_name: str) -> set[str]:
    import importlib

    module = importlib.import_module(module_name)
    return {name for name, _, _ in config_page.docstring_variables(module)}


def test_the_docstring_lists_match_what_is_read() -> None:
    http_api = {f.name.upper() for f in dataclasses.fields(HttpApiSettings) if f.repr}
    assert _documented("vumigo.apps.http_api.settings") == http_api
    apps = {f.name.upper() for f in dataclasses.fields(AppsSettings)}
    assert _documented("vumigo.apps.scheduler") == apps
    # The jsbox settings read each variable by its name in quotes: ("TIMEOUT", ...), parsed("X").
    source = (ROOT / "src" / "vumigo" / "apps" / "jsbox" / "settings.py").read_text()
    read = set(re.findall(r'\(\s*"([A-Z][A-Z_]+)"', source))
    assert _documented("vumigo.apps.jsbox.settings") == read
