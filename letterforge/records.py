"""The immutable records that flow through the pipeline: accounts, arrears items, earlier letters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


class DebtorCategory(StrEnum):
    """Why a debtor has not paid; the tone and the offer of a letter depend on it."""

    FORGOT = "forgot"
    HARDSHIP = "hardship"
    DISPUTE = "dispute"
    WILFUL = "wilful"
    UNKNOWN = "unknown"


class LetterKind(StrEnum):
    """The three rungs of the collection ladder."""

    REMINDER = "reminder"
    DEMAND = "demand"
    LAWYER = "lawyer"


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str
    address: str
    unit: str = ""
    building: str = ""
    category: DebtorCategory = DebtorCategory.UNKNOWN
    language: str = ""
    phone: str = ""
    email: str = ""
    hold_reason: str = ""
    hold_until: date | None = None
    note: str = ""  # for a dispute: the complaint and where its handling stands
    source: str = ""

    def on_hold(self, as_of: date) -> bool:
        return bool(self.hold_reason) and (self.hold_until is None or as_of <= self.hold_until)


@dataclass(frozen=True)
class ArrearsItem:
    account_id: str
    period: str
    fee_item: str
    amount_due: Decimal
    amount_paid: Decimal
    due_date: date
    source: str = ""

    @property
    def outstanding(self) -> Decimal:
        return self.amount_due - self.amount_paid


@dataclass(frozen=True)
class PriorLetter:
    """A letter sent before letterforge kept the ledger; it counts for the escalation rules."""

    account_id: str
    kind: LetterKind
    issued_on: date
    reference: str = ""
    source: str = ""
