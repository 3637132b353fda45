"""The stages strung together: what each command does, callable from Python."""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from letterforge.clauses import Clause, load_clause_library
from letterforge.clausecheck import check_clauses, record_index
from letterforge.diagnostics import Diagnostic, UserError
from letterforge.drafts import LetterDraft, compose_letter, letter_facts
from letterforge.filenames import letter_file_name
from letterforge.outputs import write_rejects
from letterforge.records import LetterKind, PriorLetter
from letterforge.proof import ProofReport
from letterforge.rendering import PROJECT_TEMPLATES, RENDERERS, LetterRenderer
from letterforge.statements import LimitationFlag, Statement, compute_statement, limitation_flags, limitation_years
from letterforge.validation import DebtorData
from letterforge.workspace import PROJECT_ROOT, Workspace

LEGAL_CLAUSES = PROJECT_ROOT / "legal_clauses"
log = logging.getLogger(__name__)


def clause_folders(workspace: Workspace) -> list[Path]:
    """The shipped clause library, then the workspace's own clauses (which override)."""
    return [LEGAL_CLAUSES, workspace.path / "legal_clauses"]


@dataclass(frozen=True)
class ValidationReport:
    data: DebtorData
    rejects_files: tuple[Path, ...]

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return self.data.diagnostics


def validate_workspace(workspace: Workspace, rejects_dir: Path | None = None) -> ValidationReport:
    """Check every data file and write the rejected rows, with their reasons, beside them."""
    data = workspace.load_data()
    written = write_rejects(data.rejects, rejects_dir or workspace.rejects_dir)
    return ValidationReport(data, tuple(written))


def require_accounts(data: DebtorData, account_ids: tuple[str, ...]) -> None:
    """Refuse account ids that are not in the data, saying where and why a rejected one was rejected."""
    unknown = [a for a in account_ids if data.account(a) is None]
    if unknown:
        rejected = {r.account_id: r for r in data.rejects if r.table == "accounts"}
        reasons = [f"{a} (its row was rejected: {rejected[a].file}:{rejected[a].row}: "
                   f"{'; '.join(rejected[a].reasons)})" if a in rejected else a for a in unknown]
        raise UserError(f"unknown account: {', '.join(reasons)}")


def compute_statements(
    workspace: Workspace, account_ids: tuple[str, ...], as_of: date, data: DebtorData | None = None
) -> list[Statement]:
    """Statements of the given accounts (all accounts when none are given) on the as-of date."""
    data = data or workspace.load_data()
    if account_ids:
        require_accounts(data, account_ids)
        accounts = [data.account(a) for a in account_ids]
    else:
        accounts = list(data.accounts)
    return [
        compute_statement(account, data.arrears_of(account.account_id), workspace.config, as_of,
                          workspace.base_rates)
        for account in accounts
        if account is not None
    ]


def letter_dates(workspace: Workspace, data: DebtorData) -> dict[str, list[date]]:
    """When each account was sent a letter: the history file's and the ledger's."""
    from letterforge.ledger import SENT, read_ledger

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


@dataclass(frozen=True)
class RenderedLetter:
    draft: LetterDraft
    output_format: str
    content: bytes
    proof: ProofReport = ProofReport(())

    @property
    def file_name(self) -> str:
        return letter_file_name(self.draft.kind.value, self.draft.account.account_id, self.output_format,
                                account_first=True)


class LetterFactory:
    """Renders letters of one workspace: data, clauses, templates and fonts are loaded once."""

    def __init__(self, workspace: Workspace, data: DebtorData | None = None) -> None:
        self.workspace = workspace
        self.data = data or workspace.load_data()
        self.library = load_clause_library(clause_folders(workspace))
        self.renderer = LetterRenderer([workspace.path / "templates", PROJECT_TEMPLATES])

    def draft(self, account_id: str, kind: LetterKind, as_of: date, reference: str = "",
              preview: Clause | None = None, earlier: tuple[PriorLetter, ...] = ()) -> LetterDraft:
        """One letter's content. `earlier`: the ledger's letters to the account, which the letter
        cites with the history file's (e.g. how many demand letters went out before)."""
        (statement,) = compute_statements(self.workspace, (account_id,), as_of, self.data)
        return compose_letter(kind, statement, self.workspace.config, self.library, issued_on=as_of,
                              reference=reference, history=self.data.history + earlier,
                              allow_draft_clauses=preview is not None, preview=preview)

    def render(self, draft: LetterDraft, output_format: str, enforce: bool | None = None) -> RenderedLetter:
        """The letter in a format, read by the proof-reader first: a letter it stops is not made
        (`[proof] enforce`, default true; with it off the findings are logged as warnings).
        `enforce=False`: the caller reports `RenderedLetter.proof` itself (drafts, previews, a
        letter made again as it was issued)."""
        if output_format not in RENDERERS:
            raise UserError(f"unknown format {output_format!r} (use {', '.join(RENDERERS)})")
        content, report = self.renderer.render_proofread(draft, output_format)
        return self.proofread(RenderedLetter(draft, output_format, content, report), enforce)

    def proofread(self, letter: RenderedLetter, enforce: bool | None = None) -> RenderedLetter:
        """The letter, unless the proof-reader's findings stop it (see `render`); a letter made
        elsewhere (a cluster's worker) is judged here by the same rule."""
        report, draft = letter.proof, letter.draft
        if not report.ok and enforce is not False:
            what = f"{draft.account.account_id} {draft.kind.value} letter"
            if self.workspace.config.proof.enforce or enforce:
                raise UserError(report.summary(what))
            log.warning("%s", report.summary(what, stopped=False))
        return letter


def check_clause_library(workspace: Workspace, as_of: date) -> list[Diagnostic]:
    """Every problem of the clauses this workspace would use (`letterforge clauses check`),
    including texts that differ from the ones in letters the ledger says were issued."""
    from letterforge.ledger import read_ledger

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
    return check_clauses(load_clause_library(folders), workspace.config, as_of, folders, issued)


def index_clause_library(workspace: Workspace) -> tuple[list[str], list[Diagnostic]]:
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
    if draft.account.category.value not in clause.categories:
        raise UserError(f"{clause.label} serves {', '.join(clause.categories)} debtors; "
                        f"{account_id} is {draft.account.category.value}")
    filled = factory.renderer.context_for(draft)["clauses"][clause.slot]["paragraphs"]
    paragraphs = tuple("".join(text for text, _ in paragraph) for paragraph in filled)
    return ClausePreview(clause, paragraphs, factory.render(draft, output_format, enforce=False))


def _applies(factory: LetterFactory, clause: Clause, account_id: str, kind: LetterKind, as_of: date) -> bool:
    if not clause.when:
        return True
    draft = factory.draft(account_id, kind, as_of, preview=clause)
    return clause.applies(letter_facts(draft.context, draft.statement))


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
    return "".join(difflib.unified_diff(
        Path(first.path).read_text(encoding="utf-8").splitlines(keepends=True),
        Path(second.path).read_text(encoding="utf-8").splitlines(keepends=True),
        fromfile=f"{first.label} ({first.path})", tofile=f"{second.label} ({second.path})"))


def proofread_letter(workspace: Workspace | None, file_or_ref: str) -> ProofReport:
    """`letterforge proof`: a letter file read back, or the issued bytes the ledger (and archive)
    keep under a reference."""
    from letterforge.proof import format_of, proof_file

    path = Path(file_or_ref)
    if path.is_file():
        content = path.read_bytes()
    elif workspace is not None:
        from letterforge.archive import reprint
        from letterforge.ledger import read_ledger

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
