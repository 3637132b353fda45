"""Issuing in the ledger: the plan kept, today's letters re-checked and reserved, a made letter
recorded only once its bytes are archived."""

import csv
import hashlib
import io
from datetime import date, datetime
from pathlib import Path

import pytest

from letterforge import archive as archive_module
from letterforge.dayplan import plan_letters
from letterforge.issuing import issue_letter, record_plan, reserve_due
from letterforge.ledger import open_ledger
from letterforge.outputs import letter_file, pending_file
from letterforge.workspace import Workspace

CLOCK = lambda: datetime(2026, 11, 25, 6, 30)  # noqa: E731
DAY = date(2026, 11, 25)


def pay_in_full(root: Path, account_id: str) -> None:
    path = root / "欠费明细.csv"
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("gbk"))))
    for row in rows[1:]:
        if row[0] == account_id:
            row[4] = row[3]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_bytes(buffer.getvalue().encode("gbk"))


@pytest.fixture
def root(copy_sample) -> Path:
    return copy_sample("property-zh")


def reserve_today(root: Path, pay: str = ""):
    workspace = Workspace.open(root)
    ledger = open_ledger(root, CLOCK)
    record_plan(ledger, plan_letters(workspace, workspace.load_data(), ledger, DAY))
    if pay:
        pay_in_full(root, pay)
    data = workspace.load_data()
    return workspace, data, ledger, reserve_due(workspace, data, ledger, plan_letters(workspace, data, ledger, DAY),
                                                DAY, root / "out", set())


def test_todays_letters_are_numbered_gapless_in_delivery_order(root):
    workspace, data, ledger, recheck = reserve_today(root)
    try:
        due = ledger.letters(status="planned", planned_until=DAY)
        assert recheck.reserved and not due and not recheck.cancelled
        order = {a.account_id: (a.building, a.address, a.account_id) for a in data.accounts}
        policy = workspace.config.policy
        for kind in {l.kind for l in recheck.reserved}:
            numbered = sorted((policy.reference_number(kind.value, DAY.year, l.reference), order[l.account_id])
                              for l in recheck.reserved if l.kind is kind)
            first = numbered[0][0]  # the series goes on from the numbers the history file used
            assert [n for n, _ in numbered] == list(range(first, first + len(numbered)))
            assert [key for _, key in numbered] == sorted(key for _, key in numbered)  # numbered in delivery order
    finally:
        ledger.close()


def test_a_letter_paid_since_it_was_planned_is_cancelled_with_the_reason(root):
    workspace = Workspace.open(root)
    ledger = open_ledger(root, CLOCK)
    try:
        first = plan_letters(workspace, workspace.load_data(), ledger, DAY).due_on(DAY)[0].account_id
    finally:
        ledger.close()
    _, _, ledger, recheck = reserve_today(root, pay=first)
    try:
        assert [l.account_id for l, _ in recheck.cancelled] == [first]
        assert first not in {l.account_id for l in recheck.reserved}
        assert ledger.letters(account_id=first)[0].status == "cancelled"
    finally:
        ledger.close()


def test_a_letter_is_recorded_as_issued_only_once_its_bytes_are_archived(root, monkeypatch):
    workspace, _, ledger, recheck = reserve_today(root)
    folder = root / "out" / DAY.isoformat()
    letter = recheck.reserved[0]
    content = b"%PDF-1.7 the letter"
    pending_file(folder, letter).parent.mkdir(parents=True)
    pending_file(folder, letter).write_bytes(content)
    facts = {"sha256": hashlib.sha256(content).hexdigest(), "deadline": DAY, "principal": 1, "late_fees": 0,
             "total": 1, "clauses": [], "snapshot": "{}"}

    def disk_full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    try:
        with monkeypatch.context() as patch:
            patch.setattr(archive_module, "write_atomic", disk_full)
            with pytest.raises(OSError):
                issue_letter(workspace, ledger, letter, folder, DAY, facts)
        assert ledger.letter(letter.reference).status == "reserved"
        pending_file(folder, letter).write_bytes(content)
        issued = issue_letter(workspace, ledger, letter, folder, DAY, facts)
        assert issued.status == "issued" and issued.pdf_sha256 == facts["sha256"]
        assert letter_file(folder, letter).read_bytes() == content and not pending_file(folder, letter).exists()
        assert archive_module.archived_file(root, issued).read_bytes() == content
    finally:
        ledger.close()
