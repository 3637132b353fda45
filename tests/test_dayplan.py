"""A day's plan and the day's re-check verdicts, without rendering anything."""

import csv
import io
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest

from letterforge.dayplan import plan_letters, recheck
from letterforge.ledger import LedgerLetter, open_ledger
from letterforge.records import LetterKind
from letterforge.validation import RejectedRow
from letterforge.workspace import Workspace

CLOCK = lambda: datetime(2026, 11, 25, 6, 30)  # noqa: E731
DAY = date(2026, 11, 25)


def planned(account_id: str, kind: LetterKind) -> LedgerLetter:
    return LedgerLetter(1, account_id, kind, "planned", DAY, "1", None, None, None, None, None, None, None, (), None,
                        None, None, None, None)


def day_plan_of(root: Path):
    workspace = Workspace.open(root)
    data = workspace.load_data()
    ledger = open_ledger(root, CLOCK)
    try:
        return workspace, data, plan_letters(workspace, data, ledger, DAY)
    finally:
        ledger.close()


@pytest.fixture
def root(copy_sample) -> Path:
    return copy_sample("property-zh")


def test_a_letter_still_due_passes_and_another_kind_due_cancels_it(root):
    workspace, data, day_plan = day_plan_of(root)
    account_id, decision = next((a, d) for a, d in sorted(day_plan.decisions.items()) if d.kind is not None)
    other = next(k for k in LetterKind if k is not decision.kind)
    verdicts = recheck(workspace.config, data, day_plan, [planned(account_id, decision.kind),
                                                          planned(account_id, other)], DAY)
    assert verdicts[0][1] is None
    assert verdicts[1][1] is not None and verdicts[1][1][0] == "cancel"
    assert f"a {decision.kind.value} letter is due instead" in verdicts[1][1][1]


def test_an_account_gone_from_the_data_cancels_its_letter(root):
    workspace, data, day_plan = day_plan_of(root)
    ((_, verdict),) = recheck(workspace.config, data, day_plan, [planned("NO-SUCH-ACCOUNT", LetterKind.REMINDER)], DAY)
    assert verdict == ("cancel", "the account is no longer in the data")


def test_a_paid_account_cancels_its_letter_with_the_reason(root):
    workspace, data, day_plan = day_plan_of(root)
    account_id, decision = next((a, d) for a, d in sorted(day_plan.decisions.items()) if d.kind is not None)
    path = root / "欠费明细.csv"
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("gbk"))))
    for row in rows[1:]:
        if row[0] == account_id:
            row[4] = row[3]  # paid in full
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_bytes(buffer.getvalue().encode("gbk"))
    workspace, data, today = day_plan_of(root)
    ((_, verdict),) = recheck(workspace.config, data, today, [planned(account_id, decision.kind)], DAY)
    assert verdict is not None and verdict[0] == "cancel" and verdict[1]


def test_an_account_with_rejected_rows_waits(root):
    workspace, data, day_plan = day_plan_of(root)
    account_id, decision = next((a, d) for a, d in sorted(day_plan.decisions.items()) if d.kind is not None)
    rejected = RejectedRow("arrears", "欠费明细.csv", 7, (), (), ("amount_due: not an amount",), account_id)
    data = replace(data, rejects=(rejected,))
    ((_, verdict),) = recheck(workspace.config, data, day_plan, [planned(account_id, decision.kind)], DAY)
    assert verdict is not None and verdict[0] == "skip"
