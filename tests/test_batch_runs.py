"""The batch over any sequence of runs: reruns, days skipped or out of order, crashes, SIGTERM and
a full disk in the middle of a day with a backlog. Caps, steps and reference series must hold."""

import errno
import os
import shutil
import signal
import tempfile
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import SAMPLES, fake_pdf
from letterforge import archive as archive_module
from letterforge.archive import archive_path, sha256_of
from letterforge.pipeline import run_batch
from letterforge.diagnostics import UserError
from letterforge.ledger import SENT, open_ledger
from letterforge.workspace import Workspace

CLOCK = lambda: datetime(2026, 11, 25, 6, 30)  # noqa: E731
CAPS = {"reminder": 4, "demand": 1, "lawyer": 1}
GROUP_CAPS = {"reminder": 2, "demand": 1, "lawyer": 1}
POLICY = """
daily_caps = { reminder = 4, demand = 1, lawyer = 1 }
per_group_daily = { reminder = 2, demand = 1, lawyer = 1 }
first_lawyer_wave = 1
horizon_days = 2
"""
# Working days of one reminder checkpoint window: a reminder is due once in it, a demand or a
# lawyer's letter at most once, so no account may get the same kind of letter twice.
DAYS = [date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27), date(2026, 11, 30), date(2026, 12, 1),
        date(2026, 12, 2)]


class Crash(BaseException):
    """The process dies here: nothing after it runs (not even the batch's own clean-up)."""


def make_workspace() -> Path:
    root = Path(tempfile.mkdtemp(prefix="lf-runs-")) / "ws"
    shutil.copytree(SAMPLES / "property-zh", root, ignore=shutil.ignore_patterns("rejects", "out", "*.sqlite*"))
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + POLICY, encoding="utf-8")
    return root


def run(root: Path, day: date, fault: str, at: int):
    """One batch run, with a fault when the `at`-th letter of the run is being made."""
    count = {"n": 0}

    def renderer(factory, draft):
        count["n"] += 1
        if count["n"] == at and fault == "crash":
            raise Crash()
        if count["n"] == at and fault == "sigterm":
            os.kill(os.getpid(), signal.SIGTERM)  # handled by the batch: the letter in hand finishes
        return fake_pdf(factory, draft)

    real_write = archive_module.write_atomic

    def disk_fills_up(path, content):
        if count["n"] >= at:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_write(path, content)

    with mock.patch.object(archive_module, "write_atomic", disk_fills_up if fault == "enospc" else real_write):
        return run_batch(Workspace.open(root), day, root / "out", 1, CLOCK, renderer=renderer)


def assert_invariants(root: Path) -> None:
    ledger = open_ledger(root, CLOCK)
    try:
        letters = ledger.letters()
        sent = [l for l in letters if l.status in SENT]
        per_day = Counter((l.issued_on, l.kind.value) for l in sent)
        assert all(n <= CAPS[kind] for (_, kind), n in per_day.items()), per_day
        per_group = Counter((l.issued_on, l.kind.value, l.group) for l in sent)
        assert all(n <= GROUP_CAPS[kind] for (_, kind, _), n in per_group.items()), per_group
        steps = Counter((l.account_id, l.kind) for l in sent)
        assert all(n == 1 for n in steps.values()), [step for step, n in steps.items() if n > 1]
        assert ledger.series_problems() == []
        for (kind, year), numbers in ledger.numbers().items():
            assert sorted(numbers) == list(range(min(numbers), max(numbers) + 1))
        for letter in sent:  # never issued without its archived bytes
            assert sha256_of(archive_path(root, letter.pdf_sha256).read_bytes()) == letter.pdf_sha256
            assert sha256_of((root / letter.pdf_file).read_bytes()) == letter.pdf_sha256
    finally:
        ledger.close()


def issued_count(root: Path) -> int:
    ledger = open_ledger(root, CLOCK)
    try:
        return sum(1 for l in ledger.letters() if l.status in SENT)
    finally:
        ledger.close()


runs = st.lists(st.tuples(st.sampled_from(range(len(DAYS))),
                          st.sampled_from(["ok", "ok", "crash", "sigterm", "enospc"]),
                          st.integers(min_value=1, max_value=5)), min_size=1, max_size=5)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs)
@example([(3, "crash", 1), (4, "ok", 1)])  # found by this test: a stopped day's leftovers overfilled the next day
@example([(1, "ok", 0), (0, "ok", 0), (1, "sigterm", 2), (2, "enospc", 3), (2, "ok", 0)])
def test_caps_steps_and_series_hold_over_any_sequence_of_runs(sequence):
    root = make_workspace()
    try:
        last = None
        for index, fault, at in sequence:
            day = DAYS[index]
            before = issued_count(root)
            try:
                report = run(root, day, fault, at)
            except Crash:
                pass
            except UserError as refusal:
                assert last is not None and day < last and "comes before" in str(refusal)
                assert issued_count(root) == before  # a refused day issues nothing
                continue
            else:
                if fault == "sigterm" and report.issued:
                    assert report.exit_code == 143 or report.left == 0
                if fault == "enospc" and report.left:
                    assert report.exit_code == 1 and "No space left on device" in report.stopped_by
            last = max(day, last) if last else day
            assert_invariants(root)
        # Once the faults are gone the last day completes, and a further rerun issues nothing.
        if last is not None:
            run(root, last, "ok", 0)
            done = issued_count(root)
            again = run(root, last, "ok", 0)
            assert again.issued == [] and issued_count(root) == done and again.exit_code == 0
            assert_invariants(root)
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
