"""The registry of letter kinds is the one definition every module reads."""

import re

import click
import pytest

from letterforge import clausecheck, config, outputs
from letterforge.cli import cli
from letterforge.config import LawFirm, Letters, Policy, parse_config
from letterforge.diagnostics import UserError
from letterforge.drafts import default_reference
from letterforge.kinds import KIND_NAMES, KINDS, kind_spec
from letterforge.ledger import SENT, STATUSES
from letterforge.records import CreditorType, DebtorCategory, LetterKind, LetterStatus

from conftest import SAMPLES


def test_every_kind_is_in_the_registry_with_all_it_needs():
    assert tuple(KINDS) == tuple(LetterKind)
    assert KIND_NAMES == ("reminder", "demand", "lawyer")
    codes = [spec.code for spec in KINDS.values()]
    assert len(set(codes)) == len(codes)
    for kind, spec in KINDS.items():
        assert spec.kind is kind and kind_spec(kind.value) is spec
        assert spec.slots and len(set(spec.slots)) == len(spec.slots)
        assert re.fullmatch(r"[A-Z]{3}", spec.code)
        assert spec.follow_up and spec.eligibility
        assert spec.reply_days_setting in Letters.model_fields
        assert spec.daily_cap >= spec.group_daily_cap >= 1
        assert spec.reference_pattern.format(year=2026, number=7) == f"{spec.code}-2026-0007"
        assert {locale: spec.name_in(locale) for locale in config.SUPPORTED_LOCALES} == dict(spec.names)


def test_the_settings_defaults_come_from_the_registry():
    policy = Policy()
    assert policy.daily_caps == {spec.value: spec.daily_cap for spec in KINDS.values()}
    assert policy.per_group_daily == {spec.value: spec.group_daily_cap for spec in KINDS.values()}
    assert {kind: policy.pattern(kind) for kind in KIND_NAMES} == {
        "reminder": "REM-{year}-{number:04d}", "demand": "DEM-{year}-{number:04d}", "lawyer": "LAW-{year}-{number:04d}"}
    assert not hasattr(config, "KINDS") or config.KINDS is KINDS
    assert not hasattr(outputs, "FOLLOW_UP")


def test_reply_days_read_the_kinds_setting_and_hardship_gets_longer_except_from_the_law_firm():
    settings = _sample_settings().model_copy(update={"letters": Letters(
        reminder_reply_days=5, demand_reply_days=9, lawyer_reply_days=21, hardship_extra_days=4)})
    days = {kind: KINDS[kind].reply_days(DebtorCategory.FORGOT, settings) for kind in LetterKind}
    assert days == {LetterKind.REMINDER: 5, LetterKind.DEMAND: 9, LetterKind.LAWYER: 21}
    hardship = {kind: KINDS[kind].reply_days(DebtorCategory.HARDSHIP, settings) for kind in LetterKind}
    assert hardship == {LetterKind.REMINDER: 9, LetterKind.DEMAND: 13, LetterKind.LAWYER: 21}


def test_a_lawyers_letter_requires_a_law_firm():
    settings = _sample_settings()
    assert KINDS[LetterKind.REMINDER].requirements(settings) == []
    assert KINDS[LetterKind.LAWYER].requirements(settings) == []
    without = settings.model_copy(update={"law_firm": LawFirm()})
    assert KINDS[LetterKind.REMINDER].requirements(without) == []
    assert "law_firm.name" in KINDS[LetterKind.LAWYER].requirements(without)


def test_default_reference_uses_the_kinds_code():
    from datetime import date

    assert default_reference(LetterKind.DEMAND, "A-1", date(2026, 3, 1)) == "DEM-20260301-A-1"


def _choices(command: click.Command, option: str) -> tuple[str, ...]:
    found = next(p for p in command.params if p.name == option)
    assert isinstance(found.type, click.Choice)
    return tuple(found.type.choices)


def test_the_clis_choices_are_the_registrys_kinds_and_the_ledgers_statuses():
    assert _choices(cli.commands["render"], "kind") == KIND_NAMES
    assert _choices(cli.commands["clauses"].commands["list"], "kind") == KIND_NAMES  # type: ignore[attr-defined]
    ledger_list = cli.commands["ledger"].commands["list"]  # type: ignore[attr-defined]
    assert _choices(ledger_list, "kind") == KIND_NAMES
    assert _choices(ledger_list, "status") == tuple(status.value for status in LetterStatus)


def test_statuses_and_creditor_types_are_defined_once():
    assert STATUSES == tuple(LetterStatus)
    assert SENT == (LetterStatus.ISSUED, LetterStatus.DELIVERED, LetterStatus.RETURNED)
    assert {rule_type for rule in clausecheck.WORDING_RULES for rule_type in rule.creditor_types} <= set(CreditorType)
    text = (SAMPLES / "receivables-en" / "letterforge.toml").read_text(encoding="utf-8")
    assert 'type = "receivables"' in text
    with pytest.raises(UserError, match="creditor.type.*'property', 'water' or 'receivables'"):
        parse_config(text.replace('type = "receivables"', 'type = "gas"'))
    for sample in ("property-zh", "water-zh", "receivables-en"):
        assert config.load_config(SAMPLES / sample).creditor.type in CreditorType


def _sample_settings() -> config.WorkspaceConfig:
    return config.load_config(SAMPLES / "receivables-en")
