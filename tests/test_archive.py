"""What the archive reads back of an issued letter: the debtor as the letter was addressed to them,
from the ledger's snapshot (the letter model's JSON, or an older letter's inputs)."""

import json
from datetime import date, datetime
from decimal import Decimal

import pytest

from letterforge.archive import issued_account
from letterforge.ledger import open_ledger
from letterforge.model import snapshot_of
from letterforge.pipeline import LetterFactory
from letterforge.records import DebtorCategory, DebtorType, LetterKind
from letterforge.workspace import Workspace

from conftest import SAMPLES

AS_OF = date(2026, 11, 25)
CLOCK = lambda: datetime(2026, 11, 25, 6, 30)  # noqa: E731


@pytest.fixture(scope="module")
def property_factory() -> LetterFactory:
    return LetterFactory(Workspace.open(SAMPLES / "property-zh"))


def _issued_with(tmp_path, snapshot: str):
    ledger = open_ledger(tmp_path, CLOCK)
    ledger.add_planned([("JX-2-0302", LetterKind.DEMAND, AS_OF, "2栋")])
    (letter,) = ledger.reserve_references(ledger.letters(status="planned"), lambda k, y, n: f"D-{n}", AS_OF)
    ledger.mark_issued(letter, AS_OF, date(2026, 12, 9), Decimal("1"), Decimal("0"), Decimal("1"), [], "0" * 64,
                       "x.pdf", snapshot)
    return ledger, letter.reference or ""


def test_a_letter_carries_how_its_debtor_could_be_reached(property_factory):
    draft = property_factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF)
    account = property_factory.data.account("JX-2-0302")
    assert account is not None and account.phone
    debtor = draft.letter.debtor
    assert (debtor.phone, debtor.email, debtor.language, debtor.email_consent, debtor.sms_consent) == (
        account.phone, account.email, account.language, account.email_consent, account.sms_consent)


def test_the_account_as_issued_comes_back_from_the_models_snapshot(property_factory, tmp_path):
    letter = property_factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF).letter
    debtor = letter.debtor.model_copy(update={"email": "ye@example.cn", "email_consent": True, "language": "zh-CN",
                                              "type": DebtorType.SOLE_TRADER})
    ledger, reference = _issued_with(tmp_path, snapshot_of(letter.model_copy(update={"debtor": debtor})))
    account = issued_account(ledger, reference)
    ledger.close()
    assert account is not None
    assert (account.account_id, account.name, account.address, account.phone) == (
        debtor.account_id, debtor.name, debtor.address, debtor.phone)
    assert (account.email, account.email_consent, account.sms_consent, account.language) == (
        "ye@example.cn", True, False, "zh-CN")
    assert account.debtor_type is DebtorType.SOLE_TRADER and account.category is debtor.category


def test_an_older_letters_snapshot_of_its_inputs_still_gives_its_account(tmp_path):
    inputs = {"config": "", "account": {"account_id": "JX-2-0302", "name": "x", "address": "y",
                                        "email": "a@example.cn", "email_consent": "True", "debtor_type": "individual",
                                        "category": "hardship", "hold_until": "2026-12-01", "retired_field": "z"}}
    ledger, reference = _issued_with(tmp_path, json.dumps(inputs))
    account = issued_account(ledger, reference)
    ledger.close()
    assert account is not None and account.email == "a@example.cn" and account.email_consent is True
    assert account.debtor_type is DebtorType.INDIVIDUAL and account.category is DebtorCategory.HARDSHIP


@pytest.mark.parametrize("snapshot", ["not json", "[1, 2]", '{"letter": {"kind": "demand"}}'])
def test_a_damaged_snapshot_gives_no_account_rather_than_a_traceback(tmp_path, snapshot):
    ledger, reference = _issued_with(tmp_path, snapshot)
    assert issued_account(ledger, reference) is None
    ledger.close()
