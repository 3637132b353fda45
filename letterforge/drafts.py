"""Drafts: one letter composed from an account's statement, the workspace settings and its clauses."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from letterforge.addressing import PROTOCOL_REPLY_DAYS, address_debtor, pre_action_protocol_applies, uk_letter_problems
from letterforge.calendars import deadline_after
from letterforge.clauses import Clause, ClauseLibrary, select_clauses
from letterforge.config import WorkspaceConfig
from letterforge.diagnostics import UserError
from letterforge.escalation import reply_days
from letterforge.money import round_money
from letterforge.phrasing import (
    billing_cycle,
    cap_in_words,
    count_periods,
    number_in_words,
    period_count,
    period_span,
    premises,
    rate_in_words,
    times_in_words,
)
from letterforge.records import Account, DebtorCategory, LetterKind, PriorLetter
from letterforge.statements import Statement

KIND_CODES = {LetterKind.REMINDER: "REM", LetterKind.DEMAND: "DEM", LetterKind.LAWYER: "LAW"}
# The letter data model as clause texts may use it: `letterforge clauses check` rejects any other
# variable, and a test proves each one resolves in a composed letter.
CLAUSE_VARIABLES = frozenset({
    "debtor.name", "debtor.address", "debtor.account_id", "debtor.unit", "debtor.building", "debtor.premises",
    "debtor.note",
    "debtor.type", "salutation", "closing",
    "creditor.name", "creditor.address", "creditor.phone", "creditor.office_hours", "creditor.email",
    "law_firm.name", "law_firm.address", "law_firm.phone", "law_firm.lawyer", "law_firm.certificate_number",
    "letter.reference", "letter.issued_on", "letter.deadline", "letter.reply_days",
    "statement.principal", "statement.late_fees", "statement.compensation", "statement.first_period",
    "statement.last_period", "statement.periods", "statement.months_in_arrears", "statement.oldest_due_date",
    "statement.period_span", "statement.period_count",
    "total", "total_capitals", "late_fee.rate_text", "late_fee.cap_text", "late_fee.grace_days",
    "waiver.amount", "waiver.pay_by", "waiver.total_after", "instalments.months", "instalments.first_amount",
    "demands_sent", "demands_sent_text", "letters_sent_text", "previous_demand_date", "previous_reminder_date",
    "previous_letter_date",
})


@dataclass(frozen=True)
class LetterDraft:
    """Everything one letter says, before it is laid out in any format."""

    kind: LetterKind
    locale: str
    account: Account
    statement: Statement
    reference: str
    issued_on: date
    deadline: date
    clauses: tuple[Clause, ...]
    context: dict[str, Any] = field(compare=False, repr=False)
    draft_clauses: bool = False

    @property
    def clause_versions(self) -> list[dict[str, str]]:
        return [{"id": c.id, "version": c.version, "sha256": c.content_hash, "slot": c.slot} for c in self.clauses]


def default_reference(kind: LetterKind, account_id: str, issued_on: date) -> str:
    """A reference for a letter made outside a batch, readable and unique per account, kind and day."""
    return f"{KIND_CODES[kind]}-{issued_on:%Y%m%d}-{account_id}"


def rate_text(config: WorkspaceConfig, locale: str) -> str:
    """How the late fee is computed, in the letter's words: 每日万分之三, 0.05% a day."""
    rule = config.late_fee
    return rate_in_words(rule.rule, rule.rate, rule.margin, locale)


def cap_text(config: WorkspaceConfig, locale: str) -> str:
    """The cap on the late fee as a statement (滞纳金累计不超过欠费本金); empty when there is none."""
    return cap_in_words(config.late_fee.cap, locale)


@dataclass(frozen=True)
class Offers:
    """What the letter offers, in proportion to the debt: a plan only above a minimum total and
    a minimum instalment, a waiver only of a late fee actually charged."""

    waiver_offered: bool
    waived: Decimal
    instalments_offered: bool
    months: int
    first_amount: Decimal


