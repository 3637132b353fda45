"""Values pre-phrased for prose, by locale: billing periods and their spans, counts with the right
unit, late-fee rates in words, so that no clause ever assembles them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

_DIGITS = "零一二三四五六七八九"
_CYCLE_BY_MONTHS = {1: "monthly", 2: "bimonthly", 3: "quarterly"}
_MONTH = re.compile(r"^(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*月?(?:份)?$")
_MONTH_RANGE = re.compile(r"^(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*月?\s*(?:[-–—~～至到/])\s*(\d{1,2})\s*月?(?:份)?$")
_QUARTER = re.compile(r"^(\d{4})\s*(?:年)?\s*(?:第\s*([1-4一二三四])\s*季度|[-\s]?Q([1-4]))$", re.I)
_QUARTER_WORDS = {"一": 1, "二": 2, "三": 3, "四": 4}


@dataclass(frozen=True, order=True)
class BillingPeriod:
    """A billing period read from the data's period text: its first month and how many months it covers."""

    year: int
    first_month: int
    months: int

    @property
    def last(self) -> tuple[int, int]:
        index = self.year * 12 + self.first_month - 1 + self.months - 1
        return index // 12, index % 12 + 1

    @property
    def quarter(self) -> int | None:
        if self.months == 3 and self.first_month in (1, 4, 7, 10):
            return (self.first_month - 1) // 3 + 1
        return None


def parse_period(text: str) -> BillingPeriod | None:
    """2026-10, 2026/10, 2026年10月 (a month); 2026年1-2月 (two months); 2026年第2季度, 2026-Q2
    (a quarter). None for anything else (an invoice number, say)."""
    text = text.strip()
    if match := _MONTH.match(text):
        year, month = int(match[1]), int(match[2])
        return BillingPeriod(year, month, 1) if 1 <= month <= 12 else None
    if match := _MONTH_RANGE.match(text):
        year, first, last = int(match[1]), int(match[2]), int(match[3])
        if 1 <= first < last <= 12:
            return BillingPeriod(year, first, last - first + 1)
        return None
    if match := _QUARTER.match(text):
        quarter = match[2] or match[3]
        number = _QUARTER_WORDS.get(quarter) or int(quarter)
        return BillingPeriod(int(match[1]), (number - 1) * 3 + 1, 3)
    return None


def distinct_periods(periods: Sequence[str]) -> tuple[str, ...]:
    """The period texts once each, in the order given (the statement's: oldest first)."""
    return tuple(dict.fromkeys(periods))


def parsed_periods(periods: Sequence[str]) -> list[BillingPeriod] | None:
    """The distinct billing periods, oldest first, when every text reads as one (2026-10 and
    2026年10月 are the same month); None when any does not."""
    parsed = [parse_period(p) for p in distinct_periods(periods)]
    if not parsed or any(p is None for p in parsed):
        return None
    return sorted({p for p in parsed if p is not None})


def count_periods(periods: Sequence[str]) -> int:
    """How many billing periods, each counted once however it is written."""
    parsed = parsed_periods(periods)
    return len(parsed) if parsed is not None else len(distinct_periods(periods))


def billing_cycle(periods: Sequence[str]) -> str:
    """monthly, bimonthly or quarterly when every period reads as one of a kind; otherwise other."""
    parsed = parsed_periods(periods)
    lengths = {p.months for p in parsed} if parsed else set()
    return _CYCLE_BY_MONTHS.get(lengths.pop(), "other") if len(lengths) == 1 else "other"


def chinese_number(number: int) -> str:
    """0..99999999 in Chinese numerals as prose writes them: 3 -> 三, 10 -> 十, 15 -> 十五, 120 -> 一百二十."""
    if number < 0 or number >= 10**8:
        raise ValueError(f"out of range for Chinese numerals: {number}")
    if number < 10:
        return _DIGITS[number]
    if number < 20:
        return "十" + (_DIGITS[number % 10] if number % 10 else "")
    if number >= 10**4:
        high, low = divmod(number, 10**4)
        if not low:
            return chinese_number(high) + "万"
        # Inside a number, ten is 一十: 一万零一十, not 一万零十.
        rest = chinese_number(low) if low >= 20 or low < 10 else "一" + chinese_number(low)
        return chinese_number(high) + "万" + ("零" if low < 1000 else "") + rest
    words = ""
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = number // value % 10
        if digit:
            words += ("零" if zero and words else "") + _DIGITS[digit] + unit
            zero = False
        else:
            zero = True
    return words


def count_times(number: int) -> str:
    """A count of occasions in Chinese prose: 1 -> 一次, 2 -> 两次, 3 -> 三次."""
    return ("两" if number == 2 else chinese_number(number)) + "次"


_ENGLISH_NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                    "twelve")


def number_in_words(number: int, locale: str) -> str:
    """A small count as prose writes it: 两 / two; larger ones in figures."""
    if locale.startswith("zh"):
        return "两" if number == 2 else chinese_number(number)
    return _ENGLISH_NUMBERS[number] if number < len(_ENGLISH_NUMBERS) else str(number)


def times_in_words(number: int, locale: str) -> str:
    """How many times: 一次, 两次, 三次; once, twice, three times."""
    if locale.startswith("zh"):
        return count_times(number)
    return {1: "once", 2: "twice"}.get(number, f"{number_in_words(number, locale)} times")


