from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from letterforge.config import LateFeeRule
from letterforge.latefees import (
    BaseRates,
    accrual_days,
    compute_late_fee,
    uk_compensation,
    uk_reference_date,
)
from letterforge.records import ArrearsItem

D = Decimal


def item(due: date, amount: str = "1000.00", paid: str = "0.00") -> ArrearsItem:
    return ArrearsItem("A1", "2026-01", "物业服务费", D(amount), D(paid), due)


DAILY = LateFeeRule(rule="daily_rate", rate=D("0.0003"))
RATES = BaseRates(((date(2023, 8, 3), D("5.25")), (date(2024, 8, 1), D("5.00")), (date(2024, 11, 7), D("4.75")),
                   (date(2025, 2, 6), D("4.50"))))
UK = LateFeeRule(rule="uk_late_payment", base_rates="base_rates.csv", margin=D("8"))


def test_daily_rate_counts_from_the_day_after_due_to_as_of_inclusive():
    fee = compute_late_fee(item(date(2026, 3, 5)), date(2026, 3, 6), DAILY)
    assert (fee.days, fee.amount, fee.accrues_from) == (1, D("0.30"), date(2026, 3, 6))


def test_nothing_accrues_on_or_before_due_date():
    assert compute_late_fee(item(date(2026, 3, 5)), date(2026, 3, 5), DAILY).amount == D("0.00")


def test_late_fee_over_month_end():
    # 31 January to 1 March 2026: 29 days (February 2026 has 28).
    fee = compute_late_fee(item(date(2026, 1, 31)), date(2026, 3, 1), DAILY)
    assert fee.days == 29 and fee.amount == D("8.70")


def test_late_fee_over_leap_february():
    fee = compute_late_fee(item(date(2028, 1, 31)), date(2028, 3, 1), DAILY)
    assert fee.days == 30 and fee.amount == D("9.00")


def test_grace_days_delay_the_start():
    rule = LateFeeRule(rule="daily_rate", rate=D("0.0003"), grace_days=10)
    fee = compute_late_fee(item(date(2026, 3, 5)), date(2026, 3, 20), rule)
    assert fee.accrues_from == date(2026, 3, 16) and fee.days == 5 and fee.amount == D("1.50")
    assert compute_late_fee(item(date(2026, 3, 5)), date(2026, 3, 15), rule).amount == D("0.00")


def test_start_date_of_the_rule_is_respected():
    rule = LateFeeRule(rule="daily_rate", rate=D("0.0003"), start_date=date(2026, 6, 1))
    starts, days = accrual_days(item(date(2026, 3, 5)), date(2026, 6, 10), rule)
    assert starts == date(2026, 6, 1) and days == 10


def test_cap_at_principal():
    rule = LateFeeRule(rule="daily_rate", rate=D("0.01"), cap="principal")
    fee = compute_late_fee(item(date(2025, 1, 5), "100.00"), date(2026, 3, 5), rule)
    assert fee.amount == D("100.00") and fee.capped


def test_cap_as_fraction_of_principal():
    rule = LateFeeRule(rule="daily_rate", rate=D("0.01"), cap="0.3")
    fee = compute_late_fee(item(date(2025, 1, 5), "333.33"), date(2026, 3, 5), rule)
    assert fee.amount == D("100.00") and fee.capped


def test_fee_is_on_outstanding_principal_after_partial_payment():
    fee = compute_late_fee(item(date(2026, 3, 5), "1000.00", "400.00"), date(2026, 3, 15), DAILY)
    assert fee.base == D("600.00") and fee.amount == D("1.80")


def test_rounding_half_up_at_the_end_not_per_day():
    # 1666.75 x 0.0003 = 0.500025: rounded once, with the rule's mode.
    fee = compute_late_fee(item(date(2026, 3, 5), "1666.75"), date(2026, 3, 6), DAILY)
    assert fee.amount == D("0.50")  # 0.500025 -> half-up 0.50
    up = LateFeeRule(rule="daily_rate", rate=D("0.0003"), rounding="up")
    assert compute_late_fee(item(date(2026, 3, 5), "1666.75"), date(2026, 3, 6), up).amount == D("0.51")


def test_annual_rate():
    rule = LateFeeRule(rule="annual_rate", rate=D("0.0365"))
    fee = compute_late_fee(item(date(2026, 3, 5)), date(2026, 3, 15), rule)
    assert fee.amount == D("1.00")


def test_uk_example_from_the_act():
    # £5,000 overdue 90 days at 12.25% (base 4.25 + 8) -> 5000 x 0.1225 x 90 / 365 = £151.03, plus £70.
    rates = BaseRates(((date(2025, 5, 8), D("4.25")),))
    debt = ArrearsItem("C1", "INV-1", "Goods", D("5000.00"), D("0.00"), date(2025, 7, 1))
    fee = compute_late_fee(debt, date(2025, 9, 29), UK, rates)
    assert (fee.days, fee.rate, fee.amount, fee.compensation) == (90, D("12.25"), D("151.03"), D("70"))


def test_uk_reference_rate_is_fixed_by_half_year():
    assert uk_reference_date(date(2025, 3, 1)) == date(2024, 12, 31)
    assert uk_reference_date(date(2025, 7, 1)) == date(2025, 6, 30)
    # Overdue from 1 March 2025: the rate on 31 Dec 2024 (4.75) applies, not the Feb 2025 cut.
    debt = ArrearsItem("C1", "INV-1", "Goods", D("1000.00"), D("0.00"), date(2025, 2, 28))
    assert compute_late_fee(debt, date(2025, 3, 10), UK, RATES).rate == D("12.75")


def test_uk_compensation_bands():
    assert uk_compensation(D("999.99")) == D("40")
    assert uk_compensation(D("1000.00")) == D("70")
    assert uk_compensation(D("9999.99")) == D("70")
    assert uk_compensation(D("10000.00")) == D("100")


def test_uk_no_compensation_before_overdue():
    debt = ArrearsItem("C1", "INV-1", "Goods", D("500.00"), D("0.00"), date(2025, 9, 1))
    assert compute_late_fee(debt, date(2025, 9, 1), UK, RATES).compensation == 0


@given(
    principal=st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2),
    days=st.integers(min_value=0, max_value=2000),
)
def test_capped_fee_never_exceeds_principal_and_grows_with_days(principal, days):
    rule = LateFeeRule(rule="daily_rate", rate=D("0.0005"), cap="principal")
    due = date(2024, 1, 1)
    debt = ArrearsItem("A", "p", "f", principal, D("0.00"), due)
    later = date.fromordinal(due.toordinal() + days)
    fee = compute_late_fee(debt, later, rule)
    assert D("0") <= fee.amount <= principal
    assert fee.amount == fee.amount.quantize(D("0.01"))
    next_day = compute_late_fee(debt, date.fromordinal(later.toordinal() + 1), rule)
    assert next_day.amount >= fee.amount
