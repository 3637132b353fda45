"""Money for letterforge: parse, round and format exact Decimal amounts, and write Chinese capitals.
Every amount passes through here; floats are never used for arithmetic."""

import re
import unicodedata
from functools import lru_cache
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation

from babel import Locale
from babel.numbers import format_currency

CENT: Decimal = Decimal("0.01")

ROUNDING_MODES: dict[str, str] = {
    "half-up": ROUND_HALF_UP,
    "half-even": ROUND_HALF_EVEN,
    "down": ROUND_DOWN,
    "up": ROUND_UP,
}


class AmountError(ValueError):
    """An amount that cannot be accepted; str() is a short reason fit to show the user."""


_CURRENCY_PREFIX = re.compile(r"^(?:[¥£$€]|RMB|CNY|GBP)\s*", re.IGNORECASE)
_YUAN_SUFFIX = re.compile(r"\s*元$")
# Thousands separators are only accepted in complete groups of three, so "12,34"
# (a likely decimal-comma typo) is rejected instead of being read as 1234.
_NUMBER = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?", re.ASCII)
# How nearly every exported amount is written: digits, at most two decimals, nothing around them.
_PLAIN_AMOUNT = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,2})?", re.ASCII)


def parse_amount(value: object) -> Decimal:
    """Read a non-negative amount from text, int, Decimal or an XLSX float; return it with two places."""
    # bool is an int subclass, but True is not an amount.
    if isinstance(value, bool):
        raise AmountError(f"not a number: {value!r}")
    if value is None:
        raise AmountError("empty amount")
    if isinstance(value, str):
        plain = _plain_amount(value) if type(value) is str else None
        return plain if plain is not None else _parse_text(value)
    if isinstance(value, Decimal):
        return _checked(value, str(value))
    if isinstance(value, int):
        return _checked(Decimal(value), str(value))
    if isinstance(value, float):
        # repr() is the shortest text that round-trips, i.e. what the spreadsheet showed;
        # Decimal(float) would expose the binary expansion (1.1 -> 1.1000000000000000888...).
        text = repr(value)
        return _checked(Decimal(text), text)
    raise AmountError(f"not a number: {value!r}")


@lru_cache(maxsize=65_536)
def _plain_amount(text: str) -> Decimal | None:
    """The fast path for a plain amount ("1234.5"): the Decimal _parse_text gives, or None for any
    other text. Cached: a day's data repeats the same few amounts, which then share one object."""
    if _PLAIN_AMOUNT.fullmatch(text) is None:
        return None
    return Decimal(text).quantize(CENT)


def _parse_text(value: str) -> Decimal:
    shown = value.strip()
    if not shown:
        raise AmountError("empty amount")
    text = unicodedata.normalize("NFKC", shown).strip()
    negative, text = _strip_sign(text)
    text = _CURRENCY_PREFIX.sub("", text, count=1)
    # The sign may also follow the currency marker: "¥-5", "£(5)".
    negative_after_marker, text = _strip_sign(text)
    text = _YUAN_SUFFIX.sub("", text, count=1)
    if not _NUMBER.fullmatch(text):
        raise AmountError(f"not a number: {shown!r}")
    if negative or negative_after_marker:
        raise AmountError(f"negative amount: {shown!r}")
    return _checked(Decimal(text.replace(",", "")), shown)


def _strip_sign(text: str) -> tuple[bool, str]:
    if len(text) >= 2 and text[0] == "(" and text[-1] == ")":
        return True, text[1:-1].strip()
    if text[:1] in ("-", "\N{MINUS SIGN}"):
        return True, text[1:].strip()
    return False, text


def _checked(amount: Decimal, shown: str) -> Decimal:
    if not amount.is_finite():
        raise AmountError(f"not a number: {shown!r}")
    if amount < 0:
        raise AmountError(f"negative amount: {shown!r}")
    try:
        cents = amount.quantize(CENT)
    except InvalidOperation:
        raise AmountError(f"amount too large: {shown!r}") from None
    if cents != amount:
        raise AmountError(f"more than two decimals: {shown!r}")
    # Decimal("-0") and float -0.0 are zero, not a negative amount.
    return cents.copy_abs()


def round_money(amount: Decimal, rounding: str = "half-up") -> Decimal:
    """Quantize to cents with the named mode ("half-up", "half-even", "down", "up")."""
    try:
        mode = ROUNDING_MODES[rounding]
    except KeyError:
        expected = ", ".join(ROUNDING_MODES)
        raise ValueError(f"unknown rounding mode {rounding!r}; expected one of {expected}") from None
    rounded = amount.quantize(CENT, rounding=mode)
    # Rounding a tiny negative to zero must not print as "-0.00".
    return rounded.copy_abs() if rounded.is_zero() else rounded


@lru_cache(maxsize=None)
def _babel_locale(locale: str) -> Locale:
    # Parsing a locale name costs Babel more than formatting the amount: do it once per locale.
    return Locale.parse(locale.replace("-", "_"))


def format_money(amount: Decimal, currency: str, locale: str) -> str:
    """Format for a letter, e.g. "¥12,345.60" (zh-CN) or "£12,345.60" (en-GB).

    The amount is first rounded half-up to cents, so the printed figure is round_money(amount);
    two decimals are shown for every currency.
    """
    return format_currency(
        round_money(amount),
        currency,
        locale=_babel_locale(locale),
        # The locale pattern has two decimals; currency_digits=True would drop them for e.g. JPY.
        currency_digits=False,
    )


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACE_UNITS = ("", "拾", "佰", "仟")
_SECTION_UNITS = ("", "万", "亿")
_CAPITAL_LIMIT = Decimal(10) ** 12


def capital_numerals(amount: Decimal) -> str:
    """Write the amount in Chinese capitals (大写金额) by the People's Bank of China rules.

    Where the rules make a 零 optional (万 or 元 digit 0 before a non-zero 千 or 角 digit),
    it is always written: 1680.32 -> 人民币壹仟陆佰捌拾元零叁角贰分.
    """
    if not amount.is_finite() or amount < 0 or amount >= _CAPITAL_LIMIT:
        raise ValueError(f"amount out of range for capital numerals: {amount}")
    if amount != amount.quantize(CENT):
        raise ValueError(f"more than two decimals: {amount}")
    cents = int(amount * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10

    if yuan == 0 and cents != 0:
        # Under one yuan only 角/分 are written: 人民币柒分, not 人民币零元零柒分.
        words = ""
    else:
        words = _integer_capitals(yuan) + "元"
        # Rule 4 (元 digit 0 before a non-zero 角) and rule 5 (角 0 before a non-zero 分).
        if (yuan % 10 == 0 and jiao != 0) or (jiao == 0 and fen != 0):
            words += "零"
    if jiao:
        words += _DIGITS[jiao] + "角"
    words += (_DIGITS[fen] + "分") if fen else "整"
    return "人民币" + words


def _integer_capitals(number: int) -> str:
    if number == 0:
        return _DIGITS[0]
    digits = str(number)
    words: list[str] = []
    zero_pending = False
    section_has_digit = False
    for index, char in enumerate(digits):
        position = len(digits) - 1 - index
        section, place = divmod(position, 4)
        digit = int(char)
        if digit == 0:
            # A run of zeros becomes one 零, written only if a non-zero digit follows.
            zero_pending = True
        else:
            if zero_pending:
                words.append(_DIGITS[0])
                zero_pending = False
            words.append(_DIGITS[digit] + _PLACE_UNITS[place])
            section_has_digit = True
        if place == 0:
            if section_has_digit:
                words.append(_SECTION_UNITS[section])
            section_has_digit = False
    return "".join(words)
