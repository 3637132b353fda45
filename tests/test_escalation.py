from datetime import date, timedelta
from decimal import Decimal

import pytest

from letterforge.config import parse_config
from letterforge.escalation import SentLetter, decide_letter, months_before
from letterforge.records import Account, ArrearsItem, DebtorCategory, LetterKind
from letterforge.statements import compute_statement

from test_config import MINIMAL

LAW_FIRM = '\n[law_firm]\nname = "某律师事务所"\naddress = "某路1号"\nlawyer = "张律师"\ncertificate_number = "13301201510987654"\n'
CONFIG = parse_config(MINIMAL + LAW_FIRM)
NO_FIRM = parse_config(MINIMAL)


def statement(as_of: date, due: list[date], category: DebtorCategory = DebtorCategory.UNKNOWN, note: str = "",
              hold: tuple[str, date | None] = ("", None)):
    account = Account("A1", "张三", "某路1号", building="1栋", category=category, note=note,
                      hold_reason=hold[0], hold_until=hold[1])
    items = tuple(ArrearsItem("A1", d.strftime("%Y-%m"), "物业服务费", Decimal("300.00"), Decimal("0.00"), d)
                  for d in due)
    return compute_statement(account, items, CONFIG, as_of)


def sent(kind: LetterKind, issued: date, days: int = 7) -> SentLetter:
    return SentLetter("A1", kind, issued, issued + timedelta(days=days), f"{kind.value}-{issued}")


def test_nothing_overdue_stops_the_ladder():
    decision = decide_letter(statement(date(2026, 11, 25), []), [], CONFIG, date(2026, 11, 25))
    assert decision.kind is None and "the ladder stops" in decision.explanation


def test_reminder_at_checkpoints_at_most_one_per_checkpoint():
    s = statement(date(2026, 11, 15), [date(2026, 11, 5)])
    assert decide_letter(s, [], CONFIG, date(2026, 11, 4)).kind is None  # before the 5th
    assert decide_letter(s, [], CONFIG, date(2026, 11, 15)).kind is LetterKind.REMINDER
    already = [sent(LetterKind.REMINDER, date(2026, 11, 16))]
    assert decide_letter(s, already, CONFIG, date(2026, 11, 20)).kind is None
    assert decide_letter(s, already, CONFIG, date(2026, 11, 25)).kind is LetterKind.REMINDER


def test_demand_after_the_policy_number_of_reminders():
    s = statement(date(2026, 11, 26), [date(2026, 10, 5)])
    reminders = [sent(LetterKind.REMINDER, date(2026, 10, 15)), sent(LetterKind.REMINDER, date(2026, 10, 25))]
    assert decide_letter(s, reminders, CONFIG, date(2026, 11, 26)).kind is LetterKind.DEMAND
    assert decide_letter(s, reminders[:1], CONFIG, date(2026, 11, 26)).kind is LetterKind.REMINDER


def test_demand_on_a_dispute_already_answered():
    s = statement(date(2026, 11, 26), [date(2026, 10, 5)], DebtorCategory.DISPUTE, note="漏水已于10月整改完毕。")
    assert decide_letter(s, [], CONFIG, date(2026, 11, 26)).kind is LetterKind.DEMAND


def test_next_step_waits_the_reply_period_after_a_demand_deadline():
    s = statement(date(2026, 11, 26), [date(2026, 6, 5)])
    demand = [sent(LetterKind.DEMAND, date(2026, 11, 2))]  # deadline 11-09, next step from 11-16
    decision = decide_letter(s, demand, CONFIG, date(2026, 11, 15))
    assert decision.kind is None and "waits until 2026-11-16" in decision.explanation
    assert decide_letter(s, demand, CONFIG, date(2026, 11, 16)).kind is LetterKind.DEMAND


def test_lawyer_only_after_three_months_and_two_demands_and_a_firm():
    as_of = date(2026, 11, 25)
    demands = [sent(LetterKind.DEMAND, date(2026, 9, 1)), sent(LetterKind.DEMAND, date(2026, 10, 1))]
    old = statement(as_of, [date(2026, 8, 5)])
    assert decide_letter(old, demands, CONFIG, as_of).kind is LetterKind.LAWYER
    assert decide_letter(old, demands[:1], CONFIG, as_of).kind is LetterKind.DEMAND
    young = statement(as_of, [date(2026, 8, 26)])
    decision = decide_letter(young, [sent(LetterKind.DEMAND, date(2026, 9, 1)), sent(LetterKind.DEMAND, date(2026, 10, 1))],
                             CONFIG, as_of)
    assert decision.kind is None and "younger than 3 months" in decision.explanation
    no_firm = decide_letter(old, demands, NO_FIRM, as_of)
    assert no_firm.kind is None and "law_firm.name" in no_firm.explanation


