"""Reading uploaded contact files (CSV, XLS, XLSX) as rows of cells, streamed.

A ``Sheet`` yields (row number, cells) pairs for the data rows; the row number is the one a
person sees in a spreadsheet (1-based, the header counted), so errors point at the right line.
CSV and XLSX are read incrementally (XLSX through openpyxl's read-only mode); XLS files are at
most 65,536 rows by format, so xlrd reading one whole is bounded.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import xlrd

from vumigo.contacts.fields import TEXT_FIELDS
from vumigo.contacts.normalise import Cell, cell_text
from vumigo.errors import InvalidInput

EXTENSIONS = ("csv", "xls", "xlsx")
# The first row is a header if a cell is one of these words (the original's) or a field name.
HEADER_WORDS = frozenset(("phone", "contact", "msisdn", "number", "key", *TEXT_FIELDS))
DELIMITERS = ",|\t"
SNIFF_BYTES = 64 * 1024
MAX_CSV_FIELD = 1024 * 1024

Row = tuple[int, list[Cell]]


@dataclass
class Sheet:
    header: list[str] | None
    # Number of columns a row may have: the header's, or the first data row's.
    width: int
    # Rows in the file (data rows, roughly, for a progress bar); None when not known cheaply.
    total: int | None
    rows: Iterator[Row]
    # CSV rows must have every field; spreadsheets leave trailing cells out when blank.
    strict_width: bool = False


def extension_of(filename: str) -> str:
    ext = Path(filename).suffix.lower().lstrip(".")
    if ext not in EXTENSIONS:
        raise InvalidInput(f"No parser available for type {ext or '(none)'}")
    return ext


def looks_like_header(cells: list[Cell]) -> bool:
    return any(isinstance(c, str) and c.strip().lower() in HEADER_WORDS for c in cells)


def _trim(cells: list[Cell]) -> list[Cell]:
    """Drops trailing empty cells: spreadsheets report blank columns as empty cells."""
    end = len(cells)
    while end and (cells[end - 1] is None or cells[end - 1] == ""):
        end -= 1
    return cells[:end]


@contextmanager
def open_sheet(
    path: Path, filename: str | None = None, has_header: bool | None = None
) -> Iterator[Sheet]:
    """Opens the file (its type from ``filename`` or the path) as a Sheet of its first sheet."""
    ext = extension_of(filename or path.name)
    if ext == "csv":
        with _csv_rows(path) as (rows, total):
            sheet = _sheet(rows, total, has_header)
            sheet.strict_width = True
            yield sheet
    elif ext == "xlsx":
        with _xlsx_rows(path) as (rows, total):
            yield _sheet(rows, total, has_header)
    else:
        with _xls_rows(path) as (rows, total):
            yield _sheet(rows, total, has_header)


def _sheet(raw: Iterator[list[Cell]], total: int | None, has_header: bool | None) -> Sheet:
    numbered = ((number, cells) for number, cells in enumerate(raw, start=1))
    first: Row | None = None
    for number, cells in numbered:
        if any(cell_text(c) for c in cells):
            first = (number, cells)
            break
    if first is None:
        raise InvalidInput("The file has no rows.")
    header_row = looks_like_header(first[1]) if has_header is None else has_header
    header = [cell_text(c) for c in _trim(first[1])] if header_row else None
    width = len(header) if header is not None else len(_trim(first[1]))

    def data_rows() -> Iterator[Row]:
        if not header_row:
            yield first[0], first[1]
        for number, cells in numbered:
            if any(cell_text(c) for c in cells):  # blank lines are skipped, not errors
                yield number, cells

    rows = data_rows()
    if total is not None and header_row:
        total -= 1
    return Sheet(header=header, width=width, total=total, rows=rows)


def _scan_csv(path: Path) -> tuple[str, int]:
    """One streaming pass: the text encoding (UTF-8, else Windows-1252) and the line count."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    utf8 = True
    ends_with_newline = True
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            lines += chunk.count(b"\n")
            ends_with_newline = chunk.endswith(b"\n")
            if utf8:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
    return ("utf-8-sig" if utf8 else "cp1252"), lines + (0 if ends_with_newline else 1)


@contextmanager
def _csv_rows(path: Path) -> Iterator[tuple[Iterator[list[Cell]], int | None]]:
    encoding, lines = _scan_csv(path)
    # cp1252 leaves five bytes undefined; "replace" keeps such a file readable.
    with path.open(encoding=encoding, errors="replace", newline="") as handle:
        sample = handle.read(SNIFF_BYTES)
        handle.seek(0)
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, DELIMITERS)
        except csv.Error:
            dialect = csv.excel  # one column, or nothing to go on: plain commas
        reader = csv.reader(handle, dialect)
        csv.field_size_limit(MAX_CSV_FIELD)

        def rows() -> Iterator[list[Cell]]:
            try:
                for record in reader:
                    yield list(record)
            except csv.Error as exc:
                raise InvalidInput(
                    f"Could not read the CSV file near line {reader.line_num}: {exc}"
                ) from None

        yield rows(), lines


@contextmanager
def _xlsx_rows(path: Path) -> Iterator[tuple[Iterator[list[Cell]], int | None]]:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InvalidInput(f"Could not read the file as XLSX: {exc}") from None
    except Exception as exc:  # openpyxl raises its own types for damaged files
        raise InvalidInput(f"Could not read the file as XLSX: {exc}") from None
    try:
        sheet = book.worksheets[0]
        total = sheet.max_row if isinstance(sheet.max_row, int) else None
        rows = (list(r) for r in sheet.iter_rows(values_only=True))
        yield rows, total
    finally:
        book.close()


@contextmanager
def _xls_rows(path: Path) -> Iterator[tuple[Iterator[list[Cell]], int | None]]:
    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except Exception as exc:  # xlrd raises XLRDError, struct errors, ... for non-XLS data
        raise InvalidInput(f"Could not read the file as XLS: {exc}") from None
    try:
        sheet = book.sheet_by_index(0)

        def rows() -> Iterator[list[Cell]]:
            for index in range(sheet.nrows):
                yield [_xls_cell(cell, book.datemode) for cell in sheet.row(index)]

        yield rows(), sheet.nrows
    finally:
        book.release_resources()


def _xls_cell(cell: xlrd.sheet.Cell, datemode: int) -> Cell:
    kind = cell.ctype
    if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
        return None
    if kind == xlrd.XL_CELL_DATE:
        try:
            value: datetime = xlrd.xldate_as_datetime(cell.value, datemode)
            return value
        except (ValueError, OverflowError):
            return float(cell.value)
    if kind == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if kind == xlrd.XL_CELL_NUMBER:
        return float(cell.value)
    return str(cell.value)
