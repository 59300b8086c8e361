"""The reports page over ASGI: the default report, a jsbox app's reports.json, errors shown on
the page, other accounts kept out, and the locally served Chart.js."""

from __future__ import annotations

import html
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

from tests.metrics.helpers import SEED_REPORT, put_points
from tests.support.factories import make_conversation
from tests.web.helpers import Browser, make_user
from vumigo.accounts import users
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.metrics.names import Series
from vumigo.metrics.rollup import Rollup
from vumigo.runtime import Platform
from vumigo.store.batches import batch_key
from vumigo.store.counters import bump
from vumigo.web.app import create_app


@pytest.fixture
async def browser(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Browser]:
    monkeypatch.setattr(users, "hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    platform = Platform(Settings(data_dir=tmp_path / "var", database_url=sqlite_url))
    transport = httpx.ASGITransport(app=create_app(platform))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        me = Browser(client, platform)
        me.account = await make_user(platform.db, "alice@example.com")
        assert (await me.sign_in("alice@example.com")).status_code == 303
        yield me
    await platform.db.dispose()


def jsbox_config(reports: object) -> dict[str, object]:
    value = reports if isinstance(reports, str) else json.dumps(reports)
    return {"jsbox_app_config": {"reports": {"key": "reports", "value": value, "source_url": ""}}}


async def test_default_report_shows_the_conversation_totals(browser: Browser) -> None:
    db: Database = browser.db
    conv = await make_conversation(db, browser.account, "http_api_nostream")
    async with db.transaction() as session:
        batch = await batch_key(session, "conversation", conv, browser.account)
        await bump(session, batch, ["outbound", "outbound_uniques"], 12)
        await bump(session, batch, ["inbound"], 5)
    await Rollup(db).sample_conversations(time.time())
    page = await browser.get(f"/conversations/{conv}/reports")
    assert page.status_code == 200
    shown = page.text
    for title in (
        "Messages Sent (24h)",
        "Unique Senders (24h)",
        "Messages Sent and Received (30d)",
    ):
        assert title in shown
    assert shown.count('class="dash-widget dash-lvalue') == 4
    assert shown.count("<canvas data-chart=") == 4
    data = (await browser.get(f"/conversations/{conv}/reports/data.json")).json()
    assert data["problems"] == []
    tiles = data["rows"][0]
    assert [t["current"] for t in tiles] == [12.0, 5.0, 12.0, 0.0]
    graph = data["rows"][1][0]
    assert graph["datasets"][0]["values"][-1] == 12.0 and len(graph["x"]) in (96, 97)


async def test_jsbox_reports_json_is_laid_out_as_given(browser: Browser) -> None:
    db = browser.db
    conv = await make_conversation(db, browser.account, "jsbox", jsbox_config(SEED_REPORT))
    now = int(time.time())
    pings = Series(browser.account, "default", "total_pings", "max")
    await put_points(db, pings, [(now - 90000, 100.0), (now - 600, 1200.0), (now - 5, 1500.0)])
    shown = (await browser.get(f"/conversations/{conv}/reports")).text
    assert shown.count('<section class="dash-row">') == 3
    for kind in ("lvalue", "graph", "histogram", "pie"):
        assert f'data-kind="{kind}"' in shown
    assert shown.count("dash-w6") == 3
    rows = (await browser.get(f"/conversations/{conv}/reports/data.json")).json()["rows"]
    (tile,), (graph,), (histogram, pie) = rows
    assert (tile["current"], tile["previous"], tile["change"]) == (1500.0, 100.0, 1400.0)
    assert (
        graph["bucket_size"] == 3600
        and max(v for v in graph["datasets"][0]["values"] if v) == 1500.0
    )
    assert (
        histogram["bucket_size"] == 300
        and histogram["datasets"][0]["name"] == "Total Pings (Histogram)"
    )
    assert pie["slices"] == [{"name": "Total Pings", "target": pings.full_name, "value": 1500.0}]


@pytest.mark.parametrize(
    ("reports", "problem"),
    [
        ("{not json", "reports.json is not valid JSON"),
        ({"layout": [{"type": "diamondash.widgets.gauge.Gauge", "name": "G"}]},
         "widget 1 ('G'): type"),
        (
            [{"type": "LValueWidget", "name": "L", "target": {"metric_type": "x", "name": "n"}}],
            "metric_type must be 'account' or 'conversation'",
        ),
        (
            [{"type": "GraphWidget", "name": "G", "time_range": "30d", "bucket_size": "1s",
              "target": {"metric_type": "conversation", "name": "messages_sent"}}],
            "more than 2000 buckets",
        ),
    ],
)  # fmt: skip
async def test_invalid_reports_are_explained_on_the_page(
    browser: Browser, reports: object, problem: str
) -> None:
    conv = await make_conversation(browser.db, browser.account, "jsbox", jsbox_config(reports))
    page = await browser.get(f"/conversations/{conv}/reports")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "reports.json can't be shown" in text and problem in text
    assert "Messages Sent (24h)" in text  # the default report instead of a blank


async def test_other_accounts_and_assets(browser: Browser) -> None:
    theirs = await make_user(browser.db, "bob@example.com")
    conv = await make_conversation(browser.db, theirs, "jsbox")
    assert (await browser.get(f"/conversations/{conv}/reports")).status_code == 404
    assert (await browser.get(f"/conversations/{conv}/reports/data.json")).status_code == 404
    chart = await browser.get("/dashboards/assets/chart.umd.min.js")
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("text/javascript")
    assert "Chart" in chart.text[:5000]
    assert (await browser.get("/dashboards/assets/dashboards.js")).status_code == 200
    assert (await browser.get("/dashboards/assets/package.json")).status_code == 404
