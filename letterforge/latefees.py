"""Late-fee rules (滞纳金 at a daily or annual rate; UK statutory interest and compensation), by name."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from letterforge.config import LateFeeRule
from letterforge.diagnostics import Diagnostic, UserError
from letterforge.money import AmountError, parse_amount, round_money
from letterforge.readers import ReadError, read_table
from letterforge.records import ArrearsItem
from letterforge.validation import FieldError, parse_date

DAYS_IN_YEAR = Decimal(365)
# Late Payment of Commercial Debts (Interest) Act 1998, s.5A: fixed sum per debt.
UK_COMPENSATION_BANDS = ((Decimal("1000"), Decimal("40")), (Decimal("10000"), Decimal("70")))
UK_COMPENSATION_TOP = Decimal("100")


@dataclass(frozen=True)
class BaseRates:
    """Bank of England base-rate changes: (effective from, percent a year), sorted."""

    changes: tuple[tuple[date, Decimal], ...]

    def in_force_on(self, day: date) -> Decimal:
        index = bisect_right([start for start, _ in self.changes], day)
        if index == 0:
            raise UserError(f"no base rate in force on {day.isoformat()}: the base-rate table starts "
                            f"on {self.changes[0][0].isoformat()}")
        return self.changes[index - 1][1]


@dataclass(frozen=True, slots=True)  # one per unpaid item of every account
class LateFee:
    """The late fee of one item and how it was computed, so a letter can show its working."""

    amount: Decimal
    days: int
    base: Decimal
    rate: Decimal
    rate_basis: str  # "daily" (fraction a day), "annual" (fraction a year) or "statutory" (percent a year)
    accrues_from: date | None
    capped: bool = False
    compensation: Decimal = Decimal("0.00")


NO_LATE_FEE = LateFee(Decimal("0.00"), 0, Decimal("0.00"), Decimal("0"), "none", None)

LateFeeFunction = Callable[[ArrearsItem, date, LateFeeRule, "BaseRates | None"], LateFee]
LATE_FEE_RULES: dict[str, LateFeeFunction] = {}


def late_fee_rule(name: str) -> Callable[[LateFeeFunction], LateFeeFunction]:
    def register(function: LateFeeFunction) -> LateFeeFunction:
        LATE_FEE_RULES[name] = function
        return function

    return register


def accrual_days(item: ArrearsItem, as_of: date, rule: LateFeeRule) -> tuple[date, int]:
    """First day a late fee accrues, and the number of days from then to the as-of date inclusive."""
    starts = item.due_date + timedelta(days=rule.grace_days + 1)
    if rule.start_date is not None and rule.start_date > starts:
        starts = rule.start_date
    return starts, max(0, (as_of - starts).days + 1)


def _capped(fee: Decimal, principal: Decimal, rule: LateFeeRule) -> tuple[Decimal, bool]:
    if rule.cap == "none":
        return fee, False
    limit = principal if rule.cap == "principal" else round_money(principal * Decimal(rule.cap), rule.rounding)
    return (limit, True) if fee > limit else (fee, False)


@late_fee_rule("none")
def _no_late_fee(item: ArrearsItem, as_of: date, rule: LateFeeRule, rates: BaseRates | None) -> LateFee:
    return NO_LATE_FEE


@late_fee_rule("daily_rate")
def _daily_rate(item: ArrearsItem, as_of: date, rule: LateFeeRule, rates: BaseRates | None) -> LateFee:
    starts, days = accrual_days(item, as_of, rule)
    principal = item.outstanding
    fee, capped = _capped(round_money(principal * rule.rate * days, rule.rounding), principal, rule)
    return LateFee(fee, days, principal, rule.rate, "daily", starts, capped)


@late_fee_rule("annual_rate")
def _annual_rate(item: ArrearsItem, as_of: date, rule: LateFeeRule, rates: BaseRates | None) -> LateFee:
    starts, days = accrual_days(item, as_of, rule)
    principal = item.outstanding
    fee, capped = _capped(round_money(principal * rule.rate * days / DAYS_IN_YEAR, rule.rounding), principal, rule)
    return LateFee(fee, days, principal, rule.rate, "annual", starts, capped)


def uk_reference_date(overdue_from: date) -> date:
    """The Act fixes the rate by the base rate on 31 December (for debts falling overdue in
    January to June) or on 30 June (July to December)."""
    if overdue_from.month <= 6:
        return date(overdue_from.year - 1, 12, 31)
    return date(overdue_from.year, 6, 30)


def uk_compensation(debt: Decimal) -> Decimal:
    for below, amount in UK_COMPENSATION_BANDS:
        if debt < below:
            return amount
    return UK_COMPENSATION_TOP


@late_fee_rule("uk_late_payment")
def _uk_late_payment(item: ArrearsItem, as_of: date, rule: LateFeeRule, rates: BaseRates | None) -> LateFee:
    if rates is None:
        raise UserError("late_fee.base_rates: the UK rule needs the base-rate table")
    starts, days = accrual_days(item, as_of, rule)
    principal = item.outstanding
    percent = rates.in_force_on(uk_reference_date(item.due_date + timedelta(days=1))) + rule.margin
    interest = round_money(principal * percent / 100 * days / DAYS_IN_YEAR, rule.rounding)
    interest, capped = _capped(interest, principal, rule)
    compensation = uk_compensation(principal) if rule.compensation and days > 0 else Decimal("0.00")
    return LateFee(interest, days, principal, percent, "statutory", starts, capped, round_money(compensation))


def compute_late_fee(item: ArrearsItem, as_of: date, rule: LateFeeRule, rates: BaseRates | None = None) -> LateFee:
    """The late fee of one unpaid item on the as-of date, under the workspace's rule."""
    return LATE_FEE_RULES[rule.rule](item, as_of, rule, rates)


def load_base_rates(path: Path) -> BaseRates:
    """Read the base-rate table (columns effective_from, rate in percent)."""
    try:
        table = read_table(path)
    except ReadError as error:
        raise UserError(f"late_fee.base_rates: {error}") from None
    headers = [h.lower() for h in table.headers]
    if "effective_from" not in headers or "rate" not in headers:
        raise UserError(f"{path}:1: the base-rate table needs the columns effective_from and rate")
    start_at, rate_at = headers.index("effective_from"), headers.index("rate")
    changes: list[tuple[date, Decimal]] = []
    problems: list[Diagnostic] = []
    for number, cells in table.rows:
        try:
            changes.append((parse_date(cells[start_at]), parse_amount(cells[rate_at])))
        except (FieldError, AmountError) as error:
            problems.append(Diagnostic(str(path), number, None, "invalid", str(error)))
    if problems or not changes:
        lines = "\n".join(str(p) for p in problems) or f"{path}: no base rates"
        raise UserError(f"the base-rate table cannot be used:\n{lines}", tuple(problems))
    return BaseRates(tuple(sorted(changes)))
