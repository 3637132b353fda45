import dataclasses
import io
import json
import re
from datetime import date

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from letterforge.addressing import address_debtor, pre_action_protocol_applies, uk_letter_problems
from letterforge.cli import cli
from letterforge.config import load_config
from letterforge.diagnostics import UserError
from letterforge.money import format_money
from letterforge.pipeline import LetterFactory
from letterforge.records import Account, DebtorType, LetterKind
from letterforge.workspace import Workspace

from conftest import SAMPLES

AS_OF = date(2026, 11, 25)
RECEIVABLES = SAMPLES / "receivables-en"


def account(debtor_type: DebtorType, title: str = "", surname: str = "", name: str = "Okafor Catering") -> Account:
    return Account("C1", name, "1 High St", debtor_type=debtor_type, title=title, surname=surname)


@pytest.mark.parametrize("debtor_type", list(DebtorType))
def test_english_salutation_names_a_person_only_with_title_and_surname(debtor_type):
    named = address_debtor(account(debtor_type, "Mr", "Okafor"), "en-GB")
    assert (named.salutation, named.closing) == ("Dear Mr Okafor", "Yours sincerely")
    plain = address_debtor(account(debtor_type, name="Taff Vale Print Works Ltd"), "en-GB")
    assert (plain.salutation, plain.closing) == ("Dear Sir or Madam", "Yours faithfully")


def test_chinese_form_of_address_for_a_person_and_for_a_company():
    assert address_debtor(account(DebtorType.INDIVIDUAL, name="张三"), "zh-CN").salutation == "尊敬的张三"
    assert address_debtor(account(DebtorType.UNKNOWN, name="张三"), "zh-CN").salutation == "尊敬的张三"
    assert address_debtor(account(DebtorType.INDIVIDUAL, "先生", "王", "王建国"), "zh-CN").salutation == "尊敬的王先生"
    assert address_debtor(account(DebtorType.COMPANY, name="锦华贸易有限公司"), "zh-CN").salutation == "锦华贸易有限公司"


def test_protocol_applies_to_letters_before_action_to_individuals_and_sole_traders_only():
    applies = {t: pre_action_protocol_applies(account(t), LetterKind.LAWYER, "en-GB") for t in DebtorType}
    assert applies == {DebtorType.INDIVIDUAL: True, DebtorType.SOLE_TRADER: True, DebtorType.UNKNOWN: True,
                       DebtorType.COMPANY: False}
    assert not pre_action_protocol_applies(account(DebtorType.SOLE_TRADER), LetterKind.DEMAND, "en-GB")
    assert not pre_action_protocol_applies(account(DebtorType.INDIVIDUAL), LetterKind.LAWYER, "zh-CN")


def test_uk_letter_problems_name_the_missing_settings_and_the_consumer_debtor():
    config = load_config(RECEIVABLES)
    assert uk_letter_problems(config, account(DebtorType.SOLE_TRADER), LetterKind.LAWYER, "en-GB") == []
    bare = config.model_copy(update={"creditor": config.creditor.model_copy(update={"company_number": ""}),
                                     "law_firm": config.law_firm.model_copy(update={"sra_number": ""})})
    (problem,) = uk_letter_problems(bare, account(DebtorType.COMPANY), LetterKind.LAWYER, "en-GB")
    assert problem.startswith("set creditor.company_number, law_firm.sra_number in letterforge.toml")
    (consumer,) = uk_letter_problems(config, account(DebtorType.INDIVIDUAL), LetterKind.REMINDER, "en-GB")
    assert "applies only between businesses" in consumer
    assert uk_letter_problems(bare, account(DebtorType.INDIVIDUAL), LetterKind.LAWYER, "zh-CN") == []


@pytest.fixture(scope="module")
def factory():
    return LetterFactory(Workspace.open(RECEIVABLES))


def page_texts(content: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages]


