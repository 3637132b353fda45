import io
import re
import subprocess
from datetime import date

import pytest
from click.testing import CliRunner
from docx import Document
from pypdf import PdfReader

from letterforge.cli import cli
from letterforge.diagnostics import UserError
from letterforge.money import format_money
from letterforge.pipeline import LetterFactory
from letterforge.records import LetterKind
from letterforge.pdfrender import make_url_fetcher
from letterforge.workspace import Workspace

from conftest import SAMPLES

AS_OF = date(2026, 11, 25)
CASES = {"property-zh": "JX-2-0302", "water-zh": "01000619", "receivables-en": "C-1004"}


@pytest.fixture(scope="module")
def factories():
    return {name: LetterFactory(Workspace.open(SAMPLES / name)) for name in CASES}


def pdf_text(content: bytes) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True)
    return done.stdout.decode("utf-8")


def docx_text(content: bytes) -> str:
    document = Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts.extend(cell.text for row in table.rows for cell in row.cells)
    return "\n".join(parts)


def expected_facts(draft) -> list[str]:
    locale, currency = draft.locale, draft.statement.currency
    facts = [draft.reference, format_money(draft.statement.total, currency, locale),
             format_money(draft.statement.principal, currency, locale)]
    if locale == "zh-CN":
        facts += [draft.statement.total_in_capitals, f"{draft.deadline.year}年{draft.deadline.month}月{draft.deadline.day}日"]
    else:
        facts.append(f"{draft.deadline.day} {draft.deadline:%B %Y}")
    return facts


@pytest.mark.slow
@pytest.mark.parametrize("sample", CASES)
@pytest.mark.parametrize("kind", list(LetterKind))
def test_pdf_states_the_amounts_capitals_deadline_and_reference(factories, sample, kind):
    factory = factories[sample]
    draft = factory.draft(CASES[sample], kind, AS_OF)
    letter = factory.render(draft, "pdf")
    text = pdf_text(letter.content)
    flat = text.replace(" ", "").replace("\n", "")
    for fact in expected_facts(draft):
        assert fact.replace(" ", "") in flat, fact
    for line in draft.statement.lines:
        assert line.item.period in text
    reader = PdfReader(io.BytesIO(letter.content))
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.5)  # A4
    outline = [item.title for item in reader.outline if not isinstance(item, list)]
    assert len(outline) >= 4  # the letter and its three schedules
    info = reader.metadata
    assert info["/Author"] == factory.workspace.config.creditor.name
    assert draft.reference in info["/Title"]
    # The clause versions go to the ledger and the manifest, never into a file the debtor reads.
    assert "/letterforgeclauses" not in info and info["/Keywords"] == draft.reference
    assert not any(c.id in str(value) for c in draft.clauses for value in info.values())


@pytest.mark.parametrize("sample", CASES)
@pytest.mark.parametrize("kind", list(LetterKind))
def test_docx_states_the_same_facts_in_real_tables(factories, sample, kind):
    factory = factories[sample]
    draft = factory.draft(CASES[sample], kind, AS_OF)
    content = factory.render(draft, "docx").content
    text = docx_text(content)
    for fact in expected_facts(draft):
        assert fact in text, fact
    document = Document(io.BytesIO(content))
    detail = document.tables[1]
    assert len(detail.rows) == len(draft.statement.lines) + 2  # header, one row per item, total
    assert document.core_properties.author == factory.workspace.config.creditor.name
    styles = document.styles.element.xml
    assert 'w:eastAsia="宋体"' in styles


@pytest.mark.parametrize("sample", CASES)
def test_html_is_the_letter_the_pdf_is_made_from(factories, sample):
    factory = factories[sample]
    draft = factory.draft(CASES[sample], LetterKind.DEMAND, AS_OF)
    html = factory.render(draft, "html").content.decode("utf-8")
    assert html == factory.renderer.render_html(draft)
    assert f'lang="{draft.locale}"' in html
    for fact in expected_facts(draft):
        assert fact in html


@pytest.mark.slow
def test_same_inputs_give_byte_identical_pdfs(factories):
    factory = factories["property-zh"]
    first = factory.render(factory.draft("JX-2-0302", LetterKind.LAWYER, AS_OF), "pdf").content
    again = LetterFactory(Workspace.open(SAMPLES / "property-zh"))
    second = again.render(again.draft("JX-2-0302", LetterKind.LAWYER, AS_OF), "pdf").content
    assert first == second


