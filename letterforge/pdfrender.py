"""PDF letters: a letter's HTML laid out on A4 pages by WeasyPrint, with the letter fonts compacted
(pdffonts), nothing fetched from the network or outside the template folders, and the proof-reader's
findings read from the very pages the debtor gets. Print packs, which join the day's PDFs, are
printpack.py."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from letterforge.diagnostics import UserError
from letterforge.drafts import LetterDraft
from letterforge.fonts import font_configuration
from letterforge.pdffonts import compact_cid_fonts
from letterforge.proof import ProofReport, proof_letter, read_pdf_metadata
from letterforge.records import lasting_imports
from letterforge.templating import TemplateRenderer


class PdfRenderer(TemplateRenderer):
    """Letters as PDF: loads templates and fonts once, then lays out any number of letters."""

    def __init__(self, template_dirs: list[Path], files: TemplateFiles | None = None) -> None:
        """`files`: lay letters out from these files alone, never from the disk (a cluster's worker,
        which has the letter's HTML and the batch's template folders, not the workspace)."""
        super().__init__(template_dirs)
        self.files = files

    @property
    def font_config(self) -> Any:
        return font_configuration()

    @cached_property
    def url_fetcher(self) -> Any:
        return make_url_fetcher(self.template_dirs, self.files.files if self.files else None)

    @property
    def base_url(self) -> str | None:
        """Where the letter's relative links point: the last template folder (the project's)."""
        if self.files is not None:
            return self.files.base_url
        return self.template_dirs[-1].as_uri() + "/" if self.template_dirs else None

    def layout(self, html: str) -> Any:
        """The HTML laid out on A4 pages by WeasyPrint: the boxes the proof-reader measures."""
        from weasyprint import HTML

        document = HTML(string=html, url_fetcher=self.url_fetcher, base_url=self.base_url)
        return document.render(font_config=self.font_config)

    def render_pdf(self, draft: LetterDraft) -> bytes:
        return self.pdf_proofread(draft, self.render_html(draft))[0]
    def pdf_proofread(self, draft: LetterDraft, html: str) -> tuple[bytes, ProofReport]:
        """The letter's HTML (from `render_html`) as a PDF, and what the proof-reader found in it."""
        self.check_glyphs(html, f"{draft.account_id} {draft.kind.value}")
        self.url_fetcher.refused.clear()
        document = self.layout(html)
        content = bytes(document.write_pdf(custom_metadata=True, finisher=compact_cid_fonts))
        if self.url_fetcher.refused:
            # WeasyPrint only logs a resource it could not fetch; a letter with a hole in it must not go out.
            raise UserError(f"{draft.account_id} {draft.kind.value} ({draft.locale}/{draft.kind.value}"
                            f".html and what it includes): {'; '.join(self.url_fetcher.refused)}; remove it "
                            "from the template or put the file in the template folder")
        return content, proof_letter(draft, html, document, read_pdf_metadata(content))


@dataclass(frozen=True, repr=False)
class TemplateFiles:
    """Every file of the template folders, by its path on the machine that read them, and the base
    URL of the letters: all that a letter's layout may fetch, for a worker that has no workspace."""

    base_url: str | None
    files: Mapping[str, bytes]
    digest: str  # of every path and content: the same folders give the same digest

    def __repr__(self) -> str:
        return f"TemplateFiles({len(self.files)} files, {self.digest[:12]})"


def read_template_files(renderer: PdfRenderer) -> TemplateFiles:
    """The files a letter laid out by `renderer` may fetch, as its URL fetcher allows them: inside a
    template folder once symlinks are resolved (the file is kept under both paths)."""
    allowed = [Path(os.path.realpath(d)) for d in renderer.template_dirs]
    files: dict[str, bytes] = {}
    for folder in renderer.template_dirs:
        seen: set[str] = set()
        for root, dirs, names in os.walk(folder, followlinks=True):
            real_root = os.path.realpath(root)
            if real_root in seen:  # a symlink loop
                dirs.clear()
                continue
            seen.add(real_root)
            for name in names:
                path = os.path.join(root, name)
                real = os.path.realpath(path)
                if os.path.isfile(real) and any(Path(real).is_relative_to(folder) for folder in allowed):
                    content = Path(real).read_bytes()
                    files.setdefault(os.path.normpath(os.path.abspath(path)), content)
                    files.setdefault(real, content)
    digest = hashlib.sha256(repr(renderer.base_url).encode("utf-8"))
    for path in sorted(files):
        digest.update(path.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(files[path]).digest())
    return TemplateFiles(renderer.base_url, files, digest.hexdigest())


def make_url_fetcher(template_dirs: list[Path], files: Mapping[str, bytes] | None = None) -> Any:
    """Letters fetch nothing from the network, and no file outside the template folders (with
    `files`, from read_template_files: no file but those, and nothing from the disk)."""
    import mimetypes

    with lasting_imports():  # the first thing that imports WeasyPrint (~0.3 s of modules)
        from weasyprint.urls import URLFetcher, URLFetcherResponse

    allowed = [d.resolve() for d in template_dirs]

    class TemplateFolderFetcher(URLFetcher):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.refused: list[str] = []  # what the letter being rendered asked for and did not get

        def fetch(self, url: str, headers: Any = None) -> Any:
            parsed = urlparse(url)
            if parsed.scheme == "file" and files is not None:
                path_text = os.path.normpath(unquote(parsed.path))
                if path_text not in files:
                    return self.refuse(url, f"{path_text} is not a file of the template folders")
                kind = mimetypes.guess_type(path_text)[0] or "text/plain"  # as urllib's file handler says
                return URLFetcherResponse(url, files[path_text], {"Content-Type": kind})
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if not any(path.is_relative_to(folder) for folder in allowed):
                    return self.refuse(url, f"{path} is outside the template folders")
            elif parsed.scheme != "data":
                return self.refuse(url, f"letters fetch nothing from {parsed.scheme or 'relative'} URLs")
            try:
                return super().fetch(url, headers)
            except Exception as error:  # a missing image is as much a hole in the letter as a refused one
                return self.refuse(url, str(error))

        def refuse(self, url: str, reason: str) -> Any:
            shown = url if len(url) <= 120 else url[:120] + "…"
            self.refused.append(f"the resource {shown} was refused ({reason})")
            raise ValueError(f"refused: {reason}")

    return TemplateFolderFetcher(allowed_protocols=("data", "file"))

