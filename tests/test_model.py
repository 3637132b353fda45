"""The typed letter model: the clause variables derived from it, and its JSON snapshot, from which
a reprint makes the issued letter again (compose_letter, which makes it: test_drafts.py)."""

import json
import pickle
import re
import sqlite3
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from letterforge.cli import cli
from letterforge.diagnostics import UserError
from letterforge.drafts import redraft_letter
from letterforge.ledger import open_ledger
from letterforge.model import CLAUSE_VARIABLES, letter_from_snapshot, snapshot_of
from letterforge.pipeline import LetterFactory
from letterforge.records import LetterKind
from letterforge.workspace import Workspace

from conftest import SAMPLES

AS_OF = date(2026, 11, 25)
CLOCK = lambda: datetime(2026, 11, 25, 6, 30)  # noqa: E731


@pytest.fixture(scope="module")
def property_factory() -> LetterFactory:
    return LetterFactory(Workspace.open(SAMPLES / "property-zh"))


def test_the_snapshot_is_the_letters_json_with_exact_amounts_and_iso_dates(property_factory):
    letter = property_factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF).letter
    text = snapshot_of(letter)
    data = json.loads(text)
    assert data["total"] == str(letter.total) and isinstance(data["total"], str)
    assert data["statement"]["lines"][0]["amount_due"] == str(letter.statement.lines[0].amount_due)
    assert data["letter"]["issued_on"] == "2026-11-25" and data["letter"]["kind"] == "demand"
    assert data["clause_versions"][0]["id"] == letter.clause_versions[0].id
    again = letter_from_snapshot(text)
    assert again == letter and snapshot_of(again) == text
    assert all(isinstance(line.late_fee, Decimal) for line in again.statement.lines)
    assert pickle.loads(pickle.dumps(letter)) == letter  # a render task can carry it to another process


def test_a_snapshot_that_is_not_a_letter_is_refused_with_a_clear_error():
    with pytest.raises(UserError, match="REF-1 is not a letter letterforge can read: letter: Field required"):
        letter_from_snapshot('{"total": "1.00"}', "REF-1")
    with pytest.raises(UserError, match="is not a letter letterforge can read"):
        letter_from_snapshot("not json")


def test_a_redrafted_letter_lays_out_as_the_composed_one(property_factory):
    draft = property_factory.draft("JX-6-0401", LetterKind.DEMAND, AS_OF)
    again = redraft_letter(letter_from_snapshot(snapshot_of(draft.letter)), property_factory.library)
    assert again.account is None and again.statement is None  # rendering needs the letter only
    assert [c.label for c in again.clauses] == [c.label for c in draft.clauses]
    assert property_factory.renderer.render_html(again) == property_factory.renderer.render_html(draft)
    missing = draft.letter.model_copy(update={"clause_versions": (
        draft.letter.clause_versions[0].model_copy(update={"version": "9.9.9"}),)})
    with pytest.raises(UserError, match=r"clause zh-CN\.property\..*@9\.9\.9 is no longer in the clause library"):
        redraft_letter(missing, property_factory.library)


def test_the_clause_variables_are_the_models_fields_that_hold_one_value():
    assert {"debtor.name", "statement.total", "letter.deadline", "waiver.amount", "law_firm.lawyer",
            "statement.period_span", "letter.kind", "payment.online.url"} <= CLAUSE_VARIABLES
    # Lists, the inline QR code and the renderer's bookkeeping are not words a clause can state.
    assert not {"statement.lines", "statement.subtotals", "payment.online.qr", "clause_versions",
                "draft_watermark", "debtor", "statement", "debtor.email_consent", "debtor.sms_consent"} & CLAUSE_VARIABLES


