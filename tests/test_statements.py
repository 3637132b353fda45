"""Statements: the limitation flag on items older than the limitation period with no letter since."""

import json
from datetime import date
from decimal import Decimal

from click.testing import CliRunner

from letterforge.dayplan import explain, plan_letters
from letterforge.outputs import limitation_notes
from letterforge.cli import cli
from letterforge.ledger import read_ledger
from letterforge.records import ArrearsItem
from letterforge.statements import limitation_flags
from letterforge.workspace import Workspace

from conftest import SAMPLES

AS_OF = date(2026, 11, 25)


def item(due: date, outstanding: str = "100.00") -> ArrearsItem:
    return ArrearsItem("A1", f"{due:%Y-%m}", "物业服务费", Decimal(outstanding), Decimal("0.00"), due)


def test_an_item_is_flagged_three_years_after_its_due_date_or_its_last_letter():
    old, recent = item(date(2023, 5, 5)), item(date(2024, 5, 5))
    flags = limitation_flags([old, recent], [], AS_OF)
    assert [f.item for f in flags] == [old] and flags[0].ran_out_on == date(2026, 5, 5)
    # A letter after the due date starts the period again (Civil Code art. 195) ...
    assert limitation_flags([old], [date(2024, 1, 10)], AS_OF) == ()
    # ... a letter before it does not, and neither does one after the as-of date.
    assert len(limitation_flags([old], [date(2023, 1, 10), date(2026, 12, 1)], AS_OF)) == 1
    # On the day the period runs out the item is flagged; the day before it is not.
    assert limitation_flags([old], [], date(2026, 5, 4)) == ()
    assert len(limitation_flags([old], [], date(2026, 5, 5))) == 1
    # Paid items and six-year periods (England and Wales).
    assert limitation_flags([item(date(2023, 5, 5), "0.00")], [], AS_OF) == ()
    assert limitation_flags([old], [], AS_OF, years=6) == ()


def test_a_29_february_due_date():
    flags = limitation_flags([item(date(2024, 2, 29))], [], date(2027, 2, 28))
    assert flags and flags[0].ran_out_on == date(2027, 2, 28)


def test_statement_shows_the_flag_in_text_and_json():
    result = CliRunner().invoke(cli, ["statement", "JX-6-0601", "--as-of", "2026-11-25", "-w",
                                      str(SAMPLES / "property-zh")])
    assert result.exit_code == 0, result.output
    assert "Limitation (Civil Code arts. 188, 195): 18 item(s) older than 3 years with no letter since" in result.output
    assert "2023-05 物业服务费 (due 2023-05-05): 3-year period ran out on 2026-05-05" in result.output
    data = json.loads(CliRunner().invoke(cli, ["statement", "JX-6-0601", "JX-1-0201", "--as-of", "2026-11-25",
                                                "--format", "json", "-w", str(SAMPLES / "property-zh")]).stdout)
    assert len(data[0]["limitation"]) == 18 and data[1]["limitation"] == []
    assert data[0]["limitation"][0] == {"period": "2023-03", "fee_item": "公共能耗分摊", "due_date": "2023-03-05",
                                        "runs_from": "2023-04-12", "ran_out_on": "2026-04-12", "years": 3}


def test_plan_explain_and_the_follow_up_list_carry_the_flag():
    workspace = Workspace.open(SAMPLES / "water-zh")
    data = workspace.load_data()
    ledger = read_ledger(workspace.path)
    try:
        day_plan = plan_letters(workspace, data, ledger, AS_OF)
    finally:
        ledger.close()
    assert "Limitation (Civil Code arts. 188, 195): 4 item(s)" in explain(day_plan, "04000105")
    assert "Limitation" not in explain(day_plan, "01000619")

    class Issued:
        def __init__(self, account_id: str) -> None:
            self.account_id, self.issued_on = account_id, AS_OF

    class NoLedger:
        def letters(self):
            return []

    notes = limitation_notes(NoLedger(), [Issued("04000105"), Issued("01000619")], data, 3)  # type: ignore[arg-type]
    assert list(notes) == ["04000105"] and "2023年第2季度 水费 (due 2023-07-25, last letter 2023-08-10)" in notes["04000105"]
