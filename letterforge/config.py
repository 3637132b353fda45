"""The workspace settings file, letterforge.toml, as validated pydantic models."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import quote

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from letterforge.diagnostics import Diagnostic, UserError
from letterforge.kinds import KIND_NAMES, KINDS
from letterforge.money import ROUNDING_MODES
from letterforge.records import PROTOCOL_DEBTOR_TYPES, CreditorType, DebtorType, LetterKind

CONFIG_FILE = "letterforge.toml"
SUPPORTED_LOCALES = ("zh-CN", "en-GB")


def _to_decimal(value: Any) -> Any:
    # TOML floats are binary; going through repr keeps the digits the user typed.
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, (int, str)):
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            return value
    return value


ExactDecimal = Annotated[Decimal, BeforeValidator(_to_decimal)]
# What a letter prints of the creditor and of the ways to pay: spaces around it dropped, and a value
# of spaces alone is no value ("phone = ' '" would print an empty line that looks filled in).
Printed = Annotated[str, StringConstraints(strip_whitespace=True)]
PrintedRequired = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _TradingDisclosures(_Settings):
    """A UK company's (or LLP's) registered number and office, which its letters must show
    (Companies Act 2006 s.82; Company, LLP and Business Names (Trading Disclosures) Regulations 2015)."""

    company_number: str = Field(default="", description="registered number, e.g. 01234567, SC123456 or OC412345")
    registered_in: str = Field(default="England and Wales", description="where the company is registered")
    registered_office: str = Field(default="", description="registered office address")

    @field_validator("company_number")
    @classmethod
    def _company_number(cls, value: str) -> str:
        return _registered_number(value)

    @model_validator(mode="after")
    def _both_disclosures(self) -> Self:
        if bool(self.company_number) != bool(self.registered_office.strip()):
            missing = "registered_office" if self.company_number else "company_number"
            raise ValueError(f"give both company_number and registered_office (missing: {missing}): a company's "
                             "letters state its registered number and registered office")
        problem = _registry_problem(self.company_number, self.registered_in)
        if problem:
            raise ValueError(problem)
        return self


class Creditor(_TradingDisclosures):
    name: PrintedRequired
    type: CreditorType
    address: PrintedRequired
    phone: PrintedRequired
    office_hours: Printed = ""
    email: Printed = ""

    def disclosures_missing(self) -> list[str]:
        return [f"creditor.{key}" for key in ("company_number", "registered_office") if not getattr(self, key).strip()]


# Companies House prefixes of the registers outside England and Wales.
_REGISTER_PREFIXES = {"SC": "Scotland", "SO": "Scotland", "SL": "Scotland", "NI": "Northern Ireland",
                      "NC": "Northern Ireland", "R0": "Northern Ireland"}


def _registry_problem(number: str, registered_in: str) -> str:
    """A number from the Scottish or Northern Irish register printed as "registered in England and Wales"."""
    where = _REGISTER_PREFIXES.get(number[:2], "England and Wales")
    if number and where.lower() not in registered_in.lower():
        return f"company number {number} is on the register of {where}: set registered_in = \"{where}\""
    return ""


def _registered_number(value: str) -> str:
    """A Companies House number: 8 digits, or 2 letters and 6 digits (SC, NI, OC ...); leading zeros kept."""
    text = "".join(value.split()).upper()
    if text and not re.fullmatch(r"[0-9]{8}|[A-Z]{2}[0-9]{6}", text):
        raise ValueError(f"{value!r} is not a Companies House number: 8 digits (e.g. 01234567) or 2 letters and "
                         "6 digits (e.g. SC123456); write it as a string, with its leading zeros")
    return text


class BankTransfer(_Settings):
    payee: PrintedRequired
    bank: PrintedRequired
    account_number: PrintedRequired
    sort_code: Printed = ""


class Counter(_Settings):
    address: PrintedRequired
    hours: PrintedRequired


class OnlinePayment(_Settings):
    url: str = Field(min_length=1, description="payment page; {account_id} is replaced by the account")
    label: str = ""

    @field_validator("url")
    @classmethod
    def _has_placeholder(cls, url: str) -> str:
        if "{account_id}" not in url:
            raise ValueError("the URL must contain {account_id} so that each debtor pays their own account")
        if not url.startswith(("https://", "http://")):
            raise ValueError("the URL must start with https://")
        return url

    def for_account(self, account_id: str) -> str:
        # Percent-encoded: an id is data, and must not add a path, query or fragment to the payment link.
        return self.url.replace("{account_id}", quote(account_id, safe="-_.~"))


class PaymentChannels(_Settings):
    bank_transfer: BankTransfer | None = None
    counter: Counter | None = None
    online: OnlinePayment | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> PaymentChannels:
        if not (self.bank_transfer or self.counter or self.online):
            raise ValueError("give at least one payment channel: bank_transfer, counter or online")
        return self


class LateFeeRule(_Settings):
    rule: Literal["none", "daily_rate", "annual_rate", "uk_late_payment"] = "none"
    rate: ExactDecimal = Decimal("0")
    grace_days: int = Field(default=0, ge=0)
    start_date: date | None = None
    cap: str = "none"
    rounding: str = "half-up"
    base_rates: str = ""
    margin: ExactDecimal = Decimal("8")
    compensation: bool = True

    @field_validator("rate", "margin")
    @classmethod
    def _not_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    @field_validator("rounding")
    @classmethod
    def _known_rounding(cls, value: str) -> str:
        if value not in ROUNDING_MODES:
            raise ValueError(f"must be one of {', '.join(ROUNDING_MODES)}")
        return value

    @field_validator("cap")
    @classmethod
    def _known_cap(cls, value: str) -> str:
        if value in ("none", "principal"):
            return value
        try:
            fraction = Decimal(value)
        except InvalidOperation:
            fraction = Decimal(-1)
        if not Decimal(0) < fraction <= Decimal(10):
            raise ValueError('must be "none", "principal" or a fraction of the principal such as "0.3"')
        return value

    @model_validator(mode="after")
    def _rule_needs(self) -> LateFeeRule:
        if self.rule in ("daily_rate", "annual_rate") and self.rate <= 0:
            raise ValueError(f"rule {self.rule!r} needs a rate above 0")
        if self.rule == "uk_late_payment" and not self.base_rates:
            raise ValueError("rule 'uk_late_payment' needs base_rates, the file of Bank of England base rates")
        return self


class LawFirm(_TradingDisclosures):
    name: str = ""
    address: str = ""
    phone: str = ""
    lawyer: str = ""
    certificate_number: str = ""
    # England and Wales: "Authorised and regulated by the Solicitors Regulation Authority (SRA number …)".
    sra_number: str = Field(default="", description="the firm's SRA number, needed for en-GB lawyer's letters")

    @field_validator("sra_number")
    @classmethod
    def _sra_number(cls, value: str) -> str:
        text = "".join(value.split()).upper().removeprefix("SRA")
        if text and not text.isdigit():
            raise ValueError(f"{value!r} is not an SRA number (digits, e.g. 612345)")
        return text

    def missing(self) -> list[str]:
        """The settings a lawyer's letter needs that are not filled in."""
        return [f"law_firm.{key}" for key in ("name", "address", "lawyer", "certificate_number")
                if not getattr(self, key).strip()]


