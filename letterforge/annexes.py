"""The Pre-Action Protocol's enclosures in a DOCX letter: the very pages the PDF carries, rebuilt
from their HTML templates (templates/en-GB/protocol/) as Word headings, paragraphs and tables."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

PROTOCOL_PAGES = ("en-GB/protocol/information_sheet.html", "en-GB/protocol/reply_form.html",
                  "en-GB/protocol/financial_statement.html")
TICK_BOX = "□ "
BLANK_LINE = "_" * 60


@dataclass
class Block:
    """One piece of an annex page: a heading (level 1 or 2), a paragraph, or a table of cell texts."""

    kind: str  # "h1", "h2", "p", "small", "table"
    text: str = ""
    bold_spans: list[tuple[str, bool]] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


class _AnnexParser(HTMLParser):
    """Reads the annex HTML into blocks; only the structure the annex templates use is understood."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks: list[Block] = []
        self._runs: list[tuple[str, bool]] | None = None
        self._kind = ""
        self._bold = 0
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag in ("style", "script"):
            self._skip += 1
        elif tag == "table":
            self._rows = []
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag == "td" and self._rows is not None:
            self._cell = []
        elif tag in ("strong", "b"):
            self._bold += 1
        elif tag == "h2":
            self._open("h1")
        elif tag == "h3":
            self._open("h2")
        elif tag == "p" or tag == "li":
            self._open("small" if "licence" in classes else "p", "• " if tag == "li" else "")
        elif tag == "div" and "intro" in classes:
            self._open("small")
        elif tag == "div" and "choice" in classes:
            self._open("p", TICK_BOX)
        elif tag == "div" and "line" in classes:
            self.blocks.append(Block("p", BLANK_LINE, [(BLANK_LINE, False)]))

    def _open(self, kind: str, prefix: str = "") -> None:
        self._kind = kind
        self._runs = [(prefix, False)] if prefix else []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1
        elif tag in ("strong", "b"):
            self._bold -= 1
        elif tag == "td" and self._cell is not None and self._rows:
            self._rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._rows is not None:
            self.blocks.append(Block("table", rows=[row for row in self._rows if row]))
            self._rows = None
        elif tag in ("h2", "h3", "p", "li", "div") and self._runs is not None:
            runs = [(re.sub(r"\s+", " ", text), bold) for text, bold in self._runs]
            while runs and not runs[0][0].strip():
                runs.pop(0)
            while runs and not runs[-1][0].strip():
                runs.pop()
            if runs:
                runs[0] = (runs[0][0].lstrip(), runs[0][1])
                runs[-1] = (runs[-1][0].rstrip(), runs[-1][1])
                self.blocks.append(Block(self._kind, "".join(t for t, _ in runs), runs))
            self._runs = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif self._runs is not None:
            self._runs.append((data, self._bold > 0))


def annex_blocks(html: str) -> list[Block]:
    parser = _AnnexParser()
    parser.feed(html)
    return parser.blocks


def append_protocol_annexes(document: Any, html_pages: list[str], enclosures: str, protocol_enclosures: str) -> None:
    """Each page after a page break; the enclosures line of the letter gains the three annexes."""
    from docx.enum.text import WD_BREAK
    from docx.shared import Mm, Pt

    for paragraph in document.paragraphs:
        if paragraph.text.strip() == enclosures.strip() and paragraph.runs:
            paragraph.runs[-1].text += protocol_enclosures
            break
    for html in html_pages:
        document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        for block in annex_blocks(html):
            if block.kind in ("h1", "h2"):
                document.add_heading(block.text, level=1 if block.kind == "h1" else 2)
            elif block.kind == "table":
                columns = max(len(row) for row in block.rows)
                grid = document.add_table(rows=len(block.rows), cols=columns)
                grid.style = "Table Grid"
                for row, texts in zip(grid.rows, block.rows):
                    for cell, text in zip(row.cells, texts):
                        cell.text = text
                        for run in cell.paragraphs[0].runs:
                            run.font.size = Pt(8.5)
                        cell.paragraphs[0].paragraph_format.space_after = Pt(0)
                    row.height = Mm(6)
            else:
                paragraph = document.add_paragraph()
                for text, bold in block.bold_spans:
                    run = paragraph.add_run(text)
                    run.bold = bold
                    run.font.size = Pt(7.5 if block.kind == "small" else 9.5)
                paragraph.paragraph_format.space_after = Pt(3)
