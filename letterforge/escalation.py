"""Escalation: which letter of the ladder an account is due on a date, and why, in words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from letterforge.calendars import deadline_after, months_before  # noqa: F401  (months_before: escalation's before)
from letterforge.config import WorkspaceConfig
from letterforge.kinds import KINDS, Ladder
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
    ladder = Ladder(
        as_of=as_of, oldest=oldest, policy=policy, config=config,
        answered_dispute=account.category is DebtorCategory.DISPUTE and bool(account.note),
        sent={kind: tuple(letter for letter in current if letter.kind is kind) for kind in KINDS},
    )
    # The registry decides: first what a letter already sent waits for, then which rung is called
    # for, each time from the top of the ladder down.
    rungs = list(reversed(KINDS.values()))
    for rule in [spec.waits for spec in rungs] + [spec.calls_for for spec in rungs]:
        verdict = rule(ladder)
        if verdict is not None:
            return decision(verdict.kind, owed, *verdict.reasons)
    return decision(None, owed, "No rung of the ladder calls for a letter.")
