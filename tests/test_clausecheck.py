"""Broken clause files, one problem each: `clauses check` names the file, the line and the problem."""

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from letterforge.cli import cli
from letterforge.pipeline import check_clause_library, index_clause_library
from letterforge.workspace import Workspace

SHIPPED = Path(__file__).resolve().parent.parent / "legal_clauses"
AS_OF = date(2026, 11, 25)

FRONT = """---
id: {id}
version: {version}
title: test clause
locale: zh-CN
jurisdiction: CN
kinds: [demand]
creditor_types: [{creditor_type}]
categories: [wilful]
slot: {slot}
effective_from: 2026-01-01
effective_until: {until}
status: {status}
approved_by: legal team (test)
approved_on: 2026-11-20
citations: []
variables: [{variables}]
---
"""


def clause(folder: Path, name: str, text: str, *, id: str = "", version: str = "1.0.0", slot: str = "consequence",
           status: str = "draft", variables: str = "", until: str = "null", creditor_type: str = "property") -> Path:
    path = folder / name
    path.write_text(FRONT.format(id=id or f"test.{name[:-3]}", version=version, slot=slot, status=status,
                                 variables=variables, until=until, creditor_type=creditor_type) + text + "\n",
                    encoding="utf-8")
    return path


@pytest.fixture
def workspace(copy_sample):
    root = copy_sample("property-zh")
    (root / "legal_clauses").mkdir()
    return root


def problems(root: Path) -> list[str]:
    found = check_clause_library(Workspace.open(root), AS_OF)
    return [str(p).replace(f"{root}/legal_clauses/", "") for p in found]


def test_shipped_library_is_clean_for_every_sample():
    samples = SHIPPED.parent / "samples"
    for name in ("property-zh", "water-zh", "receivables-en"):
        assert check_clause_library(Workspace.open(samples / name), AS_OF) == []


def test_front_matter_missing_or_invalid(workspace):
    folder = workspace / "legal_clauses"
    (folder / "no_front.md").write_text("只有正文。\n", encoding="utf-8")
    (folder / "bad_yaml.md").write_text("---\nid: [unclosed\n---\n正文。\n", encoding="utf-8")
    clause(folder, "bad_version.md", "正文。", version="1.0")
    clause(folder, "bad_status.md", "正文。", status="final")
    assert problems(workspace) == [
        "bad_status.md:13: status: status 'final' must be one of draft, approved, retired",
        "bad_version.md:3: version: version '1.0' is not semantic (write 1.0.0)",
        "bad_yaml.md:2: front matter is not valid YAML: expected ',' or ']', but got '<stream end>'",
        "no_front.md:1: front matter missing: start the file with a --- block",
    ]


def test_unknown_variable_logic_markup_and_undeclared_variables(workspace):
    folder = workspace / "legal_clauses"
    clause(folder, "vars.md", "您好{{ debtor.name }}。\n\n您的身份证号{{ debtor.id_number }}。", variables="debtor.name")
    clause(folder, "logic.md", "{% if total %}请缴费{% endif %}<b>注意</b>")
    clause(folder, "expr.md", "合计{{ total * 2 }}，{{ total | upper }}", variables="total")
    assert problems(workspace) == [
        "expr.md:19: only a variable and a filter may stand in {{ }}: '{{ total * 2 }}'",
        "expr.md:19: unknown filter 'upper' (use money, date, capitals, percent)",
        "logic.md:19: no markup in clause texts: '</b>' (emphasis is **bold**)",
        "logic.md:19: no markup in clause texts: '<b>' (emphasis is **bold**)",
        "logic.md:19: no template logic in clause texts ({% %} or {# #}); write one clause per case",
        "vars.md:17: variables: used but not listed: debtor.id_number",
        "vars.md:21: unknown variable 'debtor.id_number' (not in the letter data model)",
    ]


def test_placeholder_text_left(workspace):
    folder = workspace / "legal_clauses"
    clause(folder, "todo.md", "本公司将于XX日内处理。\n\n签字：＿＿＿＿ TODO")
    assert problems(workspace) == [
        "todo.md:19: placeholder text left: 'XX'",
        "todo.md:21: placeholder text left: 'TODO'",
        "todo.md:21: placeholder text left: '＿'",
    ]


