from decimal import Decimal
from pathlib import Path

import pytest

from letterforge.config import parse_config
from letterforge.diagnostics import UserError

MINIMAL = """
locale = "zh-CN"
currency = "CNY"
[creditor]
name = "测试物业"
type = "property"
address = "某市某路1号"
phone = "0571-00000000"
[payment.counter]
address = "物业服务中心"
hours = "8:30-17:30"
[late_fee]
rule = "daily_rate"
rate = 0.0003
cap = "principal"
[data]
accounts = "accounts.csv"
arrears = { file = "arrears.xlsx", sheet = "欠费" }
"""


def test_minimal_config_parses_with_exact_rate():
    config = parse_config(MINIMAL)
    assert config.late_fee.rate == Decimal("0.0003")
    assert config.data.accounts.file == "accounts.csv"
    assert config.data.arrears.sheet == "欠费"
    assert config.letters.demand_reply_days == 7
    assert config.region == "CN"
    assert config.law_firm.missing() == ["law_firm.name", "law_firm.address", "law_firm.lawyer",
                                         "law_firm.certificate_number"]


def problems(text: str) -> list[str]:
    with pytest.raises(UserError) as caught:
        parse_config(text, "ws/letterforge.toml")
    return [str(d) for d in caught.value.diagnostics]


def test_every_wrong_key_is_named():
    text = MINIMAL.replace('type = "property"', 'type = "bank"').replace('locale = "zh-CN"', 'locale = "fr-FR"')
    text = text.replace("grace", "x") + '\n[creditor2]\nname = "x"\n'
    found = problems(text)
    assert any(p.startswith("ws/letterforge.toml: creditor.type: Input should be") for p in found)
    assert any(p.startswith("ws/letterforge.toml: locale: must be one of zh-CN, en-GB") for p in found)
    assert any(p.startswith("ws/letterforge.toml: creditor2: Extra inputs") for p in found)


def test_missing_section_and_bad_rule():
    text = MINIMAL.replace("[payment.counter]", "[payment.online]").replace('address = "物业服务中心"\nhours = "8:30-17:30"',
                                                                         'url = "https://pay.example.cn/"')
    text = text.replace("rate = 0.0003", "rate = 0")
    found = problems(text)
    assert "ws/letterforge.toml: payment.online.url: the URL must contain {account_id} so that each debtor pays their own account" in found
    assert "ws/letterforge.toml: late_fee: rule 'daily_rate' needs a rate above 0" in found


def test_bad_cap_and_rounding():
    found = problems(MINIMAL.replace('cap = "principal"', 'cap = "lots"\nrounding = "banker"'))
    assert any(p.startswith("ws/letterforge.toml: late_fee.cap:") for p in found)
    assert any(p.startswith("ws/letterforge.toml: late_fee.rounding: must be one of half-up") for p in found)


def test_not_toml():
    with pytest.raises(UserError, match="not valid TOML"):
        parse_config("creditor = [", "x.toml")


def test_uk_rule_needs_base_rates():
    text = MINIMAL.replace('rule = "daily_rate"', 'rule = "uk_late_payment"')
    assert "ws/letterforge.toml: late_fee: rule 'uk_late_payment' needs base_rates, the file of Bank of England base rates" in problems(text)


def test_online_payment_url_for_account():
    text = MINIMAL + '\n[payment.online]\nurl = "https://pay.example.cn/p?a={account_id}"\n'
    assert parse_config(text).payment.online.for_account("A-1") == "https://pay.example.cn/p?a=A-1"


def test_missing_file(tmp_path: Path):
    from letterforge.config import load_config

    with pytest.raises(UserError, match="no letterforge.toml here"):
        load_config(tmp_path)


UK = MINIMAL.replace('locale = "zh-CN"', 'locale = "en-GB"')


