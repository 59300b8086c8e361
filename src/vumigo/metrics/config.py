"""Operator settings of metrics: rollup cadence, retention, the Graphite exporter, /metrics.

Read from ``vumigo.config.Settings`` fields named ``metrics_*`` when it has them, with these
defaults otherwise (so the package works before the settings object grows the fields).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DAY = 86400.0


@dataclass(frozen=True)
class MetricsSettings:
    #: Seconds between runs of the rollup job (snapshots, rollups, retention, export).
    rollup_seconds: float = 60.0
    #: Points younger than this are left to the next run: a transaction that stamped its
    #: points a moment ago may not have committed yet, and a rolled-up minute is never redone.
    grace_seconds: float = 15.0
    #: Seconds between samples of the conversation metrics (written only when they change).
    conversation_seconds: float = 60.0
    #: How long raw points, minute buckets and hour buckets are kept.
    raw_retention_days: float = 2.0
    minute_retention_days: float = 30.0
    hour_retention_days: float = 730.0
    #: Carbon's plaintext receiver; an empty host turns the exporter off.
    graphite_host: str = ""
    graphite_port: int = 2003
    #: Prepended (with a dot) to every exported name; empty for the original's names.
    graphite_prefix: str = ""
    #: When set, /metrics asks for ``Authorization: Bearer <token>``.
    prometheus_token: str = ""
    #: Most data points one metrics API request may ask for (go-metrics-api's default).
    max_points: int = 10_000

    @property
    def graphite_enabled(self) -> bool:
        return bool(self.graphite_host)


def metrics_settings(settings: Any) -> MetricsSettings:
    """The metrics settings of a ``vumigo.config.Settings`` (defaults for missing fields)."""
    base = MetricsSettings()
    values: dict[str, Any] = {}
    for name in MetricsSettings.__dataclass_fields__:
        value = getattr(settings, f"metrics_{name}", None)
        if value is not None:
            values[name] = type(getattr(base, name))(value)
    return MetricsSettings(**values)
