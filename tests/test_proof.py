import csv
import io
import json
import re
import zipfile
from datetime import date
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from docx import Document
from pypdf import PdfReader

from letterforge.cli import cli
from letterforge.diagnostics import UserError
from letterforge.pipeline import LetterFactory, compute_statements
from letterforge.proof import (LetterText, check_layout, check_values, proof_file, proof_text, read_docx,
                               read_html)
from letterforge.records import LetterKind
from letterforge.workspace import Workspace

from conftest import SAMPLES

AS_OF = date(2026, 11, 25)


def checks(prose, schedules="", metadata=(), reference=""):
    letter = LetterText(tuple(prose), schedules, tuple(metadata), reference=reference)
    return sorted({finding.check for finding in proof_text(letter)})


# -- the text checks, on the faults seen in real letters -------------------------------------------

def test_a_lawyers_letter_citing_demands_that_were_never_sent_is_stopped():
    assert checks(["委托人已先后0次向您发出书面催费函，最近一次为，您至今仍未缴纳。"]) == ["empty-value", "zero-count"]
    assert checks(["Our client has sent you 0 written demands for payment, the most recent dated ."]) == [
        "empty-value", "zero-count"]


@pytest.mark.parametrize("text, found", [
    ("您尚欠2026-10至2026-10期间物业费", ["equal-span", "iso-date"]),
    ("您尚欠2026年第2季度至2026年第2季度期间水费", ["equal-span"]),
    ("您尚欠2026年10月至10月期间物业费", ["equal-span"]),
    ("您尚欠2026-01至2026-10期间物业费", ["iso-date"]),
    ("invoices for the periods INV-2025-0137 to INV-2026-0174", ["raw-code"]),
    ("outstanding since INV-2025-0137", ["raw-code"]),
    ("you are a sole_trader", ["raw-code"]),
    ("covering October 2026 to October 2026", ["equal-span"]),
])
def test_mechanical_phrasing_is_caught(text, found):
    assert checks([text]) == found


@pytest.mark.parametrize("text", [
    "您尚欠2026年1月至10月期间物业费共10笔，本金¥2,700.00。",
    "您尚欠2025年第4季度至2026年第3季度期间水费，涉及4个季度。",
    "委托人已先后2次向您发出书面催费函，最近一次为2026年10月8日。",
    "the invoices listed in Schedule 2 totalling £28,045.90 are overdue.",
    "如有疑问请致电0571-8600 1234（周一至周日 8:30-17:30）。",
    "Our ref: DEM-2026-0001",
])
def test_proper_prose_passes(text):
    assert checks([text], reference="DEM-2026-0001") == []


def test_a_figure_of_the_letter_that_no_schedule_shows_is_stopped():
    assert checks(["应缴总额：¥270.41"], schedules="合计 ¥270.41") == []
    assert checks(["应缴总额：¥270.41，另付¥9.99"], schedules="合计 ¥270.41") == ["figures"]


@pytest.mark.parametrize("key, value", [
    ("/Keywords", "zh-CN.property.demand.category_offer.wilful@1.0.0"),
    ("docProps/custom.xml:property@name", "letterforge.clause.category_offer"),
    ("/Subject", "wilful defaulter"),
    ("description", "欠费类型：恶意拖欠"),
])
def test_metadata_that_classes_the_debtor_is_stopped(key, value):
    assert checks([], metadata=[(key, value)]) == ["metadata"]
    assert checks([], metadata=[("/Keywords", "锦物催字〔2026〕第0027号"), ("/Author", "杭州锦绣物业服务有限公司")]) == []


def test_a_clause_stating_a_missing_value_or_a_count_of_nothing_is_stopped():
    facts = SimpleNamespace(slot="facts", variables=("demands_sent", "previous_demand_date", "debtor.name"))
    draft = SimpleNamespace(clauses=[facts], context={"demands_sent": 0, "previous_demand_date": None,
                                                      "debtor": {"name": "陈望"}})
    found = {(f.check, f.message.split("}}")[0]) for f in check_values(draft)}
    assert found == {("zero-count", "states {{ demands_sent "), ("empty-value", "states {{ previous_demand_date ")}
    draft.context.update(demands_sent=2, previous_demand_date=date(2026, 10, 8))
    assert check_values(draft) == []


