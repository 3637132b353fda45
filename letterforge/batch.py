"""The daily batch: decide who is due which letter, stagger the issue, render today's letters in
parallel, write the day's folder and record every letter in the ledger as it becomes final."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from letterforge.archive import (ARCHIVE_DIR, archive_has_letters, archive_letter, archive_path, archived_file,
                                 same_file, stored_path, workspace_file)
from letterforge.diagnostics import UserError
from letterforge.filenames import letter_file_name, path_inside
from letterforge.escalation import Decision, SentLetter, decide_letter, history_deadline
from letterforge.executors import Executor, LocalExecutor, Renderer, RenderTask, StopRequest, render_pdf
from letterforge.calendars import is_working_day
from letterforge.ledger import SENT, Hold, Ledger, LedgerError, LedgerLetter, open_ledger, read_ledger
from letterforge.outputs import write_atomic, write_batch_files, write_rejects
from letterforge.planning import Candidate, Plan, PlannedLetter, plan_issue
from letterforge.records import Account, DebtorCategory, LetterKind, PriorLetter
from letterforge.statements import LimitationFlag, Statement, limitation_flags, limitation_summary, limitation_years
from letterforge.validation import DebtorData
from letterforge.workspace import Workspace

log = logging.getLogger(__name__)
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


def sent_letters(data: DebtorData, ledger: Ledger, workspace: Workspace) -> dict[str, list[SentLetter]]:
    """Every letter that went out, per account: the history file's and the ledger's."""
    config = workspace.config
    sent: dict[str, list[SentLetter]] = {}
    for prior in data.history:
        account = data.account(prior.account_id)
        category = account.category if account else DebtorCategory.UNKNOWN
        sent.setdefault(prior.account_id, []).append(SentLetter(
            prior.account_id, prior.kind, prior.issued_on,
            history_deadline(prior.kind, prior.issued_on, category, config), prior.reference or "(history)"))
    for letter in ledger.letters():
        if letter.status in SENT and letter.issued_on and letter.deadline:
            sent.setdefault(letter.account_id, []).append(SentLetter(
                letter.account_id, letter.kind, letter.issued_on, letter.deadline, letter.reference or ""))
    return sent


@dataclass(frozen=True)
class DayPlan:
    """What the plan says on an as-of date, and why."""

    plan: Plan
    decisions: dict[str, Decision]
    pending: dict[str, LedgerLetter]
    statements: dict[str, Statement]
    sent: dict[str, list[SentLetter]]
    holds: dict[str, Hold]
    issued_today: frozenset[int] = frozenset()  # ledger ids of the letters already issued on the day
    limitation: dict[str, tuple[LimitationFlag, ...]] = field(default_factory=dict)

    def due_on(self, day: date) -> list[PlannedLetter]:
        """The letters still to go out on a day (not those an earlier run of it issued)."""
        return [l for l in self.plan.on(day) if l.letter_id not in self.issued_today]


def _group(account: Account) -> str:
    # Accounts without a building or group are nobody's neighbours: each is a group of its own.
    return account.building or f"({account.account_id})"


def plan_letters(workspace: Workspace, data: DebtorData, ledger: Ledger, as_of: date,
                 horizon: int | None = None) -> DayPlan:
    """Escalation for every account without a letter in the pipeline, then the staggered plan.

    Letters already planned keep their day; a planned letter whose day passed without a batch
    is placed again first, under the same caps.
    """
    from letterforge.pipeline import compute_statements

    statements = {s.account.account_id: s for s in compute_statements(workspace, (), as_of, data)}
    sent = sent_letters(data, ledger, workspace)
    holds = ledger.holds()
    in_pipeline = [letter for letter in ledger.letters() if letter.status in ("planned", "reserved")]
    pending = {letter.account_id: letter for letter in in_pipeline}
    decisions: dict[str, Decision] = {}
    candidates: list[Candidate] = []
    for account_id, statement in statements.items():
        if account_id in pending:
            continue
        if account_id in data.accounts_with_rejected_rows:
            decisions[account_id] = Decision(account_id, None, (
                "Some of its data rows were rejected today (see `letterforge validate`): no letter goes out "
                "until they are fixed, since its amounts would be wrong.",))
            continue
        hold = holds.get(account_id)
        decision = decide_letter(statement, sent.get(account_id, []), workspace.config, as_of,
                                 (hold.until, hold.reason) if hold else None)
        decisions[account_id] = decision
        if decision.kind is not None and statement.oldest_due_date is not None:
            candidates.append(Candidate(account_id, decision.kind, _group(statement.account), statement.total,
                                        statement.oldest_due_date))
    # A day's caps count the letters it already issued (an earlier run of the same day) as well
    # as those planned or reserved for it: a rerun never refills a day.
    issued_today = [l for l in ledger.letters() if l.status in SENT and l.issued_on == as_of]
    # Reserved letters (left by a run that stopped) go out today whatever the caps, since their
    # numbers are taken; letters planned for today or a day that passed are placed again under the
    # caps, the older first, so that a day completed late never exceeds its caps.
    existing = [PlannedLetter(l.account_id, l.kind, l.group, as_of, new=False, letter_id=l.id)
                for l in [*issued_today, *(l for l in in_pipeline if l.status == "reserved")]]
    existing += [PlannedLetter(l.account_id, l.kind, l.group, l.planned_on, new=False, letter_id=l.id)
                 for l in in_pipeline if l.status == "planned" and l.planned_on > as_of]
    overdue = [Candidate(l.account_id, l.kind, l.group, statements[l.account_id].total,
                         statements[l.account_id].oldest_due_date or l.planned_on, l.id)
               for l in in_pipeline if l.status == "planned" and l.planned_on <= as_of and l.account_id in statements]
    since = as_of - timedelta(days=workspace.config.policy.lawyer_wave_gap_days)
    lawyer_before = sum(1 for letters in sent.values() for letter in letters
                        if letter.kind is LetterKind.LAWYER and since < letter.issued_on < as_of)
    plan = plan_issue(candidates, existing, workspace.config.policy, workspace.config.region, as_of,
                      lawyer_before, horizon, overdue)
    years = limitation_years(workspace.config)
    limitation = {account_id: flags for account_id, statement in statements.items()
                  if (flags := limitation_flags((line.item for line in statement.lines),
                                                (letter.issued_on for letter in sent.get(account_id, [])), as_of, years))}
    return DayPlan(plan, decisions, pending, statements, sent, holds, frozenset(l.id for l in issued_today),
                   limitation)


def explain(day_plan: DayPlan, account_id: str) -> str:
    """Why the account gets which letter (or none) on the date, in words."""
    planned = next((l for l in day_plan.plan.letters if l.account_id == account_id), None)
    if account_id in day_plan.pending:
        letter = day_plan.pending[account_id]
        return (f"{account_id}: a {letter.kind.value} letter is already planned for {letter.planned_on.isoformat()} "
                f"({letter.status}); it is checked again against the data on that day.")
    if account_id not in day_plan.decisions:
        raise UserError(f"unknown account: {account_id}")
    text = day_plan.decisions[account_id].explanation
    if planned is not None:
        text += f" Planned for {planned.issue_on.isoformat()} (staggered issue)."
    elif day_plan.decisions[account_id].kind is not None:
        text += " No day within the planning horizon has room for it yet."
    if account_id in day_plan.limitation:
        text += " " + limitation_summary(day_plan.limitation[account_id])
    return text


def record_issue(workspace: Workspace, ledger: Ledger, letter: LedgerLetter, as_of: date, content: bytes,
                 facts: dict[str, Any], file: Path | None, suffix: str = ".pdf", **extra: str) -> None:
    """Archive the letter's bytes with its record, read them back, then mark it issued: never a
    letter recorded as issued without its archived bytes. `file` is its day-folder copy, if any."""
    if hashlib.sha256(content).hexdigest() != facts["sha256"]:
        raise UserError(f"{letter.reference}: the rendered file changed before it was archived")
    stored = stored_path(workspace.path, file if file is not None else
                         archive_path(workspace.path, facts["sha256"], suffix))
    record = {"reference": letter.reference, "account_id": letter.account_id, "kind": letter.kind.value,
              "group": letter.group, "issued_on": as_of.isoformat(), "deadline": facts["deadline"].isoformat(),
              "principal": str(facts["principal"]), "late_fees": str(facts["late_fees"]),
              "total": str(facts["total"]), "clauses": facts["clauses"], "sha256": facts["sha256"],
              "file": stored, "snapshot": facts["snapshot"], **extra}
    archive_letter(workspace.path, content, record, suffix)
    ledger.mark_issued(letter, as_of, facts["deadline"], facts["principal"], facts["late_fees"], facts["total"],
                       facts["clauses"], facts["sha256"], stored, facts["snapshot"])


def earlier_letters(ledger: Ledger, account_id: str, before: date) -> tuple[PriorLetter, ...]:
    """Letters the ledger says went out to the account before a date, as a letter cites them."""
    return tuple(PriorLetter(l.account_id, l.kind, l.issued_on, l.reference or "")
                 for l in ledger.letters(account_id=account_id)
                 if l.status in SENT and l.issued_on is not None and l.issued_on < before)


# -- the batch -----------------------------------------------------------------------------------

@dataclass
class BatchReport:
    as_of: date
    folder: Path
    dry_run: bool
    working_day: bool = True
    issued: list[LedgerLetter] = field(default_factory=list)
    cancelled: list[tuple[LedgerLetter, str]] = field(default_factory=list)
    skipped: list[tuple[LedgerLetter, str]] = field(default_factory=list)
    failed: list[tuple[LedgerLetter, str]] = field(default_factory=list)
    due_today: list[PlannedLetter] = field(default_factory=list)
    planned_later: int = 0
    rejected_rows: int = 0
    files: list[Path] = field(default_factory=list)
    already_complete: bool = False  # the day had been issued in full by an earlier run
    left: int = 0  # letters of the day not issued because the run was stopped
    interrupted: int | None = None  # the signal that stopped the run (SIGTERM, SIGINT)
    stopped_by: str = ""  # an environment failure that stopped the run (full disk, unwritable folder)
    problems: list[str] = field(default_factory=list)  # found on the way, for a person to look at

    def counts(self) -> dict[str, Counter[str]]:
        return {
            "issued": Counter(l.kind.value for l in self.issued),
            "cancelled": Counter(l.kind.value for l, _ in self.cancelled),
            "skipped": Counter(l.kind.value for l, _ in self.skipped),
            "failed": Counter(l.kind.value for l, _ in self.failed),
        }

    @property
    def ok(self) -> bool:
        return (not self.failed and not self.rejected_rows and not self.stopped_by and not self.problems
                and self.interrupted is None)

    @property
    def exit_code(self) -> int:
        """0 done; 1 problems to look at (failed letters, rejected rows, a full disk); 128 + the
        signal when stopped (130 Ctrl-C, 143 SIGTERM): the next run completes the day."""
        if self.interrupted is not None:
            return 128 + self.interrupted
        return 0 if self.ok else 1


@contextmanager
def _stop_on_signals() -> Iterator[StopRequest]:
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def request(signum: int, _frame: Any) -> None:
        stop.signal = signum
        log.warning("%s received: finishing the letters in hand, then stopping", signal.Signals(signum).name)

    previous = {signum: signal.signal(signum, request) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _letter_file(folder: Path, letter: LedgerLetter) -> Path:
    return path_inside(folder / "letters", letter_file_name(letter.kind.value, letter.account_id, "pdf"))


def _pending_file(folder: Path, letter: LedgerLetter) -> Path:
    return path_inside(folder / "letters" / ".pending", letter_file_name(letter.kind.value, letter.account_id, "pdf"))


def run_batch(
    workspace: Workspace,
    as_of: date,
    out: Path,
    jobs: int,
    now: Callable[[], datetime],
    dry_run: bool = False,
    progress: Callable[[LedgerLetter], None] | None = None,
    renderer: Renderer = render_pdf,
    executor: Executor | None = None,
) -> BatchReport:
    """One day's batch. A day is issued once and days in order: a rerun of a finished day issues
    nothing, a rerun after a crash or a stop completes the day under the same caps, re-checked
    against today's data, and a day earlier than the last one run is refused. The letters are
    rendered by `executor`, by default `jobs` local worker processes with `renderer`."""
    out = out.resolve()
    folder = out / as_of.isoformat()
    report = BatchReport(as_of, folder, dry_run, is_working_day(as_of, workspace.config.region))
    if dry_run:
        data = workspace.load_data()
        ledger = read_ledger(workspace.path)
        try:
            day_plan = plan_letters(workspace, data, ledger, as_of)
            report.already_complete = any(d.day == as_of and d.completed_at for d in ledger.days())
        finally:
            ledger.close()
        report.rejected_rows = len(data.rejects)
        report.due_today = day_plan.due_on(as_of) if report.working_day and not report.already_complete else []
        report.planned_later = sum(1 for l in day_plan.plan.letters if l.issue_on > as_of)
        return report
    with workspace_lock(workspace), _stop_on_signals() as stop:
        data = workspace.load_data()
        report.rejected_rows = len(data.rejects)
        if data.rejects:
            report.files.extend(write_rejects(data.rejects, folder / "rejects"))
        if not report.working_day:
            return report  # letters go out on working days only; cron may run every day
        ledger = open_ledger(workspace.path, now)
        try:
            refuse_unsafe_day(workspace, ledger, data, as_of, out)
            _check_writable(folder)
            ledger.begin_day(as_of, stored_path(workspace.path, out))
            day = next(d for d in ledger.days() if d.day == as_of)
            if day.completed_at is not None:
                report.already_complete = True
                report.planned_later = sum(1 for l in ledger.letters(status="planned") if l.planned_on > as_of)
            else:
                _issue_day(workspace, ledger, data, as_of, out, report, progress,
                           executor or LocalExecutor(workspace.path, jobs, renderer), stop)
            report.files.extend(_write_day_files(workspace, ledger, out, data, report))
            if report.ok and not report.already_complete:
                ledger.complete_day(as_of)
        finally:
            ledger.close()
    return report


def _issue_day(workspace: Workspace, ledger: Ledger, data: DebtorData, as_of: date, out: Path,
               report: BatchReport, progress: Callable[[LedgerLetter], None] | None, executor: Executor,
               stop: StopRequest) -> None:
    day_plan = plan_letters(workspace, data, ledger, as_of)
    report.due_today = day_plan.due_on(as_of)
    report.planned_later = sum(1 for l in day_plan.plan.letters if l.issue_on > as_of)
    placed = [l for l in day_plan.plan.letters if l.new]
    ledger.add_planned([(l.account_id, l.kind, l.issue_on, l.group) for l in placed if l.letter_id is None])
    by_id = {l.id: l for l in ledger.letters(status="planned")}
    ledger.move_planned([(by_id[l.letter_id], l.issue_on) for l in placed
                         if l.letter_id in by_id and by_id[l.letter_id].planned_on != l.issue_on])
    if stop.requested:
        report.interrupted = stop.signal
        return
    # Letters of past days that found no room within the horizon wait for a later run.
    waiting = {c.letter_id for c in day_plan.plan.unplaced if c.letter_id is not None}
    to_render = _recheck(workspace, data, ledger, day_plan, as_of, out, report, waiting)
    _render_all(workspace, ledger, to_render, as_of, out / as_of.isoformat(), report, progress, executor, stop)
    report.interrupted = stop.signal
    report.stopped_by = stop.reason


def _check_writable(folder: Path) -> None:
    """The day's folder must take files before any number is reserved for a letter."""
    try:
        write_atomic(folder / "letters" / ".pending" / ".probe", b"")
        (folder / "letters" / ".pending" / ".probe").unlink()
    except OSError as error:
        raise UserError(f"{folder}: the output folder cannot be written ({error.strerror or error}); choose another "
                        "with --out or give letterforge write access to it. Nothing was issued.") from None


