"""The stages strung together: what each command does, callable from Python. A day's batch
(`run_batch`) reads as its stages: load and validate, statements, escalation and planning (with the
day's re-check), then each letter drafted, rendered, written and recorded in the ledger."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from letterforge.archive import archived_file, reprint, stored_path
from letterforge.calendars import is_working_day
from letterforge.clauses import Clause, load_clause_library, render_clause
from letterforge.clerk import draft_letters, issue_letters
from letterforge.config import CONFIG_FILE, scheduler_address
from letterforge.dayplan import DayPlan, earlier_letters, explain, plan_letters
from letterforge.diagnostics import Diagnostic, UserError
from letterforge.drafts import letter_facts
from letterforge.filenames import letter_file_name, safe_file_name
from letterforge.issuing import issue_letter, record_plan, reserve_due
from letterforge.kinds import KINDS
from letterforge.ledger import SENT, Ledger, LedgerLetter, open_ledger, read_ledger
from letterforge.letters import LetterFactory, RenderedLetter, clause_folders
from letterforge.outputs import (BuiltPrintPack, DayPrintPack, check_writable, ledger_csv, letter_file, letter_paths,
                                 pending_file, stops_the_day, write_day_files, write_rejects)
from letterforge.permissions import write_atomic
from letterforge.planning import PlannedLetter
from letterforge.proof import ProofReport, format_of, proof_file
from letterforge.records import LetterKind, LetterStatus
from letterforge.sealing import LAWYER_UNSEALED, unsealed_note
from letterforge.recovery import refuse_unsafe_day, workspace_lock
from letterforge.rendering import PROJECT_TEMPLATES, RENDERERS, LetterRenderer
from letterforge.statements import (LimitationFlag, Statement, compute_statements, limitation_flags, limitation_years,
                                    require_accounts)
from letterforge.validation import DebtorData
from letterforge.workspace import Workspace, init_workspace

if TYPE_CHECKING:
    from letterforge.emailing import SendReport
    from letterforge.executors import Executor, Renderer, StopRequest
    from letterforge.sms_notices import SmsReport

__all__ = [
    # the commands, as functions
    "validate_workspace", "compute_statements", "limitation_of", "plan_letters", "explain", "run_batch",
    "draft_letters", "issue_letters", "check_clause_library", "index_clause_library", "preview_clause",
    "diff_clause", "proofread_letter", "reprint", "check_ledger", "rebuild_ledger", "run_checks",
    "run_worker_checks", "init_workspace", "verify_file", "send_day", "confirm_sent", "evidence_bundle",
    "workspace_lock", "run_sms", "unsealed_note",
    # what they take and give
    "Workspace", "DayPlan", "BatchReport", "SendReport", "ValidationReport", "ClausePreview", "LetterFactory", "RenderedLetter",
    "Executor", "LocalExecutor", "Renderer", "render_pdf", "default_jobs", "choose_executor", "scheduler_address",
    "Ledger", "LedgerLetter", "LetterKind",
    "Statement", "open_ledger", "read_ledger", "clause_folders", "load_clause_library", "archived_file", "Verification",
    "SmsReport",
    # writing what a command made
    "letter_paths", "letter_file_name", "safe_file_name", "write_atomic", "ledger_csv",
]
log = logging.getLogger(__name__)


def __getattr__(name: str) -> Any:
    """The commands that need modules a clerk's letter does not (e-mail, SMS, evidence, the
    ledger check, the machine check, signature checks), imported when first asked for: every
    command starts without loading them (benchmarks/startup.py)."""
    if name in ("Executor", "LocalExecutor", "Renderer", "render_pdf", "default_jobs", "choose_executor"):
        # the batch's executors (process pools, Dask): not for a clerk's one letter
        from letterforge.executors import Executor, LocalExecutor, Renderer, choose_executor, default_jobs, render_pdf
    elif name in ("SendReport", "send_day", "confirm_sent"):
        from letterforge.emailing import SendReport, confirm_sent, send_day
    elif name in ("SmsReport", "run_sms"):
        from letterforge.sms_notices import SmsReport, run_sms
    elif name == "evidence_bundle":
        from letterforge.evidence import evidence_bundle
    elif name in ("check_ledger", "rebuild_ledger"):
        from letterforge.ledgercheck import check_ledger, rebuild_ledger
    elif name in ("run_checks", "run_worker_checks"):
        from letterforge.doctor import run_checks, run_worker_checks
    elif name in ("Verification", "verify_file"):
        from letterforge.sealing import Verification, verify_file
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = locals()[name]
    globals()[name] = value
    return value


@dataclass(frozen=True)
class ValidationReport:
    data: DebtorData
    rejects_files: tuple[Path, ...]
    settings: tuple[Diagnostic, ...] = ()  # settings that break a rule the law sets
    settings_warnings: tuple[Diagnostic, ...] = ()  # settings that work but are likely not what was meant

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return self.data.diagnostics + self.settings


def validate_workspace(workspace: Workspace, rejects_dir: Path | None = None) -> ValidationReport:
    """Check every data file and write the rejected rows, with their reasons, beside them; and the
    delivery settings against the rules the law sets (a suspension notice goes on paper only)."""
    from letterforge.delivery import POST, delivery_problems

    data = workspace.load_data()
    written = write_rejects(data.rejects, rejects_dir or workspace.rejects_dir)
    settings: list[Diagnostic] = []
    if any(channel != POST for chosen in workspace.config.delivery.channels.values() for channel in chosen):
        settings = delivery_problems(workspace.config, load_clause_library(clause_folders(workspace)),
                                     str(workspace.path / "letterforge.toml"))
    return ValidationReport(data, tuple(written), tuple(settings), settings_warnings(workspace))


def settings_warnings(workspace: Workspace) -> tuple[Diagnostic, ...]:
    """Settings that are allowed but likely not what was meant: letters sealed with the creditor's
    certificate while lawyer's letters, which only the law firm's certificate seals, go unsealed."""
    if workspace.config.signing.lawyer_unsealed:
        return (Diagnostic(str(workspace.path / CONFIG_FILE), None, "signing.law_firm_certificate", "unsealed-lawyer",
                           f"warning: {LAWYER_UNSEALED}"),)
    return ()


def letter_dates(workspace: Workspace, data: DebtorData) -> dict[str, list[date]]:
    """When each account was sent a letter: the history file's and the ledger's."""
    dates: dict[str, list[date]] = {}
    for prior in data.history:
        dates.setdefault(prior.account_id, []).append(prior.issued_on)
    ledger = read_ledger(workspace.path)
    try:
        for letter in ledger.letters():
            if letter.status in SENT and letter.issued_on:
                dates.setdefault(letter.account_id, []).append(letter.issued_on)
    finally:
        ledger.close()
    return dates


def limitation_of(workspace: Workspace, statements: list[Statement], data: DebtorData,
                  dates: dict[str, list[date]] | None = None) -> dict[str, tuple[LimitationFlag, ...]]:
    """Per account, the items whose limitation period may have run (for `statement`, the plan's
    explanation and the follow-up list; never for the letter)."""
    dates = letter_dates(workspace, data) if dates is None else dates
    years = limitation_years(workspace.config)
    flags = {s.account.account_id: limitation_flags((line.item for line in s.lines),
                                                    dates.get(s.account.account_id, ()), s.as_of, years)
             for s in statements}
    return {account_id: found for account_id, found in flags.items() if found}


def check_clause_library(workspace: Workspace, as_of: date) -> list[Diagnostic]:
    """Every problem of the clauses this workspace would use (`letterforge clauses check`),
    including texts that differ from the ones in letters the ledger says were issued."""
    folders = clause_folders(workspace)
    issued: dict[str, tuple[str, str]] = {}
    ledger = read_ledger(workspace.path)
    try:
        for letter in ledger.letters():
            for entry in letter.clauses:
                label, _, sha256 = entry.partition("#")
                issued.setdefault(label, (sha256, letter.reference or ""))
    finally:
        ledger.close()
    from letterforge.clausecheck import check_clauses
    from letterforge.delivery import delivery_problems

    library = load_clause_library(folders)
    problems = check_clauses(library, workspace.config, as_of, folders, issued)
    return problems + delivery_problems(workspace.config, library, str(workspace.path / CONFIG_FILE))


def index_clause_library(workspace: Workspace) -> tuple[list[str], list[Diagnostic]]:
    from letterforge.clausecheck import record_index

    folders = clause_folders(workspace)
    return record_index(load_clause_library(folders), [f for f in folders if f.is_dir()])


@dataclass(frozen=True)
class ClausePreview:
    clause: Clause
    paragraphs: tuple[str, ...]
    letter: RenderedLetter


def preview_clause(workspace: Workspace, clause_id: str, version: str, account_id: str, as_of: date,
                   output_format: str) -> ClausePreview:
    """A clause filled on an account's data, and the whole letter with the clause in its slot."""
    factory = LetterFactory(workspace)
    clause = (next((c for c in factory.library.versions(clause_id) if c.version == version), None)
              if version else factory.library.latest(clause_id))
    if clause is None:
        raise UserError(f"clause {clause_id} has no version {version}")
    config = workspace.config
    if clause.locale != config.locale or config.creditor.type not in clause.creditor_types:
        raise UserError(f"{clause.label} is for {clause.locale} / {', '.join(clause.creditor_types)} letters; "
                        f"this workspace writes {config.locale} / {config.creditor.type} letters")
    kind = LetterKind(clause.kinds[0])
    if not account_id:
        candidates = [s for s in compute_statements(workspace, (), as_of, factory.data)
                      if s.lines and not s.account.on_hold(as_of) and s.account.category.value in clause.categories]
        if not candidates:
            raise UserError(f"no account owes anything on {as_of.isoformat()} in the categories "
                            f"{', '.join(clause.categories)}: give one with --account")
        # The first account whose letter the clause would really be in (its `when:` holds), if any.
        account_id = next((s.account.account_id for s in candidates
                           if _applies(factory, clause, s.account.account_id, kind, as_of)),
                          candidates[0].account.account_id)
    draft = factory.draft(account_id, kind, as_of, preview=clause)
    if draft.letter.debtor.category.value not in clause.categories:
        raise UserError(f"{clause.label} serves {', '.join(clause.categories)} debtors; "
                        f"{account_id} is {draft.letter.debtor.category.value}")
    if clause.slot in KINDS[kind].slots:
        filled = factory.renderer.context_for(draft)["clauses"][clause.slot]["paragraphs"]
    else:  # a message's clause (email_subject, email_body): filled on the same letter's data
        filled = render_clause(factory.renderer.clause_environment, clause, draft.context)
    paragraphs = tuple("".join(text for text, _ in paragraph) for paragraph in filled)
    return ClausePreview(clause, paragraphs, factory.render(draft, output_format, enforce=False))


