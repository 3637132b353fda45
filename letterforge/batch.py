"""The daily batch: decide who is due which letter, stagger the issue, render today's letters in
parallel, write the day's folder and record every letter in the ledger as it becomes final."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
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
from letterforge.ledger import SENT, Ledger, LedgerLetter, open_ledger
from letterforge.outputs import write_atomic, write_batch_files, write_rejects
from letterforge.planning import Candidate, Plan, PlannedLetter, plan_issue
from letterforge.records import Account, ArrearsItem, DebtorCategory, LetterKind
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


def _existing(ledger: Ledger, as_of: date) -> list[PlannedLetter]:
    existing = []
    for letter in ledger.letters():
        if letter.status in ("planned", "reserved"):
            # A letter whose day passed without a batch goes out on the next run.
            existing.append(PlannedLetter(letter.account_id, letter.kind, letter.group,
                                          max(letter.planned_on, as_of), new=False))
    return existing


def plan_letters(workspace: Workspace, data: DebtorData, ledger: Ledger, as_of: date,
                 horizon: int | None = None) -> DayPlan:
    """Escalation for every account without a letter in the pipeline, then the staggered plan."""
    from letterforge.pipeline import compute_statements

    statements = {s.account.account_id: s for s in compute_statements(workspace, (), as_of, data)}
    sent = sent_letters(data, ledger, workspace)
    holds = ledger.holds()
    pending = {letter.account_id: letter for letter in ledger.letters()
               if letter.status in ("planned", "reserved")}
    decisions: dict[str, Decision] = {}
    candidates: list[Candidate] = []
    for account_id, statement in statements.items():
        if account_id in pending:
            continue
        hold = holds.get(account_id)
        decision = decide_letter(statement, sent.get(account_id, []), workspace.config, as_of,
                                 (hold.until, hold.reason) if hold else None)
        decisions[account_id] = decision
        if decision.kind is not None and statement.oldest_due_date is not None:
            candidates.append(Candidate(account_id, decision.kind, statement.account.building, statement.total,
                                        statement.oldest_due_date))
    since = as_of - timedelta(days=workspace.config.policy.lawyer_wave_gap_days)
    lawyer_before = sum(1 for letters in sent.values() for letter in letters
                        if letter.kind is LetterKind.LAWYER and letter.issued_on > since)
    plan = plan_issue(candidates, _existing(ledger, as_of), workspace.config.policy, workspace.config.region, as_of,
                      lawyer_before, horizon)
    return DayPlan(plan, decisions, pending, statements)


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


def _start_worker(workspace_path: str) -> None:
    """Load data, clauses, templates and fonts once per worker."""
    global _worker_factory
    from letterforge.pipeline import LetterFactory

    _worker_factory = LetterFactory(Workspace.open(Path(workspace_path)))


@dataclass(frozen=True)
class RenderTask:
    letter_id: int
    account_id: str
    kind: LetterKind
    reference: str
    target: str


def _render_task(task: RenderTask, as_of: date) -> dict[str, Any]:
    factory = _worker_factory
    draft = factory.draft(task.account_id, task.kind, as_of, task.reference)
    content = factory.render(draft, "pdf").content
    write_atomic(Path(task.target), content)
    statement = draft.statement
    return {
        "sha256": hashlib.sha256(content).hexdigest(),
        "deadline": draft.deadline,
        "principal": statement.principal,
        "late_fees": statement.late_fees + statement.compensation,
        "total": statement.total,
        "clauses": [f"{c['id']}@{c['version']}#{c['sha256']}" for c in draft.clause_versions],
        "snapshot": letter_snapshot(factory, draft.account.account_id, task.kind, as_of, task.reference),
    }


def letter_snapshot(factory: Any, account_id: str, kind: LetterKind, as_of: date, reference: str) -> dict[str, Any]:
    """The inputs of one letter, kept in the ledger so that `reprint` can make it again."""
    workspace: Workspace = factory.workspace
    data: DebtorData = factory.data
    account = data.account(account_id)
    assert account is not None
    base_rates = workspace.base_rates
    return {
        "config": (workspace.path / "letterforge.toml").read_text(encoding="utf-8"),
        "account": {k: (v.isoformat() if isinstance(v, date) else str(v)) for k, v in asdict(account).items()
                    if v is not None},
        "arrears": [{k: (v.isoformat() if isinstance(v, date) else str(v)) for k, v in asdict(item).items()}
                    for item in data.arrears_of(account_id)],
        "history": [{"account_id": p.account_id, "kind": p.kind.value, "issued_on": p.issued_on.isoformat(),
                     "reference": p.reference} for p in data.history if p.account_id == account_id],
        "base_rates": [[d.isoformat(), str(r)] for d, r in base_rates.changes] if base_rates else None,
        "kind": kind.value, "issued_on": as_of.isoformat(), "reference": reference,
    }


# -- the batch -----------------------------------------------------------------------------------

@dataclass
class BatchReport:
    as_of: date
    folder: Path
    dry_run: bool
    issued: list[LedgerLetter] = field(default_factory=list)
    cancelled: list[tuple[LedgerLetter, str]] = field(default_factory=list)
    failed: list[tuple[LedgerLetter, str]] = field(default_factory=list)
    due_today: list[PlannedLetter] = field(default_factory=list)
    planned_later: int = 0
    rejected_rows: int = 0
    files: list[Path] = field(default_factory=list)

    def counts(self) -> dict[str, Counter[str]]:
        return {
            "issued": Counter(l.kind.value for l in self.issued),
            "cancelled": Counter(l.kind.value for l, _ in self.cancelled),
            "failed": Counter(l.kind.value for l, _ in self.failed),
        }

    @property
    def ok(self) -> bool:
        return not self.failed and not self.rejected_rows


def _letter_file(folder: Path, letter: LedgerLetter) -> Path:
    return folder / "letters" / f"{letter.kind.value}-{letter.account_id}.pdf"


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
    crash completes the day with the reference numbers already reserved."""
    folder = out / as_of.isoformat()
    report = BatchReport(as_of, folder, dry_run)
    with workspace_lock(workspace):
        data = workspace.load_data()
        report.rejected_rows = len(data.rejects)
        ledger = open_ledger(workspace.path, now)
        try:
            day_plan = plan_letters(workspace, data, ledger, as_of)
            report.due_today = day_plan.plan.on(as_of)
            report.planned_later = sum(1 for l in day_plan.plan.letters if l.issue_on > as_of)
            if dry_run:
                return report
            if data.rejects:
                report.files.extend(write_rejects(data.rejects, folder / "rejects"))
            new = [letter for letter in day_plan.plan.letters if letter.new]
            ledger.add_planned([(l.account_id, l.kind, l.issue_on, l.group) for l in new])
            to_render = _recheck(workspace, data, ledger, day_plan, as_of, report)
            _render_all(workspace, ledger, to_render, as_of, folder, jobs, report, progress)
            issued_today = [l for l in ledger.letters() if l.issued_on == as_of and l.status in SENT]
            if issued_today:
                report.files.extend(write_batch_files(folder, issued_today, data))
        finally:
            ledger.close()
    return report


