"""Statements: the limitation flag on items older than the limitation period with no letter since."""

import json
from datetime import date, timedelta
from decimal import Decimal

from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

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


# -- compute_statement: an account's items in, its statement out -------------------------------

def statement_config(extra: str = ""):
    from letterforge.config import parse_config
    from test_config import MINIMAL

    return parse_config(MINIMAL + extra)


def arrears(account_id: str, period: str, fee_item: str, due: str, paid: str, due_on: date) -> ArrearsItem:
    return ArrearsItem(account_id=account_id, period=period, fee_item=fee_item, amount_due=Decimal(due),
                       amount_paid=Decimal(paid), due_date=due_on)


def test_compute_statement_keeps_the_accounts_unpaid_overdue_items_oldest_first_with_their_late_fees():
    from letterforge.records import Account
    from letterforge.statements import compute_statement

    account = Account(account_id="A1", name="张三", address="某路1号")
    items = (
        arrears("A1", "2026-10", "物业服务费", "300.00", "100.00", date(2026, 10, 5)),  # part paid
        arrears("A1", "2026-09", "物业服务费", "300.00", "0.00", date(2026, 9, 5)),
        arrears("A1", "2026-09", "公共能耗分摊", "20.50", "0.00", date(2026, 9, 5)),
        arrears("A1", "2026-08", "物业服务费", "300.00", "300.00", date(2026, 8, 5)),  # paid: left out
        arrears("A2", "2026-09", "物业服务费", "999.00", "0.00", date(2026, 9, 5)),  # another account
        arrears("A1", "2026-11", "物业服务费", "300.00", "0.00", date(2026, 11, 25)),  # due today: not overdue
        arrears("A1", "2026-12", "物业服务费", "300.00", "50.00", date(2026, 12, 5)),
    )
    statement = compute_statement(account, items, statement_config(), AS_OF)
    assert [(l.item.period, l.item.fee_item) for l in statement.lines] == [
        ("2026-09", "公共能耗分摊"), ("2026-09", "物业服务费"), ("2026-10", "物业服务费")]
    assert [l.days_overdue for l in statement.lines] == [81, 81, 51]
    # 0.03 % a day from the day after the due date to the as-of date inclusive, on what is unpaid.
    assert [l.late_fee.days for l in statement.lines] == [81, 81, 51]
    assert [l.late_fee.amount for l in statement.lines] == [Decimal("0.50"), Decimal("7.29"), Decimal("3.06")]
    assert statement.lines[2].outstanding == Decimal("200.00") and statement.lines[2].total == Decimal("203.06")
    assert statement.principal == Decimal("520.50") and statement.late_fees == Decimal("10.85")
    assert statement.total == Decimal("531.35") and statement.total_in_capitals == "人民币伍佰叁拾壹元叁角伍分"
    assert statement.not_yet_due == Decimal("550.00")
    assert statement.oldest_due_date == date(2026, 9, 5) and statement.months_in_arrears == 2
    assert [(s.fee_item, s.periods, s.principal, s.late_fees) for s in statement.subtotals()] == [
        ("公共能耗分摊", 1, Decimal("20.50"), Decimal("0.50")), ("物业服务费", 2, Decimal("500.00"), Decimal("10.35"))]
    # The order of the items given does not matter.
    assert compute_statement(account, items[::-1], statement_config(), AS_OF) == statement


def test_compute_statement_caps_the_late_fee_and_an_account_with_nothing_overdue_owes_nothing():
    from letterforge.records import Account
    from letterforge.statements import compute_statement

    account = Account(account_id="A1", name="张三", address="某路1号")
    old = (arrears("A1", "2010-01", "物业服务费", "100.00", "0.00", date(2010, 1, 5)),)  # 0.03 % for 16 years
    (line,) = compute_statement(account, old, statement_config(), AS_OF).lines
    assert line.late_fee.capped and line.late_fee.amount == Decimal("100.00")  # cap = "principal"
    nothing = compute_statement(account, (), statement_config(), AS_OF)
    assert nothing.lines == () and nothing.total == Decimal("0.00") and nothing.oldest_due_date is None
    assert nothing.months_in_arrears == 0 and nothing.subtotals() == ()


