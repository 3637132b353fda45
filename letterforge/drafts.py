"""Drafts: one letter composed from an account's statement, the workspace settings and its clauses."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field, replace
from functools import cached_property
from datetime import date
from typing import Any

from letterforge.addressing import PROTOCOL_REPLY_DAYS, address_debtor, pre_action_protocol_applies, uk_letter_problems
from letterforge.calendars import deadline_after
from letterforge.clauses import Clause, ClauseLibrary, select_clauses
from letterforge.config import WorkspaceConfig
from letterforge.diagnostics import UserError
from letterforge.kinds import KINDS
from letterforge.model import (
    ClauseVersion,
    Debtor,
    FeeItemSubtotal,
    Instalments,
    LateFeeTerms,
    Letter,
    LetterHeading,
    LetterStatement,
    Offers,
    OnlinePayment,
    Payment,
    PreActionProtocol,
    StatementLine,
    Waiver,
)
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
from letterforge.records import Account, LetterKind, PriorLetter
from letterforge.statements import Statement



@dataclass(frozen=True)
class LetterDraft:
    """One composed letter: the letter's data (model.Letter) and the clauses that say it. `account`
    and `statement` are the records it was composed from; a letter rebuilt from its ledger
    snapshot has neither, and rendering needs neither."""

    letter: Letter
    clauses: tuple[Clause, ...]
    account: Account | None = field(default=None, compare=False, repr=False)
    statement: Statement | None = field(default=None, compare=False, repr=False)

    @property
    def kind(self) -> LetterKind:
        return self.letter.letter.kind

    @property
    def locale(self) -> str:
        return self.letter.letter.locale

    @property
    def reference(self) -> str:
        return self.letter.letter.reference

    @property
    def issued_on(self) -> date:
        return self.letter.letter.issued_on

    @property
    def deadline(self) -> date:
        return self.letter.letter.deadline

    @property
    def account_id(self) -> str:
        return self.letter.debtor.account_id

    @property
    def draft_clauses(self) -> bool:
        return self.letter.draft_watermark

    @cached_property
    def context(self) -> dict[str, Any]:
        """The letter as templates and clauses read it (model.Letter.template_context)."""
        return self.letter.template_context()

    def watermarked(self) -> LetterDraft:
        """The same letter marked 草稿/DRAFT (a preview, never issued)."""
        return replace(self, letter=self.letter.model_copy(update={"draft_watermark": True}))

    def numbered(self, reference: str) -> LetterDraft:
        """The same letter under another reference (a clerk's letter is composed before its number
        is reserved: composing it again would give the same letter with only the reference changed)."""
        reference = reference or default_reference(self.kind, self.account_id, self.issued_on)
        letter = self.letter
        return replace(self, letter=letter.model_copy(update={
            "letter": letter.letter.model_copy(update={"reference": reference}),
            "payment": letter.payment.model_copy(update={"reference_to_quote": quoted_reference(self.account_id,
                                                                                                reference)}),
        }))

    @property
    def clause_versions(self) -> list[dict[str, str]]:
        return [version.model_dump() for version in self.letter.clause_versions]


def quoted_reference(account_id: str, reference: str) -> str:
    """What the debtor quotes with a payment: the account and the letter's reference."""
    return f"{account_id} {reference}"


def default_reference(kind: LetterKind, account_id: str, issued_on: date) -> str:
    """A reference for a letter made outside a batch, readable and unique per account, kind and day."""
    return f"{KINDS[kind].code}-{issued_on:%Y%m%d}-{account_id}"


def rate_text(config: WorkspaceConfig, locale: str) -> str:
    """How the late fee is computed, in the letter's words: 每日万分之三, 0.05% a day."""
    rule = config.late_fee
    return rate_in_words(rule.rule, rule.rate, rule.margin, locale)


def cap_text(config: WorkspaceConfig, locale: str) -> str:
    """The cap on the late fee as a statement (滞纳金累计不超过欠费本金); empty when there is none."""
    return cap_in_words(config.late_fee.cap, locale)


