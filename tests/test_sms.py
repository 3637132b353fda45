"""SMS notices: segment counts, the clause checks, the day file read back, the JSON/HTTP gateway
against a server on 127.0.0.1, the ledger's record, and a suspension notice never texted."""

import csv
import hashlib
import io
import json
import threading
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from letterforge.batch import run_batch
from letterforge.cli import cli
from letterforge.clausecheck import check_clauses
from letterforge.clauses import load_clause_library
from letterforge.delivery import SUSPENSION_RULE
from letterforge.ledger import read_ledger
from letterforge.letters import clause_folders
from letterforge.sms import phone_number, sms_length
from letterforge.sms_notices import JsonHttpGateway, message_id_for, run_sms
from letterforge.workspace import Workspace

CLOCK = lambda: datetime(2026, 11, 25, 6, 30)  # noqa: E731
DAY = date(2026, 11, 25)
SMALL_CAPS = "daily_caps = { reminder = 3, demand = 2, lawyer = 2 }\n"
SMS_CHANNELS = '\n[delivery]\nchannels = { default = ["post", "sms"] }\n'


# -- length ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, encoding, units, segments", [
    ("", "GSM-7", 0, 0),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 306, "GSM-7", 306, 2),
    ("a" * 307, "GSM-7", 307, 3),
    ("€" * 80, "GSM-7", 160, 1),  # the extension table takes two septets a character
    ("£100 owed", "GSM-7", 9, 1),
    ("中" * 70, "UCS-2", 70, 1),
    ("中" * 71, "UCS-2", 71, 2),
    ("中" * 134, "UCS-2", 134, 2),
    ("中" * 135, "UCS-2", 135, 3),
    ("a" * 69 + "中", "UCS-2", 70, 1),  # one Chinese character makes the whole text UCS-2
    ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: two UTF-16 units each
])
def test_segments(text, encoding, units, segments):
    length = sms_length(text)
    assert (length.encoding, length.units, length.segments) == (encoding, units, segments)


@pytest.mark.parametrize("given, locale, expected", [
    ("13800138000", "zh-CN", "13800138000"),
    ("+86 138-0013-8000", "zh-CN", "13800138000"),
    ("0086 13800138000", "zh-CN", "13800138000"),
    ("07700 900123", "en-GB", "447700900123"),
    ("+44 7700 900123", "en-GB", "447700900123"),
    ("0571-8600 1234", "zh-CN", ""),  # a landline
    ("=HYPERLINK(\"x\")", "zh-CN", ""),
    ("", "zh-CN", ""),
])
def test_phone_numbers(given, locale, expected):
    assert phone_number(given, locale) == expected


# -- clauses check ---------------------------------------------------------------------------------------

def _problems(root: Path) -> list:
    workspace = Workspace.open(root)
    folders = clause_folders(workspace)
    return check_clauses(load_clause_library(folders), workspace.config, DAY, folders)


def _sms_clause(root: Path, text: str, variables: str, name: str = "sms.custom.md") -> Path:
    folder = root / "legal_clauses"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"""---
id: ws.sms.custom
version: 1.0.0
title: 短信
locale: zh-CN
jurisdiction: CN
kinds: [reminder]
creditor_types: [property]
categories: [forgot]
slot: sms
effective_from: 2026-01-01
effective_until: null
status: draft
citations: []
variables: [{variables}]
---
{text}
""", encoding="utf-8")
    return path


@pytest.mark.parametrize("sample", ["property-zh", "water-zh", "receivables-en"])
def test_the_shipped_notices_pass_the_check(copy_sample, sample):
    problems = [p for p in _problems(copy_sample(sample)) if p.code.startswith("sms") or "/sms/" in p.file]
    assert problems == []


def test_an_over_long_notice_is_refused(copy_sample):
    root = copy_sample("property-zh")
    text = "【{{ creditor.name }}】" + "您好，您的物业服务费尚未缴清，请尽快缴纳。" * 6 + "户号{{ debtor.account_id }}。"
    path = _sms_clause(root, text, "creditor.name, debtor.account_id")
    (problem,) = [p for p in _problems(root) if p.code == "sms-length"]
    assert problem.file == str(path) or problem.file.endswith("sms.custom.md")
    assert "segments with the widest values" in problem.message and "UCS-2" in problem.message
    result = CliRunner().invoke(cli, ["-w", str(root), "clauses", "check"])
    assert result.exit_code == 1 and "max_segments = 2" in result.output


