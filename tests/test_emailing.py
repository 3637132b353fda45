"""E-mail delivery against a real SMTP server on 127.0.0.1 (aiosmtpd): one message per letter, the
archived PDF attached byte for byte, retries on 4xx, 5xx recorded as failed, reruns that send
nothing, crashes resolved by the Message-ID, bounces, and no credential in any output."""

from __future__ import annotations

import csv
import email
import hashlib
import json
import logging
import socket
from datetime import date, datetime
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from click.testing import CliRunner

from letterforge.batch import run_batch
from letterforge.cli import cli
from letterforge.emailing import SendRefused, message_id, send_day
from letterforge.ledger import open_ledger
from letterforge.workspace import Workspace

DAY = date(2026, 11, 25)
CLOCK = lambda: datetime(2026, 11, 25, 9, 15)  # noqa: E731
SMALL_CAPS = """
daily_caps = { reminder = 3, demand = 2, lawyer = 5 }
per_group_daily = { reminder = 2, demand = 1, lawyer = 1 }
first_lawyer_wave = 3
horizon_days = 15
"""
PASSWORD = "s3cret-Pa55word-xyzzy"
USER = "billing-robot"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Recorder:
    """An SMTP handler that keeps what it accepts and answers as a test scripts it."""

    def __init__(self) -> None:
        self.accepted: list = []
        self.data_answers: list[str] = []  # answers to give to DATA before accepting, in order
        self.refuse_rcpt: dict[str, str] = {}
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_answers:
            return self.data_answers.pop(0)
        self.accepted.append(envelope)
        return f"250 2.0.0 Ok: queued as Q{len(self.accepted):04d}"


def authenticator(recorder):
    def check(server, session, envelope, mechanism, auth_data):
        recorder.logins.append((auth_data.login, auth_data.password))
        ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself
    return check


@pytest.fixture
def smtp_server():
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, authenticator=authenticator(recorder),
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


def email_settings(port: int, **extra: str) -> str:
    lines = {"host": '"127.0.0.1"', "port": str(port), "security": '"none"', "sender": '"billing@example.cn"',
             "sender_name": '"金溪华庭物业服务中心"', "username_env": '"LF_SMTP_USER"', "password_env": '"LF_SMTP_PASSWORD"',
             "backoff_seconds": "0", "retries": "2", "rate_per_minute": "6000", **extra}
    return "[delivery.email]\n" + "".join(f"{key} = {value}\n" for key, value in lines.items())


def make_workspace(copy_sample, port: int, channels: str = '{ default = ["post", "email"] }', **extra: str) -> Path:
    root = copy_sample("property-zh")
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + SMALL_CAPS + f"\n[delivery]\nchannels = {channels}\n"
                      + email_settings(port, **extra), encoding="utf-8")
    accounts = root / "住户.csv"
    with accounts.open(encoding="gb18030") as handle:
        rows = list(csv.reader(handle))
    rows[0] += ["电子邮箱", "同意电子送达"]
    for number, row in enumerate(rows[1:], start=1):
        row += [f"owner{number}@example.cn", "否" if row[0] == "JX-1-0202" else "是"]
    with accounts.open("w", encoding="gb18030", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return root


def issue_day(root: Path) -> None:
    from conftest import fake_pdf

    report = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf)
    assert report.exit_code == 0


@pytest.fixture
def environ(monkeypatch):
    monkeypatch.setenv("LF_SMTP_USER", USER)
    monkeypatch.setenv("LF_SMTP_PASSWORD", PASSWORD)


def send(root: Path, **options):
    ledger = open_ledger(root, CLOCK)
    try:
        return send_day(Workspace.open(root), ledger, DAY, sleep=lambda seconds: None, **options)
    finally:
        ledger.close()


