"""The proof-reader: what a legal department would strike out of a letter before it goes out.

Every letter is read here before it is written (`LetterFactory.render`, so `render` and the
batch alike), and any letter file can be read again with `letterforge proof FILE_OR_REF`.
The checks read what the debtor receives: the laid-out boxes WeasyPrint made (not the text
alone), the words in reading order, and the file's metadata. Each finding says which check,
where, and what it saw.
"""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from letterforge.pdfinfo import document_information
from letterforge.records import DebtorCategory

# -- what is read ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One thing the proof-reader would not let go out."""

    check: str
    message: str
    where: str = ""

    def __str__(self) -> str:
        return f"{self.where + ': ' if self.where else ''}{self.check}: {self.message}"


@dataclass(frozen=True)
class LetterText:
    """A letter as the proof-reader reads it, whatever format it came in.

    prose: the blocks read as sentences (body, summary box, notes); schedules: the text of the
    schedules and return slip (tables included), where figures are looked up; pages: the text of
    each page where the format has pages; metadata: every property and hidden attribute a
    reader of the file can see in a viewer or an editor.
    """

    prose: tuple[str, ...]
    schedules: str
    metadata: tuple[tuple[str, str], ...]
    pages: tuple[str, ...] = ()
    reference: str = ""
    closing: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProofReport:
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self, what: str, stopped: bool = True) -> str:
        lines = "\n".join(f"  {finding}" for finding in self.findings)
        verdict = "stopped the letter" if stopped else "found"
        return f"{what}: the proof-reader {verdict} ({len(self.findings)} problem(s)):\n{lines}"


# -- the rules, kept as data ----------------------------------------------------------------------

_JOIN_ZH = re.compile(r"(?<=[^\x00-\x7f])\s+(?=[^\x00-\x7f])")
# A value left out: a connecting word followed straight by punctuation ("最近一次为，", "dated .").
EMPTY_VALUE = (
    re.compile(r"(?:为|于|是|自|至|共|约|：)\s*[，。；、）)]"),
    re.compile(r"[（(]\s*[）)]"),
    re.compile(r"\b(?:dated|on|of|from|to|since|for|by|at|is|was|were|the|and)\s+[.,;:)]"),
    re.compile(r"\b(?:None|null|nan|undefined)\b"),
)
# A count of nothing stated as a fact: "0次", "0个月", "0 written demands".
ZERO_COUNT = (
    re.compile(r"(?<![\d.,，])[0０零]\s*(?:次|个月|个季度|季度|期|笔|张|份|封|个)"),
    re.compile(r"(?<![\d.,])\b0\s+(?:(?:written|earlier|previous|formal)\s+)?"
               r"(?:demands?|reminders?|letters?|invoices?|months?|quarters?|periods?|times|instalments?)\b", re.I),
)
# A span whose two ends are the same: "2026-10至2026-10", "2026年第2季度至2026年第2季度", "10月至10月".
EQUAL_SPAN = (
    re.compile(r"(?<![0-9０-９A-Za-z])([0-9０-９A-Za-z][0-9０-９A-Za-z年月日第季度期号\-/.]*)\s*(?:至|到|～|~|—|－)\s*\1"
               r"(?![0-9０-９A-Za-z年月日季度])"),
    re.compile(r"\b([\w\-/]+(?: \d{4})?) (?:to|until|through|–|-) \1\b"),
)
ISO_DATE = re.compile(r"(?<![\d\-/.])\d{4}[-/]\d{1,2}(?:[-/]\d{1,2})?(?![\d\-/])")
RAW_CODE = (
    re.compile(r"\b[a-z]+_[a-z_]+\b"),  # an internal name: sole_trader, category_offer
    re.compile(r"\b(?:True|False|Decimal\(|datetime\.)"),
    re.compile(r"\{\{|\}\}|\{%|%\}"),
    re.compile(r"(?<![\w\-])[A-Z]{2,6}-\d{4}-\d{3,}(?![\w\-])"),  # an invoice number in a sentence: INV-2025-0137
)
MONEY = re.compile(r"[¥£€$]\s?-?[\d,]+\.\d{2}")
# What the debtor must never read in a file's properties: how we class them, and our clause ids.
CLASSIFICATION_WORDS = tuple(sorted({c.value for c in DebtorCategory} | {
    "category", "遗忘", "误解", "经济困难", "困难户", "争议", "整改", "服务不满", "恶意", "拖欠户"}))
