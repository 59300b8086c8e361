"""A conversation's reports page: its reports.json dashboard, or the default one.

Numbers (LValue widgets) are drawn on the server; graphs, histograms and pies by Chart.js from
the data each canvas carries, so the page needs one request and no inline script (the UI's
Content-Security-Policy allows none). Chart.js comes from npm and is served from here; nothing
is fetched from a CDN. A reports.json that cannot be used is named on the page, problem by
problem, above the default report.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, JSONResponse, Response

from vumigo.conversations.service import get_conversation
from vumigo.metrics.reports import report_for
from vumigo.metrics.widgets import report_data
from vumigo.runtime import Platform
from vumigo.web.assets import find_node_modules
from vumigo.web.context import Page
from vumigo.web.uiroute import UIRoute

router = APIRouter(route_class=UIRoute, include_in_schema=False)
assets = APIRouter(include_in_schema=False)

HERE = Path(__file__).resolve().parent.parent / "templates" / "dashboards"
ASSETS = {
    "dashboards.js": ("own", "dashboards.js"),
    "dashboards.css": ("own", "dashboards.css"),
    "chart.umd.min.js": ("chart.js", "dist/chart.umd.min.js"),
}
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
UNITS = ((7 * 86400, "w"), (86400, "d"), (3600, "h"), (60, "m"), (1, "s"))


def span_label(seconds: int) -> str:
    """``86400`` → ``1d``: the largest unit that divides the span."""
    for size, unit in UNITS:
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _view(widget: dict[str, Any]) -> dict[str, Any]:
    """What the template needs beyond the widget's data."""
    view = dict(widget)
    view["range_label"] = span_label(widget["time_range"])
    if widget["kind"] == "lvalue":
        return view
    if widget["kind"] == "pie":
        view["has_data"] = any(s["value"] is not None for s in widget["slices"])
    else:
        view["has_data"] = any(v is not None for d in widget["datasets"] for v in d["values"])
    return view


async def _report(web: Page, key: str) -> tuple[Any, list[str], list[list[dict[str, Any]]]]:
    async with web.db.sessions() as session:
        conv = await get_conversation(session, web.account_key, key)
    report, problems = report_for(dict(conv.config or {}))
    rows = await report_data(web.db, report, web.account_key, conv.key, time.time())
    return conv, problems, rows


@router.get("/conversations/{key}/reports")
async def reports_page(web: Page, key: str) -> Response:
    conv, problems, rows = await _report(web, key)
    return await web.page(
        "dashboards/report.html",
        nav="conversations",
        conv=conv,
        problems=problems,
        rows=[[_view(widget) for widget in row] for row in rows],
        updated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
    )


@router.get("/conversations/{key}/reports/data.json")
async def reports_data(web: Page, key: str) -> Response:
    """The same widgets' data as JSON (for scripts and checks)."""
    _conv, problems, rows = await _report(web, key)
    return JSONResponse({"problems": problems, "rows": rows})


@assets.get("/dashboards/assets/{name}")
async def asset(name: str) -> Response:
    found = ASSETS.get(name)
    if found is None:
        raise HTTPException(404, "Not Found")
    package, inner = found
    if package == "own":
        path = HERE / inner
    else:
        modules = find_node_modules()
        if modules is None:
            raise HTTPException(404, "Chart.js is not installed (npm ci)")
        path = modules / package / inner
    if not path.is_file():
        raise HTTPException(404, "Not Found")
    media = TYPES.get(path.suffix, "application/octet-stream")
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=86400"})


def install(app: FastAPI, platform: Platform) -> None:
    """Adds the reports pages and their assets to the app."""
    del platform  # the pages reach the platform through each request
    app.include_router(assets)
    app.include_router(router)
