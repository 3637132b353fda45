"""Data-file readers (CSV in UTF-8 or GBK/GB18030, XLSX, JSON), looked up by file extension."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

Cell = str | int | float | date | None


@dataclass(frozen=True)
class Table:
    """A data file as read: its header and its rows, each with the row number a user sees."""

    file: str
    headers: tuple[str, ...]
    rows: tuple[tuple[int, tuple[Cell, ...]], ...]
    encoding: str = ""


class ReadError(Exception):
    """The file as a whole cannot be read (missing, undecodable, not a table)."""


Reader = Callable[[Path, str, str], Table]
READERS: dict[str, Reader] = {}


def reader(*extensions: str) -> Callable[[Reader], Reader]:
    def register(function: Reader) -> Reader:
        for extension in extensions:
            READERS[extension] = function
        return function

    return register


def read_table(path: Path, sheet: str = "", encoding: str = "auto") -> Table:
    """Read one data file; the reader is chosen by the file's extension."""
    if not path.is_file():
        raise ReadError(f"{path}: file not found")
    function = READERS.get(path.suffix.lower())
    if function is None:
        known = ", ".join(sorted(READERS))
        raise ReadError(f"{path}: unknown file type {path.suffix!r} (letterforge reads {known})")
    return function(path, sheet, encoding)


def _clean_header(header: object) -> str:
    return str(header if header is not None else "").replace("\ufeff", "").strip()


def _is_blank(cells: tuple[Cell, ...]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def _decode(data: bytes, encoding: str, path: Path) -> tuple[str, str]:
    # Chinese spreadsheet exports are usually GBK; GB18030 is its superset and also decodes GB2312.
    candidates = ["utf-8-sig", "gb18030"] if encoding == "auto" else [encoding]
    for candidate in candidates:
        try:
            return data.decode(candidate), candidate
        except UnicodeDecodeError:
            continue
        except LookupError:
            raise ReadError(f"{path}: unknown encoding {candidate!r}") from None
    raise ReadError(f"{path}: cannot decode as {' or '.join(candidates)}; "
                    "save it as UTF-8 or set the file's encoding in letterforge.toml")


@reader(".csv", ".txt")
def read_csv(path: Path, sheet: str, encoding: str) -> Table:
    text, used = _decode(path.read_bytes(), encoding, path)
    records = list(csv.reader(io.StringIO(text, newline="")))
    if not records:
        raise ReadError(f"{path}: the file is empty")
    headers = tuple(_clean_header(h) for h in records[0])
    rows = tuple(
        (number, tuple(records_row))
        for number, records_row in enumerate(records[1:], start=2)
        if not _is_blank(tuple(records_row))
    )
    return Table(str(path), headers, rows, used)


@reader(".xlsx", ".xlsm")
def read_xlsx(path: Path, sheet: str, encoding: str) -> Table:
    import openpyxl  # imported here: only XLSX workspaces pay for it

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a damaged or foreign file
        raise ReadError(f"{path}: not a readable XLSX workbook ({error})") from None
    try:
        if sheet and sheet not in workbook.sheetnames:
            raise ReadError(f"{path}: no sheet named {sheet!r} (sheets: {', '.join(workbook.sheetnames)})")
        worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
        values = list(worksheet.iter_rows(values_only=True))
    finally:
        workbook.close()
    if not values:
        raise ReadError(f"{path}: the sheet is empty")
    headers = tuple(_clean_header(h) for h in values[0])
    rows = []
    for number, row in enumerate(values[1:], start=2):
        cells = tuple(cell.date() if isinstance(cell, datetime) else cell for cell in row)
        if not _is_blank(cells):
            rows.append((number, cells))
    return Table(str(path), headers, tuple(rows), "xlsx")


@reader(".json")
def read_json(path: Path, sheet: str, encoding: str) -> Table:
    text, used = _decode(path.read_bytes(), "utf-8-sig" if encoding == "auto" else encoding, path)
    try:
        records = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReadError(f"{path}:{error.lineno}: not valid JSON: {error.msg}") from None
    if isinstance(records, dict) and sheet:
        records = records.get(sheet)
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ReadError(f"{path}: expected a list of objects, one per row")
    headers: list[str] = []
    for record in records:
        headers.extend(key for key in record if key not in headers)
    rows = tuple(
        (number, tuple(_json_cell(record.get(h)) for h in headers))
        for number, record in enumerate(records, start=1)
    )
    return Table(str(path), tuple(_clean_header(h) for h in headers), rows, used)


def _json_cell(value: object) -> Cell:
    if value is None or isinstance(value, (str, int, float)):
        return value
    return json.dumps(value, ensure_ascii=False)
