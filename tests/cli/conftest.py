"""Fixtures for the CLI tests: a runner bound to one database, and a snapshot of every table."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner, Result
from sqlalchemy import select

from vumigo.accounts import users
from vumigo.cli import cli
from vumigo.db.base import Base
from vumigo.db.engine import Database


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its real cost takes ~150 ms a hash; these tests aren't about that."""
    monkeypatch.setattr(users, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@dataclass
class Vumigo:
    """Runs ``vumigo`` commands in-process against one database."""

    url: str  # "": VUMIGO_DATABASE_URL unset, so the default or a config file decides
    data_dir: Path

    def __call__(self, *args: str) -> Result:
        env: dict[str, str | None] = {
            "VUMIGO_DATABASE_URL": self.url or None,
            "VUMIGO_DATA_DIR": str(self.data_dir),
            # load_settings() exports VUMIGO_CONFIG; None makes the runner put it back after.
            "VUMIGO_CONFIG": None,
        }
        return CliRunner().invoke(
            cli, list(args), prog_name="vumigo", env=env, catch_exceptions=False
        )

    def ok(self, *args: str) -> str:
        """Runs a command that must succeed; returns its stdout without the trailing newline."""
        result = self(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout.rstrip("\n")

    def snapshot(self) -> dict[str, list[Any]]:
        return asyncio.run(snapshot(self.url))


async def snapshot(url: str) -> dict[str, list[Any]]:
    """Every row of every table, to show a failed command changed nothing."""
    db = Database(url)
    try:
        async with db.transaction() as session:
            return {
                table.name: sorted(
                    (tuple(row) for row in await session.execute(select(table))), key=repr
                )
                for table in Base.metadata.sorted_tables
            }
    finally:
        await db.dispose()


@pytest.fixture
def vumigo(sqlite_url: str, tmp_path: Path) -> Iterator[Vumigo]:
    yield Vumigo(sqlite_url, tmp_path / "var")


@pytest.fixture
def vumigo_any(db_url: str, tmp_path: Path) -> Iterator[Vumigo]:
    """The same, once on SQLite and once on PostgreSQL."""
    yield Vumigo(db_url, tmp_path / "var")
