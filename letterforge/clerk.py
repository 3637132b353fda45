"""A clerk's letter: one letter issued now, under the batch's rules and into the same ledger, with
a number from the series and its bytes archived; or a draft, watermarked and never recorded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime

from letterforge.dayplan import DayPlan, earlier_letters, explain, plan_letters
from letterforge.diagnostics import UserError
from letterforge.issuing import record_issue, reserve_numbers
from letterforge.ledger import Ledger, open_ledger, read_ledger
from letterforge.letterfacts import issue_facts
from letterforge.letters import LetterFactory, RenderedLetter
from letterforge.records import LetterKind, LetterStatus
from letterforge.recovery import refuse_unsafe_day, workspace_lock
from letterforge.statements import require_accounts
from letterforge.validation import DebtorData
from letterforge.workspace import Workspace


@dataclass(frozen=True)
class ClerkLetter:
    letter: RenderedLetter
    eligible: bool
    why: str  # the ladder's verdict for the account on the day, in words
    forced: str = ""  # the clerk's reason for issuing a letter the rules do not allow


def eligibility(day_plan: DayPlan, account_id: str, kind: LetterKind) -> tuple[bool, str]:
    """Whether the rules the batch follows allow this letter now, and why, in words."""
    pending = day_plan.pending.get(account_id)
    decision = day_plan.decisions.get(account_id)
    if pending is None and decision is None:
        raise UserError(f"unknown account: {account_id}")
    allowed = (pending is not None and pending.kind is kind) or (decision is not None and decision.kind is kind)
    return allowed, explain(day_plan, account_id)


def draft_letters(workspace: Workspace, account_ids: tuple[str, ...], kind: LetterKind, as_of: date,
                  output_format: str) -> list[ClerkLetter]:
    """Unnumbered previews watermarked 草稿/DRAFT, for any account and kind (every account with
    overdue arrears when none are given); eligibility is reported, not enforced."""
    factory = LetterFactory(workspace)
    require_accounts(factory.data, account_ids)
    ledger = read_ledger(workspace.path)
    try:
        day_plan = plan_letters(workspace, factory.data, ledger, as_of)
        if not account_ids:
            account_ids = tuple(account_id for account_id, statement in day_plan.statements.items()
                                if statement.lines and not statement.account.on_hold(as_of))
        made = []
        for account_id in account_ids:
            allowed, why = eligibility(day_plan, account_id, kind)
            draft = factory.draft(account_id, kind, as_of, earlier=earlier_letters(ledger, account_id, as_of))
            draft = draft.watermarked()  # like a clause preview
            # A preview is for reading every text: the proof-reader's findings are reported, not enforced.
            made.append(ClerkLetter(factory.render(draft, output_format, enforce=False), allowed, why))
        return made
    finally:
        ledger.close()


def issue_letters(workspace: Workspace, account_ids: tuple[str, ...], kind: LetterKind, as_of: date,
                  output_format: str, now: Callable[[], datetime], force_reason: str = "") -> list[ClerkLetter]:
    """Issue the KIND letter to each account as the batch would: the ladder's rules (unless forced,
    with a reason the ledger keeps), a reference from the series, the bytes archived, a ledger
    record. A letter the batch had planned for the account and kind is superseded; the clerk's
    letter counts towards the day's caps."""
    if output_format not in ("pdf", "docx"):
        raise UserError(f"an issued letter is a PDF or a DOCX; use --draft for an {output_format} preview")
    with workspace_lock(workspace):
        data = workspace.load_data()
        require_accounts(data, account_ids)
        ledger = open_ledger(workspace.path, now)
        try:
            refuse_unsafe_day(workspace, ledger, data, as_of, workspace.path / "out")
            factory = LetterFactory(workspace, data)
            return [_issue_one(workspace, data, ledger, factory, account_id, kind, as_of, output_format, force_reason)
                    for account_id in account_ids]
        finally:
            ledger.close()


def _issue_one(workspace: Workspace, data: DebtorData, ledger: Ledger, factory: LetterFactory, account_id: str,
               kind: LetterKind, as_of: date, output_format: str, force_reason: str) -> ClerkLetter:
    day_plan = plan_letters(workspace, data, ledger, as_of)
    allowed, why = eligibility(day_plan, account_id, kind)
    if not allowed and not force_reason:
        raise UserError(f"no {kind.value} letter is due for {account_id} on {as_of.isoformat()}: {why} "
                        "Give --force --reason \"…\" to issue it anyway (the ledger keeps the reason), or --draft "
                        "for a preview.")
    # Compose first: a letter that cannot be made (no law firm, nothing owed) reserves no number.
    earlier = earlier_letters(ledger, account_id, as_of)
    composed = factory.draft(account_id, kind, as_of, "-", earlier=earlier)
    statement = day_plan.statements[account_id]
    for letter in ledger.letters(account_id=account_id, kind=kind.value):
        if letter.status in (LetterStatus.PLANNED, LetterStatus.RESERVED):
            ledger.cancel(letter, f"superseded by a clerk's letter issued on {as_of.isoformat()}")
    group = statement.account.building or f"({account_id})"
    planned = ledger.add_planned([(account_id, kind, as_of, group)])
    (reserved,) = reserve_numbers(workspace, data, ledger, planned, as_of, workspace.path / "out")
    if force_reason:
        ledger.note(reserved, "forced", f"issued by a clerk against the rules: {force_reason} (the rules said: {why})")
    try:
        draft = composed.numbered(reserved.reference or "")
        rendered = factory.render(draft, output_format)
    except UserError as error:
        # The number stays in the series, void, with the reason: the clerk sees why at once.
        ledger.cancel(reserved, f"the letter could not be made: {error}")
        raise
    issued = record_issue(workspace, ledger, reserved, as_of, rendered.content,
                          issue_facts(factory, draft, rendered.content, earlier), None, f".{output_format}",
                          issued_by="clerk", forced=force_reason)
    return ClerkLetter(replace(rendered, content=issued), allowed, why, force_reason)
