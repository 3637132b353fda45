"""Drafts: every letter the samples can produce states only what is true for its account."""

import re
from datetime import date
from decimal import Decimal

import pytest
from pydantic import ValidationError

from letterforge.clauses import CONDITION_FACTS
from letterforge.diagnostics import UserError
from letterforge.drafts import compose_letter, letter_facts, make_offers
from letterforge.kinds import KINDS
from letterforge.model import Letter
from letterforge.pipeline import LetterFactory, compute_statements
from letterforge.records import DebtorCategory, DebtorType, LetterKind
from letterforge.workspace import Workspace

from conftest import SAMPLES

AS_OF = date(2026, 11, 25)
# Mechanical or false wording that no clause text may produce (issue 12, "what was seen").
FORBIDDEN = {
    "a zero count": re.compile(r"(?<![0-9.,])0(次|笔|个月|个季度|期| written demands| invoices)"),
    "an empty date or value": re.compile(r"为[，。]|为$|dated \.|since \.|（大写：）|：$"),
    "an ISO month or date in prose": re.compile(r"(?<![0-9-])(19|20)\d{2}-(0[1-9]|1[0-2])(?![0-9])"),
    "a rate in digits after 万分之/千分之": re.compile(r"[万千百]分之\d"),
    "a conditional cap": re.compile(r"设有上限的"),
    "a span whose two ends are equal": re.compile(r"(\d{4}年\d{1,2}月)至\1|(\d{4}年第\d季度)至\2"),
    "the undisputed part": re.compile(r"无争议部分|undisputed"),
}


def clause_texts(factory: LetterFactory, draft) -> dict[str, str]:
    filled = factory.renderer.context_for(draft)["clauses"]
    return {slot: "\n".join("".join(text for text, _ in paragraph) for paragraph in clause["paragraphs"])
            for slot, clause in filled.items()}


def letters_of(sample: str):
    """Every kind for every account that owes something and is not on hold, from the sample's data."""
    workspace = Workspace.open(SAMPLES / sample)
    factory = LetterFactory(workspace)
    for statement in compute_statements(workspace, (), AS_OF, factory.data):
        if not statement.lines or statement.account.on_hold(AS_OF):
            continue
        for kind in LetterKind:
            yield factory, factory.draft(statement.account.account_id, kind, AS_OF)


@pytest.mark.parametrize("sample", ["property-zh", "water-zh", "receivables-en"])
def test_no_letter_of_a_sample_states_a_falsehood_or_a_mechanical_phrase(sample):
    seen = 0
    for factory, draft in letters_of(sample):
        for slot, text in clause_texts(factory, draft).items():
            for what, pattern in FORBIDDEN.items():
                match = pattern.search(text)
                assert match is None, f"{draft.account.account_id} {draft.kind.value} {slot}: {what}: {match[0]!r} in {text}"
        seen += 1
    assert seen > 30


def texts_for(sample: str, account_id: str, kind: LetterKind) -> str:
    factory = LetterFactory(Workspace.open(SAMPLES / sample))
    draft = factory.draft(account_id, kind, AS_OF)
    return "\n".join(clause_texts(factory, draft).values())


def test_a_lawyers_letter_claims_only_the_demands_that_were_sent():
    # JX-1-0201 never had a demand letter; JX-6-0401 had two; water 04000103 had one.
    never = texts_for("property-zh", "JX-1-0201", LetterKind.LAWYER)
    assert "催费函" not in never and "上述费用均已逾期，您至今仍未缴纳" in never
    twice = texts_for("property-zh", "JX-6-0401", LetterKind.LAWYER)
    assert "委托人已先后两次向您发出书面催费函，最近一次为2026年10月20日" in twice
    once = texts_for("water-zh", "04000103", LetterKind.LAWYER)
    assert "委托人已于2026年10月12日向您发出书面催缴函" in once and "先后两次向您发出" not in once
    # a reminder and one demand: two letters, counted as such, not "多次提醒"
    assert "委托人此前已先后两次书面提示并催告您" in once and "多次" not in once


def test_a_wilful_debtor_is_told_of_earlier_reminders_only_when_there_were_some():
    # JX-6-0601 had one reminder in 2023; 01000619 had a reminder and two demands.
    once = texts_for("property-zh", "JX-6-0601", LetterKind.DEMAND)
    assert "本公司已于2023年4月12日书面提示您" in once and "多次" not in once
    many = texts_for("water-zh", "01000619", LetterKind.DEMAND)
    assert "本公司此前已多次书面提示您缴纳上述水费，最近一次为2026年8月18日" in many


