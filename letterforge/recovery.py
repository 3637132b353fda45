"""What keeps a day safe to run and to run again: one batch per workspace (its lock), the refusals
before anything is issued (days in order, no letter the ledger does not know, no holes in a
reference series), and the reference numbers used outside the ledger (history file, day folders)."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from letterforge.archive import ARCHIVE_DIR, archive_has_letters
from letterforge.diagnostics import UserError
from letterforge.ledger import Ledger
from letterforge.outputs import read_manifest
from letterforge.records import LetterKind
from letterforge.sealing import check_signing_keys
from letterforge.validation import DebtorData
from letterforge.workspace import Workspace

LOCK_FILE = ".letterforge.lock"



@contextmanager
def workspace_lock(workspace: Workspace) -> Iterator[None]:
    """One batch per workspace at a time; a second one is refused at once."""
    path = workspace.path / LOCK_FILE
    try:
        handle = open(path, "a+")
    except OSError as error:
        raise UserError(f"{path}: cannot create the batch's lock file ({error.strerror}): the workspace folder "
                        "must be writable for a batch") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"another batch is running on this workspace ({path} is locked); "
                            "try again when it has finished") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def refuse_unsafe_day(workspace: Workspace, ledger: Ledger, data: DebtorData, as_of: date, out: Path) -> None:
    """Before anything is issued: days in order, no letter the ledger does not know about, reference
    series without holes, and signing keys that open and are valid on the day. Each refusal says
    what to do."""
    # The last day run, or the last day a letter was issued (a ledger from before days were kept,
    # or rebuilt from the archive alone).
    last = max([d.day for d in ledger.days()] + [l.issued_on for l in ledger.letters() if l.issued_on],
               default=None)
    if last is not None and as_of < last:
        raise UserError(
            f"{as_of.isoformat()} comes before {last.isoformat()}, the last day the batch ran on this ledger: "
            "days are issued once and in order, and the letters of a missed day were planned again into the "
            "days that followed. Nothing was issued. Run today's date (`letterforge ledger list` shows what "
            "went out).")
    issued = issued_in_day_folders(workspace, ledger, out)
    known = {l.reference for l in ledger.letters() if l.reference}
    unknown = {ref: str(listed.manifest) for ref, listed in issued.items() if ref not in known}
    if unknown or (not known and archive_has_letters(workspace.path)):
        where = sorted(set(unknown.values())) or [str(workspace.path / ARCHIVE_DIR)]
        raise UserError(
            f"the ledger {ledger.path} does not know {len(unknown) or 'the'} letter(s) already issued "
            f"(listed in {', '.join(where[:3])}{' …' if len(where) > 3 else ''}): it was lost, replaced or "
            "restored from an older copy, and issuing now would send letters again under numbers already "
            "printed. Nothing was issued. Run `letterforge ledger rebuild` to recover it from the day folders "
            "and the archive, then run the batch again.")
    problems = ledger.series_problems(numbers_used_elsewhere(workspace, data, issued))
    if problems:
        raise UserError(f"the ledger {ledger.path} has holes in its reference series; nothing was issued "
                        "(`letterforge ledger check` lists every problem): " + "; ".join(problems))
    check_signing_keys(workspace.path, workspace.config.signing, as_of)


@dataclass(frozen=True)
class ListedLetter:
    """A letter as a day folder's manifest lists it."""

    reference: str
    kind: LetterKind
    issued_on: date
    manifest: Path


def issued_in_day_folders(workspace: Workspace, ledger: Ledger, out: Path) -> dict[str, ListedLetter]:
    """Letters listed in the manifests of day folders that the ledger does not record as
    finished (for a healthy ledger, none are read), by reference."""
    done = {d.day.isoformat() for d in ledger.days() if d.completed_at is not None}
    found: dict[str, ListedLetter] = {}
    for folder in sorted({out, workspace.path / "out"}):
        for manifest in sorted(folder.glob("*/manifest.json")) if folder.is_dir() else []:
            if manifest.parent.name in done:
                continue
            for row in read_manifest(manifest):
                found[row["reference"]] = ListedLetter(row["reference"], LetterKind(row["kind"]),
                                                       date.fromisoformat(row["issued_on"]), manifest)
    return found


def numbers_used_elsewhere(workspace: Workspace, data: DebtorData,
                            issued: dict[str, ListedLetter]) -> dict[tuple[LetterKind, int], set[int]]:
    """Reference numbers of the history file and of the day folders, by kind and year."""
    policy = workspace.config.policy
    seen = [(p.kind, p.issued_on.year, p.reference) for p in data.history if p.reference]
    seen += [(l.kind, l.issued_on.year, l.reference) for l in issued.values()]
    used: dict[tuple[LetterKind, int], set[int]] = {}
    for kind, year, reference in seen:
        for candidate in (year, year - 1):  # a letter reserved late in December keeps that year's number
            number = policy.reference_number(kind.value, candidate, reference)
            if number is not None:
                used.setdefault((kind, candidate), set()).add(number)
                break
    return used
