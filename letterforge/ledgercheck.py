"""The ledger held against what was written: `ledger check` compares it with the archive and the
day folders, and `ledger rebuild` reconstructs a lost or damaged ledger from them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from letterforge.archive import archive_path, archived_file, archived_records, same_file, stored_path, workspace_file
from letterforge.diagnostics import UserError
from letterforge.ledger import LEDGER_FILE, SENT, Ledger, LedgerError, RebuiltLetter, open_ledger
from letterforge.outputs import read_manifest
from letterforge.records import LetterKind, LetterStatus
from letterforge.recovery import numbers_used_elsewhere
from letterforge.workspace import Workspace


def day_folders(workspace: Workspace, ledger: Ledger, out: Path | None) -> list[Path]:
    """Every output folder the ledger's days name, the default one and `out`: their day folders."""
    roots = {workspace.path / "out"} | {workspace_file(workspace.path, d.out) for d in ledger.days()}
    if out is not None:
        roots.add(out.resolve())
    return sorted(folder.parent for root in roots if root.is_dir() for folder in root.glob("*/manifest.json"))


def check_ledger(workspace: Workspace, ledger: Ledger, out: Path | None = None) -> list[str]:
    """Every way the ledger disagrees with itself, the archive or the day folders; one line each."""
    damage = ledger.integrity_problems()
    if damage:
        return [f"{ledger.path}: SQLite integrity check: {problem}" for problem in damage]
    problems = [f"{ledger.path}: {problem}" for problem in ledger.series_problems(_history_numbers(workspace))]
    letters = ledger.letters()
    by_reference = {l.reference: l for l in letters if l.reference}
    for letter in letters:
        if letter.status not in SENT:
            continue
        name = f"{letter.reference} ({letter.account_id})"
        if not letter.pdf_sha256:
            problems.append(f"{name}: {letter.status} but the ledger keeps no SHA-256 of it")
            continue
        archived = archived_file(workspace.path, letter)
        if not archived.is_file():
            problems.append(f"{name}: its archived bytes are missing ({archived})")
        elif not same_file(archived, letter.pdf_sha256):
            problems.append(f"{name}: its archived bytes differ from the ledger's SHA-256 ({archived})")
        if letter.pdf_file and workspace_file(workspace.path, letter.pdf_file) != archived:
            issued = workspace_file(workspace.path, letter.pdf_file)
            if not issued.is_file():
                problems.append(f"{name}: its day-folder file is missing ({issued})")
            elif not same_file(issued, letter.pdf_sha256):
                problems.append(f"{name}: its day-folder file differs from the ledger's SHA-256 ({issued})")
    for send in ledger.sends():
        stored = workspace_file(workspace.path, send.file) if send.file else None
        if stored is None or not stored.is_file():
            problems.append(f"{send.reference} ({send.account_id}): the archived {send.channel} message {send.message_id} "
                            f"is missing ({stored or 'no file recorded'})")
        elif not same_file(stored, send.sha256):
            problems.append(f"{send.reference} ({send.account_id}): the archived {send.channel} message "
                            f"{send.message_id} differs from the ledger's SHA-256 ({stored})")
    for folder in day_folders(workspace, ledger, out):
        manifest = folder / "manifest.json"
        try:
            listed = read_manifest(manifest)
        except UserError as error:
            problems.append(str(error))
            continue
        for row in listed:
            known = by_reference.get(row["reference"])
            if known is None:
                problems.append(f"{manifest}: {row['reference']} is not in the ledger")
            elif known.status not in SENT:
                problems.append(f"{manifest}: {row['reference']} is {known.status} in the ledger")
            elif row.get("sha256") != known.pdf_sha256:
                problems.append(f"{manifest}: {row['reference']} has another SHA-256 than in the ledger")
        names = {row["reference"] for row in listed}
        for letter in letters:
            if letter.status in SENT and letter.pdf_file and letter.reference not in names and \
                    workspace_file(workspace.path, letter.pdf_file).parent.parent == folder:
                problems.append(f"{manifest}: does not list {letter.reference}, issued that day")
    finished = [d.day for d in ledger.days() if d.completed_at is not None]
    last = max(finished, default=None)
    for letter in letters:
        if letter.status == LetterStatus.RESERVED:
            problems.append(f"{letter.reference} ({letter.account_id}): reserved on {letter.reserved_on} by a run "
                            "that did not finish; the next batch completes or voids it")
        elif letter.status == LetterStatus.PLANNED and last is not None and letter.planned_on < last:
            problems.append(f"letter {letter.id} ({letter.kind.value} for {letter.account_id}): planned for "
                            f"{letter.planned_on.isoformat()}, a day already run, and neither issued nor cancelled")
    return problems


def _history_numbers(workspace: Workspace) -> dict[tuple[LetterKind, int], set[int]]:
    return numbers_used_elsewhere(workspace, workspace.load_data(), {})


@dataclass(frozen=True)
class RebuildReport:
    recovered: tuple[str, ...]
    voided: tuple[str, ...]
    problems: tuple[str, ...]
    moved_aside: Path | None


