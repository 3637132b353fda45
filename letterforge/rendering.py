"""Rendering: a letter draft laid out as HTML, PDF (WeasyPrint) or DOCX (docxtpl), in a sandbox."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import sys
from collections.abc import Callable
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
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup

from letterforge.clauses import render_clause
from letterforge.diagnostics import UserError
from letterforge.drafts import LetterDraft
from letterforge.money import capital_numerals, format_money

log = logging.getLogger(__name__)

PROJECT_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
# Every font stack of the letters names these; the glyph check reads their character maps.
LETTER_FONTS = ("Noto Serif CJK SC", "Noto Sans CJK SC")


def _locale_of(context: Context) -> str:
    letter = context.get("letter")
    return str(letter["locale"]) if isinstance(letter, dict) else "zh-CN"


@pass_context
def money_filter(context: Context, amount: Decimal) -> str:
    return format_money(amount, str(context.get("currency", "CNY")), _locale_of(context))


@pass_context
def date_filter(context: Context, day: date | None) -> str:
    if day is None:
        return ""
    return format_date(day, "long", locale=_locale_of(context).replace("-", "_"))


def capitals_filter(amount: Decimal) -> str:
    return capital_numerals(amount)


def percent_filter(rate: Decimal, places: int = 4) -> str:
    """A fraction as a percentage without trailing zeros: 0.0003 -> 0.03%."""
    return f"{(rate * 100).quantize(Decimal(1).scaleb(-places)).normalize():f}%"


def make_environment(template_dirs: list[Path]) -> ImmutableSandboxedEnvironment:
    """The one Jinja environment for templates and clauses: sandboxed, escaped, strict."""
    environment = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader([str(d) for d in template_dirs]),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(money=money_filter, date=date_filter, capitals=capitals_filter,
                               percent=percent_filter)
    return environment


def template_error(error: TemplateError, template_dirs: list[Path]) -> UserError:
    """Name the template file and line (and, for a missing value, the variable)."""
    if isinstance(error, TemplateSyntaxError):
        return UserError(f"{error.filename or error.name}:{error.lineno}: template error: {error.message}")
    if isinstance(error, TemplateNotFound):
        where = ", ".join(str(d) for d in template_dirs)
        return UserError(f"template {error.name} not found in {where}")
    location = ""
    trace = sys.exc_info()[2] if sys.exc_info()[1] is error else error.__traceback__
    while trace is not None:
        filename = trace.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".xml", ".docx")) or "/templates/" in filename:
            location = f"{filename}:{trace.tb_lineno}: "
        trace = trace.tb_next
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


def _font_file(family: str) -> tuple[str, int] | None:
    found = subprocess.run(["fc-match", "-f", "%{family}|%{file}|%{index}", family],
                           capture_output=True, text=True, check=False).stdout
    names, _, rest = found.partition("|")
    file, _, index = rest.partition("|")
    if family.lower() not in names.lower() or not file:
        return None
    return file, int(index or 0)


class LetterRenderer:
    """Loads templates and fonts once, then renders any number of letters in one process."""

    def __init__(self, template_dirs: list[Path]) -> None:
        self.template_dirs = [d for d in template_dirs if d.is_dir()]
        self.environment = make_environment(self.template_dirs)

    @cached_property
    def font_config(self) -> Any:
        from weasyprint.text.fonts import FontConfiguration

        return FontConfiguration()

    @cached_property
    def covered_characters(self) -> frozenset[int]:
        """Every code point that the letter fonts can draw."""
        from fontTools.ttLib import TTFont

        covered: set[int] = set()
        missing_fonts = []
        for family in LETTER_FONTS:
            located = _font_file(family)
            if located is None:
                missing_fonts.append(family)
                continue
            font = TTFont(located[0], fontNumber=located[1], lazy=True)
            covered.update(font.getBestCmap())
        if missing_fonts:
            raise UserError(f"font {', '.join(missing_fonts)} is not installed: run `letterforge doctor`")
        return frozenset(covered)

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
                              "paragraphs": render_clause(self.environment, clause, draft.context)}
                for clause in draft.clauses
            }
        except TemplateError as error:
            raise template_error(error, self.template_dirs) from None
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
        return make_url_fetcher(self.template_dirs)

    def render_pdf(self, draft: LetterDraft) -> bytes:
        from weasyprint import HTML

        html = self.render_html(draft)
        self.check_glyphs(html, f"{draft.account.account_id} {draft.kind.value}")
        document = HTML(string=html, url_fetcher=self.url_fetcher,
                        base_url=self.template_dirs[-1].as_uri() + "/" if self.template_dirs else None)
        return bytes(document.write_pdf(font_config=self.font_config, custom_metadata=True))

    def render_docx(self, draft: LetterDraft) -> bytes:
        from docxtpl import DocxTemplate, InlineImage
        from docx.shared import Mm

        name = f"{draft.locale}/{draft.kind.value}.docx"
        path = next((d / name for d in self.template_dirs if (d / name).is_file()), None)
        if path is None:
            path = next((d / f"{draft.locale}/letter.docx" for d in self.template_dirs
                         if (d / f"{draft.locale}/letter.docx").is_file()), None)
        if path is None:
            raise UserError(f"no DOCX template {name} (or {draft.locale}/letter.docx) in "
                            f"{', '.join(str(d) for d in self.template_dirs)}")
        template = DocxTemplate(str(path))
        context = self.context_for(draft)
        online = context["payment"]["online"]
        if online:
            import segno

            image = io.BytesIO()
            segno.make(online["url"], error="m").save(image, kind="png", scale=6, border=2)
            image.seek(0)
            context["payment"] = {**context["payment"], "online": {**online, "qr": InlineImage(template, image, width=Mm(30))}}
        self.check_glyphs(json.dumps(_plain(context), ensure_ascii=False), f"{draft.account.account_id} {draft.kind.value}")
        try:
            template.render(context, jinja_env=self.environment, autoescape=True)
        except TemplateError as error:
            raise UserError(f"{path}: {template_error(error, self.template_dirs)}") from None
        properties = template.docx.core_properties
        properties.title = context["letter_title"] if "letter_title" in context else draft.reference
        properties.author = draft.context["creditor"]["name"]
        properties.subject = draft.reference
        properties.keywords = " ".join(f"{c['id']}@{c['version']}" for c in draft.clause_versions)
        properties.comments = json.dumps({"clauses": draft.clause_versions}, ensure_ascii=False)
        properties.language = draft.locale
        moment = datetime(draft.issued_on.year, draft.issued_on.month, draft.issued_on.day)
        properties.created = properties.modified = moment
        properties.last_modified_by = "letterforge"
        properties.revision = 1
        output = io.BytesIO()
        template.save(output)
        return output.getvalue()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "qr"}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


def make_url_fetcher(template_dirs: list[Path]) -> Any:
    """Letters fetch nothing from the network, and no file outside the template folders."""
    from weasyprint.urls import URLFetcher

    allowed = [d.resolve() for d in template_dirs]

    class TemplateFolderFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            parsed = urlparse(url)
            if parsed.scheme == "file":
                path = Path(unquote(parsed.path)).resolve()
                if not any(path.is_relative_to(folder) for folder in allowed):
                    raise ValueError(f"refused: {path} is outside the template folders")
            elif parsed.scheme != "data":
                raise ValueError(f"refused: letters fetch nothing from {parsed.scheme or 'relative'} URLs")
            return super().fetch(url, headers)

    return TemplateFolderFetcher(allowed_protocols=("data", "file"))


RENDERERS: dict[str, Callable[[LetterRenderer, LetterDraft], bytes]] = {
    "pdf": LetterRenderer.render_pdf,
    "docx": LetterRenderer.render_docx,
    "html": lambda renderer, draft: renderer.render_html(draft).encode("utf-8"),
}
