"""Statements: what one account owes on an as-of date, item by item, with late fees and totals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property, lru_cache

from letterforge.config import WorkspaceConfig
from letterforge.diagnostics import UserError
from letterforge.latefees import BaseRates, LateFee, compute_late_fee
from letterforge.money import capital_numerals
from letterforge.records import Account, ArrearsItem
from letterforge.validation import DebtorData
from letterforge.workspace import Workspace

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)  # one per unpaid item of every account
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
    """What one account owes; its sums are worked out once (planning asks for them many times)."""

    account: Account
    as_of: date
    currency: str
    lines: tuple[StatementLine, ...]
    not_yet_due: Decimal

    @cached_property
    def principal(self) -> Decimal:
        return sum((line.outstanding for line in self.lines), ZERO)

    @cached_property
    def late_fees(self) -> Decimal:
        return sum((line.late_fee.amount for line in self.lines), ZERO)

    @cached_property
    def compensation(self) -> Decimal:
        return sum((line.late_fee.compensation for line in self.lines), ZERO)

    @cached_property
    def total(self) -> Decimal:
        return self.principal + self.late_fees + self.compensation

    @property
    def total_in_capitals(self) -> str:
        """The total as 大写金额; empty for currencies other than renminbi."""
        return capital_numerals(self.total) if self.currency == "CNY" else ""

    @cached_property
    def oldest_due_date(self) -> date | None:
        return min((line.item.due_date for line in self.lines), default=None)

    @cached_property
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


@dataclass(frozen=True)
class LimitationFlag:
    """An unpaid item whose limitation period may have run: for a person to decide, never for the letter."""

    item: ArrearsItem
    runs_from: date  # the due date, or the last letter sent after it
    ran_out_on: date
    years: int

    def explain(self) -> str:
        since = "" if self.runs_from == self.item.due_date else f", last letter {self.runs_from.isoformat()}"
        return (f"{self.item.period} {self.item.fee_item} (due {self.item.due_date.isoformat()}{since}): "
                f"{self.years}-year period ran out on {self.ran_out_on.isoformat()}")


def limitation_summary(flags: tuple[LimitationFlag, ...]) -> str:
    """One sentence for a person: which items may be time-barred, and why."""
    if not flags:
        return ""
    law = "Civil Code arts. 188, 195" if flags[0].years == 3 else "Limitation Act 1980 s. 5"
    return (f"Limitation ({law}): {len(flags)} item(s) older than {flags[0].years} years with no letter since may be "
            f"time-barred; a person should decide before they are claimed: {'; '.join(f.explain() for f in flags)}.")


def limitation_years(config: WorkspaceConfig) -> int:
    """Three years for Chinese claims (Civil Code art. 188); six for a simple contract debt in
    England and Wales (Limitation Act 1980 s. 5)."""
    return 6 if config.locale == "en-GB" else 3


@lru_cache(maxsize=4096)
def _years_after(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def limitation_flags(items: Iterable[ArrearsItem], letters: Iterable[date], as_of: date,
                     years: int = 3) -> tuple[LimitationFlag, ...]:
    """Unpaid items older than the limitation period with no letter since: the period runs from the
    due date and starts again with each letter sent after it (a demand interrupts it, art. 195)."""
    sent = sorted(letters)
    flags = []
    for item in sorted(items, key=lambda i: (i.due_date, i.period, i.fee_item)):
        if item.outstanding <= 0 or item.due_date >= as_of or _years_after(item.due_date, years) > as_of:
            continue  # not owed, not due yet, or too recent to have run out whatever the letters
        after = [day for day in sent if item.due_date <= day <= as_of]
        runs_from = after[-1] if after else item.due_date
        ran_out_on = _years_after(runs_from, years)
        if ran_out_on <= as_of:
            flags.append(LimitationFlag(item, runs_from, ran_out_on, years))
    return tuple(flags)


def require_accounts(data: DebtorData, account_ids: tuple[str, ...]) -> None:
    """Refuse account ids that are not in the data, saying where and why a rejected one was rejected."""
    unknown = [a for a in account_ids if data.account(a) is None]
    if unknown:
        rejected = {r.account_id: r for r in data.rejects if r.table == "accounts"}
        reasons = [f"{a} (its row was rejected: {rejected[a].file}:{rejected[a].row}: "
                   f"{'; '.join(rejected[a].reasons)})" if a in rejected else a for a in unknown]
        raise UserError(f"unknown account: {', '.join(reasons)}")


def compute_statements(
    workspace: Workspace, account_ids: tuple[str, ...], as_of: date, data: DebtorData | None = None
) -> list[Statement]:
    """Statements of the given accounts (all accounts when none are given) on the as-of date."""
    data = data or workspace.load_data()
    if account_ids:
        require_accounts(data, account_ids)
        accounts = [data.account(a) for a in account_ids]
    else:
        accounts = list(data.accounts)
    return [
        compute_statement(account, data.arrears_of(account.account_id), workspace.config, as_of,
                          workspace.base_rates)
        for account in accounts
        if account is not None
    ]
