"""Rendering: a letter draft laid out as HTML, PDF (WeasyPrint) or DOCX (docxtpl), in a sandbox."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import posixpath
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from babel.dates import format_date
from jinja2 import (
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
    pass_context,
)
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment

from letterforge.clauses import render_clause
from letterforge.diagnostics import UserError
from letterforge.drafts import LetterDraft
from letterforge.fonts import covered_characters, font_configuration
from letterforge.money import capital_numerals, format_money
from letterforge.pdffonts import compact_cid_fonts
from letterforge.phrasing import period_span
from letterforge.proof import ProofReport, proof_letter, read_docx, read_pdf_metadata
from letterforge.shipped import shipped_folder

log = logging.getLogger(__name__)

PROJECT_TEMPLATES = shipped_folder("templates")


def _locale_of(context: Mapping[str, Any]) -> str:
    letter = context.get("letter")
    return str(letter["locale"]) if isinstance(letter, dict) else "zh-CN"


@pass_context
def money_filter(context: Mapping[str, Any], amount: Decimal) -> str:
    return format_money(amount, str(context.get("currency", "CNY")), _locale_of(context))


@pass_context
def date_filter(context: Mapping[str, Any], day: date | None) -> str:
    if day is None:
        return ""
    return format_date(day, "long", locale=_locale_of(context).replace("-", "_"))


def capitals_filter(amount: Decimal) -> str:
    return capital_numerals(amount)


def percent_filter(rate: Decimal, places: int = 4) -> str:
    """A fraction as a percentage without trailing zeros: 0.0003 -> 0.03%."""
    return f"{(rate * 100).quantize(Decimal(1).scaleb(-places)).normalize():f}%"


class LetterEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with compiled string templates kept: clause texts and DOCX parts are the
    same for every letter of a run, only their values change."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._compiled: dict[str, Any] = {}

    def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Any:
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        if source not in self._compiled:
            if len(self._compiled) > 512:
                self._compiled.clear()
            self._compiled[source] = super().from_string(source)
        return self._compiled[source]


def inside_folders(path: Path | str, folders: list[Path]) -> bool:
    """Whether `path`, symlinks and `..` resolved, is inside one of the folders (themselves resolved)."""
    real = Path(os.path.realpath(path))
    return any(real.is_relative_to(os.path.realpath(folder)) for folder in folders)


class TemplateRefused(TemplateNotFound):
    """A template file that exists but resolves outside the template folders."""


class FolderBoundLoader(FileSystemLoader):
    """Jinja's file loader, refusing a template that resolves (through a symlink) outside the
    template folders, before reading it: a workspace template cannot include /etc/passwd."""

    def __init__(self, folders: list[Path]) -> None:
        super().__init__([str(d) for d in folders])
        self.folders = folders

    def get_source(self, environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)
        for folder in self.searchpath:
            filename = posixpath.join(folder, *pieces)
            if os.path.isfile(filename):
                if not inside_folders(filename, self.folders):
                    raise TemplateRefused(template, f"template {template} ({filename}) is refused: it resolves to "
                                                     f"{os.path.realpath(filename)}, outside the template folders")
                break
        return super().get_source(environment, template)


def make_environment(template_dirs: list[Path], autoescape: bool = True) -> LetterEnvironment:
    """The Jinja environment for templates and clauses: sandboxed, escaped, strict."""
    environment = LetterEnvironment(
        loader=FolderBoundLoader(template_dirs),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(money=money_filter, date=date_filter, capitals=capitals_filter,
                               percent=percent_filter)
    # The summary box's span of periods, phrased as the clause variable statement.period_span is.
    environment.globals["period_span"] = lambda first, last: period_span([first, last], "zh-CN")
    return environment


def template_error(error: TemplateError, template_dirs: list[Path]) -> UserError:
    """Name the template file and line (and, for a missing value, the variable)."""
    if isinstance(error, TemplateSyntaxError):
        return UserError(f"{error.filename or error.name}:{error.lineno}: template error: {error.message}")
    location = ""
    trace = sys.exc_info()[2] if sys.exc_info()[1] is error else error.__traceback__
    while trace is not None:
        filename = trace.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".xml", ".docx")) or "/templates/" in filename:
            location = f"{filename}:{trace.tb_lineno}: "
        trace = trace.tb_next
    if isinstance(error, TemplateNotFound):
        # An include names the file and line that asked for it.
        if isinstance(error, TemplateRefused):
            return UserError(f"{location}{error.message}")
        where = ", ".join(str(d) for d in template_dirs)
        return UserError(f"{location}template {error.name} not found in {where}")
    kind = "undefined variable" if isinstance(error, UndefinedError) else "template error"
    return UserError(f"{location}{kind}: {error.message or error}")


class _VisibleText(HTMLParser):
    """Collects the text a reader will see, to check every character has a glyph."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("style", "script", "title"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