def test_one_message_per_letter_with_the_archived_pdf_and_its_hash_in_the_ledger(copy_sample, smtp_server, environ):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    issue_day(root)
    report = send(root)
    ledger = open_ledger(root, CLOCK)
    issued = [l for l in ledger.letters() if l.issued_on == DAY]
    consenting = [l for l in issued if ledger.snapshot(l.reference)["account"].get("email_consent") == "True"]
    assert issued and consenting and len(consenting) < len(issued)
    assert report.count("sent") == len(consenting) == len(recorder.accepted)
    assert report.exit_code == 0
    sends = {s.reference: s for s in ledger.sends(channel="email")}
    assert set(sends) == {l.reference for l in consenting}
    for envelope in recorder.accepted:
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        send_record = next(s for s in sends.values() if s.message_id == message["Message-ID"])
        letter = ledger.letter(send_record.reference)
        (attachment,) = list(message.iter_attachments())
        pdf = attachment.get_content()
        assert hashlib.sha256(pdf).hexdigest() == letter.pdf_sha256
        assert (root / f"archive/{letter.pdf_sha256[:2]}/{letter.pdf_sha256}.pdf").read_bytes() == pdf
        # The ledger's hash is of the exact bytes handed over; the .eml is archived beside the letter.
        assert hashlib.sha256((root / send_record.file).read_bytes()).hexdigest() == send_record.sha256
        assert envelope.rcpt_tos == [send_record.address]
        assert send_record.answer.startswith("250 2.0.0 Ok: queued as Q")
        assert message["Date"] == "Wed, 25 Nov 2026 09:15:00 -0000"
        assert letter.reference in message["Subject"]
        assert letter.reference in message.get_body(("plain",)).get_content()
    events = [e.event for e in ledger.events(consenting[0].reference)]
    assert events[-2:] == ["sending", "sent"]
    detail = json.loads(ledger.events(consenting[0].reference)[-1].detail)
    assert set(detail) == {"channel", "address", "message_id", "sha256", "answer"}
    ledger.close()


def test_a_rerun_sends_nothing(copy_sample, smtp_server, environ):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    issue_day(root)
    first = send(root)
    count = len(recorder.accepted)
    again = send(root)
    assert len(recorder.accepted) == count and count == first.count("sent")
    assert again.count("sent") == 0 and again.count("skipped") == count


def test_a_temporary_refusal_is_retried_and_a_permanent_one_recorded_as_failed(copy_sample, smtp_server, environ):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    issue_day(root)
    recorder.data_answers = ["451 4.3.0 Temporary local problem", "421 4.7.0 Try again later"]
    recorder.refuse_rcpt = {"owner2@example.cn": "550 5.1.1 <owner2@example.cn>: Recipient address rejected"}
    report = send(root)
    ledger = open_ledger(root, CLOCK)
    first = ledger.sends(channel="email")[0]
    assert first.status == "sent" and first.attempts == 3  # two 4xx, then 250
    retries = [json.loads(e.detail)["answer"] for e in ledger.events(first.reference) if e.event == "send_retry"]
    assert retries == ["451 4.3.0 Temporary local problem", "421 4.7.0 Try again later"]
    failed = [s for s in ledger.sends(channel="email") if s.status == "failed"]
    if any(s.address == "owner2@example.cn" for s in ledger.sends()):
        assert [s.address for s in failed] == ["owner2@example.cn"]
        assert failed[0].answer.startswith("550 5.1.1")
        assert report.exit_code == 1
        # A rerun does not try a permanent failure again by itself.
        count = len(recorder.accepted)
        assert send(root).count("failed") == 1 and len(recorder.accepted) == count
    ledger.close()


def test_retries_run_out_then_the_next_run_sends_the_same_message(copy_sample, smtp_server, environ):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port, retries="1")
    issue_day(root)
    recorder.data_answers = ["452 4.2.2 Mailbox full", "452 4.2.2 Mailbox full"]
    report = send(root)
    assert report.count("deferred") == 1 and report.exit_code == 1
    ledger = open_ledger(root, CLOCK)
    deferred = ledger.sends(status="deferred")[0]
    ledger.close()
    again = send(root)
    assert again.count("sent") == 1
    retried = next(e for e in recorder.accepted
                   if email.message_from_bytes(e.original_content)["Message-ID"] == deferred.message_id)
    assert hashlib.sha256(retried.original_content).hexdigest() != ""  # delivered, same Message-ID
    ledger = open_ledger(root, CLOCK)
    assert ledger.send_by_message_id(deferred.message_id).status == "sent"
    assert len([s for s in ledger.sends(deferred.reference)]) == 1
    ledger.close()


