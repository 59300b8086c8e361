"""Which errors say the database server cannot be reached, and which say anything else."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from tests.support.live import free_port
from vumigo.db.availability import unavailable
from vumigo.db.engine import Database


def wrapped(orig: Exception, invalidated: bool) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, orig, connection_invalidated=invalidated)


def caused_by(cause: BaseException) -> Exception:
    try:
        raise RuntimeError("while doing something") from cause
    except RuntimeError as exc:
        return exc


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ConnectionRefusedError(111, "Connect call failed"), True),
        (ConnectionResetError(104, "Connection reset by peer"), True),
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), True),
        (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"), True),
        (wrapped(Exception("connection was closed"), invalidated=True), True),
        (caused_by(ConnectionRefusedError(111, "refused")), True),
        # Something wrong with the request or the data, not the server being away.
        (wrapped(Exception("syntax error"), invalidated=False), False),
        (IntegrityError("INSERT", {}, Exception("duplicate key")), False),
        (OperationalError("SELECT", {}, Exception("database is locked")), False),
        (asyncpg.exceptions.QueryCanceledError("canceling statement due to timeout"), False),
        (FileNotFoundError(2, "No such file"), False),
        (ValueError("bad value"), False),
    ],
)
def test_unavailable(error: Exception, expected: bool) -> None:
    assert unavailable(error) is expected


async def test_a_server_that_is_not_there_is_unavailable() -> None:
    db = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/postgres")
    try:
        with pytest.raises(Exception) as raised:
            async with db.sessions() as session:
                await session.connection()
    finally:
        await db.dispose()
    assert unavailable(raised.value)
