import io
import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from jinja2 import Environment, StrictUndefined, TemplateError
from pypdf import PdfReader

from letterforge.cli import cli
from letterforge.clauses import (
    TYPICAL_FACTS,
    fact_cases,
    load_clause_library,
    parse_conditions,
    parse_clause,
    render_clause,
    select_clauses,
)
from letterforge.diagnostics import UserError
from letterforge.kinds import KINDS
from letterforge.model import CLAUSE_VARIABLES
from letterforge.pipeline import LetterFactory, clause_folders
from letterforge.records import LetterKind
from letterforge.workspace import Workspace

from conftest import SAMPLES

SHIPPED = SAMPLES.parent / "legal_clauses"
AS_OF = date(2026, 11, 25)


def shipped(*parts: str) -> Path:
    return SHIPPED.joinpath(*parts)


def test_parse_clause_reads_front_matter_and_text():
    path = shipped("zh-CN", "property", "demand", "consequence.md")
    clause, problems = parse_clause(path, path.read_text(encoding="utf-8"))
    assert problems == []
    assert (clause.id, clause.version, clause.slot, clause.status) == (
        "zh-CN.property.demand.consequence", "1.0.0", "consequence", "approved")
    assert clause.kinds == ("demand",) and clause.creditor_types == ("property",)
    assert clause.citations == ("民法典第九百四十四条",)
    assert clause.text.startswith("本函系本公司") and clause.text_line == 19
    assert len(clause.content_hash) == 64


def test_every_kind_locale_type_and_category_has_one_clause_per_slot_in_every_case_of_the_facts():
    library = load_clause_library([SHIPPED])
    cases = fact_cases([c for c in library.clauses if c.status == "approved"])
    assert len(cases) > 1  # the shipped clauses do test facts
    for locale, creditor_type in (("zh-CN", "property"), ("zh-CN", "water"), ("en-GB", "receivables")):
        for kind in LetterKind:
            for category in ("forgot", "hardship", "dispute", "wilful", "unknown"):
                for facts in cases:
                    chosen = select_clauses(library, kind, locale, creditor_type, category, AS_OF, facts=facts)
                    assert [c.slot for c in chosen] == list(KINDS[kind].slots)


def test_selection_names_the_slot_when_none_or_several(copy_sample):
    library = load_clause_library([SHIPPED])
    with pytest.raises(UserError, match="slot 'opening': no approved clause in force on 2025-06-01"):
        select_clauses(library, LetterKind.DEMAND, "zh-CN", "property", "forgot", date(2025, 6, 1), facts=TYPICAL_FACTS)
    workspace = copy_sample("property-zh")
    (workspace / "legal_clauses").mkdir()
    text = shipped("zh-CN", "property", "demand", "opening.md").read_text(encoding="utf-8")
    (workspace / "legal_clauses" / "rival.md").write_text(text.replace("demand.opening", "rival.opening"),
                                                          encoding="utf-8")
    library = load_clause_library(clause_folders(Workspace.open(workspace)))
    with pytest.raises(UserError, match=r"slot 'opening': 2 clauses compete \(zh-CN.property.demand.opening@1.2.0, "
                                        r"zh-CN.property.rival.opening@1.2.0\)"):
        select_clauses(library, LetterKind.DEMAND, "zh-CN", "property", "forgot", AS_OF, facts=TYPICAL_FACTS)


def test_clause_variables_all_resolve_in_a_composed_letter():
    environment = Environment(undefined=StrictUndefined)
    drafts = [LetterFactory(Workspace.open(SAMPLES / sample)).draft(account_id, LetterKind.LAWYER, AS_OF)
              for sample, account_id in (("property-zh", "JX-2-0302"), ("water-zh", "01000619"),
                                         ("receivables-en", "C-1018"))]
    for name in sorted(CLAUSE_VARIABLES):
        resolved = []
        for draft in drafts:
            try:
                resolved.append(environment.from_string("{{ " + name + " }}").render(draft.context))
            except TemplateError:  # a part of the letter that this letter has not (a bank, the Protocol)
                continue
        assert resolved, f"{name} resolves in no sample letter"