def test_property_letters_never_threaten_cutting_supply(workspace):
    folder = workspace / "legal_clauses"
    clause(folder, "cut.md", "逾期不缴的，本公司将采取停水停电措施，并停用门禁卡。")
    assert problems(workspace) == [
        f"cut.md:19: '{word}': a property-service company must not collect fees by cutting water, power, heating "
        "or gas or by restricting access, nor hint at it (Civil Code art. 944)"
        for word in ("停水", "停电", "门禁")
    ]


def test_water_suspension_only_with_notice_and_procedure(workspace):
    folder = workspace / "legal_clauses"
    clause(folder, "water_bad.md", "逾期不缴的，本公司将停水。", creditor_type="water")
    ok = clause(folder, "water_ok.md", "逾期仍不缴纳的，本公司可按照国家规定的程序中止供水，并事先通知您。",
                creditor_type="water")
    ok.write_text(ok.read_text(encoding="utf-8").replace("slot: consequence\n",
                                                         "slot: consequence\nsuspension_notice: true\n"),
                  encoding="utf-8")
    assert problems(workspace) == [
        "water_bad.md:19: suspension_notice: '停水': a letter that speaks of suspending supply goes on paper only "
        "(Electronic Signature Law art. 3): add `suspension_notice: true` to the front matter",
        "water_bad.md:19: '停水': suspension of supply may be mentioned only as the lawful procedure, with prior "
        "notice (Civil Code arts. 654, 656): say both in the same clause",
    ]


def test_disclosure_shaming_and_unlawful_threats_for_every_creditor(workspace):
    folder = workspace / "legal_clauses"
    clause(folder, "shame.md", "逾期将在小区公示栏张贴欠费名单，并报送征信。")
    clause(folder, "threat.md", "We will tell your employer and you may face arrest.", creditor_type="receivables")
    found = problems(workspace)
    assert [line.split(": ")[0] + ": " + line.split(": ")[1] for line in found] == [
        "shame.md:19: '公示'", "shame.md:19: '张贴'", "shame.md:19: '征信'",
        "threat.md:19: 'arrest'", "threat.md:19: 'your employer'"]
    assert found[0].endswith("disclosure of the debt to third parties or public shaming (Personal Information "
                             "Protection Law art. 25)")
    assert found[2].endswith("a threat of action the creditor cannot lawfully take")


def test_competing_clauses_and_expired_clause(workspace):
    folder = workspace / "legal_clauses"
    shipped = SHIPPED / "zh-CN" / "property" / "demand" / "consequence.md"
    text = shipped.read_text(encoding="utf-8")
    (folder / "rival.md").write_text(text.replace("id: zh-CN.property.demand.consequence", "id: rival.consequence"),
                                     encoding="utf-8")
    index_clause_library(Workspace.open(workspace))
    found = problems(workspace)
    assert "rival.md:10: slot: competes with zh-CN.property.demand.consequence@1.0.0 " \
           f"({shipped}) for slot 'consequence': their kinds, creditor types, categories and effective dates overlap" in found
    assert any(p.startswith("rival.md:10: slot: competes with") and "for slot 'consequence' of demand / zh-CN / "
               "property / forgot" in p for p in found)


def test_expired_clause_selected_and_nothing_replaces_it(workspace):
    folder = workspace / "legal_clauses"
    shipped = SHIPPED / "zh-CN" / "property" / "demand" / "privacy_note.md"
    (folder / "privacy_note.md").write_text(
        shipped.read_text(encoding="utf-8").replace("effective_until: null", "effective_until: 2026-06-30"),
        encoding="utf-8")
    found = problems(workspace)
    assert any(p.startswith("privacy_note.md:12: effective_until: slot 'privacy_note' of demand / zh-CN / property")
               and "not in force on 2026-11-25 (effective 2026-01-01 to 2026-06-30) and nothing replaces it" in p
               for p in found)


def test_draft_that_would_be_selected(workspace):
    folder = workspace / "legal_clauses"
    shipped = SHIPPED / "zh-CN" / "property" / "demand" / "opening.md"
    (folder / "opening.md").write_text(
        shipped.read_text(encoding="utf-8").replace("status: approved", "status: draft"), encoding="utf-8")
    found = problems(workspace)
    assert "opening.md:13: status: slot 'opening' of demand / zh-CN / property / forgot would use this draft: " \
           "have it approved" in found


