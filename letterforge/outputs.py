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
from letterforge.kinds import KINDS
from letterforge.ledger import SENT, Event, Ledger, LedgerError, LedgerLetter
from letterforge.permissions import atomic_file, make_folders, protect_descriptor, write_atomic
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
                    "file", "sha256", "clauses", "print_pack")
PRINT_PACK_VOLUME = "print-pack-{:03d}.pdf"
LETTERS_PER_VOLUME = 500


def delivery_order(letters: Iterable[LedgerLetter], data: DebtorData) -> list[LedgerLetter]:
    """Letters in the order of the delivery round: by building, address, then account."""
    order = {a.account_id: (a.building, a.address, a.account_id) for a in data.accounts}
    return sorted(letters, key=lambda l: order.get(l.account_id, ("", "", l.account_id)))


def print_pack_volumes(count: int, letters_per_volume: int) -> list[range]:
    """Which letters (positions in the delivery order) each volume of the print pack holds."""
    return [range(start, min(start + letters_per_volume, count)) for start in range(0, count, letters_per_volume)]


def write_print_pack(folder: Path, letters: Sequence[Path], letters_per_volume: int = LETTERS_PER_VOLUME) -> list[Path]:
    """The print pack in volumes (print-pack-001.pdf, ...) of at most `letters_per_volume` letters,
    in the order given. Each volume is written as its letters are read, one at a time, so memory
    does not grow with the day; volumes of an earlier, larger run of the day are removed."""
    from letterforge.printpack import PrintPackWriter

    written = []
    for number, positions in enumerate(print_pack_volumes(len(letters), letters_per_volume), 1):
        path = folder / PRINT_PACK_VOLUME.format(number)
        with atomic_file(path) as file:
            pack = PrintPackWriter(file)
            for position in positions:
                pack.add(letters[position])
            pack.close()
        written.append(path)
    return _remove_stale_volumes(folder, written)


def _remove_stale_volumes(folder: Path, written: list[Path]) -> list[Path]:
    for stale in folder.glob("print-pack*.pdf"):
        if stale not in written:
            stale.unlink()  # a volume (or the one-file pack of letterforge before volumes) no longer true
    # Half-written volumes of a run that was killed (this folder's pack is written again only when
    # the run that built it has stopped, and the workspace lock keeps any other run out).
    for left in [*folder.glob(".print-pack-*.pdf.building"), *folder.glob(".print-pack-*.pdf.*.tmp")]:
        left.unlink(missing_ok=True)
    return written


@dataclass
class BuiltPrintPack:
    """Volumes written while the day's letters were made, under temporary names: the references
    of the letters they hold, in order."""

    references: list[str]
    volumes: list[Path]
    letters_per_volume: int

    def put_in_place(self, folder: Path) -> list[Path]:
        written = []
        for number, volume in enumerate(self.volumes, 1):
            written.append(folder / PRINT_PACK_VOLUME.format(number))
            os.replace(volume, written[-1])
        return _remove_stale_volumes(folder, written)

    def discard(self) -> None:
        for volume in self.volumes:
            volume.unlink(missing_ok=True)


class DayPrintPack:
    """The day's print pack built while its letters are made: told of each letter as it is issued
    (in any order) or given up, it adds the letters to the volumes in the order of the delivery
    round as soon as all the letters before them are settled, holding only the file names of the
    letters that came early. `finish` gives what `write_print_pack` puts in place."""

    def __init__(self, folder: Path, expected: Sequence[tuple[str, Path | None]], letters_per_volume: int) -> None:
        """`expected`: (reference, file if already issued) of every letter of the day, in the delivery order."""
        self.folder = folder
        self.letters_per_volume = letters_per_volume
        self._order = [reference for reference, _ in expected]
        self._settled: dict[str, Path | None] = {}
        self._next = 0
        self._packed: list[str] = []
        self._volumes: list[Path] = []
        self._file: Any = None
        self._writer: Any = None
        self._in_volume = 0
        self.broken = False
        for left in folder.glob(".print-pack-*.pdf.building"):
            left.unlink()  # left by a run that was killed
        for reference, path in expected:
            if path is not None:
                self.issued(reference, path)

    @classmethod
    def for_day(cls, workspace: Workspace, ledger: Ledger, data: DebtorData, day: date, out: Path,
                to_issue: list[LedgerLetter]) -> DayPrintPack:
        """The print pack of a day whose letters `to_issue` are about to be made: it holds them and the
        letters an earlier run of the day issued, in the order of the delivery round."""
        earlier = {l.id: workspace_file(workspace.path, l.pdf_file) for l in ledger.letters()
                   if l.status in SENT and l.issued_on == day and l.pdf_file
                   and workspace_file(workspace.path, l.pdf_file).is_relative_to(out)}
        letters = [l for l in ledger.letters() if l.id in earlier] + [l for l in to_issue if l.id not in earlier]
        return cls(out / day.isoformat(), [(l.reference or "", earlier.get(l.id)) for l in delivery_order(letters, data)],
                   workspace.config.print_pack.letters_per_volume)

    def issued(self, reference: str, path: Path) -> None:
        self._settle(reference, path)

    def given_up(self, reference: str) -> None:
        """A letter that failed or was left for a later run: not in the pack."""
        self._settle(reference, None)

    def _settle(self, reference: str, path: Path | None) -> None:
        if self.broken:
            return
        self._settled[reference] = path
        try:
            while self._next < len(self._order) and self._order[self._next] in self._settled:
                reference = self._order[self._next]
                letter = self._settled.pop(reference)
                self._next += 1
                if letter is not None:
                    self._add(reference, letter)
        except Exception:  # noqa: BLE001 - the day's files then make the pack again from the letters, and say why
            log.warning("the print pack could not be built as the letters came; it is made at the end", exc_info=True)
            self.broken = True
            self._close_volume()
            BuiltPrintPack([], self._volumes, self.letters_per_volume).discard()

    def _add(self, reference: str, letter: Path) -> None:
        from letterforge.printpack import PrintPackWriter

        if self._writer is None:
            make_folders(self.folder)
            volume = self.folder / f".{PRINT_PACK_VOLUME.format(len(self._volumes) + 1)}.building"
            self._volumes.append(volume)
            self._file = open(volume, "wb")
            protect_descriptor(self._file.fileno())
            self._writer = PrintPackWriter(self._file)
        self._writer.add(letter)
        self._packed.append(reference)
        self._in_volume += 1
        if self._in_volume == self.letters_per_volume:
            self._close_volume()

    def _close_volume(self) -> None:
        if self._writer is None:
            return
        try:
            if not self.broken:
                self._writer.close()
                self._file.flush()
                os.fsync(self._file.fileno())
        finally:
            self._file.close()
            self._writer = self._file = None
            self._in_volume = 0

    def finish(self) -> BuiltPrintPack | None:
        """The volumes built, once every letter of the day is settled; None if none could be."""
        if not self.broken and self._next < len(self._order):
            log.warning("the print pack was left unfinished (%d letters not settled); it is made at the end",
                        len(self._order) - self._next)
            self.broken = True
        try:
            self._close_volume()
        except Exception:  # noqa: BLE001
            log.warning("the print pack's last volume could not be written; it is made at the end", exc_info=True)
            self.broken = True
        built = BuiltPrintPack(self._packed, self._volumes, self.letters_per_volume)
        if self.broken:
            built.discard()
            return None
        return built