class LetterRenderer:
    """Loads templates and fonts once, then renders any number of letters in one process."""

    def __init__(self, template_dirs: list[Path], files: TemplateFiles | None = None) -> None:
        """`files`: lay letters out from these files alone, never from the disk (a cluster's worker,
        which has the letter's HTML and the batch's template folders, not the workspace)."""
        self.template_dirs = [d for d in template_dirs if d.is_dir()]
        self.files = files
        self.environment = make_environment(self.template_dirs)
        # Clauses are filled as plain text: the letter template escapes them once, when it lays them out.
        self.clause_environment = make_environment(self.template_dirs, autoescape=False)

    @property
    def font_config(self) -> Any:
        return font_configuration()

    @property
    def covered_characters(self) -> frozenset[int]:
        return covered_characters()

    def check_glyphs(self, html: str, what: str) -> None:
        """A character the fonts cannot draw is an error, never a blank box in a letter."""
        parser = _VisibleText()
        parser.feed(html)
        text = "".join(parser.parts)
        missing = sorted({c for c in text if not c.isspace() and ord(c) not in self.covered_characters})
        if missing:
            shown = ", ".join(f"{c!r} (U+{ord(c):04X})" for c in missing)
            raise UserError(f"{what}: the letter fonts have no glyph for {shown}; correct the data or install a "
                            "font that has them")

    def context_for(self, draft: LetterDraft) -> dict[str, Any]:
        context = dict(draft.context)
        try:
            context["clauses"] = {
                clause.slot: {"id": clause.id, "version": clause.version, "status": clause.status,
                              "paragraphs": render_clause(self.clause_environment, clause, draft.context)}
                for clause in draft.clauses
            }
        except TemplateError as error:
            raise template_error(error, self.template_dirs) from None
        context["clause_order"] = [clause.slot for clause in draft.clauses]
        context["clause_versions"] = draft.clause_versions
        context["draft_watermark"] = draft.draft_clauses
        return context

    def render_html(self, draft: LetterDraft) -> str:
        name = f"{draft.locale}/{draft.kind.value}.html"
        try:
            return self.environment.get_template(name).render(self.context_for(draft))
        except TemplateError as error:
            raise template_error(error, self.template_dirs) from None

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
        return self.render_proofread(draft, "pdf")[0]

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

    def pdf_proofread(self, draft: LetterDraft, html: str) -> tuple[bytes, ProofReport]:
        """The letter's HTML (from `render_html`) as a PDF, and what the proof-reader found in it."""
        self.check_glyphs(html, f"{draft.account.account_id} {draft.kind.value}")
        self.url_fetcher.refused.clear()
        document = self.layout(html)
        content = bytes(document.write_pdf(custom_metadata=True, finisher=compact_cid_fonts))
        if self.url_fetcher.refused:
            # WeasyPrint only logs a resource it could not fetch; a letter with a hole in it must not go out.
            raise UserError(f"{draft.account.account_id} {draft.kind.value} ({draft.locale}/{draft.kind.value}"
                            f".html and what it includes): {'; '.join(self.url_fetcher.refused)}; remove it "
                            "from the template or put the file in the template folder")
        return content, proof_letter(draft, html, document, read_pdf_metadata(content))

    def docx_template(self, draft: LetterDraft) -> Path:
        """The most specific DOCX template: <locale>/<kind>.docx, <locale>/letter.docx, letter.docx."""
        names = (f"{draft.locale}/{draft.kind.value}.docx", f"{draft.locale}/letter.docx", "letter.docx")
        for name in names:
            for folder in self.template_dirs:
                if (folder / name).is_file():
                    if not inside_folders(folder / name, self.template_dirs):
                        raise UserError(f"{folder / name}: refused, it resolves to {os.path.realpath(folder / name)}, "
                                        "outside the template folders")
                    return folder / name
        raise UserError(f"no DOCX template ({', '.join(names)}) in {', '.join(str(d) for d in self.template_dirs)}")

    def docx_context(self, draft: LetterDraft, template: Any) -> dict[str, Any]:
        """The HTML context plus what Word needs pre-laid: labels, body paragraphs, signature."""
        from docxtpl import InlineImage, RichText
        from docx.shared import Mm

        context = self.context_for(draft)
        labels: Any = self.environment.get_template(f"{draft.locale}/labels.html").module
        creditor, firm = context["creditor"], context["law_firm"]
        kind, creditor_type = draft.kind.value, creditor["type"]
        chinese = draft.locale.startswith("zh")
        body: list[Any] = []
        for clause in draft.clauses:
            for paragraph in context["clauses"][clause.slot]["paragraphs"]:
                rich = RichText()
                for text, bold in paragraph:
                    rich.add(text, bold=bold)
                body.append({"text": rich, "boxed": False})
            if clause.slot in ("statement_of_debt", "facts"):
                body.extend({"text": line, "boxed": True} for line in self._docx_summary(context, labels))
        if firm:
            letterhead = {"name": firm["name"], "details": f"{firm['address']}{labels.sep}{labels.phone} {firm['phone']}",
                          "on_behalf": (f"受{creditor['name']}委托" if chinese
                                        else f"Solicitors acting for {creditor['name']}"
                                             + (f" (company no. {creditor['company_number']})"
                                                if creditor.get("company_number") else ""))}
            if not chinese:
                letterhead["details"] += "\n" + uk_disclosures(labels, creditor, firm)
            signature = ([firm["name"], "（盖章）", f"承办律师：{firm['lawyer']}", f"执业证号：{firm['certificate_number']}"]
                         if chinese else [f"{context['closing']},", "", firm["lawyer"],
                                          f"For and on behalf of {firm['name']}", firm["certificate_number"]])
        else:
            hours = f"{labels.sep}{creditor['office_hours']}" if creditor["office_hours"] else ""
            letterhead = {"name": creditor["name"], "on_behalf": "",
                          "details": f"{creditor['address']}{labels.sep}{labels.phone} {creditor['phone']}{hours}"}
            if not chinese and creditor.get("company_number"):
                letterhead["details"] += "\n" + uk_disclosures(labels, creditor, None)
            signer = context["signatory"]
            signature = ([creditor["name"] + (f"{labels.sep}{signer}" if signer else ""), labels.seal] if chinese
                         else [f"{context['closing']},", "", signer or "Credit Control",
                               f"For and on behalf of {creditor['name']}"])
        if chinese:
            signature.append(date_filter(context, draft.issued_on))
        online = context["payment"]["online"]
        if online:
            import segno

            image = io.BytesIO()
            segno.make(online["url"], error="m").save(image, kind="png", scale=6, border=2)
            image.seek(0)
            online = {**online, "qr": InlineImage(template, image, width=Mm(30))}
        address = context["debtor"]["address"]
        return {**context, "t": labels, "title": str(labels.kind_title(kind, creditor_type)), "body": body,
                "chinese": chinese, "address_lines": [address] if chinese else address.split(", "),
                "sender": firm or creditor, "capped": any(line["late_fee_capped"] for line in context["statement"]["lines"]),
                "letterhead": letterhead, "signature": signature, "payment": {**context["payment"], "online": online}}

    @staticmethod
    def _docx_summary(context: dict[str, Any], labels: Any) -> list[Any]:
        from docxtpl import RichText

        total = money_filter(context, context["total"])
        statement = context["statement"]
        lines = [RichText(f"{labels.total_due}{total}", bold=True)]
        if context["total_capitals"]:
            lines.append(RichText(f"{labels.capitals}{context['total_capitals']}", bold=True))
        # The same "made up of" line as the PDF's summary box, from the same labels.
        made_of = (f"{labels.of_which}{labels.principal} {money_filter(context, statement['principal'])}"
                   f"{labels.list_sep}{labels.late_fees} {money_filter(context, statement['late_fees'])}")
        if statement["compensation"]:
            made_of += f"{labels.list_sep}{labels.compensation} {money_filter(context, statement['compensation'])}"
        made_of += str(labels.periods_text(statement["periods"], statement["first_period"], statement["last_period"]))
        lines.append(RichText(made_of))
        lines.append(RichText(f"{labels.pay_by}{date_filter(context, context['letter']['deadline'])}", bold=True))
        waiver = context["waiver"]
        if waiver["offered"]:
            lines.append(RichText(str(labels.waiver_text(money_filter(context, waiver["amount"]),
                                                         date_filter(context, waiver["pay_by"]),
                                                         money_filter(context, waiver["total_after"])))))
        return lines

    def render_docx(self, draft: LetterDraft) -> bytes:
        from docxtpl import DocxTemplate

        path = self.docx_template(draft)
        template = DocxTemplate(str(path))
        context = self.docx_context(draft, template)
        self.check_glyphs(json.dumps(_plain(draft.context), ensure_ascii=False),
                          f"{draft.account.account_id} {draft.kind.value}")
        try:
            template.render(context, jinja_env=self.environment, autoescape=True)
            if draft.context.get("pre_action_protocol"):
                from letterforge.annexes import PROTOCOL_PAGES, append_protocol_annexes

                labels = context["t"]
                pages = [self.environment.get_template(name).render({**self.context_for(draft), "t": labels})
                         for name in PROTOCOL_PAGES]
                append_protocol_annexes(template.docx, pages, str(labels.enclosures), str(labels.protocol_enclosures))
        except TemplateError as error:
            raise UserError(f"{path}: {template_error(error, self.template_dirs)}") from None
        properties = template.docx.core_properties
        properties.title = f"{context['title']} {draft.reference}"
        properties.author = draft.context["creditor"]["name"]
        properties.subject = str(context["t"].subject(draft.kind.value, draft.context["creditor"]["type"]))
        properties.keywords = draft.reference
        # The reference only: clause ids name how the debtor is classed (…category_offer.wilful), and
        # the debtor can read a file's properties. The ledger and the manifest keep the clause versions.
        _set_custom_properties(template.docx, {"letterforge.reference": draft.reference})
        properties.language = draft.locale
        set_document_language(template.docx, draft.locale)
        moment = datetime(draft.issued_on.year, draft.issued_on.month, draft.issued_on.day)
        properties.created = properties.modified = moment
        properties.last_modified_by = "letterforge"
        properties.comments = ""
        properties.revision = 1
        output = io.BytesIO()
        template.save(output)
        return output.getvalue()


