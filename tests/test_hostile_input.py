"""Hostile and oversized input: ids that try to be paths, cells that try to be formulas, fields and
accounts too large to handle, templates that try to read other files, and who may read the output."""

import csv
import io
import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from letterforge.cli import cli
from letterforge.diagnostics import UserError
from letterforge.filenames import MAX_NAME_BYTES, letter_file_name, path_inside, safe_file_name
from letterforge.outputs import csv_bytes, spreadsheet_cell

AS_OF = "2026-11-25"
ACCOUNTS_HEADER = ["户号", "姓名", "楼栋", "房号", "地址", "欠费类型", "联系电话"]
ARREARS_HEADER = ["户号", "账期", "收费项目", "应收金额", "已缴金额", "应缴日期"]
FORMULAS = ['=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "+3", "@SUM(1)", "-2+3+cmd|' /C calc'!A0",
            "\tTAB", "\rCR"]
TRAVERSAL_IDS = ["../../evil", "/tmp/absolute-evil", "../../../../../../x", "2栋/1602", "A" * 300, "jx-7", "JX-7",
                 'INJ=HYPERLINK("http://x","y")']


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows([header, *rows])
    path.write_text(buffer.getvalue(), encoding="utf-8")


def account_row(account_id: str, name: str = "张三", building: str = "") -> list[str]:
    return [account_id, name, building, "0101", "浙江省杭州市拱墅区锦绣路188号", "遗忘", "13900000000"]


def arrears_row(account_id: str, item: str = "物业服务费", amount: str = "100.00") -> list[str]:
    return [account_id, "2026-08", item, amount, "", "2026-08-05"]


@pytest.fixture
def hostile(copy_sample):
    """The property sample with data files of our own (UTF-8, no history): only the accounts given."""

    def make(accounts: list[list[str]], arrears: list[list[str]], limits: str = "", extra: str = "") -> Path:
        root = copy_sample("property-zh", "hostile")
        config = root / "letterforge.toml"
        text = config.read_text(encoding="utf-8")
        text = text.replace('encoding = "gbk"', 'encoding = "utf-8"')
        text = "\n".join(line for line in text.splitlines() if not line.startswith("history ="))
        config.write_text(extra + "\n" + text + ("\n[limits]\n" + limits if limits else "") + "\n", encoding="utf-8")
        write_csv(root / "住户.csv", ACCOUNTS_HEADER, accounts)
        write_csv(root / "欠费明细.csv", ARREARS_HEADER, arrears)
        return root

    return make


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


# -- ids are data, never paths ---------------------------------------------------------------------

@pytest.mark.parametrize("account_id", ["../../evil", "/etc/passwd", "..", ".", "", "a/b\\c", "nul\0id",
                                        "line\nbreak", "\u202egnp.exe", "CON", "nul.txt", "A" * 300, "用户" * 100,
                                        "x~y"])
def test_a_safe_file_name_is_one_plain_bounded_component(account_id):
    name = safe_file_name(account_id)
    assert "/" not in name and "\\" not in name and "\0" not in name and ".." not in name
    assert not name.startswith(".") and name.strip() == name
    assert all(c.isprintable() for c in name)
    assert name.split(".")[0].upper() not in ("CON", "NUL", "PRN", "AUX")
    assert 0 < len(name.encode("utf-8")) <= MAX_NAME_BYTES
    assert path_inside(Path("/out"), letter_file_name("reminder", account_id, "pdf")).parent == Path("/out")


def test_real_ids_stay_readable_and_ids_differing_in_case_get_distinct_names():
    assert safe_file_name("JX-2-0302") == "JX-2-0302"
    assert safe_file_name("张三 李四") == "张三 李四"
    assert safe_file_name("2栋/1602").startswith("2栋_1602~")
    names = {safe_file_name(i).casefold() for i in ("JX-7", "jx-7", "Jx-7", "jX-7")}
    assert len(names) == 4  # distinct even on a file system that ignores case


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120), st.text(max_size=120))
def test_different_ids_never_share_a_file_name_even_ignoring_case(first, second):
    name = safe_file_name(first)
    assert "/" not in name and "\0" not in name and not name.startswith(".")
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES
    if first != second:
        assert name.casefold() != safe_file_name(second).casefold()