def test_bold_markers_are_split_before_rendering_so_values_stay_text():
    environment = Environment(autoescape=False)
    path = shipped("zh-CN", "property", "demand", "consequence.md")
    clause, _ = parse_clause(path, "---\n" + path.read_text(encoding="utf-8").split("---\n")[1] +
                             "---\n请于**{{ debtor.name }}**前缴纳。\n\n第二段。\n")
    paragraphs = render_clause(environment, clause, {"debtor": {"name": "**x** {{7*7}}"}})
    assert paragraphs == ((("请于", False), ("**x** {{7*7}}", True), ("前缴纳。", False)), (("第二段。", False),))


@pytest.mark.slow
def test_letter_keeps_its_clause_versions_out_of_the_file_the_debtor_reads():
    factory = LetterFactory(Workspace.open(SAMPLES / "water-zh"))
    draft = factory.draft("01000619", LetterKind.DEMAND, AS_OF)
    info = PdfReader(io.BytesIO(factory.render(draft, "pdf").content)).metadata
    assert not any("zh-CN.water" in str(value) for value in info.values())
    # the draft still names every clause version, for the ledger and the manifest
    assert [f"{c['id']}@{c['version']}#{c['sha256']}" for c in draft.clause_versions] == [
        f"{c.id}@{c.version}#{c.content_hash}" for c in draft.clauses]


def draft_workspace(copy_sample) -> Path:
    workspace = copy_sample("property-zh")
    (workspace / "legal_clauses").mkdir()
    text = shipped("zh-CN", "property", "demand", "consequence.md").read_text(encoding="utf-8")
    draft = (text.replace("version: 1.0.0", "version: 1.1.0").replace("status: approved", "status: draft")
             .replace("本函系本公司", "【修订稿】本函系本公司"))
    (workspace / "legal_clauses" / "consequence.md").write_text(draft, encoding="utf-8")
    return workspace


def test_a_draft_is_never_used_outside_preview(copy_sample):
    workspace = draft_workspace(copy_sample)
    factory = LetterFactory(Workspace.open(workspace))
    draft = factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF)
    assert "zh-CN.property.demand.consequence@1.0.0" in [c.label for c in draft.clauses]
    assert "【修订稿】" not in factory.renderer.render_html(draft)