def make_offers(statement: Statement, config: WorkspaceConfig) -> Offers:
    offers = config.offers
    waived = statement.late_fees + statement.compensation
    # As many months as the plan allows while each instalment stays at or above the minimum.
    months = min(offers.instalment_months, int(statement.total // offers.instalment_minimum_amount)
                 if offers.instalment_minimum_amount > 0 else offers.instalment_months)
    plan = offers.instalments and statement.total >= offers.instalment_minimum_total and months >= 2
    months = months if plan else offers.instalment_months
    return Offers(offers.waive_late_fee and waived > 0, waived, plan, months, round_money(statement.total / months))


def letter_facts(context: dict[str, Any], statement: Statement) -> dict[str, object]:
    """The facts a clause's `when:` may test (clauses.CONDITION_FACTS), read off the letter's context."""
    facts: dict[str, object] = {
        "demands_sent": context["demands_sent"],
        "reminders_sent": context["reminders_sent"],
        "letters_sent": context["letters_sent"],
        "debtor.note": bool(context["debtor"]["note"].strip()),
        "debtor.type": context["debtor"]["type"],
        "statement.items": len(statement.lines),
        "statement.billing_periods": count_periods([line.item.period for line in statement.lines]),
        "statement.billing": context["statement"]["billing"],
        "late_fee.charged": statement.late_fees + statement.compensation > 0,
        "late_fee.capped": bool(context["late_fee"]["cap_text"]),
        "waiver.offered": context["waiver"]["offered"],
        "instalments.offered": context["instalments"]["offered"],
    }
    return facts


def qr_data_uri(url: str) -> str:
    """The payment URL as a QR code, inline, so that nothing is ever fetched while rendering."""
    import segno  # only a letter with a payment URL draws a QR code

    svg = segno.make(url, error="m").svg_inline(scale=3, border=2, omitsize=True)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _statement_context(statement: Statement, locale: str) -> dict[str, Any]:
    lines = [
        {
            "period": line.item.period,
            "fee_item": line.item.fee_item,
            "amount_due": line.item.amount_due,
            "amount_paid": line.item.amount_paid,
            "outstanding": line.outstanding,
            "due_date": line.item.due_date,
            "days_overdue": line.days_overdue,
            "late_fee": line.late_fee.amount,
            "late_fee_days": line.late_fee.days,
            "late_fee_rate": line.late_fee.rate,
            "late_fee_basis": line.late_fee.rate_basis,
            "late_fee_from": line.late_fee.accrues_from,
            "late_fee_capped": line.late_fee.capped,
            "compensation": line.late_fee.compensation,
            "total": line.total,
        }
        for line in statement.lines
    ]
    periods = [line.item.period for line in statement.lines]
    subtotals = [
        {"fee_item": s.fee_item, "periods": s.periods, "principal": s.principal, "late_fees": s.late_fees,
         "compensation": s.compensation, "total": s.total}
        for s in statement.subtotals()
    ]
    return {
        "as_of": statement.as_of,
        "lines": lines,
        "subtotals": subtotals,
        "principal": statement.principal,
        "late_fees": statement.late_fees,
        "compensation": statement.compensation,
        "total": statement.total,
        "periods": len(statement.lines),
        "first_period": statement.lines[0].item.period if statement.lines else "",
        "last_period": statement.lines[-1].item.period if statement.lines else "",
        "months_in_arrears": statement.months_in_arrears,
        "oldest_due_date": statement.oldest_due_date,
        "billing": billing_cycle(periods),
        "period_span": period_span(periods, locale),
        "period_count": period_count(periods, locale),
    }


def compose_letter(
    kind: LetterKind,
    statement: Statement,
    config: WorkspaceConfig,
    library: ClauseLibrary,
    *,
    issued_on: date,
    reference: str = "",
    history: tuple[PriorLetter, ...] = (),
    allow_draft_clauses: bool = False,
    preview: Clause | None = None,
) -> LetterDraft:
    """The letter's content: who writes to whom, what is owed, by when, in which clauses.

    The context is plain data (no objects with methods) for the sandboxed templates; rendering
    fills the clauses from it.
    """
    account = statement.account
    if not statement.lines or statement.total <= 0:
        raise UserError(f"account {account.account_id} owes nothing overdue on {statement.as_of.isoformat()}: "
                        "no letter to write")
    if account.on_hold(issued_on):
        until = f" until {account.hold_until.isoformat()}" if account.hold_until else ""
        raise UserError(f"account {account.account_id} is on hold{until} ({account.hold_reason}): no letter is written")
    if kind is LetterKind.LAWYER:
        missing = config.law_firm.missing()
        if missing:
            raise UserError("a lawyer's letter needs a law firm and a lawyer with a practising certificate; "
                            f"set {', '.join(missing)} in letterforge.toml")
    locale = account.language or config.locale
    problems = uk_letter_problems(config, account, kind, locale)
    if problems:
        raise UserError(f"no {kind.value} letter for {account.account_id}: " + "; ".join(problems))
    days = reply_days(kind, account.category, config)
    protocol = pre_action_protocol_applies(account, kind, locale)
    if protocol:
        days = max(days, PROTOCOL_REPLY_DAYS)  # the Protocol's 30 days to reply before any claim
    deadline = deadline_after(issued_on, days, config.region)
    reference = reference or default_reference(kind, account.account_id, issued_on)
    offers = make_offers(statement, config)
    earlier = sorted((letter for letter in history
                      if letter.account_id == account.account_id and letter.issued_on <= issued_on),
                     key=lambda letter: letter.issued_on)
    demands = [letter.issued_on for letter in earlier if letter.kind is LetterKind.DEMAND]
    reminders = [letter.issued_on for letter in earlier if letter.kind is LetterKind.REMINDER]
    payment = config.payment
    address = address_debtor(account, locale)
    context: dict[str, Any] = {
        "letter": {"kind": kind.value, "reference": reference, "issued_on": issued_on, "deadline": deadline,
                   "reply_days": days, "locale": locale},
        "creditor": config.creditor.model_dump(),
        "law_firm": config.law_firm.model_dump() if kind is LetterKind.LAWYER else None,
        "debtor": {"account_id": account.account_id, "name": account.name, "address": account.address,
                   "unit": account.unit, "building": account.building, "note": account.note,
                   "premises": premises(account.building, account.unit, account.address, locale),
                   "category": account.category.value, "type": account.debtor_type.value,
                   "title": account.title, "surname": account.surname},
        "salutation": address.salutation,
        "closing": address.closing,
        "pre_action_protocol": ({"reply_days": PROTOCOL_REPLY_DAYS,
                                 "reply_by": deadline_after(issued_on, PROTOCOL_REPLY_DAYS, config.region)}
                                if protocol else None),
        "statement": _statement_context(statement, locale),
        "total": statement.total,
        "total_capitals": statement.total_in_capitals,
        "currency": config.currency,
        "late_fee": {"rule": config.late_fee.rule, "rate_text": rate_text(config, locale),
                     "cap_text": cap_text(config, locale), "grace_days": config.late_fee.grace_days},
        "waiver": {"offered": offers.waiver_offered, "amount": offers.waived, "pay_by": deadline,
                   "total_after": statement.principal},
        "instalments": {"offered": offers.instalments_offered, "months": offers.months,
                        "first_amount": offers.first_amount},
        "demands_sent": len(demands),
        "demands_sent_text": (times_in_words(len(demands), locale) if locale.startswith("zh")
                              else number_in_words(len(demands), locale)),
        "previous_demand_date": demands[-1] if demands else None,
        "reminders_sent": len(reminders),
        "previous_reminder_date": reminders[-1] if reminders else None,
        "letters_sent": len(earlier),
        "letters_sent_text": times_in_words(len(earlier), locale),
        "previous_letter_date": earlier[-1].issued_on if earlier else None,
        "payment": {
            "bank_transfer": payment.bank_transfer.model_dump() if payment.bank_transfer else None,
            "counter": payment.counter.model_dump() if payment.counter else None,
            "online": ({"url": payment.online.for_account(account.account_id), "label": payment.online.label,
                        "qr": qr_data_uri(payment.online.for_account(account.account_id))}
                       if payment.online else None),
            "reference_to_quote": f"{account.account_id} {reference}",
        },
        "signatory": config.letters.signatory,
        "return_slip": config.letters.return_slip,
    }
    facts = letter_facts(context, statement)
    clauses = select_clauses(library, kind, locale, config.creditor.type, account.category.value, issued_on,
                             allow_drafts=allow_draft_clauses, preview=preview, facts=facts)
    return LetterDraft(kind, locale, account, statement, reference, issued_on, deadline, clauses, context,
                       any(c.status == "draft" for c in clauses))
