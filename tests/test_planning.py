from collections import Counter
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from letterforge.config import Policy
from letterforge.planning import Candidate, PlannedLetter, plan_issue
from letterforge.records import LetterKind

POLICY = Policy(daily_caps={"reminder": 4, "demand": 3, "lawyer": 5}, first_lawyer_wave=3,
                per_group_daily={"reminder": 2, "demand": 3, "lawyer": 1}, horizon_days=20)
START = date(2026, 9, 28)  # Monday before the National Day holiday


def lawyer(account: str, group: str, total: str, oldest: date = date(2026, 1, 5)) -> Candidate:
    return Candidate(account, LetterKind.LAWYER, group, Decimal(total), oldest)


def test_first_wave_is_small_and_chosen_by_largest_then_oldest():
    candidates = [lawyer(f"L{i}", f"B{i}", str(1000 + i)) for i in range(8)]
    candidates.append(lawyer("TIE", "B9", "1007", date(2025, 1, 5)))
    plan = plan_issue(candidates, [], POLICY, "CN", START, recent_lawyer_letters=0)
    first = plan.on(START)
    assert {l.account_id for l in first} == {"TIE", "L7", "L6"}  # 1007 twice: the older arrears first
    assert len(plan.on(date(2026, 9, 29))) == 5


def test_no_small_wave_when_lawyers_letters_went_out_recently():
    candidates = [lawyer(f"L{i}", f"B{i}", "1000") for i in range(8)]
    plan = plan_issue(candidates, [], POLICY, "CN", START, recent_lawyer_letters=2)
    assert len(plan.on(START)) == 5


def test_at_most_n_of_one_kind_per_building_per_day():
    candidates = [lawyer(f"L{i}", "2栋", str(1000 + i)) for i in range(4)]
    plan = plan_issue(candidates, [], POLICY, "CN", START, recent_lawyer_letters=0)
    days = [l.issue_on for l in plan.letters]
    assert len(set(days)) == 4


def test_working_days_only_national_day_skipped():
    candidates = [Candidate(f"R{i}", LetterKind.REMINDER, f"G{i}", Decimal("10"), date(2026, 9, 5)) for i in range(12)]
    plan = plan_issue(candidates, [], POLICY, "CN", START, recent_lawyer_letters=0)
    assert sorted({l.issue_on for l in plan.letters}) == [date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30)]
    more = [Candidate(f"S{i}", LetterKind.REMINDER, f"H{i}", Decimal("10"), date(2026, 9, 5)) for i in range(2)]
    kept = [PlannedLetter(l.account_id, l.kind, l.group, l.issue_on, new=False) for l in plan.letters]
    later = plan_issue(more, kept, POLICY, "CN", START, recent_lawyer_letters=0)
    assert {l.issue_on for l in later.letters if l.new} == {date(2026, 10, 8)}  # first working day after the holiday


def test_existing_letters_keep_their_day_when_new_debtors_arrive():
    first = plan_issue([lawyer(f"L{i}", f"B{i}", "1000") for i in range(6)], [], POLICY, "CN", START, 0)
    existing = [PlannedLetter(l.account_id, l.kind, l.group, l.issue_on, new=False) for l in first.letters]
    bigger = [lawyer("BIG", "B99", "999999")]
    second = plan_issue(bigger, existing, POLICY, "CN", START, 0)
    assert {(l.account_id, l.issue_on) for l in second.letters if not l.new} == {
        (l.account_id, l.issue_on) for l in first.letters}
    assert len(second.on(START)) == 3  # the first wave stays at three


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(list(LetterKind)), st.integers(0, 5), st.integers(1, 10_000)),
                max_size=60))
def test_caps_hold_for_any_candidates(specs):
    candidates = [Candidate(f"A{i}", kind, f"G{group}", Decimal(total), date(2026, 1, 5))
                  for i, (kind, group, total) in enumerate(specs)]
    plan = plan_issue(candidates, [], POLICY, "CN", START, recent_lawyer_letters=0)
    per_day = Counter((l.issue_on, l.kind) for l in plan.letters)
    per_group = Counter((l.issue_on, l.kind, l.group) for l in plan.letters)
    for (day, kind), count in per_day.items():
        assert count <= POLICY.cap(kind.value)
    for (day, kind, group), count in per_group.items():
        assert count <= POLICY.group_cap(kind.value)
    lawyer_days = sorted({l.issue_on for l in plan.letters if l.kind is LetterKind.LAWYER})
    if lawyer_days:
        assert per_day[(lawyer_days[0], LetterKind.LAWYER)] <= POLICY.first_lawyer_wave
    assert len(plan.letters) + len(plan.unplaced) == len(candidates)
    assert plan_issue(candidates, [], POLICY, "CN", START, 0) == plan