def test_a_notice_without_signature_or_with_personal_data_is_refused(copy_sample):
    root = copy_sample("property-zh")
    _sms_clause(root, "{{ debtor.name }}您好，户号{{ debtor.account_id }}欠费{{ total | money }}。",
                "debtor.name, debtor.account_id, total")
    codes = {p.code: p.message for p in _problems(root) if p.file.endswith("sms.custom.md")}
    assert "【】" in codes["sms-signature"]
    assert "debtor.name" in codes["sms-personal-data"]


# -- the day's notices -------------------------------------------------------------------------------------

def _consenting(root: Path, accounts_file: str = "住户.csv", encoding: str = "gbk") -> None:
    """Every account agreed to notices by SMS (同意短信送达 = 是)."""
    path = root / accounts_file
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode(encoding))))
    rows[0].append("同意短信送达")
    for row in rows[1:]:
        row.append("是")
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


@pytest.fixture
def sms_workspace(copy_sample) -> Path:
    root = copy_sample("property-zh")
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + SMALL_CAPS + SMS_CHANNELS, encoding="utf-8")
    _consenting(root)
    from conftest import fake_pdf

    report = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf)
    assert report.issued
    return root


def test_the_day_file_lists_each_notice_and_the_ledger_records_it(sms_workspace):
    report = run_sms(Workspace.open(sms_workspace), DAY, sms_workspace / "out", CLOCK)
    ledger = read_ledger(sms_workspace)
    issued = [l for l in ledger.letters() if l.status == "issued"]
    assert len(report.recorded) == len(issued) and report.files
    csv_file, xlsx_file = report.files
    assert csv_file == sms_workspace / "out" / "2026-11-25" / "sms" / "sms-2026-11-25.csv"
    rows = list(csv.reader(io.StringIO(csv_file.read_bytes().decode("utf-8-sig"))))
    assert rows[0] == ["手机号码", "短信内容", "户号", "文号", "计费条数"]
    sheet = load_workbook(xlsx_file).active
    assert [[c.value for c in row] for row in sheet.iter_rows()] == rows
    by_reference = {row[3]: row for row in rows[1:]}
    for letter in issued:
        number, text, account, reference, segments = by_reference[letter.reference]
        assert account == letter.account_id and number.isdigit() and len(number) == 11
        assert text.startswith("【杭州锦绣物业服务有限公司】") and letter.reference in text
        assert text.endswith("咨询电话0571-8600 1234。")  # a value keeps its own spaces
        assert f"{letter.total:,}" in text  # the letter's own amount
        assert int(segments) == sms_length(text).segments <= 2
        (send,) = ledger.sends(letter.reference, channel="sms")
        assert send.status == "unknown" and "for upload" in send.answer  # handed over, not known to be sent
        assert send.sha256 == hashlib.sha256(text.encode("utf-8")).hexdigest()
        assert (sms_workspace / send.file).read_text(encoding="utf-8") == text
        assert send.message_id == message_id_for(letter.reference) and send.address == number
    ledger.close()
    # a rerun records nothing new and writes the same day file
    again = run_sms(Workspace.open(sms_workspace), DAY, sms_workspace / "out", CLOCK)
    assert not again.recorded and len(again.already) == len(issued)
    assert list(csv.reader(io.StringIO(csv_file.read_bytes().decode("utf-8-sig")))) == rows