@pytest.mark.slow
def test_letter_of_claim_to_a_sole_trader_carries_the_protocol_pages_listed_and_prefilled(factory):
    draft = factory.draft("C-1012", LetterKind.LAWYER, AS_OF)
    pages = page_texts(factory.render(draft, "pdf").content)
    starts = [page.split(" ")[0:2] for page in pages]
    annexes = [index for index, words in enumerate(starts)
               if words in (["Information", "Sheet"], ["Reply", "Form"], ["Financial", "Statement"])]
    assert [" ".join(starts[i]) for i in annexes] == ["Information Sheet", "Reply Form", "Financial Statement"]
    assert annexes == list(range(len(pages) - 3, len(pages)))  # the last three pages, one each
    letter = " ".join(pages[: annexes[0]])
    assert "Dear Mr Okafor," in letter and "Yours sincerely," in letter and "Yours faithfully" not in letter
    assert "This is a Letter of Claim under the Pre-Action Protocol for Debt Claims" in letter
    assert re.search(r"Enclosures: Schedule 1 .*; Information Sheet; Reply Form; Financial Statement", letter)
    reply_form = pages[annexes[1]]
    total = format_money(draft.statement.total, "GBP", "en-GB")
    for value in ("Samuel Okafor trading as Okafor Mobile Catering", "C-1012", draft.reference, total,
                  "Whitcombe Rowe Solicitors LLP"):
        assert value in reply_form
    assert "29 December 2026" in pages[annexes[0]]  # 30 days from 25 November, the Protocol's reply period


@pytest.mark.slow
def test_letter_before_action_to_a_company_has_no_protocol_and_no_named_salutation(factory):
    pages = page_texts(factory.render(factory.draft("C-1004", LetterKind.LAWYER, AS_OF), "pdf").content)
    text = " ".join(pages)
    for absent in ("Pre-Action Protocol", "Reply Form", "Information Sheet", "Financial Statement",
                   "Dear Taff Vale", "Yours sincerely"):
        assert absent not in text
    assert "Dear Sir or Madam," in text and "Yours faithfully," in text
    assert ("Authorised and regulated by the Solicitors Regulation Authority (SRA number 612345)" in pages[0])
    assert "Harbour Lane Supplies Ltd (company no. 09876543)" in pages[0]


@pytest.mark.slow
def test_demand_letterhead_discloses_the_company_and_has_one_title(factory):
    pages = page_texts(factory.render(factory.draft("C-1004", LetterKind.DEMAND, AS_OF), "pdf").content)
    assert ("Registered in England and Wales, no. 09876543. Registered office: Unit 7, Harbour Lane Business Park, "
            "Bristol, BS1 6ZZ.") in pages[0]
    assert pages[0].lower().count("final demand") == 1
    schedules = " ".join(pages[1:])
    assert "fell due)" not in schedules and "in which interest on it starts to run" in schedules
    assert "reached the cap" not in schedules  # statutory interest has no cap
    assert "Bank transfer" in schedules and "1. Bank transfer" not in schedules and "3. Online" not in schedules


def test_every_receivables_letter_opens_and_closes_by_debtor_type(factory):
    """Every account of the sample, every kind, as HTML: the salutation never names a company and the
    closing matches it; only letters before action to non-companies speak of the Protocol."""
    accounts = {a["account_id"]: a for a in json.loads((RECEIVABLES / "accounts.json").read_text(encoding="utf-8"))}
    rendered = 0
    for statement in factory.data.accounts:
        if not factory.data.arrears_of(statement.account_id):
            continue
        for kind in LetterKind:
            html = factory.renderer.render_html(factory.draft(statement.account_id, kind, AS_OF))
            row = accounts[statement.account_id]
            salutation = f"Dear {row['title']} {row['surname']}" if row.get("title") else "Dear Sir or Madam"
            closing = "Yours sincerely" if row.get("title") else "Yours faithfully"
            assert f">{salutation},<" in html and f"{closing}," in html
            assert f"Dear {row['name']}" not in html
            protocol = kind is LetterKind.LAWYER and row["debtor_type"] != "company"
            assert ("Pre-Action Protocol" in html) is protocol and ('id="reply-form"' in html) is protocol
            assert "{{" not in html and "written demands" not in html
            rendered += 1
    assert rendered == 17 * 3


@pytest.mark.parametrize("missing", ["sra_number", "company_number"])
def test_letter_before_action_is_refused_without_the_sra_line_or_the_company_number(copy_sample, missing):
    workspace = copy_sample("receivables-en")
    settings = workspace / "letterforge.toml"
    text = settings.read_text(encoding="utf-8")
    if missing == "sra_number":
        text = re.sub(r'\nsra_number = "\d+"', "", text)
    else:
        text = re.sub(r'\ncompany_number = "\d+"\nregistered_in = "[^"]*"\nregistered_office = "[^"]*"', "", text)
    settings.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["render", "C-1004", "--kind", "lawyer", "-w", str(workspace),
                                      "--as-of", "2026-11-25", "-o", str(workspace / "x.pdf")])
    assert result.exit_code == 1
    key = "law_firm.sra_number" if missing == "sra_number" else "creditor.company_number, creditor.registered_office"
    assert f"set {key} in letterforge.toml" in result.stderr
    assert not (workspace / "x.pdf").exists()


