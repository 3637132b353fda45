"""Whole days driven through the batch, on copies of the sample workspaces."""

import csv
from collections import Counter
import io
import json
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from letterforge import executors as executors_module
from letterforge.pipeline import run_batch
from letterforge.recovery import workspace_lock
from letterforge.cli import cli
from letterforge.ledger import open_ledger
from letterforge.workspace import Workspace

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"

CLOCK = lambda: datetime(2026, 11, 25, 6, 30)  # noqa: E731
SMALL_CAPS = """
# appended to the sample's [policy] table, its last one
daily_caps = { reminder = 3, demand = 2, lawyer = 5 }
per_group_daily = { reminder = 2, demand = 1, lawyer = 1 }
first_lawyer_wave = 3
horizon_days = 15
"""


@pytest.fixture
def workspace(copy_sample) -> Path:
    root = copy_sample("property-zh")
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + SMALL_CAPS, encoding="utf-8")
    return root


def batch(root: Path, day: date, jobs: int = 1, real: bool = False, out: Path | None = None, **options):
    """A day's batch; with a fast stand-in for WeasyPrint unless the test reads the letters."""
    from conftest import fake_pdf

    if not real:
        options.setdefault("renderer", fake_pdf)
    return run_batch(Workspace.open(root), day, out or root / "out", jobs, CLOCK, **options)


def pay_in_full(root: Path, account_id: str) -> None:
    path = root / "欠费明细.csv"
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("gbk"))))
    for row in rows[1:]:
        if row[0] == account_id:
            row[4] = row[3]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_bytes(buffer.getvalue().encode("gbk"))


def references(root: Path) -> list[str]:
    ledger = open_ledger(root, CLOCK)
    try:
        return [l.reference for l in ledger.letters() if l.reference]
    finally:
        ledger.close()


def assert_gapless(refs: list[str]) -> None:
    by_kind: dict[str, list[int]] = {}
    for ref in refs:
        prefix, number = ref.rsplit("第", 1) if "第" in ref else ref.rsplit("-", 1)
        by_kind.setdefault(prefix, []).append(int(number.rstrip("号")))
    for numbers in by_kind.values():
        numbers.sort()
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    assert len(refs) == len(set(refs))


def test_reference_series_go_on_after_the_letters_sent_before_letterforge(workspace):
    history = (workspace / "已发函件.csv").read_bytes().decode("gbk")
    used = [int(ref.split("第")[1].rstrip("号")) for ref in history.split() if "锦物催字〔2026〕" in ref
            for ref in [ref.split(",")[-1]]]
    report = batch(workspace, date(2026, 11, 25))
    demands = sorted(l.reference for l in report.issued if l.kind.value == "demand")
    assert demands[0] == f"锦物催字〔2026〕第{max(used) + 1:04d}号"


@pytest.mark.slow
def test_first_day_issues_the_staggered_share_and_writes_the_day(workspace):
    report = batch(workspace, date(2026, 11, 25), real=True)
    assert report.ok and not report.failed
    counts = report.counts()["issued"]
    assert counts["lawyer"] == 3 and counts["demand"] <= 2 and counts["reminder"] <= 3
    lawyers = [l for l in report.issued if l.kind.value == "lawyer"]
    assert len({l.group for l in lawyers}) == 3  # one per building on a day
    folder = workspace / "out" / "2026-11-25"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest) == len(report.issued)
    for row in manifest:
        pdf = folder.parent / row["file"]
        import hashlib

        assert hashlib.sha256(pdf.read_bytes()).hexdigest() == row["sha256"]
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
        assert row["reference"] in text
        assert row["clauses"] and "@" in row["clauses"]
    pack = PdfReader(folder / "print-pack-001.pdf")  # one volume: the day has fewer than 500 letters
    assert len(pack.pages) == sum(len(PdfReader(folder.parent / row["file"]).pages) for row in manifest)
    follow_ups = (folder / "follow-ups.csv").read_text(encoding="utf-8-sig").splitlines()
    assert follow_ups[0] == "follow_up_on,account_id,kind,reference,what" and len(follow_ups) == len(manifest) + 1
    assert_gapless(references(workspace))


