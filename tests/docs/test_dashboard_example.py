"""The dashboards page's reports.json (docs/examples/dashboards/) is a valid report that uses
every widget type, and is the one the browser tests draw for the page's screenshot."""

from __future__ import annotations

import json

from tests.docs.conftest import EXAMPLES
from tests.metrics.helpers import SEED_REPORT
from vumigo.metrics.reports import KINDS, parse_report

REPORTS = EXAMPLES / "dashboards" / "reports.json"


def test_the_example_report_uses_every_widget_type() -> None:
    report = parse_report(REPORTS.read_text())
    assert sorted(widget.kind for widget in report.widgets) == sorted(KINDS)
    assert [len(row) for row in report.rows] == [1, 1, 2]


def test_the_screenshot_shows_the_example() -> None:
    # tests/browser/test_dashboards.py renders SEED_REPORT into reports-seed-1280.png.
    assert json.loads(REPORTS.read_text()) == SEED_REPORT