def make_offers(statement: Statement, config: WorkspaceConfig) -> Offers:
    offers = config.offers
    waived = statement.late_fees + statement.compensation
    # As many months as the plan allows while each instalment stays at or above the minimum.
    months = min(offers.instalment_months, int(statement.total // offers.instalment_minimum_amount)
                 if offers.instalment_minimum_amount > 0 else offers.instalment_months)
    plan = offers.instalments and statement.total >= offers.instalment_minimum_total and months >= 2
    months = months if plan else offers.instalment_months
    return Offers(waiver_offered=offers.waive_late_fee and waived > 0, waived=waived, instalments_offered=plan,
                  months=months, first_amount=round_money(statement.total / months))


def letter_facts(letter: Letter) -> dict[str, object]:
    """The facts a clause's `when:` may test (clauses.CONDITION_FACTS), read off the letter."""
    statement = letter.statement
    return {
        "demands_sent": letter.demands_sent,
        "reminders_sent": letter.reminders_sent,
        "letters_sent": letter.letters_sent,
        "debtor.note": bool(letter.debtor.note.strip()),
        "debtor.type": letter.debtor.type.value,
        "statement.items": len(statement.lines),
        "statement.billing_periods": count_periods([line.period for line in statement.lines]),
        "statement.billing": statement.billing,
        "late_fee.charged": statement.late_fees + statement.compensation > 0,
        "late_fee.capped": bool(letter.late_fee.cap_text),
        "waiver.offered": letter.waiver.offered,
        "instalments.offered": letter.instalments.offered,
    }


def qr_data_uri(url: str) -> str:
    """The payment URL as a QR code, inline, so that nothing is ever fetched while rendering."""
    import segno  # only a letter with a payment URL draws a QR code

    svg = segno.make(url, error="m").svg_inline(scale=3, border=2, omitsize=True)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def letter_statement(statement: Statement, locale: str) -> LetterStatement:
    """The statement as the letter shows it."""
    lines = tuple(
        StatementLine(
            period=line.item.period, fee_item=line.item.fee_item, amount_due=line.item.amount_due,
            amount_paid=line.item.amount_paid, outstanding=line.outstanding, due_date=line.item.due_date,
            days_overdue=line.days_overdue, late_fee=line.late_fee.amount, late_fee_days=line.late_fee.days,
            late_fee_rate=line.late_fee.rate, late_fee_basis=line.late_fee.rate_basis,
            late_fee_from=line.late_fee.accrues_from, late_fee_capped=line.late_fee.capped,
            compensation=line.late_fee.compensation, total=line.total,
        )
        for line in statement.lines
    )
    periods = [line.item.period for line in statement.lines]
    subtotals = tuple(
        FeeItemSubtotal(fee_item=s.fee_item, periods=s.periods, principal=s.principal, late_fees=s.late_fees,
                        compensation=s.compensation, total=s.total)
        for s in statement.subtotals()
    )
    return LetterStatement(
        as_of=statement.as_of, lines=lines, subtotals=subtotals, principal=statement.principal,
        late_fees=statement.late_fees, compensation=statement.compensation, total=statement.total,
        periods=len(statement.lines),
        first_period=statement.lines[0].item.period if statement.lines else "",
        last_period=statement.lines[-1].item.period if statement.lines else "",
        months_in_arrears=statement.months_in_arrears, oldest_due_date=statement.oldest_due_date,
        billing=billing_cycle(periods), period_span=period_span(periods, locale),
        period_count=period_count(periods, locale),
    )


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
    """The letter's content: who writes to whom, what is owed, by when, in which clauses, as a
    model.Letter; rendering fills the clauses from it."""
    account = statement.account
    if not statement.lines or statement.total <= 0:
        raise UserError(f"account {account.account_id} owes nothing overdue on {statement.as_of.isoformat()}: "
                        "no letter to write")
    if account.on_hold(issued_on):
        until = f" until {account.hold_until.isoformat()}" if account.hold_until else ""
        raise UserError(f"account {account.account_id} is on hold{until} ({account.hold_reason}): no letter is written")
    missing = KINDS[kind].requirements(config)
    if missing:
        raise UserError(f"{KINDS[kind].requirements_text}; set {', '.join(missing)} in letterforge.toml")
    locale = account.language or config.locale
    problems = uk_letter_problems(config, account, kind, locale)
    if problems:
        raise UserError(f"no {kind.value} letter for {account.account_id}: " + "; ".join(problems))
    days = KINDS[kind].reply_days(account.category, config)
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
    online = payment.online.for_account(account.account_id) if payment.online else ""
    letter = Letter(
        letter=LetterHeading(kind=kind, reference=reference, issued_on=issued_on, deadline=deadline,
                             reply_days=days, locale=locale),
        creditor=config.creditor,
        law_firm=config.law_firm if kind is LetterKind.LAWYER else None,
        debtor=Debtor(account_id=account.account_id, name=account.name, address=account.address, unit=account.unit,
                      building=account.building, note=account.note,
                      premises=premises(account.building, account.unit, account.address, locale),
                      category=account.category, type=account.debtor_type, title=account.title,
                      surname=account.surname, language=account.language, phone=account.phone,
                      email=account.email, email_consent=account.email_consent, sms_consent=account.sms_consent),
        salutation=address.salutation,
        closing=address.closing,
        pre_action_protocol=(PreActionProtocol(reply_days=PROTOCOL_REPLY_DAYS,
                                               reply_by=deadline_after(issued_on, PROTOCOL_REPLY_DAYS, config.region))
                             if protocol else None),
        statement=letter_statement(statement, locale),
        total=statement.total,
        total_capitals=statement.total_in_capitals,
        currency=config.currency,
        late_fee=LateFeeTerms(rule=config.late_fee.rule, rate_text=rate_text(config, locale),
                              cap_text=cap_text(config, locale), grace_days=config.late_fee.grace_days),
        waiver=Waiver(offered=offers.waiver_offered, amount=offers.waived, pay_by=deadline,
                      total_after=statement.principal),
        instalments=Instalments(offered=offers.instalments_offered, months=offers.months,
                                first_amount=offers.first_amount),
        demands_sent=len(demands),
        demands_sent_text=(times_in_words(len(demands), locale) if locale.startswith("zh")
                           else number_in_words(len(demands), locale)),
        previous_demand_date=demands[-1] if demands else None,
        reminders_sent=len(reminders),
        previous_reminder_date=reminders[-1] if reminders else None,
        letters_sent=len(earlier),
        letters_sent_text=times_in_words(len(earlier), locale),
        previous_letter_date=earlier[-1].issued_on if earlier else None,
        payment=Payment(
            bank_transfer=payment.bank_transfer,
            counter=payment.counter,
            online=(OnlinePayment(url=online, label=payment.online.label, qr=qr_data_uri(online))
                    if payment.online else None),
            reference_to_quote=quoted_reference(account.account_id, reference),
        ),
        signatory=config.letters.signatory,
        return_slip=config.letters.return_slip,
    )
    clauses = select_clauses(library, kind, locale, config.creditor.type, account.category.value, issued_on,
                             allow_drafts=allow_draft_clauses, preview=preview, facts=letter_facts(letter))
    letter = letter.model_copy(update={
        "clause_versions": tuple(ClauseVersion(id=c.id, version=c.version, sha256=c.content_hash, slot=c.slot)
                                 for c in clauses),
        "draft_watermark": any(c.status == "draft" for c in clauses),
    })
    return LetterDraft(letter, clauses, account, statement)


def redraft_letter(letter: Letter, library: ClauseLibrary) -> LetterDraft:
    """A letter again from its data (a ledger snapshot), with the very clause versions it carried."""
    clauses = []
    for version in letter.clause_versions:
        found = next((c for c in library.versions(version.id) if c.version == version.version), None)
        if found is None:
            raise UserError(f"{letter.letter.reference}: its clause {version.label} is no longer in the clause "
                            "library: restore that version to make the letter again")
        clauses.append(found)
    return LetterDraft(letter, tuple(clauses))
