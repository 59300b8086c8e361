"""The ``metrics`` resource: apps fire values into account metric stores.

Vumi Go published each value as the account metric ``go.campaigns.<account>.stores.<store>.
<metric>`` with the given aggregator; the :class:`MetricSink` the engine provides does that
naming and publishing. The toolkit's ``fire.inc`` is a ``kv.incr`` of ``<store>.<metric>``
followed by a ``fire`` with ``agg: "last"``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Protocol

from vumigo.sandbox.resources import Reply, Request, Resource, ResourceError, command
from vumigo.sandbox.run import Run

NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9._-]{,100}$")
AGGREGATORS = frozenset({"sum", "avg", "min", "max", "last"})


@dataclass(frozen=True)
class MetricEvent:
    account_key: str
    store: str
    metric: str
    value: float
    agg: str


class MetricSink(Protocol):
    async def fire(self, event: MetricEvent) -> None: ...


class InMemoryMetricSink:
    def __init__(self) -> None:
        self.events: list[MetricEvent] = []

    async def fire(self, event: MetricEvent) -> None:
        self.events.append(event)


def _name(value: object, kind: str) -> str:
    if value is None:
        raise ResourceError(f"Missing {kind} name.")
    if not isinstance(value, str) or not NAME_RE.match(value):
        raise ResourceError(f"Invalid {kind} name: {value!r}.")
    return value


def _value(value: object) -> float:
    # float() also accepts numeric strings, as the original's did; bools and NaN are refused.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ResourceError(f"Invalid metric value {value!r}.")
    try:
        number = float(value)
    except ValueError:
        raise ResourceError(f"Invalid metric value {value!r}.") from None
    if not math.isfinite(number):
        raise ResourceError(f"Invalid metric value {value!r}.")
    return number


class MetricsResource(Resource):
    """Fire metric values into the account's metric stores."""

    name = "metrics"
    limits = {
        "names": "store and metric names match ^[a-zA-Z][a-zA-Z0-9._-]{,100}$",
        "aggregators": ", ".join(sorted(AGGREGATORS)),
    }

    def __init__(self, sink: MetricSink) -> None:
        self.sink = sink

    @command(
        "Fire one metric value.",
        request={
            "store": "store name, default 'default'",
            "metric": "metric name; store and metric match ^[a-zA-Z][a-zA-Z0-9._-]{,100}$",
            "value": "number",
            "agg": "aggregator: sum, avg, min, max or last",
        },
        errors=(
            "Missing <store|metric> name.",
            "Invalid <store|metric> name: <name>.",
            "Invalid metric value <value>.",
            "Invalid metric aggregator <agg>.",
        ),
    )
    async def fire(self, request: Request, run: Run) -> Reply:
        store = _name(request.get("store", "default"), "store")
        metric = _name(request.get("metric"), "metric")
        value = _value(request.get("value"))
        agg = request.get("agg")
        if agg not in AGGREGATORS:
            raise ResourceError(f"Invalid metric aggregator {agg!r}.")
        await self.sink.fire(MetricEvent(run.account_key, store, metric, value, str(agg)))
        return {}