def test_the_print_pack_is_written_in_volumes_each_sorted_for_the_delivery_round(workspace):
    config = workspace / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n[print_pack]\nletters_per_volume = 3\n", encoding="utf-8")
    report = batch(workspace, date(2026, 11, 25))
    assert report.ok and len(report.issued) > 6
    folder = workspace / "out" / "2026-11-25"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    volumes = sorted(folder.glob("print-pack*.pdf"))
    assert [v.name for v in volumes] == [f"print-pack-{n:03d}.pdf" for n in range(1, (len(manifest) + 2) // 3 + 1)]
    # The volumes, one after the other, hold every letter once, in the order of the delivery round.
    data = Workspace.open(workspace).load_data()
    place = {a.account_id: (a.building, a.address, a.account_id) for a in data.accounts}
    packed = []
    for volume in volumes:
        reader = PdfReader(volume)
        bookmarks = [item.title.split()[0] for item in reader.outline if not isinstance(item, list)]
        assert 1 <= len(bookmarks) <= 3
        assert [row["reference"] for row in manifest if row["print_pack"] == volume.name] == bookmarks
        in_volume = [row for row in manifest if row["print_pack"] == volume.name]
        assert len(reader.pages) == sum(len(PdfReader(folder.parent / row["file"]).pages) for row in in_volume)
        packed += bookmarks
    assert sorted(packed) == sorted(l.reference for l in report.issued) and len(set(packed)) == len(packed)
    by_reference = {row["reference"]: row["account_id"] for row in manifest}
    assert [place[by_reference[r]] for r in packed] == sorted(place[by_reference[r]] for r in packed)
    csv_rows = list(csv.DictReader(io.StringIO((folder / "manifest.csv").read_text(encoding="utf-8-sig"))))
    assert [row["print_pack"] for row in csv_rows] == [row["print_pack"] for row in manifest]


def packed(folder: Path) -> list[str]:
    """The references of the letters in the day's print pack, volume after volume (the stand-in
    renderer titles each letter with its reference)."""
    return [item.title.split()[0] for volume in sorted(folder.glob("print-pack-*.pdf"))
            for item in PdfReader(volume).outline if not isinstance(item, list)]


def in_delivery_order(workspace: Path, folder: Path) -> list[str]:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    place = {a.account_id: (a.building, a.address, a.account_id) for a in Workspace.open(workspace).load_data().accounts}
    return [row["reference"] for row in sorted(manifest, key=lambda row: place[row["account_id"]])]


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_print_pack_is_built_as_the_letters_come_not_at_the_end(workspace, monkeypatch, jobs):
    def not_at_the_end(*args, **kwargs):
        raise AssertionError("the print pack was made again from the files at the end")

    monkeypatch.setattr("letterforge.outputs.write_print_pack", not_at_the_end)
    config = workspace / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n[print_pack]\nletters_per_volume = 2\n", encoding="utf-8")
    report = batch(workspace, date(2026, 11, 25), jobs=jobs)
    assert report.ok and len(report.issued) > 4
    folder = workspace / "out" / "2026-11-25"
    assert packed(folder) == in_delivery_order(workspace, folder)
    assert len(list(folder.glob("print-pack-*.pdf"))) == (len(report.issued) + 1) // 2
    assert not list(folder.glob(".print-pack*"))


def test_a_failed_letter_is_left_out_of_the_pack_built_as_the_letters_come(workspace, monkeypatch):
    from letterforge.diagnostics import UserError

    real = executors_module._render_task
    failing = {}

    def fails_once(task):
        if not failing:
            failing[task.reference] = task.account_id
            raise UserError("a letter that cannot be made")
        return real(task)

    monkeypatch.setattr(executors_module, "_render_task", fails_once)
    monkeypatch.setattr("letterforge.outputs.write_print_pack", lambda *a, **k: pytest.fail("made at the end"))
    report = batch(workspace, date(2026, 11, 25))
    assert len(report.failed) == 1 and report.issued
    folder = workspace / "out" / "2026-11-25"
    assert packed(folder) == in_delivery_order(workspace, folder)
    assert set(failing).isdisjoint(packed(folder))


def test_a_working_day_without_letters_writes_no_print_pack(workspace):
    report = batch(workspace, date(2025, 6, 3))  # a Tuesday before any arrears were overdue
    assert report.ok and report.exit_code == 0 and report.issued == [] and report.files == []
    folder = workspace / "out" / "2025-06-03"
    assert not [p.name for p in folder.iterdir() if "print-pack" in p.name or "manifest" in p.name]


def test_rerunning_the_same_day_issues_nothing_new(workspace, fake_renderer):
    first = batch(workspace, date(2026, 11, 25))
    pack = (workspace / "out" / "2026-11-25" / "print-pack-001.pdf").read_bytes()
    again = CliRunner().invoke(cli, ["batch", "-w", str(workspace), "--as-of", "2026-11-25", "--jobs", "1"])
    assert again.exit_code == 0, again.output
    assert "nothing new to issue today" in again.output
    assert len(references(workspace)) == len(first.issued)
    assert (workspace / "out" / "2026-11-25" / "print-pack-001.pdf").read_bytes() == pack


def test_a_batch_killed_halfway_completes_on_rerun_without_duplicates_or_gaps(workspace, monkeypatch):
    real = executors_module._render_task
    calls = {"n": 0}

    def dies_on_the_fourth(task):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt  # the process is killed mid-batch
        return real(task)

    monkeypatch.setattr(executors_module, "_render_task", dies_on_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        batch(workspace, date(2026, 11, 25))
    ledger = open_ledger(workspace, CLOCK)
    half = (len(ledger.letters(status="issued")), len(ledger.letters(status="reserved")))
    ledger.close()
    assert half[0] == 3 and half[1] > 0
    monkeypatch.setattr(executors_module, "_render_task", real)
    report = batch(workspace, date(2026, 11, 25))
    assert report.ok and len(report.issued) == half[1]
    refs = references(workspace)
    assert_gapless(refs)
    # The print pack holds the letters of both runs, in the order of the delivery round; the
    # volume the killed run was writing is gone.
    folder = workspace / "out" / "2026-11-25"
    assert packed(folder) == in_delivery_order(workspace, folder) and len(packed(folder)) == len(refs)
    assert not list(folder.glob(".print-pack*"))
    ledger = open_ledger(workspace, CLOCK)
    assert ledger.letters(status="reserved") == [] and ledger.letters(status="planned", planned_until=date(2026, 11, 25)) == []
    ledger.close()


KILLED_WHILE_PACKING = """
import os, signal, sys
from datetime import date, datetime
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from conftest import fake_pdf
from letterforge import printpack
from letterforge.pipeline import run_batch
from letterforge.workspace import Workspace

real_add = printpack.PrintPackWriter.add
added = []

def add(self, letter):
    real_add(self, letter)
    added.append(letter)
    if len(added) == int(sys.argv[3]):  # the first letter of volume 2 is on disk: kill -9 now
        self._output.flush()
        os.kill(os.getpid(), signal.SIGKILL)

printpack.PrintPackWriter.add = add
run_batch(Workspace.open(Path(sys.argv[1])), date(2026, 11, 25), Path(sys.argv[1]) / "out", 1,
          lambda: datetime(2026, 11, 25, 6, 30), renderer=fake_pdf)
"""


def kill_while_packing_volume_2(workspace: Path) -> None:
    """A batch of 2026-11-25 in volumes of two letters, killed (SIGKILL) as volume 2 is written."""
    import signal
    import sys

    config = workspace / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n[print_pack]\nletters_per_volume = 2\n", encoding="utf-8")
    killed = subprocess.run([sys.executable, "-c", KILLED_WHILE_PACKING, str(workspace),
                             str(Path(__file__).parent), "3"], capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr


@pytest.mark.slow
def test_a_batch_killed_while_writing_volume_2_completes_every_volume_once_on_rerun(workspace):
    kill_while_packing_volume_2(workspace)
    folder = workspace / "out" / "2026-11-25"
    # What the kill left: volume 1 done and volume 2 begun, both under their temporary names only.
    assert sorted(p.name for p in folder.glob("*print-pack*")) == [".print-pack-001.pdf.building",
                                                                   ".print-pack-002.pdf.building"]
    ledger = open_ledger(workspace, CLOCK)
    before_kill = len(ledger.letters(status="issued"))  # three packed, perhaps more issued ahead of the round
    ledger.close()
    assert before_kill >= 3
    report = batch(workspace, date(2026, 11, 25))
    assert report.ok and report.issued
    ledger = open_ledger(workspace, CLOCK)
    issued = [l.reference for l in ledger.letters(status="issued")]
    assert ledger.letters(status="reserved") == []
    ledger.close()
    assert len(issued) == len(report.issued) + before_kill
    volumes = sorted(folder.glob("print-pack-*.pdf"))
    assert [v.name for v in volumes] == [f"print-pack-{n:03d}.pdf" for n in range(1, (len(issued) + 1) // 2 + 1)]
    for volume in volumes:  # each whole: it opens, and its pages are its letters' (one page each)
        reader = PdfReader(volume, strict=True)
        assert len(reader.pages) == len(reader.outline) in (1, 2)
    assert packed(folder) == in_delivery_order(workspace, folder)
    assert sorted(packed(folder)) == sorted(issued)  # every letter once, none twice
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".print-pack")]
    # A third run of the day changes nothing.
    before = [v.read_bytes() for v in volumes]
    assert batch(workspace, date(2026, 11, 25)).issued == []
    assert [v.read_bytes() for v in sorted(folder.glob("print-pack-*.pdf"))] == before


@pytest.mark.slow
def test_a_batch_killed_while_writing_volume_2_then_the_next_days_run_completes_that_day_cleanly(workspace):
    kill_while_packing_volume_2(workspace)
    assert batch(workspace, date(2026, 11, 26)).ok  # no rerun of the 25th: the next day's run
    folder = workspace / "out" / "2026-11-25"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest and packed(folder) == in_delivery_order(workspace, folder)
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".print-pack")]


def test_two_batches_at_once_the_second_is_refused(workspace, fake_renderer):
    with workspace_lock(Workspace.open(workspace)):
        result = CliRunner().invoke(cli, ["batch", "-w", str(workspace), "--as-of", "2026-11-25", "--jobs", "1"])
    assert result.exit_code == 1
    assert "another batch is running on this workspace" in result.stderr


MONTH_CAPS = """
# appended to the sample's [policy] table: few letters a day, so that a month stays quick to run
daily_caps = { reminder = 2, demand = 1, lawyer = 2 }
per_group_daily = { reminder = 1, demand = 1, lawyer = 1 }
first_lawyer_wave = 1
horizon_days = 25
"""


def test_a_month_of_batches_with_payments_holds_and_waves(copy_sample):
    workspace = copy_sample("property-zh")
    config = workspace / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("return_slip = true", "return_slip = false")
                      + MONTH_CAPS, encoding="utf-8")
    first = batch(workspace, date(2026, 11, 25))
    assert first.counts()["issued"]["lawyer"] == 1  # the first wave
    planned = open_ledger(workspace, CLOCK)
    later = [l for l in planned.letters(status="planned")]
    planned.close()
    assert later, "the rest of the letters wait for later days"
    payer = next(l for l in later if l.kind.value == "lawyer")
    pay_in_full(workspace, payer.account_id)
    held = next(l for l in later if l.account_id != payer.account_id)
    assert CliRunner().invoke(cli, ["hold", held.account_id, "-w", str(workspace), "--until", "2026-12-31",
                                    "--reason", "投诉处理中"]).exit_code == 0
    issued_by_day = {date(2026, 11, 25): first.issued}
    cancelled = []
    reminded = next(l for l in first.issued if l.kind.value == "reminder")
    day = date(2026, 11, 26)
    while day <= date(2026, 12, 24):  # a month of daily runs, weekends included, as cron does
        if day == date(2026, 12, 1):
            pay_in_full(workspace, reminded.account_id)  # a payment arrives after the first reminder
        report = batch(workspace, day)
        assert report.ok
        issued_by_day[day] = report.issued
        cancelled.extend(report.cancelled)
        day += timedelta(days=1)
    after_payment = [l for d, letters in issued_by_day.items() if d >= date(2026, 12, 1) for l in letters]
    assert reminded.account_id not in {l.account_id for l in after_payment}  # the ladder stopped
    assert any(l.kind.value == "reminder" for l in after_payment)  # while others got their next reminder
    reasons = {l.account_id: reason for l, reason in cancelled}
    assert "Nothing is overdue" in reasons[payer.account_id]
    assert "on hold until 2026-12-31" in reasons[held.account_id]
    everyone = [l for letters in issued_by_day.values() for l in letters]
    assert payer.account_id not in {l.account_id for l in everyone if l.issued_on and l.issued_on > date(2026, 11, 25)}
    for issued_on, letters in issued_by_day.items():
        if letters:
            assert issued_on.weekday() < 5  # working days only
        groups = [l.group for l in letters if l.kind.value == "lawyer"]
        assert len(groups) == len(set(groups))
    lawyer_days = sorted(d for d, letters in issued_by_day.items() if any(l.kind.value == "lawyer" for l in letters))
    assert len(lawyer_days) >= 2  # the lawyer's letters went out in waves
    assert_gapless(references(workspace))
    ledger = open_ledger(workspace, CLOCK)
    sent = [(l.account_id, l.issued_on) for l in ledger.letters() if l.status == "issued"]
    ledger.close()
    assert len(sent) == len(set(sent))  # never two letters to one account on one day


def test_deadline_in_the_national_day_holiday_moves_to_the_next_working_day(workspace):
    report = batch(workspace, date(2026, 9, 24))
    assert report.issued
    for letter in report.issued:
        assert letter.deadline is not None and not date(2026, 10, 1) <= letter.deadline <= date(2026, 10, 7)
        assert letter.deadline >= date(2026, 10, 8)


@pytest.mark.slow
def test_reprint_reproduces_the_issued_pdf_byte_for_byte(workspace, tmp_path):
    report = batch(workspace, date(2026, 11, 25), real=True)
    letter = report.issued[0]
    pay_in_full(workspace, letter.account_id)  # the data moved on; the letter as issued must not
    result = CliRunner().invoke(cli, ["reprint", letter.reference, "-w", str(workspace), "-o", str(tmp_path / "r.pdf")])
    assert result.exit_code == 0, result.output
    issued = (workspace / letter.pdf_file).read_bytes()
    assert (tmp_path / "r.pdf").read_bytes() == issued
    assert "as the ledger records" in result.output
    again = CliRunner().invoke(cli, ["reprint", letter.reference, "-w", str(workspace), "-o", str(tmp_path / "s.pdf"),
                                     "--rerender"])
    assert again.exit_code == 0 and "made again from its snapshot: the same bytes" in again.output
    # The legal team edits a template: the issued letter is still the one reprint returns.
    css = Path(__file__).resolve().parent.parent / "templates" / "partials" / "letter.css"
    override = workspace / "templates" / "partials" / "letter.css"
    override.parent.mkdir(parents=True, exist_ok=True)
    override.write_text(css.read_text(encoding="utf-8") + "\nbody { letter-spacing: 0.5pt; }\n", encoding="utf-8")
    edited = CliRunner().invoke(cli, ["reprint", letter.reference, "-w", str(workspace), "-o", str(tmp_path / "t.pdf"),
                                      "--rerender"])
    assert edited.exit_code == 0, edited.output
    assert (tmp_path / "t.pdf").read_bytes() == issued
    assert "the bytes differ" in edited.output


def test_ledger_commands(workspace, tmp_path):
    report = batch(workspace, date(2026, 11, 25))
    reference = report.issued[0].reference
    runner = CliRunner()
    listed = runner.invoke(cli, ["ledger", "list", "-w", str(workspace), "--status", "issued", "--format", "json"])
    assert {row["reference"] for row in json.loads(listed.stdout)} == {l.reference for l in report.issued}
    delivered = runner.invoke(cli, ["ledger", "deliver", reference, "-w", str(workspace), "--method", "ems",
                                    "--tracking", "EA123456789CN", "--on", "2026-11-27"])
    assert delivered.exit_code == 0, delivered.output
    shown = runner.invoke(cli, ["ledger", "show", reference, "-w", str(workspace), "--format", "json"])
    record = json.loads(shown.stdout)
    assert record["status"] == "delivered" and record["tracking_number"] == "EA123456789CN"
    assert [e["event"] for e in record["events"]] == ["planned", "reserved", "issued", "delivered"]
    exported = runner.invoke(cli, ["ledger", "export", "-w", str(workspace), "-o", str(tmp_path / "evidence.csv")])
    assert exported.exit_code == 0
    rows = list(csv.DictReader(io.StringIO((tmp_path / "evidence.csv").read_text(encoding="utf-8-sig"))))
    row = next(r for r in rows if r["reference"] == reference)
    assert row["delivery_method"] == "ems" and "delivered ems EA123456789CN on 2026-11-27" in row["events"]
    assert runner.invoke(cli, ["ledger", "show", "NOPE", "-w", str(workspace)]).exit_code == 1


def test_plan_writes_nothing_and_explains(workspace):
    runner = CliRunner()
    result = runner.invoke(cli, ["plan", "-w", str(workspace), "--as-of", "2026-11-25", "--format", "json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["days"][0]["date"] == "2026-11-25" and plan["days"][0]["totals"]["lawyer"] == 3
    assert not (workspace / "ledger.sqlite").exists()
    explained = runner.invoke(cli, ["plan", "-w", str(workspace), "--as-of", "2026-11-25", "--explain", "JX-3-0502"])
    assert "no letter. The account is on hold until 2027-02-28 (已签分期协议)." in explained.output
    lawyer = runner.invoke(cli, ["plan", "-w", str(workspace), "--as-of", "2026-11-25", "--explain", "JX-2-0302"])
    assert "lawyer letter due" in lawyer.output and "demand letters passed their deadlines" in lawyer.output


def test_rejected_rows_are_reported_never_fatal(copy_sample, fake_renderer):
    root = copy_sample("broken-property-zh")
    result = CliRunner().invoke(cli, ["batch", "-w", str(root), "--as-of", "2026-11-25", "--jobs", "1"])
    assert result.exit_code == 1, result.output
    assert "data row(s) rejected" in result.output
    assert (root / "out" / "2026-11-25" / "rejects" / "arrears.rejects.csv").is_file()
    assert "issued" in result.output


@pytest.mark.slow
def test_parallel_workers_give_the_same_letters(workspace, copy_sample):
    serial = batch(workspace, date(2026, 11, 25), jobs=1, real=True)
    other = copy_sample("property-zh", "second-copy")
    config = other / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + SMALL_CAPS, encoding="utf-8")
    parallel = batch(other, date(2026, 11, 25), jobs=2, real=True)
    assert {(l.reference, l.pdf_sha256) for l in serial.issued} == {(l.reference, l.pdf_sha256) for l in parallel.issued}


def children_of(pid: int) -> list[str]:
    """Process ids whose parent is pid, read from /proc (no procps needed)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(stat.parent.name)
    return children


@pytest.mark.slow
def test_kill_minus_nine_with_workers_then_rerun_completes_the_day(workspace):
    import os
    import signal
    import sys
    import time

    letters = workspace / "out" / "2026-11-25" / "letters"
    command = [str(Path(sys.executable).with_name("letterforge")), "-w", str(workspace), "batch", "--as-of",
               "2026-11-25", "--jobs", "2"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not (letters.is_dir() and any(letters.glob("*.pdf"))):
        time.sleep(0.05)
    workers = children_of(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    for _ in range(40):  # the workers notice their batch is gone and leave
        if not any(Path(f"/proc/{pid}").exists() for pid in workers):
            break
        time.sleep(0.25)
    assert workers and not any(Path(f"/proc/{pid}").exists() for pid in workers)
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    ledger = open_ledger(workspace, CLOCK)
    issued = ledger.letters(status="issued")
    assert ledger.letters(status="reserved") == [] and issued
    ledger.close()
    assert_gapless([l.reference for l in issued])
    manifest = json.loads((workspace / "out" / "2026-11-25" / "manifest.json").read_text(encoding="utf-8"))
    assert {row["reference"] for row in manifest} == {l.reference for l in issued}
    assert sorted(p.name for p in letters.glob("*.pdf")) == sorted(Path(l.pdf_file).name for l in issued)


def test_crash_then_next_day_rerun_rechecks_the_leftovers(workspace, monkeypatch):
    real = executors_module._render_task

    calls = {"n": 0}

    def dies_after_two(task):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(executors_module, "_render_task", dies_after_two)
    with pytest.raises(KeyboardInterrupt):
        batch(workspace, date(2026, 11, 25))
    monkeypatch.setattr(executors_module, "_render_task", real)
    ledger = open_ledger(workspace, CLOCK)
    leftovers = ledger.letters(status="reserved")
    ledger.close()
    paid, held = leftovers[0], leftovers[1]
    pay_in_full(workspace, paid.account_id)
    assert CliRunner().invoke(cli, ["hold", held.account_id, "-w", str(workspace), "--until", "2026-12-31",
                                    "--reason", "投诉处理中"]).exit_code == 0
    report = batch(workspace, date(2026, 11, 26))
    assert report.ok, report.failed
    outcome = {l.account_id: reason for l, reason in report.cancelled}
    assert "Nothing is overdue" in outcome[paid.account_id] and "投诉处理中" in outcome[held.account_id]
    ledger = open_ledger(workspace, CLOCK)
    assert ledger.letters(status="reserved") == []
    voided = ledger.letter(paid.reference)
    assert voided.status == "cancelled"  # its number stays in the series, void, with the reason
    refs = [l.reference for l in ledger.letters() if l.reference]
    ledger.close()
    assert_gapless(refs)
    for day in ("2026-11-25", "2026-11-26"):  # the crashed day's print pack and manifest were written too
        assert (workspace / "out" / day / "manifest.json").is_file()
    assert not (workspace / "out" / "2026-11-25" / "letters" / f"{paid.kind.value}-{paid.account_id}.pdf").exists()


@pytest.mark.slow
def test_the_lawyers_letter_cites_the_demands_letterforge_sent(workspace):
    ledger = open_ledger(workspace, CLOCK)
    ledger.close()
    day = date(2026, 11, 25)
    lawyer = None
    while lawyer is None and day <= date(2026, 12, 31):
        report = batch(workspace, day)
        lawyer = next((l for l in report.issued if l.kind.value == "lawyer" and l.account_id == "JX-1-0202"), None)
        day += timedelta(days=1)
    assert lawyer is not None, "JX-1-0202: one demand in the history, one from letterforge, then the lawyer's letter"
    ledger = open_ledger(workspace, CLOCK)
    demand = next(l for l in ledger.letters(account_id="JX-1-0202", kind="demand") if l.status == "issued")
    ledger.close()
    from letterforge.archive import rerender_letter

    ledger = open_ledger(workspace, CLOCK)
    real_pdf = rerender_letter(Workspace.open(workspace), ledger, lawyer)  # WeasyPrint, from what the batch kept
    ledger.close()
    (workspace / "lawyer.pdf").write_bytes(real_pdf)
    text = subprocess.run(["pdftotext", str(workspace / "lawyer.pdf"), "-"], capture_output=True,
                          text=True).stdout.replace("\n", "")
    assert "先后两次" in text
    assert f"{demand.issued_on.year}年{demand.issued_on.month}月{demand.issued_on.day}日" in text


def test_accounts_with_rejected_rows_get_no_letter(copy_sample):
    root = copy_sample("broken-property-zh")
    report = batch(root, date(2026, 11, 25))
    assert "JX-1-0202" not in {l.account_id for l in report.issued}  # three of its rows were rejected
    explained = CliRunner().invoke(cli, ["plan", "-w", str(root), "--as-of", "2026-11-25", "--explain", "JX-1-0202"])
    assert "data rows were rejected" in explained.output


def test_missed_days_keep_the_caps_and_weekends_issue_nothing(workspace):
    batch(workspace, date(2026, 11, 25))
    saturday = batch(workspace, date(2026, 11, 28))
    assert not saturday.working_day and saturday.issued == []
    monday = batch(workspace, date(2026, 11, 30))  # 26 and 27 were missed
    counts = monday.counts()["issued"]
    assert counts["reminder"] <= 3 and counts["demand"] <= 2 and counts["lawyer"] <= 5
    groups = Counter((l.kind.value, l.group) for l in monday.issued)
    assert groups[("lawyer", "2栋")] <= 1 and all(n <= 2 for (kind, _), n in groups.items() if kind == "reminder")


def test_a_reminder_staggered_into_next_month_still_goes_out(workspace):
    config = workspace / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + 'reminder_checkpoints = [25]\n', encoding="utf-8")
    cancelled = []
    day = date(2026, 11, 25)
    while day <= date(2026, 12, 4):
        cancelled.extend(batch(workspace, day).cancelled)
        day += timedelta(days=1)
    assert not [reason for letter, reason in cancelled if letter.kind.value == "reminder"]


def test_another_out_folder_on_a_rerun(workspace, tmp_path):
    batch(workspace, date(2026, 11, 25))
    again = batch(workspace, date(2026, 11, 25), out=tmp_path / "elsewhere")
    assert again.ok and again.issued == []


def test_export_keeps_cancellation_reasons_and_holds(workspace, tmp_path):
    batch(workspace, date(2026, 11, 25))
    ledger = open_ledger(workspace, CLOCK)
    later = ledger.letters(status="planned")[0]
    ledger.close()
    pay_in_full(workspace, later.account_id)
    runner = CliRunner()
    assert runner.invoke(cli, ["hold", "JX-3-0601", "-w", str(workspace), "--until", "2026-12-31", "--reason",
                               "投诉处理中"]).exit_code == 0
    assert runner.invoke(cli, ["release", "JX-3-0601", "-w", str(workspace)]).exit_code == 0
    batch(workspace, later.planned_on)
    exported = runner.invoke(cli, ["ledger", "export", "-w", str(workspace)])
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    cancelled = next(r for r in rows if r["account_id"] == later.account_id and r["status"] == "cancelled")
    assert "cancelled Nothing is overdue" in cancelled["events"]
    assert [r["status"] for r in rows if r["account_id"] == "JX-3-0601" and not r["reference"]][-2:] == ["hold", "released"]


# -- a day issued once, in order, whatever happens --------------------------------------------------

RECIPE_CAPS = "\ndaily_caps = { reminder = 4, demand = 1, lawyer = 1 }\nhorizon_days = 2\n"


def fast_batch(root: Path, day: date, **options):
    from conftest import fake_pdf

    return run_batch(Workspace.open(root), day, root / "out", 1, CLOCK, renderer=fake_pdf, **options)


def test_three_reruns_of_a_capped_day_issue_its_caps_once(copy_sample, fake_renderer):
    root = copy_sample("property-zh")
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + RECIPE_CAPS, encoding="utf-8")
    outputs = []
    for _ in range(3):
        result = CliRunner().invoke(cli, ["-w", str(root), "batch", "--as-of", "2026-11-25", "--jobs", "1",
                                          "--format", "json"])
        assert result.exit_code == 0, result.output
        outputs.append(json.loads(result.output))
    assert outputs[0]["counts"]["issued"] == {"reminder": 4, "demand": 1, "lawyer": 1}
    assert [o["counts"]["issued"] for o in outputs[1:]] == [{}, {}]
    assert all(o["already_complete"] for o in outputs[1:])
    ledger = open_ledger(root, CLOCK)
    issued = [l for l in ledger.letters() if l.status == "issued"]
    ledger.close()
    assert Counter(l.kind.value for l in issued) == Counter({"reminder": 4, "demand": 1, "lawyer": 1})
    assert max(Counter(l.group for l in issued if l.kind.value == "reminder").values()) <= 2


def test_a_day_before_the_last_day_run_is_refused(workspace, fake_renderer):
    fast_batch(workspace, date(2026, 11, 26))
    before = references(workspace)
    result = CliRunner().invoke(cli, ["-w", str(workspace), "batch", "--as-of", "2026-11-25", "--jobs", "1"])
    assert result.exit_code == 1
    assert "2026-11-25 comes before 2026-11-26, the last day the batch ran on this ledger" in result.output
    assert references(workspace) == before
    assert not (workspace / "out" / "2026-11-25" / "manifest.json").exists()


@pytest.mark.slow
def test_sigterm_halfway_exits_143_releases_the_lock_and_the_rerun_completes_the_day(workspace):
    import os
    import signal
    import sys
    import time

    command = [str(Path(sys.executable).with_name("letterforge")), "-w", str(workspace), "batch", "--as-of",
               "2026-11-25", "--jobs", "2"]
    planned = json.loads(subprocess.run([*command, "--dry-run", "--format", "json"], capture_output=True,
                                        text=True, check=True).stdout)["due_today"]
    letters = workspace / "out" / "2026-11-25" / "letters"
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (letters.is_dir() and any(letters.glob("*.pdf"))):
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert "STOPPED by SIGTERM" in stdout and "the next run of the batch completes the day" in stdout
    with open(workspace / ".letterforge.lock", "a+") as handle:  # released: taking it succeeds at once
        import fcntl

        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(handle, fcntl.LOCK_UN)
    ledger = open_ledger(workspace, CLOCK)
    half = ledger.letters()
    ledger.close()
    stopped_issued = [l for l in half if l.status == "issued"]
    assert 0 < len(stopped_issued) < len(planned)
    assert not any(l.status == "issued" and not (workspace / l.pdf_file).is_file() for l in half)
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    ledger = open_ledger(workspace, CLOCK)
    issued = [l for l in ledger.letters() if l.status == "issued"]
    assert ledger.letters(status="reserved") == []
    ledger.close()
    assert len(issued) == len(planned)
    assert_gapless([l.reference for l in issued])
    manifest = json.loads((workspace / "out" / "2026-11-25" / "manifest.json").read_text(encoding="utf-8"))
    assert {row["reference"] for row in manifest} == {l.reference for l in issued}


def test_an_output_folder_that_cannot_be_written(workspace, fake_renderer):
    blocker = workspace / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    result = CliRunner().invoke(cli, ["-w", str(workspace), "batch", "--as-of", "2026-11-25", "--jobs", "1",
                                      "--out", str(blocker / "out")])
    assert result.exit_code == 1
    assert f"error: {blocker / 'out' / '2026-11-25'}: the output folder cannot be written" in result.output
    assert references(workspace) == []


def test_a_full_disk_stops_the_day_and_the_rerun_completes_it(workspace, monkeypatch):
    import errno
    import os

    from letterforge import archive as archive_module

    real_write = archive_module.write_atomic
    writes = {"n": 0}

    def full_after_three_letters(path, content):
        writes["n"] += 1
        if writes["n"] > 6:  # each letter writes its bytes and its record
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_write(path, content)

    monkeypatch.setattr(archive_module, "write_atomic", full_after_three_letters)
    stopped = fast_batch(workspace, date(2026, 11, 25))
    assert stopped.exit_code == 1 and len(stopped.issued) == 3 and stopped.left > 0
    assert "No space left on device: free space or give letterforge write access, then run the batch again" \
        in stopped.stopped_by
    assert "STOPPED: " in __import__("letterforge.reports", fromlist=["batch_text"]).batch_text(stopped)
    monkeypatch.setattr(archive_module, "write_atomic", real_write)
    completed = fast_batch(workspace, date(2026, 11, 25))
    assert completed.ok and not completed.already_complete
    ledger = open_ledger(workspace, CLOCK)
    issued = [l for l in ledger.letters() if l.status == "issued"]
    assert ledger.letters(status="reserved") == []
    ledger.close()
    fresh = fast_batch(copy_of(workspace), date(2026, 11, 25))
    assert len(issued) == len(fresh.issued)  # the planned count, as an uninterrupted day
    assert_gapless([l.reference for l in issued])


def copy_of(root: Path) -> Path:
    import shutil

    target = root.parent / f"{root.name}-fresh"
    shutil.copytree(root, target, ignore=shutil.ignore_patterns("out", "archive", "ledger.sqlite*"))
    return target


@pytest.fixture
def small_disk(tmp_path):
    """A real 4 MB file system of its own (tmpfs), for a real full disk and a real read-only folder."""
    import os

    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount_point)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root and mount(8) to make a small file system")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_real_full_disk_then_space_again(small_disk):
    import shutil

    root = small_disk / "ws"
    shutil.copytree(SAMPLES_DIR / "property-zh", root, ignore=shutil.ignore_patterns("rejects", "out", "*.sqlite*"))
    open_ledger(root, CLOCK).close()  # the ledger's tables made while there is room: the letters fill the disk
    filler = small_disk / "filler"
    free = shutil.disk_usage(small_disk).free
    filler.write_bytes(b"\0" * (free - 200 * 1024))  # room for the ledger's rows and a few letters only
    stopped = fast_batch(root, date(2026, 11, 25))
    assert stopped.exit_code == 1 and stopped.left > 0
    assert "No space left on device" in stopped.stopped_by or "full" in stopped.stopped_by
    filler.unlink()
    completed = fast_batch(root, date(2026, 11, 25))
    assert completed.ok
    assert CliRunner().invoke(cli, ["ledger", "check", "-w", str(root)]).exit_code == 0


def test_a_read_only_workspace_can_be_read_but_not_batched(small_disk):
    import shutil

    root = small_disk / "ws"
    shutil.copytree(SAMPLES_DIR / "property-zh", root, ignore=shutil.ignore_patterns("rejects", "out", "*.sqlite*"))
    fast_batch(root, date(2026, 11, 25))
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    runner = CliRunner()
    listed = runner.invoke(cli, ["ledger", "list", "-w", str(root)])
    assert listed.exit_code == 0 and "2026-11-25" in listed.output
    assert runner.invoke(cli, ["plan", "-w", str(root), "--as-of", "2026-11-26"]).exit_code == 0
    refused = runner.invoke(cli, ["batch", "-w", str(root), "--as-of", "2026-11-26", "--jobs", "1"])
    assert refused.exit_code == 1
    assert f"error: {root / '.letterforge.lock'}: cannot create the batch's lock file" in refused.output
