"""Telling "the database cannot be reached" apart from every other database error.

While PostgreSQL is down or restarting, requests and deliveries fail through no fault of their
own. The web app then answers 503 (come back later) rather than 500, and the bus hands such
deliveries back without counting them towards dead-lettering (``Bus.is_outage``).
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

# Refused or reset connections, which the driver raises unwrapped when it connects. (Not every
# OSError: a handler's own I/O failing is not the database being away.)
_SERVER_GONE: tuple[type[BaseException], ...] = (ConnectionRefusedError, ConnectionResetError)
try:  # the PostgreSQL driver; SQLite-only installations may not have it
    from asyncpg import exceptions as pg  # type: ignore[import-untyped]
except ImportError:  # pragma: no cover
    pass
else:
    _SERVER_GONE += (
        pg.PostgresConnectionError,  # class 08: the connection failed or does not exist
        pg.CannotConnectNowError,  # starting up or shutting down
        pg.AdminShutdownError,
        pg.CrashShutdownError,
        pg.TooManyConnectionsError,
    )

MAX_DEPTH = 8  # how far along an exception's causes to look

REASON = "The service is unavailable for a moment (its database cannot be reached); try again."


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database server cannot be reached."""
    seen: BaseException | None = exc
    for _ in range(MAX_DEPTH):
        if seen is None:
            return False
        if isinstance(seen, DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(seen, _SERVER_GONE):
            return True
        orig = seen.orig if isinstance(seen, DBAPIError) else None
        seen = orig or seen.__cause__ or seen.__context__
    return False
