"""Validation of debtor data: every row checked, every problem reported, valid rows kept."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from letterforge.config import DataFile, Limits, WorkspaceConfig
from letterforge.diagnostics import Diagnostic
from letterforge.money import AmountError, parse_amount
from letterforge.readers import Cell, NotText, ReadError, Table, read_table
from letterforge.records import (Account, ArrearsItem, DebtorCategory, DebtorType, LetterKind, PriorLetter,
                                 collection_paused)

log = logging.getLogger(__name__)

# Column names as the exports of Chinese property and utility billing systems write them.
# A workspace adds its own in [columns]; English field names are always understood.
ACCOUNT_ALIASES = {
    "account_id": ("户号", "账号", "用户编号", "用户号", "客户编号", "房产编号"),
    "name": ("姓名", "业主姓名", "户名", "用户名称", "客户名称", "业主"),
    "address": ("地址", "住址", "通讯地址", "用水地址", "房屋地址"),
    "unit": ("房号", "房间号", "单元房号"),
    "building": ("楼栋", "楼号", "楼宇", "片区", "分组", "所属楼栋"),
    "category": ("欠费类型", "欠费原因", "客户类型"),
    "language": ("语言",),
    "phone": ("电话", "联系电话", "手机", "手机号"),
    "email": ("邮箱", "电子邮箱"),
    "hold_reason": ("暂缓原因", "暂停原因"),
    "hold_until": ("暂缓至", "暂停至"),
    "note": ("备注", "处理情况", "投诉处理情况"),
    "debtor_type": ("customer_type", "legal_form", "entity_type", "客户性质", "用户性质", "主体类型", "个人/单位",
                    "个人或单位"),
    "title": ("honorific", "称谓", "称呼"),
    "surname": ("last_name", "family_name", "姓氏"),
    "email_consent": ("e-mail_consent", "同意电子送达", "同意邮件送达", "同意电子邮件送达", "电子送达确认"),
    "sms_consent": ("同意短信送达", "同意短信通知", "短信送达确认"),
}
ARREARS_ALIASES = {
    "account_id": ACCOUNT_ALIASES["account_id"],
    "period": ("账期", "所属期间", "费用期间", "期间", "计费周期"),
    "fee_item": ("收费项目", "费用项目", "项目", "费用名称"),
    "amount_due": ("应收金额", "应缴金额", "欠费金额", "账单金额"),
    "amount_paid": ("已缴金额", "实收金额", "已收金额"),
    "due_date": ("应缴日期", "缴费截止日", "到期日", "截止日期"),
}
HISTORY_ALIASES = {
    "account_id": ACCOUNT_ALIASES["account_id"],
    "kind": ("函件类型", "类型"),
    "issued_on": ("发函日期", "发出日期"),
    "reference": ("文号", "编号"),
}
REQUIRED = {
    "accounts": ("account_id", "name", "address"),
    "arrears": ("account_id", "period", "fee_item", "amount_due", "due_date"),
    "history": ("account_id", "kind", "issued_on"),
}
CATEGORY_WORDS = {
    "": DebtorCategory.UNKNOWN,
    "未知": DebtorCategory.UNKNOWN,
    "遗忘": DebtorCategory.FORGOT,
    "误解": DebtorCategory.FORGOT,
    "误解或遗忘": DebtorCategory.FORGOT,
    "经济困难": DebtorCategory.HARDSHIP,
    "困难": DebtorCategory.HARDSHIP,
    "争议": DebtorCategory.DISPUTE,
    "整改": DebtorCategory.DISPUTE,
    "服务不满": DebtorCategory.DISPUTE,
    "恶意拖欠": DebtorCategory.WILFUL,
    "恶意": DebtorCategory.WILFUL,
}
DEBTOR_TYPE_WORDS = {
    "": DebtorType.UNKNOWN,
    "person": DebtorType.INDIVIDUAL,
    "private individual": DebtorType.INDIVIDUAL,
    "consumer": DebtorType.INDIVIDUAL,
    "个人": DebtorType.INDIVIDUAL,
    "自然人": DebtorType.INDIVIDUAL,
    "sole trader": DebtorType.SOLE_TRADER,
    "sole-trader": DebtorType.SOLE_TRADER,
    "个体工商户": DebtorType.SOLE_TRADER,
    "个体户": DebtorType.SOLE_TRADER,
    "limited company": DebtorType.COMPANY,
    "ltd": DebtorType.COMPANY,
    "plc": DebtorType.COMPANY,
    "llp": DebtorType.COMPANY,
    "单位": DebtorType.COMPANY,
    "企业": DebtorType.COMPANY,
    "公司": DebtorType.COMPANY,
    "未知": DebtorType.UNKNOWN,
}
# Forms of address a salutation may use with the surname ("Dear Mr Okafor", "尊敬的王先生").
TITLES = ("Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof", "Sir", "Dame", "Lord", "Lady", "Revd", "先生", "女士")
KIND_WORDS = {
    "提醒": LetterKind.REMINDER,
    "缴费提醒": LetterKind.REMINDER,
    "催缴通知": LetterKind.REMINDER,
    "催费函": LetterKind.DEMAND,
    "催缴函": LetterKind.DEMAND,
    "律师函": LetterKind.LAWYER,
    "lawyer's letter": LetterKind.LAWYER,
    "letter of claim": LetterKind.LAWYER,
}
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)


class FieldError(ValueError):
    """A cell that cannot be read as its field; the message is the reason shown to the user."""


def parse_date(value: Cell) -> date:
    """Read 2026-03-05, 2026/3/5, 2026.3.5, 2026年3月5日 or a spreadsheet date."""
    if isinstance(value, date):
        return value
    if type(value) is str:
        iso = _iso_date(value)
        if iso is not None:
            return iso
    return _read_date(value)


def _read_date(value: Cell) -> date:
    """Every form parse_date accepts, and the reason for a cell that is no date."""
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", str(value if value is not None else "")).strip()
    if not text:
        raise FieldError("empty date")
    text = text.split(" ")[0] if re.match(r"^\d{4}-\d{1,2}-\d{1,2} 00:00(:00)?$", text) else text
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            year, month, day = (int(part) for part in match.groups())
            try:
                return date(year, month, day)
            except ValueError:
                raise FieldError(f"no such date: {text!r}") from None
    raise FieldError(f"not a date: {text!r} (write 2026-03-05, 2026/3/5 or 2026年3月5日)")


@lru_cache(maxsize=65_536)
def _iso_date(text: str) -> date | None:
    """The fast path for an ISO date (2026-03-05): the date parse_date gives, or None for any
    other text. Cached: a day's data repeats the same few dates, which then share one object."""
    if len(text) != 10 or text[4] != "-" or text[7] != "-" or not text.isascii():
        return None
    year, month, day = text[:4], text[5:7], text[8:]
    if not (year.isdigit() and month.isdigit() and day.isdigit()):
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None  # parse_date says which date does not exist