def test_a_crash_between_sending_and_recording_is_not_resent_blindly(copy_sample, smtp_server, environ):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    issue_day(root)
    ledger = open_ledger(root, CLOCK)
    ledger_finish = ledger.finish_send

    def crash(message_id, status, answer):
        raise KeyboardInterrupt  # the process is killed after the server accepted, before the ledger heard
    ledger.finish_send = crash
    with pytest.raises(KeyboardInterrupt):
        send_day(Workspace.open(root), ledger, DAY, sleep=lambda s: None)
    ledger.finish_send = ledger_finish
    ledger.close()
    assert len(recorder.accepted) == 1
    report = send(root)
    ledger = open_ledger(root, CLOCK)
    (unknown,) = ledger.sends(status="unknown")
    assert unknown.message_id == email.message_from_bytes(recorder.accepted[0].original_content)["Message-ID"]
    assert "--resend" in next(o.detail for o in report.outcomes if o.status == "unknown")
    ledger.close()
    # Everything else went; the unknown one did not go again.
    sent_ids = [email.message_from_bytes(e.original_content)["Message-ID"] for e in recorder.accepted]
    assert sent_ids.count(unknown.message_id) == 1
    assert send(root).count("unknown") == 1 and len(recorder.accepted) == len(sent_ids)
    # On purpose, with --resend: the same bytes under the same Message-ID.
    resent = send(root, resend=(unknown.reference,))
    assert resent.count("sent") == 1
    again = recorder.accepted[-1].original_content
    assert again == recorder.accepted[0].original_content
    with pytest.raises(Exception, match="not e-mailed twice"):
        send(root, resend=(unknown.reference,))


def test_a_dsn_marks_its_letter_returned(copy_sample, smtp_server, environ, tmp_path):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port, channels='{ default = ["email"] }')
    issue_day(root)
    send(root)
    ledger = open_ledger(root, CLOCK)
    target = ledger.sends(channel="email")[0]
    ledger.close()
    maildir = tmp_path / "bounces"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    (maildir / "new" / "1.eml").write_bytes(dsn(target.message_id, target.address))
    (maildir / "new" / "2.eml").write_bytes(dsn("<someone-else@example.org>", "x@example.org"))
    (maildir / "new" / "3.eml").write_bytes(b"From: a@b.cn\r\nSubject: hello\r\n\r\nnot a report\r\n")
    runner = CliRunner()
    result = runner.invoke(cli, ["-w", str(root), "send", "--bounces", str(maildir), "--as-of", "2026-11-26"])
    assert result.exit_code == 0, result.output
    assert "1 returned" in result.output and "1 unmatched" in result.output
    ledger = open_ledger(root, CLOCK)
    assert ledger.send_by_message_id(target.message_id).status == "returned"
    assert ledger.letter(target.reference).status == "returned"  # it went by e-mail only
    returned = [json.loads(e.detail) for e in ledger.events(target.reference) if e.event == "returned"]
    assert returned[0]["reason"].startswith("5.1.1") and returned[0]["on"] == "2026-11-26"
    ledger.close()
    # Reading the same bounces again changes nothing.
    again = runner.invoke(cli, ["-w", str(root), "send", "--bounces", str(maildir)])
    assert "1 skipped" in again.output


def dsn(original_id: str, recipient: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.cn\r\nTo: billing@example.cn\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver your message.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.cn\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {original_id}\r\nFrom: billing@example.cn\r\nTo: {recipient}\r\n\r\n"
        "--B--\r\n").encode()


def test_no_credential_in_output_or_logs(copy_sample, smtp_server, environ, caplog, capfd):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    issue_day(root)
    caplog.set_level(logging.DEBUG)
    # A wrong password first: refused, and said so without repeating it (--debug: the exception itself).
    wrong = CliRunner().invoke(cli, ["-w", str(root), "--debug", "send", "--as-of", "2026-11-25"],
                               env={"LF_SMTP_PASSWORD": "wrong-" + PASSWORD})
    assert "refused the login" in str(wrong.exception)
    texts_of_error = [str(wrong.exception), repr(wrong.exception)]
    result = CliRunner().invoke(cli, ["-w", str(root), "--debug", "send", "--as-of", "2026-11-25"])
    assert result.exit_code == 0, result.output
    assert recorder.logins[-1] == (USER.encode(), PASSWORD.encode())
    captured = capfd.readouterr()
    # letterforge's own log records (the test server logs its side of the conversation itself)
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert "e-mail accepted" in ours
    texts = [result.output, wrong.output, ours, captured.out, captured.err] + texts_of_error
    ledger_text = json.dumps([e.__dict__ for e in open_ledger(root, CLOCK).events()])
    for text in texts + [ledger_text] + [p.read_text(errors="replace") for p in root.rglob("*.eml")]:
        assert PASSWORD not in text and USER not in text


