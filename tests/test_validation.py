from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from letterforge import validation
from letterforge.config import parse_config
from letterforge.validation import FieldError, load_debtor_data, parse_date

CONFIG = """
locale = "zh-CN"
[creditor]
name = "测试物业"
type = "property"
address = "某市某路1号"
phone = "0571-00000000"
[payment.counter]
address = "物业服务中心"
hours = "8:30-17:30"
[data]
accounts = "{accounts}"
arrears = "{arrears}"
[columns]
"业主代码" = "account_id"
"""


def workspace(tmp_path: Path, accounts: str, arrears: str, encoding: str = "gbk",
              names: tuple[str, str] = ("住户.csv", "欠费.csv")):
    (tmp_path / names[0]).write_bytes(accounts.encode(encoding))
    (tmp_path / names[1]).write_bytes(arrears.encode(encoding))
    config = parse_config(CONFIG.format(accounts=names[0], arrears=names[1]))
    return load_debtor_data(tmp_path, config)


def shown(data, tmp_path: Path) -> list[str]:
    """The data's problems as the user reads them, file names relative to the workspace."""
    return [str(d).replace(f"{tmp_path}/", "") for d in data.diagnostics]


ACCOUNTS = "户号,姓名,楼栋,房号,地址,欠费类型\nA1,张三,1栋,101,锦绣路1号1栋101,遗忘\nA2,李喆,2栋,202,锦绣路1号2栋202,恶意拖欠\n"


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8", "utf-8-sig"])
def test_reads_chinese_headers_in_every_export_encoding(tmp_path, encoding):
    arrears = "户号,账期,收费项目,应收金额,已缴金额,应缴日期\nA1,2026-01,物业服务费,\"1,234.50\",100,2026/1/5\n"
    data = workspace(tmp_path, ACCOUNTS, arrears, encoding)
    assert data.diagnostics == ()
    assert [a.name for a in data.accounts] == ["张三", "李喆"]
    assert data.accounts[1].category == "wilful"
    item = data.arrears[0]
    assert (item.amount_due, item.amount_paid, item.due_date) == (Decimal("1234.50"), Decimal("100.00"), date(2026, 1, 5))
    assert item.source.endswith("欠费.csv:2")


def test_every_problem_reported_with_file_row_column_and_good_rows_kept(tmp_path):
    accounts = ACCOUNTS + "A3,,3栋,303,锦绣路1号3栋303,\nA1,张三重复,1栋,101,x,\nA4,王五,3栋,304,x,懒\n"
    arrears = ("户号,账期,收费项目,应收金额,已缴金额,应缴日期\n"
               "A2,2026-01,物业服务费,12.345,0,2026-01-05\n"
               "A2,2026-02,物业服务费,-5,0,2026-02-05\n"
               "A2,2026-03,物业服务费,100,200,2026-03-05\n"
               "A2,2026-04,物业服务费,壹佰元,0,2026-04-05\n"
               "A2,2026-05,物业服务费,100,0,2026-02-30\n"
               "A2,2026-06,物业服务费,100,0,next week\n"
               "ZZ,2026-06,物业服务费,100,0,2026-06-05\n"
               "A1,2026-06,物业服务费,100,0,2026-06-05\n"
               "A2,2026-07,物业服务费,￥１，０００．００,0,2026年7月5日\n")
    data = workspace(tmp_path, accounts, arrears)
    found = shown(data, tmp_path)
    assert found == [
        "住户.csv:2: account_id: account A1 appears on rows 2, 5; fix the duplicates, none of them is used",
        "住户.csv:4: 姓名: required value is empty",
        "住户.csv:5: account_id: account A1 appears on rows 2, 5; fix the duplicates, none of them is used",
        "住户.csv:6: 欠费类型: unknown debtor category '懒' (use forgot, hardship, dispute, wilful, unknown)",
        "欠费.csv:2: 应收金额: more than two decimals: '12.345'",
        "欠费.csv:3: 应收金额: negative amount: '-5'",
        "欠费.csv:4: 已缴金额: amount paid 200.00 is more than amount due 100.00",
        "欠费.csv:5: 应收金额: not a number: '壹佰元'",
        "欠费.csv:6: 应缴日期: no such date: '2026-02-30'",
        "欠费.csv:7: 应缴日期: not a date: 'next week' (write 2026-03-05, 2026/3/5 or 2026年3月5日)",
        "欠费.csv:8: account_id: ZZ: no such account in the accounts file",
        "欠费.csv:9: account_id: A1: its account was rejected (see the accounts errors)",
    ]
    assert [a.account_id for a in data.accounts] == ["A2"]
    assert len(data.arrears) == 1 and data.arrears[0].amount_due == Decimal("1000.00")
    assert len(data.rejects) == 12
    first_arrears = next(r for r in data.rejects if r.table == "arrears")
    assert (first_arrears.row, first_arrears.reasons) == (2, ("应收金额: more than two decimals: '12.345'",))
    assert first_arrears.cells[:4] == ("A2", "2026-01", "物业服务费", "12.345")