def _text(value: Cell) -> str:
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# Characters an account id must not hold: controls (escape sequences, tabs, line breaks) and
# invisible formatting (right-to-left overrides, zero-width characters), which would hide or
# rewrite what a letter, a file name, the ledger or the terminal shows.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def _account_id(value: Cell) -> str:
    text = _text(value)
    if text.isprintable():  # nearly every id: one pass in C
        return text
    for position, char in enumerate(text, 1):
        if unicodedata.category(char) in _HIDDEN_CATEGORIES:
            raise FieldError(f"holds an invisible control character (U+{ord(char):04X}) at character {position}: "
                             "an account id is printed in letters, file names and on screen; remove it")
    return text  # printable apart from spaces such as U+00A0


def _category(value: Cell) -> DebtorCategory:
    text = _text(value)
    try:
        return DebtorCategory(text.lower())
    except ValueError:
        pass
    if text in CATEGORY_WORDS:
        return CATEGORY_WORDS[text]
    raise FieldError(f"unknown debtor category {text!r} "
                     f"(use {', '.join(c.value for c in DebtorCategory)})")


def _debtor_type(value: Cell) -> DebtorType:
    text = " ".join(_text(value).lower().split())
    try:
        return DebtorType(text.replace(" ", "_"))
    except ValueError:
        pass
    if text in DEBTOR_TYPE_WORDS:
        return DEBTOR_TYPE_WORDS[text]
    raise FieldError(f"unknown debtor type {_text(value)!r} (use individual, sole_trader or company; "
                     "个人, 个体工商户 or 单位)")


