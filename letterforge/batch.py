"""The daily batch: decide who is due which letter, stagger the issue, render today's letters in
parallel, write the day's folder and record every letter in the ledger as it becomes final."""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from letterforge.config import parse_config
from letterforge.diagnostics import UserError
from letterforge.escalation import Decision, SentLetter, decide_letter, history_deadline
from letterforge.calendars import is_working_day
from letterforge.ledger import SENT, Hold, Ledger, LedgerLetter, open_ledger, read_ledger
from letterforge.outputs import write_atomic, write_batch_files, write_rejects
from letterforge.planning import Candidate, Plan, PlannedLetter, plan_issue
from letterforge.records import Account, ArrearsItem, DebtorCategory, LetterKind, PriorLetter
from letterforge.statements import Statement
from letterforge.validation import DebtorData
from letterforge.workspace import Workspace

log = logging.getLogger(__name__)
LOCK_FILE = ".letterforge.lock"


@contextmanager
def workspace_lock(workspace: Workspace) -> Iterator[None]:
    """One batch per workspace at a time; a second one is refused at once."""
    path = workspace.path / LOCK_FILE
    with open(path, "a+") as handle:
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
    existing = [PlannedLetter(l.account_id, l.kind, l.group, max(l.planned_on, as_of), new=False, letter_id=l.id)
                for l in in_pipeline if l.status == "reserved" or l.planned_on >= as_of]
    overdue = [Candidate(l.account_id, l.kind, l.group, statements[l.account_id].total,
                         statements[l.account_id].oldest_due_date or l.planned_on, l.id)
               for l in in_pipeline if l.status == "planned" and l.planned_on < as_of and l.account_id in statements]
    since = as_of - timedelta(days=workspace.config.policy.lawyer_wave_gap_days)
    lawyer_before = sum(1 for letters in sent.values() for letter in letters
                        if letter.kind is LetterKind.LAWYER and since < letter.issued_on <= as_of)
    plan = plan_issue(candidates, existing, workspace.config.policy, workspace.config.region, as_of,
                      lawyer_before, horizon, overdue)
    return DayPlan(plan, decisions, pending, statements, sent, holds)


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
    return text


# -- rendering in worker processes ------------------------------------------------------------

_worker_factory: Any = None


def _start_worker(workspace_path: str, batch_pid: int | None = None) -> None:
    """Load data, clauses, templates and fonts once per worker."""
    global _worker_factory
    from letterforge.pipeline import LetterFactory

    if batch_pid is not None:
        threading.Thread(target=_exit_with_batch, args=(batch_pid,), daemon=True).start()
    _worker_factory = LetterFactory(Workspace.open(Path(workspace_path)))


def _exit_with_batch(batch_pid: int) -> None:
    # A killed batch (kill -9) cannot tell its workers; they notice it is gone and leave.
    while os.getppid() == batch_pid:
        time.sleep(0.5)
    os._exit(1)


@dataclass(frozen=True)
class RenderTask:
    letter_id: int
    account_id: str
    kind: LetterKind
    reference: str
    pending: str  # where the worker writes the PDF; the batch moves it into place when it records it
    earlier: tuple[PriorLetter, ...]  # the ledger's letters to this account, which the letter may cite


def _render_task(task: RenderTask, as_of: date) -> dict[str, Any]:
    factory = _worker_factory
    draft = factory.draft(task.account_id, task.kind, as_of, task.reference, earlier=task.earlier)
    content = factory.render(draft, "pdf").content
    write_atomic(Path(task.pending), content)
    statement = draft.statement
    return {
        "sha256": hashlib.sha256(content).hexdigest(),
        "deadline": draft.deadline,
        "principal": statement.principal,
        "late_fees": statement.late_fees + statement.compensation,
        "total": statement.total,
        "clauses": [f"{c['id']}@{c['version']}#{c['sha256']}" for c in draft.clause_versions],
        "snapshot": letter_snapshot(factory, draft, task.earlier),
    }


def letter_snapshot(factory: Any, draft: Any, earlier: tuple[PriorLetter, ...]) -> dict[str, Any]:
    """The inputs of one letter, kept in the ledger so that `reprint` can make it again."""
    workspace: Workspace = factory.workspace
    data: DebtorData = factory.data
    account_id = draft.account.account_id
    base_rates = workspace.base_rates
    history = [p for p in data.history if p.account_id == account_id] + list(earlier)
    return {
        "config": (workspace.path / "letterforge.toml").read_text(encoding="utf-8"),
        "account": {k: (v.isoformat() if isinstance(v, date) else str(v)) for k, v in asdict(draft.account).items()
                    if v is not None},
        "arrears": [{k: (v.isoformat() if isinstance(v, date) else str(v)) for k, v in asdict(item).items()}
                    for item in data.arrears_of(account_id)],
        "history": [{"account_id": p.account_id, "kind": p.kind.value, "issued_on": p.issued_on.isoformat(),
                     "reference": p.reference} for p in history],
        "base_rates": [[d.isoformat(), str(r)] for d, r in base_rates.changes] if base_rates else None,
        "kind": draft.kind.value, "issued_on": draft.issued_on.isoformat(), "reference": draft.reference,
    }


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

    def counts(self) -> dict[str, Counter[str]]:
        return {
            "issued": Counter(l.kind.value for l in self.issued),
            "cancelled": Counter(l.kind.value for l, _ in self.cancelled),
            "skipped": Counter(l.kind.value for l, _ in self.skipped),
            "failed": Counter(l.kind.value for l, _ in self.failed),
        }

    @property
    def ok(self) -> bool:
        return not self.failed and not self.rejected_rows