# -- the layout checks, on WeasyPrint's boxes ------------------------------------------------------------

def layout(body: str):
    from weasyprint import HTML

    return HTML(string=f"<html><head><style>@page {{ size: A4; margin: 20mm }}</style></head><body>{body}"
                       "</body></html>").render()


def test_a_table_wider_than_the_page_is_caught_from_the_laid_out_boxes():
    cells = "".join(f"<td style='white-space: nowrap'>£{n},480.00 interest and compensation</td>" for n in range(6))
    found = check_layout(layout(f"<table><tr>{cells}</tr></table>"))
    assert found and {f.check for f in found} == {"page-bounds"} and "right edge" in found[0].message
    assert check_layout(layout("<table><tr><td>£12,480.00</td><td>£2,248.70</td></tr></table>")) == []


def test_a_box_taller_than_the_page_is_caught():
    found = check_layout(layout("<div style='height: 290mm; break-inside: avoid'>x</div>"))
    assert [f.check for f in found] == ["page-bounds"] and "below" in found[0].message


def test_a_page_holding_only_the_closing_is_caught():
    paragraphs = "<div style='height: 235mm'></div><p class='clause'>正文的最后一段。</p>"
    closing = ("<div class='signature'><div>Yours faithfully,</div><div style='height: 14mm'></div>"
               "<div>Credit Control</div></div><div class='enclosures'>Enclosures</div>")
    found = check_layout(layout(paragraphs + closing))
    assert [f.check for f in found] == ["closing-alone"] and found[0].where == "page 2"
    # kept with its last paragraph (the letter style sheet does this), the page is no longer empty
    kept = closing.replace("class='signature'", "class='signature' style='break-before: avoid; break-inside: avoid'")
    assert check_layout(layout(paragraphs + kept)) == []


# -- the letters the samples make -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def factories():
    return {name: LetterFactory(Workspace.open(SAMPLES / name)) for name in ("property-zh", "water-zh",
                                                                             "receivables-en")}


def longest_account(factory):
    statements = [s for s in compute_statements(factory.workspace, (), AS_OF, factory.data)
                  if s.lines and not s.account.on_hold(AS_OF)]
    return max(statements, key=lambda s: len(s.lines)).account.account_id


@pytest.mark.slow
@pytest.mark.parametrize("sample", ["property-zh", "water-zh", "receivables-en"])
def test_every_table_of_the_longest_letter_fits_the_page_and_the_closing_is_never_alone(factories, sample):
    factory = factories[sample]
    account = longest_account(factory)
    for kind in LetterKind:
        draft = factory.draft(account, kind, AS_OF)
        document = factory.renderer.layout(factory.renderer.render_html(draft))
        assert check_layout(document) == [], (account, kind)


@pytest.mark.slow
def test_the_english_arrears_detail_shows_every_figure_whole(factories):
    factory = factories["receivables-en"]
    draft = factory.draft("C-1004", LetterKind.LAWYER, AS_OF)
    pages = PdfReader(io.BytesIO(factory.render(draft, "pdf").content)).pages
    text = "".join(page.extract_text() for page in pages)
    for line in draft.statement.lines:
        shown = f"£{line.late_fee.amount + line.late_fee.compensation:,.2f}"
        assert shown in text