def _title(value: Cell) -> str:
    text = _text(value).rstrip(".")
    if not text:
        return ""
    for title in TITLES:
        if text.lower() == title.lower():
            return title
    raise FieldError(f"unknown title {text!r} (use one of {', '.join(TITLES)}; put the full name in name)")


def _kind(value: Cell) -> LetterKind:
    text = _text(value)
    try:
        return LetterKind(text.lower())
    except ValueError:
        pass
    if text.lower() in KIND_WORDS or text in KIND_WORDS:
        return KIND_WORDS.get(text.lower(), KIND_WORDS.get(text, LetterKind.REMINDER))
    raise FieldError(f"unknown letter kind {text!r} (use reminder, demand or lawyer)")


def _optional_date(value: Cell) -> date | None:
    return None if _text(value) == "" else parse_date(value)


def _amount(value: Cell) -> Decimal:
    try:
        return parse_amount(value)
    except AmountError as error:
        raise FieldError(str(error)) from None


def _optional_amount(value: Cell) -> Decimal:
    return Decimal("0.00") if _text(value) == "" else _amount(value)


CONSENT_WORDS = {
    "": False, "yes": True, "y": True, "true": True, "1": True, "agreed": True, "是": True, "同意": True, "已同意": True,
    "√": True, "✓": True, "no": False, "n": False, "false": False, "0": False, "否": False, "不同意": False,
    "未同意": False, "×": False,
}


def _consent(value: Cell) -> bool:
    """Whether the debtor agreed to a channel: yes/no, 是/否, 同意/不同意, 1/0; empty is no."""
    if isinstance(value, bool):
        return value
    text = unicodedata.normalize("NFKC", _text(value)).strip().lower()
    if text in CONSENT_WORDS:
        return CONSENT_WORDS[text]
    raise FieldError(f"not a yes or no: {_clip(text)!r} (write yes or no, 是 or 否, 同意 or 不同意; empty means no)")


def _locale(value: Cell) -> str:
    text = _text(value)
    if text in ("", "zh-CN", "en-GB"):
        return text
    aliases = {"zh": "zh-CN", "zh_cn": "zh-CN", "中文": "zh-CN", "en": "en-GB", "en_gb": "en-GB", "英文": "en-GB"}
    if text.lower() in aliases or text in aliases:
        return aliases.get(text.lower(), aliases.get(text, ""))
    raise FieldError(f"unsupported language {text!r} (use zh-CN or en-GB)")


FieldParser = Callable[[Cell], Any]
ACCOUNT_FIELDS: dict[str, FieldParser] = {
    "account_id": _account_id, "name": _text, "address": _text, "unit": _text, "building": _text,
    "category": _category, "language": _locale, "phone": _text, "email": _text,
    "hold_reason": _text, "hold_until": _optional_date, "note": _text,
    "debtor_type": _debtor_type, "title": _title, "surname": _text,
    "email_consent": _consent, "sms_consent": _consent,
}
ARREARS_FIELDS: dict[str, FieldParser] = {
    "account_id": _account_id, "period": _text, "fee_item": _text,
    "amount_due": _amount, "amount_paid": _optional_amount, "due_date": parse_date,
}
HISTORY_FIELDS: dict[str, FieldParser] = {
    "account_id": _account_id, "kind": _kind, "issued_on": parse_date, "reference": _text,
}


@dataclass(frozen=True)
class RejectedRow:
    """A row kept aside with the reasons it was not used; nothing the user gave is lost."""

    table: str
    file: str
    row: int
    headers: tuple[str, ...]
    cells: tuple[Cell, ...]
    reasons: tuple[str, ...]
    account_id: str = ""  # as written in the row, when the file has the column