def _letter_file(folder: Path, letter: LedgerLetter) -> Path:
    return folder / "letters" / f"{letter.kind.value}-{letter.account_id}.pdf"


def _pending_file(folder: Path, letter: LedgerLetter) -> Path:
    return folder / "letters" / ".pending" / f"{letter.kind.value}-{letter.account_id}.pdf"


def run_batch(
    workspace: Workspace,
    as_of: date,
    out: Path,
    jobs: int,
    now: Callable[[], datetime],
    dry_run: bool = False,
    progress: Callable[[LedgerLetter], None] | None = None,
) -> BatchReport:
    """One day's batch. Idempotent: a rerun of the same day issues nothing new; a rerun after a
    crash completes what the crashed run had started, re-checked against today's data."""
    out = out.resolve()
    folder = out / as_of.isoformat()
    report = BatchReport(as_of, folder, dry_run, is_working_day(as_of, workspace.config.region))
    if dry_run:
        data = workspace.load_data()
        ledger = read_ledger(workspace.path)
        try:
            day_plan = plan_letters(workspace, data, ledger, as_of)
        finally:
            ledger.close()
        report.rejected_rows = len(data.rejects)
        report.due_today = day_plan.plan.on(as_of) if report.working_day else []
        report.planned_later = sum(1 for l in day_plan.plan.letters if l.issue_on > as_of)
        return report
    with workspace_lock(workspace):
        data = workspace.load_data()
        report.rejected_rows = len(data.rejects)
        if data.rejects:
            report.files.extend(write_rejects(data.rejects, folder / "rejects"))
        if not report.working_day:
            return report  # letters go out on working days only; cron may run every day
        ledger = open_ledger(workspace.path, now)
        try:
            day_plan = plan_letters(workspace, data, ledger, as_of)
            report.due_today = day_plan.plan.on(as_of)
            report.planned_later = sum(1 for l in day_plan.plan.letters if l.issue_on > as_of)
            placed = [l for l in day_plan.plan.letters if l.new]
            ledger.add_planned([(l.account_id, l.kind, l.issue_on, l.group) for l in placed if l.letter_id is None])
            by_id = {l.id: l for l in ledger.letters(status="planned")}
            ledger.move_planned([(by_id[l.letter_id], l.issue_on) for l in placed
                                 if l.letter_id is not None and l.letter_id in by_id])
            to_render = _recheck(workspace, data, ledger, day_plan, as_of, out, report)
            _render_all(workspace, ledger, to_render, as_of, folder, jobs, report, progress)
            report.files.extend(_write_day_files(ledger, out, data))
        finally:
            ledger.close()
    return report


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
             report: BatchReport) -> list[LedgerLetter]:
    """Today's letters against today's data: paid or on hold since -> cancelled with the reason
    (a reserved number is voided, not lost); still due -> reserved a reference number."""
    sent, holds = day_plan.sent, day_plan.holds
    due = ledger.letters(status="planned", planned_until=as_of) + ledger.letters(status="reserved")
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
    used_before: dict[LetterKind, int] = {}
    for prior in data.history:
        number = policy.reference_number(prior.kind.value, as_of.year, prior.reference)
        if number is not None:
            used_before[prior.kind] = max(used_before.get(prior.kind, 0), number)
    planned = [l for l in keep if l.status == "planned"]
    reserved = ledger.reserve_references(planned, lambda kind, year, number: policy.reference(kind.value, year, number),
                                         as_of, used_before)
    return [l for l in keep if l.status == "reserved"] + reserved


