"""``vumigo docs generate [--check]``: the documentation's reference pages, from the code.

``generate`` writes the pages under ``docs/reference/`` that are generated from the code (the
sandbox resources, this command line, the settings, the HTTP APIs); with ``--check`` it writes
nothing and fails (status 1) if any committed page differs from what the code gives, naming
them. ``make docs`` runs ``generate`` and then builds the site with MkDocs.
"""

from __future__ import annotations

from pathlib import Path

import click

from vumigo.cli.common import OperationFailed, State, VumigoGroup, emit, pass_state


@click.group(cls=VumigoGroup)
def docs() -> None:
    """Generate the documentation's reference pages from the code."""


@docs.command()
@click.option("--check", is_flag=True, help="Change nothing; fail if a page is out of date.")
@click.option(
    "--docs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="The docs folder (default: docs/ of the source checkout).",
)
@pass_state
def generate(state: State, check: bool, docs_dir: Path | None) -> None:
    """Write (or with --check, compare) the generated pages under docs/reference/."""
    from vumigo import docsgen

    folder = docs_dir or docsgen.default_docs_dir()
    if folder is None:
        raise OperationFailed(
            "no docs folder found: run this in the source checkout or pass --docs-dir"
        )
    if check:
        out_of_date = docsgen.stale(folder)
        if out_of_date:
            raise OperationFailed(
                "out of date (run `vumigo docs generate` or `make docs`): " + ", ".join(out_of_date)
            )
        emit(state, {"stale": []}, "the generated docs are current")
        return
    written = docsgen.write(folder)
    lines = [f"wrote {folder / path}" for path in written] or ["the generated docs were current"]
    emit(state, {"written": written}, lines)


COMMANDS = (docs,)