def write_batch_files(folder: Path, letters: list[LedgerLetter], data: DebtorData, workspace: Path,
                      limitation: Mapping[str, str] | None = None,
                      letters_per_volume: int = LETTERS_PER_VOLUME, built: BuiltPrintPack | None = None) -> list[Path]:
    """The day's print pack (sorted by building and address, for the delivery round, in volumes
    of at most `letters_per_volume` letters), manifest (CSV and JSON) and follow-up list, made from
    the ledger's record of the day's letters (whose file paths are relative to the workspace).
    `limitation`: per account, the items that may be time-barred, for the follow-up list; `built`:
    the print pack's volumes if they were made while the letters were (`DayPrintPack`)."""
    letters = delivery_order(letters, data)
    if built is not None and (built.references != [l.reference for l in letters]
                              or built.letters_per_volume != letters_per_volume):
        built.discard()  # not the day's letters (some came from an earlier run's): made again from the files
        built = None
    volumes = {position: PRINT_PACK_VOLUME.format(number)
               for number, positions in enumerate(print_pack_volumes(len(letters), letters_per_volume), 1)
               for position in positions}
    rows = [{
        "reference": l.reference, "account_id": l.account_id, "kind": l.kind.value,
        "issued_on": l.issued_on.isoformat() if l.issued_on else "", "deadline": l.deadline.isoformat() if l.deadline else "",
        "principal": str(l.principal), "late_fees": str(l.late_fees), "total": str(l.total),
        "file": os.path.relpath(workspace / str(l.pdf_file), folder.parent), "sha256": l.pdf_sha256, "clauses": " ".join(l.clauses),
        "print_pack": volumes[position],
    } for position, l in enumerate(letters)]
    written = [
        *(built.put_in_place(folder) if built is not None
          else write_print_pack(folder, [workspace / str(l.pdf_file) for l in letters], letters_per_volume)),
        write_atomic(folder / "manifest.csv", _csv(MANIFEST_COLUMNS, rows)),
        write_atomic(folder / "manifest.json",
                     (json.dumps(rows, ensure_ascii=False, indent=1) + "\n").encode("utf-8")),
    ]
    follow_ups = sorted(({"follow_up_on": l.deadline.isoformat() if l.deadline else "", "account_id": l.account_id,
                          "kind": l.kind.value, "reference": l.reference,
                          "what": " ".join(filter(None, (KINDS[l.kind].follow_up, (limitation or {}).get(l.account_id))))}
                         for l in letters),
                        key=lambda row: (row["follow_up_on"], row["account_id"]))
    written.append(write_atomic(folder / "follow-ups.csv",
                                _csv(("follow_up_on", "account_id", "kind", "reference", "what"), follow_ups)))
    return written


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


def write_day_files(workspace: Workspace, ledger: Ledger, out: Path, data: DebtorData,
                    built: BuiltPrintPack | None = None, today: date | None = None) -> DayFiles:
    """Print pack, manifest and follow-ups for every day whose files do not yet list all the
    letters the ledger says were issued that day (today, or a day a crashed run left unfinished).
    `built`: the print pack of `today`, if it was built as the letters came (`DayPrintPack`)."""
    try:
        return _write_day_files(workspace, ledger, out, data, built, today)
    finally:
        if built is not None:
            built.discard()  # what was not put in place (put in place, nothing is left to remove)


def _write_day_files(workspace: Workspace, ledger: Ledger, out: Path, data: DebtorData,
                     built: BuiltPrintPack | None, today: date | None) -> DayFiles:
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
                    ledger, letters, data, limitation_years(workspace.config)),
                    workspace.config.print_pack.letters_per_volume, built if day == today else None))
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