def test_path_inside_refuses_a_name_that_is_a_path(tmp_path):
    for name in ("../x", "/etc/passwd", "..", "a/b", ""):
        with pytest.raises(UserError):
            path_inside(tmp_path, name)


def test_render_writes_every_hostile_id_inside_the_output_folder(hostile, tmp_path):
    root = hostile([account_row(i) for i in TRAVERSAL_IDS], [arrears_row(i) for i in TRAVERSAL_IDS])
    out = tmp_path / "deep" / "er" / "out"
    out.mkdir(parents=True)
    before = files_under(tmp_path)
    result = run("-w", str(root), "render", *TRAVERSAL_IDS, "--kind", "reminder", "--as-of", AS_OF,
                 "--format", "html", "--draft", "-o", str(out))
    assert result.exit_code == 0, result.output
    written = files_under(tmp_path) - before
    assert written and all(p.parent == out for p in written)
    assert len(written) == len(TRAVERSAL_IDS)  # jx-7 and JX-7 did not overwrite each other
    assert len({p.name.casefold() for p in written}) == len(written)
    assert not Path("/tmp/absolute-evil-reminder.html").exists()
    html = (out / letter_file_name("reminder", "2栋/1602", "html", account_first=True)).read_text(encoding="utf-8")
    assert "2栋/1602" in html  # the letter shows the real id
    assert "account=2%E6%A0%8B%2F1602" in html  # and the payment link cannot be steered by it