@pytest.mark.slow
def test_chinese_letter_is_small_with_subset_fonts(factories):
    factory = factories["property-zh"]
    content = factory.render(factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF), "pdf").content
    assert len(content) < 150_000
    fonts = subprocess.run(["pdffonts", "-"], input=content, capture_output=True).stdout.decode()
    assert "Noto Serif CJK SC" in fonts.replace("-", " ") and "CID Type 0C" in fonts


def test_deadline_rolls_over_the_national_day_holiday(factories):
    factory = factories["property-zh"]
    draft = factory.draft("JX-2-0302", LetterKind.LAWYER, date(2026, 9, 17))
    assert draft.deadline == date(2026, 10, 8)


def test_hardship_gets_a_longer_deadline(copy_sample):
    factory = LetterFactory(Workspace.open(copy_sample("property-zh")))
    hardship = next(a for a in factory.data.accounts if a.category == "hardship" and factory.data.arrears_of(a.account_id)
                    and not a.on_hold(AS_OF))
    forgot = next(a for a in factory.data.accounts if a.category == "forgot" and factory.data.arrears_of(a.account_id)
                  and not a.on_hold(AS_OF))
    assert (factory.draft(hardship.account_id, LetterKind.DEMAND, AS_OF).deadline
            > factory.draft(forgot.account_id, LetterKind.DEMAND, AS_OF).deadline)


INJECTIONS = ["<img src=file:///etc/passwd>", "{{7*7}}", "{% raw %}x", "**bold**"]


@pytest.mark.slow
def test_debtor_text_prints_literally_and_never_becomes_markup(copy_sample):
    workspace = copy_sample("receivables-en")
    import json

    accounts = json.loads((workspace / "accounts.json").read_text(encoding="utf-8"))
    accounts[0]["name"] = " ".join(INJECTIONS)
    accounts[0]["address"] = "<script>alert(1)</script>, {{ creditor.name }}"
    (workspace / "accounts.json").write_text(json.dumps(accounts), encoding="utf-8")
    factory = LetterFactory(Workspace.open(workspace))
    account_id = accounts[0]["account_id"]
    draft = factory.draft(account_id, LetterKind.DEMAND, AS_OF)
    html = factory.renderer.render_html(draft)
    assert "<img src=file" not in html and "&lt;img src=file:///etc/passwd&gt;" in html
    assert "<script>" not in html
    assert "{{7*7}}" in html and ">49<" not in html
    # Printed literally, never evaluated; template syntax in prose is also what the proof-reader
    # stops (a letter is not sent with "{{ … }}" in it), so it is made here without enforcing.
    letter = factory.render(draft, "pdf", enforce=False)
    assert "raw-code" in {finding.check for finding in letter.proof.findings}
    text = pdf_text(letter.content)
    assert "<img src=file:///etc/passwd>" in text and "{{7*7}}" in text and "**bold**" in text
    assert "{{ creditor.name }}" in text
    docx = docx_text(factory.render(draft, "docx", enforce=False).content)
    assert "<img src=file:///etc/passwd>" in docx and "{{7*7}}" in docx


def test_lawyer_letter_refused_without_a_firm(copy_sample):
    workspace = copy_sample("property-zh")
    config = workspace / "letterforge.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('certificate_number = "13301201510987654"', 'certificate_number = ""'),
                      encoding="utf-8")
    result = CliRunner().invoke(cli, ["render", "JX-2-0302", "--kind", "lawyer", "-w", str(workspace),
                                      "--as-of", "2026-11-25", "-o", str(workspace / "out")])
    assert result.exit_code == 1
    assert "law_firm.certificate_number" in result.stderr
    assert not (workspace / "out").exists()


@pytest.mark.slow
def test_render_cli_writes_and_says_where(tmp_path):
    result = CliRunner().invoke(cli, ["render", "C-1004", "C-1006", "--kind", "demand", "-w",
                                      str(SAMPLES / "receivables-en"), "--as-of", "2026-11-25", "-o", str(tmp_path),
                                      "--draft"])
    assert result.exit_code == 0, result.output
    for account in ("C-1004", "C-1006"):
        path = tmp_path / f"{account}-demand.pdf"
        assert f"wrote {path}  (draft, not issued;" in result.output
        assert PdfReader(path).pages