def test_the_day_file_is_safe_to_open_in_a_spreadsheet(tmp_path):
    from letterforge.outputs import csv_bytes
    from letterforge.sms_notices import DAY_FILE_COLUMNS, SmsNotice, day_file_rows, xlsx_bytes

    notices = [SmsNotice("R-1", "=1+1", "13800138000", '=HYPERLINK("http://x","点击")', "m-1"),
               SmsNotice("R-2", "@SUM(A1)", "13800138001", "-2+3", "m-2")]
    rows = day_file_rows(notices)
    text = csv_bytes(DAY_FILE_COLUMNS["zh-CN"], rows).decode("utf-8-sig")
    read = list(csv.reader(io.StringIO(text)))
    assert read[1][:3] == ["13800138000", "'=HYPERLINK(\"http://x\",\"点击\")", "'=1+1"]
    assert read[2][1:3] == ["'-2+3", "'@SUM(A1)"]
    (tmp_path / "day.xlsx").write_bytes(xlsx_bytes(DAY_FILE_COLUMNS["zh-CN"], rows, DAY))
    sheet = load_workbook(tmp_path / "day.xlsx").active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type == "s" for cell in cells)  # text, never a formula
    assert sheet["B2"].value == '=HYPERLINK("http://x","点击")' and sheet["A2"].value == "13800138000"


# -- the JSON/HTTP gateway ------------------------------------------------------------------------------------

