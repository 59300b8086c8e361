"""Metric names and time specs, reports.json checking, and the default report."""

from __future__ import annotations

import json

import pytest

from tests.metrics.helpers import SEED_REPORT
from vumigo.metrics.names import (
    BadName,
    Series,
    candidates,
    conversation_series,
    parse_duration,
    parse_time,
)
from vumigo.metrics.reports import (
    ReportError,
    Target,
    default_report,
    parse_report,
    report_for,
)

NOW = 1_700_000_000


@pytest.mark.parametrize(
    ("spec", "seconds"),
    [("1d", 86400), ("15m", 900), ("15min", 900), ("1hour", 3600), ("30s", 30), ("2w", 1209600)],
)
def test_durations(spec: str, seconds: int) -> None:
    assert parse_duration(spec) == seconds


@pytest.mark.parametrize("spec", ["", "0s", "1 fortnight", "-1d", "1.5h", "99999999999d"])
def test_bad_durations(spec: str) -> None:
    with pytest.raises(BadName):
        parse_duration(spec)


@pytest.mark.parametrize(
    ("spec", "when"),
    [
        ("now", NOW),
        ("-0s", NOW),
        ("-24h", NOW - 86400),
        ("now-1d", NOW - 86400),
        ("+1h", NOW + 3600),
        ("1600000000", 1_600_000_000),
        ("20240101", 1_704_067_200),
        ("12:30_20240101", 1_704_067_200 + 45_000),
    ],
)
def test_times(spec: str, when: int) -> None:
    assert parse_time(spec, NOW) == when


def test_names_follow_the_original() -> None:
    pings = Series("acc", "default", "total_pings", "max")
    assert pings.path == "stores.default.total_pings.max"
    assert pings.full_name == "go.campaigns.acc.stores.default.total_pings.max"
    assert not pings.is_gauge
    sent = conversation_series("acc", "conv", "messages_sent")
    assert sent.full_name == "go.campaigns.acc.conversations.conv.messages_sent.avg"
    assert sent.is_gauge
    assert candidates("acc", "stores.default.total_pings.max") == [pings]
    assert candidates("acc", "go.campaigns.acc.stores.default.total_pings.max") == [pings]
    assert candidates("acc", sent.path) == [sent]
    assert candidates("acc", "stores.a.b.c.sum") == [
        Series("acc", "a", "b.c", "sum"),
        Series("acc", "a.b", "c", "sum"),
    ]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("stores.default.x.median", "Aggregator 'median'"),
        ("avg", "must end in an aggregator"),
        ("stores..x.avg", "Invalid metric name"),
        ("go.campaigns.other.stores.d.x.avg", "another account"),
        ("x" * 401, "1 to 400 characters"),
    ],
)
def test_bad_names(path: str, reason: str) -> None:
    with pytest.raises(BadName, match=reason):
        candidates("acc", path)


def test_the_docs_example_reads_as_given() -> None:
    report = parse_report(json.dumps(SEED_REPORT))
    kinds = [[w.kind for w in row] for row in report.rows]
    assert kinds == [["lvalue"], ["graph"], ["histogram", "pie"]]
    tile = report.rows[0][0]
    assert (tile.name, tile.width, tile.time_range) == ("Last Ping Count", 3, 86400)
    assert tile.metrics[0].target == Target("account", "total_pings", "default", "max")
    graph = report.rows[1][0]
    assert (graph.width, graph.bucket_size, graph.metrics[0].name) == (6, 3600, "Pings")
    histogram, pie = report.rows[2]
    assert (histogram.time_range, histogram.bucket_size) == (3600, 300)
    assert pie.metrics[0].name == "Total Pings"