def test_changing_text_without_new_version_fails_the_check(workspace):
    folder = workspace / "legal_clauses"
    shipped = SHIPPED / "zh-CN" / "property" / "demand" / "consequence.md"
    changed = shipped.read_text(encoding="utf-8").replace("依法提起诉讼或申请仲裁", "依法提起诉讼")
    (folder / "consequence.md").write_text(changed, encoding="utf-8")
    found = problems(workspace)
    assert found == ["consequence.md:3: version: the text of zh-CN.property.demand.consequence@1.0.0 changed but its "
                     "version did not: give the new text a new version and have it approved"]
    (folder / "consequence.md").write_text(changed.replace("version: 1.0.0", "version: 1.0.1"), encoding="utf-8")
    found = problems(workspace)
    assert "consequence.md:3: version: zh-CN.property.demand.consequence@1.0.1 is not recorded in the clause index: " \
           "run `letterforge clauses index` once it is approved" in found
    added, refused = index_clause_library(Workspace.open(workspace))
    assert added == ["zh-CN.property.demand.consequence@1.0.1"] and refused == []
    assert json.loads((folder / "index.json").read_text(encoding="utf-8")) == {
        "zh-CN.property.demand.consequence@1.0.1": hashlib.sha256(changed.split("---\n", 2)[2].strip().encode()).hexdigest()}


def test_clauses_check_cli_exit_codes_and_json(workspace):
    runner = CliRunner()
    assert runner.invoke(cli, ["clauses", "check", "-w", str(workspace), "--as-of", "2026-11-25"]).exit_code == 0
    clause(workspace / "legal_clauses", "todo.md", "TODO")
    result = runner.invoke(cli, ["clauses", "check", "-w", str(workspace), "--as-of", "2026-11-25", "--format", "json"])
    assert result.exit_code == 1
    (problem,) = json.loads(result.stdout)["problems"]
    assert problem["file"].endswith("todo.md") and problem["row"] == 19 and problem["code"] == "placeholder"


def test_text_differing_from_an_issued_letter_fails_the_check(workspace):
    from datetime import datetime

    from letterforge.pipeline import run_batch

    from conftest import fake_pdf

    run_batch(Workspace.open(workspace), AS_OF, workspace / "out", 1, lambda: datetime(2026, 11, 25, 6, 0),
              renderer=fake_pdf)  # the ledger records the clauses' hashes from the letter's draft
    folder = workspace / "legal_clauses"
    shipped = SHIPPED / "zh-CN" / "property" / "reminder" / "privacy_note.md"
    (folder / "privacy_note.md").write_text(shipped.read_text(encoding="utf-8").replace("。", "！", 1),
                                            encoding="utf-8")
    found = problems(workspace)
    assert any(p.startswith("privacy_note.md:3: version: the text of zh-CN.property.reminder.privacy_note@1.0.0 "
                            "differs from the one in letter ") and p.endswith("already issued: give the new text a "
                                                                              "new version") for p in found)