def uk_disclosures(labels: Any, creditor: dict[str, Any], firm: dict[str, Any] | None) -> str:
    """The letterhead's legal lines of an English letter, as the PDF letterheads print them."""
    if firm is not None:
        line = str(labels.sra_line(firm["sra_number"]))
        if firm.get("company_number"):
            line += " " + str(labels.registration(firm["registered_in"], firm["company_number"], firm["registered_office"]))
        return line
    return f"{creditor['name']}. " + str(labels.registration(creditor["registered_in"], creditor["company_number"],
                                                             creditor["registered_office"]))


_CUSTOM_PROPERTIES_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
_CUSTOM_PROPERTIES_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"


def _set_custom_properties(document: Any, values: dict[str, str]) -> None:
    """Custom document properties (Word: File > Properties > Custom), which, unlike the core
    properties, hold values of any length: the clause versions a letter contains."""
    from xml.sax.saxutils import escape, quoteattr

    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    entries = "".join(
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{pid}" name={quoteattr(name)}>'
        f"<vt:lpwstr>{escape(value)}</vt:lpwstr></property>"
        for pid, (name, value) in enumerate(values.items(), start=2)
    )
    xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
           'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
           f"{entries}</Properties>")
    package = document.part.package
    part = Part(PackURI("/docProps/custom.xml"), _CUSTOM_PROPERTIES_TYPE, xml.encode("utf-8"), package)
    package.relate_to(part, _CUSTOM_PROPERTIES_REL)


