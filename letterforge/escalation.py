"""Escalation: which letter of the ladder an account is due on a date, and why, in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from letterforge.calendars import deadline_after
from letterforge.config import WorkspaceConfig
from letterforge.kinds import KINDS
from letterforge.records import DebtorCategory, LetterKind
from letterforge.statements import Statement


@dataclass(frozen=True)
class SentLetter:
    """A letter that went out: from the ledger, or from the history file of earlier letters."""

    account_id: str
    kind: LetterKind
    issued_on: date
    deadline: date
    reference: str


@dataclass(frozen=True)
class Decision:
    account_id: str
    kind: LetterKind | None
    reasons: tuple[str, ...]

    @property
    def explanation(self) -> str:
        verdict = f"{self.kind.value} letter due" if self.kind else "no letter"
        return f"{self.account_id}: {verdict}. " + " ".join(self.reasons)


def months_before(day: date, months: int) -> date:
    """The same day `months` months earlier (the last day of a shorter month)."""
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def history_deadline(kind: LetterKind, issued_on: date, category: DebtorCategory, config: WorkspaceConfig) -> date:
    """Letters in the history file carry no deadline: count the one a letter of that kind would have."""
    return deadline_after(issued_on, KINDS[kind].reply_days(category, config), config.region)


def decide_letter(
    statement: Statement,
    sent: list[SentLetter],
    config: WorkspaceConfig,
    as_of: date,
    hold: tuple[date, str] | None = None,
) -> Decision:
    """The next rung of the ladder for one account, by the workspace's policy."""
    account = statement.account
    policy = config.policy

    def decision(kind: LetterKind | None, *reasons: str) -> Decision:
        return Decision(account.account_id, kind, reasons)

    if not statement.lines:
        return decision(None, f"Nothing is overdue on {as_of.isoformat()}: the ladder stops.")
    if account.on_hold(as_of):
        until = account.hold_until.isoformat() if account.hold_until else "further notice"
        return decision(None, f"The account is on hold until {until} ({account.hold_reason}).")
    if hold is not None and as_of <= hold[0]:
        return decision(None, f"The account is on hold until {hold[0].isoformat()} ({hold[1]}), recorded in the ledger.")

    oldest = statement.oldest_due_date
    assert oldest is not None
    # Letters sent before the oldest unpaid item fell due were about debts since paid.
    current = sorted((letter for letter in sent if oldest < letter.issued_on <= as_of), key=lambda l: l.issued_on)
    owed = (f"{statement.total} {statement.currency} is overdue since {oldest.isoformat()} "
            f"({statement.months_in_arrears} month(s) with unpaid items).")
    lawyers = [letter for letter in current if letter.kind is LetterKind.LAWYER]
    if lawyers:
        last = lawyers[-1]
        if as_of <= last.deadline:
            return decision(None, owed, f"A lawyer's letter ({last.reference}) went out on {last.issued_on.isoformat()}; "
                            f"its deadline is {last.deadline.isoformat()}.")
        return decision(None, owed, f"The lawyer's letter {last.reference} passed its deadline "
                        f"{last.deadline.isoformat()}: the next step is legal action, outside letterforge.")
    demands = [letter for letter in current if letter.kind is LetterKind.DEMAND]
    reminders = [letter for letter in current if letter.kind is LetterKind.REMINDER]
    if demands:
        last = demands[-1]
        next_step = last.deadline + timedelta(days=policy.demand_wait_days)
        if as_of < next_step:
            return decision(None, owed, f"Demand letter {last.reference} of {last.issued_on.isoformat()} has its "
                            f"deadline on {last.deadline.isoformat()}; the next step waits until {next_step.isoformat()}.")
    passed = [letter for letter in demands if letter.deadline < as_of]
    old_enough = oldest <= months_before(as_of, policy.lawyer_min_months)
    if len(passed) >= policy.lawyer_min_demands:
        if not old_enough:
            return decision(None, owed, f"{len(passed)} demand letters passed their deadlines, but the arrears are "
                            f"younger than {policy.lawyer_min_months} months: no lawyer's letter yet.")
        missing = KINDS[LetterKind.LAWYER].requirements(config)
        if missing:
            return decision(None, owed, f"{len(passed)} demand letters passed their deadlines and the arrears are "
                            f"{policy.lawyer_min_months} months old or more, but no law firm is configured "
                            f"({', '.join(missing)}).")
        return decision(LetterKind.LAWYER, owed, f"{len(passed)} demand letters passed their deadlines without payment "
                        f"and the arrears are {policy.lawyer_min_months} months old or more.")
    if demands:
        return decision(LetterKind.DEMAND, owed, f"{len(demands)} demand letter(s) passed their deadline and reply "
                        "period without payment: a further demand.")
    answered_dispute = account.category is DebtorCategory.DISPUTE and bool(account.note)
    # A reminder counts as unpaid once its deadline has passed.
    unpaid_reminders = [letter for letter in reminders if letter.deadline < as_of]
    if len(unpaid_reminders) >= policy.reminders_before_demand or answered_dispute:
        why = (f"{len(unpaid_reminders)} reminder(s) passed their deadline unpaid"
               if len(unpaid_reminders) >= policy.reminders_before_demand else "the debtor's dispute has been answered")
        return decision(LetterKind.DEMAND, owed, f"{why}: a formal demand.")
    if as_of.day < policy.reminder_start_day:
        return decision(None, owed, f"Reminders go out from day {policy.reminder_start_day} of the month.")
    checkpoints = [day for day in policy.reminder_checkpoints if day <= as_of.day]
    if not checkpoints:
        return decision(None, owed, "No reminder checkpoint has come yet this month.")
    checkpoint = date(as_of.year, as_of.month, checkpoints[-1])
    if any(letter.issued_on >= checkpoint for letter in reminders):
        return decision(None, owed, f"A reminder already went out for the checkpoint of {checkpoint.isoformat()}.")
    return decision(LetterKind.REMINDER, owed, f"Reminder {len(reminders) + 1} for the checkpoint of "
                    f"{checkpoint.isoformat()}.")
