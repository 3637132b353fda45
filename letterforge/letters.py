"""A workspace's letters made one at a time: its data, clauses, templates and fonts loaded once
(`LetterFactory`), a letter's content composed, rendered and proof-read."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from letterforge.clauses import Clause, load_clause_library
from letterforge.diagnostics import UserError
from letterforge.drafts import LetterDraft, compose_letter
from letterforge.filenames import letter_file_name
from letterforge.proof import ProofReport
from letterforge.records import LetterKind, PriorLetter
from letterforge.rendering import PROJECT_TEMPLATES, RENDERERS, LetterRenderer
from letterforge.shipped import shipped_folder
from letterforge.statements import compute_statements
from letterforge.validation import DebtorData
from letterforge.workspace import Workspace

LEGAL_CLAUSES = shipped_folder("legal_clauses")
log = logging.getLogger(__name__)


def clause_folders(workspace: Workspace) -> list[Path]:
    """The shipped clause library, then the workspace's own clauses (which override)."""
    return [LEGAL_CLAUSES, workspace.path / "legal_clauses"]


@dataclass(frozen=True)
class RenderedLetter:
    draft: LetterDraft
    output_format: str
    content: bytes
    proof: ProofReport = ProofReport(())

    @property
    def file_name(self) -> str:
        return letter_file_name(self.draft.kind.value, self.draft.account_id, self.output_format,
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
            what = f"{draft.account_id} {draft.kind.value} letter"
            if self.workspace.config.proof.enforce or enforce:
                raise UserError(report.summary(what))
            log.warning("%s", report.summary(what, stopped=False))
        return letter