@pytest.mark.slow
@pytest.mark.parametrize("sample", ["property-zh", "water-zh", "receivables-en"])
def test_no_file_names_a_clause_or_the_debtor_category(factories, sample):
    factory = factories[sample]
    for statement in compute_statements(factory.workspace, (), AS_OF, factory.data):
        if not statement.lines or statement.account.on_hold(AS_OF):
            continue
        draft = factory.draft(statement.account.account_id, LetterKind.DEMAND, AS_OF)
        category = draft.account.category.value
        html = factory.renderer.render_html(draft)
        head_and_attributes = html.split("<body>")[0] + " ".join(re.findall(r"<[^>]+>", html))
        assert category not in head_and_attributes.replace("category", "") or category == "unknown"
        assert not re.search(r"@\d+\.\d+\.\d+|category_offer|data-clause", head_and_attributes)
        docx = factory.render(draft, "docx").content
        with zipfile.ZipFile(io.BytesIO(docx)) as package:
            properties = " ".join(package.read(n).decode("utf-8") for n in package.namelist() if n.startswith("docProps/"))
        assert "category_offer" not in properties and "letterforge.clause" not in properties
        assert not [f for f in read_docx(docx).metadata if category in f[1] and category != "unknown"]
    pdf = factory.render(draft, "pdf").content
    info = {str(k): str(v) for k, v in PdfReader(io.BytesIO(pdf)).metadata.items()}
    assert info["/Keywords"] == draft.reference
    assert not any(re.search(r"@\d+\.\d+\.\d+|category_offer", v) for v in info.values())


@pytest.mark.slow
def test_the_return_slip_is_a_complete_form(factories):
    factory = factories["property-zh"]
    draft = factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF)
    pages = PdfReader(io.BytesIO(factory.render(draft, "pdf").content)).pages
    slip = pages[-1].extract_text().replace(" ", "").replace("\n", "")
    assert "签收回执" in slip
    assert f"本人已收到杭州锦绣物业服务有限公司于2026年11月25日出具的《催费函》（编号：{draft.reference}）及附件，共{len(pages) - 1}页。" in slip
    for field in ("签收人签名", "与收件人关系", "签收日期", "送达人", "请签收后将本回执交回或寄回：浙江省杭州市拱墅区锦绣路188号"):
        assert field in slip
    lawyer = factory.draft("JX-2-0302", LetterKind.LAWYER, AS_OF)
    last = PdfReader(io.BytesIO(factory.render(lawyer, "pdf").content)).pages[-1]
    assert "浙江衡嘉律师事务所（收）" in last.extract_text().replace(" ", "").replace("\n", "")


def test_the_qr_code_is_not_said_to_be_where_it_is_not(factories):
    factory = factories["property-zh"]
    draft = factory.draft("JX-2-0302", LetterKind.REMINDER, AS_OF)
    for output_format in ("html", "docx"):
        content = factory.render(draft, output_format).content
        text = content.decode("utf-8") if output_format == "html" else "\n".join(
            p.text for p in Document(io.BytesIO(content)).paragraphs)
        assert "扫描本页二维码" in text and "左侧" not in text


def test_the_summary_box_phrases_its_span_of_periods_as_the_clauses_do(factories):
    factory = factories["property-zh"]
    draft = factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF)
    html = factory.renderer.render_html(draft)
    summary = html.split('<div class="summary">')[1].split('<div class="deadline">')[0]
    assert f"账期{draft.context['statement']['period_span']}" in summary
    assert not re.search(r"\d{4}-\d{2}", summary)


# -- enforcement: render, batch, and `letterforge proof` -----------------------------------------------

def enforcing(copy_sample, name):
    workspace = copy_sample(name)
    settings = workspace / "letterforge.toml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(re.sub(r"\n\[proof\][^\[]*", "\n", text) + "\n[proof]\nenforce = true\n", encoding="utf-8")
    return workspace


def rename_debtor(workspace, account_id, name):
    """A name with an ISO date in it: a fault in prose whatever the clause texts say."""
    path = workspace / "住户.csv"
    text = path.read_text(encoding="gbk")
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    for row in rows[1:]:
        if row[0] == account_id:
            row[header.index("姓名") if "姓名" in header else 1] = name
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="gbk")