class _Provider(BaseHTTPRequestHandler):
    answers: list = []
    received: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((self.headers.get("Authorization"), body))
        status, payload = type(self).answers.pop(0) if type(self).answers else (200, {"message_id": "GW-OK"})
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def provider():
    _Provider.answers, _Provider.received = [], []
    server = HTTPServer(("127.0.0.1", 0), _Provider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _Provider
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_adapter_reads_the_providers_answers(provider):
    server, handler = provider
    url = f"http://127.0.0.1:{server.server_port}/send"
    handler.answers = [(200, {"message_id": "GW-1"}), (503, {"error": "busy"}), (400, {"error": "bad number"}),
                       (429, {"error": "slow down"})]
    gateway = JsonHttpGateway(url, "Bearer s3cret")
    first = gateway.send("13800138000", "【测试】文本", "m-1")
    assert first.status == "sent" and "GW-1" in first.answer
    assert gateway.send("13800138000", "x", "m-2").status == "deferred"
    refused = gateway.send("13800138000", "x", "m-3")
    assert refused.status == "failed" and "HTTP 400" in refused.answer
    assert gateway.send("13800138000", "x", "m-4").status == "deferred"
    assert handler.received[0] == ("Bearer s3cret", {"to": "13800138000", "text": "【测试】文本", "client_ref": "m-1"})
    server.shutdown()
    server.server_close()
    unreachable = JsonHttpGateway(url, timeout=2).send("13800138000", "x", "m-5")
    assert unreachable.status == "deferred" and "could not reach" in unreachable.answer


def test_notices_through_the_gateway_are_sent_once_and_recorded(sms_workspace, provider, monkeypatch):
    server, handler = provider
    config = sms_workspace / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[sms]\ngateway = "json-http"\n', encoding="utf-8")
    monkeypatch.setenv("LETTERFORGE_SMS_URL", f"http://127.0.0.1:{server.server_port}/send")
    monkeypatch.setenv("LETTERFORGE_SMS_AUTH", "Bearer very-secret-token")
    handler.answers = [(503, {"error": "busy"})]  # the first notice is deferred, the others go
    runner = CliRunner()
    result = runner.invoke(cli, ["-w", str(sms_workspace), "sms", "--as-of", "2026-11-25"])
    assert result.exit_code == 1, result.output  # a deferred notice: something to run again
    assert "very-secret-token" not in result.output
    ledger = read_ledger(sms_workspace)
    sends = ledger.sends(channel="sms")
    assert [s.status for s in sends].count("deferred") == 1
    assert all(s.status == "sent" and "GW-OK" in s.answer for s in sends if s.status != "deferred")
    for send in sends:
        text = (sms_workspace / send.file).read_text(encoding="utf-8")
        assert any(body["text"] == text and body["to"] == send.address and body["client_ref"] == send.message_id
                   for _, body in handler.received)
    ledger.close()
    assert all(auth == "Bearer very-secret-token" for auth, _ in handler.received)
    count = len(handler.received)
    # the rerun sends only the deferred notice
    result = runner.invoke(cli, ["-w", str(sms_workspace), "sms", "--as-of", "2026-11-25"])
    assert result.exit_code == 0, result.output
    assert len(handler.received) == count + 1
    ledger = read_ledger(sms_workspace)
    assert {s.status for s in ledger.sends(channel="sms")} == {"sent"}
    ledger.close()
    result = runner.invoke(cli, ["-w", str(sms_workspace), "sms", "--as-of", "2026-11-25"])
    assert result.exit_code == 0 and len(handler.received) == count + 1


def test_a_gateway_without_its_url_is_a_settings_error(sms_workspace, monkeypatch):
    config = sms_workspace / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[sms]\ngateway = "json-http"\n', encoding="utf-8")
    monkeypatch.delenv("LETTERFORGE_SMS_URL", raising=False)
    result = CliRunner().invoke(cli, ["-w", str(sms_workspace), "sms", "--as-of", "2026-11-25"])
    assert result.exit_code == 1 and "LETTERFORGE_SMS_URL, which is not set" in result.output
    for wrong in ("file:///etc/passwd", "ftp://sms.example.com/send", "https://sms.example.com/send?key=k3y x"):
        monkeypatch.setenv("LETTERFORGE_SMS_URL", wrong)
        result = CliRunner().invoke(cli, ["-w", str(sms_workspace), "sms", "--as-of", "2026-11-25"])
        assert result.exit_code == 1 and "must be one http:// or https:// URL" in result.output, wrong
        assert wrong not in result.output and "Traceback" not in result.output
    ledger = read_ledger(sms_workspace)
    assert ledger.sends(channel="sms") == []
    ledger.close()


def test_a_day_with_nothing_to_text_needs_no_gateway_url(sms_workspace, monkeypatch):
    # The gateway's URL is read only once a notice is to go: a day without letters, or a rerun whose
    # notices the ledger has, texts nobody, says so and exits 0 without it.
    config = sms_workspace / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[sms]\ngateway = "json-http"\n', encoding="utf-8")
    monkeypatch.delenv("LETTERFORGE_SMS_URL", raising=False)
    result = CliRunner().invoke(cli, ["-w", str(sms_workspace), "sms", "--as-of", "2026-11-26"])
    assert result.exit_code == 0, result.output
    assert "2026-11-26: nothing to text" in result.output and "LETTERFORGE_SMS_URL" not in result.output
    # The day's notices are due: without the URL that is the settings error, and nothing is recorded.
    result = CliRunner().invoke(cli, ["-w", str(sms_workspace), "sms", "--as-of", "2026-11-25"])
    assert result.exit_code == 1 and "LETTERFORGE_SMS_URL, which is not set" in result.output
    ledger = read_ledger(sms_workspace)
    assert ledger.sends(channel="sms") == []
    ledger.close()
    assert not list(sms_workspace.rglob("*.sms.txt"))  # nothing archived either


def test_a_rerun_whose_notices_are_all_recorded_needs_no_gateway_url(sms_workspace, monkeypatch):
    first = run_sms(Workspace.open(sms_workspace), DAY, sms_workspace / "out", CLOCK)  # the day file: all recorded
    assert first.recorded
    config = sms_workspace / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[sms]\ngateway = "json-http"\n', encoding="utf-8")
    monkeypatch.delenv("LETTERFORGE_SMS_URL", raising=False)
    again = run_sms(Workspace.open(sms_workspace), DAY, sms_workspace / "out", CLOCK)
    assert not again.recorded and len(again.already) == len(first.recorded)
    # --resend has something to send: the missing URL stops it before the ledger is touched.
    notice = first.recorded[0][0]
    result = CliRunner().invoke(cli, ["-w", str(sms_workspace), "sms", "--as-of", "2026-11-25", "--resend", notice.reference])
    assert result.exit_code == 1 and "LETTERFORGE_SMS_URL, which is not set" in result.output
    ledger = read_ledger(sms_workspace)
    assert ledger.send_by_message_id(notice.message_id).status == "unknown"
    ledger.close()


# -- the law: a suspension notice goes on paper only ------------------------------------------------------------

def _water_workspace(copy_sample, channels: str) -> Path:
    from openpyxl import load_workbook as open_book

    root = copy_sample("water-zh")
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + channels, encoding="utf-8")
    book_path = next(root.glob("*.xlsx"))
    book = open_book(book_path)
    sheet = book.worksheets[0]
    sheet.cell(row=1, column=sheet.max_column + 1, value="同意短信送达")
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row=row, column=sheet.max_column, value="是")
    book.save(book_path)
    from conftest import fake_pdf

    assert run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf).issued
    return root


