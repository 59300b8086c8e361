"""Shared fixtures: a migrated database on SQLite and, under `make test`, on PostgreSQL too.

Migrations run once per session into a template (a SQLite file, a PostgreSQL template
database); every test gets its own copy, so tests never see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.db.migrate import upgrade

POSTGRES_URL = os.environ.get("VUMIGO_TEST_POSTGRES_URL")
DATABASES = ["sqlite", "postgres"]


def _run(coro: object) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    _run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


async def _pg_admin(sql: str) -> None:
    import asyncpg  # only needed when PostgreSQL is in play

    assert POSTGRES_URL is not None
    url = make_url(POSTGRES_URL)
    conn = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, database=url.database or "postgres"
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL is started by `make test` (VUMIGO_TEST_POSTGRES_URL unset)")
    name = f"vumigo_template_{uuid.uuid4().hex[:8]}"
    _run(_pg_admin(f'CREATE DATABASE "{name}"'))
    _run(_migrate(make_url(POSTGRES_URL).set(database=name).render_as_string(False)))
    yield name


def database_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database of ``kind`` for one test."""
    if kind == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "vumigo.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"vumigo_test_{uuid.uuid4().hex[:12]}"
    _run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    assert POSTGRES_URL is not None
    return make_url(POSTGRES_URL).set(database=name).render_as_string(False)


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database URL, once for SQLite and once for PostgreSQL."""
    return database_url(request.param, request, tmp_path)


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url("sqlite", request, tmp_path)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.dispose()


@pytest.fixture
async def sqlite_db(sqlite_url: str) -> AsyncIterator[Database]:
    database = Database(sqlite_url)
    yield database
    await database.dispose()


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str) -> Settings:
    """Settings for an embedded instance in a private data folder, on a migrated SQLite copy."""
    return Settings(data_dir=tmp_path / "var", database_url=sqlite_url)