def test_render_refuses_an_account_that_owes_nothing(factories):
    factory = factories["water-zh"]
    settled = next(a.account_id for a in factory.data.accounts
                   if not any(i.outstanding > 0 and i.due_date < AS_OF for i in factory.data.arrears_of(a.account_id)))
    with pytest.raises(UserError, match="owes nothing overdue"):
        factory.draft(settled, LetterKind.REMINDER, AS_OF)


def test_template_errors_name_file_and_line(copy_sample):
    workspace = copy_sample("property-zh")
    (workspace / "templates" / "zh-CN").mkdir(parents=True)
    (workspace / "templates" / "zh-CN" / "demand.html").write_text(
        '{% extends "base.html" %}\n{% block body %}\n<p>{{ debtor.nickname }}</p>\n{% endblock %}\n', encoding="utf-8")
    (workspace / "templates" / "zh-CN" / "reminder.html").write_text("<p>{{ oops }</p>\n", encoding="utf-8")
    factory = LetterFactory(Workspace.open(workspace))
    with pytest.raises(UserError) as caught:
        factory.render(factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF), "html")
    assert "demand.html:3" in str(caught.value) and "nickname" in str(caught.value)
    with pytest.raises(UserError) as caught:
        factory.render(factory.draft("JX-2-0302", LetterKind.REMINDER, AS_OF), "html")
    assert "reminder.html:1: template error" in str(caught.value)


def test_sandbox_refuses_unsafe_template_code(copy_sample):
    workspace = copy_sample("property-zh")
    (workspace / "templates" / "zh-CN").mkdir(parents=True)
    (workspace / "templates" / "zh-CN" / "demand.html").write_text(
        "{{ debtor.__class__.__mro__ }}", encoding="utf-8")
    factory = LetterFactory(Workspace.open(workspace))
    with pytest.raises(UserError, match="unsafe|not safely|__class__"):
        factory.render(factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF), "html")


def test_a_character_without_glyph_is_an_error_not_a_box(copy_sample):
    workspace = copy_sample("receivables-en")
    import json

    accounts = json.loads((workspace / "accounts.json").read_text(encoding="utf-8"))
    accounts[0]["name"] = "Parrot \U0001F99C Ltd"
    (workspace / "accounts.json").write_text(json.dumps(accounts), encoding="utf-8")
    factory = LetterFactory(Workspace.open(workspace))
    with pytest.raises(UserError, match="U\\+1F99C"):
        factory.render(factory.draft(accounts[0]["account_id"], LetterKind.DEMAND, AS_OF), "pdf")


def test_fetcher_refuses_network_and_files_outside_templates(tmp_path):
    fetcher = make_url_fetcher([tmp_path])
    for url in ("https://example.com/x.png", "file:///etc/passwd", "ftp://example.com/a"):
        with pytest.raises(ValueError, match="refused"):
            fetcher.fetch(url)
    (tmp_path / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>", encoding="utf-8")
    assert fetcher.fetch((tmp_path / "logo.svg").as_uri()) is not None


def test_workspace_template_overrides_the_shipped_one(copy_sample):
    workspace = copy_sample("property-zh")
    (workspace / "templates" / "partials").mkdir(parents=True)
    shipped = (SAMPLES.parent / "templates" / "partials" / "return_slip.html").read_text(encoding="utf-8")
    (workspace / "templates" / "partials" / "return_slip.html").write_text(
        shipped.replace("<h2>", "<h2>本小区专用 "), encoding="utf-8")
    factory = LetterFactory(Workspace.open(workspace))
    html = factory.renderer.render_html(factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF))
    assert "本小区专用" in html


@pytest.mark.slow
def test_pdf_language_subject_and_issue_date_metadata(factories):
    factory = factories["property-zh"]
    draft = factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF)
    reader = PdfReader(io.BytesIO(factory.render(draft, "pdf").content))
    assert reader.trailer["/Root"]["/Lang"] == "zh-CN"
    assert reader.metadata["/Subject"] == "物业服务费催缴"
    assert reader.metadata["/CreationDate"] == "D:20261125"  # the issue date, never the clock


