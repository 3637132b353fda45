import io
from datetime import date

from docx import Document

from letterforge.annexes import annex_blocks
from letterforge.pipeline import LetterFactory
from letterforge.records import LetterKind
from letterforge.workspace import Workspace

from conftest import SAMPLES

AS_OF = date(2026, 11, 25)


def test_annex_html_becomes_headings_paragraphs_tick_boxes_and_tables():
    html = ('<style>.x{}</style><section class="annex"><h2>Reply Form</h2><div class="intro">Return by <b>1 May</b></div>'
            '<table><tr><td class="label">Your name</td><td>A &amp; B Ltd</td></tr></table>'
            '<h3>1. The debt</h3><div class="choice"><span class="box"></span><span>A. I agree.</span></div>'
            '<ul><li><strong>If</strong> you agree</li></ul><div class="line"></div></section>')
    blocks = [(b.kind, b.text, b.rows) for b in annex_blocks(html)]
    assert blocks == [
        ("h1", "Reply Form", []),
        ("small", "Return by 1 May", []),
        ("table", "", [["Your name", "A & B Ltd"]]),
        ("h2", "1. The debt", []),
        ("p", "□ A. I agree.", []),
        ("p", "• If you agree", []),
        ("p", "_" * 60, []),
    ]
    assert annex_blocks(html)[5].bold_spans[1] == ("If", True)


def docx(account_id: str) -> Document:
    factory = LetterFactory(Workspace.open(SAMPLES / "receivables-en"))
    draft = factory.draft(account_id, LetterKind.LAWYER, AS_OF)
    return Document(io.BytesIO(factory.render(draft, "docx").content))


def test_docx_letter_of_claim_has_the_protocol_pages_and_the_named_closing():
    document = docx("C-1012")
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings[-3:] == ["Information Sheet", "Reply Form", "Financial Statement"]
    texts = [p.text for p in document.paragraphs]
    assert "Dear Mr Okafor," in texts and "Yours sincerely," in texts
    assert any(t.startswith("Enclosures:") and t.endswith("; Information Sheet; Reply Form; Financial Statement")
               for t in texts)
    cells = [[c.text for c in row.cells] for table in document.tables for row in table.rows]
    assert ["Your name", "Samuel Okafor trading as Okafor Mobile Catering"] in cells
    assert any("SRA number 612345" in t for t in texts)


def test_docx_letter_before_action_to_a_company_has_none_of_them():
    texts = [p.text for p in docx("C-1004").paragraphs]
    assert not any("Reply Form" in t or "Information Sheet" in t for t in texts)
    assert "Dear Sir or Madam," in texts and "Yours faithfully," in texts