def refuse_unsafe_day(workspace: Workspace, ledger: Ledger, data: DebtorData, as_of: date, out: Path) -> None:
    """Before anything is issued: days in order, no letter the ledger does not know about, and
    reference series without holes. Each refusal says what to do."""
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


def read_manifest(path: Path) -> list[dict[str, Any]]:
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UserError(f"{path}: cannot read this day's manifest ({error}); restore it or move it aside") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and r.get("reference") and r.get("kind") in
                                             set(LetterKind) for r in rows):
        raise UserError(f"{path}: not a letterforge manifest; restore it or move it aside")
    return rows


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


def _no_longer_due(letter: LedgerLetter, statement: Statement | None, data: DebtorData, decision: Decision | None,
                   held: bool) -> tuple[str, str] | None:
    """Why a letter planned for today should not go out: ("cancel" | "skip", reason), or None."""
    if statement is None:
        return "cancel", "the account is no longer in the data"
    if letter.account_id in data.accounts_with_rejected_rows:
        return "skip", "some of its data rows were rejected today; it waits until they are fixed"
    assert decision is not None
    if not statement.lines or held:
        return "cancel", " ".join(decision.reasons)
    if decision.kind is not None and decision.kind is not letter.kind:
        return "cancel", f"a {decision.kind.value} letter is due instead: " + " ".join(decision.reasons)
    # Otherwise the letter stays due, even if staggering moved it past a timing window
    # (a reminder pushed into the next month is still the reminder that was due).
    return None


