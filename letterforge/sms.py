"""SMS texts: how long a text is in segments (GSM-7 or UCS-2), the rules an `sms` clause follows
(the variables it may use, the sender's signature, the widest values it is measured with), and
mobile numbers as SMS platforms take them. Sending is sms_notices.py's."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

SMS_SLOT = "sms"
# GSM 03.38: the default alphabet, and its extension table (each of those takes two septets).
GSM7_BASIC = frozenset("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
# The variables a notice may use: the account, the amounts, the letter and who sends it. A name, an
# address, a unit or a note would put personal data on a phone screen anyone may see.
SMS_VARIABLES = ("debtor.account_id", "total", "statement.principal", "statement.late_fees", "letter.reference",
                 "letter.issued_on", "letter.deadline", "creditor.name", "creditor.phone", "creditor.office_hours")
# The widest values a notice is measured with by `clauses check` (in the workspace's own locale, the
# creditor's name and phone are taken from the settings).
WIDEST_VALUES = {
    "zh-CN": {"debtor.account_id": "X" * 16, "total": "¥9,999,999.99", "statement.principal": "¥9,999,999.99",
              "statement.late_fees": "¥9,999,999.99", "letter.reference": "锦物催字〔2026〕第0000号XX",
              "letter.issued_on": "2026年12月31日", "letter.deadline": "2026年12月31日", "creditor.office_hours": "X" * 16,
              "creditor.name": "物" * 16, "creditor.phone": "0" * 16},
    "en-GB": {"debtor.account_id": "X" * 16, "total": "£9,999,999.99", "statement.principal": "£9,999,999.99",
              "statement.late_fees": "£9,999,999.99", "letter.reference": "X" * 24,
              "letter.issued_on": "30 September 2026", "letter.deadline": "30 September 2026",
              "creditor.office_hours": "X" * 24, "creditor.name": "X" * 30, "creditor.phone": "0" * 16},
}
SIGNATURE = re.compile(r"^【[^】]+】|【[^】]+】$")
SIGNED = re.compile(r"^【[^【】]+】[^【】]*$|^[^【】]*【[^【】]+】$")  # one 【…】, at the start or the end


def signature_problem(text: str) -> str:
    """Why a Chinese text's sender signature would not be read as one; empty when it would. SMS
    platforms take the 【…】 at the start or the end as the sender and refuse (or misread) a text with
    another 【 or 】 in it, such as a creditor's name that has brackets of its own."""
    if SIGNED.match(text):
        return ""
    if SIGNATURE.search(text):
        return "the text has 【 or 】 besides its sender's signature (a creditor's name with 【】 of its own?)"
    return "the text does not start or end with the sender's signature in 【】"


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # GSM-7 or UCS-2
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def sms_length(text: str) -> SmsLength:
    """How a text travels: GSM-7 when every character is in its alphabet (160 a message, 153 a part
    of a longer one), otherwise UCS-2, as any Chinese text (70 a message, 67 a part)."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        encoding, single, part = "GSM-7", 160, 153
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
    else:
        encoding, single, part = "UCS-2", 70, 67
        units = len(text.encode("utf-16-le")) // 2
    segments = 0 if units == 0 else 1 if units <= single else math.ceil(units / part)
    return SmsLength(encoding, units, segments)


def widest_text(text: str, locale: str, own: dict[str, str]) -> str:
    """A clause text with each variable replaced by the widest value it may take (`own`: the
    creditor's name and phone from the settings)."""
    values = {**WIDEST_VALUES.get(locale, WIDEST_VALUES["en-GB"]), **own}

    def value(match: re.Match[str]) -> str:
        name = match.group(1).split("|")[0].strip()
        return values.get(name, "X" * 16)

    return re.sub(r"\{\{(.*?)\}\}", value, text, flags=re.S)


# Full-width digits, plus, hyphen, brackets and the ideographic space as their ASCII forms (and only
# those: NFKC would also turn a stray ² into a 2 and text a wrong number).
FULL_WIDTH = {**{0xFF10 + n: str(n) for n in range(10)}, 0xFF0B: "+", 0xFF0D: "-", 0xFF08: "(", 0xFF09: ")",
              0x3000: " "}


def phone_number(number: str, locale: str) -> str:
    """A mobile number as SMS platforms take it: digits only, a Chinese number in its 11-digit form,
    another in international form without '+'. Empty when it is not a plausible mobile number."""
    digits = re.sub(r"[\s\-()]", "", number.translate(FULL_WIDTH))  # ＋８６ １３８… typed with a Chinese IME
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    elif locale == "en-GB" and digits.startswith("07"):
        digits = "44" + digits[1:]
    if not re.fullmatch(r"[0-9]+", digits):  # ASCII digits only (str.isdigit takes ² and ٣ too)
        return ""
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) == 11 and digits.startswith("1"):
        return digits  # a mainland China mobile number
    return digits if 10 <= len(digits) <= 15 and not digits.startswith("0") else ""
