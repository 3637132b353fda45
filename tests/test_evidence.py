"""The evidence bundle: the issued letter, the e-mails sent, the ledger's events, the hashes and a
summary in the letter's language; the same ledger gives the same bytes; an altered file is refused."""

from __future__ import annotations

import email
import hashlib
import io
import json
import zipfile

from click.testing import CliRunner

from letterforge.cli import cli
from letterforge.ledger import open_ledger

from test_emailing import CLOCK, environ, issue_day, make_workspace, send, smtp_server  # noqa: F401


def test_an_evidence_bundle_holds_what_was_sent_with_its_hashes(copy_sample, smtp_server, environ, tmp_path):  # noqa: F811
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    issue_day(root)
    send(root)
    ledger = open_ledger(root, CLOCK)
    target = ledger.sends(channel="email")[0]
    letter = ledger.letter(target.reference)
    ledger.close()
    bundle = tmp_path / "bundle.zip"
    result = CliRunner().invoke(cli, ["-w", str(root), "evidence", target.reference, "-o", str(bundle)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        files = {name: archive.read(name) for name in names}
    pdf_name = next(n for n in names if n.startswith("letter/"))
    assert hashlib.sha256(files[pdf_name]).hexdigest() == letter.pdf_sha256
    (eml_name,) = [n for n in names if n.startswith("emails/")]
    assert hashlib.sha256(files[eml_name]).hexdigest() == target.sha256
    # The .eml in the bundle is what the server received, and it carries the letter byte for byte.
    assert files[eml_name] in [e.original_content for e in recorder.accepted] or \
        email.message_from_bytes(files[eml_name])["Message-ID"] == target.message_id
    attachment = next(email.message_from_bytes(files[eml_name], policy=email.policy.default).iter_attachments())
    assert attachment.get_content() == files[pdf_name]
    events = json.loads(files["ledger-events.json"])
    assert [e["event"] for e in events][-2:] == ["sending", "sent"]
    assert events[-1]["detail"]["answer"] == target.answer
    sums = dict(line.split("  ")[::-1] for line in files["SHA256SUMS"].decode().splitlines())
    assert set(sums) == set(names) - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256(files[name]).hexdigest() == digest
    summary = files["summary-摘要.txt"].decode("utf-8")
    assert "函件证据摘要" in summary and target.message_id in summary and target.address in summary
    assert "民法典第一百九十五条" in summary and "电子签名法第十一条" in summary
    # Read as a lawyer would: in Chinese throughout, and "sent" said for what it is.
    assert "函件类型：催缴函" in summary or "函件类型：缴费提醒函" in summary or "函件类型：律师函" in summary
    assert "状态：已由发送服务器接受" in summary and "债务人同意以此方式送达：是" in summary
    assert "退信：台账中无退信记录" in summary and "金额合计：¥" in summary
    prose = [line for line in summary.splitlines() if ".pdf" not in line and "SHA-256" not in line
             and not line.startswith("  ") or line.startswith("  状态")]
    assert not any(word in line for line in prose for word in ("demand", "reminder", "status", "sent", "email"))
    # The same ledger and archive give the same bundle, byte for byte.
    again = tmp_path / "again.zip"
    CliRunner().invoke(cli, ["-w", str(root), "evidence", target.reference, "-o", str(again)])
    assert again.read_bytes() == bundle.read_bytes()
    # An altered archived e-mail is refused, not bundled.
    eml = root / target.file
    eml.write_bytes(eml.read_bytes().replace(b"Subject", b"Subjekt"))
    broken = CliRunner().invoke(cli, ["-w", str(root), "evidence", target.reference, "-o", str(tmp_path / "x.zip")])
    assert broken.exit_code == 1 and "missing or altered" in broken.output
    assert not (tmp_path / "x.zip").exists()


def test_ledger_show_and_export_include_the_sends(copy_sample, smtp_server, environ):  # noqa: F811
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    issue_day(root)
    send(root)
    ledger = open_ledger(root, CLOCK)
    target = ledger.sends(channel="email")[0]
    ledger.close()
    shown = CliRunner().invoke(cli, ["-w", str(root), "ledger", "show", target.reference, "--format", "json"])
    record = json.loads(shown.output)
    assert record["sends"][0]["message_id"] == target.message_id and record["sends"][0]["sha256"] == target.sha256
    text = CliRunner().invoke(cli, ["-w", str(root), "ledger", "show", target.reference]).output
    assert target.message_id in text and "sent" in text
    exported = CliRunner().invoke(cli, ["-w", str(root), "ledger", "export"]).output
    assert target.message_id in exported and target.sha256 in exported


def test_ledger_check_finds_an_altered_archived_email(copy_sample, smtp_server, environ):  # noqa: F811
    recorder, port = smtp_server
    root = make_workspace(copy_sample, port)
    issue_day(root)
    send(root)
    clean = CliRunner().invoke(cli, ["-w", str(root), "ledger", "check"])
    assert clean.exit_code == 0, clean.output
    ledger = open_ledger(root, CLOCK)
    target = ledger.sends(channel="email")[0]
    ledger.close()
    (root / target.file).write_bytes(b"tampered")
    found = CliRunner().invoke(cli, ["-w", str(root), "ledger", "check"])
    assert found.exit_code == 1 and target.message_id in found.output and "differs" in found.output


def english_workspace(copy_sample, port):  # noqa: F811
    from test_emailing import email_settings

    root = copy_sample("receivables-en")
    path = root / "accounts.json"
    accounts = json.loads(path.read_text(encoding="utf-8"))
    for account in accounts:
        account["email_consent"] = "yes"
        if account["account_id"] == "C-1017":
            account["debtor_type"] = "sole_trader"  # the Pre-Action Protocol applies to a sole trader
    path.write_text(json.dumps(accounts), encoding="utf-8")
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[delivery]\nchannels = { default = ["post", "email"] }\n'
                      + email_settings(port).replace("金溪华庭物业服务中心", "Harbour Lane Supplies"), encoding="utf-8")
    return root


def test_a_uk_letter_before_action_to_a_sole_trader_is_emailed_as_a_copy_and_the_bundle_says_so(  # noqa: F811
        copy_sample, smtp_server, environ, tmp_path):
    from datetime import date

    from conftest import fake_pdf
    from letterforge.batch import run_batch
    from letterforge.workspace import Workspace

    recorder, port = smtp_server
    root = english_workspace(copy_sample, port)
    assert run_batch(Workspace.open(root), date(2026, 11, 25), root / "out", 1, CLOCK, renderer=fake_pdf).exit_code == 0
    sent = CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-25"])
    assert sent.exit_code == 0, sent.output
    ledger = open_ledger(root, CLOCK)
    (letter,) = [l for l in ledger.letters(account_id="C-1017") if l.issued_on == date(2026, 11, 25)]
    assert letter.kind.value == "lawyer"
    (copy,) = ledger.sends(letter.reference)
    assert copy.copy and copy.by_post_too
    company = next(s for s in ledger.sends(channel="email") if s.reference.startswith("LAW") and s.reference != letter.reference)
    assert not company.copy  # to a company the protocol does not apply: e-mail is a full channel
    ledger.close()
    message = next(email.message_from_bytes(e.original_content) for e in recorder.accepted
                   if email.message_from_bytes(e.original_content)["Message-ID"] == copy.message_id)
    assert message["X-Letterforge-Copy"].startswith("yes")
    # The debtor reads it too: the body says the e-mail is a copy and the letter comes by post.
    body = email.message_from_bytes(message.as_bytes(), policy=email.policy.default).get_body(("plain",)).get_content()
    assert "This e-mail is a copy" in body and "sent to you by post" in body and letter.reference in body
    to_company = next(email.message_from_bytes(e.original_content, policy=email.policy.default) for e in recorder.accepted
                      if email.message_from_bytes(e.original_content)["Message-ID"] == company.message_id)
    company_body = to_company.get_body(("plain",)).get_content()
    assert "copy" not in company_body and company.reference in company_body
    bundle = tmp_path / "bundle.zip"
    assert CliRunner().invoke(cli, ["-w", str(root), "evidence", letter.reference, "-o", str(bundle)]).exit_code == 0
    with zipfile.ZipFile(bundle) as archive:
        summary = archive.read("summary.txt").decode("utf-8")
    assert "Evidence summary: letter " + letter.reference in summary
    assert "Kind: letter before action" in summary and "Total: £" in summary
    assert "a copy: the letter itself is delivered by post" in summary
    assert "the debtor agreed to this channel: yes" in summary
    assert "status: accepted by the sending server" in summary
    assert "returned: no delivery failure report in the ledger" in summary
    assert "民法典" not in summary  # an English letter's bundle cites no Chinese law


def test_an_english_summary_shows_a_delivery_receipt_as_evidence_of_arrival(  # noqa: F811
        copy_sample, smtp_server, environ, tmp_path):
    from datetime import date

    from conftest import fake_pdf
    from letterforge.batch import run_batch
    from letterforge.workspace import Workspace
    from test_emailing import delivered_dsn

    recorder, port = smtp_server
    root = english_workspace(copy_sample, port)
    assert run_batch(Workspace.open(root), date(2026, 11, 25), root / "out", 1, CLOCK, renderer=fake_pdf).exit_code == 0
    assert CliRunner().invoke(cli, ["-w", str(root), "send", "--as-of", "2026-11-25"]).exit_code == 0
    ledger = open_ledger(root, CLOCK)
    first, second = ledger.sends(channel="email")[:2]
    ledger.close()

    def summary_of(reference: str) -> str:
        bundle = tmp_path / f"{reference}.zip"
        assert CliRunner().invoke(cli, ["-w", str(root), "evidence", reference, "-o", str(bundle)]).exit_code == 0
        with zipfile.ZipFile(bundle) as archive:
            return archive.read("summary.txt").decode("utf-8")

    report = tmp_path / "delivered.eml"
    report.write_bytes(delivered_dsn(first.message_id.strip("<>"), first.address, first.message_id))
    result = CliRunner().invoke(cli, ["-w", str(root), "send", "--bounces", str(report), "--as-of", "2026-11-26"])
    assert result.exit_code == 0 and "1 delivered" in result.output, result.output
    summary = summary_of(first.reference)
    assert ("  delivered: a delivery status notification read on 2026-11-26 reports it delivered (2.0.0 smtp; 250 "
            "2.0.0 Ok: delivered to mailbox)") in summary
    # Note 2: a recorded receipt is evidence of arrival; without one, the server's log.
    assert "A recorded delivery receipt" in summary and "is evidence that the message reached the recipient's server" in summary
    assert "without one, when the message reached the recipient's server is shown by that server's log" in summary
    if second.reference != first.reference:  # a letter without a receipt: no delivered line
        assert "  delivered: " not in summary_of(second.reference)


def test_evidence_for_an_unknown_reference_is_a_clear_error(copy_sample, tmp_path):
    root = copy_sample("property-zh")
    result = CliRunner().invoke(cli, ["-w", str(root), "evidence", "NO-SUCH-1", "-o", str(tmp_path / "b.zip")])
    assert result.exit_code == 1
    assert "NO-SUCH-1" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "b.zip").exists()
