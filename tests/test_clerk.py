"""A clerk's letter (`render`): the batch's rules, a number from the series, the archived bytes and a
ledger record; or a draft that is watermarked and never recorded."""

import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import fake_pdf
from letterforge.archive import archive_path, sha256_of
from letterforge.pipeline import run_batch
from letterforge.cli import cli
from letterforge.ledger import open_ledger
from letterforge.workspace import Workspace

CLOCK = lambda: datetime(2026, 11, 25, 6, 30)  # noqa: E731


@pytest.fixture
def workspace(copy_sample) -> Path:
    root = copy_sample("property-zh")
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\ndaily_caps = { reminder = 1, demand = 1, lawyer = 1 }\n",
                      encoding="utf-8")
    return root


def invoke(root: Path, *args: str):
    return CliRunner().invoke(cli, ["-w", str(root), *args])


def ledger_letters(root: Path, **filters):
    ledger = open_ledger(root, CLOCK)
    try:
        return ledger.letters(**filters)
    finally:
        ledger.close()


def text_of(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_a_letter_the_rules_do_not_allow_is_refused_with_the_reasons(workspace, tmp_path):
    out = tmp_path / "letters"
    out.mkdir()
    result = invoke(workspace, "render", "JX-1-0201", "--kind", "lawyer", "--as-of", "2026-11-25", "-o", str(out))
    assert result.exit_code == 1
    assert "no lawyer letter is due for JX-1-0201 on 2026-11-25: JX-1-0201: reminder letter due." in result.output
    assert "--force" in result.output
    assert not list(out.iterdir()) and ledger_letters(workspace) == []


@pytest.mark.slow
def test_a_clerks_letter_is_numbered_recorded_archived_and_supersedes_the_planned_one(workspace, tmp_path):
    run_batch(Workspace.open(workspace), date(2026, 11, 25), workspace / "out", 1, CLOCK, renderer=fake_pdf)
    planned = next(l for l in ledger_letters(workspace, status="planned", kind="reminder")
                   if l.planned_on == date(2026, 11, 26))
    result = invoke(workspace, "render", planned.account_id, "--kind", "reminder", "--as-of", "2026-11-26",
                    "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    issued = next(l for l in ledger_letters(workspace, account_id=planned.account_id) if l.status == "issued")
    assert issued.reference.startswith("锦物通字〔2026〕第") and issued.issued_on == date(2026, 11, 26)
    written = tmp_path / f"{planned.account_id}-reminder.pdf"
    assert sha256_of(written.read_bytes()) == issued.pdf_sha256
    assert archive_path(workspace, issued.pdf_sha256).read_bytes() == written.read_bytes()
    assert issued.reference in text_of(written).replace("\n", "")
    superseded = next(l for l in ledger_letters(workspace, account_id=planned.account_id) if l.id == planned.id)
    assert superseded.status == "cancelled"
    ledger = open_ledger(workspace, CLOCK)
    events = [e.detail for e in ledger.events(account_id=planned.account_id) if e.event == "cancelled"]
    ledger.close()
    assert "superseded by a clerk's letter issued on 2026-11-26" in events
    # The clerk's letter took the day's only reminder: the batch sends no other reminder that day.
    day = run_batch(Workspace.open(workspace), date(2026, 11, 26), workspace / "out", 1, CLOCK, renderer=fake_pdf)
    assert [l for l in day.issued if l.kind.value == "reminder"] == []
    assert invoke(workspace, "ledger", "check").exit_code == 0
    assert invoke(workspace, "reprint", issued.reference, "-o", str(tmp_path / "again.pdf")).exit_code == 0
    assert (tmp_path / "again.pdf").read_bytes() == written.read_bytes()


def test_forced_letters_keep_the_clerks_reason(workspace, tmp_path, fake_renderer):
    result = invoke(workspace, "render", "JX-1-0201", "--kind", "demand", "--as-of", "2026-11-25", "-o", str(tmp_path),
                    "--force", "--reason", "the manager asked for it")
    assert result.exit_code == 0, result.output
    (letter,) = ledger_letters(workspace, account_id="JX-1-0201", status="issued")
    ledger = open_ledger(workspace, CLOCK)
    forced = [e.detail for e in ledger.events(reference=letter.reference) if e.event == "forced"]
    ledger.close()
    assert forced and "the manager asked for it" in forced[0] and "reminder letter due" in forced[0]


def test_a_clerks_first_letter_goes_on_after_the_history_files_numbers(workspace, tmp_path, fake_renderer):
    # The sample's history file used 锦物催字〔2026〕第0001号 to 第0028号 and 锦物通字〔2026〕up to 第0035号.
    # A clerk's letter before any batch used to start the series at 0001 again: a number already
    # printed on a letter, and holes that stopped the next day's batch.
    result = invoke(workspace, "render", "JX-1-0201", "--kind", "reminder", "--as-of", "2026-11-25", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    result = invoke(workspace, "render", "JX-1-0801", "--kind", "demand", "--as-of", "2026-11-25", "-o", str(tmp_path),
                    "--force", "--reason", "asked for by the manager")
    assert result.exit_code == 0, result.output
    assert sorted(l.reference for l in ledger_letters(workspace, status="issued")) == [
        "锦物催字〔2026〕第0029号", "锦物通字〔2026〕第0036号"]
    assert invoke(workspace, "ledger", "check").exit_code == 0
    day = run_batch(Workspace.open(workspace), date(2026, 11, 26), workspace / "out", 1, CLOCK, renderer=fake_pdf)
    numbers = sorted(int(l.reference[-5:-1]) for l in day.issued if l.kind.value == "reminder")
    assert numbers and numbers == list(range(37, 37 + len(numbers)))
    result = invoke(workspace, "ledger", "check")
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_a_draft_is_watermarked_unnumbered_and_never_recorded(workspace, tmp_path):
    result = invoke(workspace, "render", "JX-1-0201", "--kind", "lawyer", "--as-of", "2026-11-25", "-o", str(tmp_path),
                    "--draft")
    assert result.exit_code == 0, result.output
    assert "draft, not issued; the rules do not call for it now" in result.output
    text = text_of(tmp_path / "JX-1-0201-lawyer.pdf")
    pages = [page for page in text.split("\f") if page.strip()]
    assert all("草" in page and "稿" in page for page in pages)  # the watermark, on every page
    assert "律函字" not in text and "LAW-20261125-JX-1-0201" in text  # not a number from the series
    assert not (workspace / "ledger.sqlite").exists() and not (workspace / "archive").exists()


def test_all_drafts_preview_a_whole_workspace(copy_sample, tmp_path):
    root = copy_sample("water-zh")
    result = invoke(root, "render", "--all", "--draft", "--kind", "demand", "--as-of", "2026-11-25", "--format", "html",
                    "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    written = sorted(tmp_path.glob("*.html"))
    assert len(written) == result.output.count("wrote ") and len(written) > 3
    assert all("草稿" in path.read_text(encoding="utf-8") for path in written)


@pytest.mark.parametrize("args, message", [
    (["--all"], "--all previews every account with --draft"),
    (["JX-1-0201", "--force"], "--force needs --reason"),
    (["JX-1-0201", "--draft", "--force", "--reason", "x"], "not with --draft"),
])
def test_usage_mistakes(workspace, args, message):
    result = invoke(workspace, "render", *args, "--kind", "reminder", "--as-of", "2026-11-25")
    assert result.exit_code == 2 and message in result.output


def test_an_issued_letter_is_a_pdf_or_a_docx(workspace, tmp_path):
    result = invoke(workspace, "render", "JX-1-0201", "--kind", "reminder", "--as-of", "2026-11-25", "--format", "html",
                    "-o", str(tmp_path))
    assert result.exit_code == 1 and "use --draft for an html preview" in result.output


@pytest.mark.slow
def test_a_letter_that_cannot_be_made_voids_its_number_at_once(workspace, tmp_path):
    override = workspace / "templates" / "zh-CN" / "reminder.html"
    override.parent.mkdir(parents=True)
    override.write_text('{% extends "base.html" %}{% block letterhead %}<img src="file:///etc/hostname">'
                        '{% endblock %}', encoding="utf-8")
    result = invoke(workspace, "render", "JX-1-0201", "--kind", "reminder", "--as-of", "2026-11-25", "-o", str(tmp_path))
    assert result.exit_code == 1, result.output
    (letter,) = ledger_letters(workspace, account_id="JX-1-0201")
    assert letter.status == "cancelled" and letter.reference  # void, in the series, never reserved forever
    assert invoke(workspace, "ledger", "check").exit_code == 0
