"""Where SMSC message ids are matched to our message ids, so receipts can name our message.

The session writes an entry when submit_sm_resp gives an id and reads it when a receipt quotes
one. The in-memory store is for tests and single-process use; the platform supplies one backed by
its database so receipts still match after a restart.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol


class CorrelationStore(Protocol):
    async def put(self, smsc_id: str, message_id: str) -> None:
        """Remember that the SMSC calls our ``message_id`` by ``smsc_id``."""
        ...

    async def get(self, smsc_id: str) -> str | None:
        """Our message id for ``smsc_id``, or None if it was never stored (or was evicted)."""
        ...


class MemoryCorrelationStore:
    """A bounded in-memory store; the oldest entries go first once ``max_entries`` is reached."""

    def __init__(self, max_entries: int = 1_000_000) -> None:
        self._max_entries = max_entries
        self._ids: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._ids)

    async def put(self, smsc_id: str, message_id: str) -> None:
        self._ids[smsc_id] = message_id
        self._ids.move_to_end(smsc_id)
        while len(self._ids) > self._max_entries:
            self._ids.popitem(last=False)

    async def get(self, smsc_id: str) -> str | None:
        return self._ids.get(smsc_id)