def _recheck(workspace: Workspace, data: DebtorData, ledger: Ledger, day_plan: DayPlan, as_of: date, out: Path,
             report: BatchReport, waiting: set[int]) -> list[LedgerLetter]:
    """Today's letters against today's data: paid or on hold since -> cancelled with the reason
    (a reserved number is voided, not lost); still due -> reserved a reference number."""
    sent, holds = day_plan.sent, day_plan.holds
    due = [l for l in ledger.letters(status="planned", planned_until=as_of) if l.id not in waiting]
    due += ledger.letters(status="reserved")
    keep: list[LedgerLetter] = []
    for letter in due:
        statement = day_plan.statements.get(letter.account_id)
        decision, held = None, False
        if statement is not None:
            hold = holds.get(letter.account_id)
            decision = decide_letter(statement, sent.get(letter.account_id, []), workspace.config, as_of,
                                     (hold.until, hold.reason) if hold else None)
            held = statement.account.on_hold(as_of) or (hold is not None and as_of <= hold.until)
        verdict = _no_longer_due(letter, statement, data, decision, held)
        if verdict is None:
            keep.append(letter)
        elif verdict[0] == "skip":
            report.skipped.append((letter, verdict[1]))
        else:
            ledger.cancel(letter, verdict[1])
            report.cancelled.append((letter, verdict[1]))
    for letter in keep:
        # A letter reserved by a run that died on an earlier day may have left an unrecorded PDF there.
        if letter.reserved_on is not None and letter.reserved_on != as_of:
            _letter_file(out / letter.reserved_on.isoformat(), letter).unlink(missing_ok=True)
    order = {a.account_id: (a.building, a.address, a.account_id) for a in data.accounts}
    keep.sort(key=lambda l: order.get(l.account_id, ("", "", l.account_id)))
    policy = workspace.config.policy
    used_before = {kind: max(numbers) for (kind, year), numbers in
                   numbers_used_elsewhere(workspace, data, issued_in_day_folders(workspace, ledger, out)).items()
                   if year == as_of.year and numbers}
    planned = [l for l in keep if l.status == "planned"]
    reserved = ledger.reserve_references(planned, lambda kind, year, number: policy.reference(kind.value, year, number),
                                         as_of, used_before)
    return [l for l in keep if l.status == "reserved"] + reserved


