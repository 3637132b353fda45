"""Working days and deadlines: China (public holidays with 调休 working weekends) and England and Wales."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache

import holidays

log = logging.getLogger(__name__)

REGIONS: dict[str, Callable[[date], bool]] = {}


def region(name: str) -> Callable[[Callable[[date], bool]], Callable[[date], bool]]:
    def register(function: Callable[[date], bool]) -> Callable[[date], bool]:
        REGIONS[name] = function
        return function

    return register


@lru_cache(maxsize=None)
def _holidays(country: str, subdivision: str | None, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision, years=year)


@region("CN")
def _china_working_day(day: date) -> bool:
    # chinesecalendar follows the State Council's yearly notice, 调休 working weekends included;
    # for a year it does not know yet, fall back to the statutory holidays and plain weekends.
    import chinese_calendar

    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        _warn_provisional(day.year)
        return day.weekday() < 5 and day not in _holidays("CN", None, day.year)


@lru_cache(maxsize=None)
def _warn_provisional(year: int) -> None:
    log.warning("chinesecalendar has no holiday notice for %s yet: counting weekends and statutory "
                "holidays only; upgrade chinesecalendar once the State Council publishes it", year)


@region("GB-EAW")
def _england_wales_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays("GB", "ENG", day.year)


def is_working_day(day: date, region_name: str) -> bool:
    try:
        check = REGIONS[region_name]
    except KeyError:
        raise ValueError(f"unknown calendar {region_name!r} (known: {', '.join(REGIONS)})") from None
    return _answer(check, day)


@lru_cache(maxsize=16_384)
def _answer(check: Callable[[date], bool], day: date) -> bool:
    # Planning asks about the same few dozen days for every account: ask the calendar once a day.
    return check(day)


def next_working_day(day: date, region_name: str) -> date:
    """The day itself if it is a working day, otherwise the first working day after it."""
    while not is_working_day(day, region_name):
        day += timedelta(days=1)
    return day


def deadline_after(issued_on: date, days: int, region_name: str) -> date:
    """The last day of a period of `days` days from issue (Civil Code arts. 201, 203).

    The day of issue is not counted; a last day that falls on a rest day moves to the next
    working day.
    """
    return next_working_day(issued_on + timedelta(days=days), region_name)


def working_days(start: date, count: int, region_name: str) -> list[date]:
    """The first `count` working days on or after `start`."""
    days: list[date] = []
    day = start
    while len(days) < count:
        if is_working_day(day, region_name):
            days.append(day)
        day += timedelta(days=1)
    return days