def _applies(factory: LetterFactory, clause: Clause, account_id: str, kind: LetterKind, as_of: date) -> bool:
    if not clause.when:
        return True
    draft = factory.draft(account_id, kind, as_of, preview=clause)
    return clause.applies(letter_facts(draft.letter))


def diff_clause(workspace: Workspace, clause_id: str, old: str, new: str) -> str:
    """A unified diff of two versions of a clause (default: the last two)."""
    library = load_clause_library(clause_folders(workspace))
    versions = library.versions(clause_id)
    if not versions:
        raise UserError(f"no clause with id {clause_id!r} (see `letterforge clauses list`)")
    by_version = {c.version: c for c in versions}
    if not old and not new:
        if len(versions) < 2:
            raise UserError(f"{clause_id} has only version {versions[0].version}: nothing to compare")
        first, second = versions[-2], versions[-1]
    else:
        missing = [v for v in (old, new) if v and v not in by_version]
        if missing or not (old and new):
            raise UserError(f"give --from and --to among the versions of {clause_id}: {', '.join(by_version)}")
        first, second = by_version[old], by_version[new]
    import difflib

    return "".join(difflib.unified_diff(
        Path(first.path).read_text(encoding="utf-8").splitlines(keepends=True),
        Path(second.path).read_text(encoding="utf-8").splitlines(keepends=True),
        fromfile=f"{first.label} ({first.path})", tofile=f"{second.label} ({second.path})"))