_STOPS_THE_DAY = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM)


def _stops_the_day(error: BaseException) -> str:
    """The reason to stop issuing when an error will hit every letter that follows (full disk,
    read-only or unwritable folder, unusable ledger), else ''."""
    if isinstance(error, LedgerError):
        return str(error)
    if isinstance(error, OSError) and error.errno in _STOPS_THE_DAY:
        name = f"{error.filename}: " if error.filename else ""
        return (f"{name}{error.strerror or error}: free space or give letterforge write access, then run the "
                "batch again: it completes the day")
    return ""


def _render_all(workspace: Workspace, ledger: Ledger, letters: list[LedgerLetter], as_of: date, folder: Path,
                report: BatchReport, progress: Callable[[LedgerLetter], None] | None, executor: Executor,
                stop: StopRequest) -> None:
    tasks = [RenderTask(letter.id, letter.account_id, letter.kind, letter.reference or "", as_of,
                        str(_pending_file(folder, letter)), earlier_letters(ledger, letter.account_id, as_of))
             for letter in letters]
    if not tasks:
        return
    by_id = {letter.id: letter for letter in letters}

    def finish(letter: LedgerLetter, facts: dict[str, Any]) -> None:
        # The bytes are archived and read back, the PDF takes its final name, then the ledger
        # records it: a crash between any two steps leaves the letter reserved, and the next run
        # makes it again.
        pending, final = _pending_file(folder, letter), _letter_file(folder, letter)
        content = pending.read_bytes()
        os.replace(pending, final)
        record_issue(workspace, ledger, letter, as_of, content, facts, final)
        report.issued.append(ledger.letter(letter.reference or ""))
        if progress:
            progress(letter)

    def failed(letter: LedgerLetter, error: BaseException) -> None:
        message = str(error) if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
        log.error("letter %s for %s failed: %s", letter.reference, letter.account_id, message)
        report.failed.append((letter, message))
        stop.reason = stop.reason or _stops_the_day(error)
        if progress:
            progress(letter)

    def settle(letter: LedgerLetter, outcome: Callable[[], dict[str, Any]]) -> None:
        try:
            finish(letter, outcome())
        except Exception as error:  # one letter's failure must not stop the others
            failed(letter, error)

    started = 0
    for task, outcome in executor.run(tasks, stop):
        started += 1
        settle(by_id[task.letter_id], outcome)
    report.left = len(tasks) - started