def test_missing_required_column_rejects_the_file_rows_with_reason(tmp_path):
    arrears = "户号,账期,应收金额,应缴日期\nA1,2026-01,100,2026-01-05\n"
    data = workspace(tmp_path, ACCOUNTS, arrears)
    (problem,) = data.diagnostics
    assert str(problem).endswith("欠费.csv:1: fee_item: required column missing (accepted headers: fee_item, "
                                 "收费项目, 费用项目, 项目, 费用名称; or map yours in [columns])")
    assert data.arrears == () and data.rejects[0].reasons == ("file is missing column(s): fee_item",)
    assert len(data.accounts) == 2


def test_workspace_column_mapping_and_two_columns_for_one_field(tmp_path):
    accounts = "业主代码,姓名,地址,户号\nA1,张三,x,A1\n"
    arrears = "account_id,period,fee_item,amount_due,due_date\nA1,2026-01,fee,1,2026-01-05\n"
    data = workspace(tmp_path, accounts, arrears)
    assert shown(data, tmp_path) == [
        "住户.csv:1: 户号: both '业主代码' and '户号' are read as account_id; keep one"]
    assert data.accounts[0].account_id == "A1"


def test_xlsx_with_date_and_number_cells(tmp_path):
    book = openpyxl.Workbook()
    users = book.active
    users.title = "用户"
    users.append(["用户编号", "户名", "用水地址"])
    users.append([1001, "自来水用户", "某路2号"])
    bills = book.create_sheet("账单")
    bills.append(["用户编号", "计费周期", "费用名称", "账单金额", "实收金额", "到期日"])
    from datetime import datetime

    bills.append([1001, "2026Q1", "水费", 123.4, None, datetime(2026, 4, 15)])
    bills.append([1001, "2026Q2", "水费", 12.345, 0, datetime(2026, 7, 15)])
    book.save(tmp_path / "水费.xlsx")
    config = parse_config(CONFIG.format(accounts="x", arrears="x").replace(
        'accounts = "x"\narrears = "x"',
        'accounts = { file = "水费.xlsx", sheet = "用户" }\narrears = { file = "水费.xlsx", sheet = "账单" }'))
    data = load_debtor_data(tmp_path, config)
    assert data.accounts[0].account_id == "1001"
    assert data.arrears[0].amount_due == Decimal("123.40") and data.arrears[0].due_date == date(2026, 4, 15)
    assert shown(data, tmp_path) == [
        "水费.xlsx:3: 账单金额: more than two decimals: '12.345'"]


def test_json_records(tmp_path):
    accounts = '[{"account_id": "C1", "name": "Acme Ltd", "address": "1 High St", "language": "en-GB"}]'
    arrears = '[{"account_id": "C1", "period": "INV-1", "fee_item": "Goods", "amount_due": "£1,200.00", "due_date": "2026-01-31"}]'
    data = workspace(tmp_path, accounts, arrears, "utf-8", ("accounts.json", "invoices.json"))
    assert data.diagnostics == ()
    assert data.accounts[0].language == "en-GB" and data.arrears[0].amount_paid == Decimal("0.00")


