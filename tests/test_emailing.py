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
from contextlib import contextmanager
from datetime import date, datetime
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult
from click.testing import CliRunner

from letterforge.batch import run_batch
from letterforge.cli import cli
from letterforge.emailing import SendRefused, message_id, send_day
from letterforge.ledger import open_ledger
from letterforge.model import letter_from_snapshot
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
        self.encrypted: list[bool] = []  # per message accepted: whether it came over TLS

    async def handle_RCPT(self, server, session, envelope, address, options):
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_answers:
            return self.data_answers.pop(0)
        self.accepted.append(envelope)
        self.encrypted.append(server.transport.get_extra_info("ssl_object") is not None)
        return f"250 2.0.0 Ok: queued as Q{len(self.accepted):04d}"


def authenticator(recorder):
    def check(server, session, envelope, mechanism, auth_data):
        recorder.logins.append((auth_data.login, auth_data.password))
        ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself
    return check


@contextmanager
def local_server(recorder, controller_class=Controller):
    """A real SMTP server on 127.0.0.1 that asks for the login, for as long as the block runs: its port."""
    port = free_port()
    controller = controller_class(recorder, hostname="127.0.0.1", port=port, authenticator=authenticator(recorder),
                                  auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def smtp_server():
    recorder = Recorder()
    with local_server(recorder) as port:
        yield recorder, port


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
    rows = account_rows(root)
    rows[0] += ["电子邮箱", "同意电子送达"]
    for number, row in enumerate(rows[1:], start=1):
        row += [f"owner{number}@example.cn", "否" if row[0] == "JX-1-0202" else "是"]
    account_rows(root, rows)
    return root


def account_rows(root: Path, rows: list[list[str]] | None = None) -> list[list[str]]:
    """The sample's accounts file as rows (header first); given rows, written back instead."""
    accounts = root / "住户.csv"
    if rows is not None:
        with accounts.open("w", encoding="gb18030", newline="") as handle:
            csv.writer(handle).writerows(rows)
        return rows
    with accounts.open(encoding="gb18030") as handle:
        return list(csv.reader(handle))


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
    consenting = [l for l in issued if letter_from_snapshot(ledger.snapshot(l.reference)).debtor.email_consent]
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
    assert recorder.encrypted == [False] * count  # 127.0.0.1 with security = "none"


def test_a_temporary_refusal_is_retried_and_a_permanent_one_recorded_as_failed(copy_sample, smtp_server, environ):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port, backoff_seconds="7")
    issue_day(root)
    recorder.data_answers = ["451 4.3.0 Temporary local problem", "421 4.7.0 Try again later"]
    ledger = open_ledger(root, CLOCK)
    debtors = [letter_from_snapshot(ledger.snapshot(l.reference)).debtor for l in ledger.letters() if l.issued_on == DAY]
    addresses = [debtor.email for debtor in debtors if debtor.email_consent]
    refused = addresses[1]  # the second e-mail of the day: a mailbox that does not exist
    recorder.refuse_rcpt = {refused: f"550 5.1.1 <{refused}>: Recipient address rejected"}
    pauses: list[float] = []
    report = send_day(Workspace.open(root), ledger, DAY, sleep=pauses.append, clock=lambda: 0.0)
    first = ledger.sends(channel="email")[0]
    assert first.status == "sent" and first.attempts == 3  # two 4xx, then 250
    # Backoff: 7 s before the first retry, doubled before the second (the rate limit's own pauses
    # are 0.01 s at 6000 a minute).
    assert [p for p in pauses if p >= 1] == [7.0, 14.0]
    retries = [json.loads(e.detail)["answer"] for e in ledger.events(first.reference) if e.event == "send_retry"]
    assert retries == ["451 4.3.0 Temporary local problem", "421 4.7.0 Try again later"]
    failed = [s for s in ledger.sends(channel="email") if s.status == "failed"]
    assert [s.address for s in failed] == [refused] and report.count("failed") == 1
    assert failed[0].answer.startswith("550 5.1.1") and failed[0].attempts == 1  # a 5xx is not retried
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
    # One report saved as a file does the same for another letter.
    ledger = open_ledger(root, CLOCK)
    other = next(s for s in ledger.sends(channel="email") if s.status == "sent")
    ledger.close()
    single = tmp_path / "bounce.eml"
    single.write_bytes(dsn(other.message_id, other.address))
    from_file = runner.invoke(cli, ["-w", str(root), "send", "--bounces", str(single), "--as-of", "2026-11-27"])
    assert from_file.exit_code == 0 and "1 returned" in from_file.output, from_file.output
    ledger = open_ledger(root, CLOCK)
    assert ledger.send_by_message_id(other.message_id).status == "returned"
    assert ledger.letter(other.reference).status == "returned"
    ledger.close()