def test_a_consumer_gets_no_late_payment_act_letter(copy_sample):
    workspace = copy_sample("receivables-en")
    accounts = json.loads((workspace / "accounts.json").read_text(encoding="utf-8"))
    accounts[0].update(debtor_type="individual", title="Mrs", surname="Price")
    (workspace / "accounts.json").write_text(json.dumps(accounts), encoding="utf-8")
    result = CliRunner().invoke(cli, ["render", accounts[0]["account_id"], "--kind", "reminder", "-w", str(workspace),
                                      "--as-of", "2026-11-25", "-o", str(workspace / "x.pdf")])
    assert result.exit_code == 1 and accounts[0]["account_id"] in result.stderr
    validate = CliRunner().invoke(cli, ["validate", "-w", str(workspace)])
    assert "is an individual, but the late fee rule is uk_late_payment" in validate.output + validate.stderr
    # Data that reaches a letter by another road (a ledger snapshot, say) is refused at composition too.
    from letterforge.drafts import compose_letter
    from letterforge.statements import compute_statement

    factory = LetterFactory(Workspace.open(SAMPLES / "receivables-en"))
    sample = factory.data.account("C-1001")
    consumer = dataclasses.replace(sample, debtor_type=DebtorType.INDIVIDUAL)
    statement = compute_statement(consumer, factory.data.arrears_of("C-1001"), factory.workspace.config, AS_OF,
                                  factory.workspace.base_rates)
    with pytest.raises(UserError, match="is an individual: the Late Payment of Commercial Debts"):
        compose_letter(LetterKind.REMINDER, statement, factory.workspace.config, factory.library, issued_on=AS_OF)


def test_a_letter_of_claim_gives_at_least_the_protocols_thirty_days(copy_sample):
    workspace = copy_sample("receivables-en")
    settings = workspace / "letterforge.toml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("lawyer_reply_days = 30", "lawyer_reply_days = 14"),
                        encoding="utf-8")
    factory = LetterFactory(Workspace.open(workspace))
    to_sole_trader = factory.draft("C-1012", LetterKind.LAWYER, AS_OF)
    to_company = factory.draft("C-1004", LetterKind.LAWYER, AS_OF)
    assert (to_sole_trader.deadline - AS_OF).days >= 30
    assert to_sole_trader.deadline == to_sole_trader.context["pre_action_protocol"]["reply_by"]
    assert (to_company.deadline - AS_OF).days < 30 and to_company.context["pre_action_protocol"] is None


def test_title_and_surname_print_literally(copy_sample):
    workspace = copy_sample("receivables-en")
    accounts = json.loads((workspace / "accounts.json").read_text(encoding="utf-8"))
    row = next(a for a in accounts if a["account_id"] == "C-1012")
    row["surname"] = "<b>Okafor</b> {{ 7*7 }}"
    (workspace / "accounts.json").write_text(json.dumps(accounts), encoding="utf-8")
    factory = LetterFactory(Workspace.open(workspace))
    html = factory.renderer.render_html(factory.draft("C-1012", LetterKind.REMINDER, AS_OF))
    assert "Dear Mr &lt;b&gt;Okafor&lt;/b&gt; {{ 7*7 }}," in html and "<b>Okafor" not in html


def test_without_offers_no_english_letter_speaks_of_a_waiver_or_instalments(copy_sample):
    workspace = copy_sample("receivables-en")
    settings = workspace / "letterforge.toml"
    settings.write_text(settings.read_text(encoding="utf-8") + "\n[offers]\nwaive_late_fee = false\ninstalments = false\n",
                        encoding="utf-8")
    factory = LetterFactory(Workspace.open(workspace))
    for account_id in ("C-1002", "C-1012", "C-1016"):
        for kind in LetterKind:
            html = factory.renderer.render_html(factory.draft(account_id, kind, AS_OF))
            # The Protocol's Financial Statement lets the debtor propose instalments: only the letter is read.
            letter = html.split('<section class="annex"')[0]
            text = re.sub(r"<[^>]+>", " ", re.sub(r"(?s)<(head|style)>.*?</\1>", " ", letter)).lower()
            assert "waive" not in text and "instalment" not in text, (account_id, kind)
