"""The metrics REST API against a live platform: go-http's MetricsApiClient, points fired
through the HTTP API's metrics.json, aggregation per bucket, and the go-metrics-api errors."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from go_http.metrics import MetricsApiClient
from go_http.send import HttpApiSender

import tests.api.gohttp_shim  # noqa: F401  (the shared py2 fixes)
from tests.metrics.helpers import put_points
from tests.support.http_api import HttpApiSetup, http_api_setup
from tests.support.live import LiveServer
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.metrics.names import Series, conversation_series
from vumigo.metrics.rollup import Rollup
from vumigo.store.batches import batch_key
from vumigo.store.counters import bump

DAY = 86400


@pytest.fixture(scope="module")
def live(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, HttpApiSetup]]:
    folder = tmp_path_factory.mktemp("metrics-api")
    shutil.copyfile(sqlite_template, folder / "vumigo.db")
    url = f"sqlite+aiosqlite:///{folder / 'vumigo.db'}"

    async def seed() -> HttpApiSetup:
        db = Database(url)
        try:
            return await http_api_setup(db, "http_api_nostream")
        finally:
            await db.dispose()

    with ThreadPoolExecutor(1) as pool:
        setup = pool.submit(asyncio.run, seed()).result()
    server = LiveServer(Settings(data_dir=folder / "var", database_url=url))
    server.start()
    try:
        yield server, setup
    finally:
        server.stop()


@pytest.fixture
async def db(live: tuple[LiveServer, HttpApiSetup]) -> AsyncIterator[Database]:
    database = Database(live[0].platform.db.url)
    yield database
    await database.dispose()


def client(live: tuple[LiveServer, HttpApiSetup]) -> MetricsApiClient:
    server, setup = live
    return MetricsApiClient(setup.account_token, api_url=f"{server.url}/api/v1/go")


def api_get(live: tuple[LiveServer, HttpApiSetup], **params: Any) -> httpx.Response:
    server, setup = live
    return httpx.get(
        f"{server.url}/api/v1/go/metrics/",
        params=params,
        headers={"Authorization": f"Bearer {setup.account_token}"},
    )


def present(points: list[dict[str, Any]]) -> list[float]:
    return [p["y"] for p in points if p["y"] is not None]


def test_http_api_metrics_come_back_from_the_metrics_api(
    live: tuple[LiveServer, HttpApiSetup],
) -> None:
    server, setup = live
    sender = HttpApiSender(
        setup.account, setup.conv, setup.token, api_url=f"{server.url}/api/v1/go/http_api_nostream"
    )
    for value in (1200, 1500, 900):
        assert sender.fire_metric("total_pings", value, agg="max")["success"] is True
    found = client(live).get_metric("stores.default.total_pings.max", "-1h", "1min", "omit")
    points = found["stores.default.total_pings.max"]
    assert max(present(points)) == 1500.0
    assert all(p["x"] % 60_000 == 0 for p in points)
    # The same series under another aggregator is another series, as in Graphite: empty.
    other = client(live).get_metric("stores.default.total_pings.avg", "-1h", "1min", "omit")
    assert other == {"stores.default.total_pings.avg": []}


def test_go_http_fire_then_get(live: tuple[LiveServer, HttpApiSetup]) -> None:
    api = client(live)
    answer = api.fire({"stores.default.signups.sum": 2, "plain.last": 7.5})
    assert sorted(answer, key=lambda a: a["name"]) == [
        {"name": "plain.last", "value": 7.5, "aggregator": "last"},
        {"name": "stores.default.signups.sum", "value": 2.0, "aggregator": "sum"},
    ]
    api.fire({"stores.default.signups.sum": 3})
    got = api.get_metric("stores.default.signups.sum", "-1d", "1d", "omit")
    assert sum(present(got["stores.default.signups.sum"])) == 5.0
    assert present(api.get_metric("plain.last", "-1h", "1h", "omit")["plain.last"]) == [7.5]
    # A full Graphite name of one's own account means the same series.
    _, setup = live
    full = f"go.campaigns.{setup.account}.stores.default.signups.sum"
    assert sum(present(api.get_metric(full, "-1d", "1d", "omit")[full])) == 5.0


async def test_each_bucket_aggregated_before_and_after_rollup(
    live: tuple[LiveServer, HttpApiSetup], db: Database
) -> None:
    _, setup = live
    start = int(time.time()) // DAY * DAY - DAY  # yesterday 00:00 UTC
    values = [(start + 5, 4.0), (start + 30, 8.0), (start + 70, 1.0), (start + 3600 + 1, 10.0)]
    for agg in ("sum", "avg", "min", "max", "last"):
        await put_points(db, Series(setup.account, "default", "exact", agg), values)
    expected = {
        "sum": ([12.0, 1.0], [13.0, 10.0]),
        "avg": ([6.0, 1.0], [13.0 / 3, 10.0]),
        "min": ([4.0, 1.0], [1.0, 10.0]),
        "max": ([8.0, 1.0], [8.0, 10.0]),
        "last": ([8.0, 1.0], [1.0, 10.0]),
    }
    for rolled in (False, True):
        if rolled:
            await Rollup(db).run_once(retention=False)
        for agg, (minutes, hours) in expected.items():
            m = f"stores.default.exact.{agg}"
            common = {"m": m, "from": str(start), "until": str(start + 7199), "nulls": "keep"}
            per_minute = api_get(live, interval="1min", **common).json()[m]
            assert len(per_minute) == 120 and per_minute[0]["x"] == start * 1000
            assert [p["y"] for p in per_minute[:3]] == [*minutes, None]
            per_hour = api_get(live, interval="1hour", **common).json()[m]
            assert [p["y"] for p in per_hour] == [pytest.approx(v) for v in hours]


async def test_conversation_metrics_and_nulls(
    live: tuple[LiveServer, HttpApiSetup], db: Database
) -> None:
    _, setup = live
    async with db.transaction() as session:
        batch = await batch_key(session, "conversation", setup.conv, setup.account)
        await bump(session, batch, ["outbound"], 4)
    await Rollup(db).sample_conversations(time.time())
    m = conversation_series(setup.account, setup.conv, "messages_sent").path
    assert m == f"conversations.{setup.conv}.messages_sent.avg"
    kept = api_get(live, m=m, **{"from": "-10min"}, interval="1min", nulls="keep").json()[m]
    assert kept[-1]["y"] == 4.0
    assert kept[0]["y"] is None  # before the first sample there is nothing to carry
    zeroed = api_get(live, m=m, **{"from": "-10min"}, interval="1min", nulls="zeroize").json()[m]
    assert zeroed[0]["y"] == 0.0 and len(zeroed) == len(kept)
    omitted = api_get(live, m=m, **{"from": "-10min"}, interval="1min", nulls="omit").json()[m]
    assert all(p["y"] is not None for p in omitted) and omitted[-1]["y"] == 4.0


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"m": "stores.default.x.avg", "nulls": "drop"}, "Unrecognised null parser 'drop'"),
        ({"m": "stores.default.x.median"}, "Aggregator 'median' is not a valid aggregator"),
        ({"m": "stores.default.x.avg", "interval": "1s", "from": "-1d"}, "86400 data points"),
        ({"m": "stores.default.x.avg", "from": "yesterday"}, "Invalid time 'yesterday'"),
        ({"m": "stores.x.avg"}, "needs stores.<store>.<name>.<aggregator>"),
        ({"m": "go.campaigns.someone.stores.default.x.avg"}, "belongs to another account"),
    ],
)
def test_get_errors(
    live: tuple[LiveServer, HttpApiSetup], params: dict[str, str], reason: str
) -> None:
    answer = api_get(live, **params)
    assert answer.status_code == 400
    assert answer.json()["status_code"] == 400 and reason in answer.json()["reason"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([1, 2], "should be dict"),
        ({"stores.default.x.avg": "lots"}, "is not a valid metric value"),
        ({"stores.default.x.avg": float("inf")}, "is not a valid metric value"),
        ({"stores.default.x": 1}, "Aggregator 'x' is not a valid aggregator"),
        ({"conversations.abc.messages_sent.avg": 1}, "computed by Vumi Go"),
    ],
)
def test_post_errors(live: tuple[LiveServer, HttpApiSetup], body: Any, reason: str) -> None:
    server, setup = live
    answer = requests.post(
        f"{server.url}/api/v1/go/metrics/",
        data=requests.compat.json.dumps(body, allow_nan=True),
        headers={"Authorization": f"Bearer {setup.account_token}"},
    )
    assert answer.status_code == 400 and reason in answer.json()["reason"]


def test_auth_is_required(live: tuple[LiveServer, HttpApiSetup]) -> None:
    server, _ = live
    answer = httpx.get(f"{server.url}/api/v1/go/metrics/", params={"m": "a.avg"})
    assert answer.status_code == 401
    with pytest.raises(requests.HTTPError) as caught:
        MetricsApiClient("wrong", api_url=f"{server.url}/api/v1/go").fire({"a.avg": 1})
    assert caught.value.response.status_code == 401
