"""How a letter addresses its debtor: salutation and closing by debtor type and locale, and whether
the Pre-Action Protocol for Debt Claims applies (England and Wales: individuals and sole traders)."""

from __future__ import annotations

from dataclasses import dataclass

from letterforge.config import WorkspaceConfig
from letterforge.records import PROTOCOL_DEBTOR_TYPES, Account, DebtorType, LetterKind

# The Protocol gives the debtor 30 days to reply to a Letter of Claim (para. 4).
PROTOCOL_REPLY_DAYS = 30


@dataclass(frozen=True)
class Address:
    """The words a letter opens and closes with, without punctuation (templates and clauses add it)."""

    salutation: str
    closing: str


def address_debtor(account: Account, locale: str) -> Address:
    """"Dear Mr Okafor … Yours sincerely" when a title and surname are given, otherwise
    "Dear Sir or Madam … Yours faithfully" (a company is never "Dear <company name>");
    Chinese letters: 尊敬的王先生 / 尊敬的<name> for a person, the full name of a 单位 on its own."""
    named = bool(account.title and account.surname)
    if locale.startswith("zh"):
        if named:
            return Address(f"尊敬的{account.surname}{account.title}", "")
        if account.debtor_type is DebtorType.COMPANY:
            return Address(account.name, "")
        return Address(f"尊敬的{account.name}", "")
    if named:
        return Address(f"Dear {account.title} {account.surname}", "Yours sincerely")
    return Address("Dear Sir or Madam", "Yours faithfully")


def pre_action_protocol_applies(account: Account, kind: LetterKind, locale: str) -> bool:
    """A letter before action in England and Wales to an individual or a sole trader is a Letter of
    Claim under the Protocol, with its Information Sheet, Reply Form and Financial Statement."""
    return kind is LetterKind.LAWYER and locale == "en-GB" and account.debtor_type in PROTOCOL_DEBTOR_TYPES


def uk_letter_problems(config: WorkspaceConfig, account: Account, kind: LetterKind, locale: str) -> list[str]:
    """Why an en-GB letter cannot lawfully go out as configured; empty when it can."""
    if locale != "en-GB":
        return []
    problems = []
    missing = config.letterhead_missing(kind.value, locale)
    if missing:
        problems.append(f"set {', '.join(missing)} in letterforge.toml: a UK company's letters show its registered "
                        "number and registered office (Companies Act 2006), and a solicitors' letter states that "
                        "the firm is regulated by the Solicitors Regulation Authority, with its SRA number")
    if config.late_fee.rule == "uk_late_payment" and account.debtor_type is DebtorType.INDIVIDUAL:
        problems.append(f"account {account.account_id} is an individual: the Late Payment of Commercial Debts "
                        "(Interest) Act 1998 applies only between businesses, so its interest and compensation "
                        "cannot be claimed; set the debtor type to sole_trader if they bought for their business")
    return problems
