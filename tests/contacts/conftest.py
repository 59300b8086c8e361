"""Fixtures for the contacts tests: two accounts on a migrated database (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.support.factories import make_account
from vumigo.db.engine import Database


@pytest.fixture
async def account(db: Database) -> str:
    key, _token = await make_account(db, name="A")
    return key


@pytest.fixture
async def other_account(db: Database) -> str:
    key, _token = await make_account(db, name="B")
    return key
