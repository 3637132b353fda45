"""Tests for letterforge.money: parsing, rounding, formatting and Chinese capital amounts."""

import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letterforge import money
from letterforge.money import (
    CENT,
    ROUNDING_MODES,
    AmountError,
    capital_numerals,
    format_money,
    parse_amount,
    round_money,
)

# --- parse_amount -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234.50", "1234.50"),
        ("1234.5", "1234.50"),
        ("1234", "1234.00"),
        ("  1234.5\n", "1234.50"),
        ("1,234.50", "1234.50"),
        ("12,345,678", "12345678.00"),
        ("0", "0.00"),
        ("0.07", "0.07"),
        ("１，２３４．５０", "1234.50"),
        ("¥1,234.50", "1234.50"),
        ("￥1,234.50", "1234.50"),
        ("£12.30", "12.30"),
        ("$5", "5.00"),
        ("€5", "5.00"),
        ("RMB 1,234.50", "1234.50"),
        ("CNY1234.5", "1234.50"),
        ("GBP 10", "10.00"),
        ("1234.50元", "1234.50"),
        ("１２３４元", "1234.00"),
        ("1234.500", "1234.50"),
        (1234.5, "1234.50"),
        (0.1, "0.10"),
        (1e16, "10000000000000000.00"),
        (-0.0, "0.00"),
        (1234, "1234.00"),
        (0, "0.00"),
        (Decimal("1234.5"), "1234.50"),
        (Decimal("12.340"), "12.34"),
        (Decimal("-0"), "0.00"),
    ],
)
def test_parse_amount_accepts(value: object, expected: str) -> None:
    result = parse_amount(value)
    assert result == Decimal(expected)
    assert result.as_tuple().exponent == -2
    assert str(result) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty amount"),
        ("   ", "empty amount"),
        (None, "empty amount"),
        ("-5", "negative amount: '-5'"),
        ("(5)", "negative amount: '(5)'"),
        ("－５", "negative amount: '－５'"),
        ("¥-5", "negative amount: '¥-5'"),
        ("-¥1,234.50", "negative amount: '-¥1,234.50'"),
        ("(£5.00)", "negative amount: '(£5.00)'"),
        (-5, "negative amount: '-5'"),
        (-0.5, "negative amount: '-0.5'"),
        (Decimal("-0.01"), "negative amount: '-0.01'"),
        ("12.345", "more than two decimals: '12.345'"),
        (Decimal("12.345"), "more than two decimals: '12.345'"),
        (0.1 + 0.2, "more than two decimals: '0.30000000000000004'"),
        ("12,34", "not a number: '12,34'"),
        ("1,2345", "not a number: '1,2345'"),
        ("1,234,5", "not a number: '1,234,5'"),
        (",123", "not a number: ',123'"),
        ("1 234", "not a number: '1 234'"),
        ("12.", "not a number: '12.'"),
        (".5", "not a number: '.5'"),
        ("1e3", "not a number: '1e3'"),
        ("abc", "not a number: 'abc'"),
        ("¥", "not a number: '¥'"),
        ("¥¥5", "not a number: '¥¥5'"),
        ("+5", "not a number: '+5'"),
        ("٣", "not a number: '٣'"),
        ("NaN", "not a number: 'NaN'"),
        ("Infinity", "not a number: 'Infinity'"),
        (Decimal("NaN"), "not a number: 'NaN'"),
        (Decimal("Infinity"), "not a number: 'Infinity'"),
        (float("nan"), "not a number: 'nan'"),
        (float("inf"), "not a number: 'inf'"),
        (True, "not a number: True"),
        ([5], "not a number: [5]"),
        (Decimal("1E+40"), "amount too large: '1E+40'"),
    ],
)
def test_parse_amount_rejects(value: object, reason: str) -> None:
    with pytest.raises(AmountError) as excinfo:
        parse_amount(value)
    assert str(excinfo.value) == reason


def _outcome(read, value):
    try:
        return "ok", read(value)
    except AmountError as error:
        return "error", str(error)