def test_values_are_phrased_for_prose_with_the_billing_cycles_unit():
    factory = LetterFactory(Workspace.open(SAMPLES / "water-zh"))
    cases = {
        # account: (span, count) -- quarterly, two-monthly, one item only, a long table from 2023
        "01000619": ("2025年第3季度至2026年第3季度", "5个季度"),
        "04000103": ("2026年5月至10月", "3期"),
        "04000101": ("2026年第3季度", "1个季度"),
        "04000105": ("2023年第2季度至2026年第3季度", "14个季度"),
    }
    for account_id, (span, count) in cases.items():
        statement = factory.draft(account_id, LetterKind.DEMAND, AS_OF).context["statement"]
        assert (statement["period_span"], statement["period_count"]) == (span, count), account_id
    property_factory = LetterFactory(Workspace.open(SAMPLES / "property-zh"))
    one_month = property_factory.draft("JX-1-0201", LetterKind.DEMAND, AS_OF).context
    assert one_month["statement"]["period_span"] == "2026年10月" and one_month["statement"]["period_count"] == "1个月"
    long = property_factory.draft("JX-6-0601", LetterKind.DEMAND, AS_OF).context["statement"]
    assert (long["period_span"], long["period_count"], long["billing"]) == ("2023年3月至2026年10月", "44个月", "monthly")
    assert one_month["late_fee"]["rate_text"] == "每日万分之三"
    assert one_month["late_fee"]["cap_text"] == "滞纳金累计不超过欠费本金"
    water = factory.draft("01000619", LetterKind.DEMAND, AS_OF).context["late_fee"]["rate_text"]
    assert water == "每日千分之一"
    wilful_quarterly = texts_for("water-zh", "01000619", LetterKind.REMINDER)
    assert "您已有5个季度的水费未缴" in wilful_quarterly and "个月" not in wilful_quarterly


def test_an_instalment_plan_is_offered_only_in_proportion_to_the_debt(copy_sample):
    factory = LetterFactory(Workspace.open(SAMPLES / "property-zh"))
    tiny = factory.draft("JX-1-0201", LetterKind.DEMAND, AS_OF)  # ¥270.41 owed
    assert tiny.statement.total < Decimal("500") and not tiny.context["instalments"]["offered"]
    text = "\n".join(clause_texts(factory, tiny).values())
    assert "首期" not in text and "个月缴清" not in text
    large = factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF)
    assert large.context["instalments"]["offered"] and large.context["instalments"]["months"] == 6
    # A smaller debt is spread over fewer months so that each instalment stays at the minimum.
    workspace = copy_sample("property-zh")
    settings = workspace / "letterforge.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace(
        "instalment_months = 6", 'instalment_months = 6\ninstalment_minimum_total = "100"\n'
                                 'instalment_minimum_amount = "100"'), encoding="utf-8")
    offers = make_offers(tiny.statement, Workspace.open(workspace).config)
    assert (offers.instalments_offered, offers.months) == (True, 2)
    assert offers.first_amount >= Decimal("100")


def test_the_waiver_says_what_it_is_and_disappears_when_not_offered(copy_sample):
    text = texts_for("property-zh", "JX-2-0302", LetterKind.DEMAND)
    assert "本公司免收全部滞纳金¥125.98，即您只需缴纳本金，无需缴纳合计金额¥2,372.74" in text
    workspace = copy_sample("property-zh")
    settings = workspace / "letterforge.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("waive_late_fee = true", "waive_late_fee = false")
                        .replace("instalments = true", "instalments = false"), encoding="utf-8")
    factory = LetterFactory(Workspace.open(workspace))
    draft = factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF)
    text = "\n".join(clause_texts(factory, draft).values())
    assert "减免" not in text and "免收" not in text and "分期缴纳：" not in text
    assert "请您最迟于2026年12月2日缴清上述全部欠款¥2,372.74" in text