def test_bounces_that_hold_no_report_say_so(copy_sample, tmp_path):
    root = copy_sample("property-zh")
    folder = tmp_path / "bounces"
    folder.mkdir()
    result = CliRunner().invoke(cli, ["-w", str(root), "send", "--bounces", str(folder), "--as-of", "2026-11-26"])
    assert result.exit_code == 0, result.output
    assert f"2026-11-26: no delivery status notification in {folder}; nothing recorded" in result.output
    assert "nothing to send" not in result.output
    (folder / "1.eml").write_bytes(b"From: a@b.cn\r\nSubject: hello\r\n\r\nnot a report\r\n")
    result = CliRunner().invoke(cli, ["-w", str(root), "send", "--bounces", str(folder), "--as-of", "2026-11-26"])
    assert "(1 message(s) that are not one); nothing recorded" in result.output, result.output

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
    # Nor in any file the runs left in the workspace: the ledger's database, day folders, archive.
    files = [p for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".eml" for p in files) and any(p.name.endswith(".sqlite") or "ledger" in p.name for p in files)
    for path in files:
        content = path.read_bytes()
        assert PASSWORD.encode() not in content and USER.encode() not in content, path


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
    # (a missing variable with something to send: test_a_day_with_nothing_to_send_reads_no_credential_variables)


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
                       json.dumps({"account": {"account_id": "01000619", "name": "x", "address": "y",
                                               "email": "a@example.cn", "email_consent": "True",
                                               "debtor_type": "individual", "category": "unknown"}}))
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


def enable_send_after_batch(root: Path) -> None:
    """[delivery] send_after_batch = true in the workspace's settings."""
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("[delivery]\n", "[delivery]\nsend_after_batch = true\n"),
                      encoding="utf-8")


def test_the_batch_sends_the_days_emails_when_configured(copy_sample, smtp_server, environ):
    from conftest import fake_pdf
    from letterforge.reports import batch_text

    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    enable_send_after_batch(root)
    report = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf)
    assert report.exit_code == 0, report.problems
    assert report.emails.count("sent") == len(recorder.accepted) > 0
    assert "e-mail: " in batch_text(report)
    # A rerun of the completed day sends nothing again.
    again = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf)
    assert again.emails.count("sent") == 0 and len(recorder.accepted) == report.emails.count("sent")


def reject_one_row(root: Path) -> None:
    """One charge row the data check rejects (an amount that is no number): the rest of the day goes on."""
    charges = root / "欠费明细.csv"
    charges.write_bytes(charges.read_bytes() + "JX-1-0201,2026-09,物业服务费,abc,0.00,2026-09-05\r\n".encode("gb18030"))


def test_the_batch_emails_the_issued_letters_even_with_a_rejected_row(copy_sample, smtp_server, environ):
    from conftest import fake_pdf

    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    enable_send_after_batch(root)
    reject_one_row(root)
    report = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf)
    assert report.rejected_rows == 1 and report.exit_code == 1  # the rejected row is still reported
    assert report.emails is not None and report.emails.count("sent") == len(recorder.accepted) > 0
    ledger = open_ledger(root, CLOCK)
    issued = {l.reference for l in ledger.letters() if l.status == "issued" and l.issued_on == DAY}
    emailed = {s.reference for r in issued for s in ledger.sends(r, channel="email")}
    ledger.close()
    assert emailed and emailed <= issued  # only letters issued on the day
    # A rerun sends nothing again and still exits 1 for the row.
    again = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf)
    assert again.exit_code == 1 and again.emails.count("sent") == 0
    assert len(recorder.accepted) == report.emails.count("sent")


def test_a_failed_letter_does_not_hold_back_the_others_and_the_rerun_emails_only_it(copy_sample, smtp_server, environ):
    from conftest import fake_pdf
    from letterforge.diagnostics import UserError

    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    enable_send_after_batch(root)
    made = {"n": 0}

    def fails_the_second(factory, draft):  # (the first goes to the one debtor without e-mail consent)
        made["n"] += 1
        if made["n"] == 2:
            raise UserError("a letter that cannot be made")
        return fake_pdf(factory, draft)

    first = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fails_the_second)
    assert len(first.failed) == 1 and first.issued and first.exit_code == 1
    failed_reference = first.failed[0][0].reference
    ledger = open_ledger(root, CLOCK)
    assert ledger.sends(failed_reference, channel="email") == []  # a failed letter is not e-mailed
    emailed = {l.reference for l in ledger.letters() if l.reference and ledger.sends(l.reference, channel="email")}
    ledger.close()
    assert emailed and len(recorder.accepted) == first.emails.count("sent") == len(emailed)
    assert failed_reference not in emailed
    # The rerun issues the failed letter and e-mails that one only: none of the others again.
    done = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=fake_pdf)
    assert done.exit_code == 0, done.problems
    ledger = open_ledger(root, CLOCK)
    again = {l.reference for l in ledger.letters() if l.reference and ledger.sends(l.reference, channel="email")}
    counts = {r: len(ledger.sends(r, channel="email")) for r in again}
    ledger.close()
    assert again - emailed == {failed_reference} and set(counts.values()) == {1}
    assert done.emails.count("sent") == 1
    assert len(recorder.accepted) == len(again)