def test_unreadable_file_is_a_diagnostic_not_a_crash(tmp_path):
    (tmp_path / "住户.csv").write_bytes(b"\xff\xfe\x00bad")
    config = parse_config(CONFIG.format(accounts="住户.csv", arrears="missing.csv"))
    data = load_debtor_data(tmp_path, config)
    messages = [d.message for d in data.diagnostics]
    assert "file not found" in messages
    assert data.accounts == ()


@pytest.mark.parametrize("text, expected", [
    ("2026-03-05", date(2026, 3, 5)), ("2026/3/5", date(2026, 3, 5)), ("2026年3月5日", date(2026, 3, 5)),
    ("２０２６年３月５日", date(2026, 3, 5)), ("2026.3.5", date(2026, 3, 5)), ("2028-02-29", date(2028, 2, 29)),
])
def test_parse_date_accepts(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text", ["2026-02-29", "2026-13-01", "2026/3/32", "03/05/2026", "", "2026-3"])
def test_parse_date_rejects(text):
    with pytest.raises(FieldError):
        parse_date(text)


def _date_outcome(read, value):
    try:
        return "ok", read(value)
    except FieldError as error:
        return "error", str(error)


@given(st.one_of(
    st.dates(min_value=date(1, 1, 1)).map(date.isoformat),
    st.from_regex(r"\A\d{4}-\d{2}-\d{2}\Z"),  # any Unicode digits, and days that do not exist
    st.from_regex(r"\A[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,3}( 00:00(:00)?)?\s?\Z"),
    st.text(alphabet="0123456789-/. 年月日０２", max_size=12),
))
@settings(max_examples=2000)
def test_the_iso_date_fast_path_agrees_with_the_general_reading(text):
    """parse_date reads ISO dates (2026-03-05) by a fast path; whatever the text, the result (or
    the error and its message) is the general reading's."""
    assert _date_outcome(parse_date, text) == _date_outcome(validation._read_date, text)


def test_equal_iso_dates_are_one_object():
    assert parse_date("2026-03-05") is parse_date("2026-03-05") == date(2026, 3, 5)


def test_debtor_type_title_and_surname_from_chinese_and_english_headers(tmp_path):
    from letterforge.records import DebtorType

    accounts = ("户号,姓名,地址,客户性质,称谓,姓氏\n"
                "A1,张三,锦绣路1号,个人,先生,张\n"
                "A2,锦华贸易有限公司,锦绣路2号,单位,,\n"
                "A3,李四面馆,锦绣路3号,个体工商户,,\n"
                "A4,王五,锦绣路4号,,,\n")
    arrears = "户号,账期,收费项目,应收金额,应缴日期\nA1,2026-01,物业服务费,100,2026-01-05\n"
    data = workspace(tmp_path, accounts, arrears)
    assert data.diagnostics == ()
    found = {a.account_id: (a.debtor_type, a.title, a.surname) for a in data.accounts}
    assert found == {"A1": (DebtorType.INDIVIDUAL, "先生", "张"), "A2": (DebtorType.COMPANY, "", ""),
                     "A3": (DebtorType.SOLE_TRADER, "", ""), "A4": (DebtorType.UNKNOWN, "", "")}


def test_debtor_type_words_and_titles_are_normalised(tmp_path):
    from letterforge.records import DebtorType

    accounts = ("account_id,name,address,Customer type,Title,Surname\n"
                "C1,Acme Ltd,1 High St,Limited company,,\n"
                "C2,Sam Okafor t/a Okafor Catering,2 High St,Sole Trader,mr.,Okafor\n"
                "C3,Jane Price,3 High St,INDIVIDUAL,Dr,Price\n")
    data = workspace(tmp_path, accounts, "account_id,period,fee_item,amount_due,due_date\n", encoding="utf-8")
    assert data.diagnostics == ()
    assert [(a.debtor_type, a.title) for a in data.accounts] == [
        (DebtorType.COMPANY, ""), (DebtorType.SOLE_TRADER, "Mr"), (DebtorType.INDIVIDUAL, "Dr")]


def test_wrong_debtor_type_title_or_half_a_salutation_is_named_by_row_and_column(tmp_path):
    accounts = ("account_id,name,address,debtor_type,title,surname\n"
                "C1,Acme Ltd,1 High St,partnership,,\n"
                "C2,Sam Okafor,2 High St,sole_trader,Mister Sam,Okafor\n"
                "C3,Jane Price,3 High St,individual,Mrs,\n"
                "C4,Tom Hale,4 High St,individual,,Hale\n"
                "C5,Good Ltd,5 High St,company,,\n")
    data = workspace(tmp_path, accounts, "account_id,period,fee_item,amount_due,due_date\n", encoding="utf-8")
    found = shown(data, tmp_path)
    assert found == [
        "住户.csv:2: debtor_type: unknown debtor type 'partnership' (use individual, sole_trader or company; "
        "个人, 个体工商户 or 单位)",
        "住户.csv:3: title: unknown title 'Mister Sam' (use one of Mr, Mrs, Ms, Miss, Mx, Dr, Prof, Sir, Dame, Lord, "
        "Lady, Revd, 先生, 女士; put the full name in name)",
        "住户.csv:4: surname: title 'Mrs' is given without a surname: give both (the letter writes \"Dear Mr "
        "Okafor\") or neither (\"Dear Sir or Madam\")",
        "住户.csv:5: title: surname 'Hale' is given without a title: give both (the letter writes \"Dear Mr "
        "Okafor\") or neither (\"Dear Sir or Madam\")",
    ]
    assert [a.account_id for a in data.accounts] == ["C5"]


def test_a_consumer_in_a_late_payment_act_workspace_is_set_aside_with_the_reason(copy_sample):
    import json

    from letterforge.config import load_config

    workspace = copy_sample("receivables-en")
    accounts = json.loads((workspace / "accounts.json").read_text(encoding="utf-8"))
    accounts[0].update(debtor_type="Individual", title="Mrs", surname="Price")
    (workspace / "accounts.json").write_text(json.dumps(accounts), encoding="utf-8")
    data = load_debtor_data(workspace, load_config(workspace))
    problem, *others = [str(d).replace(f"{workspace}/", "") for d in data.diagnostics]
    assert problem.startswith("accounts.json:1: debtor_type: C-1001 is an individual, but the late fee rule is "
                              "uk_late_payment: the Late Payment of Commercial Debts (Interest) Act 1998 applies only "
                              "between businesses")
    assert data.account("C-1001") is None and "C-1001" in data.accounts_with_rejected_rows
    assert others and all(p.endswith("C-1001: its account was rejected (see the accounts errors)") for p in others)


def test_an_account_id_with_a_control_or_invisible_character_is_rejected_without_echoing_it(tmp_path):
    """An escape sequence or a right-to-left override in an id would rewrite what the terminal, a
    file name or a letter shows: the row is set aside, and the message names the character by its
    code point instead of printing it."""
    accounts = ACCOUNTS + "A\x1b[31m3,王五,3栋,303,锦绣路1号3栋303,\nA\u202e4,赵六,3栋,304,锦绣路1号3栋304,\nA\u00a05,孙七,3栋,305,x,\n"
    arrears = ("户号,账期,收费项目,应收金额,已缴金额,应缴日期\n"
               "A2,2026-01,物业服务费,100,0,2026-01-05\n"
               "A\x1b[31m3,2026-01,物业服务费,100,0,2026-01-05\n")
    data = workspace(tmp_path, accounts, arrears, "utf-8")
    found = shown(data, tmp_path)
    assert found == [
        "住户.csv:4: 户号: holds an invisible control character (U+001B) at character 2: an account id is printed "
        "in letters, file names and on screen; remove it",
        "住户.csv:5: 户号: holds an invisible control character (U+202E) at character 2: an account id is printed "
        "in letters, file names and on screen; remove it",
        "欠费.csv:3: 户号: holds an invisible control character (U+001B) at character 2: an account id is printed "
        "in letters, file names and on screen; remove it",
    ]
    assert not any("\x1b" in line or "\u202e" in line for line in found)
    assert [a.account_id for a in data.accounts] == ["A1", "A2", "A\u00a05"]  # a no-break space is no control
    assert [r.cells[0] for r in data.rejects] == ["A\x1b[31m3", "A\u202e4", "A\x1b[31m3"]  # kept as written