@dataclass(frozen=True)
class DebtorData:
    accounts: tuple[Account, ...]
    arrears: tuple[ArrearsItem, ...]
    history: tuple[PriorLetter, ...]
    diagnostics: tuple[Diagnostic, ...]
    rejects: tuple[RejectedRow, ...]
    warnings: tuple[Diagnostic, ...] = ()  # not errors, but likely a mistake: a file with no data rows

    @cached_property
    def _accounts_by_id(self) -> dict[str, Account]:
        return {account.account_id: account for account in self.accounts}

    @cached_property
    def _arrears_by_account(self) -> dict[str, tuple[ArrearsItem, ...]]:
        grouped: dict[str, list[ArrearsItem]] = defaultdict(list)
        for item in self.arrears:
            grouped[item.account_id].append(item)
        return {account_id: tuple(items) for account_id, items in grouped.items()}

    def account(self, account_id: str) -> Account | None:
        return self._accounts_by_id.get(account_id)

    @cached_property
    def accounts_with_rejected_rows(self) -> frozenset[str]:
        """Accounts whose data is incomplete today: a letter to them could state a wrong amount."""
        return frozenset(r.account_id for r in self.rejects if r.account_id)

    def arrears_of(self, account_id: str) -> tuple[ArrearsItem, ...]:
        return self._arrears_by_account.get(account_id, ())


Row = Account | ArrearsItem | PriorLetter


@dataclass
class _ParsedTable:
    table: str
    source: Table | None
    account_column: int | None = None
    # Each valid row as its record at once (a dict of its values would double the peak memory).
    rows: list[tuple[int, Row, tuple[Cell, ...]]] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    rejects: list[RejectedRow] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    too_many: dict[str, int] = field(default_factory=dict)  # accounts over the per-account row limit

    def reject(self, row: int, cells: tuple[Cell, ...], problems: list[Diagnostic]) -> None:
        assert self.source is not None
        self.diagnostics.extend(problems)
        reasons = tuple(f"{p.column}: {p.message}" if p.column else p.message for p in problems)
        index = self.account_column
        account_id = _text(cells[index]) if index is not None and index < len(cells) else ""
        self.rejects.append(RejectedRow(self.table, self.source.file, row, self.source.headers, cells, reasons,
                                        account_id))


def _normalise_header(header: str) -> str:
    return unicodedata.normalize("NFKC", header).strip().lower().replace(" ", "_")


def map_columns(
    headers: tuple[str, ...], fields: Mapping[str, FieldParser], aliases: Mapping[str, tuple[str, ...]],
    workspace_columns: Mapping[str, str],
) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Match a file's headers to field names; return the mapping and (header, problem) pairs."""
    lookup: dict[str, str] = {}
    for field_name, names in aliases.items():
        for name in names:
            lookup[_normalise_header(name)] = field_name
    for name in fields:
        lookup[_normalise_header(name)] = name
    for header, field_name in workspace_columns.items():
        if field_name in fields:
            lookup[_normalise_header(header)] = field_name
    mapping: dict[str, int] = {}
    problems: list[tuple[str, str]] = []
    for index, header in enumerate(headers):
        found = lookup.get(_normalise_header(header))
        if found is None:
            continue
        field_name = found
        if field_name in mapping:
            first = headers[mapping[field_name]]
            problems.append((header, f"both {first!r} and {header!r} are read as {field_name}; keep one"))
            continue
        mapping[field_name] = index
    return mapping, problems


def _clip(text: str, limit: int = 200) -> str:
    # A message quotes the cell it is about; a junk cell must not make a junk-sized message.
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def _cut_cells(cells: tuple[Cell, ...], limit: int) -> tuple[Cell, ...]:
    return tuple(c[:limit] + "…" if isinstance(c, str) and len(c) > limit else c for c in cells)