def test_a_water_suspension_notice_never_goes_by_sms(copy_sample):
    # Settings that would text a water utility's demand (which can give notice of suspending supply):
    # the run is refused, naming the setting and the rule, and nothing is texted.
    root = _water_workspace(copy_sample, SMS_CHANNELS)
    result = CliRunner().invoke(cli, ["-w", str(root), "sms", "--as-of", "2026-11-25"])
    assert result.exit_code == 1
    assert "delivery.channels.default" in result.output and "Electronic Signature Law" in result.output
    assert "Traceback" not in result.output
    ledger = read_ledger(root)
    assert ledger.sends(channel="sms") == []
    ledger.close()
    assert not (root / "out" / "2026-11-25" / "sms").exists()


def test_a_water_utilitys_reminders_may_go_by_sms(copy_sample):
    root = _water_workspace(copy_sample, '\n[delivery]\nchannels = { default = ["post"], reminder = ["post", "sms"] }\n')
    report = run_sms(Workspace.open(root), DAY, root / "out", CLOCK)
    ledger = read_ledger(root)
    kinds = {l.reference: l.kind.value for l in ledger.letters()}
    texted = {send.reference for send in ledger.sends(channel="sms")}
    ledger.close()
    assert texted and {kinds[r] for r in texted} == {"reminder"}
    assert {notice.reference for notice, _, _ in report.recorded} == texted


# -- attacks: what a careless user, a broken gateway or a crash does ----------------------------------------------

@pytest.mark.parametrize("given, locale, expected", [
    ("１３８００１３８０００", "zh-CN", "13800138000"),  # full-width digits, as typed with a Chinese IME
    ("＋８６ １３８ ００１３ ８０００", "zh-CN", "13800138000"),
    ("\t138 0013 8000 ", "zh-CN", "13800138000"),
    ("86-138-0013-8000", "zh-CN", "13800138000"),
    ("١٣٨٠٠١٣٨٠٠٠", "zh-CN", ""),  # digits, but not ASCII ones: no platform takes them
    ("138²0013800", "zh-CN", ""),  # a stray superscript is not silently a 2
    ("13800138000 / 13900139000", "zh-CN", ""),  # two numbers in one cell
    ("   ", "zh-CN", ""),
])
def test_phone_numbers_as_clerks_type_them(given, locale, expected):
    assert phone_number(given, locale) == expected


def _gateway_workspace(root: Path, server, monkeypatch) -> None:
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[sms]\ngateway = "json-http"\n', encoding="utf-8")
    monkeypatch.setenv("LETTERFORGE_SMS_URL", f"http://127.0.0.1:{server.server_port}/send")


def test_an_answer_without_a_message_id_is_unknown_and_never_sent_again(sms_workspace, provider, monkeypatch):
    server, handler = provider
    _gateway_workspace(sms_workspace, server, monkeypatch)
    handler.answers = [(200, "<html>Service temporarily unavailable</html>"), (200, {}), (200, {"message_id": ""})]
    runner = CliRunner()
    result = runner.invoke(cli, ["-w", str(sms_workspace), "sms", "--as-of", "2026-11-25"])
    assert result.exit_code == 1, result.output  # three notices whose fate is unknown: look at them
    ledger = read_ledger(sms_workspace)
    sends = ledger.sends(channel="sms")
    unknown = [s for s in sends if s.status == "unknown"]
    assert len(unknown) == 3 and all("without a message id" in s.answer for s in unknown)
    assert all(s.status == "sent" for s in sends if s not in unknown)
    ledger.close()
    count = len(handler.received)
    again = runner.invoke(cli, ["-w", str(sms_workspace), "sms", "--as-of", "2026-11-25"])
    assert len(handler.received) == count  # nothing twice: an unknown notice may have reached the phone
    assert "recorded by an earlier run" in again.output
    assert not (sms_workspace / "out" / "2026-11-25" / "sms").exists()  # through a gateway: no file to upload