class DataFile(_Settings):
    file: str = Field(min_length=1)
    sheet: str = ""
    encoding: str = "auto"


def _data_file(value: Any) -> Any:
    return {"file": value} if isinstance(value, str) else value


DataFileSetting = Annotated[DataFile, BeforeValidator(_data_file)]


class DataFiles(_Settings):
    accounts: DataFileSetting
    arrears: DataFileSetting
    history: DataFileSetting | None = None


class Letters(_Settings):
    reminder_reply_days: int = Field(default=7, ge=1, le=90)
    demand_reply_days: int = Field(default=7, ge=1, le=90)
    lawyer_reply_days: int = Field(default=14, ge=1, le=90)
    hardship_extra_days: int = Field(default=7, ge=0, le=90, description="longer deadline for hardship")
    signatory: str = Field(default="", description="who signs for the creditor, e.g. 物业服务中心 or Credit Control")
    return_slip: bool = Field(default=False, description="add a return slip (签收回执) for hand delivery")


class Offers(_Settings):
    waive_late_fee: bool = Field(default=True, description="waive the late fee if paid in full by the deadline")
    instalments: bool = Field(default=True, description="offer an instalment plan")
    instalment_months: int = Field(default=6, ge=2, le=36)
    # A plan is offered only where it is in proportion: a debt of at least this total, in
    # instalments of at least this amount (fewer months when the debt is small).
    instalment_minimum_total: ExactDecimal = Field(default=Decimal("500"), ge=0)
    instalment_minimum_amount: ExactDecimal = Field(default=Decimal("100"), ge=0)