def _too_long(cells: tuple[Cell, ...], headers: tuple[str, ...], file: str, row: int,
              limit: int) -> list[Diagnostic]:
    try:
        if max(map(len, cells), default=0) <= limit:  # the usual row: text only, none too long
            return []
    except TypeError:
        pass  # numbers or dates among the cells (XLSX, JSON): look at each
    return [Diagnostic(file, row, headers[index] if index < len(headers) else f"column {index + 1}", "too-long",
                       f"{len(cell)} characters, above the limit of {limit} ([limits] max_field_chars)")
            for index, cell in enumerate(cells) if isinstance(cell, str) and len(cell) > limit]


def _over_item_limit(parsed: _ParsedTable, limit: int) -> None:
    """An account with more rows than the limit is refused whole, before its rows are parsed: one
    located message for it, every one of its rows kept in the rejects file with the reason."""
    source, index = parsed.source, parsed.account_column
    if source is None or index is None:
        return
    counts = Counter(_text(cells[index]) if index < len(cells) else "" for _, cells in source.rows)
    over = {account_id: count for account_id, count in counts.items() if count > limit and account_id}
    if not over:
        return
    reasons = {account_id: (f"{count} rows for this account, above the limit of {limit} "
                            "([limits] max_items_per_account); none is used",)
               for account_id, count in over.items()}
    kept, seen = [], Counter[str]()
    for number, cells in source.rows:
        account_id = _text(cells[index]) if index < len(cells) else ""
        if account_id not in over:
            kept.append((number, cells))
            continue
        seen[account_id] += 1
        if seen[account_id] == limit + 1:
            parsed.diagnostics.append(Diagnostic(source.file, number, source.headers[index], "too-many-rows",
                                                 f"account {account_id}: {reasons[account_id][0]}"))
        parsed.rejects.append(RejectedRow(parsed.table, source.file, number, source.headers, cells,
                                          reasons[account_id], account_id))
    parsed.too_many = over
    parsed.source = replace(source, rows=tuple(kept))


def _parse_table(
    table_name: str, data_file: DataFile, workspace: Path, fields: Mapping[str, FieldParser],
    aliases: Mapping[str, tuple[str, ...]], workspace_columns: Mapping[str, str], limits: Limits,
    record: Callable[..., Row],
) -> _ParsedTable:
    path = workspace / data_file.file
    try:
        source = read_table(path, data_file.sheet, data_file.encoding, limits.max_file_mb * 2**20,
                            limits.max_field_chars)
    except ReadError as error:
        parsed = _ParsedTable(table_name, None)
        parsed.diagnostics.append(Diagnostic(str(path), None, None, "unreadable", str(error).split(": ", 1)[-1]))
        return parsed
    mapping, header_problems = map_columns(source.headers, fields, aliases, workspace_columns)
    parsed = _ParsedTable(table_name, source, mapping.get("account_id"))
    for header, problem in header_problems:
        parsed.diagnostics.append(Diagnostic(source.file, 1, header, "duplicate-column", problem))
    missing = [name for name in REQUIRED[table_name] if name not in mapping]
    for name in missing:
        known = ", ".join((name,) + tuple(aliases.get(name, ())))
        parsed.diagnostics.append(Diagnostic(
            source.file, 1, name, "missing-column",
            f"required column missing (accepted headers: {known}; or map yours in [columns])"))
    for number, cells, problem in source.broken:
        parsed.reject(number, cells, [Diagnostic(source.file, number, None, "unreadable-row", problem)])
    if not source.rows and not source.broken:
        parsed.warnings.append(Diagnostic(source.file, None, None, "no-rows",
                                          "the file has a header but no data rows; is it the right export?"))
    if missing:
        # Without a required column no row can be used: keep them all, with the reason.
        for number, cells in source.rows:
            parsed.rejects.append(RejectedRow(table_name, source.file, number, source.headers,
                                              _cut_cells(cells, limits.max_field_chars),
                                              (f"file is missing column(s): {', '.join(missing)}",)))
        return parsed
    if table_name != "accounts":
        _over_item_limit(parsed, limits.max_items_per_account)
        source = parsed.source or source
    # Per field, once per file rather than once per cell: where it is, its header, whether required.
    columns = [(name, parser, mapping.get(name), source.headers[mapping[name]] if name in mapping else name,
                name in REQUIRED[table_name]) for name, parser in fields.items()]
    for number, cells in source.rows:
        values: dict[str, Any] = {}
        problems = _too_long(cells, source.headers, source.file, number, limits.max_field_chars)
        if problems:
            parsed.reject(number, _cut_cells(cells, limits.max_field_chars), problems)
            continue
        width = len(cells)
        for name, parser, index, header, required in columns:
            cell = cells[index] if index is not None and index < width else None
            try:
                if isinstance(cell, NotText):
                    raise FieldError(f"{_clip(cell)} is not text or a number")
                value = values[name] = parser(cell)
            except FieldError as error:
                problems.append(Diagnostic(source.file, number, header, "invalid", _clip(str(error))))
                continue
            if required and (value == "" or value is None):
                problems.append(Diagnostic(source.file, number, header, "required", "required value is empty"))
        problems.extend(_row_rules(table_name, values, source.file, number, mapping, source.headers))
        if problems:
            parsed.reject(number, cells, problems)
        else:
            parsed.rows.append((number, record(**values, source=f"{source.file}:{number}"), cells))
    return parsed


