"""Data-file readers (CSV in UTF-8 or GBK/GB18030, XLSX, JSON), looked up by file extension."""

from __future__ import annotations

import csv
import io
import json
from collections import deque
from collections.abc import Callable, Iterator
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
    # Rows that could not be read as rows (an unclosed quote running on), with the reason and
    # what could be read of them: rejected by validation, the rest of the file goes on.
    broken: tuple[tuple[int, tuple[Cell, ...], str], ...] = ()


class NotText(str):
    """A JSON value that is neither text nor a number (a list, an object, true/false), kept as
    its JSON text so that validation can reject its row and show what it was."""


class ReadError(Exception):
    """The file as a whole cannot be read (missing, undecodable, not a table)."""


Reader = Callable[[Path, str, str, int], Table]
DEFAULT_MAX_FIELD_CHARS = 10_000
MAX_JSON_COLUMNS = 1_000
MAX_XLSX_CELLS = 10_000_000
READERS: dict[str, Reader] = {}


def reader(*extensions: str) -> Callable[[Reader], Reader]:
    def register(function: Reader) -> Reader:
        for extension in extensions:
            READERS[extension] = function
        return function

    return register


def read_table(path: Path, sheet: str = "", encoding: str = "auto", max_bytes: int | None = None,
               max_field_chars: int = DEFAULT_MAX_FIELD_CHARS) -> Table:
    """Read one data file; the reader is chosen by the file's extension. A file above
    `max_bytes` is not read at all (its size is said); `max_field_chars` bounds a CSV field."""
    if not path.is_file():
        raise ReadError(f"{path}: file not found")
    function = READERS.get(path.suffix.lower())
    if function is None:
        known = ", ".join(sorted(READERS))
        raise ReadError(f"{path}: unknown file type {path.suffix!r} (letterforge reads {known})")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise ReadError(f"{path}: the file is {size / 2**20:.1f} MB, above the limit of {max_bytes / 2**20:.0f} MB "
                        "([limits] max_file_mb in letterforge.toml); split it or raise the limit")
    return function(path, sheet, encoding, max_field_chars)


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


def _first_line_cells(line: str, max_field_chars: int) -> tuple[Cell, ...]:
    """What can be read of a broken row: its first line, each cell cut to the limit."""
    try:
        cells = next(csv.reader([line]), [])
    except csv.Error:
        cells = [line]
    return tuple(cell if len(cell) <= max_field_chars else cell[:max_field_chars] + "…" for cell in cells)


class _ReplayableLines:
    """The lines of a text, one at a time, keeping only those of the record being read, so that
    the lines after the first of a broken record can be read again."""

    def __init__(self, text: str) -> None:
        self._source = io.StringIO(text, newline="")
        self._again: deque[str] = deque()
        self.record: list[str] = []

    def __iter__(self) -> _ReplayableLines:
        return self

    def __next__(self) -> str:
        line = self._again.popleft() if self._again else self._source.readline()
        if not line:
            raise StopIteration
        self.record.append(line)
        return line

    def read_again(self, lines: list[str]) -> None:
        self._again.extendleft(reversed(lines))


def _csv_records(text: str, max_field_chars: int) -> Iterator[tuple[tuple[Cell, ...], str]]:
    """Each record with "" or, for one that cannot be a row, the reason. A quoted field that
    runs over lines past the limit (an unclosed quote) is cut at the end of its first line and
    reading goes on from the next line, so one bad quote does not swallow the rest of the file."""
    lines = _ReplayableLines(text)
    while True:
        reader = csv.reader(lines)
        while True:
            lines.record = []
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                problem = f"cannot be read as CSV ({error}); an unclosed quote?"
            else:
                if len(lines.record) == 1:
                    yield tuple(record), ""
                    continue
                longest = max(map(len, record), default=0)
                if longest <= max_field_chars:
                    yield tuple(record), ""
                    continue
                problem = (f"a quoted field runs over {len(lines.record)} lines ({longest} characters, above the "
                           f"limit of {max_field_chars}); an unclosed quote? read again from the next line")
            first, rest = lines.record[0], lines.record[1:]
            yield _first_line_cells(first, max_field_chars), problem
            lines.read_again(rest)
            break  # a fresh reader: the csv module keeps no state across readers