def test_a_wrong_password_is_a_clear_error_naming_the_variables(copy_sample, smtp_server, monkeypatch):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    issue_day(root)
    monkeypatch.setenv("LF_SMTP_USER", USER)
    monkeypatch.setenv("LF_SMTP_PASSWORD", "not-" + PASSWORD)
    result = CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-25"])
    assert result.exit_code == 1, result.output
    assert "refused the login" in result.output, result.output
    assert "refused the login" in result.output and "LF_SMTP_PASSWORD" in result.output
    assert PASSWORD not in result.output
    ledger = open_ledger(root, CLOCK)
    (deferred,) = ledger.sends()
    assert deferred.status == "deferred" and "refused the login" in deferred.answer
    ledger.close()
    monkeypatch.setenv("LF_SMTP_PASSWORD", PASSWORD)
    right = CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-25"])
    assert right.exit_code == 0 and len(recorder.accepted) == right.output.count("sent ") >= 1
    monkeypatch.delenv("LF_SMTP_PASSWORD")
    missing = CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-25"])
    assert missing.exit_code == 1 and "LF_SMTP_PASSWORD" in missing.output and "not set" in missing.output


def test_a_suspension_notice_is_never_emailed(copy_sample, smtp_server, environ):
    from letterforge.clauses import load_clause_library
    from letterforge.delivery import SUSPENSION_RULE
    from letterforge.emailing import email_route
    from letterforge.pipeline import clause_folders

    recorder, port = smtp_server
    root = copy_sample("water-zh")
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[delivery]\nchannels = { default = ["email"] }\n'
                      + email_settings(port), encoding="utf-8")
    result = CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-25"])
    assert result.exit_code == 1 and "Electronic Signature Law" in result.output and "art. 3" in result.output
    assert recorder.accepted == []
    # Even were the settings check bypassed, the route of a water demand letter has no e-mail.
    workspace = Workspace.open(root)
    library = load_clause_library(clause_folders(workspace))
    ledger = open_ledger(root, CLOCK)
    ledger.add_planned([("01000619", __import__("letterforge.records").records.LetterKind.DEMAND, DAY, "")])
    (letter,) = ledger.reserve_references(ledger.letters(status="planned"), lambda k, y, n: f"D-{n}", DAY)
    labels = [c.label + "#x" for c in library.clauses if c.id == "zh-CN.water.demand.consequence"]
    ledger.mark_issued(letter, DAY, DAY, *(__import__("decimal").Decimal("1"),) * 3, labels, "0" * 64, "x.pdf",
                       {"account": {"account_id": "01000619", "name": "x", "address": "y", "email": "a@example.cn",
                                    "email_consent": "True", "debtor_type": "individual", "category": "unknown"}})
    route, by_post, why = email_route(workspace, ledger, ledger.letter(letter.reference), library)
    assert route is None and by_post and why == SUSPENSION_RULE
    ledger.close()


def test_message_ids_are_stable_and_ascii():
    first = message_id("物催字〔2026〕第0001号", 1, "billing@example.cn")
    assert first == message_id("物催字〔2026〕第0001号", 1, "billing@example.cn")
    assert first.isascii() and first.endswith("@example.cn>") and "2026-0001" in first
    assert first != message_id("物催字〔2026〕第0002号", 1, "billing@example.cn")
    assert first != message_id("物催字〔2026〕第0001号", 2, "billing@example.cn")


def test_the_rate_limit_paces_messages():
    from letterforge.emailing import Pacer

    now = [0.0]
    waits: list[float] = []

    def sleep(seconds):
        waits.append(seconds)
        now[0] += seconds
    pacer = Pacer(30, sleep, lambda: now[0])
    for _ in range(4):
        pacer.wait()
        now[0] += 0.5  # the message itself
    assert waits == [1.5, 1.5, 1.5]  # 30 a minute: one every 2 seconds


def test_refusals_are_classified():
    assert SendRefused("550", permanent=True).permanent


def test_the_batch_sends_the_days_emails_when_configured(copy_sample, smtp_server, environ):
    from conftest import fake_pdf
    from letterforge.reports import batch_text

    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("[delivery]\n", "[delivery]\nsend_after_batch = true\n"),
                      encoding="utf-8")
    report = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf)
    assert report.exit_code == 0, report.problems
    assert report.emails.count("sent") == len(recorder.accepted) > 0
    assert "e-mail: " in batch_text(report)
    # A rerun of the completed day sends nothing again.
    again = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf)
    assert again.emails.count("sent") == 0 and len(recorder.accepted) == report.emails.count("sent")


@pytest.mark.slow  # renders the whole letter with WeasyPrint
def test_email_clauses_are_previewed_on_a_letters_data(copy_sample):
    root = copy_sample("property-zh")
    result = CliRunner().invoke(cli, ["-w", str(root), "clauses", "preview", "zh-CN.email.email_body", "--as-of",
                                      "2026-11-25", "-o", str(root / "preview.pdf")])
    assert result.exit_code == 0, result.output
    assert "in slot 'email_body'" in result.output and "函件全文为本邮件所附 PDF 文件" in result.output
    assert "{{" not in result.output
