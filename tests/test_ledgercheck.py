"""`ledger check` and `ledger rebuild`: the ledger held against the archive and the day folders,
and a lost or damaged ledger brought back from them."""

import json
import sqlite3
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import fake_pdf
from letterforge import ledger as ledger_module
from letterforge.archive import archive_path
from letterforge.pipeline import run_batch
from letterforge.cli import cli
from letterforge.ledger import SENT, open_ledger
from letterforge.workspace import Workspace

CLOCK = lambda: datetime(2026, 11, 25, 6, 30)  # noqa: E731
POLICY = "\ndaily_caps = { reminder = 4, demand = 1, lawyer = 1 }\nhorizon_days = 2\n"


@pytest.fixture
def workspace(copy_sample) -> Path:
    root = copy_sample("property-zh")
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + POLICY, encoding="utf-8")
    return root


def batch(root: Path, day: date):
    return run_batch(Workspace.open(root), day, root / "out", 1, CLOCK, renderer=fake_pdf)


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def letters(root: Path):
    ledger = open_ledger(root, CLOCK)
    try:
        return ledger.letters()
    finally:
        ledger.close()


def test_a_sound_ledger_checks_clean(workspace):
    batch(workspace, date(2026, 11, 25))
    batch(workspace, date(2026, 11, 26))
    result = invoke("ledger", "check", "-w", str(workspace))
    assert result.exit_code == 0, result.output
    assert "0 problem(s)" in result.output


