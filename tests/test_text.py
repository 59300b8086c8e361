"""Text checks: what storage refuses, and CSV cells a spreadsheet would run as formulas."""

from __future__ import annotations

import pytest

from vumigo.text import spreadsheet_safe, storable


def test_storable() -> None:
    assert storable("café ☕")
    assert not storable("a\x00b")
    assert not storable("\ud800")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("\t=1+1", "'\t=1+1"),
        # Phone numbers and amounts stay as they are.
        ("+27821234567", "+27821234567"),
        ("-12.50", "-12.50"),
        ("+1 (555) 010 2000", "+1 (555) 010 2000"),
        ("hello = world", "hello = world"),
        ("", ""),
    ],
)
def test_spreadsheet_safe(value: str, expected: str) -> None:
    assert spreadsheet_safe(value) == expected
