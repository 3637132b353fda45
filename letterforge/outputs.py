"""Everything letterforge writes to disk on the way out: atomic files and the rejects files."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from letterforge.filenames import path_inside
from letterforge.ledger import Event, LedgerLetter
from letterforge.permissions import make_folders, protect_descriptor
from letterforge.records import LetterKind
from letterforge.validation import DebtorData, RejectedRow


def write_atomic(path: Path, data: bytes) -> Path:
    """Write to a temporary name in the same folder, fsync, then rename: never a half file.
    The file gets the permission policy's mode and group (0640; see `permissions`), and folders
    it needs are created 0750."""
    make_folders(path.parent)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp")
    try:
        protect_descriptor(handle)
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_rejects(rejects: tuple[RejectedRow, ...], folder: Path) -> list[Path]:
    """One CSV per data file (UTF-8 with BOM, so Excel and WPS open it): row, reason, then the
    row as it was. Stale rejects files of a table that is now clean are removed."""
    by_table: dict[str, list[RejectedRow]] = defaultdict(list)
    for reject in rejects:
        by_table[reject.table].append(reject)
    written = []
    for table in ("accounts", "arrears", "history"):
        path = folder / f"{table}.rejects.csv"
        rows = by_table.get(table)
        if not rows:
            path.unlink(missing_ok=True)
            continue
        lines = ([reject.file, reject.row, "; ".join(reject.reasons), *reject.cells] for reject in rows)
        written.append(write_atomic(path, csv_bytes(["file", "row", "reason", *rows[0].headers], lines)))
    return written


def letter_paths(file_names: list[str], output: Path | None) -> list[Path]:
    """Where each rendered letter goes: -o names a file for one letter, else a folder (each
    name, made from data, must stay inside it)."""
    if output is not None and len(file_names) == 1 and not output.is_dir() and output.suffix:
        return [output]
    folder = output if output is not None else Path.cwd()
    return [path_inside(folder, name) for name in file_names]


MANIFEST_COLUMNS = ("reference", "account_id", "kind", "issued_on", "deadline", "principal", "late_fees", "total",
                    "file", "sha256", "clauses")


def write_batch_files(folder: Path, letters: list[LedgerLetter], data: DebtorData, workspace: Path,
                      limitation: Mapping[str, str] | None = None) -> list[Path]:
    """The day's print pack (sorted by building and address, for the delivery round), manifest
    (CSV and JSON) and follow-up list, made from the ledger's record of the day's letters (whose
    file paths are relative to the workspace). `limitation`: per account, the items that may be
    time-barred, for the follow-up list."""
    from letterforge.printpack import make_print_pack

    order = {a.account_id: (a.building, a.address, a.account_id) for a in data.accounts}
    letters = sorted(letters, key=lambda l: order.get(l.account_id, ("", "", l.account_id)))
    rows = [{
        "reference": l.reference, "account_id": l.account_id, "kind": l.kind.value,
        "issued_on": l.issued_on.isoformat() if l.issued_on else "", "deadline": l.deadline.isoformat() if l.deadline else "",
        "principal": str(l.principal), "late_fees": str(l.late_fees), "total": str(l.total),
        "file": os.path.relpath(workspace / str(l.pdf_file), folder.parent), "sha256": l.pdf_sha256, "clauses": " ".join(l.clauses),
    } for l in letters]
    written = [
        write_atomic(folder / "print-pack.pdf", make_print_pack([workspace / str(l.pdf_file) for l in letters])),
        write_atomic(folder / "manifest.csv", _csv(MANIFEST_COLUMNS, rows)),
        write_atomic(folder / "manifest.json",
                     (json.dumps(rows, ensure_ascii=False, indent=1) + "\n").encode("utf-8")),
    ]
    follow_ups = sorted(({"follow_up_on": l.deadline.isoformat() if l.deadline else "", "account_id": l.account_id,
                          "kind": l.kind.value, "reference": l.reference,
                          "what": " ".join(filter(None, (FOLLOW_UP[l.kind], (limitation or {}).get(l.account_id))))}
                         for l in letters),
                        key=lambda row: (row["follow_up_on"], row["account_id"]))
    written.append(write_atomic(folder / "follow-ups.csv",
                                _csv(("follow_up_on", "account_id", "kind", "reference", "what"), follow_ups)))
    return written


FOLLOW_UP = {
    LetterKind.REMINDER: "check payment; a further reminder or a demand follows by the policy",
    LetterKind.DEMAND: "the reply period has ended: call the debtor, then the next step by the policy",
    LetterKind.LAWYER: "the deadline has passed: decide with the law firm on legal action",
}


# A cell starting with one of these is a formula to Excel, WPS or LibreOffice (OWASP: CSV
# injection); the full-width forms are included because WPS reads some of them as formulas too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def spreadsheet_cell(value: object) -> str:
    """A value as a CSV cell that a spreadsheet shows as text and never runs: a cell that would
    start a formula gets a leading ' (which Excel and WPS hide). Numbers stay numbers."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_bytes(header: Sequence[object], rows: Iterable[Sequence[object]]) -> bytes:
    """The one CSV writer of letterforge: UTF-8 with BOM (so that Excel and WPS open it), every
    cell made safe by `spreadsheet_cell`. JSON outputs are written exactly, without this."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([spreadsheet_cell(cell) for cell in header])
    writer.writerows([spreadsheet_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def _csv(columns: tuple[str, ...], rows: Sequence[Mapping[str, object]]) -> bytes:
    return csv_bytes(columns, ([row.get(column, "") for column in columns] for row in rows))


def ledger_csv(letters: list[LedgerLetter], events: list[Event]) -> bytes:
    """The ledger for the evidence file: one row per letter with its events in order, then the
    account events (holds, releases) as rows of their own."""
    by_letter: dict[int, list[str]] = defaultdict(list)
    for event in events:
        if event.letter_id is not None:
            by_letter[event.letter_id].append(f"{event.at} {event.event} {event.detail}".strip())
    columns = ("reference", "account_id", "kind", "status", "planned_on", "issued_on", "deadline", "principal",
               "late_fees", "total", "pdf_sha256", "pdf_file", "delivery_method", "tracking_number", "delivered_on",
               "clauses", "events")
    rows: list[dict[str, object]] = []
    for letter in letters:
        row: dict[str, object] = {k: v for k, v in letter.as_dict().items() if k in columns}
        row["clauses"] = " ".join(letter.clauses)
        row["events"] = " | ".join(by_letter.get(letter.id, []))
        rows.append(row)
    for event in events:
        if event.letter_id is None:
            rows.append({"account_id": event.account_id, "status": event.event,
                         "events": f"{event.at} {event.event} {event.detail}".strip()})
    return _csv(columns, rows)
