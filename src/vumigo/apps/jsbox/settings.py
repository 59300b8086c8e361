"""Operator settings of the jsbox conversation type, from ``VUMIGO_JSBOX_*`` environment
variables (the HTTP API's settings are read the same way, until ``vumigo.config.Settings``
grows sections for the app types).

Variables (default in brackets):

- ``TIMEOUT`` [60]: seconds one message may take in an app, its requests included.
- ``POOL_SIZE`` [1]: warm node processes per account.
- ``MESSAGES_PER_PROCESS`` [1000]: messages a process serves before it is replaced.
- ``IDLE_TIMEOUT`` [300]: seconds an account's idle processes are kept.
- ``MAX_POOLS`` [500]: accounts with warm processes at once.
- ``NETWORK`` [auto]: ``auto`` runs apps in a private network namespace when the host allows
  one, ``require`` refuses to run them without, ``off`` shares the host's network.
- ``EXTRA_MODULES`` [none]: comma-separated node modules apps may ``require`` besides
  vumigo_v02 and its dependencies; they must be installed in ``MODULES_DIR``.
- ``MODULES_DIR`` [the nearest node_modules holding vumigo_v02].
- ``NODE`` [node on the PATH].
- ``HTTP_ALLOW`` [none]: comma-separated CIDRs and host names the ``http`` resource may reach
  although they are not public (``10.0.0.0/8``, ``api.internal``, ``.internal``).
- ``HTTP_TIMEOUT`` [30]: seconds one HTTP request of an app may take.
- ``KV_MAX_KEYS`` [10000]: keys each account may hold in the key-value store.
- ``ALLOWED_HELPER_METADATA`` [none]: comma-separated helper_metadata keys apps may set on
  the messages they send.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from vumigo.sandbox.limits import NetworkMode, SandboxSettings
from vumigo.sandbox.resources.http import HttpSettings
from vumigo.sandbox.resources.kv import DEFAULT_MAX_KEYS

PREFIX = "VUMIGO_JSBOX_"
NETWORK_MODES = ("auto", "require", "off")


class SettingsError(ValueError):
    """A jsbox setting in the environment could not be read."""


@dataclass(frozen=True)
class JsBoxSettings:
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    max_keys: int = DEFAULT_MAX_KEYS
    allowed_helper_metadata: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> JsBoxSettings:
        source = os.environ if env is None else env

        def raw(name: str) -> str | None:
            value = source.get(PREFIX + name)
            return value if value is not None and value.strip() else None

        def parsed(name: str, parse: Callable[[str], object]) -> object | None:
            value = raw(name)
            if value is None:
                return None
            try:
                return parse(value.strip())
            except ValueError as exc:
                raise SettingsError(f"{PREFIX}{name}={value!r}: {exc}") from None

        sandbox: dict[str, Any] = {}
        for name, attr, parse in _SANDBOX_FIELDS:
            value = parsed(name, parse)
            if value is not None:
                sandbox[attr] = value
        http: dict[str, Any] = {}
        for name, attr, parse in _HTTP_FIELDS:
            value = parsed(name, parse)
            if value is not None:
                http[attr] = value
        try:
            sandbox_settings = replace(SandboxSettings(), **sandbox)
        except ValueError as exc:
            raise SettingsError(f"{PREFIX}*: {exc}") from None
        max_keys = parsed("KV_MAX_KEYS", _positive_int)
        helper = parsed("ALLOWED_HELPER_METADATA", _names)
        return cls(
            sandbox=sandbox_settings,
            http=replace(HttpSettings(), **http),
            max_keys=DEFAULT_MAX_KEYS if max_keys is None else cast(int, max_keys),
            allowed_helper_metadata=() if helper is None else cast(tuple[str, ...], helper),
        )


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("must be more than 0")
    return value


def _names(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _network(raw: str) -> NetworkMode:
    if raw not in NETWORK_MODES:
        raise ValueError(f"must be one of {', '.join(NETWORK_MODES)}")
    return cast(NetworkMode, raw)


def _directory(raw: str) -> Path:
    path = Path(raw)
    if not path.is_dir():
        raise ValueError("no such directory")
    return path


_SANDBOX_FIELDS: tuple[tuple[str, str, Callable[[str], object]], ...] = (
    ("TIMEOUT", "timeout", _positive_float),
    ("POOL_SIZE", "pool_size", _positive_int),
    ("MESSAGES_PER_PROCESS", "messages_per_process", _positive_int),
    ("IDLE_TIMEOUT", "idle_timeout", _positive_float),
    ("MAX_POOLS", "max_pools", _positive_int),
    ("NETWORK", "network", _network),
    ("EXTRA_MODULES", "extra_modules", _names),
    ("MODULES_DIR", "modules_dir", _directory),
    ("NODE", "node", str),
)
_HTTP_FIELDS: tuple[tuple[str, str, Callable[[str], object]], ...] = (
    ("HTTP_ALLOW", "allow", _names),
    ("HTTP_TIMEOUT", "timeout", _positive_float),
)