@pytest.mark.slow
def test_long_arrears_table_repeats_its_header_on_every_page(copy_sample):
    workspace = copy_sample("receivables-en")
    invoices = workspace / "invoices.csv"
    rows = ["account_id,period,fee_item,amount_due,amount_paid,due_date"]
    rows += [f"C-1004,INV-2025-{n:04d},Goods supplied,{100 + n}.50,0,2025-{1 + n % 12:02d}-15" for n in range(90)]
    invoices.write_text("\n".join(rows) + "\n", encoding="utf-8")
    factory = LetterFactory(Workspace.open(workspace))
    draft = factory.draft("C-1004", LetterKind.DEMAND, AS_OF)
    reader = PdfReader(io.BytesIO(factory.render(draft, "pdf").content))
    texts = [page.extract_text() for page in reader.pages]
    start = next(i for i, text in enumerate(texts) if "Schedule 2: Arrears detail" in text)
    end = next(i for i, text in enumerate(texts) if "Schedule 3: How to pay" in text)
    detail_pages = texts[start:end]
    assert len(detail_pages) >= 2  # the table broke across pages...
    for text in detail_pages:
        words = " ".join(text.split())  # headers wrap within their column
        assert "Invoice" in words and "Days overdue" in words  # ...with its header on each
    periods = [f"INV-2025-{n:04d}" for n in range(90)]
    found = "".join(detail_pages)
    assert all(found.count(period) == 1 for period in periods)  # no row lost or split in two


# -- DOCX parity with the PDF ------------------------------------------------------------------------

def test_docx_has_page_numbers_the_letters_language_and_a_framed_summary(factories):
    for sample, locale in (("property-zh", "zh-CN"), ("receivables-en", "en-GB")):
        factory = factories[sample]
        draft = factory.draft(CASES[sample], LetterKind.DEMAND, AS_OF)
        document = Document(io.BytesIO(factory.render(draft, "docx").content))
        footer = document.sections[0].footer._element.xml
        assert "PAGE" in footer and "NUMPAGES" in footer
        styles = document.styles.element.xml
        assert f'w:val="{locale}"' in styles and 'w:eastAsia="zh-CN"' in styles and "ja-JP" not in styles
        boxed = [p for p in document.paragraphs if p._p.pPr is not None and p._p.pPr.find(
            "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}pBdr") is not None]
        total = format_money(draft.statement.total, draft.statement.currency, draft.locale)
        assert boxed and any(total in p.text for p in boxed)


@pytest.mark.slow
def test_english_docx_sets_the_address_on_several_lines_and_labels_columns_as_the_pdf(factories):
    factory = factories["receivables-en"]
    draft = factory.draft("C-1004", LetterKind.DEMAND, AS_OF)
    document = Document(io.BytesIO(factory.render(draft, "docx").content))
    lines = [p.text for p in document.paragraphs]
    for part in draft.account.address.split(", "):
        assert part in lines
    breakdown = document.tables[0]
    headers = [cell.text for cell in breakdown.rows[0].cells]
    assert headers == ["Item", "Invoices", "unpaid invoices", "statutory interest", "fixed-sum compensation", "Total"]
    totals = [cell.text for cell in breakdown.rows[-1].cells]
    money = lambda amount: format_money(amount, "GBP", "en-GB")  # noqa: E731
    assert totals[3] == money(draft.statement.late_fees) and totals[4] == money(draft.statement.compensation)
    pdf = pdf_text(factory.render(draft, "pdf").content)
    assert money(draft.statement.late_fees) in pdf and money(draft.statement.compensation) in pdf


def libreoffice_pdf(content: bytes, tmp_path) -> str:
    import shutil

    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-writer-nogui")
    source = tmp_path / "letter.docx"
    source.write_bytes(content)
    subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(source)],
                   capture_output=True, check=True, timeout=180)
    return pdf_text((tmp_path / "letter.pdf").read_bytes())


@pytest.mark.slow
@pytest.mark.parametrize("sample", CASES)
def test_docx_figures_do_not_wrap_when_libreoffice_lays_them_out_on_a4(factories, sample, tmp_path):
    factory = factories[sample]
    draft = factory.draft(CASES[sample], LetterKind.DEMAND, AS_OF)
    text = libreoffice_pdf(factory.render(draft, "docx").content, tmp_path)
    rows = text.splitlines()
    money = lambda amount: format_money(amount, draft.statement.currency, draft.locale)  # noqa: E731
    for line in draft.statement.lines:
        for amount in (line.item.amount_due, line.outstanding, line.late_fee.amount + line.late_fee.compensation):
            assert any(money(amount) in row for row in rows), money(amount)
        assert any(line.item.due_date.isoformat() in row for row in rows)
    assert re.search(r"\b1\s*/\s*\d+\b", text)  # the page numbers Word fields give


# -- compiled templates kept on disk (start-up of a one-letter command) ---------------------------

def _cache_files(folder):
    return sorted(path for path in folder.rglob("*.cache"))