def _recheck(workspace: Workspace, data: DebtorData, ledger: Ledger, day_plan: DayPlan, as_of: date,
             report: BatchReport) -> list[LedgerLetter]:
    """Today's letters against today's data: paid or on hold since -> cancelled with the reason;
    still due -> reserved a reference number (amounts are today's)."""
    due = [l for l in ledger.letters(status="planned", planned_until=as_of)]
    sent = sent_letters(data, ledger, workspace)
    holds = ledger.holds()
    keep: list[LedgerLetter] = []
    for letter in due:
        statement = day_plan.statements.get(letter.account_id)
        if statement is None:
            reason = "the account is no longer in the data"
        else:
            hold = holds.get(letter.account_id)
            decision = decide_letter(statement, sent.get(letter.account_id, []), workspace.config, as_of,
                                     (hold.until, hold.reason) if hold else None)
            if decision.kind is letter.kind:
                keep.append(letter)
                continue
            reason = " ".join(decision.reasons)
        ledger.cancel(letter, reason)
        report.cancelled.append((letter, reason))
    order = {a.account_id: (a.building, a.address, a.account_id) for a in data.accounts}
    keep.sort(key=lambda l: order.get(l.account_id, ("", "", l.account_id)))
    policy = workspace.config.policy
    used_before: dict[LetterKind, int] = {}
    for prior in data.history:
        number = policy.reference_number(prior.kind.value, as_of.year, prior.reference)
        if number is not None:
            used_before[prior.kind] = max(used_before.get(prior.kind, 0), number)
    reserved = ledger.reserve_references(keep, lambda kind, year, number: policy.reference(kind.value, year, number),
                                         as_of.year, used_before)
    # Letters reserved by a run that died are completed now, with the numbers they already have.
    leftovers = [l for l in ledger.letters(status="reserved") if l.id not in {r.id for r in reserved}]
    return leftovers + reserved


def _render_all(workspace: Workspace, ledger: Ledger, letters: list[LedgerLetter], as_of: date, folder: Path,
                jobs: int, report: BatchReport, progress: Callable[[LedgerLetter], None] | None) -> None:
    tasks = {letter.id: (letter, RenderTask(letter.id, letter.account_id, letter.kind, letter.reference or "",
                                            str(_letter_file(folder, letter)))) for letter in letters}
    if not tasks:
        return

    def finish(letter: LedgerLetter, result: dict[str, Any]) -> None:
        ledger.mark_issued(letter, as_of, result["deadline"], result["principal"], result["late_fees"],
                           result["total"], result["clauses"], result["sha256"],
                           str(_letter_file(folder, letter).relative_to(folder.parent)), result["snapshot"])
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
        for letter, task in tasks.values():
            try:
                finish(letter, _render_task(task, as_of))
            except Exception as error:  # one letter's failure must not stop the others
                failed(letter, error)
        return
    with ProcessPoolExecutor(max_workers=jobs, initializer=_start_worker, initargs=(str(workspace.path),)) as pool:
        futures = {pool.submit(_render_task, task, as_of): letter for letter, task in tasks.values()}
        for future in as_completed(futures):
            letter = futures[future]
            try:
                finish(letter, future.result())
            except Exception as error:
                failed(letter, error)


def default_jobs() -> int:
    return os.cpu_count() or 1


# -- reprint ---------------------------------------------------------------------------------------

def reprint(workspace: Workspace, ledger: Ledger, reference: str) -> bytes:
    """The issued PDF again, byte for byte, from the inputs the ledger kept; verified by SHA-256."""
    from letterforge.drafts import compose_letter
    from letterforge.latefees import BaseRates
    from letterforge.pipeline import LetterFactory
    from letterforge.records import PriorLetter
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
