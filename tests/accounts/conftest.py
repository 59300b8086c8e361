"""Cheap argon2 parameters for the account tests (the real ones cost ~150 ms a hash)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from vumigo.accounts import users


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
