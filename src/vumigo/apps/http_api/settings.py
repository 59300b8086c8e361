"""Operator settings of the HTTP API, read from ``VUMIGO_HTTP_API_*`` environment variables.

They live apart from ``vumigo.config.Settings`` until that object grows a section for them; the
names are the ones such a section would use, so moving them there changes no deployment.

Variables (default in brackets):

- ``CONCURRENCY_LIMIT`` [10]: open requests, streams included, per account (across every web
  process in the distributed mode); negative for no limit.
- ``MAX_BODY_BYTES`` [262144]: the largest PUT body accepted.
- ``PUSH_TIMEOUT`` [5]: seconds one push may take.
- ``RETRY_INTERVALS`` [5,30,120,300,1800,3600]: seconds before each retry of a failed push.
- ``PUSH_ALLOW`` [none]: CIDRs and host names that push URLs may reach although not public.
- ``MAX_PENDING`` [10000]: pending pushes per account before new ones are given up.
- ``PUSH_CONCURRENCY`` [16]: pushes in flight per worker process.
- ``POLL_INTERVAL`` [1]: seconds between looks for work that other processes wrote.
- ``STREAM_BACKLOG`` [100]: newest items kept per stream while no client is connected.
- ``KEEP_DAYS`` [7]: days finished push deliveries stay visible.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

PREFIX = "VUMIGO_HTTP_API_"

# The original retried after 5 min, 30 min and 1 h; a few quick retries first cover the
# common case of a receiver that is briefly down (a deploy, a restart).
DEFAULT_RETRY_INTERVALS: tuple[float, ...] = (5.0, 30.0, 120.0, 300.0, 1800.0, 3600.0)


class SettingsError(ValueError):
    """An HTTP API setting in the environment could not be read."""


@dataclass(frozen=True)
class HttpApiSettings:
    concurrency_limit: int = 10
    max_body_bytes: int = 256 * 1024
    push_timeout: float = 5.0
    retry_intervals: tuple[float, ...] = DEFAULT_RETRY_INTERVALS
    push_allow: tuple[str, ...] = ()
    max_pending: int = 10_000
    push_concurrency: int = 16
    poll_interval: float = 1.0
    stream_backlog: int = 100
    keep_days: float = 7.0
    # Not from the environment: a claimed push comes due again this long after its claim if
    # the worker that claimed it dies, so it must outlast the push itself.
    lease_margin: float = field(default=30.0, repr=False)

    @property
    def lease(self) -> float:
        return self.push_timeout + self.lease_margin

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HttpApiSettings:
        source = os.environ if env is None else env
        values: dict[str, object] = {}
        for name, parse in _PARSERS.items():
            raw = source.get(PREFIX + name.upper())
            if raw is None or raw.strip() == "":
                continue
            try:
                values[name] = parse(raw)
            except ValueError as exc:
                raise SettingsError(f"{PREFIX}{name.upper()}={raw!r}: {exc}") from None
        return cls(**values)  # type: ignore[arg-type]


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


def _intervals(raw: str) -> tuple[float, ...]:
    values = tuple(float(part) for part in raw.split(",") if part.strip())
    if any(not value >= 0 for value in values):
        raise ValueError("intervals must be numbers of seconds, 0 or more")
    return values


def _names(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


_PARSERS: dict[str, Callable[[str], object]] = {
    "concurrency_limit": int,
    "max_body_bytes": _positive_int,
    "push_timeout": _positive_float,
    "retry_intervals": _intervals,
    "push_allow": _names,
    "max_pending": _positive_int,
    "push_concurrency": _positive_int,
    "poll_interval": _positive_float,
    "stream_backlog": _positive_int,
    "keep_days": _positive_float,
}
