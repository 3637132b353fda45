"""Builds templates/letter.docx, the docxtpl template of every letter kind and locale.

Run it after changing the layout here: `python templates/build_docx.py`. Clerks and creditors
may instead edit a copy of letter.docx in Word or WPS and put it in their workspace's
templates/ folder (as letter.docx, <locale>/letter.docx or <locale>/<kind>.docx).

The words come from the context, never from this file: `t` holds the labels of the letter's
locale (templates/<locale>/labels.html, the same labels the HTML letters print), `body` the clause
paragraphs in reading order, `letterhead` and `signature` the lines the HTML templates print there
(composed from the same labels in letterforge/docxrender.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from letterforge.docxrender import set_document_language

LATIN_SERIF, CJK_SERIF, CJK_SANS = "Times New Roman", "宋体", "黑体"


def set_fonts(style_or_run, latin: str, east_asian: str) -> None:
    font = style_or_run.font
    font.name = latin
    properties = style_or_run.element.get_or_add_rPr()
    fonts = properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = properties.makeelement(qn("w:rFonts"), {})
        properties.append(fonts)
    for key in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(key), latin)
    fonts.set(qn("w:eastAsia"), east_asian)


def paragraph(document, text: str = "", *, size: float | None = None, bold: bool = False,
              align=None, space_after: float = 4, color: RGBColor | None = None, sans: bool = False):
    para = document.add_paragraph()
    if text:
        run = para.add_run(text)
        run.bold = bold
        if size:
            run.font.size = Pt(size)
        if color is not None:
            run.font.color.rgb = color
        if sans:
            set_fonts(run, "Arial", CJK_SANS)
    if align is not None:
        para.alignment = align
    para.paragraph_format.space_after = Pt(space_after)
    return para


def table(document, headers: list[str], loop: str, cells: list[str], widths_mm: list[int],
          totals: list[str] | None = None, numeric_from: int = 1, font_size: float = 8.5):
    """A real Word table: header row, one row per item (docxtpl {%tr %} loop), totals row."""
    rows = 4 + (1 if totals else 0)
    grid = document.add_table(rows=rows, cols=len(headers))
    grid.style = "Table Grid"
    grid.alignment = WD_TABLE_ALIGNMENT.CENTER
    grid.autofit = False
    for column, width in zip(grid.columns, widths_mm):
        column.width = Mm(width)  # the grid: LibreOffice and WPS lay tables out by it
    header = grid.rows[0]
    header_xml = header._tr.get_or_add_trPr()
    repeat = header_xml.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"})
    header_xml.append(repeat)
    for index, text in enumerate(headers):
        cell = header.cells[index]
        cell.text = text
        cell.paragraphs[0].runs[0].bold = True
        if index >= numeric_from:  # as in the PDF: the heading of a column of figures stands over them
            cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    grid.rows[1].cells[0].text = "{%tr " + loop + " %}"
    for index, text in enumerate(cells):
        grid.rows[2].cells[index].text = text
        if index >= numeric_from:
            grid.rows[2].cells[index].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    grid.rows[3].cells[0].text = "{%tr endfor %}"
    if totals:
        for index, text in enumerate(totals):
            cell = grid.rows[4].cells[index]
            cell.text = text
            if cell.paragraphs[0].runs:
                cell.paragraphs[0].runs[0].bold = True
            if index >= numeric_from:
                cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for row in grid.rows:
        for cell, width in zip(row.cells, widths_mm):
            cell.width = Mm(width)
        no_split = row._tr.get_or_add_trPr().makeelement(qn("w:cantSplit"), {qn("w:val"): "true"})
        row._tr.get_or_add_trPr().append(no_split)
        size = Pt(font_size - 0.5 if row is grid.rows[0] else font_size)  # headings wrap at spaces, not inside words
        for cell in row.cells:
            for para in cell.paragraphs:
                para.paragraph_format.space_after = Pt(0)
                for run in para.runs:
                    run.font.size = size
            margins = cell._tc.get_or_add_tcPr().makeelement(qn("w:tcMar"), {})
            for side in ("left", "right"):  # narrow cell margins: the figures fit their columns unwrapped
                margins.append(margins.makeelement(qn(f"w:{side}"), {qn("w:w"): "57", qn("w:type"): "dxa"}))
            cell._tc.get_or_add_tcPr().append(margins)
    return grid


def body_and_signature(document, indent, signature_align) -> None:
    """The clause paragraphs (docxtpl {%p %} loop over `body`), then the signature lines."""
    paragraph(document, "{%p for para in body %}", space_after=0)
    paragraph(document, "{%p if para.boxed %}", space_after=0)
    boxed(paragraph(document, "{{r para.text }}", space_after=0))
    paragraph(document, "{%p else %}", space_after=0)
    paragraph(document, "{{r para.text }}").paragraph_format.first_line_indent = indent
    paragraph(document, "{%p endif %}", space_after=0)
    paragraph(document, "{%p endfor %}", space_after=0)
    paragraph(document, "", space_after=10)
    paragraph(document, "{%p for line in signature %}", space_after=0)
    paragraph(document, "{{ line }}", space_after=0, align=signature_align)
    paragraph(document, "{%p endfor %}", space_after=0)


def field(paragraph, instruction: str, size: float) -> None:
    """A Word field (PAGE, NUMPAGES) that Word, WPS and LibreOffice fill in when they lay out."""
    def run(tag: str, **attributes: str):
        element = paragraph.add_run()
        element.font.size = Pt(size)
        child = element._r.makeelement(qn(tag), {qn(k): v for k, v in attributes.items()})
        if tag == "w:instrText":
            child.text = instruction
            child.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
        element._r.append(child)
    run("w:fldChar", **{"w:fldCharType": "begin"})
    run("w:instrText")
    run("w:fldChar", **{"w:fldCharType": "separate"})
    paragraph.add_run("1").font.size = Pt(size)
    run("w:fldChar", **{"w:fldCharType": "end"})


def boxed(para) -> None:
    """A paragraph of the summary box: framed and shaded; neighbouring boxed paragraphs share one frame."""
    properties = para._p.get_or_add_pPr()
    borders = properties.makeelement(qn("w:pBdr"), {})
    for side in ("top", "left", "bottom", "right"):
        borders.append(borders.makeelement(qn(f"w:{side}"), {qn("w:val"): "single", qn("w:sz"): "6",
                                                             qn("w:space"): "4", qn("w:color"): "999999"}))
    properties.append(borders)
    properties.append(properties.makeelement(qn("w:shd"), {qn("w:val"): "clear", qn("w:color"): "auto",
                                                           qn("w:fill"): "F6F4EF"}))


def page_break(document) -> None:
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def build(target: Path) -> None:
    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin = section.bottom_margin = Mm(22)
    section.left_margin, section.right_margin = Mm(22), Mm(20)
    set_document_language(document, "zh-CN")  # the renderer sets each letter's own
    normal = document.styles["Normal"]
    set_fonts(normal, LATIN_SERIF, CJK_SERIF)
    normal.font.size = Pt(10.5)
    for name in ("Heading 1", "Heading 2", "Title"):
        set_fonts(document.styles[name], "Arial", CJK_SANS)
        document.styles[name].font.color.rgb = RGBColor(0x11, 0x11, 0x11)

    footer = section.footer.paragraphs[0]
    footer.text = "{{ t.reference_label }}{{ letter.reference }}\t\t"
    footer.runs[0].font.size = Pt(7.5)
    field(footer, "PAGE", 8)
    footer.add_run(" / ").font.size = Pt(8)
    field(footer, "NUMPAGES", 8)

    accent = RGBColor(0x8B, 0x1A, 0x1A)
    paragraph(document, "{{ letterhead.name }}", size=16, bold=True, color=accent, space_after=0, sans=True)
    paragraph(document, "{{ letterhead.details }}", size=8.5, space_after=0)
    paragraph(document, "{%p if letterhead.on_behalf %}", space_after=0)
    paragraph(document, "{{ letterhead.on_behalf }}", size=8.5, space_after=0)
    paragraph(document, "{%p endif %}", space_after=0)
    paragraph(document, "", space_after=6)
    paragraph(document, "{{ t.reference_label }}{{ letter.reference }}", size=9, space_after=0)
    paragraph(document, "{{ t.date_label }}{{ letter.issued_on | date }}", size=9, space_after=10)
    paragraph(document, "{{ debtor.name }}{{ t.addressee_suffix }}", bold=True, space_after=0)
    paragraph(document, "{%p for line in address_lines %}", space_after=0)
    paragraph(document, "{{ line }}", space_after=0)
    paragraph(document, "{%p endfor %}", space_after=0)
    paragraph(document, "", space_after=10)
    paragraph(document, "{{ title }}", size=18, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=10,
              sans=True)
    # Chinese letters indent their paragraphs by two characters and sign on the right; British
    # letters do neither.
    paragraph(document, "{%p if chinese %}", space_after=0)
    body_and_signature(document, Pt(21), WD_ALIGN_PARAGRAPH.RIGHT)
    paragraph(document, "{%p else %}", space_after=0)
    body_and_signature(document, None, None)
    paragraph(document, "{%p endif %}", space_after=0)
    paragraph(document, "", space_after=8)
    paragraph(document, "{{ t.enclosures }}", size=9)

    page_break(document)
    document.add_heading("{{ t.schedule1 }}", level=1)
    paragraph(document, "{{ t.schedule_intro(debtor.name, letter.reference, statement.as_of | date) }}", size=8.5)
    # The same columns as the PDF's Schedule 1: a compensation column only where there is compensation.
    paragraph(document, "{%p if statement.compensation %}", space_after=0)
    table(document, ["{{ t.fee_item }}", "{{ t.periods_col }}", "{{ t.principal }}", "{{ t.late_fees }}",
                     "{{ t.compensation }}", "{{ t.subtotal }}"],
          "for s in statement.subtotals",
          ["{{ s.fee_item }}", "{{ s.periods }}", "{{ s.principal | money }}", "{{ s.late_fees | money }}",
           "{{ s.compensation | money }}", "{{ s.total | money }}"],
          [40, 16, 28, 28, 28, 28],
          ["{{ t.grand_total }}", "{{ statement.periods }}", "{{ statement.principal | money }}",
           "{{ statement.late_fees | money }}", "{{ statement.compensation | money }}", "{{ total | money }}"])
    paragraph(document, "{%p else %}", space_after=0)
    table(document, ["{{ t.fee_item }}", "{{ t.periods_col }}", "{{ t.principal }}", "{{ t.late_fees }}",
                     "{{ t.subtotal }}"],
          "for s in statement.subtotals",
          ["{{ s.fee_item }}", "{{ s.periods }}", "{{ s.principal | money }}",
           "{{ s.late_fees | money }}", "{{ s.total | money }}"],
          [52, 16, 33, 33, 34],
          ["{{ t.grand_total }}", "{{ statement.periods }}", "{{ statement.principal | money }}",
           "{{ statement.late_fees | money }}", "{{ total | money }}"])
    paragraph(document, "{%p endif %}", space_after=0)
    paragraph(document, "{%p if waiver.offered %}", space_after=0)
    paragraph(document, "{{ t.waiver_row(letter.deadline | date) }}{{ t.colon }}−{{ waiver.amount | money }}", size=9)
    paragraph(document, "{{ t.total_if_paid_by(letter.deadline | date) }}{{ t.colon }}{{ waiver.total_after | money }}",
              size=9, bold=True)
    paragraph(document, "{%p endif %}", space_after=0)
    paragraph(document, "{%p if total_capitals %}", space_after=0)
    paragraph(document, "{{ t.capitals }}{{ total_capitals }}", bold=True)
    paragraph(document, "{%p endif %}", space_after=0)
    paragraph(document, "{{ t.late_fee_method(late_fee.rate_text, late_fee.cap_text, late_fee.grace_days) }}",
              size=8.5)
    paragraph(document, "{%p if instalments.offered %}", space_after=0)
    paragraph(document, "{{ t.instalment_note(instalments.months, instalments.first_amount | money) }}", size=8.5)
    paragraph(document, "{%p endif %}", space_after=0)

    page_break(document)
    document.add_heading("{{ t.schedule2 }}", level=1)
    paragraph(document, "{{ t.schedule_intro(debtor.name, letter.reference, statement.as_of | date) }}", size=8.5)
    table(document, ["{{ t.period }}", "{{ t.fee_item }}", "{{ t.amount_due }}", "{{ t.amount_paid }}",
                     "{{ t.outstanding }}", "{{ t.due_date }}", "{{ t.days_overdue }}", "{{ t.late_fee_days }}",
                     "{{ t.late_fee }}"],
          "for line in statement.lines",
          ["{{ line.period }}", "{{ line.fee_item }}", "{{ line.amount_due | money }}",
           "{{ line.amount_paid | money }}", "{{ line.outstanding | money }}", "{{ line.due_date.isoformat() }}",
           "{{ line.days_overdue }}", "{{ line.late_fee_days }}",
           "{{ (line.late_fee + line.compensation) | money }}{% if line.late_fee_capped %}*{% endif %}"],
          [22, 17, 18, 16, 21, 18, 15, 15, 26],
          ["{{ t.grand_total }}", "", "", "", "{{ statement.principal | money }}", "", "", "",
           "{{ (statement.late_fees + statement.compensation) | money }}"], numeric_from=2, font_size=7.5)
    paragraph(document, "{{ t.detail_note(late_fee.rate_text, late_fee.cap_text) }}{% if capped %}{{ t.capped_note }}{% endif %}"
                        "{% if statement.compensation %} {{ t.compensation_note }}{% endif %}", size=8.5)

    page_break(document)
    document.add_heading("{{ t.schedule3 }}", level=1)
    paragraph(document, "{{ t.instructions_intro(total | money, letter.deadline | date, "
                        "waiver.total_after | money if waiver.offered else '') }}", size=9)
    paragraph(document, "{%p if payment.bank_transfer %}", space_after=0)
    document.add_heading("{{ t.bank_transfer }}", level=2)
    paragraph(document, "{{ t.payee }}{{ t.colon }}{{ payment.bank_transfer.payee }}", space_after=0)
    paragraph(document, "{{ t.bank }}{{ t.colon }}{{ payment.bank_transfer.bank }}", space_after=0)
    paragraph(document, "{%p if payment.bank_transfer.sort_code %}", space_after=0)
    paragraph(document, "{{ t.sort_code }}{{ t.colon }}{{ payment.bank_transfer.sort_code }}", space_after=0)
    paragraph(document, "{%p endif %}", space_after=0)
    paragraph(document, "{{ t.account_number }}{{ t.colon }}{{ payment.bank_transfer.account_number }}", space_after=0)
    paragraph(document, "{{ t.quote }}{{ t.colon }}{{ payment.reference_to_quote }}", bold=True)
    paragraph(document, "{%p endif %}", space_after=0)
    paragraph(document, "{%p if payment.counter %}", space_after=0)
    document.add_heading("{{ t.counter }}", level=2)
    paragraph(document, "{{ t.counter_address }}{{ t.colon }}{{ payment.counter.address }}", space_after=0)
    paragraph(document, "{{ t.counter_hours }}{{ t.colon }}{{ payment.counter.hours }}", space_after=0)
    paragraph(document, "{{ t.bring }}{{ t.colon }}{{ t.bring_text(debtor.account_id) }}")
    paragraph(document, "{%p endif %}", space_after=0)
    paragraph(document, "{%p if payment.online %}", space_after=0)
    document.add_heading("{{ t.online }}", level=2)
    paragraph(document, "{{ payment.online.qr }}", space_after=0)
    paragraph(document, "{{ t.online_text }}", space_after=0)
    paragraph(document, "{{ payment.online.url }}", size=9)
    paragraph(document, "{%p endif %}", space_after=0)
    document.add_heading("{{ t.questions }}", level=2)
    paragraph(document, "{{ t.questions_text(creditor.name, creditor.phone, creditor.office_hours) }}")

    paragraph(document, "{%p if return_slip %}", space_after=0)
    page_break(document)
    document.add_heading("{{ t.return_slip }}", level=1)
    paragraph(document, "{{ t.slip_note }}", size=8.5)
    paragraph(document, "{{ t.receipt_statement(debtor.name, sender.name, letter.issued_on | date, title, "
                        "letter.reference) }}____{{ t.receipt_pages_after }}", space_after=8)
    for label, value in (("t.account", "debtor.account_id"), ("t.reference_label", "letter.reference"),
                         ("t.recipient", "debtor.name")):
        paragraph(document, "{{ " + label + " }} {{ " + value + " }}", space_after=6)
    for label, blank in (("t.signature", "____________________________"),
                         ("t.relationship", "____________________________"),
                         ("t.received_on", "{{ t.date_blank }}"),  # as the PDF's slip: 　　　　年　　月　　日
                         ("t.delivered_by", "____________________________")):
        paragraph(document, "{{ " + label + " }} " + blank, space_after=12)
    paragraph(document, "{{ t.relationship_choices }}", size=9)
    paragraph(document, "{{ t.return_to(sender.name, sender.address, sender.phone) }}", size=9)
    paragraph(document, "{%p endif %}", space_after=0)

    # python-docx's default template carries a thumbnail of another document, and a Word 2010
    # copy of the styles that every render would parse again: drop both.
    package = document.part.package
    for relationship_id, relationship in list(package.rels.items()):
        if relationship.reltype.endswith("/thumbnail"):
            del package.rels[relationship_id]
    for relationship_id, relationship in list(document.part.rels.items()):
        if relationship.reltype.endswith("/stylesWithEffects"):
            del document.part.rels[relationship_id]
    properties = document.core_properties
    properties.author = properties.last_modified_by = "letterforge"
    properties.title = "letterforge letter template"
    document.save(str(target))


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "letter.docx")
