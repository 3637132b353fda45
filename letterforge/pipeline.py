"""The stages strung together: what each command does, callable from Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from letterforge.clauses import load_clause_library
from letterforge.diagnostics import Diagnostic, UserError
from letterforge.drafts import LetterDraft, compose_letter
from letterforge.outputs import write_rejects
from letterforge.records import LetterKind
from letterforge.rendering import PROJECT_TEMPLATES, RENDERERS, LetterRenderer
from letterforge.statements import Statement, compute_statement
from letterforge.validation import DebtorData
from letterforge.workspace import PROJECT_ROOT, Workspace

LEGAL_CLAUSES = PROJECT_ROOT / "legal_clauses"


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


def compute_statements(
    workspace: Workspace, account_ids: tuple[str, ...], as_of: date, data: DebtorData | None = None
) -> list[Statement]:
    """Statements of the given accounts (all accounts when none are given) on the as-of date."""
    data = data or workspace.load_data()
    if account_ids:
        unknown = [a for a in account_ids if data.account(a) is None]
        if unknown:
            rejected = {r.cells[0] for r in data.rejects if r.table == "accounts" and r.cells}
            reasons = [f"{a} (its row was rejected; run `letterforge validate`)" if a in rejected else a
                       for a in unknown]
            raise UserError(f"unknown account: {', '.join(reasons)}")
        accounts = [data.account(a) for a in account_ids]
    else:
        accounts = list(data.accounts)
    return [
        compute_statement(account, data.arrears_of(account.account_id), workspace.config, as_of,
                          workspace.base_rates)
        for account in accounts
        if account is not None
    ]


@dataclass(frozen=True)
class RenderedLetter:
    draft: LetterDraft
    output_format: str
    content: bytes

    @property
    def file_name(self) -> str:
        return f"{self.draft.account.account_id}-{self.draft.kind.value}.{self.output_format}"


class LetterFactory:
    """Renders letters of one workspace: data, clauses, templates and fonts are loaded once."""

    def __init__(self, workspace: Workspace, data: DebtorData | None = None) -> None:
        self.workspace = workspace
        self.data = data or workspace.load_data()
        self.library = load_clause_library([LEGAL_CLAUSES, workspace.path / "legal_clauses"])
        self.renderer = LetterRenderer([workspace.path / "templates", PROJECT_TEMPLATES])

    def draft(self, account_id: str, kind: LetterKind, as_of: date, reference: str = "",
              allow_draft_clauses: bool = False) -> LetterDraft:
        (statement,) = compute_statements(self.workspace, (account_id,), as_of, self.data)
        return compose_letter(kind, statement, self.workspace.config, self.library, issued_on=as_of,
                              reference=reference, history=self.data.history,
                              allow_draft_clauses=allow_draft_clauses)

    def render(self, draft: LetterDraft, output_format: str) -> RenderedLetter:
        try:
            render = RENDERERS[output_format]
        except KeyError:
            raise UserError(f"unknown format {output_format!r} (use {', '.join(RENDERERS)})") from None
        return RenderedLetter(draft, output_format, render(self.renderer, draft))


def render_letters(
    workspace: Workspace, account_ids: tuple[str, ...], kind: LetterKind, as_of: date, output_format: str,
    reference: str = "",
) -> list[RenderedLetter]:
    """Render one letter for each account (every account with overdue arrears when none are given)."""
    factory = LetterFactory(workspace)
    if not account_ids:
        account_ids = tuple(s.account.account_id for s in compute_statements(workspace, (), as_of, factory.data)
                            if s.lines and not s.account.on_hold(as_of))
    if reference and len(account_ids) > 1:
        raise UserError("--reference names one letter: give one account with it")
    return [factory.render(factory.draft(account_id, kind, as_of, reference), output_format)
            for account_id in account_ids]