def test_uk_trading_disclosures_and_sra_number_are_checked():
    disclosures = 'phone = "0571-00000000"\ncompany_number = "0987 6543"\nregistered_office = "1 Quay, Bristol"'
    good = parse_config(UK.replace('phone = "0571-00000000"', disclosures)
                        + '\n[law_firm]\nname = "W LLP"\nsra_number = "SRA 612345"\n')
    assert good.creditor.company_number == "09876543" and good.law_firm.sra_number == "612345"
    assert good.letterhead_missing("lawyer", "en-GB") == []
    bare = parse_config(UK)
    assert bare.letterhead_missing("demand", "en-GB") == ["creditor.company_number", "creditor.registered_office"]
    assert bare.letterhead_missing("lawyer", "en-GB")[-1] == "law_firm.sra_number"
    assert bare.letterhead_missing("lawyer", "zh-CN") == []
    found = problems(UK.replace('phone = "0571-00000000"', 'phone = "0571-00000000"\ncompany_number = "1234567"')
                     + '\n[law_firm]\nsra_number = "six"\n')
    assert any(p.startswith("ws/letterforge.toml: creditor.company_number: '1234567' is not a Companies House number")
               for p in found)
    assert "ws/letterforge.toml: law_firm.sra_number: 'six' is not an SRA number (digits, e.g. 612345)" in found
    half = problems(UK.replace('phone = "0571-00000000"', 'phone = "0571-00000000"\ncompany_number = "SC123456"'))
    assert any("give both company_number and registered_office (missing: registered_office)" in p for p in half)


def test_a_scottish_company_number_is_not_printed_as_registered_in_england():
    scottish = 'phone = "0571-00000000"\ncompany_number = "SC123456"\nregistered_office = "1 Quay, Glasgow"'
    found = problems(UK.replace('phone = "0571-00000000"', scottish))
    assert ('ws/letterforge.toml: creditor: company number SC123456 is on the register of Scotland: set '
            'registered_in = "Scotland"') in found
    fixed = parse_config(UK.replace('phone = "0571-00000000"', scottish + '\nregistered_in = "Scotland"'))
    assert fixed.creditor.registered_in == "Scotland"
    llp = parse_config(UK + '\n[law_firm]\nsra_number = "1"\ncompany_number = "OC412345"\nregistered_office = "x"\n')
    assert llp.law_firm.registered_in == "England and Wales"


def test_print_pack_volumes_hold_500_letters_unless_set():
    assert parse_config(MINIMAL).print_pack.letters_per_volume == 500
    assert parse_config(MINIMAL + "\n[print_pack]\nletters_per_volume = 200\n").print_pack.letters_per_volume == 200
    found = problems(MINIMAL + "\n[print_pack]\nletters_per_volume = 0\n")
    assert any(p.startswith("ws/letterforge.toml: print_pack.letters_per_volume: Input should be greater than")
               for p in found)


@pytest.mark.parametrize(("value", "says"), [
    ("0", "Input should be greater than or equal to 1"), ("-3", "Input should be greater than or equal to 1"),
    ("100001", "Input should be less than or equal to 100000"), ('"abc"', "Input should be a valid integer"),
    ('"12"', "Input should be a valid integer"), ("true", "Input should be a valid integer"),
    ("2.5", "Input should be a valid integer"), ("[500]", "Input should be a valid integer"),
])
def test_letters_per_volume_that_is_not_a_positive_whole_number_is_named(value, says):
    found = problems(MINIMAL + f"\n[print_pack]\nletters_per_volume = {value}\n")
    assert found == [f"ws/letterforge.toml: print_pack.letters_per_volume: {says}"], found


@pytest.mark.parametrize("delivery, named", [
    ('channels = { default = ["post"], "lawyer.individual" = ["email"] }', "delivery.channels.lawyer.individual"),
    ("send_after_batch = true", "delivery.send_after_batch"),
])
def test_email_chosen_without_its_settings_is_an_error_at_load_naming_the_keys(delivery, named):
    with pytest.raises(UserError) as raised:
        parse_config(MINIMAL + f"[delivery]\n{delivery}\n")
    (problem,) = raised.value.diagnostics
    assert problem.column == "delivery.email" and named in problem.message and "[delivery.email]" in problem.message


def test_post_and_sms_need_no_email_settings():
    config = parse_config(MINIMAL + '[delivery]\nchannels = { default = ["post", "sms"] }\n')
    assert config.delivery.email is None


def test_a_printed_setting_of_spaces_alone_is_no_value():
    """The creditor's phone or the counter's hours as spaces would print an empty line that looks
    filled in: a required one is named as missing, an optional one is left out, and spaces around
    a value are dropped."""
    text = (MINIMAL.replace('phone = "0571-00000000"', 'phone = "   "\noffice_hours = "  "')
            .replace('hours = "8:30-17:30"', 'hours = "\\t "'))
    found = problems(text)
    assert found == ["ws/letterforge.toml: creditor.phone: String should have at least 1 character",
                     "ws/letterforge.toml: payment.counter.hours: String should have at least 1 character"]
    config = parse_config(MINIMAL.replace('phone = "0571-00000000"', 'phone = " 0571-00000000 "\noffice_hours = " "'))
    assert (config.creditor.phone, config.creditor.office_hours) == ("0571-00000000", "")