def test_lenient_where_it_is_safe() -> None:
    report = parse_report(
        [
            "new_row",
            {"type": "lvalue", "name": "Sent",
             "target": {"metric_type": "conversation", "name": "messages_sent"}},
            {"type": "GraphWidget", "name": "G", "time_range": "30d",
             "target": {"metric_type": "account", "name": "pings", "aggregator": "SUM"}},
            "new_row",
            "new_row",
        ]
    )  # fmt: skip
    ((sent, graph),) = report.rows
    assert sent.metrics[0].target == Target("conversation", "messages_sent", "default", "avg")
    assert graph.bucket_size == 86400 and graph.metrics[0].name == "G"
    assert graph.metrics[0].target.aggregator == "sum"


def test_every_problem_is_named() -> None:
    with pytest.raises(ReportError) as caught:
        parse_report(
            {
                "layout": [
                    {"type": "GaugeWidget", "name": "One"},
                    {"type": "LValueWidget", "target": {"metric_type": "account", "name": "x"}},
                    {"type": "PieWidget", "name": "Three", "width": 13, "metrics": []},
                    {"type": "LValueWidget", "name": "Four", "metrics": [
                        {"name": "a", "target": {"metric_type": "account", "name": "x"}},
                        {"name": "b", "target": {"metric_type": "account", "name": "y"}},
                    ]},
                    {"type": "GraphWidget", "name": "Five", "time_range": "soon",
                     "target": {"metric_type": "account", "name": "x"}},
                    {"type": "HistogramWidget", "name": "Six",
                     "target": {"metric_type": "account", "name": "x", "aggregator": "median"}},
                    42,
                ]
            }
        )  # fmt: skip
    problems = caught.value.problems
    assert len(problems) == 7
    assert problems[0].startswith("widget 1 ('One'): type 'GaugeWidget' is not one of")
    assert problems[1] == "widget 2: name must be a non-empty string"
    assert problems[2] == "widget 3 ('Three'): width must be a whole number from 1 to 12"
    assert "give a single target" in problems[3]
    assert "time_range: Invalid time span 'soon'" in problems[4]
    assert "aggregator must be one of sum, avg, max, min, last" in problems[5]
    assert problems[6] == 'widget 7: must be an object (or the string "new_row")'


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("[", "not valid JSON"),
        ({"rows": []}, 'a list of widgets or {"layout": [...]}'),
        (["new_row"], "has no widgets"),
        ("x" * 70_000, "larger than 64 KiB"),
    ],
)
def test_unusable_reports(raw: object, problem: str) -> None:
    with pytest.raises(ReportError, match=problem.replace("[", r"\[").replace("{", r"\{")):
        parse_report(raw)


def test_default_report_is_the_originals() -> None:
    report = default_report()
    tiles, traffic, uniques = report.rows
    assert [t.name for t in tiles] == [
        "Messages Sent (24h)",
        "Messages Received (24h)",
        "Unique Recipients (24h)",
        "Unique Senders (24h)",
    ]
    assert {(t.kind, t.time_range, t.width) for t in tiles} == {("lvalue", 86400, 3)}
    assert [(g.time_range, g.bucket_size) for g in traffic + uniques] == [
        (86400, 900),
        (30 * 86400, 86400),
    ] * 2
    assert [m.target.name for m in traffic[0].metrics] == ["messages_sent", "messages_received"]
    assert [m.target.name for m in uniques[1].metrics] == [
        "inbound_unique_addresses",
        "outbound_unique_addresses",
    ]
    assert all(m.target.metric_type == "conversation" for w in report.widgets for m in w.metrics)


def test_report_for_a_conversation() -> None:
    assert report_for({}) == (default_report(), [])
    stored = {"jsbox_app_config": {"reports": {"key": "reports", "value": json.dumps(SEED_REPORT)}}}
    assert report_for(stored) == (parse_report(SEED_REPORT), [])
    assert report_for({"jsbox_app_config": {"reports": SEED_REPORT}})[1] == []
    assert report_for({"jsbox_app_config": {"reports": {"value": ""}}}) == (default_report(), [])
    broken = {"jsbox_app_config": {"reports": {"value": "[1]"}}}
    report, problems = report_for(broken)
    assert report == default_report() and problems == [
        'widget 1: must be an object (or the string "new_row")'
    ]