def _row_rules(
    table_name: str, values: dict[str, Any], file: str, row: int, mapping: dict[str, int],
    headers: tuple[str, ...],
) -> list[Diagnostic]:
    if table_name == "accounts":
        return _salutation_rule(values, file, row, mapping, headers)
    if table_name != "arrears":
        return []
    due, paid = values.get("amount_due"), values.get("amount_paid")
    if isinstance(due, Decimal) and isinstance(paid, Decimal) and paid > due:
        column = headers[mapping["amount_paid"]] if "amount_paid" in mapping else "amount_paid"
        return [Diagnostic(file, row, column, "paid-above-due",
                           f"amount paid {paid} is more than amount due {due}")]
    return []


def _salutation_rule(values: dict[str, Any], file: str, row: int, mapping: dict[str, int],
                     headers: tuple[str, ...]) -> list[Diagnostic]:
    """A title without a surname (or the reverse) cannot make "Dear Mr Okafor": say which is missing."""
    title, surname = values.get("title"), values.get("surname")
    if title is None or surname is None or bool(title) == bool(surname):
        return []
    missing = "surname" if title else "title"
    column = headers[mapping[missing]] if missing in mapping else missing
    given = f"title {title!r}" if title else f"surname {surname!r}"
    return [Diagnostic(file, row, column, "salutation",
                       f"{given} is given without a {missing}: give both (the letter writes \"Dear Mr Okafor\") "
                       "or neither (\"Dear Sir or Madam\")")]


def _consumer_problem(accounts: _ParsedTable, config: WorkspaceConfig, row: int,
                      account: Account) -> Diagnostic | None:
    """Late Payment Act interest is owed only between businesses: a letter claiming it from an
    individual would be false, so such a row is set aside with the reason instead."""
    if config.late_fee.rule != "uk_late_payment" or account.debtor_type is not DebtorType.INDIVIDUAL:
        return None
    assert accounts.source is not None
    headers = accounts.source.headers
    index = map_columns(headers, ACCOUNT_FIELDS, ACCOUNT_ALIASES, config.columns)[0].get("debtor_type")
    return Diagnostic(accounts.source.file, row, headers[index] if index is not None else "debtor_type",
                      "consumer-debtor",
                      f"{account.account_id} is an individual, but the late fee rule is uk_late_payment: the Late "
                      "Payment of Commercial Debts (Interest) Act 1998 applies only between businesses; write "
                      "sole_trader if they bought for their business, or chase this debt outside this workspace")


