"""Planning: the staggered issue — which letter goes out on which working day.

Letters already given a day keep it; new ones fill what is left of each day: a daily cap per
kind, at most a few letters of one kind per building or group on one day (neighbours who get
them together band together), and a small first wave of lawyer's letters, chosen by a stated
rule: largest amount outstanding first, then the oldest arrears, then the account id.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from letterforge.calendars import working_days
from letterforge.config import Policy
from letterforge.records import LetterKind

KIND_ORDER = (LetterKind.LAWYER, LetterKind.DEMAND, LetterKind.REMINDER)


@dataclass(frozen=True)
class Candidate:
    """A letter that escalation says is due, waiting for its day."""

    account_id: str
    kind: LetterKind
    group: str
    total: Decimal
    oldest_due: date
    letter_id: int | None = None  # a planned letter whose day passed without a batch

    @property
    def priority(self) -> tuple[Decimal, date, str]:
        return (-self.total, self.oldest_due, self.account_id)


@dataclass(frozen=True)
class PlannedLetter:
    account_id: str
    kind: LetterKind
    group: str
    issue_on: date
    new: bool = True
    letter_id: int | None = None


@dataclass(frozen=True)
class Plan:
    letters: tuple[PlannedLetter, ...]
    unplaced: tuple[Candidate, ...]
    days: tuple[date, ...]

    def on(self, day: date) -> list[PlannedLetter]:
        return [letter for letter in self.letters if letter.issue_on == day]

    def totals(self) -> dict[date, Counter[LetterKind]]:
        totals: dict[date, Counter[LetterKind]] = {day: Counter() for day in self.days}
        for letter in self.letters:
            totals.setdefault(letter.issue_on, Counter())[letter.kind] += 1
        return totals


def plan_issue(
    candidates: list[Candidate],
    existing: list[PlannedLetter],
    policy: Policy,
    region: str,
    start: date,
    recent_lawyer_letters: int,
    horizon: int | None = None,
    overdue: list[Candidate] | None = None,
) -> Plan:
    """Give each candidate the first working day from `start` that has room for it, within the
    horizon (working days; default the policy's). With no lawyer's letter sent recently, the
    first day that gets lawyer's letters takes only the first wave. `overdue` letters (their day
    passed without a batch) are placed first, in the order given, under the same caps."""
    days = working_days(start, horizon or policy.horizon_days, region)
    per_day: Counter[tuple[date, LetterKind]] = Counter()
    per_group: Counter[tuple[date, LetterKind, str]] = Counter()
    for letter in existing:
        per_day[(letter.issue_on, letter.kind)] += 1
        per_group[(letter.issue_on, letter.kind, letter.group)] += 1
    # The first wave is the first day lawyer's letters go out at all: it gets the small cap.
    wave_applies = recent_lawyer_letters == 0
    lawyer_days = sorted(letter.issue_on for letter in existing if letter.kind is LetterKind.LAWYER)
    first_wave_day: date | None = lawyer_days[0] if wave_applies and lawyer_days else None
    planned: list[PlannedLetter] = []
    unplaced: list[Candidate] = []
    ordered = [*(overdue or []), *sorted(candidates, key=lambda c: (KIND_ORDER.index(c.kind), c.priority))]
    for candidate in ordered:
        kind = candidate.kind
        for day in days:
            cap = policy.cap(kind.value)
            if kind is LetterKind.LAWYER and wave_applies and first_wave_day in (None, day):
                cap = min(cap, policy.first_lawyer_wave)
            if per_day[(day, kind)] >= cap:
                continue
            if per_group[(day, kind, candidate.group)] >= policy.group_cap(kind.value):
                continue
            if kind is LetterKind.LAWYER and wave_applies and first_wave_day is None:
                first_wave_day = day
            per_day[(day, kind)] += 1
            per_group[(day, kind, candidate.group)] += 1
            planned.append(PlannedLetter(candidate.account_id, kind, candidate.group, day,
                                         letter_id=candidate.letter_id))
            break
        else:
            unplaced.append(candidate)
    letters = sorted([*existing, *planned], key=lambda l: (l.issue_on, KIND_ORDER.index(l.kind), l.account_id))
    return Plan(tuple(letters), tuple(unplaced), tuple(days))