def test_the_dispute_paragraph_with_and_without_a_note():
    with_note = texts_for("property-zh", "JX-6-0401", LetterKind.DEMAND)
    assert "目前的处理情况：您反映的6栋4楼走廊渗水问题" in with_note
    without = texts_for("property-zh", "JX-6-0502", LetterKind.DEMAND)
    assert "目前的处理情况" not in without and "本函所列金额为账面记载的全部欠费" in without
    # The lawyer's letter never quotes the creditor's own notes.
    lawyer = texts_for("property-zh", "JX-6-0401", LetterKind.LAWYER)
    assert "渗水" not in lawyer and "委托人已登记" in lawyer


def test_the_late_fee_cap_is_stated_not_conditional():
    text = texts_for("property-zh", "JX-2-0302", LetterKind.DEMAND)
    assert "按欠费本金每日万分之三的标准计收滞纳金，滞纳金累计不超过欠费本金。" in text


def test_the_facts_are_the_ones_clauses_may_test():
    factory = LetterFactory(Workspace.open(SAMPLES / "property-zh"))
    draft = factory.draft("JX-6-0401", LetterKind.LAWYER, AS_OF)
    facts = letter_facts(draft.letter)
    assert facts.keys() == CONDITION_FACTS.keys()
    assert (facts["demands_sent"], facts["reminders_sent"], facts["letters_sent"]) == (2, 1, 3)
    assert facts["debtor.note"] is True and facts["statement.billing"] == "monthly"


def test_a_slot_with_no_clause_whose_conditions_hold_is_an_error_naming_slot_and_condition(copy_sample, tmp_path):
    workspace = copy_sample("property-zh")
    clauses = workspace / "legal_clauses"
    clauses.mkdir()
    shipped = SAMPLES.parent / "legal_clauses" / "zh-CN" / "property" / "lawyer" / "facts.no_demand.md"
    # Retire the workspace's copy of the no-demand variant: nothing is left for an account without demands.
    (clauses / "facts.no_demand.md").write_text(
        shipped.read_text(encoding="utf-8").replace("status: approved", "status: retired"), encoding="utf-8")
    opened = Workspace.open(workspace)
    factory = LetterFactory(opened)
    (statement,) = compute_statements(opened, ("JX-1-0201",), AS_OF, factory.data)
    with pytest.raises(UserError) as error:
        compose_letter(LetterKind.LAWYER, statement, opened.config, factory.library, issued_on=AS_OF,
                       history=factory.data.history)
    message = str(error.value)
    assert "slot 'facts': no clause whose conditions hold" in message
    assert "zh-CN.property.lawyer.facts@1.2.0 needs demands_sent >= 2 (demands_sent is 0)" in message



def test_without_a_late_fee_no_letter_speaks_of_one(copy_sample):
    workspace = copy_sample("water-zh")
    settings = workspace / "letterforge.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace('rule = "daily_rate"', 'rule = "none"'),
                        encoding="utf-8")
    opened = Workspace.open(workspace)
    factory = LetterFactory(opened)
    for account_id in ("01000619", "04000102", "04000104"):
        for kind in LetterKind:
            draft = factory.draft(account_id, kind, AS_OF)
            text = "\n".join(clause_texts(factory, draft).values())
            assert "滞纳金" not in text.replace("未计收滞纳金", ""), (account_id, kind, text)
            assert "¥0.00" not in text and draft.statement.late_fees == 0


@pytest.mark.slow
def test_an_account_without_building_or_unit_is_named_by_its_address(copy_sample):
    import subprocess

    from letterforge.pipeline import LetterFactory
    from letterforge.records import DebtorCategory, DebtorType, LetterKind
    from letterforge.workspace import Workspace

    root = copy_sample("property-zh")
    path = root / "住户.csv"
    text = path.read_bytes().decode("gbk").replace("JX-1-0201,陈堃,1栋,0201,", "JX-1-0201,陈堃,,,")
    path.write_bytes(text.encode("gbk"))
    factory = LetterFactory(Workspace.open(root))
    for kind in (LetterKind.REMINDER, LetterKind.DEMAND, LetterKind.LAWYER):
        letter = factory.render(factory.draft("JX-1-0201", kind, date(2026, 11, 25)), "pdf")  # proof-read, enforced
        (root / "letter.pdf").write_bytes(letter.content)
        body = subprocess.run(["pdftotext", str(root / "letter.pdf"), "-"], capture_output=True, text=True,
                              check=True).stdout.replace("\n", "")
        assert "位于浙江省杭州市拱墅区锦绣路188号锦绣华庭1栋0201室的房屋" in body


