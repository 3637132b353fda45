"""Issuing a day's letters in the ledger: the plan kept, today's letters checked again against
today's data (cancelled with the reason, or reserved a reference number), and a made letter
recorded as issued only once its bytes are archived and read back."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from letterforge.archive import archive_letter, archive_path, stored_path
from letterforge.dayplan import DayPlan, recheck
from letterforge.diagnostics import UserError
from letterforge.ledger import Ledger, LedgerLetter
from letterforge.outputs import delivery_order, letter_file, pending_file
from letterforge.permissions import write_atomic
from letterforge.records import LetterStatus
from letterforge.recovery import issued_in_day_folders, numbers_used_elsewhere
from letterforge.sealing import seal_issued
from letterforge.validation import DebtorData
from letterforge.workspace import Workspace


def record_plan(ledger: Ledger, day_plan: DayPlan) -> None:
    """The plan's new letters added to the ledger as planned, and the planned letters it moved."""
    placed = [l for l in day_plan.plan.letters if l.new]
    ledger.add_planned([(l.account_id, l.kind, l.issue_on, l.group) for l in placed if l.letter_id is None])
    by_id = {l.id: l for l in ledger.letters(status=LetterStatus.PLANNED)}
    ledger.move_planned([(by_id[l.letter_id], l.issue_on) for l in placed
                         if l.letter_id in by_id and by_id[l.letter_id].planned_on != l.issue_on])


@dataclass(frozen=True)
class Recheck:
    """Today's letters after the re-check: those to make now (reserved, in delivery order), and those
    that do not go out, with the reason."""

    reserved: tuple[LedgerLetter, ...]
    cancelled: tuple[tuple[LedgerLetter, str], ...]
    skipped: tuple[tuple[LedgerLetter, str], ...]


def reserve_due(workspace: Workspace, data: DebtorData, ledger: Ledger, day_plan: DayPlan, as_of: date, out: Path,
                waiting: set[int]) -> Recheck:
    """Today's letters against today's data: paid or on hold since -> cancelled with the reason
    (a reserved number is voided, not lost); still due -> reserved a reference number. `waiting`:
    letters of past days that found no room within the horizon."""
    due = [l for l in ledger.letters(status=LetterStatus.PLANNED, planned_until=as_of) if l.id not in waiting]
    due += ledger.letters(status=LetterStatus.RESERVED)
    keep: list[LedgerLetter] = []
    cancelled: list[tuple[LedgerLetter, str]] = []
    skipped: list[tuple[LedgerLetter, str]] = []
    for letter, verdict in recheck(workspace.config, data, day_plan, due, as_of):
        if verdict is None:
            keep.append(letter)
        elif verdict[0] == "skip":
            skipped.append((letter, verdict[1]))
        else:
            ledger.cancel(letter, verdict[1])
            cancelled.append((letter, verdict[1]))
    for letter in keep:
        # A letter reserved by a run that died on an earlier day may have left an unrecorded PDF there.
        if letter.reserved_on is not None and letter.reserved_on != as_of:
            letter_file(out / letter.reserved_on.isoformat(), letter).unlink(missing_ok=True)
    keep = delivery_order(keep, data)
    planned = [l for l in keep if l.status == LetterStatus.PLANNED]
    reserved = reserve_numbers(workspace, data, ledger, planned, as_of, out)
    return Recheck(tuple([l for l in keep if l.status == LetterStatus.RESERVED] + reserved), tuple(cancelled), tuple(skipped))


def reserve_numbers(workspace: Workspace, data: DebtorData, ledger: Ledger, planned: list[LedgerLetter],
                    as_of: date, out: Path) -> list[LedgerLetter]:
    """The next reference numbers of the series for `planned`, going on after the numbers that
    letters outside the ledger used this year (the history file, day folders): the batch and a
    clerk's letter alike, so no number is given twice and the series has no holes."""
    policy = workspace.config.policy
    used_before = {kind: max(numbers) for (kind, year), numbers in
                   numbers_used_elsewhere(workspace, data, issued_in_day_folders(workspace, ledger, out)).items()
                   if year == as_of.year and numbers}
    return ledger.reserve_references(planned, lambda kind, year, number: policy.reference(kind.value, year, number),
                                     as_of, used_before)


def record_issue(workspace: Workspace, ledger: Ledger, letter: LedgerLetter, as_of: date, content: bytes,
                 facts: dict[str, Any], file: Path | None, suffix: str = ".pdf", **extra: str) -> bytes:
    """Sign the letter where `[signing]` says, archive its bytes with its record, read them back, then
    mark it issued: never a letter recorded as issued without its archived bytes. `file` is its
    day-folder copy, if any. Returns the issued bytes (signed or not)."""
    if hashlib.sha256(content).hexdigest() != facts["sha256"]:
        raise UserError(f"{letter.reference}: the rendered file changed before it was archived")
    signed = seal_issued(workspace.path, workspace.config.signing, letter.kind.value, as_of, content)
    if signed is not content:
        content, facts = signed, {**facts, "sha256": hashlib.sha256(signed).hexdigest()}
        if file is not None:
            write_atomic(file, content)
    stored = stored_path(workspace.path, file if file is not None else
                         archive_path(workspace.path, facts["sha256"], suffix))
    record = {"reference": letter.reference, "account_id": letter.account_id, "kind": letter.kind.value,
              "group": letter.group, "issued_on": as_of.isoformat(), "deadline": facts["deadline"].isoformat(),
              "principal": str(facts["principal"]), "late_fees": str(facts["late_fees"]),
              "total": str(facts["total"]), "clauses": facts["clauses"], "sha256": facts["sha256"],
              "file": stored, "snapshot": json.loads(facts["snapshot"]), **extra}
    archive_letter(workspace.path, content, record, suffix)
    ledger.mark_issued(letter, as_of, facts["deadline"], facts["principal"], facts["late_fees"], facts["total"],
                       facts["clauses"], facts["sha256"], stored, facts["snapshot"])
    return content


def issue_letter(workspace: Workspace, ledger: Ledger, letter: LedgerLetter, folder: Path, as_of: date,
                 facts: dict[str, Any]) -> LedgerLetter:
    """A letter a worker made into the day folder's pending file: archived and read back, given its
    final name, then recorded as issued. A crash between any two steps leaves it reserved, and the
    next run makes it again."""
    pending, final = pending_file(folder, letter), letter_file(folder, letter)
    content = pending.read_bytes()
    os.replace(pending, final)
    record_issue(workspace, ledger, letter, as_of, content, facts, final)
    return ledger.letter(letter.reference or "")