def test_compute_statement_in_pounds_has_no_capital_numerals():
    from letterforge.records import Account
    from letterforge.statements import compute_statement

    config = statement_config().model_copy(update={"currency": "GBP"})
    account = Account(account_id="A1", name="Acme Ltd", address="1 High Street")
    statement = compute_statement(account, (arrears("A1", "INV-1", "invoice", "14.20", "0", date(2026, 10, 1)),),
                                  config, AS_OF)
    assert statement.currency == "GBP" and statement.total_in_capitals == ""


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-400, 400), st.integers(0, 100_000), st.integers(0, 100_000),
                          st.sampled_from(["A1", "A2"])), max_size=12))
def test_compute_statement_accounts_for_every_unpaid_item_once(specs):
    from letterforge.records import Account
    from letterforge.statements import compute_statement

    items = tuple(arrears(owner, f"P{n}", "fee", f"{due / 100:.2f}", f"{paid / 100:.2f}",
                          AS_OF + timedelta(days=offset))
                  for n, (offset, due, paid, owner) in enumerate(specs))
    statement = compute_statement(Account(account_id="A1", name="x", address="y"), items, statement_config(), AS_OF)
    owed = sum((i.outstanding for i in items if i.account_id == "A1" and i.outstanding > 0), Decimal("0.00"))
    assert statement.principal + statement.not_yet_due == owed
    assert statement.total == statement.principal + statement.late_fees + statement.compensation
    assert all(l.item.due_date < AS_OF and l.outstanding > 0 and l.late_fee.amount <= l.outstanding
               for l in statement.lines)
    assert [l.item.due_date for l in statement.lines] == sorted(l.item.due_date for l in statement.lines)


_CENTS = st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False, allow_infinity=False)


@given(_CENTS, _CENTS, st.sampled_from(["0", "0.00", "0.0000", "0E+2"]), st.sampled_from(["", ".0", ".000"]))
@settings(max_examples=500)
def test_outstanding_is_the_difference_to_the_digit(due: Decimal, paid: Decimal, zero: str, widen: str):
    """What is still owed is the amount due less the amount paid, digit for digit and exponent for
    exponent (a letter prints it); when nothing was paid it is the amount due itself, not a copy
    of it for each of the many askers (planning keeps one per unpaid item)."""
    for amount_due, amount_paid in ((due, paid), (due, Decimal(zero)), (Decimal(f"{int(due)}{widen}"), Decimal(zero))):
        record = ArrearsItem("A1", "2026-01", "物业服务费", amount_due, amount_paid, date(2026, 1, 5))
        assert record.outstanding.as_tuple() == (amount_due - amount_paid).as_tuple()
        if amount_paid.is_zero() and amount_paid.as_tuple().exponent == amount_due.as_tuple().exponent:
            assert record.outstanding is amount_due


def test_a_statement_survives_pickling_with_its_sums_worked_out():
    """Statements, their lines and late fees are slotted records; they still travel to a render
    worker (pickle) and come back equal, the sums already worked out included."""
    import pickle

    from letterforge.statements import compute_statements

    workspace = Workspace.open(SAMPLES / "property-zh")
    statements = compute_statements(workspace, (), AS_OF, workspace.load_data())
    owing = [s for s in statements if s.lines]
    assert owing and all(s.total > 0 for s in owing)  # the sums, cached before the trip
    back = pickle.loads(pickle.dumps(owing))
    assert back == owing
    assert [s.total for s in back] == [s.total for s in owing]
    assert [line.late_fee for s in back for line in s.lines] == [line.late_fee for s in owing for line in s.lines]