def _zh_month(year: int, month: int) -> str:
    return f"{year}年{month}月"


def period_span(periods: Sequence[str], locale: str) -> str:
    """The billing periods in arrears as prose: 2026年10月; 2026年1月至10月; 2025年11月至2026年10月;
    2026年第2季度; 2025年第4季度至2026年第3季度; for periods that are not dates (invoice numbers),
    the invoice(s) listed in Schedule 2."""
    distinct = distinct_periods(periods)
    ordered = parsed_periods(periods)
    chinese = locale.startswith("zh")
    if not distinct:
        return ""
    if ordered is None:
        if chinese:
            return distinct[0] if len(distinct) == 1 else f"{distinct[0]}至{distinct[-1]}等{len(distinct)}期"
        return "the invoice listed in Schedule 2" if len(distinct) == 1 else "the invoices listed in Schedule 2"
    first, last = ordered[0], ordered[-1]
    if all(p.quarter for p in ordered):
        return _quarter_span(first, last, chinese)
    start = (first.year, first.first_month)
    end = last.last
    if chinese:
        if start == end:
            return _zh_month(*start)
        if start[0] == end[0]:
            return f"{start[0]}年{start[1]}月至{end[1]}月"
        return f"{_zh_month(*start)}至{_zh_month(*end)}"
    names = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")
    if start == end:
        return f"{names[start[1] - 1]} {start[0]}"
    if start[0] == end[0]:
        return f"{names[start[1] - 1]} to {names[end[1] - 1]} {start[0]}"
    return f"{names[start[1] - 1]} {start[0]} to {names[end[1] - 1]} {end[0]}"


def _quarter_span(first: BillingPeriod, last: BillingPeriod, chinese: bool) -> str:
    if chinese:
        if first == last:
            return f"{first.year}年第{first.quarter}季度"
        if first.year == last.year:
            return f"{first.year}年第{first.quarter}季度至第{last.quarter}季度"
        return f"{first.year}年第{first.quarter}季度至{last.year}年第{last.quarter}季度"
    if first == last:
        return f"Q{first.quarter} {first.year}"
    return f"Q{first.quarter} {first.year} to Q{last.quarter} {last.year}"


_ZH_UNITS = {"monthly": "个月", "quarterly": "个季度", "bimonthly": "期", "other": "期"}
_EN_UNITS = {"monthly": ("month", "months"), "quarterly": ("quarter", "quarters"),
             "bimonthly": ("two-month period", "two-month periods"), "other": ("invoice", "invoices")}


def period_count(periods: Sequence[str], locale: str) -> str:
    """How many billing periods are in arrears, with the unit the billing cycle calls for:
    5个月, 5个季度, 4期; 3 months, 1 invoice."""
    number = count_periods(periods)
    cycle = billing_cycle(periods)
    if locale.startswith("zh"):
        return f"{number}{_ZH_UNITS[cycle]}"
    singular, plural = _EN_UNITS[cycle]
    return f"{number} {singular if number == 1 else plural}"


def _fraction_words(rate: Decimal) -> str | None:
    """0.0003 -> 万分之三, 0.001 -> 千分之一, 0.01 -> 百分之一, 0.00035 -> None."""
    for scale, name in ((100, "百分之"), (1000, "千分之"), (10000, "万分之")):
        scaled = rate * scale
        if scaled == scaled.to_integral_value() and scaled > 0:
            return name + chinese_number(int(scaled))
    return None


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def rate_in_words(rule: str, rate: Decimal, margin: Decimal, locale: str) -> str:
    """How the late fee is computed, as prose says it: 每日万分之三, 每日千分之一, 0.05% a day,
    8% a year above the Bank of England base rate."""
    chinese = locale.startswith("zh")
    if rule == "daily_rate":
        if chinese:
            words = _fraction_words(rate)
            return f"每日{words}" if words else f"每日{_percent(rate)}"
        return f"{_percent(rate)} a day"
    if rule == "annual_rate":
        if chinese:
            words = _fraction_words(rate)
            return f"年{words}" if words and words.startswith("百分之") else f"年利率{_percent(rate)}"
        return f"{_percent(rate)} a year"
    if rule == "uk_late_payment":
        return (f"高于英格兰银行基准利率{margin.normalize():f}个百分点的年利率" if chinese
                else f"{margin.normalize():f}% a year above the Bank of England base rate")
    return "无" if chinese else "none"


def cap_in_words(cap: str, locale: str) -> str:
    """The late-fee cap as a statement of fact: 滞纳金总额不超过欠费本金; empty when there is none."""
    chinese = locale.startswith("zh")
    if cap == "none":
        return ""
    if cap == "principal":
        return "滞纳金累计不超过欠费本金" if chinese else "the late fee never exceeds the principal"
    share = Decimal(cap)
    if chinese:
        words = _fraction_words(share)
        return f"滞纳金累计不超过欠费本金的{words or _percent(share)}"
    return f"the late fee never exceeds {_percent(share)} of the principal"


def premises(building: str, unit: str, address: str, locale: str) -> str:
    """The debtor's home or premises as a letter names it: 2栋1602房屋 when building and unit are
    known, else the address (位于…的房屋), never an empty place."""
    if not locale.startswith("zh"):
        return " ".join(part for part in (unit, building) if part) or address
    place = f"{building}{unit}".strip()
    return f"{place}房屋" if place and unit else f"位于{address}的房屋"