class Proof(_Settings):
    enforce: bool = Field(default=True, description="a letter the proof-reader stops is not written "
                                                      "(false: its findings are only reported)")


CHANNELS = ("post", "email", "sms")
DEBTOR_TYPES = tuple(debtor_type.value for debtor_type in DebtorType)
_LOCAL_HOSTS = ("127.0.0.1", "::1", "localhost")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class EmailSettings(_Settings):
    """How letters go by e-mail: the SMTP server, who sends, how fast. Credentials are never here:
    only the names of the environment variables that hold them."""

    host: str = Field(min_length=1, description="SMTP server")
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = Field(
        default="starttls", description="starttls (port 587), tls (implicit, port 465); none only for 127.0.0.1")
    username_env: str = Field(default="", description="name of the environment variable holding the SMTP user")
    password_env: str = Field(default="", description="name of the environment variable holding the SMTP password")
    sender: str = Field(min_length=3, description="the From address, e.g. billing@example.cn")
    sender_name: str = ""
    reply_to: str = ""
    law_firm_sender: str = Field(default="", description="the From of a lawyer's letter: the law firm's address "
                                 "(the letter is the firm's); the sender above stays the Sender, who transmits it")
    law_firm_sender_name: str = ""
    rate_per_minute: int = Field(default=30, ge=1, le=10_000)
    retries: int = Field(default=3, ge=0, le=10, description="new attempts after a temporary (4xx) failure")
    backoff_seconds: float = Field(default=30.0, ge=0, le=3600, description="wait before the first retry; doubles")
    timeout_seconds: float = Field(default=60.0, gt=0, le=600)

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key in ("password", "username", "user", "secret", "api_key"):
                if key in value:
                    raise ValueError(f"{key} must not be written in letterforge.toml: put it in an environment "
                                     f"variable and give that variable's name as {key.split('_')[0]}_env"
                                     if key in ("password", "username") else
                                     f"{key} must not be written in letterforge.toml: use username_env and "
                                     "password_env, the names of environment variables")
        return value

    @field_validator("sender", "sender_name", "reply_to", "law_firm_sender", "law_firm_sender_name")
    @classmethod
    def _one_header_line(cls, value: str) -> str:
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise ValueError("a line break or control character has no place in an e-mail header")
        return value.strip()

    @field_validator("sender", "reply_to", "law_firm_sender")
    @classmethod
    def _address(cls, value: str) -> str:
        if value and (value.count("@") != 1 or " " in value or not value.isascii() or value.startswith("@")
                      or value.endswith("@") or any(ch in value for ch in "<>,;\"")):
            raise ValueError(f"{value!r} is not one plain e-mail address (e.g. billing@example.cn)")
        return value

    @field_validator("username_env", "password_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if value and not _ENV_NAME.match(value):
            # The value is not repeated: a password written here by mistake must not reach the terminal.
            raise ValueError("not an environment variable name (e.g. LETTERFORGE_SMTP_PASSWORD): give the "
                             "variable's name, never the secret itself")
        return value

    @model_validator(mode="after")
    def _plain_only_locally(self) -> Self:
        if self.security == "none" and self.host not in _LOCAL_HOSTS:
            raise ValueError(f"security = \"none\" sends letters and credentials unencrypted: use starttls or "
                             f"tls for {self.host} (none is allowed for a server on 127.0.0.1 only)")
        if bool(self.username_env) != bool(self.password_env):
            raise ValueError("give both username_env and password_env, or neither (a server without login)")
        return self


class Delivery(_Settings):
    """Which channels each letter goes by: `channels` maps "default", a kind ("demand") or a kind and
    debtor type ("lawyer.individual") to a list of post, email, sms. The most specific key wins.
    An e-mail or SMS goes only to a debtor who agreed to that channel (email_consent, sms_consent)."""

    channels: dict[str, tuple[Literal["post", "email", "sms"], ...]] = Field(
        default_factory=lambda: {"default": ("post",)})
    send_after_batch: bool = Field(default=False, description="e-mail the day's letters when the batch completes")
    sms_after_batch: bool = Field(default=False, description="send (or write the day file of) the day's SMS "
                                                             "notices when the batch completes")
    # validate_default: a missing [delivery.email] is checked (and named) at load, not at `send`
    email: EmailSettings | None = Field(default=None, validate_default=True)

    @field_validator("channels")
    @classmethod
    def _channel_keys(cls, channels: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for key, chosen in channels.items():
            kind, _, debtor_type = key.partition(".")
            if key != "default" and (kind not in KIND_NAMES or (debtor_type and debtor_type not in DEBTOR_TYPES)):
                raise ValueError(f"{key!r} is not \"default\", a kind ({', '.join(KIND_NAMES)}) or a kind and debtor "
                                 f"type such as \"lawyer.individual\" ({', '.join(DEBTOR_TYPES)})")
            if not chosen:
                raise ValueError(f"{key}: give at least one channel ({', '.join(CHANNELS)})")
            if len(set(chosen)) < len(chosen):
                raise ValueError(f"{key}: a channel is named twice")
        return channels

    @field_validator("email")
    @classmethod
    def _email_when_chosen(cls, email: EmailSettings | None, info: ValidationInfo) -> EmailSettings | None:
        if email is not None:
            return email
        channels = info.data.get("channels") or {}
        chosen = [key for key, names in channels.items() if "email" in names]
        if chosen:
            listed = ", ".join(f"delivery.channels.{key}" for key in chosen)
            raise ValueError(f"not set, yet {listed} send{'s' if len(chosen) == 1 else ''} letters by email: add a "
                             "[delivery.email] section (host, port, sender, ...) or take \"email\" out of those channels")
        if info.data.get("send_after_batch"):
            raise ValueError("not set, yet delivery.send_after_batch = true e-mails the day's letters: add a "
                             "[delivery.email] section (host, port, sender, ...) or set send_after_batch = false")
        return None

    def channels_for(self, kind: str, debtor_type: str) -> tuple[str, ...]:
        """The channels the settings choose for a letter of this kind to this type of debtor."""
        for key in (f"{kind}.{debtor_type}", kind, "default"):
            if key in self.channels:
                return tuple(self.channels[key])
        return ("post",)


class Policy(_Settings):
    """The escalation rules and the staggered issue (defaults from collection practice)."""

    reminder_start_day: int = Field(default=5, ge=1, le=28)
    reminder_checkpoints: tuple[int, ...] = (5, 15, 25)
    reminders_before_demand: int = Field(default=2, ge=0, le=12)
    demand_wait_days: int = Field(default=7, ge=0, le=90, description="after a demand's deadline")
    lawyer_min_months: int = Field(default=3, ge=1, le=36)
    lawyer_min_demands: int = Field(default=2, ge=1, le=10)
    daily_caps: dict[str, int] = Field(default_factory=lambda: {k.value: k.daily_cap for k in KINDS.values()})
    first_lawyer_wave: int = Field(default=3, ge=1)
    lawyer_wave_gap_days: int = Field(default=30, ge=0, le=365,
                                      description="no lawyer's letter for this long: the next ones start with a small wave")
    per_group_daily: dict[str, int] = Field(default_factory=lambda: {k.value: k.group_daily_cap for k in KINDS.values()})
    horizon_days: int = Field(default=30, ge=1, le=366)
    reference_patterns: dict[str, str] = Field(default_factory=lambda: {
        k.value: k.reference_pattern for k in KINDS.values()})

    @field_validator("reminder_checkpoints")
    @classmethod
    def _days_of_month(cls, days: tuple[int, ...]) -> tuple[int, ...]:
        if not days or any(not 1 <= day <= 28 for day in days):
            raise ValueError("give days of the month from 1 to 28")
        return tuple(sorted(set(days)))

    @field_validator("daily_caps", "per_group_daily")
    @classmethod
    def _per_kind(cls, caps: dict[str, int]) -> dict[str, int]:
        unknown = set(caps) - set(KIND_NAMES)
        if unknown or any(value < 0 for value in caps.values()):
            raise ValueError(f"give a number of letters (0 or more) for each of {', '.join(KIND_NAMES)}")
        return caps

    @field_validator("reference_patterns")
    @classmethod
    def _patterns(cls, patterns: dict[str, str]) -> dict[str, str]:
        for kind, pattern in patterns.items():
            if kind not in KIND_NAMES:
                raise ValueError(f"unknown letter kind {kind!r}")
            try:
                pattern.format(year=2026, number=1)
            except (KeyError, IndexError, ValueError) as error:
                raise ValueError(f"{kind}: {pattern!r} is not a pattern with {{year}} and {{number}} ({error})") from None
            if "{number" not in pattern or "{year" not in pattern:
                raise ValueError(f"{kind}: the pattern needs {{year}} and {{number}}, e.g. 物催字〔{{year}}〕第{{number:04d}}号")
        if len(set(patterns.values())) < len(patterns):
            raise ValueError("each kind of letter needs its own pattern: two kinds would share reference numbers")
        return patterns

    def cap(self, kind: str) -> int:
        return self.daily_caps.get(kind, 0)

    def group_cap(self, kind: str) -> int:
        return self.per_group_daily.get(kind, self.cap(kind))

    def pattern(self, kind: str) -> str:
        return self.reference_patterns.get(kind) or Policy().reference_patterns[kind]

    def reference(self, kind: str, year: int, number: int) -> str:
        return self.pattern(kind).format(year=year, number=number)

    def reference_number(self, kind: str, year: int, reference: str) -> int | None:
        """The number of a reference of this kind and year (e.g. from the history file), if it is one."""
        with_year = re.sub(r"\{year(:[^}]*)?\}", lambda m: ("{:" + m.group(1)[1:] + "}" if m.group(1) else "{}")
                           .format(year), self.pattern(kind))
        parts = re.split(r"(\{number[^}]*\})", with_year)
        if len(parts) != 3:
            return None
        match = re.fullmatch(re.escape(parts[0]) + r"(\d+)" + re.escape(parts[2]), reference.strip())
        return int(match.group(1)) if match else None


class Limits(_Settings):
    """Bounds on input, so that one oversized file, field or account cannot stop or swamp a run."""

    max_file_mb: int = Field(default=20, ge=1, le=2048, description="a data file larger than this is not read")
    max_field_chars: int = Field(default=10_000, ge=100, le=100_000, description="a longer cell rejects its row")
    max_items_per_account: int = Field(default=2_000, ge=1, le=1_000_000,
                                       description="an account with more arrears rows is rejected")
    max_messages_per_file: int = Field(default=100, ge=1, le=100_000,
                                       description="problems shown per data file; the rest are counted")


ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Signing(_Settings):
    """Sealed PDFs (PAdES): the PKCS#12 files that sign issued letters. Their passwords are read from
    the environment variables named here, never from this file."""

    certificate: str = Field(default="", description="the creditor's PKCS#12 file (.p12/.pfx), relative to "
                                                      "the workspace; signs every issued PDF")
    password_env: str = "LETTERFORGE_SIGNING_PASSWORD"
    law_firm_certificate: str = Field(default="", description="the law firm's PKCS#12 file; the only one that "
                                                               "signs lawyer's letters (without it they go unsealed)")
    law_firm_password_env: str = "LETTERFORGE_LAW_FIRM_SIGNING_PASSWORD"
    timestamp_url: str = Field(default="", description="an RFC 3161 time-stamping authority (http or https)")
    trust: list[str] = Field(default_factory=list, description="CA certificates (PEM or DER files, relative to "
                                                               "the workspace) that `verify` trusts")

    @field_validator("password_env", "law_firm_password_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not ENV_NAME.fullmatch(value):
            raise ValueError("must be the NAME of an environment variable that holds the password "
                             "(letters, digits, _), never the password itself")
        return value

    @field_validator("timestamp_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not re.match(r"https?://[^\s/]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.certificate or self.law_firm_certificate)

    def key_for(self, kind: str) -> tuple[str, str] | None:
        """The certificate file and password variable that sign a letter of this kind, if any. A
        lawyer's letter is issued by the law firm (Lawyers' Law art. 25): only the firm's certificate
        seals it, never the creditor's, whose seal would sit where the firm's 公章 goes."""
        if kind == LetterKind.LAWYER:
            return (self.law_firm_certificate, self.law_firm_password_env) if self.law_firm_certificate else None
        return (self.certificate, self.password_env) if self.certificate else None

    @property
    def lawyer_unsealed(self) -> bool:
        """Letters are sealed, but lawyer's letters are not: the creditor's certificate is set and the
        law firm's is not."""
        return bool(self.certificate) and not self.law_firm_certificate


class PrintPack(_Settings):
    # strict: `true` or "12" is a slip, not a number of letters (lax parsing would read true as 1)
    letters_per_volume: int = Field(default=500, ge=1, le=100_000, strict=True,
                                    description="letters in one volume of the day's print pack (print-pack-001.pdf, ...)")


class Sms(_Settings):
    """SMS notices: the gateway that sends them (none: the day file is written for upload to an SMS
    platform), its URL and Authorization header read from environment variables, and how many
    segments a notice may take."""

    gateway: Literal["", "json-http"] = Field(default="", description="json-http: the generic JSON/HTTP adapter")
    url_env: str = "LETTERFORGE_SMS_URL"
    auth_env: str = "LETTERFORGE_SMS_AUTH"
    max_segments: int = Field(default=2, ge=1, le=4, description="segments a notice may take (clauses check)")

    @field_validator("url_env", "auth_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not ENV_NAME.fullmatch(value):
            raise ValueError("must be the NAME of an environment variable (letters, digits, _), never the value")
        return value


class Permissions(_Settings):
    group: str = Field(default="", description="group given read access to every file written, e.g. a print shop's")


class Batch(_Settings):
    """Where the daily batch renders its letters."""

    executor: Literal["local", "dask"] = Field(default="local", description="local: worker processes on this "
                                               "machine (--jobs); dask: the workers of a Dask cluster")
    scheduler: str = Field(default="", description="the Dask scheduler, e.g. tcp://10.0.0.5:8786")

    @field_validator("scheduler")
    @classmethod
    def _scheduler_address(cls, value: str) -> str:
        return scheduler_address(value) if value else value


def scheduler_address(value: str) -> str:
    """A Dask scheduler's address, tcp:// or tls:// HOST:PORT, as given (ValueError if it is not one)."""
    text = value.strip()
    match = re.fullmatch(r"(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})", text)
    if not match or not 0 < int(match.group(3)) < 65536:
        raise ValueError(f"{value!r} is not a Dask scheduler address: give tcp://HOST:PORT (or tls://), "
                         "e.g. tcp://10.0.0.5:8786")
    return text


class WorkspaceConfig(_Settings):
    creditor: Creditor
    locale: str = "zh-CN"
    currency: str = "CNY"
    payment: PaymentChannels
    late_fee: LateFeeRule = LateFeeRule()
    law_firm: LawFirm = LawFirm()
    data: DataFiles
    columns: dict[str, str] = Field(default_factory=dict)
    letters: Letters = Letters()
    offers: Offers = Offers()
    policy: Policy = Policy()
    limits: Limits = Limits()
    permissions: Permissions = Permissions()
    proof: Proof = Proof()
    batch: Batch = Batch()
    signing: Signing = Signing()
    delivery: Delivery = Delivery()
    print_pack: PrintPack = PrintPack()
    sms: Sms = Sms()

    @field_validator("locale")
    @classmethod
    def _supported_locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)} (en-US is planned)")
        return value

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha() or not value.isupper():
            raise ValueError("must be an ISO 4217 code such as CNY or GBP")
        return value

    @model_validator(mode="after")
    def _delivery_rules(self) -> Self:
        delivery = self.delivery
        if self.locale == "en-GB":
            for debtor_type in PROTOCOL_DEBTOR_TYPES:
                channels = delivery.channels_for(LetterKind.LAWYER, debtor_type)
                if "post" not in channels:
                    raise ValueError(
                        f"delivery.channels: a letter before action to an individual or sole trader "
                        f"(lawyer.{debtor_type}: {', '.join(channels)}) goes by post, e-mail only as a copy "
                        "(Pre-Action Protocol for Debt Claims, section 3, the Letter of Claim): add \"post\"")
        return self

    def letterhead_missing(self, kind: str, locale: str) -> list[str]:
        """The settings a UK letter cannot go out without: the creditor's trading disclosures on every
        en-GB letter, and the solicitors' SRA number on a letter before action."""
        if locale != "en-GB":
            return []
        missing = self.creditor.disclosures_missing()
        if kind == LetterKind.LAWYER and not self.law_firm.sra_number:
            missing.append("law_firm.sra_number")
        return missing

    @property
    def region(self) -> str:
        """The calendar that deadlines are counted in."""
        return "GB-EAW" if self.locale.startswith("en-GB") else "CN"


def _key_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc if not str(part).startswith("function-"))


def parse_config(text: str, file: str = CONFIG_FILE) -> WorkspaceConfig:
    """Parse and validate settings text; raise UserError listing every wrong key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise UserError(f"{file}: not valid TOML: {error}",
                        (Diagnostic(file, None, None, "toml", str(error)),)) from None
    try:
        return WorkspaceConfig.model_validate(raw)
    except ValidationError as error:
        diagnostics = tuple(
            Diagnostic(file, None, _key_path(item["loc"]) or "(top level)", "setting",
                       item["msg"].removeprefix("Value error, "))
            for item in error.errors()
        )
        lines = "\n".join(str(d) for d in diagnostics)
        raise UserError(f"{file} has {len(diagnostics)} problem(s):\n{lines}", diagnostics) from None


def load_config(workspace: Path) -> WorkspaceConfig:
    path = workspace / CONFIG_FILE
    if not path.is_file():
        raise UserError(f"{workspace}: no {CONFIG_FILE} here; create one with `letterforge init`")
    return parse_config(path.read_text(encoding="utf-8"), str(path))