def _limitation_notes(ledger: Ledger, letters: list[LedgerLetter], data: DebtorData, years: int) -> dict[str, str]:
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


def _write_day_files(workspace: Workspace, ledger: Ledger, out: Path, data: DebtorData,
                     report: BatchReport) -> list[Path]:
    """Print pack, manifest and follow-ups for every day whose files do not yet list all the
    letters the ledger says were issued that day (today, or a day a crashed run left unfinished)."""
    by_day: dict[date, list[LedgerLetter]] = {}
    for letter in ledger.letters():
        if letter.status in SENT and letter.issued_on and letter.pdf_file and \
                workspace_file(workspace.path, letter.pdf_file).is_relative_to(out):
            by_day.setdefault(letter.issued_on, []).append(letter)
    written: list[Path] = []
    for day, letters in sorted(by_day.items()):
        folder = out / day.isoformat()
        manifest = folder / "manifest.json"
        listed = {row["reference"] for row in read_manifest(manifest)} if manifest.is_file() else set()
        if listed != {l.reference for l in letters}:
            lost = _restore_from_archive(workspace, letters)
            if lost:
                report.problems.append(f"{folder}: the day's files cannot be written again: no intact copy of "
                                       f"{', '.join(lost)} is left (see `letterforge ledger check`)")
                continue
            try:
                written.extend(write_batch_files(folder, letters, data, workspace.path, _limitation_notes(
                    ledger, letters, data, limitation_years(workspace.config))))
            except OSError as error:
                reason = _stops_the_day(error)
                if not reason:
                    raise
                report.stopped_by = report.stopped_by or reason  # the next run writes them
    return written


def _restore_from_archive(workspace: Workspace, letters: list[LedgerLetter]) -> list[str]:
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

