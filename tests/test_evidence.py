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
    assert "民法典第一百九十五条" in summary
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