# Texts near the plain form: digits, points, commas, signs, currency marks, spaces, full-width digits.
_AMOUNT_TEXTS = st.one_of(
    st.from_regex(r"\A[0-9]{1,20}(\.[0-9]{0,4})?\Z"),
    st.text(alphabet="0123456789.,-+ ¥$£元()\u3000０１２．", max_size=16),
    st.decimals(min_value=0, max_value=10**16, allow_nan=False, allow_infinity=False).map(str),
    st.from_regex(r"\A\d{1,4}\.\d{1,2}\Z"),  # any Unicode digits, which the plain form must not take
)


@given(_AMOUNT_TEXTS)
@settings(max_examples=2000)
def test_the_plain_amount_fast_path_agrees_with_the_general_reading(text: str) -> None:
    """parse_amount reads plain amounts ("1234.5") by a fast path; whatever the text, the result
    (or the error and its message) is the general reading's, to the digit and the exponent."""
    fast, general = _outcome(parse_amount, text), _outcome(money._parse_text, text)
    assert fast == general
    if fast[0] == "ok":
        assert fast[1].as_tuple() == general[1].as_tuple()


def test_equal_plain_amounts_are_one_object() -> None:
    assert parse_amount("1680.3") is parse_amount("1680.3")
    assert str(parse_amount("1680.3")) == "1680.30" and str(parse_amount("0")) == "0.00"


def test_amount_error_is_value_error() -> None:
    assert issubclass(AmountError, ValueError)


# --- round_money ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "rounding", "expected"),
    [
        ("1.005", "half-up", "1.01"),
        ("1.015", "half-up", "1.02"),
        ("1.004", "half-up", "1.00"),
        ("-1.005", "half-up", "-1.01"),
        ("1.005", "half-even", "1.00"),
        ("1.015", "half-even", "1.02"),
        ("1.0051", "half-even", "1.01"),
        ("-1.005", "half-even", "-1.00"),
        ("1.009", "down", "1.00"),
        ("-1.009", "down", "-1.00"),
        ("1.001", "up", "1.01"),
        ("-1.001", "up", "-1.01"),
        ("1.005", "up", "1.01"),
        ("1.005", "down", "1.00"),
        ("7", "half-up", "7.00"),
        ("-0.004", "half-up", "0.00"),
        ("-0.001", "down", "0.00"),
    ],
)
def test_round_money(amount: str, rounding: str, expected: str) -> None:
    result = round_money(Decimal(amount), rounding)
    assert str(result) == expected


def test_round_money_default_is_half_up() -> None:
    assert round_money(Decimal("2.675")) == Decimal("2.68")


def test_round_money_unknown_mode() -> None:
    with pytest.raises(ValueError, match="unknown rounding mode 'banker'"):
        round_money(Decimal("1.005"), "banker")


def test_constants() -> None:
    assert CENT == Decimal("0.01")
    assert set(ROUNDING_MODES) == {"half-up", "half-even", "down", "up"}


# --- format_money -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        ("12345.6", "CNY", "zh-CN", "¥12,345.60"),
        ("12345.6", "GBP", "en-GB", "£12,345.60"),
        ("12345.6", "USD", "en-US", "$12,345.60"),
        ("0", "CNY", "zh-CN", "¥0.00"),
        ("1234567.89", "GBP", "en-GB", "£1,234,567.89"),
        ("-50", "GBP", "en-GB", "-£50.00"),
        ("12345", "JPY", "en-GB", "JP¥12,345.00"),
        ("1.005", "GBP", "en-GB", "£1.01"),
    ],
)
def test_format_money(amount: str, currency: str, locale: str, expected: str) -> None:
    assert format_money(Decimal(amount), currency, locale) == expected


# --- capital_numerals: examples ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("1234.56", "人民币壹仟贰佰叁拾肆元伍角陆分"),
        ("2000.00", "人民币贰仟元整"),
        ("3005.20", "人民币叁仟零伍元贰角整"),
        ("60080.07", "人民币陆万零捌拾元零柒分"),
        ("1680.32", "人民币壹仟陆佰捌拾元零叁角贰分"),
        ("107000.53", "人民币壹拾万零柒仟元零伍角叁分"),
        ("10.50", "人民币壹拾元零伍角整"),
        ("15", "人民币壹拾伍元整"),
        ("100", "人民币壹佰元整"),
        ("1010", "人民币壹仟零壹拾元整"),
        ("100000", "人民币壹拾万元整"),
        ("100010000", "人民币壹亿零壹万元整"),
        ("100000000", "人民币壹亿元整"),
        ("100001000", "人民币壹亿零壹仟元整"),
        ("0", "人民币零元整"),
        ("0.30", "人民币叁角整"),
        ("0.07", "人民币柒分"),
        ("0.37", "人民币叁角柒分"),
        ("10.05", "人民币壹拾元零伍分"),
        ("1.00", "人民币壹元整"),
        ("999999999999.99", "人民币玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ],
)
def test_capital_numerals_examples(amount: str, expected: str) -> None:
    assert capital_numerals(Decimal(amount)) == expected