def test_after_a_lawyers_letter_wait_for_its_deadline_then_nothing_more():
    s = statement(date(2026, 11, 25), [date(2026, 6, 5)])
    letters = [sent(LetterKind.DEMAND, date(2026, 8, 1)), sent(LetterKind.DEMAND, date(2026, 9, 1)),
               sent(LetterKind.LAWYER, date(2026, 11, 10), 14)]
    assert "its deadline is 2026-11-24" in decide_letter(s, letters, CONFIG, date(2026, 11, 20)).explanation
    later = decide_letter(s, letters, CONFIG, date(2026, 11, 25))
    assert later.kind is None and "legal action, outside letterforge" in later.explanation


def test_holds_from_data_and_from_the_ledger():
    on_hold = statement(date(2026, 11, 25), [date(2026, 10, 5)], hold=("投诉处理中", date(2026, 12, 15)))
    assert decide_letter(on_hold, [], CONFIG, date(2026, 11, 25)).kind is None
    plain = statement(date(2026, 11, 25), [date(2026, 10, 5)])
    ledger_hold = decide_letter(plain, [], CONFIG, date(2026, 11, 25), (date(2026, 12, 1), "已签分期协议"))
    assert ledger_hold.kind is None and "已签分期协议" in ledger_hold.explanation
    assert decide_letter(plain, [], CONFIG, date(2026, 12, 5), (date(2026, 12, 1), "x")).kind is LetterKind.REMINDER


def test_letters_about_debts_since_paid_do_not_count():
    s = statement(date(2026, 11, 26), [date(2026, 11, 5)])
    old_letters = [sent(LetterKind.DEMAND, date(2026, 3, 1)), sent(LetterKind.DEMAND, date(2026, 4, 1))]
    assert decide_letter(s, old_letters, CONFIG, date(2026, 11, 26)).kind is LetterKind.REMINDER


@pytest.mark.parametrize("day, months, expected", [
    (date(2026, 11, 25), 3, date(2026, 8, 25)), (date(2026, 5, 31), 3, date(2026, 2, 28)),
    (date(2028, 5, 31), 3, date(2028, 2, 29)), (date(2026, 1, 15), 3, date(2025, 10, 15))])
def test_months_before(day, months, expected):
    assert months_before(day, months) == expected


def test_the_registry_rules_decide_the_ladder(monkeypatch):
    """decide_letter names no kind: it asks each KindSpec's waits, then calls_for, top rung first."""
    from dataclasses import replace

    from letterforge.kinds import KINDS, Verdict

    s = statement(date(2026, 11, 26), [date(2026, 10, 5)])
    reminders = [sent(LetterKind.REMINDER, date(2026, 10, 15)), sent(LetterKind.REMINDER, date(2026, 10, 25))]
    assert decide_letter(s, reminders, CONFIG, date(2026, 11, 26)).kind is LetterKind.DEMAND
    asked: list[str] = []

    def never(ladder):
        asked.append(ladder.as_of.isoformat())
        return None

    # A demand whose rule never calls for it: the ladder falls to the next rung down, a reminder.
    monkeypatch.setitem(KINDS, LetterKind.DEMAND, replace(KINDS[LetterKind.DEMAND], calls_for=never))
    assert decide_letter(s, reminders, CONFIG, date(2026, 11, 26)).kind is LetterKind.REMINDER
    assert asked == ["2026-11-26"]
    # A top rung that waits (its verdict in its own words) stops the ladder before any rung is called for.
    monkeypatch.setitem(KINDS, LetterKind.LAWYER, replace(
        KINDS[LetterKind.LAWYER], waits=lambda ladder: Verdict(None, (f"waits: {len(ladder.sent[LetterKind.REMINDER])} reminders",))))
    decision = decide_letter(s, reminders, CONFIG, date(2026, 11, 26))
    assert decision.kind is None and decision.reasons[-1] == "waits: 2 reminders"
    assert asked == ["2026-11-26"]


def test_each_kind_states_its_rule_in_the_registry():
    from letterforge.kinds import KINDS, _no_say

    assert all(spec.calls_for is not _no_say for spec in KINDS.values())
    assert list(KINDS) == [LetterKind.REMINDER, LetterKind.DEMAND, LetterKind.LAWYER]  # lowest rung first