def test_a_gateway_that_does_not_answer_in_time(provider):
    import time

    server, handler = provider

    class Slow(_Provider):
        def do_POST(self):  # noqa: N802
            time.sleep(1.5)
            super().do_POST()

    server.RequestHandlerClass = Slow
    answer = JsonHttpGateway(f"http://127.0.0.1:{server.server_port}/send", timeout=0.3).send("13800138000", "x", "m-1")
    assert answer.status == "unknown" and "may have been sent" in answer.answer


def test_the_providers_words_keep_no_number_and_no_text(provider):
    server, handler = provider
    handler.answers = [(400, {"error": "invalid number 13800138000 for text 【测试】欠费"}),
                       (200, {"message_id": "MSG-1", "echo": "13800138000"})]
    gateway = JsonHttpGateway(f"http://127.0.0.1:{server.server_port}/send")
    refused = gateway.send("13800138000", "【测试】欠费", "m-1")
    assert refused.status == "failed" and "13800138000" not in refused.answer and "欠费" not in refused.answer
    sent = gateway.send("13800138000", "【测试】欠费", "m-2")
    assert sent.status == "sent" and sent.answer.endswith("gateway message id MSG-1")


def test_a_crash_between_recording_and_the_gateways_answer_is_not_sent_blindly(sms_workspace, provider, monkeypatch):
    from letterforge.ledger import open_ledger
    from letterforge import sms_notices

    server, handler = provider
    _gateway_workspace(sms_workspace, server, monkeypatch)
    workspace = Workspace.open(sms_workspace)
    ledger = open_ledger(sms_workspace, CLOCK)
    (letter, notice), *_ = sms_notices.notices_due(workspace, ledger, workspace.load_data(), DAY)[0]
    ledger.begin_send(notice.reference, "sms", notice.number, notice.message_id, notice.sha256, "")
    ledger.close()  # ... and the run died here: did the gateway get it?
    result = CliRunner().invoke(cli, ["-w", str(sms_workspace), "sms", "--as-of", "2026-11-25", "--format", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["unresolved"] == [notice.reference]
    assert notice.message_id not in {body["client_ref"] for _, body in handler.received}
    # the operator asked the provider: it never came; sent again on purpose, with the same id and text
    sent = CliRunner().invoke(cli, ["-w", str(sms_workspace), "sms", "--as-of", "2026-11-25",
                                    "--resend", notice.reference])
    assert sent.exit_code == 0, sent.output
    assert [body["client_ref"] for _, body in handler.received].count(notice.message_id) == 1
    ledger = read_ledger(sms_workspace)
    (send,) = ledger.sends(notice.reference, channel="sms")
    assert send.status == "sent" and send.sha256 == notice.sha256
    assert "resending" in [event.event for event in ledger.events(notice.reference)]
    ledger.close()
    # a sent notice is never sent again, not even on purpose
    refused = CliRunner().invoke(cli, ["-w", str(sms_workspace), "sms", "--as-of", "2026-11-25",
                                       "--resend", notice.reference])
    assert refused.exit_code == 1 and "its SMS is sent" in refused.output
    assert [body["client_ref"] for _, body in handler.received].count(notice.message_id) == 1


def test_sms_waits_for_a_running_batch(sms_workspace):
    from letterforge.recovery import workspace_lock

    with workspace_lock(Workspace.open(sms_workspace)):
        result = CliRunner().invoke(cli, ["-w", str(sms_workspace), "sms", "--as-of", "2026-11-25"])
    assert result.exit_code == 1 and "another batch is running" in result.output
    ledger = read_ledger(sms_workspace)
    assert ledger.sends(channel="sms") == []
    ledger.close()


def test_a_creditor_name_with_its_own_brackets(copy_sample):
    root = copy_sample("property-zh")
    config = root / "letterforge.toml"
    text = config.read_text(encoding="utf-8")
    name = Workspace.open(root).config.creditor.name
    config.write_text(text.replace(f'"{name}"', '"【锦绣】物业"', 1) + SMALL_CAPS + SMS_CHANNELS, encoding="utf-8")
    assert Workspace.open(root).config.creditor.name == "【锦绣】物业"
    problems = [p for p in _problems(root) if p.code == "sms-signature"]
    assert problems and "【锦绣】物业" in problems[0].message
    _consenting(root)
    from conftest import fake_pdf

    assert run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf).issued
    result = CliRunner().invoke(cli, ["-w", str(root), "sms", "--as-of", "2026-11-25"])
    assert result.exit_code == 1 and "besides its sender's signature" in result.output
    assert "Traceback" not in result.output
    ledger = read_ledger(root)
    assert ledger.sends(channel="sms") == []
    ledger.close()


def test_the_evidence_bundle_and_ledger_show_carry_the_sms(sms_workspace):
    import zipfile

    run_sms(Workspace.open(sms_workspace), DAY, sms_workspace / "out", CLOCK)
    ledger = read_ledger(sms_workspace)
    send = ledger.sends(channel="sms")[0]
    ledger.close()
    text = (sms_workspace / send.file).read_bytes()
    runner = CliRunner()
    shown = runner.invoke(cli, ["-w", str(sms_workspace), "ledger", "show", send.reference, "--format", "json"])
    assert shown.exit_code == 0
    (listed,) = [s for s in json.loads(shown.stdout)["sends"] if s["channel"] == "sms"]
    assert listed["sha256"] == send.sha256 == hashlib.sha256(text).hexdigest()
    exported = runner.invoke(cli, ["-w", str(sms_workspace), "ledger", "export"])
    row = next(line for line in exported.output.splitlines() if line.startswith(send.reference))
    assert '""channel"": ""sms""' in row and send.sha256 in row  # the send's events, in the export's row
    bundle = sms_workspace / "bundle.zip"
    result = runner.invoke(cli, ["-w", str(sms_workspace), "evidence", send.reference, "-o", str(bundle)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(bundle) as archive:
        (member,) = [n for n in archive.namelist() if n.startswith("sms/")]
        assert member.endswith(".txt") and archive.read(member) == text
        assert not [n for n in archive.namelist() if n.startswith("emails/")]
        assert f"{send.sha256}  {member}" in archive.read("SHA256SUMS").decode()
        summary = archive.read("summary-摘要.txt").decode("utf-8")
    assert "短信" in summary and f"（{member}）的 SHA-256：{send.sha256}" in summary and send.address in summary


# -- [delivery] sms_after_batch ----------------------------------------------------------------------

def _after_batch_workspace(copy_sample) -> Path:
    root = copy_sample("property-zh")
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + SMALL_CAPS + SMS_CHANNELS + "sms_after_batch = true\n",
                      encoding="utf-8")
    _consenting(root)
    return root


def test_the_batch_texts_the_days_letters_when_configured(copy_sample):
    from conftest import fake_pdf
    from letterforge.reports import batch_dict, batch_text

    root = _after_batch_workspace(copy_sample)
    report = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf)
    assert report.exit_code == 0, report.problems
    ledger = read_ledger(root)
    issued = {l.reference for l in ledger.letters() if l.status == "issued"}
    texted = {s.reference for r in issued for s in ledger.sends(r, channel="sms")}
    ledger.close()
    assert issued and texted == issued == {n.reference for n, _, _ in report.sms.recorded}
    day_file = root / "out" / "2026-11-25" / "sms" / "sms-2026-11-25.csv"
    assert report.sms.files[0] == day_file and day_file.is_file() and day_file in report.sms.files
    assert "sms: " in batch_text(report) and batch_dict(report)["sms"]["recorded"]
    # A rerun of the completed day texts nothing again, and says so.
    again = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf)
    assert again.already_complete and again.exit_code == 0
    assert not again.sms.recorded and set(again.sms.already) == issued
    assert "recorded by an earlier run" in batch_text(again)