def test_compiled_templates_are_kept_and_read_back_instead_of_compiling(tmp_path, monkeypatch):
    from letterforge.templating import make_environment

    monkeypatch.setenv("LETTERFORGE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "letter.html").write_text("<p>{{ name }}</p>", encoding="utf-8")
    first = make_environment([tmp_path / "t"])
    assert first.get_template("letter.html").render(name="<b>") == "<p>&lt;b&gt;</p>"
    assert first.from_string("{{ a }}/{{ b }}").render(a=1, b=2) == "1/2"
    assert len(_cache_files(tmp_path / "cache")) == 2

    second = make_environment([tmp_path / "t"])  # another process: nothing compiled in memory

    def compile_refused(*args, **kwargs):
        raise AssertionError("compiled again instead of read from the cache")

    monkeypatch.setattr(second, "compile", compile_refused)
    assert second.get_template("letter.html").render(name="<b>") == "<p>&lt;b&gt;</p>"
    assert second.from_string("{{ a }}/{{ b }}").render(a=1, b=2) == "1/2"


def test_an_edited_template_is_compiled_afresh_and_escaping_is_never_shared(tmp_path, monkeypatch):
    from letterforge.templating import make_environment

    monkeypatch.setenv("LETTERFORGE_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "t").mkdir()
    template = tmp_path / "t" / "letter.html"
    template.write_text("<p>{{ name }}</p>", encoding="utf-8")
    assert make_environment([tmp_path / "t"]).get_template("letter.html").render(name="x") == "<p>x</p>"
    template.write_text("<h1>{{ name }}</h1>", encoding="utf-8")
    assert make_environment([tmp_path / "t"]).get_template("letter.html").render(name="x") == "<h1>x</h1>"
    # The clause environment (no escaping) and the letter's (escaping) keep separate caches.
    assert make_environment([tmp_path / "t"], autoescape=False).from_string("{{ v }}").render(v="<i>") == "<i>"
    assert make_environment([tmp_path / "t"]).from_string("{{ v }}").render(v="<i>") == "&lt;i&gt;"
    assert make_environment([tmp_path / "t"], autoescape=False).from_string("{{ v }}").render(v="<i>") == "<i>"


def test_a_damaged_compiled_template_is_compiled_again_and_rewritten(tmp_path, monkeypatch):
    from letterforge.templating import make_environment

    monkeypatch.setenv("LETTERFORGE_CACHE_DIR", str(tmp_path / "cache"))
    assert make_environment([]).from_string("{{ 6 * 7 }}").render() == "42"
    (entry,) = _cache_files(tmp_path / "cache")
    good = entry.read_bytes()
    for damage in (good[: len(good) // 2], b"", b"garbage" * 10):
        entry.write_bytes(damage)
        assert make_environment([]).from_string("{{ 6 * 7 }}").render() == "42"
        assert entry.read_bytes() == good


def test_compiled_templates_are_not_kept_where_another_user_may_write(tmp_path, monkeypatch, caplog):
    from letterforge.templating import make_environment

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("LETTERFORGE_CACHE_DIR", str(shared))
    environment = make_environment([])
    assert environment.bytecode_cache is None
    assert environment.from_string("{{ 1 + 1 }}").render() == "2"
    assert _cache_files(shared) == []
    assert "not a private folder" in caplog.text and f"chmod go-w {shared}" in caplog.text


def test_the_cache_folder_is_made_private_whatever_the_umask(tmp_path, monkeypatch):
    import os

    from letterforge.caches import write_entry
    from letterforge.templating import make_environment

    monkeypatch.setenv("LETTERFORGE_CACHE_DIR", str(tmp_path / "cache"))
    old = os.umask(0o002)  # a desktop's default: new folders writable by the group
    try:
        write_entry(tmp_path / "cache" / "entry.json", {"key": 1}, "test")  # the glyph coverage makes it first
        environment = make_environment([])
    finally:
        os.umask(old)
    assert (tmp_path / "cache").stat().st_mode & 0o077 == 0
    assert environment.bytecode_cache is not None


def test_an_unwritable_cache_folder_only_costs_the_time(tmp_path, monkeypatch):
    from letterforge.templating import make_environment

    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("LETTERFORGE_CACHE_DIR", str(blocked / "cache"))
    environment = make_environment([])
    assert environment.bytecode_cache is None
    assert environment.from_string("{{ 1 + 1 }}").render() == "2"
