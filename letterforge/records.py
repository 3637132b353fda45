"""The immutable records that flow through the pipeline: accounts, arrears items, earlier letters."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
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


class DebtorType(StrEnum):
    """Who the debtor is in law: it decides how a letter addresses them and, in England and Wales,
    whether the Pre-Action Protocol for Debt Claims applies (individuals and sole traders only)."""

    INDIVIDUAL = "individual"
    SOLE_TRADER = "sole_trader"
    COMPANY = "company"
    UNKNOWN = "unknown"


# The Pre-Action Protocol for Debt Claims covers a business claiming from an individual, a sole
# trader included; a debtor of unknown type is treated as one: sending its enclosures to a company
# costs nothing, leaving them out of a letter to an individual exposes the creditor to the court's
# sanctions.
PROTOCOL_DEBTOR_TYPES: tuple[DebtorType, ...] = (DebtorType.INDIVIDUAL, DebtorType.SOLE_TRADER, DebtorType.UNKNOWN)


class LetterKind(StrEnum):
    """The three rungs of the collection ladder (each defined in kinds.KINDS)."""

    REMINDER = "reminder"
    DEMAND = "demand"
    LAWYER = "lawyer"


class CreditorType(StrEnum):
    """Whose letters a workspace writes: it chooses the clause library's folder and its wording."""

    PROPERTY = "property"
    WATER = "water"
    RECEIVABLES = "receivables"


class LetterStatus(StrEnum):
    """Where a letter stands in the ledger: planned, then a number reserved, then issued (and after
    that delivered or returned); a planned or reserved letter can be cancelled (a reserved one is voided)."""

    PLANNED = "planned"
    RESERVED = "reserved"
    ISSUED = "issued"
    CANCELLED = "cancelled"
    DELIVERED = "delivered"
    RETURNED = "returned"

    @property
    def sent(self) -> bool:
        """Whether the letter went out (it counts for the ladder and has its bytes in the archive)."""
        return self in (LetterStatus.ISSUED, LetterStatus.DELIVERED, LetterStatus.RETURNED)


class SendStatus(StrEnum):
    """Where one message that carries a letter (an e-mail, a text) stands in the ledger's sends.
    "sending" is recorded (with the message's id and the SHA-256 of its bytes) before the provider
    is asked; then "sent" (accepted, with its answer), "deferred" (a temporary refusal: tried again
    on the next run), "failed" (a permanent refusal: never retried by itself), "unknown" (the
    connection broke after the message was handed over: not sent again without --resend) or, later,
    "returned" (a bounce or a delivery failure report). The values are what the ledger stores."""

    SENDING = "sending"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    UNKNOWN = "unknown"
    RETURNED = "returned"


@dataclass(frozen=True, slots=True)  # slots: a month-end day holds hundreds of thousands
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
    debtor_type: DebtorType = DebtorType.UNKNOWN
    title: str = ""  # Mr, Mrs, Ms, Dr, 先生, 女士 ...: with the surname, the letter writes "Dear Mr Okafor"
    surname: str = ""
    email_consent: bool = False  # the debtor agreed to receive letters by e-mail (同意电子送达)
    sms_consent: bool = False  # ... and notices by SMS
    source: str = ""

    def __post_init__(self) -> None:
        # Records rebuilt from a ledger snapshot carry the type as its string value.
        if not isinstance(self.debtor_type, DebtorType):
            object.__setattr__(self, "debtor_type", DebtorType(self.debtor_type or DebtorType.UNKNOWN))
        for consent in ("email_consent", "sms_consent"):  # a snapshot keeps them as "True" / "False"
            if isinstance(getattr(self, consent), str):
                object.__setattr__(self, consent, getattr(self, consent) == "True")

    def on_hold(self, as_of: date) -> bool:
        return bool(self.hold_reason) and (self.hold_until is None or as_of <= self.hold_until)


@dataclass(frozen=True, slots=True)  # slots: a big day holds millions of them
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
        due, paid = self.amount_due, self.amount_paid
        # Nothing paid (most items): the amount due itself, which the difference would equal digit
        # for digit, rather than a new copy kept by each late fee (a tenth of planning's memory).
        if paid.is_zero() and due.same_quantum(paid):
            return due
        return due - paid


@dataclass(frozen=True, slots=True)
class PriorLetter:
    """A letter sent before letterforge kept the ledger; it counts for the escalation rules."""

    account_id: str
    kind: LetterKind
    issued_on: date
    reference: str = ""
    source: str = ""


@contextmanager
def collection_paused() -> Iterator[None]:
    """Python's cycle collector paused (as a `with` block or a decorator): loading and planning
    make millions of small records and no reference cycles, and the collector would scan them
    again and again, a share of the time that grows with the data (two fifths at 100,000
    accounts). Reference counting still frees everything as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def lasting_imports() -> Iterator[None]:
    """Modules imported in the block live as long as the process: the collector is paused while
    they load (an import makes thousands of objects and no garbage) and what the process holds
    then is frozen (gc.freeze), so that no later collection scans it again: a one-letter render
    spent 0.09 CPU-seconds in collections among its own modules and WeasyPrint's, and takes 0.15 s
    less with them frozen (benchmarks/startup.py). Reference counting still frees a frozen object
    that is let go."""
    with collection_paused():
        yield
    gc.freeze()