CLAUSE_ID = re.compile(r"(?:zh-CN|en-GB|en-US)\.[\w.]+|@\d+\.\d+\.\d+|letterforge\.clause", re.I)
COUNT_HINT = re.compile(r"(?:^|[._])(?:periods|months|quarters|count|sent|demands|reminders|invoices)(?:$|[._])")
CLOSING_WORDS = ("Yours faithfully", "Yours sincerely", "（盖章）", "盖章", "承办律师", "For and on behalf of")


def _flat(text: str) -> str:
    """One line, with the spaces a PDF or a wrapped paragraph puts between Chinese characters removed."""
    return _JOIN_ZH.sub("", re.sub(r"\s+", " ", text)).strip()


def _excerpt(text: str, match: re.Match[str], width: int = 18) -> str:
    start, end = max(0, match.start() - width), min(len(text), match.end() + width)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


# -- the checks on text ----------------------------------------------------------------------------

TextCheck = Callable[[LetterText], Iterator[Finding]]
TEXT_CHECKS: dict[str, TextCheck] = {}


def text_check(name: str) -> Callable[[TextCheck], TextCheck]:
    def register(function: TextCheck) -> TextCheck:
        TEXT_CHECKS[name] = function
        return function
    return register


def _prose_matches(letter: LetterText, patterns: Iterable[re.Pattern[str]]) -> Iterator[tuple[str, re.Match[str]]]:
    for block in letter.prose:
        flat = _flat(block)
        for pattern in patterns:
            for match in pattern.finditer(flat):
                yield flat, match


@text_check("empty-value")
def _empty_values(letter: LetterText) -> Iterator[Finding]:
    for flat, match in _prose_matches(letter, EMPTY_VALUE):
        yield Finding("empty-value", f"a value is missing: “{_excerpt(flat, match)}”", "text")


@text_check("zero-count")
def _zero_counts(letter: LetterText) -> Iterator[Finding]:
    for flat, match in _prose_matches(letter, ZERO_COUNT):
        yield Finding("zero-count", f"states a count of nothing: “{_excerpt(flat, match)}”", "text")


@text_check("equal-span")
def _equal_spans(letter: LetterText) -> Iterator[Finding]:
    for flat, match in _prose_matches(letter, EQUAL_SPAN):
        yield Finding("equal-span", f"a span whose two ends are the same ({match.group(1)}): "
                                    f"“{_excerpt(flat, match)}”", "text")


@text_check("iso-date")
def _iso_dates(letter: LetterText) -> Iterator[Finding]:
    for flat, match in _prose_matches(letter, (ISO_DATE,)):
        yield Finding("iso-date", f"a date or month written as a code ({match.group(0)}) in prose: "
                                  f"“{_excerpt(flat, match)}”", "text")


@text_check("raw-code")
def _raw_codes(letter: LetterText) -> Iterator[Finding]:
    for flat, match in _prose_matches(letter, RAW_CODE):
        if letter.reference and match.group(0) in letter.reference:
            continue
        yield Finding("raw-code", f"a raw code ({match.group(0)}) in prose: “{_excerpt(flat, match)}”", "text")


@text_check("figures")
def _figures_in_schedules(letter: LetterText) -> Iterator[Finding]:
    schedules = re.sub(r"\s+", "", letter.schedules)
    if not schedules:
        return
    seen: set[str] = set()
    for block in letter.prose:
        for match in MONEY.finditer(block):
            figure = re.sub(r"\s+", "", match.group(0))
            if figure not in schedules and figure not in seen:
                seen.add(figure)
                yield Finding("figures", f"{match.group(0)} is stated in the letter but appears in no schedule",
                              "text")


@text_check("closing-alone")
def _closing_alone(letter: LetterText) -> Iterator[Finding]:
    """A page (read as text) with nothing on it but the closing and signature."""
    for number, page in enumerate(letter.pages, start=1):
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        body = [line for line in lines
                if not re.fullmatch(r"\d+\s*/\s*\d+", line)
                and not (letter.reference and letter.reference in line and len(line) < len(letter.reference) + 20)]
        if not body or not any(word in line for line in body for word in CLOSING_WORDS):
            continue
        closing = set(letter.closing)
        rest = [line for line in body if line not in closing and not any(word in line for word in CLOSING_WORDS)]
        if len(rest) <= 3 and sum(len(line) for line in rest) < 160:
            yield Finding("closing-alone", "the page holds only the closing and signature", f"page {number}")