@pytest.mark.slow
def test_render_refuses_a_letter_the_proof_reader_stops_and_writes_nothing(copy_sample, tmp_path):
    workspace = enforcing(copy_sample, "property-zh")
    rename_debtor(workspace, "JX-2-0302", "王建国 2026-01-01")
    factory = LetterFactory(Workspace.open(workspace))
    with pytest.raises(UserError, match="proof-reader stopped") as stopped:
        factory.render(factory.draft("JX-2-0302", LetterKind.REMINDER, AS_OF), "pdf")
    assert "iso-date" in str(stopped.value) and "2026-01-01" in str(stopped.value)
    target = tmp_path / "out.pdf"
    result = CliRunner().invoke(cli, ["-w", str(workspace), "render", "JX-2-0302", "--kind", "reminder",
                                      "--as-of", "2026-11-25", "-o", str(target), "--force", "--reason", "test"])
    assert result.exit_code == 1 and "proof-reader" in result.output and not target.exists()
    # the number it had reserved is voided with the reason, never issued
    listed = CliRunner().invoke(cli, ["-w", str(workspace), "ledger", "list", "--account", "JX-2-0302",
                                      "--format", "json"])
    letters = json.loads(listed.output)
    assert letters and all(l["status"] != "issued" for l in letters)
    assert any(l["status"] == "cancelled" for l in letters)
    # a draft is for reading: it is written, and what the proof-reader found is reported
    preview = CliRunner().invoke(cli, ["-w", str(workspace), "render", "JX-2-0302", "--kind", "reminder",
                                       "--as-of", "2026-11-25", "-o", str(target), "--draft"])
    assert preview.exit_code == 0 and target.exists() and "iso-date" in preview.output


@pytest.mark.slow
def test_enforcement_off_reports_the_findings_and_writes_the_letter(copy_sample):
    workspace = copy_sample("property-zh")
    settings = workspace / "letterforge.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + "\n[proof]\nenforce = false\n", encoding="utf-8")
    rename_debtor(workspace, "JX-2-0302", "王建国 2026-01-01")
    factory = LetterFactory(Workspace.open(workspace))
    assert not factory.workspace.config.proof.enforce
    letter = factory.render(factory.draft("JX-2-0302", LetterKind.REMINDER, AS_OF), "pdf")
    assert letter.content.startswith(b"%PDF") and "iso-date" in {f.check for f in letter.proof.findings}


@pytest.mark.slow
def test_the_batch_never_issues_a_letter_the_proof_reader_stops(copy_sample, tmp_path):
    workspace = enforcing(copy_sample, "property-zh")
    dry = CliRunner().invoke(cli, ["-w", str(workspace), "batch", "--as-of", "2026-11-25", "--dry-run",
                                   "--format", "json"])
    due = json.loads(dry.output)["due_today"]
    victim = due[0]["account_id"]
    rename_debtor(workspace, victim, "王建国 2026-01-01")
    result = CliRunner().invoke(cli, ["-w", str(workspace), "batch", "--as-of", "2026-11-25", "--jobs", "1",
                                      "--out", str(tmp_path / "out"), "--format", "json"])
    report = json.loads(result.output)
    failed = {f["account_id"]: f["error"] for f in report["failed"]}
    assert victim in failed and "iso-date" in failed[victim]
    assert victim not in {l["account_id"] for l in report["issued"]}
    assert not list((tmp_path / "out" / "2026-11-25" / "letters").glob(f"*-{victim}.pdf"))
    assert result.exit_code == 1


@pytest.mark.slow
def test_proof_command_reads_files_and_ledger_references(copy_sample, tmp_path):
    workspace = copy_sample("receivables-en")
    html = tmp_path / "letter.html"
    runner = CliRunner()
    runner.invoke(cli, ["-w", str(workspace), "render", "C-1004", "--kind", "demand", "--as-of", "2026-11-25",
                        "--format", "html", "-o", str(html), "--draft"])
    text = html.read_text(encoding="utf-8")
    html.write_text(text.replace("<body>", "<body><p>Our client has sent you 0 written demands, the most recent "
                                           "dated .</p><table><tr>" + "<td style='white-space:nowrap'>£12,480.00 "
                                           "interest and compensation</td>" * 6 + "</tr></table>"), encoding="utf-8")
    result = runner.invoke(cli, ["proof", str(html), "--format", "json"])
    assert result.exit_code == 1
    found = {f["check"] for f in json.loads(result.output)}
    assert {"zero-count", "empty-value", "page-bounds"} <= found
    missing = runner.invoke(cli, ["-w", str(workspace), "proof", "NO-SUCH-REF"])
    assert missing.exit_code == 1 and "no letter with reference" in missing.output