def test_a_batch_stopped_by_sigterm_emails_nobody_even_with_a_rejected_row(copy_sample, smtp_server, environ):
    import signal

    from conftest import sigterm_at

    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    enable_send_after_batch(root)
    reject_one_row(root)
    stopped = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, renderer=sigterm_at(2))
    assert stopped.interrupted == signal.SIGTERM and stopped.exit_code == 143
    assert stopped.issued and stopped.emails is None and recorder.accepted == []


@pytest.mark.slow  # renders the whole letter with WeasyPrint
def test_email_clauses_are_previewed_on_a_letters_data(copy_sample):
    root = copy_sample("property-zh")
    result = CliRunner().invoke(cli, ["-w", str(root), "clauses", "preview", "zh-CN.email.email_body", "--as-of",
                                      "2026-11-25", "-o", str(root / "preview.pdf")])
    assert result.exit_code == 0, result.output
    assert "in slot 'email_body'" in result.output and "函件全文为本邮件所附 PDF 文件" in result.output
    assert "{{" not in result.output


# -- encrypted connections: STARTTLS and implicit TLS against the real server, with a certificate
#    the test makes for 127.0.0.1

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (cert.pem, key.pem)."""
    import ipaddress
    from datetime import timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    start = datetime(2026, 1, 1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start - timedelta(days=3650))
            .not_valid_after(start + timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


def tls_server(recorder, certificate, implicit: bool) -> tuple[Controller, int]:
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    port = free_port()
    # STARTTLS: the server offers AUTH only once the connection is encrypted (auth_require_tls, the
    # default). Implicit TLS is encrypted from the first byte, but aiosmtpd counts only STARTTLS as
    # TLS for AUTH, hence auth_require_tls=False there.
    options = ({"ssl_context": context, "auth_require_tls": False} if implicit
               else {"tls_context": context, "require_starttls": True})
    controller = Controller(recorder, hostname="127.0.0.1", port=port, authenticator=authenticator(recorder),
                            auth_required=True, **options)
    controller.start()
    return controller, port


@contextmanager
def tls_day(copy_sample, certificate, security: str):
    """A server with STARTTLS or implicit TLS, and a workspace whose day's letters are issued for it."""
    recorder = Recorder()
    controller, port = tls_server(recorder, certificate, implicit=security == "tls")
    try:
        root = make_workspace(copy_sample, port, security=f'"{security}"')
        issue_day(root)
        yield recorder, root
    finally:
        controller.stop()


def trusting(certificate):
    import ssl

    return ssl.create_default_context(cafile=str(certificate[0]))


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_starttls_and_implicit_tls_carry_the_login_and_the_letters(copy_sample, certificate, environ, security):
    from letterforge.emailing import SmtpTransport

    with tls_day(copy_sample, certificate, security) as (recorder, root):
        transport = SmtpTransport(Workspace.open(root).config.delivery.email, tls_context=trusting(certificate))
        report = send(root, transport=transport)
        transport.close()
    assert report.exit_code == 0 and report.count("sent") == len(recorder.accepted) > 0
    assert recorder.logins and all(login == (USER.encode(), PASSWORD.encode()) for login in recorder.logins)
    # Every message came over an encrypted connection.
    assert recorder.encrypted == [True] * len(recorder.accepted)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_an_untrusted_server_certificate_stops_the_run_and_nothing_goes(copy_sample, certificate, environ, security):
    with tls_day(copy_sample, certificate, security) as (recorder, root):
        result = CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-25"])
    assert result.exit_code == 1, result.output
    assert "CERTIFICATE_VERIFY_FAILED" in result.output and "stopped" in result.output
    assert recorder.accepted == [] and recorder.logins == []  # no password went to a server not verified
    ledger = open_ledger(root, CLOCK)
    assert {s.status for s in ledger.sends()} == {"deferred"}
    ledger.close()


# -- a careless or hostile user's data and runs

