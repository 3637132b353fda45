"""Everything letterforge writes to disk on the way out: the rejects files, the day folder (its
letters, print pack, manifest and follow-ups, restored from the archive when lost) and CSV exports."""

from __future__ import annotations

import csv
import errno
import io
import json
import logging
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from letterforge.archive import archived_file, same_file, workspace_file
from letterforge.diagnostics import UserError
from letterforge.filenames import letter_file_name, path_inside
from letterforge.ledger import SENT, Event, Ledger, LedgerError, LedgerLetter
from letterforge.permissions import write_atomic
from letterforge.records import LetterKind
from letterforge.statements import limitation_flags, limitation_summary, limitation_years
from letterforge.validation import DebtorData, RejectedRow
from letterforge.workspace import Workspace

log = logging.getLogger(__name__)


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


# -- the day folder -------------------------------------------------------------------------------

def letter_file(folder: Path, letter: LedgerLetter) -> Path:
    return path_inside(folder / "letters", letter_file_name(letter.kind.value, letter.account_id, "pdf"))


def pending_file(folder: Path, letter: LedgerLetter) -> Path:
    return path_inside(folder / "letters" / ".pending", letter_file_name(letter.kind.value, letter.account_id, "pdf"))


def check_writable(folder: Path) -> None:
    """The day's folder must take files before any number is reserved for a letter."""
    try:
        write_atomic(folder / "letters" / ".pending" / ".probe", b"")
        (folder / "letters" / ".pending" / ".probe").unlink()
    except OSError as error:
        raise UserError(f"{folder}: the output folder cannot be written ({error.strerror or error}); choose another "
                        "with --out or give letterforge write access to it. Nothing was issued.") from None


def read_manifest(path: Path) -> list[dict[str, Any]]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: cannot read this day's manifest ({error}); restore it or move it aside") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and r.get("reference") and r.get("kind") in
                                             set(LetterKind) for r in rows):
        raise UserError(f"{path}: not a letterforge manifest; restore it or move it aside")
    return rows


_STOPS_THE_DAY = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)

def stops_the_day(error: BaseException) -> str:
    """The reason to stop issuing when an error will hit every letter that follows (full disk,
    read-only or unwritable folder, unusable ledger, a cluster that cannot make letters), else ''."""
    from letterforge.rendertask import ClusterFailure

    if isinstance(error, (LedgerError, ClusterFailure)):
        return str(error)
    if isinstance(error, OSError) and error.errno in _STOPS_THE_DAY:
        name = f"{error.filename}: " if error.filename else ""
        return (f"{name}{error.strerror or error}: free space or give letterforge write access, then run the "
                "batch again: it completes the day")
    return ""


@dataclass(frozen=True)
class DayFiles:
    written: tuple[Path, ...]
    problems: tuple[str, ...] = ()  # days whose files cannot be written again, for a person to look at
    stopped_by: str = ""  # a full disk or unwritable folder: the next run writes them


def write_day_files(workspace: Workspace, ledger: Ledger, out: Path, data: DebtorData) -> DayFiles:
    """Print pack, manifest and follow-ups for every day whose files do not yet list all the
    letters the ledger says were issued that day (today, or a day a crashed run left unfinished)."""
    by_day: dict[date, list[LedgerLetter]] = {}
    for letter in ledger.letters():
        if letter.status in SENT and letter.issued_on and letter.pdf_file and \
                workspace_file(workspace.path, letter.pdf_file).is_relative_to(out):
            by_day.setdefault(letter.issued_on, []).append(letter)
    written: list[Path] = []
    problems: list[str] = []
    stopped_by = ""
    for day, letters in sorted(by_day.items()):
        folder = out / day.isoformat()
        manifest = folder / "manifest.json"
        listed = {row["reference"] for row in read_manifest(manifest)} if manifest.is_file() else set()
        if listed != {l.reference for l in letters}:
            lost = restore_from_archive(workspace, letters)
            if lost:
                problems.append(f"{folder}: the day's files cannot be written again: no intact copy of "
                                f"{', '.join(lost)} is left (see `letterforge ledger check`)")
                continue
            try:
                written.extend(write_batch_files(folder, letters, data, workspace.path, limitation_notes(
                    ledger, letters, data, limitation_years(workspace.config))))
            except OSError as error:
                reason = stops_the_day(error)
                if not reason:
                    raise
                stopped_by = stopped_by or reason  # the next run writes them
    return DayFiles(tuple(written), tuple(problems), stopped_by)


def limitation_notes(ledger: Ledger, letters: list[LedgerLetter], data: DebtorData, years: int) -> dict[str, str]:
    """For the follow-up list: the items of each letter's account that may be time-barred, judged on the
    letters sent before it (the letter itself says nothing of it)."""
    notes = {}
    sent = [(l.account_id, l.issued_on) for l in ledger.letters() if l.status in SENT and l.issued_on]
    sent += [(p.account_id, p.issued_on) for p in data.history]
    for letter in letters:
        if letter.issued_on is None:
            continue
        before = [day for account_id, day in sent if account_id == letter.account_id and day < letter.issued_on]
        flags = limitation_flags(data.arrears_of(letter.account_id), before, letter.issued_on, years)
        if flags:
            notes[letter.account_id] = limitation_summary(flags)
    return notes


def restore_from_archive(workspace: Workspace, letters: list[LedgerLetter]) -> list[str]:
    """Put back day-folder files that were lost or altered, from the archive; the references of
    letters with no intact copy anywhere."""
    lost = []
    for letter in letters:
        path = workspace_file(workspace.path, letter.pdf_file or "")
        sha256 = letter.pdf_sha256 or ""
        if same_file(path, sha256):
            continue
        archived = archived_file(workspace.path, letter)
        if same_file(archived, sha256):
            write_atomic(path, archived.read_bytes())
            log.warning("%s: restored from the archive", path)
        else:
            lost.append(letter.reference or str(letter.id))
    return lost