@collection_paused()
def load_debtor_data(workspace: Path, config: WorkspaceConfig) -> DebtorData:
    """Read and check the workspace's accounts, arrears and history; keep what is valid."""
    columns, limits = config.columns, config.limits
    accounts = _parse_table("accounts", config.data.accounts, workspace, ACCOUNT_FIELDS, ACCOUNT_ALIASES, columns,
                            limits, Account)
    arrears = _parse_table("arrears", config.data.arrears, workspace, ARREARS_FIELDS, ARREARS_ALIASES, columns,
                           limits, ArrearsItem)
    parsed = [accounts, arrears]
    history = None
    if config.data.history is not None:
        history = _parse_table("history", config.data.history, workspace, HISTORY_FIELDS, HISTORY_ALIASES, columns,
                               limits, PriorLetter)
        parsed.append(history)
    too_many = {account_id: table for table in parsed for account_id in table.too_many}

    by_id: dict[str, list[tuple[int, Row, tuple[Cell, ...]]]] = defaultdict(list)
    for entry in accounts.rows:
        by_id[entry[1].account_id].append(entry)
    kept_accounts: list[Account] = []
    for account_id, entries in by_id.items():
        if account_id in too_many:
            table = too_many[account_id]
            for number, _, cells in entries:
                accounts.reject(number, cells, [Diagnostic(
                    accounts.source.file if accounts.source else "", number, "account_id", "too-many-rows",
                    f"account {account_id} has {table.too_many[account_id]} rows in "
                    f"{table.source.file if table.source else table.table}, above the limit of "
                    f"{limits.max_items_per_account} ([limits] max_items_per_account); it gets no letter")])
            continue
        if len(entries) > 1:
            rows = ", ".join(str(number) for number, _, _ in entries)
            for number, _, cells in entries:
                accounts.reject(number, cells, [Diagnostic(
                    accounts.source.file if accounts.source else "", number, "account_id", "duplicate-account",
                    f"account {account_id} appears on rows {rows}; fix the duplicates, none of them is used")])
            continue
        number, account, cells = entries[0]
        assert isinstance(account, Account)
        consumer = _consumer_problem(accounts, config, number, account)
        if consumer is not None:
            accounts.reject(number, cells, [consumer])
            continue
        kept_accounts.append(account)
    known = {account.account_id for account in kept_accounts}

    def known_account(table: _ParsedTable) -> list[Any]:
        kept = []
        for number, row, cells in table.rows:
            if row.account_id in known:
                kept.append(row)
                continue
            reason = ("its account was rejected (see the accounts errors)"
                      if row.account_id in by_id else "no such account in the accounts file")
            assert table.source is not None
            table.reject(number, cells, [Diagnostic(
                table.source.file, number, "account_id", "unknown-account", f"{row.account_id}: {reason}")])
        table.rows = []  # the records live on in the data; the rest goes now
        return kept

    items: tuple[ArrearsItem, ...] = tuple(known_account(arrears))
    letters: tuple[PriorLetter, ...] = ()
    if history is not None:
        letters = tuple(known_account(history))
    diagnostics = _first_per_file(sorted(
        (d for table in parsed for d in table.diagnostics),
        key=lambda d: (d.file, d.row or 0, d.column or ""),
    ), limits.max_messages_per_file)
    rejects = tuple(sorted((r for table in parsed for r in table.rejects), key=lambda r: (r.file, r.row)))
    warnings = tuple(w for table in parsed for w in table.warnings)
    for warning in warnings:
        log.warning("%s", warning)
    return DebtorData(tuple(sorted(kept_accounts, key=lambda a: a.account_id)), items, letters, diagnostics, rejects,
                      warnings)


def _first_per_file(diagnostics: list[Diagnostic], limit: int) -> tuple[Diagnostic, ...]:
    """The first `limit` problems of each file, then one line counting the rest: a junk file must
    not bury the terminal or the log. The rejects file still has every rejected row."""
    shown: list[Diagnostic] = []
    per_file = Counter(d.file for d in diagnostics)
    seen: Counter[str] = Counter()
    for diagnostic in diagnostics:
        seen[diagnostic.file] += 1
        if seen[diagnostic.file] <= limit:
            shown.append(diagnostic)
        elif seen[diagnostic.file] == per_file[diagnostic.file]:
            shown.append(Diagnostic(diagnostic.file, None, None, "more-problems",
                                    f"{per_file[diagnostic.file] - limit} more problem(s) not shown "
                                    "([limits] max_messages_per_file); every rejected row is in the rejects "
                                    "file with its reasons"))
    return tuple(shown)
