"""DOCX letters (docxrender.py): their words are the HTML's, from <locale>/labels.html. Each test
reads the DOCX back with python-docx, as a clerk opening the file would see it."""

import html
import io
import re
from datetime import date

import pytest
from docx import Document

from letterforge.diagnostics import UserError
from letterforge.pipeline import LetterFactory
from letterforge.records import LetterKind
from letterforge.workspace import Workspace

from conftest import SAMPLES

AS_OF = date(2026, 11, 25)


def docx_all_text(content: bytes) -> str:
    """Every paragraph, table cell and footer of a DOCX, as a reader of the file sees them."""
    document = Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts.extend(cell.text for row in table.rows for cell in row.cells)
    parts.extend(p.text for section in document.sections for p in section.footer.paragraphs)
    return "\n".join(parts)


def html_text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def override_labels(workspace, locale: str, changes: dict[str, str]) -> None:
    """The workspace's own labels.html: the shipped one with some words changed."""
    text = (SAMPLES.parent / "templates" / locale / "labels.html").read_text(encoding="utf-8")
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new)
    (workspace / "templates" / locale).mkdir(parents=True, exist_ok=True)
    (workspace / "templates" / locale / "labels.html").write_text(text, encoding="utf-8")


@pytest.mark.parametrize("sample, account, locale, changes", [
    ("property-zh", "JX-2-0302", "zh-CN", {
        '"承办律师："': '"经办律师："', '"执业证号："': '"律师执业证号："', '"（盖章）"': '"（公章）"',
        "受{{ name }}委托": "受{{ name }}全权委托", '"编号："': '"文号："', '"日期："': '"落款日期："',
        '"附件一　缴费明细"': '"附表一　缴费明细"', '"户名"': '"收款户名"', '"签收回执"': '"送达回证"'}),
    ("receivables-en", "C-1006", "en-GB", {
        "For and on behalf of {{ name }}": "Signed for {{ name }}", "Solicitors acting for": "Solicitors instructed by",
        '"Our ref: "': '"Our reference: "', '"Schedule 1: Payment breakdown"': '"Schedule 1: What you owe"',
        '"Account name"': '"Payee"'}),
])
def test_a_label_changed_in_labels_html_changes_the_html_and_the_docx_alike(copy_sample, sample, account, locale,
                                                                           changes):
    workspace = copy_sample(sample)
    override_labels(workspace, locale, changes)
    factory = LetterFactory(Workspace.open(workspace))
    draft = factory.draft(account, LetterKind.LAWYER, AS_OF)
    page = html_text(factory.renderer.render_html(draft))
    docx = docx_all_text(factory.render(draft, "docx", enforce=False).content)
    for new in changes.values():
        word = new.strip('"').split("}}")[-1].strip()  # of a macro, the words after the name
        assert word in page, f"{word!r} not in the HTML"
        assert word in docx, f"{word!r} not in the DOCX"
    for old in ("承办律师", "（盖章）", "受锦", "For and on behalf of", "Solicitors acting for", "Our ref: "):
        assert (old in page) == (old in docx), f"{old!r} is in one format and not the other"


def test_the_creditors_signature_follows_the_labels_in_both_formats(copy_sample):
    workspace = copy_sample("receivables-en")
    settings = workspace / "letterforge.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace('signatory = "Credit Control"', 'signatory = ""'),
                        encoding="utf-8")
    override_labels(workspace, "en-GB", {'"Credit Control"': '"Accounts Receivable"',
                                         "For and on behalf of {{ name }}": "Signed for {{ name }}"})
    factory = LetterFactory(Workspace.open(workspace))
    draft = factory.draft("C-1004", LetterKind.DEMAND, AS_OF)
    page = html_text(factory.renderer.render_html(draft))
    docx = docx_all_text(factory.render(draft, "docx", enforce=False).content)
    for text in ("Accounts Receivable", "Signed for Harbour Lane Supplies Ltd"):
        assert text in page and text in docx, text
    assert "Credit Control" not in docx and "For and on behalf of" not in docx


def test_docx_prints_an_ampersand_in_a_name_as_the_html_does(copy_sample):
    workspace = copy_sample("receivables-en")
    settings = workspace / "letterforge.toml"
    text = settings.read_text(encoding="utf-8")
    text = text.replace('name = "Harbour Lane Supplies Ltd"', 'name = "Harbour & Lane Supplies Ltd"', 1)
    text = text.replace('registered_office = "Unit 7,', 'registered_office = "Unit 7 & 8,', 1)
    settings.write_text(text, encoding="utf-8")
    factory = LetterFactory(Workspace.open(workspace))
    for kind in (LetterKind.DEMAND, LetterKind.LAWYER):  # the creditor's letterhead; the firm's, acting for it
        draft = factory.draft("C-1006", kind, AS_OF)
        docx = docx_all_text(factory.render(draft, "docx", enforce=False).content)
        assert "Harbour & Lane Supplies Ltd" in docx and "&amp;" not in docx
    assert "Unit 7 & 8, Harbour Lane" in docx_all_text(
        factory.render(factory.draft("C-1006", LetterKind.DEMAND, AS_OF), "docx", enforce=False).content)


def test_a_workspace_labels_file_without_a_label_the_docx_needs_is_named(copy_sample):
    workspace = copy_sample("property-zh")
    override_labels(workspace, "zh-CN", {'{% set colon = "：" %}\n': ""})  # the HTML never uses it; the DOCX does
    factory = LetterFactory(Workspace.open(workspace))
    draft = factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF)
    factory.render(draft, "html", enforce=False)
    with pytest.raises(UserError, match=r"zh-CN/labels.html: no label 'colon'"):
        factory.render(draft, "docx", enforce=False)
