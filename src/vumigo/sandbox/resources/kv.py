"""The ``kv`` resource: a key-value store per account, with expiry and a key quota.

As in Vumi Go the namespace is the *account* (``sandbox_id`` was the account key), so all of an
account's conversations share keys, e.g. the toolkit's ``users.<store>.<addr>``. Values are any
JSON and are stored JSON-encoded. Each account may hold ``max_keys`` keys (Vumi Go: 10000); past
80% a warning goes to the conversation log, and at the limit creating a key fails with
"Too many keys". Unlike the original, keys that expire stop counting against the quota.
"""

from __future__ import annotations

import heapq
import json
import logging
import time
from collections.abc import Callable
from typing import Protocol

from vumigo.sandbox.resources import (
    Reply,
    Request,
    Resource,
    ResourceError,
    command,
    optional_int,
    string_field,
)
from vumigo.sandbox.run import Run

DEFAULT_MAX_KEYS = 10_000
NOT_AN_INTEGER = "value is not an integer or out of range"


class KeyQuotaExceeded(Exception):
    """Creating the key would take the account past its quota."""


class KeyValueStore(Protocol):
    """Per-account storage of JSON-encoded values. Implementations must apply the quota
    atomically: a ``set``/``incr`` that would create a key beyond ``max_keys`` raises
    :class:`KeyQuotaExceeded` and changes nothing; overwriting an existing key always works."""

    async def get(self, account_key: str, key: str) -> str | None: ...

    async def set(
        self, account_key: str, key: str, value: str, ttl: int | None, max_keys: int
    ) -> None: ...

    async def delete(self, account_key: str, key: str) -> bool: ...

    async def incr(self, account_key: str, key: str, amount: int, max_keys: int) -> int:
        """Add ``amount`` to an integer value (missing counts as 0), keeping its expiry.
        Raises ``ValueError`` if the stored value is not an integer."""
        ...

    async def count(self, account_key: str) -> int: ...