def rebuild_ledger(workspace: Workspace, now: Callable[[], datetime], out: Path | None = None) -> RebuildReport:
    """Reconstruct the ledger from the day folders' manifests and the archive's records: every
    issued letter with its reference, SHA-256, clause versions and amounts; numbers missing between
    them are recorded as void, so that none is ever given again. A damaged ledger is moved aside
    first; letters the ledger already knows are kept as they are."""
    path = workspace.path / LEDGER_FILE
    moved = None
    try:
        ledger = open_ledger(workspace.path, now)
        if ledger.integrity_problems():
            ledger.close()
            raise LedgerError(f"{path}: damaged", damaged=True)
    except LedgerError as error:
        if not error.damaged:
            raise
        moved = path.with_name(f"{LEDGER_FILE}.damaged-{now():%Y%m%dT%H%M%S}")
        path.rename(moved)
        for side in ("-wal", "-shm"):
            path.with_name(LEDGER_FILE + side).unlink(missing_ok=True)
        ledger = open_ledger(workspace.path, now)
    try:
        return _rebuild(workspace, ledger, out, moved)
    finally:
        ledger.close()


def _rebuild(workspace: Workspace, ledger: Ledger, out: Path | None, moved: Path | None) -> RebuildReport:
    policy = workspace.config.policy
    known = {l.reference for l in ledger.letters() if l.reference}
    records = {r["reference"]: r for r in archived_records(workspace.path)}
    problems: list[str] = []
    found: dict[str, dict[str, Any]] = {}
    for folder in day_folders(workspace, ledger, out):
        for row in read_manifest(folder / "manifest.json"):
            found[row["reference"]] = {**records.get(row["reference"], {}), **row,
                                       "file": str(folder.parent / row["file"])}
    for reference, record in records.items():
        found.setdefault(reference, record)
    letters: list[RebuiltLetter] = []
    for reference, row in sorted(found.items()):
        if reference in known:
            continue
        try:
            letters.append(_rebuilt(workspace, row, policy))
        except (KeyError, ValueError, InvalidOperation) as error:
            problems.append(f"{reference}: cannot be recovered ({type(error).__name__}: {error})")
    used = {key: set(taken) for key, taken in ledger.numbers().items()}
    for letter in letters:
        used.setdefault((letter.kind, letter.year), set()).add(letter.number)
    voided = []
    for (kind, year), taken in sorted(used.items()):
        for number in range(min(taken), max(taken)):
            if number not in taken:
                reference = policy.reference(kind.value, year, number)
                voided.append(RebuiltLetter("", kind, LetterStatus.CANCELLED, date(year, 1, 1), reference, year, number,
                                            note="no letter with this number was found: void"))
    ledger.add_rebuilt(letters + voided, "recovered from the day folders and the archive")
    for folder in day_folders(workspace, ledger, out):
        try:
            day = date.fromisoformat(folder.name)
        except ValueError:
            continue
        ledger.begin_day(day, stored_path(workspace.path, folder.parent))
        ledger.complete_day(day)
    return RebuildReport(tuple(l.reference for l in letters), tuple(v.reference for v in voided), tuple(problems),
                         moved)


def _rebuilt(workspace: Workspace, row: dict[str, Any], policy: Any) -> RebuiltLetter:
    kind = LetterKind(row["kind"])
    issued_on = date.fromisoformat(row["issued_on"])
    reference = row["reference"]
    for year in (issued_on.year, issued_on.year - 1):
        number = policy.reference_number(kind.value, year, reference)
        if number is not None:
            break
    else:
        raise ValueError(f"does not follow the {kind.value} reference pattern {policy.pattern(kind.value)!r}")
    sha256 = row.get("sha256") or ""
    file = Path(row["file"]) if row.get("file") else None
    if file is not None and not file.is_absolute():
        file = workspace.path / file
    notes = []
    if not same_file(archive_path(workspace.path, sha256), sha256):
        notes.append("its archived bytes are missing or differ")
    if file is None or not same_file(file, sha256):
        notes.append("its day-folder file is missing or differs")
    stored = stored_path(workspace.path, file) if file is not None else None
    principal, late_fees, total = (Decimal(row[k]) if row.get(k) not in (None, "", "None") else None
                                   for k in ("principal", "late_fees", "total"))
    clauses = row["clauses"].split() if isinstance(row.get("clauses"), str) else row.get("clauses") or ()
    return RebuiltLetter(
        row["account_id"], kind, LetterStatus.ISSUED, issued_on, reference, year, number, group=row.get("group", ""),
        issued_on=issued_on, deadline=date.fromisoformat(row["deadline"]) if row.get("deadline") else None,
        principal=principal, late_fees=late_fees, total=total, clauses=tuple(clauses), pdf_sha256=sha256 or None,
        pdf_file=stored, snapshot=_snapshot_text(row.get("snapshot")), note="; ".join(notes))


def _snapshot_text(snapshot: object) -> str | None:
    """The snapshot an archive record keeps (its JSON, read as an object), as the ledger stores it."""
    if snapshot is None or isinstance(snapshot, str):
        return snapshot or None
    return json.dumps(snapshot, ensure_ascii=False)
