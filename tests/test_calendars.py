from datetime import date

import pytest

from letterforge.calendars import deadline_after, is_working_day, next_working_day, working_days


def test_national_day_holiday_moves_deadline_to_next_working_day():
    # 14 days from 17 September 2026 is 1 October, inside the National Day holiday (1-7 October).
    assert deadline_after(date(2026, 9, 17), 14, "CN") == date(2026, 10, 8)


def test_tiaoxiu_working_saturday_is_a_working_day():
    # 10 October 2026 is a Saturday worked in exchange for the holiday (调休).
    assert date(2026, 10, 10).weekday() == 5
    assert is_working_day(date(2026, 10, 10), "CN")
    assert deadline_after(date(2026, 9, 26), 14, "CN") == date(2026, 10, 10)


def test_day_of_issue_is_not_counted():
    # Civil Code art. 201: issued Wednesday 4 November, 7 days -> Wednesday 11 November.
    assert deadline_after(date(2026, 11, 4), 7, "CN") == date(2026, 11, 11)


def test_weekend_deadline_moves_to_monday():
    assert deadline_after(date(2026, 11, 7), 7, "CN") == date(2026, 11, 16)


def test_england_bank_holidays():
    assert not is_working_day(date(2026, 12, 25), "GB-EAW")
    assert not is_working_day(date(2026, 12, 28), "GB-EAW")  # Boxing Day observed
    assert next_working_day(date(2026, 12, 25), "GB-EAW") == date(2026, 12, 29)
    assert is_working_day(date(2026, 10, 1), "GB-EAW")


def test_year_without_chinese_notice_falls_back_to_statutory_holidays_and_weekends():
    assert not is_working_day(date(2030, 1, 1), "CN")
    assert not is_working_day(date(2030, 1, 5), "CN")  # Saturday
    assert is_working_day(date(2030, 1, 7), "CN")


def test_working_days_skips_rest_days():
    assert working_days(date(2026, 9, 30), 3, "CN") == [date(2026, 9, 30), date(2026, 10, 8), date(2026, 10, 9)]


def test_unknown_region():
    with pytest.raises(ValueError, match="unknown calendar"):
        is_working_day(date(2026, 1, 1), "XX")