@pytest.mark.slow
def test_preview_puts_the_draft_in_place_with_a_watermark_on_every_page(copy_sample, tmp_path):
    workspace = draft_workspace(copy_sample)
    result = CliRunner().invoke(cli, ["clauses", "preview", "zh-CN.property.demand.consequence", "-w", str(workspace),
                                      "--account", "JX-2-0302", "--as-of", "2026-11-25", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "zh-CN.property.demand.consequence@1.1.0 (draft) in slot 'consequence', account JX-2-0302" in result.output
    assert "【修订稿】本函系本公司" in result.output
    pdf = tmp_path / "preview-zh-CN.property.demand.consequence@1.1.0.pdf"
    reader = PdfReader(pdf)
    for page in reader.pages:
        assert "草稿" in page.extract_text()
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "【修订稿】本函系本公司" in text


def test_preview_of_an_approved_version_has_no_watermark(tmp_path):
    result = CliRunner().invoke(cli, ["clauses", "preview", "en-GB.receivables.lawyer.facts.demanded", "--format", "html",
                                      "-w", str(SAMPLES / "receivables-en"), "--as-of", "2026-11-25",
                                      "-o", str(tmp_path / "p.html")])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert 'class="watermark"' not in html and "Letter before action" in html


def test_preview_refuses_a_clause_of_another_creditor_type():
    result = CliRunner().invoke(cli, ["clauses", "preview", "zh-CN.water.demand.consequence",
                                      "-w", str(SAMPLES / "property-zh"), "--as-of", "2026-11-25"])
    assert result.exit_code == 1
    assert "is for zh-CN / water letters; this workspace writes zh-CN / property letters" in result.stderr


def test_diff_between_versions(copy_sample):
    workspace = draft_workspace(copy_sample)
    result = CliRunner().invoke(cli, ["clauses", "diff", "zh-CN.property.demand.consequence", "-w", str(workspace)])
    assert result.exit_code == 0
    assert "-version: 1.0.0\n+version: 1.1.0" in result.output
    assert "+【修订稿】本函系本公司" in result.output
    explicit = CliRunner().invoke(cli, ["clauses", "diff", "zh-CN.property.demand.consequence", "--from", "1.0.0",
                                        "--to", "1.1.0", "-w", str(workspace)])
    assert explicit.output == result.output
    single = CliRunner().invoke(cli, ["clauses", "diff", "zh-CN.property.demand.privacy_note", "-w", str(workspace)])
    assert single.exit_code == 1 and "has only version 1.0.0" in single.stderr


def test_clauses_list_filters_and_json():
    result = CliRunner().invoke(cli, ["clauses", "list", "--kind", "lawyer", "--locale", "en-GB", "--format", "json",
                                      "-w", str(SAMPLES / "receivables-en")])
    rows = json.loads(result.stdout)
    email_clauses = [p for p in (shipped("en-GB", "receivables", "lawyer").parent.parent / "email").glob("*.md")
                     if "kinds: [lawyer]" in p.read_text(encoding="utf-8")]
    # the e-mail's subject and body for a lawyer's letter (the body to a company, and the copy's body
    # to an individual or sole trader under the Pre-Action Protocol)
    assert len(email_clauses) == 3
    sms_clauses = list((shipped("en-GB", "receivables", "lawyer").parent.parent / "sms").glob("*.md"))
    assert len(sms_clauses) == 1  # the SMS notice, one clause for every kind
    assert len(rows) == len(list(shipped("en-GB", "receivables", "lawyer").glob("*.md"))) + len(email_clauses) + 1
    assert all("lawyer" in r["kinds"].split(",") and r["id"].startswith("en-GB") for r in rows)
    assert {"id", "version", "slot", "kinds", "creditor_types", "when", "status", "effective", "approved"} <= set(rows[0])
    chinese = json.loads(CliRunner().invoke(cli, ["clauses", "list", "--kind", "lawyer", "--locale", "zh-CN", "--format",
                                                  "json", "-w", str(SAMPLES / "property-zh")]).stdout)
    assert {r["when"] for r in chinese if r["slot"] == "facts" and ".property." in r["id"]} == {
        "demands_sent >= 2", "demands_sent == 1", "demands_sent == 0"}


def test_preview_picks_an_account_whose_letter_the_clause_would_be_in(tmp_path):
    result = CliRunner().invoke(cli, ["clauses", "preview", "zh-CN.property.lawyer.facts.one_demand", "--as-of",
                                      "2026-11-25", "--format", "html", "-o", str(tmp_path / "preview.html"),
                                      "-w", str(SAMPLES / "property-zh")])
    assert result.exit_code == 0, result.output
    assert "委托人已于" in result.output and "向您发出书面催费函，您至今仍未缴纳" in result.output


@pytest.mark.parametrize("when, problem", [
    ("true", "`when: True` is not a condition"),
    ("5", "`when: 5` is not a condition"),
    ("demands_sent >= -1", "'-1' is not a value"),
    ("debtor.type == company", "'company' is not a value"),
    ("debtor.note and", "`when: debtor.note and` is not a condition"),
    ("not demands_sent >= 1", "`when: not demands_sent >= 1` is not a condition"),
    ("{a: b}", "is not a condition"),
])
def test_odd_conditions_are_reported_not_guessed(tmp_path, when, problem):
    text = shipped("zh-CN", "property", "lawyer", "facts.md").read_text(encoding="utf-8")
    text = text.replace("when: demands_sent >= 2", f"when: {when}")
    clause, problems = parse_clause(tmp_path / "facts.md", text)
    assert clause is None and len(problems) == 1
    assert problems[0].row == 11 and problem in problems[0].message


def test_conditions_as_a_list_must_all_hold(tmp_path):
    text = shipped("zh-CN", "property", "lawyer", "facts.md").read_text(encoding="utf-8")
    text = text.replace("when: demands_sent >= 2", 'when: [demands_sent >= 2, debtor.type == "company"]')
    clause, problems = parse_clause(tmp_path / "facts.md", text)
    assert problems == [] and clause.when_text == 'demands_sent >= 2 and debtor.type == "company"'
    assert clause.applies({**TYPICAL_FACTS, "demands_sent": 2, "debtor.type": "company"})
    assert not clause.applies({**TYPICAL_FACTS, "demands_sent": 2, "debtor.type": "individual"})
    assert not clause.applies({**TYPICAL_FACTS, "demands_sent": 1, "debtor.type": "company"})


def test_a_fact_the_letter_does_not_state_is_zero_false_or_empty():
    conditions, problems = parse_conditions(['demands_sent == 0', 'not waiver.offered', 'debtor.type != "company"'])
    assert problems == [] and all(c.holds({}) for c in conditions)
    (given,), _ = parse_conditions("debtor.note")
    assert not given.holds({})
    # The nested letter context serves as well as the flat facts.
    (company,), _ = parse_conditions('debtor.type == "company"')
    assert company.holds({"debtor": {"type": "company"}}) and company.holds({"debtor.type": "company"})
    assert given.holds({"debtor": {"note": "已登记"}})

@pytest.mark.parametrize("condition, expected", [
    ('debtor.type == "company"', True), ('debtor.type != "company"', False), ("demands_sent >= 2", True),
    ("demands_sent < 2", False), ("demands_sent == 2", True), ("waiver.offered", False), ("not waiver.offered", True),
    ("debtor.note", False),
])
def test_clause_conditions(condition, expected):
    facts = {"debtor": {"type": "company", "note": ""}, "demands_sent": 2, "waiver": {"offered": False}}
    (parsed,), problems = parse_conditions(condition)
    assert problems == [] and parsed.problem() == ""
    assert parsed.holds(facts) is expected


@pytest.mark.parametrize("condition", ["debtor.type in ('a', 'b')", "not demands_sent > 1", "x == y", "{{ x }}", "",
                                       "missing.value", "debtor.type > 3"])
def test_clause_conditions_that_cannot_be_read(condition):
    conditions, problems = parse_conditions(condition)
    assert problems or any(c.problem() for c in conditions)


def test_offers_and_debtor_type_choose_the_english_variants(copy_sample):
    workspace = copy_sample("receivables-en")
    settings = workspace / "letterforge.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + "\n[offers]\nwaive_late_fee = false\ninstalments = false\n",
                        encoding="utf-8")
    factory = LetterFactory(Workspace.open(workspace))
    ids = {c.slot: c.id for c in factory.draft("C-1012", LetterKind.LAWYER, AS_OF).clauses}
    assert ids["instruction"].endswith(".instruction.protocol") and ids["deadline"].endswith(".protocol.no-waiver")
    assert ids["category_offer"].endswith(".hardship.protocol.no-instalments")
    demand = {c.slot: c.id for c in factory.draft("C-1002", LetterKind.DEMAND, AS_OF).clauses}
    assert demand["deadline_and_choices"].endswith(".in-full") and demand["consequence"].endswith(".no-instalments")
    company = {c.slot: c.id for c in LetterFactory(Workspace.open(SAMPLES / "receivables-en"))
               .draft("C-1004", LetterKind.LAWYER, AS_OF).clauses}
    assert company["instruction"].endswith(".instruction.company") and company["deadline"].endswith(".deadline.company")


def test_front_matter_is_read_with_libyaml_and_gives_what_the_python_loader_gives(tmp_path):
    import yaml

    from letterforge import clauses

    if yaml.__with_libyaml__:
        assert clauses._fast_loader() is yaml.CSafeLoader
    for path in sorted(clause_folders_of_the_samples()):
        text = path.read_text(encoding="utf-8")
        front = clauses._FRONT_MATTER.match(text)
        if front:
            assert clauses._load_yaml(front.group(1)) == (yaml.load(front.group(1), Loader=yaml.SafeLoader) or {})


def clause_folders_of_the_samples():
    from letterforge.shipped import shipped_folder

    return list(shipped_folder("legal_clauses").rglob("*.md"))


# -- the front matter kept in the cache folder (FrontMatterCache) ----------------------------------

def library_clauses(folders):
    from letterforge.clauses import load_clause_library

    library = load_clause_library(folders)
    return library.clauses, [str(d) for d in library.diagnostics]


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("LETTERFORGE_CACHE_DIR", str(folder))
    return folder


def clause_file(folder: Path, status: str = "approved", extra: str = "") -> Path:
    path = folder / "zh-CN" / "notice.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"---\nid: zh.notice.extra\nversion: 1.0.0\ntitle: 附加说明\nlocale: zh-CN\njurisdiction: CN\n"
                    f"kinds: [reminder]\ncreditor_types: [property]\nslot: notice\nstatus: {status}\n"
                    f"effective_from: 2026-01-01\nwhen: [demands_sent >= 1]\n{extra}---\n请于期限内缴清。\n",
                    encoding="utf-8")
    return path


