"""A real sandbox app fires metrics; they come back from the metrics API, in the dashboard
widgets' data and, with the run times, on /metrics."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.sandbox.helpers import NODE_READY, user_message
from tests.support.factories import make_account, make_conversation
from vumigo.config import Settings
from vumigo.db.engine import Database
from vumigo.metrics.prometheus import watch_sandbox
from vumigo.metrics.reports import parse_report
from vumigo.metrics.widgets import report_data
from vumigo.runtime import Platform
from vumigo.sandbox import RunContext, SandboxManager, SandboxSettings, build_registry
from vumigo.web.app import create_app

pytestmark = pytest.mark.skipif(not NODE_READY, reason="node and node_modules/vumigo_v02 needed")
# The engine's sink for metrics.fire (the jsbox app's), so the points are stored as in
# production.
sinks = pytest.importorskip("vumigo.apps.jsbox.sinks", reason="the jsbox app is not installed")

APP = """
api.on_inbound_message = function (cmd) {
  var value = parseFloat(cmd.msg.content);
  api.request('metrics.fire', {store: 'default', metric: 'jsbox_pings', value: value, agg: 'sum'},
    function () {
      api.request('metrics.fire', {metric: 'jsbox_peak', value: value, agg: 'max'}, function () {
        api.done();
      });
    });
};
"""

REPORT = {
    "layout": [
        {
            "type": "diamondash.widgets.lvalue.LValueWidget",
            "name": "Peak",
            "time_range": "1d",
            "target": {"metric_type": "account", "name": "jsbox_peak", "aggregator": "max"},
        },
        {
            "type": "diamondash.widgets.graph.GraphWidget",
            "name": "Pings",
            "time_range": "1h",
            "bucket_size": "5m",
            "metrics": [
                {
                    "name": "Pings",
                    "target": {
                        "metric_type": "account",
                        "store": "default",
                        "name": "jsbox_pings",
                        "aggregator": "sum",
                    },
                }
            ],
        },
        {
            "type": "diamondash.widgets.pie.PieWidget",
            "name": "Shares",
            "time_range": "1h",
            "metrics": [
                {
                    "name": "Pings",
                    "target": {
                        "metric_type": "account",
                        "name": "jsbox_pings",
                        "aggregator": "sum",
                    },
                },
                {
                    "name": "Peak",
                    "target": {"metric_type": "account", "name": "jsbox_peak", "aggregator": "max"},
                },
            ],
        },
    ]
}


async def test_sandbox_metrics_reach_the_api_widgets_and_prometheus(
    sqlite_db: Database, tmp_path: Path
) -> None:
    account, token = await make_account(sqlite_db)
    conv = await make_conversation(sqlite_db, account, "jsbox")
    platform = Platform(Settings(data_dir=tmp_path / "var", database_url=sqlite_db.url))
    registry = build_registry(metrics=sinks.DbMetricSink(sqlite_db))
    async with SandboxManager(
        SandboxSettings(timeout=10.0, prewarm=False), resources=registry
    ) as manager:
        watch_sandbox(platform.engine, manager)
        for value in ("3", "9", "4"):
            result = await manager.run(
                account, APP, {}, user_message(value), RunContext(conversation_key=conv)
            )
            assert result.ok, result.messages()
        transport = httpx.ASGITransport(app=create_app(platform))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            m = "stores.default.jsbox_pings.sum"
            answer = await http.get(
                "/api/v1/go/metrics/",
                params={"m": m, "from": "-1h", "interval": "1h", "nulls": "omit"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert sum(p["y"] for p in answer.json()[m]) == 16.0
            exposition = (await http.get("/metrics")).text
    await platform.db.dispose()

    runs = {
        (s.name, s.labels.get("outcome")): s.value
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
    }
    assert runs[("vumigo_sandbox_run_seconds_count", "done")] == 3.0

    rows = await report_data(sqlite_db, parse_report(json.dumps(REPORT)), account, conv)
    peak, pings, pie = rows[0]
    assert (peak["current"], peak["previous"], peak["change"]) == (9.0, None, None)
    assert sum(v for v in pings["datasets"][0]["values"] if v is not None) == 16.0
    assert len(pings["labels"]) in (12, 13)  # an hour of 5 minute buckets, aligned
    assert [s["value"] for s in pie["slices"]] == [16.0, 9.0]