def test_a_batch_stopped_halfway_texts_nobody_and_the_run_that_completes_the_day_texts_the_issued(copy_sample):
    import signal

    from conftest import fake_pdf, sigterm_at

    root = _after_batch_workspace(copy_sample)
    stopped = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=sigterm_at(3))
    assert stopped.interrupted == signal.SIGTERM and stopped.left > 0 and stopped.sms is None
    ledger = read_ledger(root)
    assert not [s for l in ledger.letters() if l.reference for s in ledger.sends(l.reference, channel="sms")]
    ledger.close()
    assert not (root / "out" / "2026-11-25" / "sms").exists()
    done = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf)
    assert done.exit_code == 0, done.problems
    ledger = read_ledger(root)
    letters = ledger.letters()
    issued = {l.reference for l in letters if l.status == "issued"}
    texted = [s.reference for l in letters if l.reference for s in ledger.sends(l.reference, channel="sms")]
    ledger.close()
    assert sorted(texted) == sorted(issued)  # every issued letter once, none that was not issued
    assert {n.reference for n, _, _ in done.sms.recorded} == issued


def test_the_batch_texts_the_issued_letters_even_with_a_rejected_row(copy_sample):
    from conftest import fake_pdf

    root = _after_batch_workspace(copy_sample)
    charges = root / "欠费明细.csv"  # one row the data check rejects (an amount that is no number)
    charges.write_bytes(charges.read_bytes() + "JX-1-0201,2026-09,物业服务费,abc,0.00,2026-09-05\r\n".encode("gb18030"))
    report = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf)
    assert report.rejected_rows == 1 and report.exit_code == 1  # still reported, still exit 1
    ledger = read_ledger(root)
    issued = {l.reference for l in ledger.letters() if l.status == "issued" and l.issued_on == DAY}
    texted = [s.reference for r in issued for s in ledger.sends(r, channel="sms")]
    ledger.close()
    assert issued and sorted(texted) == sorted(issued) == sorted(n.reference for n, _, _ in report.sms.recorded)
    assert (root / "out" / "2026-11-25" / "sms" / "sms-2026-11-25.csv").is_file()
    # The rerun texts nothing again and still exits 1 for the row.
    again = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf)
    assert again.exit_code == 1 and not again.sms.recorded and set(again.sms.already) == issued