def _render_all(workspace: Workspace, ledger: Ledger, letters: list[LedgerLetter], as_of: date, folder: Path,
                jobs: int, report: BatchReport, progress: Callable[[LedgerLetter], None] | None) -> None:
    tasks = [(letter, RenderTask(letter.id, letter.account_id, letter.kind, letter.reference or "",
                                 str(_pending_file(folder, letter)), earlier_letters(ledger, letter.account_id, as_of)))
             for letter in letters]
    if not tasks:
        return

    def finish(letter: LedgerLetter, result: dict[str, Any]) -> None:
        # The PDF takes its final name, then the ledger records it: a crash between the two
        # leaves the letter reserved, and the next run makes it again.
        final = _letter_file(folder, letter)
        os.replace(_pending_file(folder, letter), final)
        ledger.mark_issued(letter, as_of, result["deadline"], result["principal"], result["late_fees"],
                           result["total"], result["clauses"], result["sha256"], str(final), result["snapshot"])
        report.issued.append(ledger.letter(letter.reference or ""))
        if progress:
            progress(letter)

    def failed(letter: LedgerLetter, error: BaseException) -> None:
        message = str(error) if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
        log.error("letter %s for %s failed: %s", letter.reference, letter.account_id, message)
        report.failed.append((letter, message))
        if progress:
            progress(letter)

    if jobs <= 1:
        _start_worker(str(workspace.path))
        for letter, task in tasks:
            try:
                finish(letter, _render_task(task, as_of))
            except Exception as error:  # one letter's failure must not stop the others
                failed(letter, error)
        return
    # Fresh worker processes (spawned, not forked): they inherit neither the workspace lock nor
    # the ledger's connection, and they exit when the batch dies.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_start_worker,
                             initargs=(str(workspace.path), os.getpid())) as pool:
        futures = {pool.submit(_render_task, task, as_of): letter for letter, task in tasks}
        for future in as_completed(futures):
            letter = futures.pop(future)  # keep no finished results: memory stays flat
            try:
                finish(letter, future.result())
            except Exception as error:
                failed(letter, error)


def _write_day_files(ledger: Ledger, out: Path, data: DebtorData) -> list[Path]:
    """Print pack, manifest and follow-ups for every day whose files do not yet list all the
    letters the ledger says were issued that day (today, or a day a crashed run left unfinished)."""
    by_day: dict[date, list[LedgerLetter]] = {}
    for letter in ledger.letters():
        if letter.status in SENT and letter.issued_on and letter.pdf_file and Path(letter.pdf_file).is_relative_to(out):
            by_day.setdefault(letter.issued_on, []).append(letter)
    written: list[Path] = []
    for day, letters in sorted(by_day.items()):
        folder = out / day.isoformat()
        manifest = folder / "manifest.json"
        listed = {row["reference"] for row in json.loads(manifest.read_text(encoding="utf-8"))} if manifest.is_file() else set()
        if listed != {l.reference for l in letters}:
            written.extend(write_batch_files(folder, letters, data))
    return written


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) or 1


# -- reprint ---------------------------------------------------------------------------------------

def reprint(workspace: Workspace, ledger: Ledger, reference: str) -> bytes:
    """The issued PDF again, byte for byte, from the inputs the ledger kept; verified by SHA-256."""
    from letterforge.drafts import compose_letter
    from letterforge.latefees import BaseRates
    from letterforge.pipeline import LetterFactory
    from letterforge.statements import compute_statement

    letter = ledger.letter(reference)
    if letter.pdf_sha256 is None:
        raise UserError(f"{reference} is {letter.status}: it was never issued")
    snapshot = ledger.snapshot(reference)
    config = parse_config(snapshot["config"], f"{reference} (settings as issued)")
    account_fields = dict(snapshot["account"])
    if "hold_until" in account_fields:
        account_fields["hold_until"] = date.fromisoformat(account_fields["hold_until"])
    account_fields["category"] = DebtorCategory(account_fields["category"])
    account = Account(**account_fields)
    from decimal import Decimal

    items = tuple(ArrearsItem(i["account_id"], i["period"], i["fee_item"], Decimal(i["amount_due"]),
                              Decimal(i["amount_paid"]), date.fromisoformat(i["due_date"]), i["source"])
                  for i in snapshot["arrears"])
    history = tuple(PriorLetter(h["account_id"], LetterKind(h["kind"]), date.fromisoformat(h["issued_on"]),
                                h["reference"]) for h in snapshot["history"])
    rates = (BaseRates(tuple((date.fromisoformat(d), Decimal(r)) for d, r in snapshot["base_rates"]))
             if snapshot["base_rates"] else None)
    issued_on = date.fromisoformat(snapshot["issued_on"])
    statement = compute_statement(account, items, config, issued_on, rates)
    factory = LetterFactory(Workspace(workspace.path, config), data=DebtorData((account,), items, history, (), ()))
    draft = compose_letter(LetterKind(snapshot["kind"]), statement, config, factory.library, issued_on=issued_on,
                           reference=reference, history=history)
    content = factory.render(draft, "pdf").content
    if hashlib.sha256(content).hexdigest() != letter.pdf_sha256:
        raise UserError(f"{reference}: the letter made again differs from the one issued (SHA-256 "
                        f"{letter.pdf_sha256}); templates, clauses or fonts changed since. The issued file is "
                        f"{letter.pdf_file}")
    return content
