"""Reports pages in Chromium: the docs' example reports.json (all four widget types) and the
default conversation report, drawn by Chart.js, with screenshots."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CONSOLE_ERRORS, require_browser
from tests.metrics.helpers import SEED_REPORT, put_points
from tests.support.factories import make_conversation
from tests.support.live import LiveServer
from vumigo.db.engine import Database
from vumigo.metrics.names import Series
from vumigo.metrics.rollup import Rollup
from vumigo.store.batches import batch_key
from vumigo.store.counters import bump

require_browser()

from playwright.sync_api import Page, expect  # noqa: E402

# Hourly counts growing through the last day (40 exactly a day ago), for the graphs' shape.
PINGS = [(hours * 3600, 1000.0 + 40 * hours) for hours in range(-25, 0)]

INK = """Array.from(document.querySelectorAll("canvas")).map((c) => {
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
  return n;
})"""


async def _seed(url: str, account: str) -> dict[str, str]:
    db = Database(url)
    try:
        now = int(time.time())
        config = {
            "jsbox_app_config": {"reports": {"key": "reports", "value": json.dumps(SEED_REPORT)}}
        }
        pings_app = await make_conversation(db, account, "jsbox", config)
        pings = Series(account, "default", "total_pings", "max")
        recent = [(now - 3000 + 300 * i, 1900.0 + 30 * i) for i in range(10)]
        await put_points(db, pings, [(now + dt, v) for dt, v in PINGS] + recent)
        plain = await make_conversation(db, account, "http_api_nostream")
        rollup = Rollup(db)
        async with db.transaction() as session:
            batch = await batch_key(session, "conversation", plain, account)
        for minutes_ago, sent, received in ((1400, 10, 4), (700, 25, 9), (2, 42, 17)):
            async with db.transaction() as session:
                await bump(session, batch, ["outbound", "outbound_uniques"], sent)
                await bump(session, batch, ["inbound", "inbound_uniques"], received)
            await rollup.sample_conversations(now - 60 * minutes_ago)
        await rollup.run_once(retention=False)
        return {"seed": pings_app, "default": plain}
    finally:
        await db.dispose()


@pytest.fixture(scope="module")
def conversations(live: tuple[LiveServer, dict[str, str]]) -> dict[str, str]:
    server, seeded = live
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, _seed(server.platform.db.url, seeded["alice"])).result()


def _open(page: Page, url: str, charts: int) -> list[int]:
    page.goto(url)
    page.wait_for_selector(f'body[data-charts-drawn="{charts}"]')
    ink: list[int] = page.evaluate(INK)
    return ink


def test_seed_reports_json_renders_all_four_widget_types(
    alice: tuple[Page, str], conversations: dict[str, str], shots: Path
) -> None:
    page, base = alice
    errors_before = len(CONSOLE_ERRORS)
    page.set_viewport_size({"width": 1280, "height": 900})
    ink = _open(page, f"{base}/conversations/{conversations['seed']}/reports", 3)
    assert len(ink) == 3 and all(n > 500 for n in ink), ink  # every canvas has a drawing
    for kind in ("lvalue", "graph", "histogram", "pie"):
        expect(page.locator(f'article[data-kind="{kind}"]')).to_have_count(1)
    tile = page.locator('article[data-kind="lvalue"]')
    expect(tile.locator(".dash-value")).to_have_text("2,170")
    expect(tile.locator(".dash-change")).to_contain_text("+2,130")
    # width 6 of 12: the histogram and the pie share a row, half each.
    histogram = page.locator('article[data-kind="histogram"]').bounding_box()
    pie = page.locator('article[data-kind="pie"]').bounding_box()
    assert histogram and pie and abs(histogram["y"] - pie["y"]) < 2
    assert abs(histogram["width"] - pie["width"]) < 2 and histogram["width"] < 700
    page.screenshot(path=shots / "reports-seed-1280.png", full_page=True)
    assert CONSOLE_ERRORS[errors_before:] == []


def test_default_report_renders(
    alice: tuple[Page, str], conversations: dict[str, str], shots: Path
) -> None:
    page, base = alice
    errors_before = len(CONSOLE_ERRORS)
    ink = _open(page, f"{base}/conversations/{conversations['default']}/reports", 4)
    assert all(n > 500 for n in ink), ink
    values = page.locator(".dash-value").all_text_contents()
    assert values == ["77", "30", "77", "30"]
    page.screenshot(path=shots / "reports-default-1280.png", full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    _open(page, f"{base}/conversations/{conversations['default']}/reports", 4)
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scroll
    page.screenshot(path=shots / "reports-default-375.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    assert CONSOLE_ERRORS[errors_before:] == []


def test_data_matches_the_page(alice: tuple[Page, str], conversations: dict[str, str]) -> None:
    page, base = alice
    answer: Any = page.request.get(
        f"{base}/conversations/{conversations['seed']}/reports/data.json"
    )
    rows = answer.json()["rows"]
    assert [w["kind"] for row in rows for w in row] == ["lvalue", "graph", "histogram", "pie"]
    assert rows[2][1]["slices"][0]["value"] == 2170.0
