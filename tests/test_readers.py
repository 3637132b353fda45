"""Readers: data files in, tables out (headers, rows with the row number a user sees, what could not be read)."""

import json
from datetime import date, datetime

import openpyxl
import pytest

from letterforge.readers import NotText, ReadError, Table, read_table


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_a_utf8_csv_with_a_byte_order_mark_reads_with_spreadsheet_row_numbers(tmp_path):
    path = write(tmp_path / "accounts.csv", "\ufeff户号 , 姓名\nA1,张三\n,\n  ,  \nA2,李四\n", "utf-8")
    table = read_table(path)
    assert isinstance(table, Table)
    assert table.headers == ("户号", "姓名")  # the BOM and the spaces around a header are dropped
    assert table.rows == ((2, ("A1", "张三")), (5, ("A2", "李四")))  # blank rows skipped, numbers kept
    assert table.encoding == "utf-8-sig" and table.file == str(path) and table.broken == ()


def test_a_gbk_export_is_read_as_gb18030_and_says_so(tmp_path):
    path = write(tmp_path / "欠费明细.csv", "户号,姓名,地址\nJX-1-0101,王淑芬,锦绣华庭1栋\n", "gbk")
    table = read_table(path)
    assert table.encoding == "gb18030"
    assert table.rows == ((2, ("JX-1-0101", "王淑芬", "锦绣华庭1栋")),)


def test_a_txt_file_is_read_as_csv_and_the_extension_is_not_case_sensitive(tmp_path):
    assert read_table(write(tmp_path / "a.TXT", "x,y\n1,2\n")).rows == ((2, ("1", "2")),)


def test_an_encoding_set_in_the_settings_is_used_and_a_wrong_one_is_named(tmp_path):
    path = write(tmp_path / "a.csv", "户号\nA1\n", "gbk")
    assert read_table(path, encoding="gbk").rows == ((2, ("A1",)),)
    with pytest.raises(ReadError, match=r"a\.csv: cannot decode as utf-8; save it as UTF-8 or set the file's encoding"):
        read_table(path, encoding="utf-8")
    with pytest.raises(ReadError, match=r"a\.csv: unknown encoding 'klingon'"):
        read_table(path, encoding="klingon")


def test_files_that_cannot_be_read_as_a_whole_are_named(tmp_path):
    with pytest.raises(ReadError, match=r"missing\.csv: file not found"):
        read_table(tmp_path / "missing.csv")
    with pytest.raises(ReadError, match=r"data\.ods: unknown file type '\.ods' \(letterforge reads \.csv, \.json, "):
        read_table(write(tmp_path / "data.ods", "x"))
    with pytest.raises(ReadError, match=r"empty\.csv: the file is empty"):
        read_table(write(tmp_path / "empty.csv", ""))
    big = write(tmp_path / "big.csv", "x\n" + "1\n" * 600_000)
    with pytest.raises(ReadError, match=r"big\.csv: the file is 1\.1 MB, above the limit of 1 MB \(\[limits\] max_file_mb"):
        read_table(big, max_bytes=2**20)
    assert len(read_table(big, max_bytes=2 * 2**20).rows) == 600_000


def test_an_unclosed_quote_costs_one_row_not_the_rest_of_the_file(tmp_path):
    lines = ["id,name", "A1,张三", 'A2,"李四 unclosed', *[f"A{n},x" for n in range(3, 8)]]
    path = write(tmp_path / "a.csv", "\n".join(lines) + "\n")
    table = read_table(path, max_field_chars=20)
    (number, cells, reason), = table.broken
    assert number == 3 and cells[0] == "A2" and cells[1].rstrip("\n") == "李四 unclosed"
    assert "an unclosed quote?" in reason
    assert [n for n, _ in table.rows] == [2, 4, 5, 6, 7, 8]
    assert table.rows[-1] == (8, ("A7", "x"))


def test_a_quoted_field_over_lines_within_the_limit_is_one_cell(tmp_path):
    path = write(tmp_path / "a.csv", 'id,note\nA1,"line one\nline two"\nA2,ok\n')
    table = read_table(path)
    assert table.rows == ((2, ("A1", "line one\nline two")), (3, ("A2", "ok")))
    assert table.broken == ()


def workbook(path, sheets: dict[str, list[list[object]]]):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_an_xlsx_sheet_reads_dates_as_dates_and_numbers_as_numbers(tmp_path):
    path = workbook(tmp_path / "水费台账.xlsx", {
        "说明": [["not the data"]],
        "欠费": [["户号 ", "金额", "应缴日期"], ["04000105", 88.5, datetime(2026, 7, 25)], [None, None, None],
                 ["04000106", 12, date(2026, 8, 25)]],
    })
    first = read_table(path)
    assert first.headers == ("not the data",)  # no sheet named: the first one
    table = read_table(path, sheet="欠费")
    assert table.headers == ("户号", "金额", "应缴日期") and table.encoding == "xlsx"
    assert table.rows == ((2, ("04000105", 88.5, date(2026, 7, 25))), (4, ("04000106", 12, date(2026, 8, 25))))
    assert type(table.rows[0][1][2]) is date  # a date, not a datetime at midnight


def test_xlsx_problems_are_named(tmp_path):
    path = workbook(tmp_path / "a.xlsx", {"欠费": [["户号"]]})
    with pytest.raises(ReadError, match=r"a\.xlsx: no sheet named '账户' \(sheets: 欠费\)"):
        read_table(path, sheet="账户")
    with pytest.raises(ReadError, match=r"b\.xlsx: not a readable XLSX workbook"):
        read_table(write(tmp_path / "b.xlsx", "户号,姓名\n"))
    with pytest.raises(ReadError, match=r"c\.xlsx: the sheet is empty"):
        read_table(workbook(tmp_path / "c.xlsx", {"空": []}))


def test_json_rows_are_objects_with_the_union_of_their_keys_as_columns(tmp_path):
    records = [{"id": "C-1", "amount": 12.5}, {"id": "C-2", "note": "late", "amount": 3},
               {"id": "C-3", "amount": None, "tags": ["a"], "vip": True}]
    path = write(tmp_path / "invoices.json", json.dumps(records))
    table = read_table(path)
    assert table.headers == ("id", "amount", "note", "tags", "vip")
    assert table.rows[0] == (1, ("C-1", 12.5, None, None, None))
    assert table.rows[1] == (2, ("C-2", 3, "late", None, None))
    number, cells = table.rows[2]
    # A list or a boolean is kept as its JSON text, marked, so validation can reject the row and show it.
    assert number == 3 and cells[:2] == ("C-3", None)
    assert isinstance(cells[3], NotText) and cells[3] == '["a"]'
    assert isinstance(cells[4], NotText) and cells[4] == "true"
    assert not isinstance(cells[0], NotText)


def test_json_sheets_and_json_that_is_not_a_table(tmp_path):
    path = write(tmp_path / "a.json", json.dumps({"accounts": [{"id": "A1"}], "invoices": [{"no": 1}]}))
    assert read_table(path, sheet="invoices").rows == ((1, (1,)),)
    with pytest.raises(ReadError, match=r"a\.json: expected a list of objects, one per row"):
        read_table(path)
    with pytest.raises(ReadError, match=r"b\.json:3: not valid JSON"):
        read_table(write(tmp_path / "b.json", '[\n {"id": "A1"},\n oops\n]'))
    with pytest.raises(ReadError, match=r"c\.json: expected a list of objects"):
        read_table(write(tmp_path / "c.json", "[1, 2]"))