@text_check("metadata")
def _metadata(letter: LetterText) -> Iterator[Finding]:
    for key, value in letter.metadata:
        shown = f"{key}={value[:60]}"
        if CLAUSE_ID.search(key) or CLAUSE_ID.search(value):
            yield Finding("metadata", f"clause ids in the file's properties ({shown})", "metadata")
            continue
        words = re.findall(r"[A-Za-z_]+|[^\x00-\x7f]+", f"{key} {value}")
        lowered = {w.lower() for w in words}
        hit = [w for w in CLASSIFICATION_WORDS
               if (w.isascii() and w in lowered) or (not w.isascii() and w in value)]
        if hit:
            yield Finding("metadata", f"an internal classification ({', '.join(hit)}) in the file's properties "
                                      f"({shown})", "metadata")


# -- the checks on the letter's data (when the letter is made here) -----------------------------

def _resolve(context: Mapping[str, Any], dotted: str) -> tuple[bool, Any]:
    value: Any = context
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False, None
        value = value[part]
    return True, value


def check_values(draft: Any) -> list[Finding]:
    """Every variable a clause of the letter states must have a value, and a count it states must
    not be zero (a clause that needs an earlier letter has no place in a letter without one)."""
    findings: list[Finding] = []
    for clause in draft.clauses:
        for variable in clause.variables:
            known, value = _resolve(draft.context, variable)
            if not known:
                continue
            where = f"clause {clause.slot}"
            if value is None or (isinstance(value, (str, list, tuple, dict)) and not value):
                findings.append(Finding("empty-value", f"states {{{{ {variable} }}}}, which is empty for this "
                                                       "account", where))
            elif isinstance(value, int) and not isinstance(value, bool) and value == 0 and COUNT_HINT.search(variable):
                findings.append(Finding("zero-count", f"states {{{{ {variable} }}}}, which is 0 for this account",
                                        where))
    return findings


def check_statement_figures(draft: Any, letter: LetterText) -> list[Finding]:
    """The statement's figures (total, principal, interest and fees, each item) are all in the schedules."""
    from letterforge.money import format_money

    statement = draft.letter.statement
    currency, locale = draft.letter.currency, draft.locale
    figures = {"total": statement.total, "principal": statement.principal}
    for line in statement.lines:
        figures[f"item {line.period} outstanding"] = line.outstanding
    schedules = re.sub(r"\s+", "", letter.schedules)
    findings = []
    for name, amount in figures.items():
        shown = format_money(amount, currency, locale)
        if re.sub(r"\s+", "", shown) not in schedules:
            findings.append(Finding("figures", f"the {name} ({shown}) is not in the schedules", "schedules"))
    return findings


# -- the checks on laid-out boxes (WeasyPrint) -------------------------------------------------------

_TOLERANCE = 0.75  # CSS px: rounding of borders and sub-pixel positions


def _classes(box: Any) -> set[str]:
    element = getattr(box, "element", None)
    if element is None:
        return set()
    return set((element.get("class") or "").split())


def check_layout(document: Any) -> list[Finding]:
    """From WeasyPrint's laid-out pages: no box beyond the page's content area (a column cut off at
    the page edge, a row taller than a page), and no page that holds only the closing."""
    findings: list[Finding] = []
    for number, page in enumerate(document.pages, start=1):
        page_box = page._page_box
        left, top = page_box.content_box_x(), page_box.content_box_y()
        right, bottom = left + page_box.width, top + page_box.height
        root = next((child for child in page_box.children if getattr(child, "element_tag", None) == "html"), None)
        if root is None:
            continue
        for box in _overflowing(root, (left, top, right, bottom)):
            box_right = box.border_box_x() + box.border_width()
            box_bottom = box.border_box_y() + box.border_height()
            excess = (f"{(box_right - right) * 25.4 / 96:.1f} mm past the right edge of the text area"
                      if box_right > right + _TOLERANCE or box.border_box_x() < left - _TOLERANCE
                      else f"{(box_bottom - bottom) * 25.4 / 96:.1f} mm below the text area")
            findings.append(Finding("page-bounds", f"<{getattr(box, 'element_tag', '?')}> “{_box_text(box)[:40]}” "
                                                   f"runs {excess}", f"page {number}"))
        findings.extend(_closing_only(root, number))
    return findings


