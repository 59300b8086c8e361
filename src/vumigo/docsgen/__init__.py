"""The generated pages of the documentation, and the check that the committed ones are current.

Reference pages that describe the code (sandbox resources, the command line, the settings, the
HTTP APIs) are written from the code itself, by one module each, into ``docs/reference/``. They
are committed so the docs can be read and built without running anything; ``vumigo docs
generate --check`` (run by the test suite) fails when one differs from what the code now gives,
so a change to a resource's fields, a command or a setting cannot land without its docs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import vumigo

#: Generated file (relative to the docs folder) -> the function that writes its text.
Generator = Callable[[], str]


def generators() -> dict[str, Generator]:
    # Imported here: each generator pulls in the part of the platform it describes.
    from vumigo.docsgen import cli, config, openapi, sandbox

    return {
        sandbox.PATH: sandbox.render,
        cli.PATH: cli.render,
        config.PATH: config.render,
        openapi.PATH: openapi.render,
        openapi.JSON_PATH: openapi.render_json,
    }


def default_docs_dir() -> Path | None:
    """``docs/`` of the source checkout: beside ``mkdocs.yml``, in the working directory or
    above the installed package. None when neither is a checkout."""
    here = Path(vumigo.__file__).resolve()
    for base in (Path.cwd(), here.parents[2]):
        if (base / "mkdocs.yml").is_file() and (base / "docs").is_dir():
            return base / "docs"
    return None


def render_all() -> dict[str, str]:
    """Every generated file's text, by path relative to the docs folder."""
    return {path: render() for path, render in generators().items()}


def stale(docs_dir: Path, rendered: dict[str, str] | None = None) -> list[str]:
    """The generated files under ``docs_dir`` that are missing or differ from the code."""
    rendered = render_all() if rendered is None else rendered
    out = []
    for path, text in rendered.items():
        target = docs_dir / path
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            out.append(path)
    return out


def write(docs_dir: Path, rendered: dict[str, str] | None = None) -> list[str]:
    """Writes the generated files that changed; returns their paths."""
    rendered = render_all() if rendered is None else rendered
    changed = stale(docs_dir, rendered)
    for path in changed:
        target = docs_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(rendered[path], encoding="utf-8")
    return changed


__all__ = ["default_docs_dir", "generators", "render_all", "stale", "write"]
