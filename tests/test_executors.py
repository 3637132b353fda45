"""Executors: where the batch's letters are rendered, and the contract every executor keeps."""

from datetime import date, datetime
from pathlib import Path

from conftest import fake_pdf

from letterforge.pipeline import run_batch
from letterforge.executors import LocalExecutor, RenderTask, StopRequest
from letterforge.ledger import open_ledger
from letterforge.model import letter_from_snapshot
from letterforge.statements import compute_statements
from letterforge.records import LetterKind
from letterforge.workspace import Workspace

CLOCK = lambda: datetime(2026, 11, 25, 6, 30)  # noqa: E731
DAY = date(2026, 11, 25)


def owing(root: Path, count: int) -> list[str]:
    """Accounts that owe something on the day (a letter can be written to them)."""
    statements = compute_statements(Workspace.open(root), (), DAY)
    return [s.account.account_id for s in statements if s.lines][:count]


def tasks_for(root: Path, account_ids: list[str]) -> list[RenderTask]:
    return [RenderTask(n, account_id, LetterKind.REMINDER, f"T-{n}", DAY,
                       str(root / "pending" / f"{account_id}.pdf"), ())
            for n, account_id in enumerate(account_ids, 1)]


def test_one_job_renders_each_task_when_its_outcome_is_asked_for(copy_sample):
    root = copy_sample("property-zh")
    accounts = owing(root, 3)
    run = LocalExecutor(root, 1, fake_pdf).run(tasks_for(root, accounts), StopRequest())
    task, outcome = next(run)
    assert task.account_id == accounts[0] and not (root / "pending" / f"{accounts[0]}.pdf").exists()
    facts = outcome()
    written = (root / "pending" / f"{accounts[0]}.pdf").read_bytes()
    assert written.startswith(b"%PDF") and facts["sha256"] and letter_from_snapshot(facts["snapshot"]).letter.reference == "T-1"
    assert [t.account_id for t, _ in run] == accounts[1:]


def test_no_task_starts_once_a_stop_is_requested(copy_sample):
    root = copy_sample("property-zh")
    accounts = owing(root, 4)
    stop = StopRequest()
    seen = []
    for task, outcome in LocalExecutor(root, 1, fake_pdf).run(tasks_for(root, accounts), stop):
        outcome()
        seen.append(task.account_id)
        stop.reason = "the disk is full"
    assert seen == accounts[:1]


def test_a_failed_task_raises_from_its_outcome_and_the_others_go_on(copy_sample):
    root = copy_sample("property-zh")
    accounts = owing(root, 2)
    tasks = tasks_for(root, ["NO-SUCH-ACCOUNT", *accounts])
    results = {}
    for task, outcome in LocalExecutor(root, 1, fake_pdf).run(tasks, StopRequest()):
        try:
            results[task.account_id] = outcome()["sha256"]
        except Exception as error:  # noqa: BLE001 - the test looks at what the executor passed on
            results[task.account_id] = f"error: {error}"
    assert results["NO-SUCH-ACCOUNT"].startswith("error: unknown account")
    assert all(len(results[a]) == 64 for a in accounts)


def test_worker_processes_keep_at_most_two_letters_each_in_hand(copy_sample):
    root = copy_sample("property-zh")
    accounts = owing(root, 6)
    tasks = tasks_for(root, accounts)
    consumed = []

    def handed_out():
        for task in tasks:
            consumed.append(task.letter_id)
            yield task

    run = LocalExecutor(root, 2, fake_pdf).run(handed_out(), StopRequest())
    first, outcome = next(run)
    assert len(consumed) == 4  # 2 × jobs handed out before the first one finished
    outcome()
    rest = [(task, outcome()) for task, outcome in run]
    assert sorted(t.letter_id for t, _ in rest) == sorted(set(range(1, 7)) - {first.letter_id})


class Recording:
    """An executor of its own, as another machine's pool would be: the batch uses what it is given."""

    def __init__(self, root: Path) -> None:
        self.local = LocalExecutor(root, 1, fake_pdf)
        self.seen: list[str] = []

    def run(self, tasks, stop, data=None):
        for task, outcome in self.local.run(tasks, stop, data):
            self.seen.append(task.reference)
            yield task, outcome


def test_the_batch_renders_through_the_executor_it_is_given(copy_sample):
    root = copy_sample("property-zh")
    executor = Recording(root)
    report = run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, executor=executor)
    assert report.ok and report.issued
    assert sorted(executor.seen) == sorted(l.reference for l in report.issued)
    ledger = open_ledger(root, CLOCK)
    try:
        assert ledger.letters(status="reserved") == []
    finally:
        ledger.close()