def test_the_library_read_again_takes_its_front_matter_from_the_cache(own_cache, tmp_path, monkeypatch):
    from letterforge import clauses

    folders = [shipped(), tmp_path / "workspace-clauses"]
    clause_file(folders[1])
    first = library_clauses(folders)
    assert len(list(own_cache.glob("clauses-*.json"))) == 2  # one file per clause folder
    monkeypatch.setattr(clauses, "_load_yaml", lambda text: pytest.fail("YAML read although the cache has it"))
    assert library_clauses(folders) == first
    assert any(c.id == "zh.notice.extra" and c.effective_from == date(2026, 1, 1) for c in first[0])


def test_an_edited_clause_is_read_afresh_and_a_damaged_cache_is_repaired(own_cache, tmp_path):
    folders = [tmp_path / "clauses"]
    path = clause_file(folders[0])
    assert library_clauses(folders)[0][0].status == "approved"
    clause_file(folders[0], status="draft")  # the legal team withdraws its approval
    assert library_clauses(folders)[0][0].status == "draft"
    [entry] = own_cache.glob("clauses-*.json")
    for damage in (b"", b"{not json", json.dumps({"key": "other", "entries": {}}).encode(),
                   entry.read_bytes().replace(b'"draft"', b'"approved"').replace(b'"format":1', b'"format":0')):
        entry.write_bytes(damage)
        assert library_clauses(folders)[0][0].status == "draft"
    assert path.is_file() and b'"draft"' in entry.read_bytes()