def proofread_letter(workspace: Workspace | None, file_or_ref: str) -> ProofReport:
    """`letterforge proof`: a letter file read back, or the issued bytes the ledger (and archive)
    keep under a reference."""
    path = Path(file_or_ref)
    if path.is_file():
        content = path.read_bytes()
    elif workspace is not None:
        ledger = read_ledger(workspace.path)
        try:
            issued = reprint(workspace, ledger, file_or_ref)
        finally:
            ledger.close()
        content, path = issued.content, issued.source
    else:
        raise UserError(f"{path}: no such letter file")
    if format_of(path) not in RENDERERS:
        raise UserError(f"{path}: the proof-reader reads .pdf, .docx and .html files")
    return proof_file(content, format_of(path), LetterRenderer([PROJECT_TEMPLATES]).layout)


# -- the daily batch: the stages of one day, in order ---------------------------------------------

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
    emails: SendReport | None = None  # the e-mails sent after the day ([delivery] send_after_batch)
    sms: SmsReport | None = None  # the SMS notices after the day ([delivery] sms_after_batch)
    notes: list[str] = field(default_factory=list)  # said once, not a problem (lawyer's letters unsealed)

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


def run_batch(
    workspace: Workspace,
    as_of: date,
    out: Path,
    jobs: int,
    now: Callable[[], datetime],
    dry_run: bool = False,
    progress: Callable[[LedgerLetter], None] | None = None,
    renderer: Renderer | None = None,
    executor: Executor | None = None,
) -> BatchReport:
    """One day's batch. A day is issued once and days in order: a rerun of a finished day issues
    nothing, a rerun after a crash or a stop completes the day under the same caps, re-checked
    against today's data, and a day earlier than the last one run is refused. The letters are
    rendered by `executor`, by default `jobs` local worker processes with `renderer` (by default
    executors.render_pdf)."""
    from letterforge.executors import LocalExecutor, render_pdf, started, stop_on_signals

    out = out.resolve()
    folder = out / as_of.isoformat()
    report = BatchReport(as_of, folder, dry_run, is_working_day(as_of, workspace.config.region))
    if dry_run:
        return _plan_only(workspace, as_of, report)
    executor = executor or LocalExecutor(workspace.path, jobs, renderer or render_pdf)
    # a cluster is reached and checked while the day loads and plans (only on days with letters)
    with workspace_lock(workspace), stop_on_signals() as stop, started(executor if report.working_day else None):
        data = workspace.load_data()  # load and validate
        report.rejected_rows = len(data.rejects)
        if data.rejects:
            report.files.extend(write_rejects(data.rejects, folder / "rejects"))
        if not report.working_day:
            return report  # letters go out on working days only; cron may run every day
        ledger = open_ledger(workspace.path, now)
        try:
            refuse_unsafe_day(workspace, ledger, data, as_of, out)
            check_writable(folder)
            ledger.begin_day(as_of, stored_path(workspace.path, out))
            day = next(d for d in ledger.days() if d.day == as_of)
            built = None
            if day.completed_at is not None:
                report.already_complete = True
                report.planned_later = sum(1 for l in ledger.letters(status=LetterStatus.PLANNED) if l.planned_on > as_of)
            else:
                built = _issue_day(workspace, ledger, data, as_of, out, report, progress, executor, stop)
            # print pack (built as the letters came, else made from the files), manifest, follow-ups
            day_files = write_day_files(workspace, ledger, out, data, built, as_of)
            report.files.extend(day_files.written)
            report.problems.extend(day_files.problems)
            report.stopped_by = report.stopped_by or day_files.stopped_by
            if report.ok and not report.already_complete:
                ledger.complete_day(as_of)
            # The e-mails and SMS notices go for the letters the ledger records as issued on the day
            # whenever the run was not stopped: rejected rows and failed letters are kept aside and
            # still give exit 1, but do not hold back the other debtors' letters (sends are once per
            # letter, so the run that completes the day sends only what is new).
            carry_on = report.interrupted is None and not report.stopped_by and not stop.requested
            before_emails = len(report.problems)
            if carry_on and workspace.config.delivery.send_after_batch:
                from letterforge.emailing import send_after_batch

                report.emails = send_after_batch(workspace, ledger, as_of, report.problems)
            if carry_on and len(report.problems) == before_emails and workspace.config.delivery.sms_after_batch:
                from letterforge.sms_notices import sms_after_batch

                report.sms = sms_after_batch(workspace, ledger, data, as_of, out, report.problems)
        finally:
            ledger.close()
    return report