# -- compose_letter as a stage: records in, the typed letter out (no rendering) ----------------------

@pytest.fixture(scope="module")
def sample_factory() -> LetterFactory:
    return LetterFactory(Workspace.open(SAMPLES / "property-zh"))


def test_compose_letter_builds_the_typed_letter_from_the_statement(sample_factory):
    workspace = sample_factory.workspace
    (statement,) = compute_statements(workspace, ("JX-2-0302",), AS_OF, sample_factory.data)
    draft = compose_letter(LetterKind.DEMAND, statement, workspace.config, sample_factory.library,
                           issued_on=AS_OF, history=sample_factory.data.history)
    letter = draft.letter
    assert isinstance(letter, Letter)
    assert letter.letter.kind is LetterKind.DEMAND and letter.letter.reference == "DEM-20261125-JX-2-0302"
    assert (letter.letter.issued_on, letter.letter.locale, letter.letter.reply_days) == (AS_OF, "zh-CN", 7)
    assert letter.letter.deadline == draft.deadline and letter.letter.deadline > AS_OF
    assert isinstance(letter.total, Decimal) and letter.total == statement.total
    assert (letter.statement.principal, letter.statement.late_fees) == (statement.principal, statement.late_fees)
    assert [line.period for line in letter.statement.lines] == [line.item.period for line in statement.lines]
    assert sum(line.outstanding for line in letter.statement.lines) == letter.statement.principal
    assert letter.statement.as_of == AS_OF and letter.currency == "CNY"
    assert letter.debtor.account_id == "JX-2-0302" and isinstance(letter.debtor.category, DebtorCategory)
    assert isinstance(letter.debtor.type, DebtorType)
    assert letter.creditor == workspace.config.creditor and letter.law_firm is None
    assert letter.waiver.offered and letter.waiver.amount == statement.late_fees + statement.compensation
    assert letter.instalments.offered and letter.instalments.months == 6
    assert [v.slot for v in letter.clause_versions] == list(KINDS[LetterKind.DEMAND].slots)
    assert [v.label for v in letter.clause_versions] == [c.label for c in draft.clauses]
    assert not letter.draft_watermark and draft.watermarked().letter.draft_watermark
    assert letter_facts(letter).keys() == CONDITION_FACTS.keys()
    # The templates read the very same fields, by the same names.
    context = draft.context
    assert context["debtor"]["name"] == letter.debtor.name and context["statement"]["total"] == letter.total


def test_a_lawyers_letter_carries_the_law_firm_and_the_letter_cannot_be_changed(sample_factory):
    draft = sample_factory.draft("JX-2-0302", LetterKind.LAWYER, AS_OF)
    assert draft.letter.law_firm == sample_factory.workspace.config.law_firm
    assert [v.slot for v in draft.letter.clause_versions] == list(KINDS[LetterKind.LAWYER].slots)
    with pytest.raises(ValidationError):
        draft.letter.total = Decimal("1")  # type: ignore[misc]
    with pytest.raises(ValidationError):
        draft.letter.debtor.name = "someone else"  # type: ignore[misc]


@pytest.mark.parametrize("sample, account, kind", [("property-zh", "JX-1-0201", LetterKind.REMINDER),
                                                   ("receivables-en", "C-1004", LetterKind.LAWYER)])
def test_a_draft_numbered_afterwards_is_the_letter_composed_with_that_number(sample, account, kind):
    # A clerk's letter is composed before its number is reserved, then numbered: it must be the very
    # letter that composing it with the number gives (templates see the same fields, the ledger the
    # same snapshot).
    factory = LetterFactory(Workspace.open(SAMPLES / sample))
    composed = factory.draft(account, kind, AS_OF, "-")
    for reference in ("REF/2026/0042", ""):
        numbered = composed.numbered(reference)
        direct = factory.draft(account, kind, AS_OF, reference)
        assert numbered == direct and numbered.letter.model_dump_json() == direct.letter.model_dump_json()
        assert numbered.context == direct.context
    assert composed.numbered("REF/2026/0042").letter.payment.reference_to_quote == f"{account} REF/2026/0042"
    assert composed.reference == "-"  # the composed draft itself is unchanged
