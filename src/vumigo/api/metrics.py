"""The metrics REST API in go-metrics-api's shapes, for go-http's MetricsApiClient.

``GET /api/v1/go/metrics/?m=<path>&from=-24h&until=-0s&interval=1hour&nulls=zeroize``
answers ``{"<path>": [{"x": epoch ms, "y": value}]}`` for each ``m`` (repeatable). Paths are
relative to the account, as there: ``stores.<store>.<name>.<agg>`` for account metrics and
``conversations.<conv>.<name>.<agg>`` for conversation ones (a full ``go.campaigns.<account>.``
name of one's own account works too). The last segment is the aggregator applied per bucket.

``POST /api/v1/go/metrics/`` with ``{"<path>.<agg>": number, ...}`` fires one value of each,
answering ``[{"name", "value", "aggregator"}]``. Bearer-token auth; errors are
``{"status_code": N, "reason": "..."}``.
"""

from __future__ import annotations

import math
import time
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from vumigo.api.bearer import authenticate
from vumigo.api.contacts import handled, read_json
from vumigo.errors import InvalidInput
from vumigo.metrics.aggregate import pick, read_marks, series_values
from vumigo.metrics.config import metrics_settings
from vumigo.metrics.names import (
    CONVERSATIONS,
    BadName,
    Series,
    candidates,
    parse_duration,
    parse_time,
    relative_path,
)
from vumigo.metrics.points import record
from vumigo.runtime import Platform

PREFIX = "/api/v1/go"
NULLS = ("zeroize", "omit", "keep")
MAX_FIRED = 1000
MAX_STORE, MAX_NAME = 100, 255

Points = list[dict[str, Any]]


def apply_nulls(points: Points, nulls: str) -> Points:
    if nulls == "omit":
        return [p for p in points if p["y"] is not None]
    if nulls == "zeroize":
        return [{"x": p["x"], "y": 0.0 if p["y"] is None else p["y"]} for p in points]
    return points


def _value(raw: Any) -> float:
    # go-metrics-api took anything float() takes; bools and non-finite values are refused.
    error = InvalidInput(
        f"{raw!r:.80} is not a valid metric value, should be a floating point number"
    )
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise error
    try:
        value = float(raw)
    except (ValueError, OverflowError):
        raise error from None
    if not math.isfinite(value):
        raise error
    return value


def fired_series(account: str, name: Any) -> Series:
    if not isinstance(name, str):
        raise InvalidInput(f"{name!r:.80} is not a valid metrics name, should be a string")
    try:
        if relative_path(account, name).startswith(CONVERSATIONS):
            raise InvalidInput("Conversation metrics are computed by Vumi Go and cannot be fired")
        series = candidates(account, name)[0]
    except BadName as exc:
        raise InvalidInput(str(exc)) from None
    if len(series.store) > MAX_STORE or len(series.name) > MAX_NAME:
        raise InvalidInput(f"Metric name '{name[:400]}' is too long")
    return series


def install(app: FastAPI, platform: Platform) -> None:
    """Adds the metrics API to the app."""
    router = APIRouter(prefix=PREFIX, tags=["metrics"])
    db = platform.db
    max_points = metrics_settings(platform.settings).max_points

    @router.get("/metrics/", summary="Metric values per time bucket")
    @handled
    async def get_metrics(request: Request) -> Response:
        account = await authenticate(db, request.headers.get("authorization"))
        params = request.query_params
        now = time.time()
        try:
            start = parse_time(params.get("from", "-24h"), now)
            until = parse_time(params.get("until", "-0s"), now)
            interval = parse_duration(params.get("interval", "1hour"))
        except BadName as exc:
            raise InvalidInput(str(exc)) from None
        names = params.getlist("m")
        predicted = abs(until - start) // interval * max(1, len(names))
        if predicted > max_points:
            raise InvalidInput(
                f"{predicted} data points requested, maximum allowed is {max_points}"
            )
        nulls = params.get("nulls", "zeroize")
        if nulls not in NULLS:
            raise InvalidInput(f"Unrecognised null parser '{nulls[:40]}'")
        align = params.get("align_to_from", "false").lower() == "true"
        result: dict[str, Points] = {}
        async with db.sessions() as session:
            marks = await read_marks(session)
            for name in names:
                try:
                    series = await pick(session, candidates(account, name))
                except BadName as exc:
                    raise InvalidInput(str(exc)) from None
                # ``until`` is inclusive, as Graphite's was: a point fired this second counts.
                values = await series_values(
                    session, series, start, until + 1, interval, marks, align, now=now
                )
                points = [{"x": when * 1000, "y": value} for when, value in values]
                result[name] = apply_nulls(points, nulls)
        return JSONResponse(result)

    @router.post("/metrics/", summary="Fire metric values: {name.agg: value}")
    @handled
    async def fire_metrics(request: Request) -> Response:
        account = await authenticate(db, request.headers.get("authorization"))
        data = await read_json(request)
        if not isinstance(data, dict):
            raise InvalidInput(f"Invalid query, should be dict, not {type(data).__name__}")
        if len(data) > MAX_FIRED:
            raise InvalidInput(f"At most {MAX_FIRED} metrics may be fired at once")
        fired = [(name, fired_series(account, name), _value(raw)) for name, raw in data.items()]
        await record(db, [(series, value) for _, series, value in fired])
        return JSONResponse(
            [{"name": n, "value": v, "aggregator": s.aggregator} for n, s, v in fired]
        )

    app.include_router(router)