@pytest.mark.slow
def test_batch_keeps_hostile_ids_in_its_folder_maps_them_in_the_manifest_and_neutralises_formulas(hostile, tmp_path):
    ids = ["../../../../../../x", "2栋/1602", "A" * 300, "jx-7", "JX-7", '=HYPERLINK("http://x","y")']
    # With a building: the shipped opening clause names it, and the proof-reader stops a letter that
    # would state an empty one (issue 12 part D); the ids are what this test is about.
    root = hostile([account_row(i, name="@SUM(1)", building="1栋") for i in ids],
                   [arrears_row(i, item="=cmd|' /C calc'!A0") for i in ids])
    out = tmp_path / "out"
    before = files_under(tmp_path)
    result = run("-w", str(root), "batch", "--as-of", AS_OF, "--jobs", "1", "--out", str(out))
    assert result.exit_code == 0, result.output
    written = files_under(tmp_path) - before
    assert all(p.is_relative_to(out) or p.is_relative_to(root) for p in written)
    letters = out / AS_OF / "letters"
    assert not any((letters / ".pending").iterdir())
    manifest = json.loads((out / AS_OF / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(row["account_id"] for row in manifest) == sorted(ids)  # JSON keeps the ids exactly
    for row in manifest:
        path = out / row["file"]
        assert path.parent == letters and path.is_file()
    assert len({row["file"] for row in manifest}) == len(ids)

    table = list(csv.reader(io.StringIO((out / AS_OF / "manifest.csv").read_text(encoding="utf-8-sig"))))
    header, rows = table[0], table[1:]
    by_id = {row[header.index("account_id")]: row for row in rows}
    assert "'=HYPERLINK(\"http://x\",\"y\")" in by_id  # shown as text, never run
    assert by_id["2栋/1602"][header.index("total")].replace(".", "").isdigit()  # amounts stay numbers
    follow_ups = (out / AS_OF / "follow-ups.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in follow_ups and ",=HYPERLINK" not in follow_ups

    reference = next(row["reference"] for row in manifest if row["account_id"] == "../../../../../../x")
    reprints = tmp_path / "reprints"
    assert run("-w", str(root), "reprint", reference, "-o", str(reprints)).exit_code == 0
    assert [p.parent for p in reprints.iterdir()] == [reprints]

    export = tmp_path / "evidence.csv"
    assert run("-w", str(root), "ledger", "export", "-o", str(export)).exit_code == 0
    cells = [cell for row in csv.reader(io.StringIO(export.read_text(encoding="utf-8-sig"))) for cell in row]
    assert "'=HYPERLINK(\"http://x\",\"y\")" in cells and not any(c.startswith(("=", "+", "@")) for c in cells)

    # permissions: no world access to letters, the day's files, the ledger or the folders letterforge made
    for path in [*letters.iterdir(), out / AS_OF / "manifest.csv", root / "ledger.sqlite"]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o007 == 0, (path, oct(mode))
        if path.is_file():
            assert mode == 0o640, (path, oct(mode))
    for folder in (out, out / AS_OF, letters):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o750, folder
    archived = list((root / "archive").rglob("*"))
    assert archived and all(stat.S_IMODE(p.stat().st_mode) == (0o750 if p.is_dir() else 0o640) for p in archived)


def test_every_csv_cell_that_would_start_a_formula_is_neutralised():
    for formula in FORMULAS:
        assert spreadsheet_cell(formula) == "'" + formula
    assert spreadsheet_cell("-12.50") == "-12.50" and spreadsheet_cell("12.50") == "12.50"
    assert spreadsheet_cell("JX-2-0302") == "JX-2-0302" and spreadsheet_cell(None) == ""
    text = csv_bytes(["=header"], [[f] for f in FORMULAS]).decode("utf-8-sig")
    cells = [row[0] for row in csv.reader(io.StringIO(text, newline=""))]
    assert cells == ["'=header", *("'" + f for f in FORMULAS)]


def test_validate_rejects_file_neutralises_formulas_and_keeps_every_rejected_row(hostile, tmp_path):
    accounts = [account_row(f"F-{n}", name=formula) for n, formula in enumerate(FORMULAS)]
    arrears = [arrears_row(f"F-{n}", item=formula, amount=formula) for n, formula in enumerate(FORMULAS)]
    root = hostile(accounts, arrears)
    result = run("-w", str(root), "validate", "--rejects", str(tmp_path / "rejects"))
    assert result.exit_code == 1
    text = (tmp_path / "rejects" / "arrears.rejects.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 1 + len(FORMULAS)
    cells = [cell for row in rows for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
    assert "'=cmd|' /C calc'!A0" in cells


# -- bounded input ---------------------------------------------------------------------------------

def test_an_unclosed_quote_rejects_its_row_names_it_and_the_rest_is_read(hostile):
    root = hostile([account_row("Q-1"), account_row("Q-2"), account_row("Q-3")],
                   [arrears_row("Q-1"), arrears_row("Q-2"), arrears_row("Q-3")])
    path = root / "欠费明细.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    junk = "".join(f"{n:04d}" + "x" * 95 + "\n" for n in range(2100))  # 210 KB inside the quote
    path.write_text(lines[0] + lines[1] + 'Q-2,2026-08,"物业服务费,100.00,,2026-08-05\n' + junk + lines[3],
                    encoding="utf-8")
    result = run("-w", str(root), "validate")
    assert result.exit_code == 1
    assert f"{path}:3: cannot be read as CSV" in result.stderr and "unclosed quote" in result.stderr
    assert "more problem(s) not shown" in result.stderr
    assert len(result.stderr.splitlines()) <= 101 + 1
    rejects = list(csv.reader(io.StringIO((root / "rejects" / "arrears.rejects.csv").read_text(encoding="utf-8-sig"))))
    assert len(rejects) == 1 + 1 + 2100  # every rejected row is kept
    statement = run("-w", str(root), "statement", "Q-3", "--as-of", AS_OF)  # the row after the junk is read
    assert statement.exit_code == 0 and "100.00" in statement.stdout


def test_a_single_oversized_field_rejects_its_account_and_the_rest_go_on(hostile):
    root = hostile([account_row("O-1", name="名" * 20_000), account_row("O-2")], [arrears_row("O-2")])
    result = run("-w", str(root), "validate")
    assert result.exit_code == 1
    assert f"{root / '住户.csv'}:2: 姓名: 20000 characters, above the limit of 10000" in result.stderr
    rejected = (root / "rejects" / "accounts.rejects.csv").read_text(encoding="utf-8-sig")
    assert len(rejected) < 12_000  # the cell is kept cut, not whole
    assert run("-w", str(root), "statement", "O-2", "--as-of", AS_OF).exit_code == 0


def test_an_account_with_200000_rows_is_refused_with_a_located_message_and_others_go_on(hostile):
    root = hostile([account_row("BIG-1"), account_row("OK-1")], [arrears_row("OK-1")])
    with open(root / "欠费明细.csv", "a", encoding="utf-8") as file:
        file.writelines(f"BIG-1,2026-08,物业服务费{n},1.00,,2026-08-05\n" for n in range(200_000))
    result = run("-w", str(root), "render", "BIG-1", "--kind", "reminder", "--as-of", AS_OF, "--format", "html", "--draft",
                 "-o", str(root / "out"))
    assert result.exit_code == 1
    assert "BIG-1" in result.stderr and "200000 rows" in result.stderr and "above the limit of 2000" in result.stderr
    assert f"{root / '住户.csv'}:2" in result.stderr and not (root / "out").exists()
    validate = run("-w", str(root), "validate")
    assert validate.exit_code == 1
    assert f"{root / '欠费明细.csv'}:2003: 户号: account BIG-1: 200000 rows" in validate.stderr
    assert len(validate.stderr.splitlines()) < 10
    assert "1 accounts, 1 arrears items" in validate.stdout  # OK-1 goes on


def test_items_per_account_and_messages_per_file_follow_the_limits_settings(hostile):
    accounts = [account_row("L-1"), account_row("L-2")]
    arrears = [arrears_row("L-1", item=f"item {n}") for n in range(6)] + [arrears_row("L-2", amount="bad")] * 5
    root = hostile(accounts, arrears, limits="max_items_per_account = 5\nmax_messages_per_file = 3")
    result = run("-w", str(root), "validate", "--format", "json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["problems"]
    arrears_file = str(root / "欠费明细.csv")
    shown = [p for p in problems if p["file"] == arrears_file]
    # row 7 is L-1's sixth row; rows 8-12 are L-2's bad amounts, of which two are shown
    assert [(p["code"], p["row"]) for p in shown] == [("too-many-rows", 7), ("invalid", 8), ("invalid", 9),
                                                       ("more-problems", None)]
    assert "L-1: 6 rows for this account, above the limit of 5" in shown[0]["message"]
    assert "3 more problem(s)" in shown[-1]["message"]
    rows = list(csv.reader(io.StringIO((root / "rejects" / "arrears.rejects.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == 1 + 6 + 5


def test_a_data_file_above_the_size_limit_is_not_read_and_is_named(hostile):
    root = hostile([account_row("S-1")], [arrears_row(f"S-{n}", item="物业服务费" * 5) for n in range(20_000)],
                   limits="max_file_mb = 1")
    result = run("-w", str(root), "validate")
    assert result.exit_code == 1
    assert f"{root / '欠费明细.csv'}: the file is" in result.stderr and "above the limit of 1 MB" in result.stderr


def test_json_text_fields_must_be_text_or_numbers_and_a_header_only_file_is_a_warning(copy_sample, caplog):
    root = copy_sample("receivables-en")
    accounts = json.loads((root / "accounts.json").read_text(encoding="utf-8"))
    accounts[0]["name"] = ["a", "list"]
    accounts[1]["address"] = {"an": "object"}
    (root / "accounts.json").write_text(json.dumps(accounts), encoding="utf-8")
    letters = root / "letters.csv"
    letters.write_text(letters.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    result = run("-w", str(root), "validate", "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    messages = {(p["row"], p["message"]) for p in report["problems"]}
    assert (1, '["a", "list"] is not text or a number') in messages
    assert (2, '{"an": "object"} is not text or a number') in messages
    assert [w["file"] for w in report["warnings"]] == [str(letters)]
    assert any(str(letters) in r.message and "no data rows" in r.message and r.levelname == "WARNING"
               for r in caplog.records)


# -- templates and clauses stay in their folders ---------------------------------------------------

def override(root: Path, name: str, text: str) -> Path:
    path = root / "templates" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_symlinked_template_cannot_read_a_file_outside_and_the_include_is_named(hostile, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-LINE", encoding="utf-8")
    root = hostile([account_row("T-1")], [arrears_row("T-1")])
    template = override(root, "zh-CN/reminder.html",
                        '{% extends "base.html" %}\n{% block letterhead %}{% include "leak.txt" %}{% endblock %}\n')
    (root / "templates" / "leak.txt").symlink_to(secret)
    out = tmp_path / "out"
    result = run("-w", str(root), "render", "T-1", "--kind", "reminder", "--as-of", AS_OF, "--format", "html", "--draft",
                 "-o", str(out))
    assert result.exit_code == 1
    assert f"{template}:2: template leak.txt" in result.stderr and f"refused: it resolves to {secret}" in result.stderr
    assert "TOP-SECRET" not in result.output and not out.exists()

    template.write_text('{% extends "base.html" %}\n\n{% block letterhead %}{% include "/etc/passwd" %}{% endblock %}\n',
                        encoding="utf-8")
    result = run("-w", str(root), "render", "T-1", "--kind", "reminder", "--as-of", AS_OF, "--format", "html", "--draft",
                 "-o", str(out))
    assert result.exit_code == 1 and f"{template}:3: template /etc/passwd not found" in result.stderr
    assert not out.exists()


def test_a_symlinked_clause_file_is_refused(hostile, tmp_path):
    root = hostile([account_row("C-1")], [arrears_row("C-1")])
    outside = tmp_path / "elsewhere.md"
    shipped = Path(__file__).resolve().parent.parent / "legal_clauses"
    outside.write_text(next(shipped.rglob("*.md")).read_text(encoding="utf-8"), encoding="utf-8")
    (root / "legal_clauses").mkdir()
    (root / "legal_clauses" / "linked.md").symlink_to(outside)
    result = run("-w", str(root), "clauses", "check", "--as-of", AS_OF)
    assert result.exit_code == 1
    assert f"{root / 'legal_clauses' / 'linked.md'}: refused: it resolves to {outside}" in result.stdout


@pytest.mark.parametrize("resource", ['<img src="file:///etc/hostname">',
                                      '<style>@import url("file:///etc/passwd");</style>',
                                      '<img src="https://example.com/pixel.png">'])
@pytest.mark.slow
def test_a_resource_the_fetcher_refuses_fails_the_letter(hostile, tmp_path, resource):
    root = hostile([account_row("R-1")], [arrears_row("R-1")])
    override(root, "zh-CN/reminder.html",
             '{% extends "base.html" %}\n{% block letterhead %}' + resource + '{{ super() }}{% endblock %}\n')
    out = tmp_path / "out"
    result = run("-w", str(root), "render", "R-1", "--kind", "reminder", "--as-of", AS_OF, "-o", str(out))
    assert result.exit_code == 1, result.output
    assert "R-1 reminder" in result.stderr and "was refused" in result.stderr
    assert resource.split('"')[1] in result.stderr
    assert not out.exists()


# -- permissions -----------------------------------------------------------------------------------

def test_the_group_setting_gives_files_to_a_group_and_an_unknown_group_is_refused(hostile, tmp_path):
    import grp

    group = grp.getgrgid(os.getegid()).gr_name
    root = hostile([account_row("P-1")], [arrears_row("P-1")], extra=f'[permissions]\ngroup = "{group}"\n')
    text = (root / "letterforge.toml").read_text(encoding="utf-8")
    # [permissions] must not sit before the top-level keys: move it to the end
    (root / "letterforge.toml").write_text(text.replace(f'[permissions]\ngroup = "{group}"\n', "")
                                           + f'\n[permissions]\ngroup = "{group}"\n', encoding="utf-8")
    out = tmp_path / "out"
    result = run("-w", str(root), "render", "P-1", "--kind", "reminder", "--as-of", AS_OF, "--format", "html", "--draft",
                 "-o", str(out / "new"))
    assert result.exit_code == 0, result.output
    (letter,) = (out / "new").iterdir()
    assert letter.stat().st_gid == os.getegid() and stat.S_IMODE(letter.stat().st_mode) == 0o640
    assert stat.S_IMODE((out / "new").stat().st_mode) == 0o750

    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(f'group = "{group}"', 'group = "no-such-group-x"'),
                      encoding="utf-8")
    result = run("-w", str(root), "validate")
    assert result.exit_code == 1 and "permissions.group: no group 'no-such-group-x'" in result.stderr


def test_clause_preview_and_reprint_file_names_are_made_safe(hostile, tmp_path):
    root = hostile([account_row("../../evil")], [arrears_row("../../evil")])
    shipped = Path(__file__).resolve().parent.parent / "legal_clauses" / "zh-CN" / "property" / "reminder"
    text = (shipped / "opening.md").read_text(encoding="utf-8")
    text = text.replace("id: zh-CN.property.reminder.opening", "id: ../../../../preview-evil")
    text = text.replace("version: 1.0.0", "version: 9.0.0").replace("status: approved", "status: draft")
    (root / "legal_clauses").mkdir()
    (root / "legal_clauses" / "evil.md").write_text(text, encoding="utf-8")
    out = tmp_path / "previews"
    out.mkdir()
    before = files_under(tmp_path)
    result = run("-w", str(root), "clauses", "preview", "../../../../preview-evil", "--account", "../../evil",
                 "--as-of", AS_OF, "--format", "html", "-o", str(out))
    assert result.exit_code == 0, result.output
    (written,) = files_under(tmp_path) - before
    assert written.parent == out and written.name.startswith("preview-")


def test_a_symlinked_docx_template_is_refused(hostile, tmp_path):
    outside = tmp_path / "outside.docx"
    outside.write_bytes((Path(__file__).resolve().parent.parent / "templates" / "letter.docx").read_bytes())
    root = hostile([account_row("D-1")], [arrears_row("D-1")])
    (root / "templates").mkdir()
    (root / "templates" / "letter.docx").symlink_to(outside)
    result = run("-w", str(root), "render", "D-1", "--kind", "reminder", "--as-of", AS_OF, "--format", "docx",
                 "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert f"{root / 'templates' / 'letter.docx'}: refused, it resolves to {outside}" in result.stderr


@pytest.mark.parametrize("content, message", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    (json.dumps([{f"key{n}": 1} for n in range(5_000)]), "5000 different keys (at most 1000)"),
])
def test_json_that_would_blow_up_is_a_located_error_not_a_crash(copy_sample, content, message):
    root = copy_sample("receivables-en")
    (root / "accounts.json").write_text(content, encoding="utf-8")
    result = run("-w", str(root), "validate")
    assert result.exit_code == 1
    assert f"{root / 'accounts.json'}: " in result.stderr and message in result.stderr


def test_a_small_xlsx_that_declares_a_huge_sheet_is_refused_not_read_forever(tmp_path):
    import openpyxl

    from letterforge.readers import ReadError, read_table

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["户号", "姓名", "地址"])
    sheet.append(["A-1", "张三", "浙江省杭州市"])
    sheet["XFD1048576"] = "x"  # the last cell of the sheet: a few KB on disk, 17 billion cells if read
    workbook.save(tmp_path / "bomb.xlsx")
    with pytest.raises(ReadError, match="more than 10,000,000 cells"):
        read_table(tmp_path / "bomb.xlsx")