VARIANTS = [  # (consent, address, the reason a letter is not e-mailed; "" = it is e-mailed)
    ("是", "owner{n}@example.cn", ""),
    ("否", "owner{n}@example.cn", "has not agreed"),
    ("no", "owner{n}@example.cn", "has not agreed"),
    ("", "owner{n}@example.cn", "has not agreed"),
    ("不同意", "owner{n}@example.cn", "has not agreed"),
    ("yes", "", "no e-mail address"),
    ("同意", "not-an-address", "not an e-mail address"),
    ("是", "owner{n}@example.cn; boss@example.cn", "not one plain e-mail address"),
    ("是", "owner{n}@example.cn\nBcc: all@example.cn", "not one plain e-mail address"),
    ("1", "业主{n}@例子.中国", "non-ASCII"),
]


def test_no_consent_or_an_unusable_address_withholds_the_email_and_says_why(copy_sample, smtp_server, environ):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    rows = account_rows(root)
    variant_of = {}
    for number, row in enumerate(rows[1:], start=1):
        consent, address, why = VARIANTS[number % len(VARIANTS)]
        row[-2:] = [address.format(n=number), consent]
        variant_of[row[0]] = why
    account_rows(root, rows)
    issue_day(root)
    result = CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-25", "--format", "json"])
    assert result.exit_code == 0, result.output
    outcomes = {o["account_id"]: o for o in json.loads(result.output)["letters"]}
    ledger = open_ledger(root, CLOCK)
    issued = [l for l in ledger.letters() if l.issued_on == DAY]
    reasons = {variant_of[l.account_id] for l in issued}
    assert len(reasons) >= 4, reasons  # the day's letters meet several of the variants
    for letter in issued:
        why, outcome = variant_of[letter.account_id], outcomes[letter.account_id]
        if why:
            assert outcome["status"] == "withheld" and why in outcome["detail"], outcome
            assert ledger.sends(letter.reference) == []
        else:
            assert outcome["status"] == "sent"
    assert len(recorder.accepted) == sum(1 for l in issued if not variant_of[l.account_id])
    for envelope in recorder.accepted:  # nothing smuggled a second recipient in
        assert len(envelope.rcpt_tos) == 1 and b"Bcc" not in envelope.original_content
    ledger.close()


def test_an_unreadable_consent_is_a_data_error_naming_file_row_and_field(copy_sample, smtp_server):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    rows = account_rows(root)
    rows[3][-1] = "可能"
    account_rows(root, rows)
    result = CliRunner().invoke(cli, ["-w", str(root), "validate"])
    assert result.exit_code == 1
    line = next(l for l in result.output.splitlines() if "可能" in l)
    assert "住户.csv" in line and ":4" in line and "同意电子送达" in line and "not a yes or no" in line