def _overflowing(box: Any, area: tuple[float, float, float, float]) -> Iterator[Any]:
    """The outermost boxes (below <html> and <body>) that leave the content area; the fixed ones
    (the draft watermark) are meant to overlap and are left out."""
    if getattr(box, "style", None) is not None and box.style["position"] == "fixed":
        return
    if "watermark" in _classes(box):
        return
    from weasyprint.formatting_structure import boxes

    left, top, right, bottom = area
    box_left, box_top = box.border_box_x(), box.border_box_y()
    outside = box_left < left - _TOLERANCE or box_left + box.border_width() > right + _TOLERANCE
    # Lines and glyph boxes stand a little above their line (CJK ascent): only blocks are measured
    # against the top and bottom of the text area.
    if not isinstance(box, (boxes.LineBox, boxes.InlineLevelBox)):
        outside = outside or box_top < top - _TOLERANCE or box_top + box.border_height() > bottom + _TOLERANCE
    if outside and getattr(box, "element_tag", None) not in ("html", "body", None):
        yield box
        return
    for child in getattr(box, "children", ()):
        yield from _overflowing(child, area)


def _box_text(box: Any) -> str:
    if hasattr(box, "text"):
        return str(box.text)
    return "".join(_box_text(child) for child in getattr(box, "children", ()))


def _closing_only(root: Any, number: int) -> list[Finding]:
    body = next((child for child in root.children if getattr(child, "element_tag", None) == "body"), None)
    if body is None:
        return []
    blocks = [child for child in body.children if getattr(child, "element_tag", None) is not None
              and "watermark" not in _classes(child)]
    if not blocks:
        return []
    closing = {"signature", "enclosures"}
    if all(_classes(block) & closing for block in blocks) and any("signature" in _classes(b) for b in blocks):
        return [Finding("closing-alone", "the page holds only the closing and signature", f"page {number}")]
    return []


# -- reading a letter in each format ---------------------------------------------------------------

_BLOCK_TAGS = {"p", "div", "h1", "h2", "h3", "li", "tr", "section", "header", "table", "br"}


