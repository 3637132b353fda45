"""A day's plan: escalation for every account without a letter in the pipeline, the staggered
plan with the letters already planned, why each account gets which letter, and the day's verdict
on a planned letter against today's data (still due, cancelled, or waiting)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from letterforge.config import WorkspaceConfig
from letterforge.diagnostics import UserError
from letterforge.escalation import Decision, SentLetter, decide_letter, history_deadline
from letterforge.ledger import SENT, Hold, Ledger, LedgerLetter
from letterforge.planning import Candidate, Plan, PlannedLetter, plan_issue
from letterforge.records import Account, DebtorCategory, LetterKind, LetterStatus, PriorLetter, collection_paused
from letterforge.statements import (LimitationFlag, Statement, compute_statements, limitation_flags,
                                    limitation_summary, limitation_years)
from letterforge.validation import DebtorData
from letterforge.workspace import Workspace


def sent_letters(data: DebtorData, ledger: Ledger, workspace: Workspace) -> dict[str, list[SentLetter]]:
    """Every letter that went out, per account: the history file's and the ledger's."""
    config = workspace.config
    sent: dict[str, list[SentLetter]] = {}
    for prior in data.history:
        account = data.account(prior.account_id)
        category = account.category if account else DebtorCategory.UNKNOWN
        sent.setdefault(prior.account_id, []).append(SentLetter(
            prior.account_id, prior.kind, prior.issued_on,
            history_deadline(prior.kind, prior.issued_on, category, config), prior.reference or "(history)"))
    for letter in ledger.letters():
        if letter.status in SENT and letter.issued_on and letter.deadline:
            sent.setdefault(letter.account_id, []).append(SentLetter(
                letter.account_id, letter.kind, letter.issued_on, letter.deadline, letter.reference or ""))
    return sent


def earlier_letters(ledger: Ledger, account_id: str, before: date) -> tuple[PriorLetter, ...]:
    """Letters the ledger says went out to the account before a date, as a letter cites them."""
    return tuple(PriorLetter(l.account_id, l.kind, l.issued_on, l.reference or "")
                 for l in ledger.letters(account_id=account_id)
                 if l.status in SENT and l.issued_on is not None and l.issued_on < before)


@dataclass(frozen=True)
class DayPlan:
    """What the plan says on an as-of date, and why."""

    plan: Plan
    decisions: dict[str, Decision]
    pending: dict[str, LedgerLetter]
    statements: dict[str, Statement]
    sent: dict[str, list[SentLetter]]
    holds: dict[str, Hold]
    issued_today: frozenset[int] = frozenset()  # ledger ids of the letters already issued on the day
    limitation: dict[str, tuple[LimitationFlag, ...]] = field(default_factory=dict)

    def due_on(self, day: date) -> list[PlannedLetter]:
        """The letters still to go out on a day (not those an earlier run of it issued)."""
        return [l for l in self.plan.on(day) if l.letter_id not in self.issued_today]


def _group(account: Account) -> str:
    # Accounts without a building or group are nobody's neighbours: each is a group of its own.
    return account.building or f"({account.account_id})"


@collection_paused()
def plan_letters(workspace: Workspace, data: DebtorData, ledger: Ledger, as_of: date,
                 horizon: int | None = None) -> DayPlan:
    """Escalation for every account without a letter in the pipeline, then the staggered plan.

    Letters already planned keep their day; a planned letter whose day passed without a batch
    is placed again first, under the same caps.
    """
    statements = {s.account.account_id: s for s in compute_statements(workspace, (), as_of, data)}
    sent = sent_letters(data, ledger, workspace)
    holds = ledger.holds()
    in_pipeline = [letter for letter in ledger.letters() if letter.status in (LetterStatus.PLANNED, LetterStatus.RESERVED)]
    pending = {letter.account_id: letter for letter in in_pipeline}
    decisions: dict[str, Decision] = {}
    candidates: list[Candidate] = []
    for account_id, statement in statements.items():
        if account_id in pending:
            continue
        if account_id in data.accounts_with_rejected_rows:
            decisions[account_id] = Decision(account_id, None, (
                "Some of its data rows were rejected today (see `letterforge validate`): no letter goes out "
                "until they are fixed, since its amounts would be wrong.",))
            continue
        hold = holds.get(account_id)
        decision = decide_letter(statement, sent.get(account_id, []), workspace.config, as_of,
                                 (hold.until, hold.reason) if hold else None)
        decisions[account_id] = decision
        if decision.kind is not None and statement.oldest_due_date is not None:
            candidates.append(Candidate(account_id, decision.kind, _group(statement.account), statement.total,
                                        statement.oldest_due_date))
    # A day's caps count the letters it already issued (an earlier run of the same day) as well
    # as those planned or reserved for it: a rerun never refills a day.
    issued_today = [l for l in ledger.letters() if l.status in SENT and l.issued_on == as_of]
    # Reserved letters (left by a run that stopped) go out today whatever the caps, since their
    # numbers are taken; letters planned for today or a day that passed are placed again under the
    # caps, the older first, so that a day completed late never exceeds its caps.
    existing = [PlannedLetter(l.account_id, l.kind, l.group, as_of, new=False, letter_id=l.id)
                for l in [*issued_today, *(l for l in in_pipeline if l.status == LetterStatus.RESERVED)]]
    existing += [PlannedLetter(l.account_id, l.kind, l.group, l.planned_on, new=False, letter_id=l.id)
                 for l in in_pipeline if l.status == LetterStatus.PLANNED and l.planned_on > as_of]
    overdue = [Candidate(l.account_id, l.kind, l.group, statements[l.account_id].total,
                         statements[l.account_id].oldest_due_date or l.planned_on, l.id)
               for l in in_pipeline if l.status == LetterStatus.PLANNED and l.planned_on <= as_of and l.account_id in statements]
    since = as_of - timedelta(days=workspace.config.policy.lawyer_wave_gap_days)
    lawyer_before = sum(1 for letters in sent.values() for letter in letters
                        if letter.kind is LetterKind.LAWYER and since < letter.issued_on < as_of)
    plan = plan_issue(candidates, existing, workspace.config.policy, workspace.config.region, as_of,
                      lawyer_before, horizon, overdue)
    years = limitation_years(workspace.config)
    limitation = {account_id: flags for account_id, statement in statements.items()
                  if (flags := limitation_flags((line.item for line in statement.lines),
                                                (letter.issued_on for letter in sent.get(account_id, [])), as_of, years))}
    return DayPlan(plan, decisions, pending, statements, sent, holds, frozenset(l.id for l in issued_today),
                   limitation)


def explain(day_plan: DayPlan, account_id: str) -> str:
    """Why the account gets which letter (or none) on the date, in words."""
    planned = next((l for l in day_plan.plan.letters if l.account_id == account_id), None)
    if account_id in day_plan.pending:
        letter = day_plan.pending[account_id]
        return (f"{account_id}: a {letter.kind.value} letter is already planned for {letter.planned_on.isoformat()} "
                f"({letter.status}); it is checked again against the data on that day.")
    if account_id not in day_plan.decisions:
        raise UserError(f"unknown account: {account_id}")
    text = day_plan.decisions[account_id].explanation
    if planned is not None:
        text += f" Planned for {planned.issue_on.isoformat()} (staggered issue)."
    elif day_plan.decisions[account_id].kind is not None:
        text += " No day within the planning horizon has room for it yet."
    if account_id in day_plan.limitation:
        text += " " + limitation_summary(day_plan.limitation[account_id])
    return text


def _no_longer_due(letter: LedgerLetter, statement: Statement | None, data: DebtorData, decision: Decision | None,
                   held: bool) -> tuple[str, str] | None:
    """Why a letter planned for today should not go out: ("cancel" | "skip", reason), or None."""
    if statement is None:
        return "cancel", "the account is no longer in the data"
    if letter.account_id in data.accounts_with_rejected_rows:
        return "skip", "some of its data rows were rejected today; it waits until they are fixed"
    assert decision is not None
    if not statement.lines or held:
        return "cancel", " ".join(decision.reasons)
    if decision.kind is not None and decision.kind is not letter.kind:
        return "cancel", f"a {decision.kind.value} letter is due instead: " + " ".join(decision.reasons)
    # Otherwise the letter stays due, even if staggering moved it past a timing window
    # (a reminder pushed into the next month is still the reminder that was due).
    return None


def recheck(config: WorkspaceConfig, data: DebtorData, day_plan: DayPlan, due: list[LedgerLetter],
            as_of: date) -> list[tuple[LedgerLetter, tuple[str, str] | None]]:
    """The day's verdict on each letter due today, against today's data: None (still due), or
    ("cancel" | "skip", the reason): paid or on hold since, or a different letter due instead."""
    sent, holds = day_plan.sent, day_plan.holds
    verdicts = []
    for letter in due:
        statement = day_plan.statements.get(letter.account_id)
        decision, held = None, False
        if statement is not None:
            hold = holds.get(letter.account_id)
            decision = decide_letter(statement, sent.get(letter.account_id, []), config, as_of,
                                     (hold.until, hold.reason) if hold else None)
            held = statement.account.on_hold(as_of) or (hold is not None and as_of <= hold.until)
        verdicts.append((letter, _no_longer_due(letter, statement, data, decision, held)))
    return verdicts
