"""Writes contacts.xls, the legacy-Excel fixture of test_importer.py (kept in the repository).

xlwt is not a test dependency; to remake the file: ``pip install xlwt==1.3.0`` and run this.
Numbers are written as Excel numbers (floats), as a person typing phone numbers would get.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import xlwt  # type: ignore[import-not-found]

ROWS = [
    ["Phone", "Name", "City", "Birthday", "Age"],
    [821234567.0, "Thandi", "CPT", datetime.date(1990, 5, 17), 31.0],
    [27821234568.0, "Sipho", "JHB", None, 45.0],
    ["+27 82 123 4569", "Lerato", None, None, None],
    ["0821234570", "Bongani", "DBN", datetime.date(2001, 1, 2), 22.5],
]


def main() -> None:
    book = xlwt.Workbook()
    sheet = book.add_sheet("Contacts")
    dates = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate(ROWS):
        for c, value in enumerate(row):
            if isinstance(value, datetime.date):
                sheet.write(r, c, value, dates)
            elif value is not None:
                sheet.write(r, c, value)
    book.save(str(Path(__file__).with_name("contacts.xls")))


if __name__ == "__main__":
    main()