def _issue_day(workspace: Workspace, ledger: Ledger, data: DebtorData, as_of: date, out: Path,
               report: BatchReport, progress: Callable[[LedgerLetter], None] | None, executor: Executor,
               stop: StopRequest) -> BuiltPrintPack | None:
    # statements -> escalation -> planning
    day_plan = plan_letters(workspace, data, ledger, as_of)
    report.due_today = day_plan.due_on(as_of)
    report.planned_later = sum(1 for l in day_plan.plan.letters if l.issue_on > as_of)
    record_plan(ledger, day_plan)
    if stop.requested:
        report.interrupted = stop.signal
        return None
    # The day's re-check verdicts: cancelled, waiting, or reserved a reference number. Letters of
    # past days that found no room within the horizon wait for a later run.
    waiting = {c.letter_id for c in day_plan.plan.unplaced if c.letter_id is not None}
    recheck = reserve_due(workspace, data, ledger, day_plan, as_of, out, waiting)
    report.cancelled.extend(recheck.cancelled)
    report.skipped.extend(recheck.skipped)
    # drafts -> rendering (the executor) -> outputs -> ledger, letter by letter; the print pack
    # grows as the letters come, in the order of the delivery round
    pack = DayPrintPack.for_day(workspace, ledger, data, as_of, out, list(recheck.reserved))
    _issue_letters(workspace, ledger, list(recheck.reserved), as_of, out / as_of.isoformat(), report, progress,
                   executor, stop, pack, data)
    note = unsealed_note(workspace.config.signing, {l.kind.value for l in report.issued})
    if note:
        report.notes.append(note)
    report.interrupted = stop.signal
    report.stopped_by = stop.reason
    return pack.finish()