def with_when(path: Path, when: str) -> Path:
    """Add a `when:` line after the slot line of a clause file."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("\nslot:", f"\nwhen: {when}\nslot:", 1), encoding="utf-8")
    return path


def test_conditions_that_cannot_be_evaluated_are_named_with_their_line(workspace):
    folder = workspace / "legal_clauses"
    with_when(clause(folder, "unknown_fact.md", "正文。"), "reminders >= 1")
    with_when(clause(folder, "not_a_condition.md", "正文。"), "demands_sent => 1")
    with_when(clause(folder, "text_compared.md", "正文。"), "debtor.note == 1")
    with_when(clause(folder, "count_as_flag.md", "正文。"), "demands_sent")
    with_when(clause(folder, "bad_choice.md", "正文。"), 'debtor.type == "partnership"')
    with_when(clause(folder, "ordered_flag.md", "正文。"), "waiver.offered >= 1")
    found = [p for p in problems(workspace) if ": when: " in p]
    assert found == [
        "bad_choice.md:10: when: `debtor.type == \"partnership\"`: 'partnership' is not a value of debtor.type "
        "(use individual, sole_trader, company, unknown)",
        "count_as_flag.md:10: when: `demands_sent`: compare demands_sent with a value (a number)",
        "not_a_condition.md:10: when: `when: demands_sent => 1` is not a condition (write e.g. `demands_sent >= 1`, "
        "`debtor.note`, `not waiver.offered`, `debtor.type == \"company\"`)",
        "ordered_flag.md:10: when: `waiver.offered >= 1`: >= compares counts only",
        "text_compared.md:10: when: `debtor.note == 1`: test whether debtor.note is given (`debtor.note` or "
        "`not debtor.note`)",
        "unknown_fact.md:10: when: unknown fact 'reminders' in `when: reminders >= 1` (facts: demands_sent, "
        "reminders_sent, letters_sent, debtor.note, debtor.type, statement.items, statement.billing_periods, "
        "statement.billing, late_fee.charged, late_fee.capped, waiver.offered, instalments.offered)",
    ]


def test_a_case_the_conditions_leave_open_or_fill_twice_is_reported(workspace):
    """The shipped lawyer's-letter facts cover 0, 1 and 2+ demands; a workspace variant for 1+ overlaps
    with them, and without the 0 variant the case of no demand is left open."""
    folder = workspace / "legal_clauses"
    facts = SHIPPED / "zh-CN" / "property" / "lawyer"
    (folder / "facts.no_demand.md").write_text(
        (facts / "facts.no_demand.md").read_text(encoding="utf-8").replace("status: approved", "status: retired"),
        encoding="utf-8")
    (folder / "facts.any.md").write_text(
        (facts / "facts.one_demand.md").read_text(encoding="utf-8")
        .replace("id: zh-CN.property.lawyer.facts.one_demand", "id: ws.lawyer.facts.any")
        .replace("when: demands_sent == 1", "when: demands_sent >= 1"), encoding="utf-8")
    index_clause_library(Workspace.open(workspace))
    found = problems(workspace)
    open_case = [p for p in found if "no clause whose conditions hold" in p]
    assert open_case and all("slot 'facts' of lawyer / zh-CN / property" in p and "when demands_sent is 0" in p
                             for p in open_case)
    twice = [p for p in found if p.startswith("facts.any.md:11: when: competes with")]
    assert any("when demands_sent is 1" in p for p in twice) and any("when demands_sent is 2" in p for p in twice)
    assert not any("when demands_sent is 0" in p for p in twice)


def test_changing_a_clauses_conditions_needs_a_new_version(workspace):
    folder = workspace / "legal_clauses"
    shipped = SHIPPED / "zh-CN" / "property" / "lawyer" / "facts.md"
    (folder / "facts.md").write_text(shipped.read_text(encoding="utf-8").replace("when: demands_sent >= 2",
                                                                                 "when: demands_sent >= 3"),
                                     encoding="utf-8")
    found = problems(workspace)
    assert any(p.startswith("facts.md:3: version: the text of zh-CN.property.lawyer.facts@1.2.0 changed but its "
                            "version did not") for p in found)


def test_clause_conditions_are_checked_and_a_gap_names_the_condition(copy_sample):
    root = copy_sample("receivables-en")
    folder = root / "legal_clauses"
    folder.mkdir()
    shipped = SHIPPED / "en-GB" / "receivables" / "lawyer" / "instruction.company.md"
    text = shipped.read_text(encoding="utf-8")
    # The company variant now also needs a demand sent before: letters to companies with none have no instruction.
    (folder / "narrow.md").write_text(
        text.replace("version: 1.0.0", "version: 2.0.0")
            .replace("""when: ['debtor.type == "company"']""", """when: ['debtor.type == "company"', 'demands_sent >= 1']"""),
        encoding="utf-8")
    (folder / "bad.md").write_text(text.replace("id: en-GB.receivables.lawyer.instruction.company", "id: bad.when")
                                   .replace("""when: ['debtor.type == "company"']""", "when: ['debtor.type in companies']"),
                                   encoding="utf-8")
    shipped_version = text.replace("status: approved", "status: retired")
    (folder / "old.md").write_text(shipped_version, encoding="utf-8")
    index_clause_library(Workspace.open(root))
    found = problems(root)
    assert any(p.startswith("bad.md:11: when: `when: debtor.type in companies` is not a condition") for p in found)
    gaps = [p for p in found if "no clause whose conditions hold" in p and "slot 'instruction'" in p]
    assert gaps and all("when debtor.type is company, demands_sent is 0" in p for p in gaps)
    assert all(p.endswith('(en-GB.receivables.lawyer.instruction.protocol@1.0.0: debtor.type != "company"; '
                          'en-GB.receivables.lawyer.instruction.company@2.0.0: debtor.type == "company" and '
                          'demands_sent >= 1)') for p in gaps)