def test_front_matter_problems_read_the_same_with_the_cache(own_cache, tmp_path):
    folders = [tmp_path / "clauses"]
    clause_file(folders[0], extra="approved_on: soon\nsuspension_notice: maybe\n")
    (folders[0] / "zh-CN" / "broken.md").write_text("---\nid: [unclosed\n---\ntext\n", encoding="utf-8")
    (folders[0] / "zh-CN" / "odd.md").write_text("---\n- a list\n---\ntext\n", encoding="utf-8")
    first = library_clauses(folders)
    assert len(first[1]) == 4 and "not valid YAML" in " ".join(first[1]) and "key: value lines" in " ".join(first[1])
    assert library_clauses(folders) == first  # read again with the entries the first reading kept


def test_a_cache_folder_others_may_write_to_is_not_used_for_clauses(tmp_path, monkeypatch, caplog):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    monkeypatch.setenv("LETTERFORGE_CACHE_DIR", str(shared))
    folders = [tmp_path / "clauses"]
    clause_file(folders[0])
    with caplog.at_level("WARNING"):
        assert library_clauses(folders)[0][0].status == "approved"
    assert not list(shared.glob("clauses-*.json"))
    assert "not a private folder" in caplog.text and f"chmod go-w {shared}" in caplog.text


@pytest.mark.parametrize("value", [
    {"a": [1, 2.5, True, None, "x", date(2026, 1, 1)], "b": {"c": "d"}}, "text", [], {},
])
def test_front_matter_json_gives_back_exactly_what_yaml_gave(value):
    from letterforge.clauses import _from_json, _to_json

    kept = _to_json(value)
    assert _from_json(json.loads(json.dumps(kept))) == value


@pytest.mark.parametrize("value", [{1: "a"}, {"$date": "x"}, float("nan"), {"when": {2026, 1}}, (1, 2)])
def test_front_matter_json_does_not_keep_what_it_cannot_give_back(value):
    from datetime import datetime

    from letterforge.clauses import _UNKEPT, _to_json

    assert _to_json(value) is _UNKEPT and _to_json([datetime(2026, 1, 1, 9, 0)]) is _UNKEPT


def test_an_unusable_cache_folder_only_costs_the_time(tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("LETTERFORGE_CACHE_DIR", str(blocked / "cache"))
    folders = [tmp_path / "clauses"]
    clause_file(folders[0])
    assert library_clauses(folders)[0][0].status == "approved" and blocked.read_text() == "not a folder"
