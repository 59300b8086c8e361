"""The per-account limit on open HTTP API requests (streams included), as in the original.

The original kept the count in Redis, shared by its API workers. Here it is counted in the web
process: with several web processes, each allows ``limit`` per account. Counting in the
database instead would cost a write per request and leak counts when a process dies, which is
a worse trade for a limit that exists to stop one account from hogging a process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class TooManyConnections(Exception):
    """The account has as many open requests as it may."""


class ConcurrencyLimiter:
    def __init__(self, limit: int) -> None:
        self.limit = limit  # negative: no limit
        self.open: dict[str, int] = {}

    def acquire(self, account_key: str) -> None:
        count = self.open.get(account_key, 0)
        if 0 <= self.limit <= count:
            raise TooManyConnections(account_key)
        self.open[account_key] = count + 1

    def release(self, account_key: str) -> None:
        count = self.open.get(account_key, 0) - 1
        if count > 0:
            self.open[account_key] = count
        else:
            self.open.pop(account_key, None)

    @contextmanager
    def slot(self, account_key: str) -> Iterator[None]:
        self.acquire(account_key)
        try:
            yield
        finally:
            self.release(account_key)
