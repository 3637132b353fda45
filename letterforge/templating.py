"""The sandbox letters are written in: Jinja's immutable sandbox with autoescaping and strict
undefined values, the template folders (a workspace's own before the project's, none left through
a symlink), the filters (money, date, capitals, percent), template errors named by file and line,
and the base renderer: a letter's context with its clauses filled in, its HTML, and the glyph check
that every format runs before it writes a character."""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import sys
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from babel.dates import format_date
from jinja2 import (
    FileSystemBytecodeCache,
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

from letterforge.caches import cache_folder, private_folder
from letterforge.clauses import render_clause
from letterforge.diagnostics import UserError
from letterforge.drafts import LetterDraft
from letterforge.fonts import drawable_characters
from letterforge.money import capital_numerals, format_money
from letterforge.phrasing import period_span
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


TEMPLATES = "compiled templates"


class TemplateCache(FileSystemBytecodeCache):
    """Compiled templates on disk, so that a one-letter command does not compile the letter's
    templates again (a tenth of a second). Jinja keys an entry by the template's name and file
    and checks it against the SHA-1 of the source, so an edited template is compiled afresh.
    A damaged entry is compiled again and rewritten; an unwritable folder only costs the time."""

    def load_bytecode(self, bucket: Any) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception as error:  # noqa: BLE001 - a truncated or foreign file is a cache miss
            log.debug("compiled template %s not read: %s", bucket.key, error)
            bucket.reset()

    def dump_bytecode(self, bucket: Any) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as error:
            log.debug("compiled template %s not written: %s", bucket.key, error)


def template_cache(options: Mapping[str, Any]) -> TemplateCache | None:
    """The compiled-template cache for environments made with these options (those that change
    the compiled code: escaping, whitespace rules), in letterforge's cache folder."""
    import jinja2

    flavour = repr((jinja2.__version__, sys.version_info[:2], LetterEnvironment.__qualname__, sorted(options.items())))
    folder = cache_folder() / f"templates-{hashlib.sha256(flavour.encode()).hexdigest()[:16]}"
    if not (private_folder(folder.parent, TEMPLATES) and private_folder(folder, TEMPLATES)):
        return None
    return TemplateCache(str(folder))


class LetterEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with compiled string templates kept: clause texts and DOCX parts are the
    same for every letter of a run, only their values change (and, with a bytecode cache, the
    same from one run to the next)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._compiled: dict[str, Any] = {}

    def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Any:
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        if source not in self._compiled:
            if len(self._compiled) > 512:
                self._compiled.clear()
            self._compiled[source] = self.template_class.from_code(self, self._string_code(source),
                                                                   self.make_globals(None), None)
        return self._compiled[source]

    def _string_code(self, source: str) -> Any:
        """A string template's code, from the bytecode cache when it has one (keyed by the text)."""
        if self.bytecode_cache is None:
            return self.compile(source)
        bucket = self.bytecode_cache.get_bucket(self, "<string>", hashlib.sha256(source.encode()).hexdigest(), source)
        if bucket.code is None:
            bucket.code = self.compile(source)
            self.bytecode_cache.set_bucket(bucket)
        return bucket.code


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
    options = {"autoescape": autoescape, "trim_blocks": True, "lstrip_blocks": True, "keep_trailing_newline": True}
    environment = LetterEnvironment(
        loader=FolderBoundLoader(template_dirs),
        undefined=StrictUndefined,
        bytecode_cache=template_cache(options),
        **options,
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



class TemplateRenderer:
    """Loads the templates once, then fills any number of letters in one process: the part every
    format shares (the PDF and the DOCX renderers build on it)."""

    def __init__(self, template_dirs: list[Path]) -> None:
        self.template_dirs = [d for d in template_dirs if d.is_dir()]
        self.environment = make_environment(self.template_dirs)
        # Clauses are filled as plain text: the letter template escapes them once, when it lays them out.
        self.clause_environment = make_environment(self.template_dirs, autoescape=False)

    def check_glyphs(self, html: str, what: str) -> None:
        """A character the fonts cannot draw is an error, never a blank box in a letter."""
        parser = _VisibleText()
        parser.feed(html)
        text = "".join(parser.parts)
        drawable = drawable_characters()
        missing = sorted({c for c in text if not c.isspace() and ord(c) not in drawable})
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

