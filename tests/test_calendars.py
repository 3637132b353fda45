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


# -- the holidays of a year, kept on disk (start-up of a one-letter command) ------------------------

@pytest.fixture
def holiday_cache(tmp_path, monkeypatch):
    from letterforge import calendars

    monkeypatch.setenv("LETTERFORGE_CACHE_DIR", str(tmp_path / "cache"))
    calendars.holiday_dates.cache_clear()
    yield tmp_path / "cache"
    calendars.holiday_dates.cache_clear()


@pytest.mark.parametrize("country, subdivision, year", [("CN", None, 2030), ("GB", "ENG", 2026)])
def test_a_years_holidays_are_the_packages_and_are_read_back_without_it(holiday_cache, monkeypatch, country,
                                                                         subdivision, year):
    import holidays

    from letterforge import calendars

    expected = frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year))
    assert calendars.holiday_dates(country, subdivision, year) == expected and expected
    assert len(list(holiday_cache.glob("holidays-*.json"))) == 1

    def not_again(*args):
        raise AssertionError("worked out again although the cache is fresh")

    monkeypatch.setattr(calendars, "_holidays", not_again)
    calendars.holiday_dates.cache_clear()  # as a new process
    assert calendars.holiday_dates(country, subdivision, year) == expected


@pytest.mark.parametrize("content", ["", "{not json", "[]", '{"key": null}', "DATES:[1]", 'DATES:"2030-01-01"',
                                     'DATES:["2030-13-01"]', "NO-DATES"])
def test_a_damaged_or_foreign_holidays_file_is_worked_out_again_and_repaired(holiday_cache, content):
    import json

    from letterforge import calendars

    good = calendars.holiday_dates("CN", None, 2030)
    (path,) = holiday_cache.glob("holidays-*.json")
    stored = json.loads(path.read_text())
    if content.startswith("DATES:"):
        content = json.dumps({"key": stored["key"], "dates": json.loads(content[6:])})
    elif content == "NO-DATES":
        content = json.dumps({"key": stored["key"]})
    path.write_text(content)
    calendars.holiday_dates.cache_clear()
    assert calendars.holiday_dates("CN", None, 2030) == good
    assert json.loads(path.read_text()) == stored


def test_an_upgraded_holidays_package_is_asked_again(holiday_cache, monkeypatch):
    from letterforge import calendars

    calendars.holiday_dates("GB", "ENG", 2026)
    real_key = calendars._holidays_key
    monkeypatch.setattr(calendars, "_holidays_key", lambda *args: {**real_key(*args), "package": "a newer release"})
    asked = []
    real = calendars._holidays
    monkeypatch.setattr(calendars, "_holidays", lambda *args: asked.append(args) or real(*args))
    calendars.holiday_dates.cache_clear()
    assert date(2026, 12, 25) in calendars.holiday_dates("GB", "ENG", 2026)
    assert asked == [("GB", "ENG", 2026)]
