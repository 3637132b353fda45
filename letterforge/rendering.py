"""Rendering: a letter draft as HTML, PDF or DOCX. The parts are their own modules: the sandbox,
filters and HTML (templating), PDF (pdfrender, with font compaction in pdffonts), DOCX
(docxrender); this module is the entry point that picks the format, with the proof-reader's
findings."""

from __future__ import annotations

from collections.abc import Callable

from letterforge.diagnostics import UserError
from letterforge.docxrender import render_docx
from letterforge.drafts import LetterDraft
from letterforge.pdfrender import PdfRenderer, TemplateFiles, read_template_files
from letterforge.proof import ProofReport, proof_letter, read_docx
from letterforge.templating import PROJECT_TEMPLATES

__all__ = ["PROJECT_TEMPLATES", "RENDERERS", "LetterRenderer", "TemplateFiles", "read_template_files"]


class LetterRenderer(PdfRenderer):
    """Loads templates and fonts once, then renders any number of letters in any format."""

    def render_docx(self, draft: LetterDraft) -> bytes:
        return render_docx(self, draft)

    def render_proofread(self, draft: LetterDraft, output_format: str) -> tuple[bytes, ProofReport]:
        """The letter in a format, and what the proof-reader found in it (read from the very HTML,
        laid-out pages and file that the debtor gets)."""
        html = self.render_html(draft)
        if output_format == "pdf":
            return self.pdf_proofread(draft, html)
        if output_format == "docx":
            content = self.render_docx(draft)
            return content, proof_letter(draft, html, None, read_docx(content))
        if output_format == "html":
            content = html.encode("utf-8")
            return content, proof_letter(draft, html)
        raise UserError(f"unknown format {output_format!r} (use {', '.join(RENDERERS)})")


RENDERERS: dict[str, Callable[[LetterRenderer, LetterDraft], bytes]] = {
    "pdf": LetterRenderer.render_pdf,
    "docx": LetterRenderer.render_docx,
    "html": lambda renderer, draft: renderer.render_html(draft).encode("utf-8"),
}