class _LetterHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.prose: list[str] = []
        self.schedules: list[str] = []
        self.closing: list[str] = []
        self.metadata: list[tuple[str, str]] = []
        self._current: list[str] = []
        self._stack: list[tuple[str, set[str]]] = []
        self._skip = 0
        self._title: list[str] = []
        self._in_title = False

    def _where(self) -> str:
        for _, classes in self._stack:
            if classes & {"schedule", "return-slip"}:
                return "schedules"
        for tag, classes in self._stack:
            if tag == "table":
                return "table"
        return "prose"

    def _flush(self) -> None:
        text = "".join(self._current).strip()
        self._current = []
        if not text:
            return
        where = self._where()
        if where == "schedules":
            self.schedules.append(text)
        elif where == "table":
            self.schedules.append(text)
        else:
            self.prose.append(text)
            if any(classes & {"signature"} for _, classes in self._stack):
                self.closing.append(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta" and values.get("content") is not None:
            self.metadata.append((values.get("name") or values.get("property") or "meta", values["content"] or ""))
        for name, value in attrs:
            if name.startswith("data-") and value:
                self.metadata.append((f"<{tag} {name}>", value))
        if tag in ("style", "script"):
            self._skip += 1
            return
        if tag == "title":
            self._in_title = True
            return
        if tag in ("meta", "img", "link", "br", "hr", "input"):
            if tag == "br":
                self._current.append(" ")
            return
        if tag in _BLOCK_TAGS or tag in ("td", "th"):
            self._flush()
        self._stack.append((tag, set((values.get("class") or "").split())))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1
            return
        if tag == "title":
            self._in_title = False
            self.metadata.append(("title", "".join(self._title).strip()))
            return
        if tag in _BLOCK_TAGS or tag in ("td", "th"):
            self._flush()
        while self._stack:
            open_tag, _ = self._stack.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._in_title:
            self._title.append(data)
            return
        self._current.append(data)


def read_html(html: str, reference: str = "") -> LetterText:
    parser = _LetterHTML()
    parser.feed(html)
    parser.close()
    parser._flush()
    if not reference:
        reference = next((value for key, value in parser.metadata if key == "LetterforgeReference"), "")
    return LetterText(tuple(parser.prose), "\n".join(parser.schedules), tuple(parser.metadata),
                      reference=reference, closing=tuple(parser.closing))


def read_pdf(content: bytes) -> LetterText:
    """A PDF file: the pages before the first schedule (by its bookmark) are the letter's prose."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    metadata = [(str(key), str(value)) for key, value in (reader.metadata or {}).items()]
    pages = []
    for number in range(1, len(reader.pages) + 1):
        done = subprocess.run(["pdftotext", "-layout", "-f", str(number), "-l", str(number), "-", "-"],
                              input=content, capture_output=True, check=True)
        pages.append(done.stdout.decode("utf-8"))
    first_schedule = len(pages)
    outline = [item for item in reader.outline if not isinstance(item, list)]
    if len(outline) >= 2:
        start = reader.get_destination_page_number(outline[1])
        first_schedule = first_schedule if start is None else start
    title = next((value for key, value in metadata if key == "/Title"), "")
    reference = title.split(" ", 1)[1] if " " in title else ""
    prose: list[str] = []
    for page in pages[:first_schedule]:
        prose.extend(block for block in re.split(r"\n\s*\n", page) if block.strip())
    return LetterText(tuple(prose), "\n".join(pages[first_schedule:]), tuple(metadata), tuple(pages), reference)


def read_pdf_metadata(content: bytes) -> LetterText:
    """Only the document information of a PDF (what a viewer's Properties dialog shows): read
    without pypdf from a file as WeasyPrint writes it (pdfinfo), by pypdf from any other."""
    information = document_information(content)
    if information is None:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(content))
        information = tuple((str(key), str(value)) for key, value in (reader.metadata or {}).items())
    return LetterText((), "", information)


def read_docx(content: bytes) -> LetterText:
    """A DOCX file: paragraphs up to the first schedule heading are prose; tables and what follows
    are the schedules; every part under docProps/ is metadata."""
    from docx import Document

    document = Document(io.BytesIO(content))
    prose: list[str] = []
    schedules: list[str] = []
    in_schedules = False
    for paragraph in document.paragraphs:
        if paragraph.style is not None and paragraph.style.name.startswith("Heading 1"):
            in_schedules = True
        text = paragraph.text.strip()
        if text:
            (schedules if in_schedules else prose).append(text)
    for table in document.tables:
        schedules.extend(cell.text for row in table.rows for cell in row.cells)
    metadata: list[tuple[str, str]] = []
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        for name in package.namelist():
            if name.startswith("docProps/") and name.endswith(".xml"):
                for element in ElementTree.fromstring(package.read(name)).iter():
                    tag = element.tag.rsplit("}", 1)[-1]
                    if element.text and element.text.strip():
                        metadata.append((f"{name}:{tag}", element.text.strip()))
                    for key, value in element.attrib.items():
                        if key == "name":
                            metadata.append((f"{name}:{tag}@name", value))
    core = document.core_properties
    reference = (core.keywords or "").strip()
    return LetterText(tuple(prose), "\n".join(schedules), tuple(metadata), reference=reference)


def read_letter(content: bytes, file_format: str) -> LetterText:
    if file_format == "pdf":
        return read_pdf(content)
    if file_format == "docx":
        return read_docx(content)
    if file_format == "html":
        return read_html(content.decode("utf-8"))
    raise ValueError(f"the proof-reader reads pdf, docx and html, not {file_format}")


# -- entry points ------------------------------------------------------------------------------------

def proof_text(letter: LetterText) -> list[Finding]:
    findings: list[Finding] = []
    for check in TEXT_CHECKS.values():
        findings.extend(check(letter))
    return findings


def proof_letter(draft: Any, html: str, document: Any = None, file_text: LetterText | None = None) -> ProofReport:
    """Everything the proof-reader checks on a letter made here: its data, its words (from the very
    HTML it was laid out from), its layout (when it was laid out) and the metadata of the file."""
    letter = read_html(html, draft.reference)
    findings = check_values(draft) + proof_text(letter) + check_statement_figures(draft, letter)
    if document is not None:
        findings += check_layout(document)
    if file_text is not None:
        findings += list(_metadata(file_text))
    return ProofReport(_unique(findings))


def proof_file(content: bytes, file_format: str, layout: Callable[[str], Any] | None = None) -> ProofReport:
    """A letter file read back. An HTML file is laid out again (by `layout`, which fetches nothing
    outside the template folders) for the box checks; a PDF's pages are read as text."""
    letter = read_letter(content, file_format)
    findings = proof_text(letter)
    if file_format == "html" and layout is not None:
        findings += check_layout(layout(content.decode("utf-8")))
    return ProofReport(_unique(findings))


def format_of(path: Path) -> str:
    return path.suffix.lower().lstrip(".")


def _unique(findings: list[Finding]) -> tuple[Finding, ...]:
    seen: dict[str, Finding] = {}
    for finding in findings:
        seen.setdefault(str(finding), finding)
    return tuple(seen.values())