def set_document_language(document: Any, locale: str) -> None:
    """The letter's language and East Asian language in the document defaults: Word and WPS choose
    spelling and fonts by them (python-docx's own default, en-US / ja-JP, takes Chinese for Japanese)."""
    from docx.oxml.ns import qn

    run_defaults = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    language = run_defaults.find(qn("w:lang"))
    if language is None:
        language = run_defaults.makeelement(qn("w:lang"), {})
        run_defaults.append(language)
    language.set(qn("w:val"), locale)
    language.set(qn("w:eastAsia"), "zh-CN")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "qr"}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


@dataclass(frozen=True, repr=False)
class TemplateFiles:
    """Every file of the template folders, by its path on the machine that read them, and the base
    URL of the letters: all that a letter's layout may fetch, for a worker that has no workspace."""

    base_url: str | None
    files: Mapping[str, bytes]
    digest: str  # of every path and content: the same folders give the same digest

    def __repr__(self) -> str:
        return f"TemplateFiles({len(self.files)} files, {self.digest[:12]})"


def read_template_files(renderer: LetterRenderer) -> TemplateFiles:
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


RENDERERS: dict[str, Callable[[LetterRenderer, LetterDraft], bytes]] = {
    "pdf": LetterRenderer.render_pdf,
    "docx": LetterRenderer.render_docx,
    "html": lambda renderer, draft: renderer.render_html(draft).encode("utf-8"),
}