def test_sms_after_batch_with_settings_that_break_the_law_is_a_problem_of_the_run(copy_sample):
    # A water utility's demand can give notice of suspending supply: never texted, whatever the
    # settings say. The day's letters are issued (on paper); the batch says why nothing was texted.
    from conftest import fake_pdf

    root = copy_sample("water-zh")
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + SMS_CHANNELS + "sms_after_batch = true\n", encoding="utf-8")
    report = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf)
    assert report.issued and report.sms is None and report.exit_code == 1
    assert any(p.startswith("sms: ") and "Electronic Signature Law" in p for p in report.problems), report.problems
    ledger = read_ledger(root)
    assert ledger.sends(channel="sms") == []
    ledger.close()


def test_sms_after_batch_with_a_gateway_without_its_url_leaves_the_day_issued_and_says_why(copy_sample, monkeypatch):
    from conftest import fake_pdf
    from letterforge.reports import batch_text

    root = _after_batch_workspace(copy_sample)
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[sms]\ngateway = "json-http"\nurl_env = "LF_TEST_NO_URL"\n',
                      encoding="utf-8")
    monkeypatch.delenv("LF_TEST_NO_URL", raising=False)
    report = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf)
    assert report.issued and report.sms is None and report.exit_code == 1
    assert "PROBLEM: sms: " in batch_text(report) and "LF_TEST_NO_URL" in batch_text(report)
    ledger = read_ledger(root)
    assert ledger.sends(channel="sms") == [] and all(d.completed_at for d in ledger.days())
    ledger.close()


def test_sms_after_batch_with_a_gateway_and_nothing_to_text_needs_no_url(copy_sample, monkeypatch):
    # No debtor agreed to SMS: the batch's SMS step has nothing to send, so the unset URL is no problem.
    from conftest import fake_pdf
    from letterforge.reports import batch_text

    root = copy_sample("property-zh")
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + SMALL_CAPS + SMS_CHANNELS + "sms_after_batch = true\n"
                      '\n[sms]\ngateway = "json-http"\nurl_env = "LF_TEST_NO_URL"\n', encoding="utf-8")
    monkeypatch.delenv("LF_TEST_NO_URL", raising=False)
    report = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf)
    assert report.issued and report.exit_code == 0, report.problems
    assert report.sms is not None and not report.sms.recorded and report.sms.withheld
    assert "LF_TEST_NO_URL" not in batch_text(report)
