"""The letter kinds, each defined once: its clause slots, reference code, reply period, follow-up,
default caps and what it needs before it may be written. Every other module reads this registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from letterforge.records import DebtorCategory, LetterKind


class WorkspaceConfig(Protocol):
    """What a kind reads of the workspace's settings (config.WorkspaceConfig, which imports this
    registry for its defaults)."""

    @property
    def letters(self) -> Any: ...

    @property
    def law_firm(self) -> Any: ...

# The slots every kind ends with; a slot added here (a delivery channel's text, say) joins every kind.
_CLOSING_SLOTS = ("dispute_contact", "privacy_note")


def _no_requirements(config: WorkspaceConfig) -> list[str]:
    return []


def _law_firm_missing(config: WorkspaceConfig) -> list[str]:
    return config.law_firm.missing()


@dataclass(frozen=True)
class KindSpec:
    """One rung of the collection ladder."""

    kind: LetterKind
    code: str  # the short code of its references: REM-20260301-A-101, REM-2026-0001
    slots: tuple[str, ...]  # its clause slots, in reading order
    reply_days_setting: str  # the [letters] setting giving the days the debtor has to reply
    hardship_extra_days: bool  # whether a debtor in hardship gets [letters] hardship_extra_days more
    follow_up: str  # what the follow-up list says to do once the deadline has passed
    daily_cap: int  # [policy] daily_caps default
    group_daily_cap: int  # [policy] per_group_daily default
    eligibility: str  # when the ladder (escalation.decide_letter) calls for this kind, in words
    requirements: Callable[[WorkspaceConfig], list[str]] = _no_requirements  # the settings it needs that are missing
    requirements_text: str = ""  # what it needs, in words, for the message when something is missing
    # What the kind is called in plain words, by locale, outside the letter itself (the evidence
    # bundle's summary); the letter's own title comes from the templates' labels.
    names: Mapping[str, str] = field(default_factory=dict)

    @property
    def value(self) -> str:
        return self.kind.value

    @property
    def reference_pattern(self) -> str:
        """The default pattern of its ledger references ([policy] reference_patterns)."""
        return f"{self.code}-{{year}}-{{number:04d}}"

    def name_in(self, locale: str) -> str:
        """The kind's name in the locale's words (its value where the registry has none)."""
        return self.names.get(locale, self.value)

    def reply_days(self, category: DebtorCategory, config: WorkspaceConfig) -> int:
        letters = config.letters
        days: int = getattr(letters, self.reply_days_setting)
        if category is DebtorCategory.HARDSHIP and self.hardship_extra_days:
            days += letters.hardship_extra_days
        return days


KINDS: dict[LetterKind, KindSpec] = {spec.kind: spec for spec in (
    KindSpec(LetterKind.REMINDER, "REM",
             ("opening", "statement_of_debt", "category_offer", "request", *_CLOSING_SLOTS),
             "reminder_reply_days", True,
             "check payment; a further reminder or a demand follows by the policy", 50, 10,
             "at a reminder checkpoint of the month, until [policy] reminders_before_demand reminders went unpaid",
             names={"zh-CN": "缴费提醒函", "en-GB": "reminder"}),
    KindSpec(LetterKind.DEMAND, "DEM",
             ("opening", "statement_of_debt", "late_fee_basis", "category_offer", "deadline_and_choices",
              "consequence", *_CLOSING_SLOTS),
             "demand_reply_days", True,
             "the reply period has ended: call the debtor, then the next step by the policy", 20, 3,
             "after [policy] reminders_before_demand unpaid reminders (or an answered dispute), and again "
             "[policy] demand_wait_days after an unpaid demand's deadline",
             names={"zh-CN": "催缴函", "en-GB": "demand for payment"}),
    # A debtor in hardship gets no longer from the law firm, whose 14 days are the practice the ladder promises.
    KindSpec(LetterKind.LAWYER, "LAW",
             ("instruction", "facts", "legal_basis", "category_offer", "demand", "deadline", "consequence",
              *_CLOSING_SLOTS),
             "lawyer_reply_days", False,
             "the deadline has passed: decide with the law firm on legal action", 5, 1,
             "after [policy] lawyer_min_demands demands passed their deadlines unpaid, arrears at least "
             "[policy] lawyer_min_months months old, and a law firm configured",
             _law_firm_missing, "a lawyer's letter needs a law firm and a lawyer with a practising certificate",
             names={"zh-CN": "律师函", "en-GB": "letter before action"}),
)}
KIND_NAMES: tuple[str, ...] = tuple(kind.value for kind in KINDS)


def kind_spec(kind: LetterKind | str) -> KindSpec:
    """The registry's entry for a kind, by the kind or its name."""
    return KINDS[LetterKind(kind)]