class DropsDuringData(Recorder):
    """Takes the message, then hangs up without answering it (once): the sender cannot know."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        if not self.dropped:
            self.dropped.append(envelope.original_content)
            server.transport.close()
            return "421 never heard"  # the connection is gone: the client never reads this
        return await super().handle_DATA(server, session, envelope)


def test_a_connection_dropped_during_data_is_unknown_and_the_run_goes_on(copy_sample, environ):
    recorder = DropsDuringData()
    with local_server(recorder) as port:
        root = make_workspace(copy_sample, port)
        issue_day(root)
        report = send(root)
        again = send(root)
    (unknown,) = [o for o in report.outcomes if o.status == "unknown"]
    assert email.message_from_bytes(recorder.dropped[0])["Message-ID"] == unknown.message_id
    assert unknown.detail.startswith("no answer after the message was handed over")
    # The other letters went on a new connection; the exit code says one needs a look.
    assert report.count("sent") == len(recorder.accepted) > 0 and report.exit_code == 1
    # A rerun does not send it blindly again: it stays unknown until someone decides (--resend).
    assert again.count("unknown") == 1 and again.count("sent") == 0
    ids = [email.message_from_bytes(e.original_content)["Message-ID"] for e in recorder.accepted]
    assert unknown.message_id not in ids


def test_send_twice_on_the_command_line_sends_once(copy_sample, smtp_server, environ):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    issue_day(root)
    first = CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-25"])
    count = len(recorder.accepted)
    second = CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-25"])
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    assert count > 0 and len(recorder.accepted) == count
    assert f"{count} skipped" in second.output and "sent  " not in second.output


def test_send_for_a_day_without_letters_sends_nothing_and_says_so(copy_sample, smtp_server, environ):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    issue_day(root)
    result = CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-26"])
    assert result.exit_code == 0, result.output
    assert "2026-11-26: nothing to send" in result.output and recorder.accepted == [] and recorder.logins == []


def test_the_rate_limit_holds_across_a_real_run(copy_sample, smtp_server, environ):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port, rate_per_minute="12")
    issue_day(root)
    now, pauses = [0.0], []

    def sleep(seconds):
        pauses.append(seconds)
        now[0] += seconds
    ledger = open_ledger(root, CLOCK)
    report = send_day(Workspace.open(root), ledger, DAY, sleep=sleep, clock=lambda: now[0])
    ledger.close()
    sent = report.count("sent")
    assert sent == len(recorder.accepted) >= 3
    # 12 a minute: one every 5 seconds; the clock stood still while sending, so each pause is 5 s.
    assert pauses == [5.0] * (sent - 1)


def test_date_and_message_id_are_set_by_letterforge_from_the_recorded_time(copy_sample, smtp_server, environ):
    from email.utils import parsedate_to_datetime
    from zoneinfo import ZoneInfo

    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    issue_day(root)
    tz = ZoneInfo("Asia/Shanghai")
    ticks = iter(range(10_000))
    clock = lambda: datetime(2026, 11, 25, 9, 15, tzinfo=tz) + __import__("datetime").timedelta(seconds=next(ticks))  # noqa: E731
    ledger = open_ledger(root, clock)
    send_day(Workspace.open(root), ledger, DAY, sleep=lambda s: None)
    for envelope in recorder.accepted:
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        record = ledger.send_by_message_id(message["Message-ID"])
        assert record is not None and message["Message-ID"] == message_id(record.reference, 1, "billing@example.cn")
        # The ledger's clock ticks a second per reading: the Date is the very time recorded as "sending".
        assert parsedate_to_datetime(message["Date"]) == datetime.fromisoformat(record.started_at)
        assert message["Date"].endswith("+0800")
        sending = next(e for e in ledger.events(record.reference) if e.event == "sending")
        assert sending.at == record.started_at
    ledger.close()


def crash_after_handing_over(root: Path) -> None:
    """A run killed after the server accepted the first message, before the ledger heard its answer."""
    ledger = open_ledger(root, CLOCK)

    def crash(message_id, status, answer):
        raise KeyboardInterrupt
    ledger.finish_send = crash
    with pytest.raises(KeyboardInterrupt):
        send_day(Workspace.open(root), ledger, DAY, sleep=lambda s: None)
    ledger.close()


def test_an_unknown_outcome_is_resolved_by_its_message_id_in_the_servers_log(copy_sample, smtp_server, environ):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    issue_day(root)
    crash_after_handing_over(root)
    send(root)  # the rest go; the one left "sending" becomes unknown
    ledger = open_ledger(root, CLOCK)
    (unknown,) = ledger.sends(status="unknown")
    ledger.close()
    count = len(recorder.accepted)
    runner = CliRunner()
    base = ["-w", str(root), "send", "--as-of", "2026-11-25"]
    # A log line about another message does not do.
    wrong = runner.invoke(cli, base + ["--confirm", unknown.reference, "--server-log",
                                       "Nov 25 09:15:01 mx postfix/cleanup[7]: 4AbC: message-id=<other@example.cn>"])
    assert wrong.exit_code == 1 and unknown.message_id in wrong.output and "does not name" in wrong.output
    alone = runner.invoke(cli, base + ["--confirm", unknown.reference])
    assert alone.exit_code == 2 and "go together" in alone.output
    line = f"Nov 25 09:15:01 mx postfix/cleanup[7]: 4XyZ: message-id={unknown.message_id}"
    confirmed = runner.invoke(cli, base + ["--confirm", unknown.reference, "--server-log", line])
    assert confirmed.exit_code == 0, confirmed.output
    ledger = open_ledger(root, CLOCK)
    record = ledger.send_by_message_id(unknown.message_id)
    assert record.status == "sent" and "4XyZ" in record.answer and "mail server's log" in record.answer
    assert [e.event for e in ledger.events(unknown.reference)][-1] == "sent"
    ledger.close()
    # Nothing was sent again, and a rerun is clean now.
    rerun = send(root)
    assert len(recorder.accepted) == count and rerun.exit_code == 0 and rerun.count("unknown") == 0
    twice = runner.invoke(cli, base + ["--confirm", unknown.reference, "--server-log", line])
    assert twice.exit_code == 1 and "is sent, not unknown" in twice.output


def test_a_delivery_report_resolves_an_unknown_outcome(copy_sample, smtp_server, environ, tmp_path):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    issue_day(root)
    crash_after_handing_over(root)
    send(root)
    ledger = open_ledger(root, CLOCK)
    (unknown,) = ledger.sends(status="unknown")
    ledger.close()
    report = dsn(unknown.message_id, unknown.address).replace(b"Action: failed\r\nStatus: 5.1.1", b"Action: delivered\r\nStatus: 2.0.0")
    (tmp_path / "dsn.eml").write_bytes(report)
    result = CliRunner().invoke(cli, ["-w", str(root), "send", "--bounces", str(tmp_path / "dsn.eml"),
                                      "--as-of", "2026-11-26"])
    assert result.exit_code == 0 and "1 confirmed" in result.output, result.output
    ledger = open_ledger(root, CLOCK)
    record = ledger.send_by_message_id(unknown.message_id)
    assert record.status == "sent" and "delivery status notification" in record.answer and "delivered 2.0.0" in record.answer
    ledger.close()


def test_a_lawyers_letter_is_from_the_law_firm_when_its_address_is_set(copy_sample, smtp_server, environ):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port, law_firm_sender='"office@lawfirm.example.cn"',
                          law_firm_sender_name='"浙江某某律师事务所"')
    issue_day(root)
    send(root)
    ledger = open_ledger(root, CLOCK)
    kinds = {}
    for envelope in recorder.accepted:
        message = email.message_from_bytes(envelope.original_content, policy=policy.default)
        kind = ledger.letter(ledger.send_by_message_id(message["Message-ID"]).reference).kind.value
        kinds.setdefault(kind, []).append(message)
        assert envelope.mail_from == "billing@example.cn"  # bounces still come back to the creditor's mailbox
    ledger.close()
    assert kinds.get("lawyer") and (kinds.get("reminder") or kinds.get("demand"))
    for message in kinds["lawyer"]:
        assert message["From"].addresses[0].addr_spec == "office@lawfirm.example.cn"
        assert message["From"].addresses[0].display_name == "浙江某某律师事务所"
        assert message["Sender"].addresses[0].addr_spec == "billing@example.cn"
    for message in kinds.get("reminder", []) + kinds.get("demand", []):
        assert message["From"].addresses[0].addr_spec == "billing@example.cn" and message["Sender"] is None


@pytest.mark.parametrize("setting, value", [("sender_name", '"金溪\\nBcc: all@example.cn"'),
                                            ("sender", '"billing@example.cn, boss@example.cn"'),
                                            ("law_firm_sender", '"not an address"'),
                                            ("reply_to", '"a@b@example.cn"')])
def test_header_settings_are_one_plain_line(copy_sample, setting, value):
    root = make_workspace(copy_sample, 2525, **{setting: value})
    result = CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-25"])
    assert result.exit_code == 1 and f"delivery.email.{setting}" in result.output, result.output
    assert "Traceback" not in result.output


def flip_one_byte(path: Path) -> None:
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0x01
    path.write_bytes(bytes(content))


def test_a_letter_whose_issued_pdf_is_altered_or_missing_fails_alone_and_is_never_sent(copy_sample, smtp_server,
                                                                                         environ):
    from letterforge.archive import archived_file, workspace_file

    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    issue_day(root)
    ledger = open_ledger(root, CLOCK)
    consenting = [l for l in ledger.letters() if l.issued_on == DAY
                  and letter_from_snapshot(ledger.snapshot(l.reference)).debtor.email_consent]
    ledger.close()
    assert len(consenting) >= 4
    tampered, missing, archive_only = consenting[:3]
    # One byte changed in the archived PDF (and in the day folder's copy, the other place reprint looks).
    for path in (archived_file(root, tampered), workspace_file(root, tampered.pdf_file)):
        flip_one_byte(path)
    altered = hashlib.sha256(archived_file(root, tampered).read_bytes()).hexdigest()
    kept = archived_file(root, missing).read_bytes()
    for path in (archived_file(root, missing), workspace_file(root, missing.pdf_file)):
        path.unlink()
    # Only the archive's copy altered: the day folder still holds the issued bytes, and those go.
    flip_one_byte(archived_file(root, archive_only))
    result = CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-25"])
    assert result.exit_code == 1, result.output
    failed = [line for line in result.output.splitlines() if line.strip().startswith("failed")]
    assert len(failed) == 2 and all("not sent:" in line and "missing or altered" in line for line in failed)
    assert {tampered.reference, missing.reference} == {line.split()[1] for line in failed}
    assert len(recorder.accepted) == len(consenting) - 2
    sent_pdfs = set()
    for envelope in recorder.accepted:
        (attachment,) = email.message_from_bytes(envelope.original_content, policy=policy.default).iter_attachments()
        sent_pdfs.add(hashlib.sha256(attachment.get_content()).hexdigest())
    assert altered not in sent_pdfs and archive_only.pdf_sha256 in sent_pdfs
    ledger = open_ledger(root, CLOCK)
    for letter in (tampered, missing):
        assert ledger.sends(letter.reference) == []
        (note,) = [e for e in ledger.events(letter.reference) if e.event == "email not sent"]
        assert "missing or altered" in note.detail
    ledger.close()
    # Put right (the issued bytes back), the next run sends that letter once; the altered one stays unsent.
    archived_file(root, missing).write_bytes(kept)
    again = CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-25"])
    assert again.exit_code == 1 and len(recorder.accepted) == len(consenting) - 1, again.output
    assert f"failed    {tampered.reference}" in again.output and f"sent      {missing.reference}" in again.output


def test_a_day_with_nothing_to_send_reads_no_credential_variables(copy_sample, smtp_server, monkeypatch):
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    issue_day(root)
    monkeypatch.delenv("LF_SMTP_USER", raising=False)
    monkeypatch.delenv("LF_SMTP_PASSWORD", raising=False)
    result = CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-26"])
    assert result.exit_code == 0 and "2026-11-26: nothing to send" in result.output, result.output
    # With something to send, the variables are needed: the error names them, and nothing is recorded.
    due = CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-25"])
    assert due.exit_code == 1 and "LF_SMTP_USER, LF_SMTP_PASSWORD" in due.output and "not set" in due.output
    ledger = open_ledger(root, CLOCK)
    assert ledger.sends() == [] and recorder.logins == []
    ledger.close()
    # Once every letter of the day went, a rerun has nothing to send and needs no variables either.
    monkeypatch.setenv("LF_SMTP_USER", USER)
    monkeypatch.setenv("LF_SMTP_PASSWORD", PASSWORD)
    assert CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-25"]).exit_code == 0
    monkeypatch.delenv("LF_SMTP_USER")
    monkeypatch.delenv("LF_SMTP_PASSWORD")
    rerun = CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-25"])
    assert rerun.exit_code == 0 and "skipped" in rerun.output and "sent " not in rerun.output, rerun.output


@pytest.mark.parametrize("command", [["validate"], ["batch", "--as-of", "2026-11-25"],
                                     ["send", "--as-of", "2026-11-25"]])
def test_email_channels_without_email_settings_stop_every_command_at_load(copy_sample, command):
    root = copy_sample("property-zh")
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[delivery]\nchannels = { demand = ["post", "email"] }\n',
                      encoding="utf-8")
    result = CliRunner().invoke(cli, ["-w", str(root), *command])
    assert result.exit_code == 1, result.output
    assert "delivery.email: not set, yet delivery.channels.demand sends letters by email" in result.output
    assert "Traceback" not in result.output and not (root / "out").exists()


class DsnSMTP(SMTP):
    """aiosmtpd's server, taking the DSN parameters of RFC 3461 (it refuses unknown MAIL and RCPT
    parameters with 555). It upper-cases the options it keeps, so the commands are also kept as sent."""

    async def smtp_MAIL(self, arg):
        self.event_handler.commands.append(f"MAIL {arg}")
        await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg):
        self.event_handler.commands.append(f"RCPT {arg}")
        await super().smtp_RCPT(arg)

    def _getparams(self, params):
        parsed = super()._getparams(params)
        if parsed is not None:
            for name in ("RET", "ENVID", "NOTIFY", "ORCPT"):
                parsed.pop(name, None)
        return parsed


class DsnController(Controller):
    def factory(self):
        return DsnSMTP(self.handler, **self.SMTP_kwargs)


class DsnRecorder(Recorder):
    """Advertises DSN in its EHLO answer and keeps each message's envelope options."""

    def __init__(self) -> None:
        super().__init__()
        self.options: list[tuple[list[str], list[str]]] = []
        self.commands: list[str] = []

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return responses[:1] + ["250-DSN"] + responses[1:]

    async def handle_DATA(self, server, session, envelope):
        self.options.append((list(envelope.mail_options), list(envelope.rcpt_options)))
        return await super().handle_DATA(server, session, envelope)


