"""reports.json: reading and checking a dashboard description, and the default report.

A jsbox app's ``reports`` config value describes its dashboard as diamondash did: a list of
widgets (LValue, Graph, Histogram, Pie) with ``"new_row"`` strings between rows, either bare or
as ``{"layout": [...]}`` (the docs' example). Every problem found is reported with the widget
it is in, so a person can fix the JSON; nothing invalid is half-drawn.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from vumigo.db.models.metrics import AGGREGATORS
from vumigo.metrics.names import (
    DEFAULT_AGGREGATOR,
    BadName,
    Series,
    account_series,
    conversation_series,
    parse_duration,
)

KINDS = {
    "lvalue": "diamondash.widgets.lvalue.LValueWidget",
    "graph": "diamondash.widgets.graph.GraphWidget",
    "histogram": "diamondash.widgets.histogram.HistogramWidget",
    "pie": "diamondash.widgets.pie.PieWidget",
}
_BY_NAME = {
    **{full.lower(): kind for kind, full in KINDS.items()},
    **{full.rsplit(".", 1)[-1].lower(): kind for kind, full in KINDS.items()},
    **{kind: kind for kind in KINDS},
}
DEFAULT_WIDTH = {"lvalue": 3, "graph": 6, "histogram": 6, "pie": 4}
SERIES_KINDS = ("graph", "pie")  # the kinds that take several metrics
COLUMNS = 12
DEFAULT_TIME_RANGE = 86400
NICE_BUCKETS = (60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400)
MAX_BUCKETS = 2000
MAX_WIDGETS = 60
MAX_METRICS = 10
MAX_TEXT = 200
MAX_JSON = 64 * 1024


class ReportError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Target:
    metric_type: str  # account | conversation
    name: str
    store: str = "default"
    aggregator: str = DEFAULT_AGGREGATOR

    def series(self, account_key: str, conversation_key: str) -> Series:
        if self.metric_type == "conversation":
            return conversation_series(account_key, conversation_key, self.name, self.aggregator)
        return account_series(account_key, self.store, self.name, self.aggregator)


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    target: Target


@dataclass(frozen=True, slots=True)
class Widget:
    kind: str
    name: str
    width: int
    time_range: int
    bucket_size: int
    metrics: tuple[Metric, ...]
    zeroize: bool = False  # diamondash's null_filter "zeroize": gaps drawn as 0


@dataclass(frozen=True, slots=True)
class Report:
    rows: tuple[tuple[Widget, ...], ...]

    @property
    def widgets(self) -> list[Widget]:
        return [widget for row in self.rows for widget in row]


def nice_bucket(time_range: int) -> int:
    """A bucket size giving at most ~100 buckets over ``time_range``."""
    for size in NICE_BUCKETS:
        if time_range / size <= 100:
            return size
    return NICE_BUCKETS[-1]


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string")
    if len(value) > MAX_TEXT or any(ord(c) < 32 for c in value):
        raise ValueError(f"{what} must be at most {MAX_TEXT} printable characters")
    return value.strip()


def _target(raw: Any, where: str) -> Target:
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be an object with metric_type, name and aggregator")
    metric_type = raw.get("metric_type")
    if metric_type not in ("account", "conversation"):
        raise ValueError(f"{where}: metric_type must be 'account' or 'conversation'")
    name = _text(raw.get("name"), f"{where}: name")
    aggregator = raw.get("aggregator", DEFAULT_AGGREGATOR)
    if not isinstance(aggregator, str) or aggregator.lower() not in AGGREGATORS:
        raise ValueError(f"{where}: aggregator must be one of {', '.join(AGGREGATORS)}")
    store = "default"
    if metric_type == "account":
        store = _text(raw.get("store", "default"), f"{where}: store")
    return Target(metric_type, name, store, aggregator.lower())


def _span(raw: Any, what: str, default: int) -> int:
    if raw is None:
        return default
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str):
        raise ValueError(f"{what} must be a time span such as 15m, 1h or 1d")
    try:
        return parse_duration(raw)
    except BadName as exc:
        raise ValueError(f"{what}: {exc}") from None


def _metrics(raw: dict[str, Any], kind: str, name: str) -> tuple[Metric, ...]:
    if "metrics" in raw:
        listed = raw["metrics"]
        if not isinstance(listed, list) or not listed:
            raise ValueError("metrics must be a non-empty list of {name, target}")
        if len(listed) > MAX_METRICS:
            raise ValueError(f"at most {MAX_METRICS} metrics per widget")
        if kind not in SERIES_KINDS and len(listed) > 1:
            raise ValueError("this widget shows one metric: give a single target")
        found = []
        for i, item in enumerate(listed, 1):
            if not isinstance(item, dict):
                raise ValueError(f"metric {i} must be an object with name and target")
            label = _text(item.get("name", name), f"metric {i} name")
            found.append(Metric(label, _target(item.get("target"), f"metric {i} target")))
        return tuple(found)
    if "target" in raw:
        return (Metric(name, _target(raw["target"], "target")),)
    raise ValueError("needs a target (or metrics: [{name, target}])")


def _widget(raw: Any) -> Widget:
    if not isinstance(raw, dict):
        raise ValueError('must be an object (or the string "new_row")')
    kind = _BY_NAME.get(str(raw.get("type", "")).lower())
    if kind is None:
        raise ValueError(f"type {raw.get('type')!r} is not one of {', '.join(KINDS.values())}")
    name = _text(raw.get("name"), "name")
    width = raw.get("width", DEFAULT_WIDTH[kind])
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= COLUMNS:
        raise ValueError(f"width must be a whole number from 1 to {COLUMNS}")
    time_range = _span(raw.get("time_range"), "time_range", DEFAULT_TIME_RANGE)
    bucket = _span(raw.get("bucket_size"), "bucket_size", nice_bucket(time_range))
    if kind in ("graph", "histogram") and time_range / bucket > MAX_BUCKETS:
        raise ValueError(f"time_range / bucket_size gives more than {MAX_BUCKETS} buckets")
    null_filter = raw.get("null_filter", "skip")
    if null_filter not in ("skip", "zeroize"):
        raise ValueError("null_filter must be 'skip' or 'zeroize'")
    metrics = _metrics(raw, kind, name)
    return Widget(kind, name, width, time_range, bucket, metrics, null_filter == "zeroize")


def parse_report(raw: Any) -> Report:
    """A checked report from reports.json text or its parsed value; raises ReportError."""
    if isinstance(raw, str | bytes):
        if len(raw) > MAX_JSON:
            raise ReportError([f"reports.json is larger than {MAX_JSON // 1024} KiB"])
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise ReportError([f"reports.json is not valid JSON: {exc}"]) from None
    layout = raw.get("layout") if isinstance(raw, dict) else raw
    if not isinstance(layout, list):
        raise ReportError(['reports.json must be a list of widgets or {"layout": [...]}'])
    if sum(1 for item in layout if item != "new_row") > MAX_WIDGETS:
        raise ReportError([f"reports.json has more than {MAX_WIDGETS} widgets"])
    rows: list[list[Widget]] = [[]]
    problems: list[str] = []
    number = 0
    for item in layout:
        if item == "new_row":
            rows.append([])
            continue
        number += 1
        try:
            rows[-1].append(_widget(item))
        except ValueError as exc:
            label = item.get("name") if isinstance(item, dict) else None
            named = f" ({label!r})" if isinstance(label, str) and len(label) <= MAX_TEXT else ""
            problems.append(f"widget {number}{named}: {exc}")
    if problems:
        raise ReportError(problems)
    if number == 0:
        raise ReportError(["reports.json has no widgets"])
    return Report(tuple(tuple(row) for row in rows if row))


def reports_config(config: dict[str, Any]) -> Any:
    """The ``reports`` value of a conversation's jsbox app config, or None if it has none.

    The original kept ``jsbox_app_config`` as ``{key: {"key", "value", "source_url"}}``;
    a bare value under the key is accepted too."""
    app_config = config.get("jsbox_app_config")
    if not isinstance(app_config, dict) or "reports" not in app_config:
        return None
    entry = app_config["reports"]
    if isinstance(entry, dict) and "value" in entry and "layout" not in entry:
        entry = entry["value"]
    if entry is None or (isinstance(entry, str) and not entry.strip()):
        return None
    return entry


def report_for(config: dict[str, Any]) -> tuple[Report, list[str]]:
    """The conversation's report, and the problems of its own one if that had to be replaced
    by the default."""
    raw = reports_config(config)
    if raw is None:
        return default_report(), []
    try:
        return parse_report(raw), []
    except ReportError as exc:
        return default_report(), exc.problems


def _conv(label: str, metric: str) -> Metric:
    return Metric(label, Target("conversation", metric))


def _pair(kind: str, time_range: int, bucket: int, a: Metric, b: Metric, title: str) -> Widget:
    return Widget(kind, title, 6, time_range, bucket, (a, b))


def default_report() -> Report:
    """The original's report for every conversation: four totals, then sent/received and
    unique senders/recipients over 24 hours (15 minute buckets) and 30 days (daily)."""
    sent, received = (
        _conv("Messages Sent", "messages_sent"),
        _conv("Messages Received", "messages_received"),
    )
    recipients, senders = (
        _conv("Unique Recipients", "outbound_unique_addresses"),
        _conv("Unique Senders", "inbound_unique_addresses"),
    )
    day, month = 86400, 30 * 86400
    tiles = tuple(
        Widget("lvalue", f"{m.name} (24h)", 3, day, 900, (m,))
        for m in (sent, received, recipients, senders)
    )
    traffic = (
        _pair("graph", day, 900, sent, received, "Messages Sent and Received (24h)"),
        _pair("graph", month, day, sent, received, "Messages Sent and Received (30d)"),
    )
    uniques = (
        _pair("graph", day, 900, senders, recipients, "Unique Senders and Recipients (24h)"),
        _pair("graph", month, day, senders, recipients, "Unique Senders and Recipients (30d)"),
    )
    return Report((tiles, traffic, uniques))