@reader(".csv", ".txt")
def read_csv(path: Path, sheet: str, encoding: str, max_field_chars: int) -> Table:
    text, used = _decode(path.read_bytes(), encoding, path)
    records = _csv_records(text, max_field_chars)
    header = next(records, None)
    if header is None:
        raise ReadError(f"{path}: the file is empty")
    headers = tuple(_clean_header(h) for h in header[0])
    rows: list[tuple[int, tuple[Cell, ...]]] = []
    broken: list[tuple[int, tuple[Cell, ...], str]] = []
    # Equal cells (an account id on each of its rows, a period, a fee item, an amount, a date)
    # become one string: the records made from them then share it too.
    shared: dict[str, str] = {}
    for number, (cells, problem) in enumerate(records, start=2):
        if problem:
            broken.append((number, cells, problem))
        elif not _is_blank(cells):
            rows.append((number, tuple(map(shared.setdefault, cells, cells))))
    return Table(str(path), headers, tuple(rows), used, tuple(broken))


@reader(".xlsx", ".xlsm")
def read_xlsx(path: Path, sheet: str, encoding: str, max_field_chars: int) -> Table:
    import openpyxl  # imported here: only XLSX workspaces pay for it

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a damaged or foreign file
        raise ReadError(f"{path}: not a readable XLSX workbook ({error})") from None
    try:
        if sheet and sheet not in workbook.sheetnames:
            raise ReadError(f"{path}: no sheet named {sheet!r} (sheets: {', '.join(workbook.sheetnames)})")
        worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
        header: tuple[Cell, ...] | None = None
        rows = []
        seen_cells = 0
        for number, row in enumerate(worksheet.iter_rows(values_only=True), start=1):
            # A small file can declare a huge sheet (one cell at XFD1048576): count what is read.
            seen_cells += len(row)
            if seen_cells > MAX_XLSX_CELLS:
                raise ReadError(f"{path}: the sheet reaches row {number} and column {len(row)}, more than "
                                f"{MAX_XLSX_CELLS:,} cells; delete the empty rows and columns at its end")
            cells = tuple(cell.date() if isinstance(cell, datetime) else cell for cell in row)
            if header is None:
                header = cells
            elif not _is_blank(cells):
                rows.append((number, cells))
    finally:
        workbook.close()
    if header is None:
        raise ReadError(f"{path}: the sheet is empty")
    headers = tuple(_clean_header(h) for h in header)
    return Table(str(path), headers, tuple(rows), "xlsx")


@reader(".json")
def read_json(path: Path, sheet: str, encoding: str, max_field_chars: int) -> Table:
    text, used = _decode(path.read_bytes(), "utf-8-sig" if encoding == "auto" else encoding, path)
    try:
        records = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReadError(f"{path}:{error.lineno}: not valid JSON: {error.msg}") from None
    except RecursionError:
        raise ReadError(f"{path}: not a table: lists or objects nested too deeply") from None
    if isinstance(records, dict) and sheet:
        records = records.get(sheet)
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ReadError(f"{path}: expected a list of objects, one per row")
    headers = list(dict.fromkeys(key for record in records for key in record))
    if len(headers) > MAX_JSON_COLUMNS:
        # Every row gets every key as a column: many different keys would multiply into a huge table.
        raise ReadError(f"{path}: the objects have {len(headers)} different keys (at most {MAX_JSON_COLUMNS}); "
                        "is it the right export?")
    try:
        rows = tuple(
            (number, tuple(_json_cell(record.get(h)) for h in headers))
            for number, record in enumerate(records, start=1)
        )
    except RecursionError:
        raise ReadError(f"{path}: a value has lists or objects nested too deeply") from None
    return Table(str(path), tuple(_clean_header(h) for h in headers), rows, used)


def _json_cell(value: object) -> Cell:
    if value is None or (isinstance(value, (str, int, float)) and not isinstance(value, bool)):
        return value
    return NotText(json.dumps(value, ensure_ascii=False))