def delivered_dsn(envelope_id: str, recipient: str, original_id: str = "") -> bytes:
    """A "delivered" report (RFC 3464) naming the message by its ENVID, with its headers only if given."""
    headers = (f"--B\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {original_id}\r\n\r\n"
               if original_id else "")
    return ("From: MAILER-DAEMON@mx.example.cn\r\nTo: billing@example.cn\r\nSubject: Successful Mail Delivery Report\r\n"
            "MIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
            "--B\r\nContent-Type: text/plain\r\n\r\nYour message was successfully delivered.\r\n"
            "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
            f"Reporting-MTA: dns; mx.example.cn\r\nOriginal-Envelope-Id: {envelope_id}\r\n\r\n"
            f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822;{recipient}\r\n"
            "Action: delivered\r\nStatus: 2.0.0\r\nDiagnostic-Code: smtp; 250 2.0.0 Ok: delivered to mailbox\r\n\r\n"
            + headers + "--B--\r\n").encode()


def test_dsn_is_asked_for_when_offered_and_a_delivered_report_is_arrival_evidence(copy_sample, environ, tmp_path):
    recorder = DsnRecorder()
    with local_server(recorder, DsnController) as port:
        root = make_workspace(copy_sample, port)
        issue_day(root)
        report = send(root)
    assert report.exit_code == 0 and report.count("sent") == len(recorder.options) >= 2
    ledger = open_ledger(root, CLOCK)
    sends = ledger.sends(channel="email")
    ledger.close()
    by_envid = {}
    for (mail_options, _), envelope in zip(recorder.options, recorder.accepted):
        message_id_text = email.message_from_bytes(envelope.original_content, policy=policy.default)["Message-ID"]
        (sent,) = [s for s in sends if s.message_id == message_id_text]
        envid = message_id_text.strip("<>")
        assert mail_options == ["RET=HDRS", f"ENVID={envid}".upper()]  # as aiosmtpd keeps them
        # as sent, in their own case (an ENVID is case-sensitive)
        assert f"MAIL FROM:<billing@example.cn> RET=HDRS ENVID={envid}" in recorder.commands
        assert f"RCPT TO:<{sent.address}> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;{sent.address}" in recorder.commands
        by_envid[envid] = sent
    # A "delivered" report read back: by its returned headers, or by the ENVID alone.
    (first_envid, first), (second_envid, second) = list(by_envid.items())[:2]
    (tmp_path / "1.eml").write_bytes(delivered_dsn(first_envid, first.address, first.message_id))
    (tmp_path / "2.eml").write_bytes(delivered_dsn(second_envid, second.address))
    result = CliRunner().invoke(cli, ["-w", str(root), "send", "--bounces", str(tmp_path / "1.eml"), "--as-of",
                                      "2026-11-26"])
    assert result.exit_code == 0 and "1 delivered" in result.output, result.output
    result = CliRunner().invoke(cli, ["-w", str(root), "send", "--bounces", str(tmp_path / "2.eml"), "--as-of",
                                      "2026-11-26"])
    assert result.exit_code == 0 and "1 delivered" in result.output and "unmatched" not in result.output, result.output
    ledger = open_ledger(root, CLOCK)
    for sent in (first, second):
        (arrival,) = [json.loads(e.detail) for e in ledger.events(sent.reference) if e.event == "delivery_report"]
        assert arrival["action"] == "delivered" and arrival["message_id"] == sent.message_id
        assert ledger.send_by_message_id(sent.message_id).status == "sent"
    ledger.close()
    bundle = tmp_path / "bundle.zip"
    result = CliRunner().invoke(cli, ["-w", str(root), "evidence", first.reference, "-o", str(bundle)])
    assert result.exit_code == 0, result.output
    import zipfile
    with zipfile.ZipFile(bundle) as archive:
        summary = next(archive.read(n).decode() for n in archive.namelist() if "summary" in n.lower())
    assert "送达回执" in summary and "2.0.0" in summary
    assert "台账记有送达回执" in summary and "该回执即为到达的证据" in summary  # note 2: the receipt shows arrival