class InMemoryKeyValueStore:
    """Process-local store for tests and the embedded mode."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._data: dict[str, dict[str, tuple[str, float | None]]] = {}
        self._expiries: list[tuple[float, str, str]] = []

    def _purge(self) -> None:
        now = self._clock()
        while self._expiries and self._expiries[0][0] <= now:
            when, account_key, key = heapq.heappop(self._expiries)
            entry = self._data.get(account_key, {}).get(key)
            if entry is not None and entry[1] == when:  # not overwritten since
                del self._data[account_key][key]

    def _keys(self, account_key: str) -> dict[str, tuple[str, float | None]]:
        self._purge()
        return self._data.setdefault(account_key, {})

    def _put(self, account_key: str, key: str, value: str, expires: float | None) -> None:
        self._data[account_key][key] = (value, expires)
        if expires is not None:
            heapq.heappush(self._expiries, (expires, account_key, key))

    async def get(self, account_key: str, key: str) -> str | None:
        entry = self._keys(account_key).get(key)
        return None if entry is None else entry[0]

    async def set(
        self, account_key: str, key: str, value: str, ttl: int | None, max_keys: int
    ) -> None:
        keys = self._keys(account_key)
        if key not in keys and len(keys) >= max_keys:
            raise KeyQuotaExceeded(key)
        self._put(account_key, key, value, None if ttl is None else self._clock() + ttl)

    async def delete(self, account_key: str, key: str) -> bool:
        return self._keys(account_key).pop(key, None) is not None

    async def incr(self, account_key: str, key: str, amount: int, max_keys: int) -> int:
        keys = self._keys(account_key)
        entry = keys.get(key)
        if entry is None:
            if len(keys) >= max_keys:
                raise KeyQuotaExceeded(key)
            entry = ("0", None)
        try:
            current = json.loads(entry[0])
        except json.JSONDecodeError:
            current = None
        if isinstance(current, bool) or not isinstance(current, int):
            raise ValueError(NOT_AN_INTEGER)
        value = current + amount
        self._put(account_key, key, json.dumps(value), entry[1])
        return value

    async def count(self, account_key: str) -> int:
        return len(self._keys(account_key))


class KeyValueResource(Resource):
    """A key-value store shared by the account's conversations."""

    name = "kv"
    limits = {
        "keys per account": f"{DEFAULT_MAX_KEYS} (setting VUMIGO_JSBOX_KV_MAX_KEYS); past 80% a "
        'warning goes to the conversation log, and at the limit new keys fail with "Too many '
        'keys" (overwriting an existing key still works). Expired keys do not count.',
    }

    def __init__(self, store: KeyValueStore, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.store = store
        self.max_keys = max_keys
        self.soft_limit = int(max_keys * 0.8)

    async def _after_write(self, run: Run) -> None:
        if "kv-soft-limit" in run.notes:
            return
        if await self.store.count(run.account_key) > self.soft_limit:
            run.notes.add("kv-soft-limit")
            await run.log(
                logging.WARNING,
                f"Key-value soft limit of {self.soft_limit} keys reached for account "
                f"{run.account_key}. Once the hard limit of {self.max_keys} is reached no more "
                "keys can be written.",
            )

    async def _too_many(self, run: Run) -> ResourceError:
        if "kv-hard-limit" not in run.notes:
            run.notes.add("kv-hard-limit")
            await run.log(
                logging.ERROR,
                f"Key-value hard limit of {self.max_keys} keys reached for account "
                f"{run.account_key}. No more keys can be written.",
            )
        return ResourceError("Too many keys")

    @command(
        "Get the value of a key.",
        request={"key": "string"},
        reply={"value": "the stored JSON value, or null if the key is not set"},
        errors=("Value expected for key",),
    )
    async def get(self, request: Request, run: Run) -> Reply:
        key = string_field(request, "key", "Value expected for key")
        raw = await self.store.get(run.account_key, key)
        return {"value": None if raw is None else json.loads(raw)}

    @command(
        "Set the value of a key.",
        request={
            "key": "string",
            "value": "any JSON value",
            "seconds": "integer lifetime in seconds, or null (default) for no expiry",
        },
        errors=(
            "Value expected for key",
            "seconds must be a number or null",
            "seconds must be positive",
            "Too many keys",
        ),
    )
    async def set(self, request: Request, run: Run) -> Reply:
        key = string_field(request, "key", "Value expected for key")
        seconds = optional_int(request, "seconds", "seconds must be a number or null", None)
        if seconds is not None and seconds <= 0:
            raise ResourceError("seconds must be positive")
        value = json.dumps(request.get("value"))
        try:
            await self.store.set(run.account_key, key, value, seconds, self.max_keys)
        except KeyQuotaExceeded:
            raise await self._too_many(run) from None
        await self._after_write(run)
        return {}

    @command(
        "Delete a key.",
        request={"key": "string"},
        reply={"existed": "whether the key was set"},
        errors=("Value expected for key",),
    )
    async def delete(self, request: Request, run: Run) -> Reply:
        key = string_field(request, "key", "Value expected for key")
        return {"existed": await self.store.delete(run.account_key, key)}

    @command(
        "Atomically add to an integer value; a missing key counts as 0.",
        request={"key": "string", "amount": "integer to add, default 1"},
        reply={"value": "the new integer value"},
        errors=(
            "Value expected for key",
            "amount must be an integer",
            NOT_AN_INTEGER,
            "Too many keys",
        ),
    )
    async def incr(self, request: Request, run: Run) -> Reply:
        key = string_field(request, "key", "Value expected for key")
        amount = optional_int(request, "amount", "amount must be an integer", 1)
        amount = 1 if amount is None else amount
        try:
            value = await self.store.incr(run.account_key, key, amount, self.max_keys)
        except KeyQuotaExceeded:
            raise await self._too_many(run) from None
        except ValueError as exc:
            raise ResourceError(str(exc)) from None
        await self._after_write(run)
        return {"value": value}