@pytest.mark.parametrize("amount", ["-0.01", "1000000000000", "1.005", "NaN", "Infinity"])
def test_capital_numerals_rejects(amount: str) -> None:
    with pytest.raises(ValueError):
        capital_numerals(Decimal(amount))


# --- capital_numerals: rules, checked by property -------------------------------------------

_DIGIT_VALUES = {char: value for value, char in enumerate("零壹贰叁肆伍陆柒捌玖")}
_PLACE_VALUES = {"拾": 10, "佰": 100, "仟": 1000}
_SECTION_VALUES = {"万": 10**4, "亿": 10**8}


def decode_capitals(text: str) -> Decimal:
    """Independent reader: digit x place unit within a section, sections scaled by 万/亿."""
    assert text.startswith("人民币")
    body = text.removeprefix("人民币").removesuffix("整")
    total = section = digit = 0
    cents = 0
    previous = ""
    for char in body:
        if char in _DIGIT_VALUES:
            digit = _DIGIT_VALUES[char]
        elif char in _PLACE_VALUES:
            assert previous in _DIGIT_VALUES and previous != "零", f"{char} without a digit in {text}"
            section += digit * _PLACE_VALUES[char]
            digit = 0
        elif char in _SECTION_VALUES:
            total += (section + digit) * _SECTION_VALUES[char]
            section = digit = 0
        elif char == "元":
            cents += (total + section + digit) * 100
            total = section = digit = 0
        elif char == "角":
            cents += digit * 10
            digit = 0
        elif char == "分":
            cents += digit
            digit = 0
        else:
            raise AssertionError(f"unexpected {char!r} in {text}")
        previous = char
    assert total == section == digit == 0, f"digits without a unit in {text}"
    return Decimal(cents) / 100


def _from_digits(digits: list[str]) -> int:
    return int("".join(digits))


# Uniform integers rarely contain runs of zeros, where the 零 rules matter; mix in zero-heavy ones.
cents_strategy = st.one_of(
    st.integers(min_value=0, max_value=999_999_999_999_99),
    st.lists(st.sampled_from("0000000123456789"), min_size=1, max_size=14).map(_from_digits),
)


def _integer_zero_runs(yuan: int) -> int:
    """Runs of 0 with a non-zero digit after them: each is written as exactly one 零."""
    return len(re.findall(r"0+(?=[1-9])", str(yuan)))


@settings(max_examples=300)
@given(cents_strategy)
def test_capital_numerals_rules(cents: int) -> None:
    amount = Decimal(cents) / 100
    text = capital_numerals(amount.quantize(CENT))
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10

    assert decode_capitals(text) == amount
    assert text.startswith("人民币")
    assert text.endswith("整") == (fen == 0)
    assert "零零" not in text
    assert not text.endswith("零")
    if cents != 0:
        assert re.search("零[元万亿整]", text) is None
    assert "亿万" not in text
    assert all(text[i - 1] in "壹贰叁肆伍陆柒捌玖" for i, char in enumerate(text) if char == "拾")

    yuan_digit = yuan % 10
    zero_after_yuan = yuan > 0 and ((yuan_digit == 0 and jiao != 0) or (jiao == 0 and fen != 0))
    assert ("元零" in text) == zero_after_yuan

    if yuan > 0:
        integer_part = text.removeprefix("人民币").split("元")[0]
        assert integer_part.count("零") == _integer_zero_runs(yuan)
    elif cents == 0:
        assert text == "人民币零元整"
    else:
        assert "元" not in text and "零" not in text