def test_no_dsn_parameters_to_a_server_that_does_not_offer_dsn(copy_sample, smtp_server, environ):
    from letterforge.emailing import SmtpTransport, xtext

    recorder, port = smtp_server
    options = []
    original = recorder.handle_DATA

    async def keep(server, session, envelope):
        options.append((list(envelope.mail_options), list(envelope.rcpt_options)))
        return await original(server, session, envelope)

    recorder.handle_DATA = keep
    root = make_workspace(copy_sample, port)
    issue_day(root)
    assert send(root).count("sent") == len(options) >= 1
    assert all(mail == [] and rcpt == [] for mail, rcpt in options)
    assert xtext("a+b=c d") == "a+2Bb+3Dc+20d"


def test_an_envelope_id_over_100_characters_is_left_out(copy_sample, environ):
    long_domain = "billing@" + ".".join(["mail-department-of-the-creditor"] * 3) + ".example.cn"
    recorder = DsnRecorder()
    with local_server(recorder, DsnController) as port:
        root = make_workspace(copy_sample, port, sender=f'"{long_domain}"')
        issue_day(root)
        report = send(root)
    assert report.exit_code == 0 and report.count("sent") == len(recorder.options) >= 1
    mails = [c for c in recorder.commands if c.startswith("MAIL ")]
    assert mails and all(c == f"MAIL FROM:<{long_domain}> RET=HDRS" for c in mails), mails
