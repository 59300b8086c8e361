"""Metric names as the original spelled them, and the time specs its APIs and reports used.

A series is one (account, store, name, aggregator), named in Graphite's tree as
``go.campaigns.<account>.stores.<store>.<name>.<agg>`` (an account metric) or
``go.campaigns.<account>.conversations.<conv>.<name>.<agg>`` (a conversation metric). The
metrics API speaks in paths relative to the account (``stores.default.pings.max``), as
go-metrics-api did. Conversation metrics are kept with store "" and the name
``conversations.<conv>.<metric>``, so their paths fall out of the same rule.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from vumigo.db.models.metrics import AGGREGATORS

PREFIX = "go.campaigns"
CONVERSATIONS = "conversations."
DEFAULT_AGGREGATOR = "avg"
MAX_PATH = 400

# The four metrics the original computed for every conversation, with the batch counter each
# comes from. Their aggregator was AVG.
CONVERSATION_METRICS = {
    "messages_sent": "outbound",
    "messages_received": "inbound",
    "outbound_unique_addresses": "outbound_uniques",
    "inbound_unique_addresses": "inbound_uniques",
}


class BadName(ValueError):
    """A metric path or time spec that cannot be read; the text is for the caller."""


@dataclass(frozen=True, slots=True)
class Series:
    account_key: str
    store: str  # "" for names directly under the account (conversation metrics)
    name: str
    aggregator: str

    @property
    def path(self) -> str:
        """The name relative to ``go.campaigns.<account>.``, aggregator included."""
        base = f"stores.{self.store}.{self.name}" if self.store else self.name
        return f"{base}.{self.aggregator}"

    @property
    def full_name(self) -> str:
        return f"{PREFIX}.{self.account_key}.{self.path}"

    @property
    def is_gauge(self) -> bool:
        """Conversation metrics are running totals sampled now and then: between samples the
        total is the last one seen, so queries carry it forward instead of leaving gaps."""
        return not self.store and self.name.startswith(CONVERSATIONS)


def account_series(account_key: str, store: str, name: str, aggregator: str) -> Series:
    return Series(account_key, store, name, aggregator)


def conversation_series(
    account_key: str, conversation_key: str, metric: str, aggregator: str = DEFAULT_AGGREGATOR
) -> Series:
    return Series(account_key, "", f"{CONVERSATIONS}{conversation_key}.{metric}", aggregator)


def split_aggregator(path: str) -> tuple[str, str]:
    base, dot, agg = path.rpartition(".")
    if not dot or not base:
        raise BadName(f"Metric name '{path}' must end in an aggregator (.sum, .avg, ...)")
    if agg not in AGGREGATORS:
        raise BadName(f"Aggregator '{agg}' is not a valid aggregator")
    return base, agg


def _check(path: str) -> None:
    if not path or len(path) > MAX_PATH:
        raise BadName("A metric name must have 1 to 400 characters")
    if any(part == "" for part in path.split(".")) or any(ord(c) < 32 for c in path):
        raise BadName(f"Invalid metric name '{path[:MAX_PATH]}'")


def relative_path(account_key: str, path: str) -> str:
    """``path`` relative to the account; a full ``go.campaigns.<account>.`` name is accepted
    only for the caller's own account."""
    _check(path)
    if path.startswith(PREFIX + "."):
        own = f"{PREFIX}.{account_key}."
        if not path.startswith(own):
            raise BadName(f"Metric '{path}' belongs to another account")
        path = path[len(own) :]
        _check(path)
    return path


def candidates(account_key: str, path: str) -> list[Series]:
    """The series a path can mean, most likely first.

    Store and metric names may both contain dots, so ``stores.a.b.c`` is store ``a`` with
    metric ``b.c`` or store ``a.b`` with metric ``c`` (Graphite never knew the difference).
    """
    base, agg = split_aggregator(relative_path(account_key, path))
    if base.startswith("stores."):
        parts = base.split(".")[1:]
        if len(parts) < 2:
            raise BadName(f"Metric name '{path}' needs stores.<store>.<name>.<aggregator>")
        return [
            Series(account_key, ".".join(parts[:i]), ".".join(parts[i:]), agg)
            for i in range(1, len(parts))
        ]
    return [Series(account_key, "", base, agg)]


# -- durations and times ------------------------------------------------------------------

_UNITS = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,  # diamondash's "5m"; Graphite spelled minutes "min"
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 7 * 86400,
    "week": 7 * 86400,
    "weeks": 7 * 86400,
    "mon": 30 * 86400,
    "month": 30 * 86400,
    "months": 30 * 86400,
    "y": 365 * 86400,
    "year": 365 * 86400,
    "years": 365 * 86400,
}
_DURATION = re.compile(r"(\d{1,9})\s*([a-z]*)")
MAX_SECONDS = 10 * 365 * 86400


def parse_duration(spec: str, *, allow_zero: bool = False) -> int:
    """Seconds in ``1d``, ``15m``, ``1hour``, ``30s`` (a bare number is seconds)."""
    match = _DURATION.fullmatch(spec.strip().lower())
    if match is None or match.group(2) not in ("", *_UNITS):
        raise BadName(f"Invalid time span '{spec[:40]}' (examples: 30s, 15m, 1h, 1d, 1w)")
    seconds = int(match.group(1)) * _UNITS.get(match.group(2), 1)
    if seconds > MAX_SECONDS or (seconds == 0 and not allow_zero):
        raise BadName(f"Time span '{spec[:40]}' is out of range")
    return seconds


def parse_time(spec: str, now: float | None = None) -> int:
    """Epoch seconds of a Graphite time: ``now``, ``-24h``, ``now-1d``, an epoch number,
    ``HH:MM_YYYYMMDD`` or ``YYYYMMDD`` (UTC)."""
    now_s = int(time.time() if now is None else now)
    text = spec.strip().lower()
    if text in ("", "now"):
        return now_s
    if text.startswith("now"):
        text = text[3:]
    if text[:1] in "+-":
        sign = -1 if text[0] == "-" else 1
        return now_s + sign * parse_duration(text[1:], allow_zero=True)
    for fmt in ("%H:%M_%Y%m%d", "%Y%m%d"):
        try:
            return int(datetime.strptime(text, fmt).replace(tzinfo=UTC).timestamp())
        except ValueError:
            pass
    if text.isdigit() and len(text) <= 12:
        return int(text)
    raise BadName(f"Invalid time '{spec[:40]}' (examples: -24h, now, 1700000000)")
