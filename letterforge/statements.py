"""Statements: what one account owes on an as-of date, item by item, with late fees and totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from letterforge.config import WorkspaceConfig
from letterforge.latefees import BaseRates, LateFee, compute_late_fee
from letterforge.money import capital_numerals
from letterforge.records import Account, ArrearsItem

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class StatementLine:
    item: ArrearsItem
    days_overdue: int
    late_fee: LateFee

    @property
    def outstanding(self) -> Decimal:
        return self.item.outstanding

    @property
    def total(self) -> Decimal:
        return self.item.outstanding + self.late_fee.amount + self.late_fee.compensation


@dataclass(frozen=True)
class FeeItemSubtotal:
    fee_item: str
    periods: int
    principal: Decimal
    late_fees: Decimal
    compensation: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.late_fees + self.compensation


@dataclass(frozen=True)
class Statement:
    account: Account
    as_of: date
    currency: str
    lines: tuple[StatementLine, ...]
    not_yet_due: Decimal

    @property
    def principal(self) -> Decimal:
        return sum((line.outstanding for line in self.lines), ZERO)

    @property
    def late_fees(self) -> Decimal:
        return sum((line.late_fee.amount for line in self.lines), ZERO)

    @property
    def compensation(self) -> Decimal:
        return sum((line.late_fee.compensation for line in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return self.principal + self.late_fees + self.compensation

    @property
    def total_in_capitals(self) -> str:
        """The total as 大写金额; empty for currencies other than renminbi."""
        return capital_numerals(self.total) if self.currency == "CNY" else ""

    @property
    def oldest_due_date(self) -> date | None:
        return min((line.item.due_date for line in self.lines), default=None)

    @property
    def months_in_arrears(self) -> int:
        """Distinct months with an unpaid overdue item."""
        return len({(line.item.due_date.year, line.item.due_date.month) for line in self.lines})

    def subtotals(self) -> tuple[FeeItemSubtotal, ...]:
        """Per fee item, in the order the items first appear."""
        order: dict[str, list[StatementLine]] = {}
        for line in self.lines:
            order.setdefault(line.item.fee_item, []).append(line)
        return tuple(
            FeeItemSubtotal(
                fee_item,
                len(lines),
                sum((line.outstanding for line in lines), ZERO),
                sum((line.late_fee.amount for line in lines), ZERO),
                sum((line.late_fee.compensation for line in lines), ZERO),
            )
            for fee_item, lines in order.items()
        )


def compute_statement(
    account: Account,
    items: tuple[ArrearsItem, ...],
    config: WorkspaceConfig,
    as_of: date,
    base_rates: BaseRates | None = None,
) -> Statement:
    """Every unpaid overdue item of the account on the as-of date, oldest first."""
    lines = []
    not_yet_due = ZERO
    for item in sorted(items, key=lambda i: (i.due_date, i.period, i.fee_item)):
        if item.account_id != account.account_id or item.outstanding <= 0:
            continue
        if item.due_date >= as_of:
            not_yet_due += item.outstanding
            continue
        late_fee = compute_late_fee(item, as_of, config.late_fee, base_rates)
        lines.append(StatementLine(item, (as_of - item.due_date).days, late_fee))
    return Statement(account, as_of, config.currency, tuple(lines), not_yet_due)
