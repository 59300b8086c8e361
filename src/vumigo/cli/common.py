"""What every command shares: settings, the database, one transaction, output and errors.

Each command does its work inside ``in_transaction``: one database transaction, committed only if
the whole command succeeded, so a command that fails changes nothing. Expected failures
(``VumigoError``) become a one-line ``error: ...`` on stderr and exit status 1; usage mistakes
exit with 2 (see ``VumigoGroup.main`` in the package).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Collection, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from vumigo.config import ConfigError, Settings, load_settings
from vumigo.db.engine import Database
from vumigo.db.migrate import alembic_config, current_revisions, head_revisions
from vumigo.errors import VumigoError

T = TypeVar("T")


class OperationFailed(click.ClickException):
    """The command was understood but could not be done (exit status 1)."""

    exit_code = 1


class BadConfig(click.ClickException):
    """The settings could not be read (exit status 2: fix the invocation, not the data)."""

    exit_code = 2


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass
class State:
    """The root group's options, handed to every command through click's context."""

    config_file: str | None = None
    json_output: bool = False
    _settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        # Read on first use, so `--help` works even with a broken environment.
        if self._settings is None:
            try:
                self._settings = load_settings(self.config_file)
            except ConfigError as exc:
                raise BadConfig(_one_line(str(exc))) from exc
        return self._settings


pass_state = click.make_pass_decorator(State, ensure=True)


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(State).json_output = True


class VumigoCommand(click.Command):
    """A command that also takes ``--json`` after its name (as well as before it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(
            click.Option(
                ["--json", "json_flag"],
                is_flag=True,
                expose_value=False,
                callback=_set_json,
                help="Print machine-readable JSON.",
            )
        )


class VumigoGroup(click.Group):
    command_class = VumigoCommand
    group_class = type  # subgroups are VumigoGroups too


def _database_label(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _known_revision(revision: str) -> bool:
    try:
        return (
            ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(revision)
            is not None
        )
    except CommandError:
        return False


async def check_schema(db: Database) -> None:
    """Fails with a pointer to ``vumigo migrate`` unless the schema is at the code's head."""
    current = await current_revisions(db)
    heads = head_revisions()
    if not current:
        raise OperationFailed(
            f"the database at {_database_label(db.url)} has no schema; run `vumigo migrate`"
        )
    unknown = sorted(rev for rev in current if not _known_revision(rev))
    if unknown:
        raise OperationFailed(
            f"the database schema ({', '.join(unknown)}) is newer than this version of vumigo"
        )
    if current != heads:
        raise OperationFailed(
            f"the database schema is at {', '.join(sorted(current))} but this version needs "
            f"{', '.join(sorted(heads))}; run `vumigo migrate`"
        )


def _sqlite_file(settings: Settings) -> Path | None:
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(str(url.database))


def run(work: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine, turning expected failures into one-line CLI errors."""
    try:
        return asyncio.run(work)
    except VumigoError as exc:
        raise OperationFailed(_one_line(str(exc))) from exc
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise OperationFailed(f"database error: {detail}") from exc
    except OSError as exc:
        raise OperationFailed(f"cannot reach the database: {exc}") from exc


async def _in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    path = _sqlite_file(settings)
    if path is not None and not path.exists():
        # Don't leave an empty database file behind for a command that can't use it.
        raise OperationFailed(f"no database at {path}; run `vumigo migrate` first")
    db = Database(settings.resolved_database_url)
    try:
        await check_schema(db)
        async with db.transaction() as session:
            return await work(session)
    finally:
        await db.dispose()


def in_transaction(state: State, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Runs ``work`` in one transaction on the configured (and migrated) database."""
    return run(_in_transaction(state.settings, work))


def to_json(value: Any) -> str:
    def default(item: Any) -> Any:
        if isinstance(item, datetime):
            return item.isoformat()
        if isinstance(item, set | frozenset):
            return sorted(item)
        raise TypeError(f"cannot write {type(item).__name__} as JSON")

    return json.dumps(value, indent=2, default=default)


def emit(state: State, data: Any, text: str | Sequence[str] | None = None) -> None:
    """Prints ``data`` as JSON with ``--json``, else the human text (``data`` if none given)."""
    if state.json_output:
        click.echo(to_json(data))
        return
    lines = [str(data)] if text is None else [text] if isinstance(text, str) else text
    for line in lines:
        click.echo(line)


def columns(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> list[str]:
    """Rows as left-aligned text columns under their headers."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in r] for r in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def parse_value(text: str) -> Any:
    """An option value as the operator most likely meant it: true/false/null, a number or JSON
    where it looks like one, else the string itself ("0123" stays a string: leading zeros)."""
    if text in ("true", "false", "null"):
        return json.loads(text)
    if text[:1] in ("{", "[", '"'):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise click.BadParameter(f"{text!r} looks like JSON but is not: {exc}") from exc
    if text and text[0] in "-0123456789":
        try:
            number = json.loads(text)
        except ValueError:
            return text
        return number
    return text


def parse_pairs(pairs: Sequence[str], option: str, strings: Collection[str] = ()) -> dict[str, Any]:
    """``k=v`` options to a dict, values through ``parse_value`` except for the keys in
    ``strings``, which are always strings (a display name of "2020" is not a number)."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint=option)
        parsed[key] = value if key in strings else parse_value(value)
    return parsed


def read_json_file(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}", param_hint=what) from exc
    except ValueError as exc:
        raise click.BadParameter(f"{path} is not valid JSON: {exc}", param_hint=what) from exc