def test_a_clause_naming_a_field_the_letter_has_not_fails_clauses_check(copy_sample):
    workspace = copy_sample("property-zh")
    folder = workspace / "legal_clauses"
    folder.mkdir()
    front = Path(SAMPLES.parent / "legal_clauses" / "zh-CN" / "property" / "demand" / "consequence.md").read_text(
        encoding="utf-8").split("---\n")[1]
    front = "".join(line + "\n" for line in front.splitlines()
                    if not line.startswith(("id:", "variables:", "status:", "version:")))
    (folder / "fields.md").write_text(
        "---\nid: test.fields\nversion: 1.0.0\nstatus: draft\n" + front
        + "variables: [letter.kind, debtor.iban, statement.lines]\n---\n"
        "本函为{{ letter.kind }}，账户{{ debtor.iban }}，明细{{ statement.lines }}。\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["clauses", "check", "-w", str(workspace), "--as-of", "2026-11-25"])
    assert result.exit_code == 1, result.output
    assert "unknown variable 'debtor.iban' (not in the letter data model)" in result.output
    # named with the clause file and the line, as every clause problem is
    assert re.search(r"fields\.md:\d+: unknown variable 'debtor\.iban'", result.output), result.output
    assert "unknown variable 'statement.lines'" in result.output
    assert "unknown variable 'letter.kind'" not in result.output


def _legacy_snapshot(workspace: Path, settings: str, account_id: str, kind: str, reference: str) -> dict:
    """A snapshot as letterforge kept it before the letter model: the letter's inputs."""
    data = Workspace.open(workspace).load_data()
    account = data.account(account_id)
    assert account is not None
    return {
        "config": settings,
        "account": {k: (v.isoformat() if isinstance(v, date) else str(v)) for k, v in asdict(account).items()
                    if v is not None},
        "arrears": [{k: (v.isoformat() if isinstance(v, date) else str(v)) for k, v in asdict(item).items()}
                    for item in data.arrears_of(account_id)],
        "history": [{"account_id": p.account_id, "kind": p.kind.value, "issued_on": p.issued_on.isoformat(),
                     "reference": p.reference} for p in data.history if p.account_id == account_id],
        "base_rates": None, "kind": kind, "issued_on": AS_OF.isoformat(), "reference": reference,
    }


@pytest.mark.slow  # renders the letter with WeasyPrint, three times
def test_reprint_rerender_makes_the_letter_again_from_the_models_snapshot(copy_sample, tmp_path):
    workspace = copy_sample("property-zh")
    settings = (workspace / "letterforge.toml").read_text(encoding="utf-8")
    runner = CliRunner()
    issued = runner.invoke(cli, ["render", "JX-2-0302", "--kind", "demand", "-w", str(workspace), "--as-of",
                                 "2026-11-25", "-o", str(tmp_path / "letters"), "--force", "--reason", "test"])
    assert issued.exit_code == 0, issued.output
    ledger = open_ledger(workspace, CLOCK)
    (letter,) = ledger.letters(account_id="JX-2-0302")
    kept = letter_from_snapshot(ledger.snapshot(letter.reference or ""))
    ledger.close()
    assert kept.letter.reference == letter.reference and kept.total == letter.total
    assert [v.label for v in kept.clause_versions] == [entry.split("#")[0] for entry in letter.clauses]
    # The data and the settings move on (paid, the creditor renamed): the letter as issued does not.
    (workspace / "letterforge.toml").write_text(settings.replace('name = "', 'name = "新', 1), encoding="utf-8")
    (workspace / "欠费明细.csv").write_bytes(b"")
    again = runner.invoke(cli, ["reprint", letter.reference, "-w", str(workspace), "-o", str(tmp_path / "r.pdf"),
                                "--rerender"])
    assert again.exit_code == 0, again.output
    assert "made again from its snapshot: the same bytes" in again.output
    # A letter issued before the model kept its inputs instead: it is still made again from them.
    (workspace / "letterforge.toml").write_text(settings, encoding="utf-8")
    legacy = _legacy_snapshot(copy_sample("property-zh", "original"), settings, "JX-2-0302", "demand",
                              letter.reference or "")
    with sqlite3.connect(workspace / "ledger.sqlite") as connection:
        connection.execute("UPDATE letters SET snapshot = ? WHERE reference = ?",
                           (json.dumps(legacy, ensure_ascii=False), letter.reference))
    old = runner.invoke(cli, ["reprint", letter.reference, "-w", str(workspace), "-o", str(tmp_path / "s.pdf"),
                              "--rerender"])
    assert old.exit_code == 0, old.output
    assert "made again from its snapshot: the same bytes" in old.output
    # A snapshot damaged in the ledger: a clear error, no traceback; the issued bytes are untouched.
    with sqlite3.connect(workspace / "ledger.sqlite") as connection:
        connection.execute("UPDATE letters SET snapshot = ? WHERE reference = ?", ('{"letter": 1', letter.reference))
    damaged = runner.invoke(cli, ["reprint", letter.reference, "-w", str(workspace), "-o", str(tmp_path / "t.pdf"),
                                  "--rerender"])
    assert damaged.exit_code == 1 and "Traceback" not in damaged.output, damaged.output
    assert f"the ledger's snapshot of {letter.reference} is not a letter letterforge can read" in damaged.output
    plain = runner.invoke(cli, ["reprint", letter.reference, "-w", str(workspace), "-o", str(tmp_path / "u.pdf")])
    assert plain.exit_code == 0 and (tmp_path / "u.pdf").read_bytes() == (tmp_path / "r.pdf").read_bytes()
