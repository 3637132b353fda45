"""Working days and deadlines: China (public holidays with 调休 working weekends) and England and Wales."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from letterforge.caches import cache_folder, file_stamp, read_entry, write_entry

if TYPE_CHECKING:
    import holidays

log = logging.getLogger(__name__)

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


REGIONS: dict[str, Callable[[date], bool]] = {}


def region(name: str) -> Callable[[Callable[[date], bool]], Callable[[date], bool]]:
    def register(function: Callable[[date], bool]) -> Callable[[date], bool]:
        REGIONS[name] = function
        return function

    return register


def _holidays(country: str, subdivision: str | None, year: int) -> holidays.HolidayBase:
    import holidays  # a tenth of a second: it loads all its 250 countries to find one

    return holidays.country_holidays(country, subdiv=subdivision, years=year)


def _holidays_key(country: str, subdivision: str | None, year: int) -> dict[str, Any] | None:
    """What a year's holidays were worked out from: the country, the year and the installed
    `holidays` package (its version file changes with every release); None when not installed."""
    spec = find_spec("holidays")
    if spec is None or spec.origin is None:
        return None
    try:
        package = file_stamp(Path(spec.origin).parent / "version.py")
    except OSError:
        return None
    return {"format": 1, "country": country, "subdivision": subdivision, "year": year, "package": package}


@lru_cache(maxsize=None)
def holiday_dates(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """The public holidays of a year, kept in the cache folder (one small file a country and
    year) until the `holidays` package is upgraded, so that a one-letter command does not load it."""
    key = _holidays_key(country, subdivision, year)
    path = cache_folder() / f"holidays-{country}-{subdivision or 'all'}-{year}.json"
    stored = read_entry(path, key) if key is not None else None
    if stored is not None:
        try:
            return frozenset(date.fromisoformat(day) for day in stored["dates"])
        except (KeyError, TypeError, ValueError):
            pass  # damaged: worked out again below
    dates = frozenset(_holidays(country, subdivision, year))
    if key is not None:
        write_entry(path, {"key": key, "dates": sorted(day.isoformat() for day in dates)}, "holidays")
    return dates


@region("CN")
def _china_working_day(day: date) -> bool:
    # chinesecalendar follows the State Council's yearly notice, 调休 working weekends included;
    # for a year it does not know yet, fall back to the statutory holidays and plain weekends.
    import chinese_calendar

    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        _warn_provisional(day.year)
        return day.weekday() < 5 and day not in holiday_dates("CN", None, day.year)


@lru_cache(maxsize=None)
def _warn_provisional(year: int) -> None:
    log.warning("chinesecalendar has no holiday notice for %s yet: counting weekends and statutory "
                "holidays only; upgrade chinesecalendar once the State Council publishes it", year)


@region("GB-EAW")
def _england_wales_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in holiday_dates("GB", "ENG", day.year)


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
