import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from letterforge.cli import cli

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture
def runner():
    return CliRunner()


def copy_sample(tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(SAMPLES / name, target)
    return target


@pytest.mark.parametrize("sample", ["property-zh", "water-zh", "receivables-en"])
def test_validate_is_clean_on_every_sample(runner, tmp_path, sample):
    workspace = copy_sample(tmp_path, sample)
    result = runner.invoke(cli, ["validate", "-w", str(workspace)])
    assert result.exit_code == 0, result.output
    assert "0 problem(s), 0 row(s) rejected" in result.output
    assert not (workspace / "rejects").exists() or not any((workspace / "rejects").iterdir())


def test_validate_broken_sample_lists_every_error_writes_rejects_and_keeps_good_rows(runner, tmp_path):
    workspace = copy_sample(tmp_path, "broken-property-zh")
    result = runner.invoke(cli, ["-w", str(workspace), "validate"])
    assert result.exit_code == 1
    table = [line.strip("|").split("|") for line in (workspace / "EXPECTED.md").read_text(encoding="utf-8").splitlines()
             if line.startswith("| ") and ".csv:" in line]
    expected = [f"{where.strip()}: {column.strip()}: {message.strip()}" for where, column, _, message, *_ in table]
    reported = [line.replace(f"{workspace}/", "") for line in result.stderr.splitlines()]
    assert reported == expected and len(expected) == 12
    assert "4 accounts, 12 arrears items" in result.stdout
    rejects = (workspace / "rejects" / "arrears.rejects.csv").read_text(encoding="utf-8-sig").splitlines()
    assert rejects[0].startswith("file,row,reason,户号")
    assert any(",13,应收金额: not a number: '壹佰元'," in line for line in rejects)


def test_validate_json_format(runner, tmp_path):
    workspace = copy_sample(tmp_path, "broken-property-zh")
    result = runner.invoke(cli, ["validate", "-w", str(workspace), "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["accounts"] == 4 and len(report["problems"]) == 12
    first = report["problems"][0]
    assert first["file"].endswith("住户.csv") and first["row"] == 4 and first["column"] == "account_id"
    assert first["code"] == "duplicate-account"


def test_statement_of_one_account_shows_capitals(runner):
    result = runner.invoke(cli, ["statement", "JX-2-0302", "-w", str(SAMPLES / "property-zh"),
                                 "--as-of", "2026-11-25"])
    assert result.exit_code == 0, result.output
    assert "应缴总额: ¥" in result.output and "大写: 人民币" in result.output


def test_statement_json_is_exact_and_consistent(runner):
    result = runner.invoke(cli, ["statement", "--all", "-w", str(SAMPLES / "receivables-en"),
                                 "--as-of", "2026-11-25", "--format", "json"])
    assert result.exit_code == 0, result.output
    statements = json.loads(result.stdout)
    assert len(statements) == 18
    from decimal import Decimal

    for statement in statements:
        items = statement["items"]
        assert Decimal(statement["principal"]) == sum((Decimal(i["outstanding"]) for i in items), Decimal(0))
        assert Decimal(statement["total"]) == (Decimal(statement["principal"]) + Decimal(statement["late_fees"])
                                               + Decimal(statement["compensation"]))
        for item in items:
            assert Decimal(item["compensation"]) in (Decimal(40), Decimal(70), Decimal(100))
            assert len(item["late_fee"].split(".")[1]) == 2


def test_statement_water_sample_reads_xlsx(runner):
    result = runner.invoke(cli, ["statement", "--all", "-w", str(SAMPLES / "water-zh"), "--as-of", "2026-11-25"])
    assert result.exit_code == 0 and "大写: 人民币" in result.output


def test_statement_is_the_same_for_the_same_as_of(runner):
    args = ["statement", "--all", "-w", str(SAMPLES / "property-zh"), "--as-of", "2026-11-25", "--format", "json"]
    assert runner.invoke(cli, args).stdout == runner.invoke(cli, args).stdout


def test_unknown_account_is_one_clear_line_exit_1(runner):
    result = runner.invoke(cli, ["statement", "NOPE", "-w", str(SAMPLES / "property-zh"), "--as-of", "2026-11-25"])
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: unknown account: NOPE"


def test_usage_errors_exit_2(runner):
    assert runner.invoke(cli, ["statement", "-w", str(SAMPLES / "property-zh")]).exit_code == 2
    assert runner.invoke(cli, ["statement", "--all", "--as-of", "25/11/2026"]).exit_code == 2
    assert runner.invoke(cli, ["no-such-command"]).exit_code == 2


def test_missing_workspace_is_exit_1(runner, tmp_path):
    result = runner.invoke(cli, ["validate", "-w", str(tmp_path)])
    assert result.exit_code == 1 and "no letterforge.toml here" in result.stderr


def test_bad_settings_name_the_key(runner, tmp_path):
    workspace = copy_sample(tmp_path, "property-zh")
    config = workspace / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('type = "property"', 'type = "landlord"'),
                      encoding="utf-8")
    result = runner.invoke(cli, ["validate", "-w", str(workspace)])
    assert result.exit_code == 1
    assert "letterforge.toml: creditor.type: Input should be 'property', 'water' or 'receivables'" in result.stderr


@pytest.mark.parametrize("value", ["0", "-1", '"many"', "true"])
def test_a_bad_print_pack_volume_size_stops_the_batch_before_anything_is_issued(runner, tmp_path, value):
    workspace = copy_sample(tmp_path, "property-zh")
    config = workspace / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + f"\n[print_pack]\nletters_per_volume = {value}\n",
                      encoding="utf-8")
    result = runner.invoke(cli, ["batch", "-w", str(workspace), "--as-of", "2026-11-25", "--jobs", "1"])
    assert result.exit_code == 1, result.output
    assert "letterforge.toml: print_pack.letters_per_volume: Input should be" in result.stderr
    assert "Traceback" not in result.output and not (workspace / "out").exists()
    assert not (workspace / "ledger.sqlite").exists()


def test_workspace_from_environment(runner, monkeypatch):
    monkeypatch.setenv("LETTERFORGE_WORKSPACE", str(SAMPLES / "water-zh"))
    assert runner.invoke(cli, ["validate"]).exit_code == 0


def test_init_creates_a_workspace_from_a_sample(runner, tmp_path):
    target = tmp_path / "my-community"
    result = runner.invoke(cli, ["init", str(target), "--example", "property-zh"])
    assert result.exit_code == 0, result.output
    assert (target / "letterforge.toml").is_file() and (target / "住户.csv").is_file()
    assert runner.invoke(cli, ["validate", "-w", str(target)]).exit_code == 0
    again = runner.invoke(cli, ["init", str(target), "--example", "property-zh"])
    assert again.exit_code == 1 and "not empty" in again.stderr


def test_doctor_reports_each_check(runner, tmp_path):
    result = runner.invoke(cli, ["doctor", "-w", str(tmp_path), "--format", "json"])
    checks = {check["name"]: check for check in json.loads(result.stdout)}
    assert {"python", "CJK font", "HarfBuzz subsetting", "output folder writable", "WeasyPrint"} <= set(checks)
    assert result.exit_code == (0 if all(c["ok"] for c in checks.values()) else 1)



def test_doctor_checks_every_package_letterforge_depends_on():
    import re
    import tomllib

    from letterforge.doctor import PYTHON_PACKAGES

    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
    needed = {re.match(r"[A-Za-z0-9_.-]+", spec).group(0).lower() for spec in project["project"]["dependencies"]}
    assert needed == set(PYTHON_PACKAGES)

def test_python_dash_m(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "letterforge", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and "letterforge" in done.stdout


def test_a_statement_missing_rejected_rows_of_its_account_says_so_and_exits_1(runner):
    """A statement without the rejected rows of its account understates or misstates the debt: it is
    shown, its account is named, and the exit code says the data has problems. A statement of an
    account whose rows were all read is complete, whatever other rows were rejected."""
    broken = ["-w", str(SAMPLES / "broken-property-zh"), "--as-of", "2026-11-25"]
    every = runner.invoke(cli, ["statement", "--all", *broken, "--format", "json"])
    assert every.exit_code == 1
    assert [s["account_id"] for s in json.loads(every.stdout)] == ["JX-1-0201", "JX-1-0202", "JX-1-0402", "JX-1-0501"]
    assert "error: rows of JX-1-0202, JX-1-0402 were rejected, so their statements above leave them out" in every.stderr
    incomplete = runner.invoke(cli, ["statement", "JX-1-0402", *broken])
    assert incomplete.exit_code == 1 and "rows of JX-1-0402 were rejected" in incomplete.stderr
    complete = runner.invoke(cli, ["statement", "JX-1-0201", *broken])
    assert complete.exit_code == 0, complete.output
    assert "were rejected" not in complete.stderr and "warning: 12 data problem(s)" in complete.stderr
    clean = runner.invoke(cli, ["statement", "--all", "-w", str(SAMPLES / "property-zh"), "--as-of", "2026-11-25"])
    assert clean.exit_code == 0 and "rejected" not in clean.stderr and "data problem" not in clean.stderr
