"""The letter kinds, each defined once: its clause slots, reference code, reply period, follow-up,
default caps and what it needs before it may be written. Every other module reads this registry."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from letterforge.calendars import months_before
from letterforge.records import DebtorCategory, LetterKind


class WorkspaceConfig(Protocol):
    """What a kind reads of the workspace's settings (config.WorkspaceConfig, which imports this
    registry for its defaults)."""

    @property
    def letters(self) -> Any: ...

    @property
    def law_firm(self) -> Any: ...

class Sent(Protocol):
    """A letter that went out (escalation.SentLetter), as the kinds' rules read it."""

    @property
    def issued_on(self) -> date: ...

    @property
    def deadline(self) -> date: ...

    @property
    def reference(self) -> str: ...


@dataclass(frozen=True)
class Ladder:
    """What the ladder knows of one account with overdue items on a day: what the kinds' rules read."""

    as_of: date
    oldest: date  # when the oldest unpaid item fell due
    answered_dispute: bool  # the debtor disputed and the dispute has been answered
    sent: Mapping[LetterKind, Sequence[Sent]]  # the letters about the current debt, by kind, oldest first
    policy: Any  # the workspace's [policy]
    config: WorkspaceConfig


@dataclass(frozen=True)
class Verdict:
    """A rung's say: write a letter of `kind`, or (kind None) no letter, and why in words."""

    kind: LetterKind | None
    reasons: tuple[str, ...]


Rule = Callable[[Ladder], Verdict | None]  # None: this rung has no say, the ladder asks the next


def _no_say(ladder: Ladder) -> Verdict | None:
    return None


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
    # The eligibility rule, which escalation.decide_letter asks from the top rung down: first each
    # kind's `waits` (what a letter of it already sent still waits for), then each kind's `calls_for`.
    waits: Rule = _no_say
    calls_for: Rule = _no_say
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


# The eligibility rules of the ladder (KindSpec.waits and calls_for).

def _lawyer_waits(ladder: Ladder) -> Verdict | None:
    lawyers = ladder.sent.get(LetterKind.LAWYER, ())
    if not lawyers:
        return None
    last = lawyers[-1]
    if ladder.as_of <= last.deadline:
        return Verdict(None, (f"A lawyer's letter ({last.reference}) went out on {last.issued_on.isoformat()}; "
                              f"its deadline is {last.deadline.isoformat()}.",))
    return Verdict(None, (f"The lawyer's letter {last.reference} passed its deadline "
                          f"{last.deadline.isoformat()}: the next step is legal action, outside letterforge.",))


def _demand_waits(ladder: Ladder) -> Verdict | None:
    demands = ladder.sent.get(LetterKind.DEMAND, ())
    if not demands:
        return None
    last = demands[-1]
    next_step = last.deadline + timedelta(days=ladder.policy.demand_wait_days)
    if ladder.as_of < next_step:
        return Verdict(None, (f"Demand letter {last.reference} of {last.issued_on.isoformat()} has its "
                              f"deadline on {last.deadline.isoformat()}; the next step waits until {next_step.isoformat()}.",))
    return None


def _lawyer_called_for(ladder: Ladder) -> Verdict | None:
    policy = ladder.policy
    passed = [letter for letter in ladder.sent.get(LetterKind.DEMAND, ()) if letter.deadline < ladder.as_of]
    if len(passed) < policy.lawyer_min_demands:
        return None
    if ladder.oldest > months_before(ladder.as_of, policy.lawyer_min_months):
        return Verdict(None, (f"{len(passed)} demand letters passed their deadlines, but the arrears are "
                              f"younger than {policy.lawyer_min_months} months: no lawyer's letter yet.",))
    missing = _law_firm_missing(ladder.config)
    if missing:
        return Verdict(None, (f"{len(passed)} demand letters passed their deadlines and the arrears are "
                              f"{policy.lawyer_min_months} months old or more, but no law firm is configured "
                              f"({', '.join(missing)}).",))
    return Verdict(LetterKind.LAWYER, (f"{len(passed)} demand letters passed their deadlines without payment "
                                       f"and the arrears are {policy.lawyer_min_months} months old or more.",))


def _demand_called_for(ladder: Ladder) -> Verdict | None:
    policy = ladder.policy
    demands = ladder.sent.get(LetterKind.DEMAND, ())
    if demands:
        return Verdict(LetterKind.DEMAND, (f"{len(demands)} demand letter(s) passed their deadline and reply "
                                           "period without payment: a further demand.",))
    # A reminder counts as unpaid once its deadline has passed.
    unpaid = [letter for letter in ladder.sent.get(LetterKind.REMINDER, ()) if letter.deadline < ladder.as_of]
    if len(unpaid) >= policy.reminders_before_demand:
        return Verdict(LetterKind.DEMAND, (f"{len(unpaid)} reminder(s) passed their deadline unpaid: a formal demand.",))
    if ladder.answered_dispute:
        return Verdict(LetterKind.DEMAND, ("the debtor's dispute has been answered: a formal demand.",))
    return None


def _reminder_called_for(ladder: Ladder) -> Verdict | None:
    policy, as_of = ladder.policy, ladder.as_of
    reminders = ladder.sent.get(LetterKind.REMINDER, ())
    if as_of.day < policy.reminder_start_day:
        return Verdict(None, (f"Reminders go out from day {policy.reminder_start_day} of the month.",))
    checkpoints = [day for day in policy.reminder_checkpoints if day <= as_of.day]
    if not checkpoints:
        return Verdict(None, ("No reminder checkpoint has come yet this month.",))
    checkpoint = date(as_of.year, as_of.month, checkpoints[-1])
    if any(letter.issued_on >= checkpoint for letter in reminders):
        return Verdict(None, (f"A reminder already went out for the checkpoint of {checkpoint.isoformat()}.",))
    return Verdict(LetterKind.REMINDER, (f"Reminder {len(reminders) + 1} for the checkpoint of "
                                         f"{checkpoint.isoformat()}.",))


# In ladder order, lowest rung first.
KINDS: dict[LetterKind, KindSpec] = {spec.kind: spec for spec in (
    KindSpec(LetterKind.REMINDER, "REM",
             ("opening", "statement_of_debt", "category_offer", "request", *_CLOSING_SLOTS),
             "reminder_reply_days", True,
             "check payment; a further reminder or a demand follows by the policy", 50, 10,
             "at a reminder checkpoint of the month, until [policy] reminders_before_demand reminders went unpaid",
             calls_for=_reminder_called_for,
             names={"zh-CN": "缴费提醒函", "en-GB": "reminder"}),
    KindSpec(LetterKind.DEMAND, "DEM",
             ("opening", "statement_of_debt", "late_fee_basis", "category_offer", "deadline_and_choices",
              "consequence", *_CLOSING_SLOTS),
             "demand_reply_days", True,
             "the reply period has ended: call the debtor, then the next step by the policy", 20, 3,
             "after [policy] reminders_before_demand unpaid reminders (or an answered dispute), and again "
             "[policy] demand_wait_days after an unpaid demand's deadline",
             waits=_demand_waits, calls_for=_demand_called_for,
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
             waits=_lawyer_waits, calls_for=_lawyer_called_for,
             names={"zh-CN": "律师函", "en-GB": "letter before action"}),
)}
KIND_NAMES: tuple[str, ...] = tuple(kind.value for kind in KINDS)


def kind_spec(kind: LetterKind | str) -> KindSpec:
    """The registry's entry for a kind, by the kind or its name."""
    return KINDS[LetterKind(kind)]