@pytest.mark.slow
def test_proof_reads_a_pdf_and_a_docx_file(factories, tmp_path):
    factory = factories["property-zh"]
    draft = factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF)
    pdf = factory.render(draft, "pdf")
    from_file = {str(f) for f in proof_file(pdf.content, "pdf").findings}
    in_process = {f.check for f in pdf.proof.findings}
    assert {f.split(": ")[1] for f in from_file} <= in_process | {"closing-alone"}
    docx = factory.render(draft, "docx").content
    assert read_docx(docx).metadata and not [f for f in proof_file(docx, "docx").findings if f.check == "metadata"]
    assert read_html(factory.renderer.render_html(draft)).schedules


@pytest.mark.slow
def test_proof_command_reads_the_issued_letter_of_a_reference(copy_sample, tmp_path):
    workspace = copy_sample("property-zh")
    runner = CliRunner()
    batch = runner.invoke(cli, ["-w", str(workspace), "batch", "--as-of", "2026-11-25", "--jobs", "1",
                                "--out", str(tmp_path / "out"), "--format", "json"])
    issued = json.loads(batch.output)["issued"][0]
    result = runner.invoke(cli, ["-w", str(workspace), "proof", issued["reference"], "--format", "json"])
    from letterforge.archive import reprint
    from letterforge.ledger import read_ledger

    ledger = read_ledger(workspace)
    try:
        content = reprint(Workspace.open(workspace), ledger, issued["reference"]).content
    finally:
        ledger.close()
    expected = [{"check": f.check, "where": f.where, "message": f.message}
                for f in proof_file(content, "pdf").findings]
    assert json.loads(result.output) == expected and result.exit_code == (1 if expected else 0)


@pytest.mark.slow
def test_long_codes_and_a_long_chinese_arrears_table_stay_on_the_page(copy_sample):
    """A hostile or careless export: a fee item and a name with no place to break, 70 periods."""
    workspace = copy_sample("property-zh")
    path = workspace / "欠费明细.csv"
    text = path.read_text(encoding="gbk")
    header = text.splitlines()[0]
    columns = header.split(",")
    rows = []
    for n in range(70):
        values = {"户号": "JX-2-0302", "账期": f"{2020 + n // 12}-{1 + n % 12:02d}", "收费项目": "物业服务费" if n % 7 else "X" * 60,
                  "应收金额": "1440.00", "已缴金额": "0", "应缴日期": f"{2020 + n // 12}/{1 + n % 12}/15"}
        rows.append(",".join(values.get(column, "") for column in columns))
    path.write_text("\n".join([header] + [line for line in text.splitlines()[1:] if not line.startswith("JX-2-0302,")]
                              + rows) + "\n", encoding="gbk")
    rename_debtor(workspace, "JX-2-0302", "Z" * 120)
    factory = LetterFactory(Workspace.open(workspace))
    assert not factory.data.diagnostics
    draft = factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF)
    assert len(draft.statement.lines) == 70
    document = factory.renderer.layout(factory.renderer.render_html(draft))
    assert len(document.pages) > 6
    assert check_layout(document) == []


@pytest.mark.slow
@pytest.mark.parametrize("sample", ["property-zh", "water-zh", "receivables-en"])
def test_every_letter_of_every_sample_account_and_kind_passes_the_proof_reader(factories, sample):
    """Read from the HTML each letter is laid out from (the layout itself is checked above on the
    longest letters, and on every letter whenever a PDF is made)."""
    factory = factories[sample]
    failed = {}
    for statement in compute_statements(factory.workspace, (), AS_OF, factory.data):
        if not statement.lines or statement.account.on_hold(AS_OF):
            continue
        for kind in LetterKind:
            draft = factory.draft(statement.account.account_id, kind, AS_OF)
            _, report = factory.renderer.render_proofread(draft, "html")
            if not report.ok:
                failed[(statement.account.account_id, kind.value)] = [str(f) for f in report.findings]
    assert failed == {}
