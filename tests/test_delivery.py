"""Channels per letter: settings, consent, and the rules the law sets (paper-only suspension notices,
the UK letter before action by post)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from letterforge.clauses import load_clause_library
from letterforge.config import load_config, parse_config
from letterforge.delivery import (
    SUSPENSION_RULE,
    OutgoingLetter,
    Route,
    channels_for,
    delivery_problems,
    email_address_problem,
    outgoing_letter,
    route_letter,
)
from letterforge.diagnostics import UserError
from letterforge.pipeline import check_clause_library
from letterforge.records import Account, DebtorType, LetterKind
from letterforge.shipped import shipped_folder
from letterforge.workspace import Workspace

EMAIL_SETTINGS = """
[delivery.email]
host = "127.0.0.1"
port = 2525
security = "none"
sender = "billing@example.cn"
"""


def _settings(workspace: Path, delivery: str) -> None:
    path = workspace / "letterforge.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + delivery, encoding="utf-8")


def _account(**fields) -> Account:
    base = dict(account_id="A-1", name="王某", address="云湖市滨河区1号", email="wang@example.cn", phone="13800000000",
                email_consent=True, sms_consent=True, debtor_type=DebtorType.INDIVIDUAL)
    return Account(**{**base, **fields})


def _letter(kind=LetterKind.REMINDER, locale="zh-CN", suspension=False) -> OutgoingLetter:
    return OutgoingLetter("REM-2026-0001", kind, locale, suspension)


def test_channels_follow_settings_and_consent(copy_sample):
    workspace = copy_sample("property-zh")
    _settings(workspace, '[delivery]\nchannels = { default = ["post"], reminder = ["email", "sms"], '
                         '"demand.company" = ["post", "email"] }\n' + EMAIL_SETTINGS)
    config = load_config(workspace)
    assert channels_for(_letter(), _account(), config) == (Route("email", "wang@example.cn"),
                                                          Route("sms", "13800000000"))
    # Without consent, no e-mail and no SMS: the letter goes by post, and the reason is given.
    routing = route_letter(_letter(), _account(email_consent=False, sms_consent=False), config)
    assert routing.routes == (Route("post", "云湖市滨河区1号"),)
    assert [channel for channel, _ in routing.withheld] == ["email", "sms"]
    assert "email_consent" in routing.withheld[0][1]
    # The most specific key wins: a demand to a company by post and e-mail, to an individual by post.
    demand = _letter(LetterKind.DEMAND)
    assert [r.channel for r in channels_for(demand, _account(debtor_type=DebtorType.COMPANY), config)] == \
        ["post", "email"]
    assert [r.channel for r in channels_for(demand, _account(), config)] == ["post"]


@pytest.mark.parametrize("address", ["", "wang", "wang@localhost", "a@b.cn, c@d.cn", "a@b.cn\r\nBcc: x@y.cn",
                                     "王 <a@b.cn>", "a b@c.cn"])
def test_an_unusable_email_address_is_withheld(address):
    assert email_address_problem(address)


def test_a_plain_email_address_is_usable():
    assert email_address_problem("wang.fang+bill@example.com.cn") == ""


def test_a_suspension_notice_goes_on_paper_whatever_the_settings_say(copy_sample):
    workspace = copy_sample("water-zh")
    _settings(workspace, '[delivery]\nchannels = { default = ["email", "sms"] }\n' + EMAIL_SETTINGS)
    config = load_config(workspace)
    routing = route_letter(_letter(LetterKind.DEMAND, suspension=True), _account(), config)
    assert routing.routes == (Route("post", "云湖市滨河区1号"),)
    assert routing.withheld == (("email", SUSPENSION_RULE), ("sms", SUSPENSION_RULE))
    # ... and the settings are an error that names the rule, in `clauses check`.
    problems = check_clause_library(Workspace.open(workspace), __import__("datetime").date(2026, 11, 25))
    paper = [p for p in problems if p.code == "paper-only"]
    assert {p.column for p in paper} == {"delivery.channels.default"}
    assert "Electronic Signature Law" in paper[0].message and "art. 3" in paper[0].message
    assert "zh-CN.water.demand.consequence@1.0.0" in paper[0].message
    # The fix names the kind's own key: default = ["post"] would take e-mail from reminders too.
    assert {p.message.rpartition("; ")[2] for p in paper} == {'add demand = ["post"] to [delivery] channels',
                                                            'add lawyer = ["post"] to [delivery] channels'}


def test_water_reminders_may_go_by_email_but_demands_not(copy_sample):
    workspace = copy_sample("water-zh")
    _settings(workspace, '[delivery]\nchannels = { default = ["post"], reminder = ["email"] }\n' + EMAIL_SETTINGS)
    config = load_config(workspace)
    library = load_clause_library([shipped_folder("legal_clauses")])
    assert delivery_problems(config, library) == []
    # The water demand letters carry the consequence clause, flagged as a suspension notice.
    labels = [c.label + "#0" for c in library.clauses if c.id == "zh-CN.water.demand.consequence"]
    assert outgoing_letter("DEM-1", LetterKind.DEMAND, "zh-CN", labels, library).suspension_notice
    reminder = [c.label for c in library.clauses if c.id.startswith("zh-CN.water.reminder.")]
    assert not outgoing_letter("REM-1", LetterKind.REMINDER, "zh-CN", reminder, library).suspension_notice
    # A clause the library no longer knows cannot be checked: paper.
    assert outgoing_letter("REM-1", LetterKind.REMINDER, "zh-CN", ["gone@1.0.0"], library).suspension_notice


def test_clauses_check_wants_the_flag_on_a_clause_that_speaks_of_suspension(copy_sample):
    workspace = copy_sample("water-zh")
    source = shipped_folder("legal_clauses") / "zh-CN/water/demand/consequence.md"
    own = workspace / "legal_clauses" / "consequence.md"
    own.parent.mkdir()
    text = source.read_text(encoding="utf-8").replace("suspension_notice: true\n", "").replace("1.0.0", "1.0.9")
    own.write_text(text.replace("status: approved", "status: draft"), encoding="utf-8")
    problems = check_clause_library(Workspace.open(workspace), __import__("datetime").date(2026, 11, 25))
    flagged = [p for p in problems if p.code == "paper-only" and p.file.endswith("legal_clauses/consequence.md")]
    assert flagged and "suspension_notice: true" in flagged[0].message


def test_a_uk_letter_before_action_goes_by_post_with_email_as_a_copy(copy_sample):
    workspace = copy_sample("receivables-en")
    _settings(workspace, '[delivery]\nchannels = { default = ["email"], lawyer = ["post", "email", "sms"] }\n'
              + EMAIL_SETTINGS)
    config = load_config(workspace)
    lawyer = _letter(LetterKind.LAWYER, "en-GB")
    routing = route_letter(lawyer, _account(), config)
    assert routing.routes == (Route("post", "云湖市滨河区1号"), Route("email", "wang@example.cn", copy=True))
    assert routing.withheld[0][0] == "sms"
    # To a company the protocol does not apply: e-mail is a full channel.
    company = route_letter(lawyer, _account(debtor_type=DebtorType.COMPANY), config)
    assert Route("email", "wang@example.cn") in company.routes
    # A reminder to an individual goes by e-mail alone, as set.
    assert channels_for(_letter(locale="en-GB"), _account(), config) == (Route("email", "wang@example.cn"),)


def test_settings_refuse_a_uk_letter_before_action_without_post(copy_sample):
    workspace = copy_sample("receivables-en")
    _settings(workspace, '[delivery]\nchannels = { default = ["email"] }\n' + EMAIL_SETTINGS)
    with pytest.raises(UserError, match="Pre-Action Protocol for Debt Claims"):
        load_config(workspace)


def _config_text(extra: str) -> str:
    return (shipped_folder("samples") / "property-zh/letterforge.toml").read_text(encoding="utf-8") + "\n" + extra


@pytest.mark.parametrize("extra, message", [
    ('[delivery]\nchannels = { reminder = ["fax"] }', "delivery.channels"),
    ('[delivery]\nchannels = { invoice = ["post"] }', "is not \"default\""),
    ('[delivery]\nchannels = { "demand.robot" = ["post"] }', "is not \"default\""),
    ('[delivery]\nchannels = { reminder = [] }', "at least one channel"),
    ('[delivery]\nchannels = { reminder = ["email"] }', "delivery.email: not set, yet delivery.channels.reminder sends letters by email"),
    (EMAIL_SETTINGS.replace("127.0.0.1", "smtp.example.cn"), "unencrypted"),
    (EMAIL_SETTINGS + 'password = "hunter2"\n', "must not be written in letterforge.toml"),
    (EMAIL_SETTINGS + 'username_env = "U"\npassword_env = "hunter2 secret"\n', "not an environment variable name"),
    (EMAIL_SETTINGS + 'username_env = "SMTP_USER"\n', "give both username_env and password_env"),
])
def test_delivery_settings_are_checked(extra, message):
    with pytest.raises(UserError) as error:
        parse_config(_config_text(extra))
    assert message in str(error.value)
    assert "hunter2" not in str(error.value)


def test_consent_columns_and_their_chinese_aliases(copy_sample):
    import csv

    workspace = copy_sample("property-zh")
    path = workspace / "住户.csv"
    with path.open(encoding="gb18030") as handle:
        rows = list(csv.reader(handle))
    rows[0] += ["同意电子送达", "同意短信送达"]
    values = [("是", "否"), ("同意", "1"), ("", "yes"), ("maybe", "")]
    for row, (email_consent, sms_consent) in zip(rows[1:], values + [("", "")] * len(rows)):
        row += [email_consent, sms_consent]
    with path.open("w", encoding="gb18030", newline="") as handle:
        csv.writer(handle).writerows(rows)
    data = Workspace.open(workspace).load_data()
    by_id = {a.account_id: a for a in data.accounts}
    first, second, third = (by_id[rows[i][0]] for i in (1, 2, 3))
    assert (first.email_consent, first.sms_consent) == (True, False)
    assert (second.email_consent, second.sms_consent) == (True, True)
    assert (third.email_consent, third.sms_consent) == (False, True)
    rejected = [d for d in data.diagnostics if d.column == "同意电子送达"]
    assert rejected and "not a yes or no" in rejected[0].message and rejected[0].row == 5
    assert replace(first, email_consent=False).email_consent is False


def test_validate_names_the_paper_only_rule_for_a_water_utilitys_electronic_channels(copy_sample):
    from click.testing import CliRunner

    from letterforge.cli import cli

    workspace = copy_sample("water-zh")
    clean = CliRunner().invoke(cli, ["-w", str(workspace), "validate"])
    assert clean.exit_code == 0, clean.output
    _settings(workspace, '[delivery]\nchannels = { default = ["post"], demand = ["post", "sms"] }\n' + EMAIL_SETTINGS)
    result = CliRunner().invoke(cli, ["-w", str(workspace), "validate"])
    assert result.exit_code == 1, result.output
    (line,) = [l for l in result.output.splitlines() if "delivery.channels.demand" in l]
    assert "letterforge.toml" in line and "Electronic Signature Law" in line and "art. 3" in line
    assert "zh-CN.water.demand.consequence" in line and 'set demand = ["post"]' in line
