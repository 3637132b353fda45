"""Values phrased for prose: periods, spans, counts with their unit, rates in words."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from letterforge.phrasing import (
    BillingPeriod,
    billing_cycle,
    cap_in_words,
    chinese_number,
    number_in_words,
    parse_period,
    period_count,
    period_span,
    rate_in_words,
    times_in_words,
)


@pytest.mark.parametrize("text, period", [
    ("2026-10", BillingPeriod(2026, 10, 1)), ("2026/3", BillingPeriod(2026, 3, 1)),
    ("2026年3月", BillingPeriod(2026, 3, 1)), ("2026年3月份", BillingPeriod(2026, 3, 1)),
    ("2026年1-2月", BillingPeriod(2026, 1, 2)), ("2026-09~10", BillingPeriod(2026, 9, 2)),
    ("2026年第2季度", BillingPeriod(2026, 4, 3)), ("2026年第四季度", BillingPeriod(2026, 10, 3)),
    ("2026-Q3", BillingPeriod(2026, 7, 3)), ("2026 Q1", BillingPeriod(2026, 1, 3)),
    ("INV-2026-0174", None), ("2026-13", None), ("2026年5-3月", None), ("", None),
])
def test_periods_are_read_from_the_datas_wording(text, period):
    assert parse_period(text) == period


@pytest.mark.parametrize("periods, zh, en", [
    (["2026-10"], "2026年10月", "October 2026"),
    (["2026-01", "2026-01", "2026-10"], "2026年1月至10月", "January to October 2026"),
    (["2025-11", "2026-10"], "2025年11月至2026年10月", "November 2025 to October 2026"),
    (["2026年第2季度"], "2026年第2季度", "Q2 2026"),
    (["2025年第4季度", "2026年第3季度"], "2025年第4季度至2026年第3季度", "Q4 2025 to Q3 2026"),
    (["2026年第1季度", "2026年第3季度"], "2026年第1季度至第3季度", "Q1 2026 to Q3 2026"),
    (["2026年5-6月", "2026年9-10月"], "2026年5月至10月", "May to October 2026"),
    (["INV-1"], "INV-1", "the invoice listed in Schedule 2"),
    (["INV-1", "INV-2", "INV-3"], "INV-1至INV-3等3期", "the invoices listed in Schedule 2"),
])
def test_spans_never_repeat_an_end_nor_show_an_iso_month(periods, zh, en):
    assert period_span(periods, "zh-CN") == zh
    assert period_span(periods, "en-GB") == en


@pytest.mark.parametrize("periods, cycle, zh, en", [
    (["2026-09", "2026-09", "2026-10"], "monthly", "2个月", "2 months"),
    (["2026年第2季度"] * 2 + ["2026年第3季度"] * 2, "quarterly", "2个季度", "2 quarters"),
    (["2026年5-6月", "2026年7-8月", "2026年9-10月"], "bimonthly", "3期", "3 two-month periods"),
    (["INV-1"], "other", "1期", "1 invoice"),
    (["2026-10", "2026年第3季度"], "other", "2期", "2 invoices"),
    (["2026-10", "2026年10月", "2026/9"], "monthly", "2个月", "2 months"),  # one month written two ways
])
def test_counts_carry_the_billing_cycles_unit(periods, cycle, zh, en):
    assert billing_cycle(periods) == cycle
    assert period_count(periods, "zh-CN") == zh
    assert period_count(periods, "en-GB") == en


@pytest.mark.parametrize("rule, rate, zh, en", [
    ("daily_rate", "0.0003", "每日万分之三", "0.03% a day"),
    ("daily_rate", "0.001", "每日千分之一", "0.1% a day"),
    ("daily_rate", "0.0005", "每日万分之五", "0.05% a day"),
    ("daily_rate", "0.0015", "每日万分之十五", "0.15% a day"),
    ("daily_rate", "0.00035", "每日0.035%", "0.035% a day"),
    ("annual_rate", "0.06", "年百分之六", "6% a year"),
    ("uk_late_payment", "0", "高于英格兰银行基准利率8个百分点的年利率", "8% a year above the Bank of England base rate"),
])
def test_rates_in_words(rule, rate, zh, en):
    assert rate_in_words(rule, Decimal(rate), Decimal("8"), "zh-CN") == zh
    assert rate_in_words(rule, Decimal(rate), Decimal("8"), "en-GB") == en


def test_the_cap_is_a_statement():
    assert cap_in_words("principal", "zh-CN") == "滞纳金累计不超过欠费本金"
    assert cap_in_words("0.3", "zh-CN") == "滞纳金累计不超过欠费本金的百分之三十"
    assert cap_in_words("none", "zh-CN") == ""


@pytest.mark.parametrize("number, words", [
    (0, "零"), (3, "三"), (10, "十"), (15, "十五"), (20, "二十"), (101, "一百零一"), (110, "一百一十"),
    (1001, "一千零一"), (10000, "一万"), (10005, "一万零五"), (10010, "一万零一十"), (12345, "一万二千三百四十五"),
    (100000, "十万"), (1000010, "一百万零一十"),
])
def test_chinese_numbers(number, words):
    assert chinese_number(number) == words


@given(st.integers(min_value=0, max_value=10**8 - 1))
def test_chinese_numbers_use_only_numerals_and_never_two_zeros_in_a_row(number):
    words = chinese_number(number)
    assert words and set(words) <= set("零一二三四五六七八九十百千万")
    assert "零零" not in words and (number == 0 or not words.endswith("零"))


def test_small_counts_in_words():
    assert [times_in_words(n, "zh-CN") for n in (1, 2, 3)] == ["一次", "两次", "三次"]
    assert [times_in_words(n, "en-GB") for n in (1, 2, 4)] == ["once", "twice", "four times"]
    assert number_in_words(2, "en-GB") == "two" and number_in_words(40, "en-GB") == "40"


def test_premises_never_names_an_empty_place():
    from letterforge.phrasing import premises

    assert premises("2栋", "1602", "某路1号2栋1602室", "zh-CN") == "2栋1602房屋"
    assert premises("", "1602", "某路1号1602室", "zh-CN") == "1602房屋"
    assert premises("", "", "某路1号", "zh-CN") == "位于某路1号的房屋"
    assert premises("2栋", "", "某路1号2栋", "zh-CN") == "位于某路1号2栋的房屋"
    assert premises("", "", "1 High Street", "en-GB") == "1 High Street"
