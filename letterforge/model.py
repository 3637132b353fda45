"""The letter as data: frozen, typed models of everything one letter says (who writes to whom,
what is owed, the offers, how to pay, which clause versions), the variables clauses may use
derived from them, and the letter's JSON snapshot that the ledger keeps for reprints."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

from letterforge.config import BankTransfer, Counter, Creditor, LawFirm
from letterforge.diagnostics import UserError
from letterforge.records import Account, DebtorCategory, DebtorType, LetterKind


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LetterHeading(_Frozen):
    """The letter itself: its kind, reference, dates and language."""

    kind: LetterKind
    reference: str
    issued_on: date
    deadline: date
    reply_days: int
    locale: str


class Debtor(_Frozen):
    """The debtor as the letter names and addresses them."""

    account_id: str
    name: str
    address: str
    unit: str
    building: str
    note: str
    premises: str  # the building and unit, or the address when the data has neither
    category: DebtorCategory
    type: DebtorType
    title: str
    surname: str
    # How the debtor can be reached, as on the day of the letter: the e-mail that carries it goes by
    # these (delivery.route_letter), read back from the snapshot.
    language: str = ""
    phone: str = ""
    email: str = ""
    email_consent: bool = False
    sms_consent: bool = False

    def as_account(self) -> Account:
        """The debtor as an account record (what delivery routing reads)."""
        return Account(account_id=self.account_id, name=self.name, address=self.address, unit=self.unit,
                       building=self.building, category=self.category, language=self.language, phone=self.phone,
                       email=self.email, note=self.note, debtor_type=self.type, title=self.title,
                       surname=self.surname, email_consent=self.email_consent, sms_consent=self.sms_consent)


class PreActionProtocol(_Frozen):
    """England and Wales: the Pre-Action Protocol for Debt Claims' reply period (lawyer's letters
    to individuals and sole traders)."""

    reply_days: int
    reply_by: date


class StatementLine(_Frozen):
    """One unpaid item, with its late fee and how it was computed."""

    period: str
    fee_item: str
    amount_due: Decimal
    amount_paid: Decimal
    outstanding: Decimal
    due_date: date
    days_overdue: int
    late_fee: Decimal
    late_fee_days: int
    late_fee_rate: Decimal
    late_fee_basis: str
    late_fee_from: date | None
    late_fee_capped: bool
    compensation: Decimal
    total: Decimal


class FeeItemSubtotal(_Frozen):
    fee_item: str
    periods: int
    principal: Decimal
    late_fees: Decimal
    compensation: Decimal
    total: Decimal


class LetterStatement(_Frozen):
    """What is owed, as the letter shows it (statements.Statement on the letter's date)."""

    as_of: date
    lines: tuple[StatementLine, ...]
    subtotals: tuple[FeeItemSubtotal, ...]
    principal: Decimal
    late_fees: Decimal
    compensation: Decimal
    total: Decimal
    periods: int  # the number of unpaid items
    first_period: str
    last_period: str
    months_in_arrears: int
    oldest_due_date: date | None
    billing: str  # monthly, bimonthly, quarterly or other
    period_span: str  # 2026年1月至3月, January to March 2026
    period_count: str


class LateFeeTerms(_Frozen):
    rule: str
    rate_text: str  # 每日万分之三, 0.05% a day
    cap_text: str  # empty when there is no cap
    grace_days: int


class Waiver(_Frozen):
    offered: bool
    amount: Decimal
    pay_by: date
    total_after: Decimal


class Instalments(_Frozen):
    offered: bool
    months: int
    first_amount: Decimal


class Offers(_Frozen):
    """What the letter offers, in proportion to the debt: a plan only above a minimum total and
    a minimum instalment, a waiver only of a late fee actually charged."""

    waiver_offered: bool
    waived: Decimal
    instalments_offered: bool
    months: int
    first_amount: Decimal


class OnlinePayment(_Frozen):
    url: str  # the debtor's own payment page
    label: str
    qr: str  # the URL as an inline SVG QR code (a data: URI), so rendering fetches nothing


class Payment(_Frozen):
    bank_transfer: BankTransfer | None
    counter: Counter | None
    online: OnlinePayment | None
    reference_to_quote: str


class ClauseVersion(_Frozen):
    """A clause the letter carries: the ledger and the manifest name it, a reprint finds its text by it."""

    id: str
    version: str
    sha256: str
    slot: str

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"


class Letter(_Frozen):
    """Everything one letter says, before it is laid out in any format. Templates and clauses see
    these fields by the same names (`debtor.name`, `statement.total`, `letter.deadline`)."""

    letter: LetterHeading
    creditor: Creditor
    law_firm: LawFirm | None  # a lawyer's letter only
    debtor: Debtor
    salutation: str
    closing: str
    pre_action_protocol: PreActionProtocol | None
    statement: LetterStatement
    total: Decimal
    total_capitals: str  # 大写金额; empty for currencies other than renminbi
    currency: str
    late_fee: LateFeeTerms
    waiver: Waiver
    instalments: Instalments
    demands_sent: int  # demand letters to the account before this one
    demands_sent_text: str
    previous_demand_date: date | None
    reminders_sent: int
    previous_reminder_date: date | None
    letters_sent: int  # letters of every kind before this one
    letters_sent_text: str
    previous_letter_date: date | None
    payment: Payment
    signatory: str
    return_slip: bool
    clause_versions: tuple[ClauseVersion, ...] = ()
    draft_watermark: bool = False  # a draft clause is in the letter: it is marked 草稿/DRAFT

    def template_context(self) -> dict[str, Any]:
        """The letter as the sandboxed templates and clauses read it: plain dicts, lists and values
        (Decimal amounts, dates), no objects with methods."""
        return self.model_dump()


# Fields of the letter that are not clause variables: the renderer's bookkeeping, values that are
# structures rather than words (a clause names their parts), and the debtor's consents, which
# decide how the letter travels and are not for a clause to print.
_NOT_CLAUSE_VARIABLES = frozenset({"clause_versions", "draft_watermark", "payment.online.qr", "debtor.email_consent",
                                   "debtor.sms_consent"})


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (also when it may be None), or None for a value or a list."""
    if get_origin(annotation) in (Union, UnionType):
        options = [a for a in get_args(annotation) if a is not NoneType]
        annotation = options[0] if len(options) == 1 else None
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _value_fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    """The dotted paths of a model's fields that hold one value, through the models it holds."""
    names = []
    for name, field in model.model_fields.items():
        dotted = prefix + name
        inner = _model_of(field.annotation)
        if dotted in _NOT_CLAUSE_VARIABLES or get_origin(field.annotation) in (tuple, list):
            continue
        names.extend(_value_fields(inner, dotted + ".") if inner is not None else [dotted])
    return names


# Every variable a clause text may name: the letter's fields that hold one value, by dotted path
# (`debtor.name`, `statement.total`). A clause naming anything else fails `letterforge clauses check`.
CLAUSE_VARIABLES = frozenset(_value_fields(Letter))


def snapshot_of(letter: Letter) -> str:
    """The letter as the ledger keeps it for `reprint --rerender`: its JSON, amounts as exact
    decimal strings, dates as ISO dates."""
    return letter.model_dump_json()


def letter_from_snapshot(text: str, where: str = "the snapshot") -> Letter:
    """The letter again from its snapshot (`snapshot_of`), field for field."""
    try:
        return Letter.model_validate_json(text)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:5])
        raise UserError(f"{where} is not a letter letterforge can read: {problems}") from None