def _issue_letters(workspace: Workspace, ledger: Ledger, letters: list[LedgerLetter], as_of: date, folder: Path,
                   report: BatchReport, progress: Callable[[LedgerLetter], None] | None, executor: Executor,
                   stop: StopRequest, pack: DayPrintPack, data: DebtorData | None = None) -> None:
    from letterforge.executors import RenderTask

    tasks = [RenderTask(letter.id, letter.account_id, letter.kind, letter.reference or "", as_of,
                        str(pending_file(folder, letter)), earlier_letters(ledger, letter.account_id, as_of))
             for letter in letters]
    if not tasks:
        return
    by_id = {letter.id: letter for letter in letters}
    started = 0
    for task, outcome in executor.run(tasks, stop, data):
        started += 1
        letter = by_id[task.letter_id]
        try:
            report.issued.append(issue_letter(workspace, ledger, letter, folder, as_of, outcome()))
            pack.issued(letter.reference or "", letter_file(folder, letter))
        except Exception as error:  # one letter's failure must not stop the others
            message = str(error) if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
            log.error("letter %s for %s failed: %s", letter.reference, letter.account_id, message)
            report.failed.append((letter, message))
            stop.reason = stop.reason or stops_the_day(error)
            pack.given_up(letter.reference or "")
        if progress:
            progress(letter)
    report.left = len(tasks) - started


def _plan_only(workspace: Workspace, as_of: date, report: BatchReport) -> BatchReport:
    """--dry-run: what the day would issue, from the ledger read only."""
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