def test_one_flipped_byte_in_an_issued_file_is_reported(workspace):
    report = batch(workspace, date(2026, 11, 25))
    first, second = report.issued[0], report.issued[1]
    for path in (workspace / first.pdf_file, archive_path(workspace, second.pdf_sha256)):
        content = bytearray(path.read_bytes())
        content[len(content) // 2] ^= 0x01
        path.write_bytes(bytes(content))
    result = invoke("ledger", "check", "-w", str(workspace))
    assert result.exit_code == 1
    assert f"{first.reference} ({first.account_id}): its day-folder file differs from the ledger's SHA-256" in result.output
    assert f"{second.reference} ({second.account_id}): its archived bytes differ from the ledger's SHA-256" in result.output
    # reprint still returns the issued bytes from wherever they are intact
    for letter in (first, second):
        again = invoke("reprint", letter.reference, "-w", str(workspace), "-o", str(workspace / "r.pdf"))
        assert again.exit_code == 0, again.output
        assert (workspace / "r.pdf").read_bytes() == (workspace / letter.pdf_file if letter is second else
                                                      archive_path(workspace, letter.pdf_sha256)).read_bytes()


def test_reprint_refuses_when_no_intact_copy_is_left(workspace):
    letter = batch(workspace, date(2026, 11, 25)).issued[0]
    archive_path(workspace, letter.pdf_sha256).write_bytes(b"tampered")
    (workspace / letter.pdf_file).unlink()
    result = invoke("reprint", letter.reference, "-w", str(workspace))
    assert result.exit_code == 1
    assert f"{letter.reference}: no file with the issued bytes" in result.output


def test_manifests_and_leftovers_are_held_against_the_ledger(workspace):
    batch(workspace, date(2026, 11, 25))
    manifest = workspace / "out" / "2026-11-25" / "manifest.json"
    rows = json.loads(manifest.read_text(encoding="utf-8"))
    dropped = rows.pop()
    manifest.write_text(json.dumps(rows), encoding="utf-8")
    result = invoke("ledger", "check", "-w", str(workspace))
    assert result.exit_code == 1
    assert f"does not list {dropped['reference']}, issued that day" in result.output


def test_deleted_ledger_refuses_then_rebuild_continues_the_series(workspace, fake_renderer):
    first = batch(workspace, date(2026, 11, 25))
    before = {l.reference: l for l in letters(workspace) if l.reference}
    for path in workspace.glob("ledger.sqlite*"):
        path.unlink()
    refused = invoke("batch", "-w", str(workspace), "--as-of", "2026-11-26", "--jobs", "1")
    assert refused.exit_code == 1
    assert "does not know" in refused.output and "letterforge ledger rebuild" in refused.output
    assert letters(workspace) == []  # nothing was issued or reserved
    rebuilt = invoke("ledger", "rebuild", "-w", str(workspace))
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"{len(first.issued)} issued letter(s) recovered" in rebuilt.output
    recovered = {l.reference: l for l in letters(workspace) if l.reference}
    for reference, letter in before.items():
        if letter.status in SENT:
            assert recovered[reference].pdf_sha256 == letter.pdf_sha256
            assert recovered[reference].clauses == letter.clauses
            assert recovered[reference].account_id == letter.account_id
    assert invoke("ledger", "check", "-w", str(workspace)).exit_code == 0
    second = batch(workspace, date(2026, 11, 26))
    assert second.ok and second.issued
    issued_before = {(l.account_id, l.kind) for l in first.issued}
    assert not issued_before & {(l.account_id, l.kind) for l in second.issued}
    assert not set(before) & {l.reference for l in second.issued}  # no number used twice
    reprint = invoke("reprint", first.issued[0].reference, "-w", str(workspace), "--rerender",
                     "-o", str(workspace / "r.pdf"))
    assert reprint.exit_code == 0, reprint.output  # the snapshot came back from the archive too


def test_a_damaged_ledger_is_moved_aside_by_rebuild(workspace, fake_renderer):
    batch(workspace, date(2026, 11, 25))
    path = workspace / "ledger.sqlite"
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    for command in (["batch", "--as-of", "2026-11-26", "--jobs", "1"], ["ledger", "list"]):
        result = invoke(*command, "-w", str(workspace))
        assert result.exit_code == 1, result.output
        assert f"{path}: " in result.output and "damaged or not a letterforge ledger" in result.output
    rebuilt = invoke("ledger", "rebuild", "-w", str(workspace))
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "moved aside to" in rebuilt.output
    assert list(workspace.glob("ledger.sqlite.damaged-*"))
    assert batch(workspace, date(2026, 11, 26)).ok


def test_a_file_that_is_not_a_database(workspace, fake_renderer):
    (workspace / "ledger.sqlite").write_text("account,amount\nJX-1,100\n" * 200, encoding="utf-8")
    result = invoke("batch", "-w", str(workspace), "--as-of", "2026-11-25", "--jobs", "1")
    assert result.exit_code == 1
    assert result.output.startswith(f"error: {workspace / 'ledger.sqlite'}: file is not a database: it is damaged")


def test_a_locked_ledger(workspace, monkeypatch):
    batch(workspace, date(2026, 11, 25))
    monkeypatch.setattr(ledger_module, "BUSY_TIMEOUT", 0.2)
    holder = sqlite3.connect(workspace / "ledger.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        result = invoke("hold", "JX-1-0201", "-w", str(workspace), "--until", "2026-12-31", "--reason", "x")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert "database is locked: another program holds it locked; try again when it has finished" in result.output


def test_ledger_and_day_folders_lost_the_archive_brings_both_back(workspace, fake_renderer):
    import shutil

    first = batch(workspace, date(2026, 11, 25))
    for path in workspace.glob("ledger.sqlite*"):
        path.unlink()
    shutil.rmtree(workspace / "out")
    refused = invoke("batch", "-w", str(workspace), "--as-of", "2026-11-26", "--jobs", "1")
    assert refused.exit_code == 1 and "archive" in refused.output
    assert invoke("ledger", "rebuild", "-w", str(workspace)).exit_code == 0
    earlier = invoke("batch", "-w", str(workspace), "--as-of", "2026-11-24", "--jobs", "1")
    assert earlier.exit_code == 1 and "comes before 2026-11-25" in earlier.output
    assert not (workspace / "out" / "2026-11-24").exists()
    second = batch(workspace, date(2026, 11, 26))
    assert second.ok, second.problems
    for letter in first.issued:  # the lost day folder is written again from the archive
        assert (workspace / letter.pdf_file).read_bytes() == archive_path(workspace, letter.pdf_sha256).read_bytes()
    listed = json.loads((workspace / "out" / "2026-11-25" / "manifest.json").read_text(encoding="utf-8"))
    assert {row["reference"] for row in listed} == {l.reference for l in first.issued}
    assert invoke("ledger", "check", "-w", str(workspace)).exit_code == 0
