"""Sealed PDFs: signed once at issue with a certificate the tests make, verified with pyHanko, a
one-byte change detected, reprint returning the signed bytes, and `letterforge verify`."""

import hashlib
import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pypdf import PdfReader

from letterforge import sealing
from letterforge.archive import reprint
from letterforge.batch import run_batch
from letterforge.cli import cli
from letterforge.diagnostics import UserError
from letterforge.ledger import read_ledger
from letterforge.workspace import Workspace

CLOCK = lambda: datetime(2026, 11, 25, 6, 30)  # noqa: E731
DAY = date(2026, 11, 25)
PASSWORD = "correct horse 电池"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates(folder: Path, signer_name: str = "杭州锦绣物业服务有限公司",
                      signer_valid: tuple[datetime, datetime] | None = None) -> dict[str, Path]:
    """A self-signed CA, a signer and a time-stamping authority it certifies: the signer as PKCS#12
    (with the CA in its chain), the CA as PEM. `signer_valid`: the signer's validity, if not ten years."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = (x509.CertificateBuilder().subject_name(_name("letterforge test CA")).issuer_name(_name("letterforge test CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(start)
          .not_valid_after(start + timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .sign(ca_key, hashes.SHA256()))

    def issue(name: str, serial: int, extended: list | None = None, valid: tuple[datetime, datetime] | None = None):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        begin, end = valid or (start, start + timedelta(days=3650))
        builder = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(ca.subject)
                   .public_key(key.public_key()).serial_number(serial).not_valid_before(begin)
                   .not_valid_after(end)
                   .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False),
                                  critical=True))
        if extended:
            builder = builder.add_extension(x509.ExtendedKeyUsage(extended), critical=True)
        return key, builder.sign(ca_key, hashes.SHA256())

    key, cert = issue(signer_name, 2, valid=signer_valid)
    tsa_key, tsa_cert = issue("letterforge test TSA", 3, [ExtendedKeyUsageOID.TIME_STAMPING])
    paths = {"p12": folder / "seal.p12", "ca": folder / "ca.pem", "tsa_key": folder / "tsa.key",
             "tsa_cert": folder / "tsa.pem"}
    paths["p12"].write_bytes(pkcs12.serialize_key_and_certificates(
        b"seal", key, cert, [ca], serialization.BestAvailableEncryption(PASSWORD.encode("utf-8"))))
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["tsa_cert"].write_bytes(tsa_cert.public_bytes(serialization.Encoding.PEM))
    paths["tsa_key"].write_bytes(tsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return paths


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> dict[str, Path]:
    return make_certificates(tmp_path_factory.mktemp("certificates"))


SIGNING = """
daily_caps = { reminder = 2, demand = 1, lawyer = 1 }

[signing]
certificate = "seal.p12"
password_env = "LF_TEST_SEAL_PASSWORD"
"""


@pytest.fixture
def signed_workspace(copy_sample, certificates, monkeypatch) -> Path:
    root = copy_sample("property-zh")
    (root / "seal.p12").write_bytes(certificates["p12"].read_bytes())
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + SIGNING, encoding="utf-8")
    monkeypatch.setenv("LF_TEST_SEAL_PASSWORD", PASSWORD)
    return root


def batch(root: Path, real: bool = False):
    from conftest import fake_pdf

    options = {} if real else {"renderer": fake_pdf}
    return run_batch(Workspace.open(root), DAY, root / "out", 1, CLOCK, **options)


def key(certificates) -> sealing.SealKey:
    return sealing.load_key(certificates["p12"].parent, certificates["p12"].name, "LF_TEST_SEAL_PASSWORD")


def roots(certificates) -> list:
    return sealing.load_trust_roots([certificates["ca"]], [])


# -- the batch signs once, at issue ------------------------------------------------------------------

def test_the_batch_signs_every_letter_once_and_archives_the_signed_bytes(signed_workspace, certificates):
    report = batch(signed_workspace)
    assert report.issued
    ledger = read_ledger(signed_workspace)
    trust = roots(certificates)
    # (a lawyer's letter only with the law firm's certificate: below)
    for letter in [l for l in report.issued if l.kind.value != "lawyer"]:
        day_file = signed_workspace / letter.pdf_file
        archived = (signed_workspace / "archive" / letter.pdf_sha256[:2] / f"{letter.pdf_sha256}.pdf").read_bytes()
        assert day_file.read_bytes() == archived  # the day file, the archive and the ledger: the signed bytes
        assert hashlib.sha256(archived).hexdigest() == letter.pdf_sha256
        (check,) = sealing.check_signatures(archived, trust)
        assert check.intact and check.valid and check.whole_file and check.trusted, check
        assert check.signer == "Common Name: 杭州锦绣物业服务有限公司"
        assert check.signing_time == "2026-11-25T00:00:00+00:00"  # the issue date, not the clock
        assert check.timestamp == ""
    assert not [l for l in ledger.letters() if l.status == "reserved"]
    ledger.close()


def test_a_one_byte_change_is_detected(signed_workspace, certificates):
    letter = batch(signed_workspace).issued[0]
    content = (signed_workspace / letter.pdf_file).read_bytes()
    issued = {letter.pdf_sha256: {"reference": letter.reference}}
    assert sealing.verify_letter("ok.pdf", content, roots(certificates), issued).ok
    # a byte inside the signed range (the letter's own objects, before the signature)
    changed = bytearray(content)
    changed[200] ^= 0x01
    result = sealing.verify_letter("changed.pdf", bytes(changed), roots(certificates), issued)
    assert not result.ok
    assert not result.signatures[0].intact
    assert any("changed after signing" in p for p in result.problems)
    assert any("no letter in the ledger" in p for p in result.problems)
    # a byte of the signature's zero padding, which no signature covers: the ledger's hash catches it
    padding = content.index(b"0000000000", content.index(b"/Contents <")) + 4
    changed = bytearray(content)
    changed[padding] = ord("1")
    result = sealing.verify_letter("padded.pdf", bytes(changed), roots(certificates), issued)
    assert result.signatures[0].intact
    assert not result.ok and result.problems == (f"no letter in the ledger has these bytes (SHA-256 "
                                                 f"{hashlib.sha256(changed).hexdigest()})",)


def test_an_appended_revision_is_not_covered_by_the_seal(signed_workspace, certificates):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    letter = batch(signed_workspace).issued[0]
    writer = IncrementalPdfFileWriter(io.BytesIO((signed_workspace / letter.pdf_file).read_bytes()))
    writer.root["/Lang"] = generic.TextStringObject("en")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    (check,) = sealing.check_signatures(out.getvalue(), roots(certificates))
    assert check.intact and not check.whole_file
    assert any("changed or added to after" in p for p in check.problems)


@pytest.mark.slow
def test_reprint_returns_the_signed_bytes_and_rerender_signs_them_the_same(signed_workspace, certificates):
    letter = batch(signed_workspace, real=True).issued[0]
    ledger = read_ledger(signed_workspace)
    result = reprint(Workspace.open(signed_workspace), ledger, letter.reference, rerender=True)
    ledger.close()
    assert result.content == (signed_workspace / letter.pdf_file).read_bytes()
    assert sealing.check_signatures(result.content, roots(certificates))[0].intact
    assert result.rerendered is True  # made and signed again: the same bytes, signing time included


@pytest.mark.slow
def test_the_seal_sits_where_the_company_seal_goes(signed_workspace, certificates):
    letter = batch(signed_workspace, real=True).issued[0]
    reader = PdfReader(signed_workspace / letter.pdf_file)
    placed = sealing.seal_box((signed_workspace / letter.pdf_file).read_bytes())
    assert placed is not None
    widgets = [a.get_object() for a in reader.pages[placed.page].get("/Annots", [])
               if a.get_object().get("/FT") == "/Sig"]
    assert len(widgets) == 1
    x1, y1, x2, y2 = (float(v) for v in widgets[0]["/Rect"])
    assert (round(x2 - x1), round(y2 - y1)) == (108, 108)  # 38 mm square
    # on the page of the signature block, at its right end, over the line that reads （盖章）
    text = reader.pages[placed.page].extract_text()
    assert "（盖章）" in text
    assert x2 <= float(reader.pages[placed.page].mediabox.width) - 56  # inside the right margin of 20 mm
    # the proof-reader reads the signed letter as it read the letter before signing
    result = CliRunner().invoke(cli, ["proof", str(signed_workspace / letter.pdf_file)])
    assert result.exit_code == 0, result.output


def test_signing_the_same_letter_twice_gives_the_same_bytes(certificates, monkeypatch):
    from conftest import fake_pdf

    monkeypatch.setenv("LF_TEST_SEAL_PASSWORD", PASSWORD)

    class Draft:
        reference, kind = "X-1", type("K", (), {"value": "demand"})
        account_id = "A-1"

    content = fake_pdf(None, Draft)
    first = sealing.seal_pdf(content, key(certificates), sealing.signing_time(DAY))
    assert first == sealing.seal_pdf(content, key(certificates), sealing.signing_time(DAY))
    assert first != sealing.seal_pdf(content, key(certificates), sealing.signing_time(date(2026, 11, 26)))


def test_a_timestamp_from_a_tsa_is_embedded_and_checked(certificates, monkeypatch):
    """pyHanko's own test TSA (DummyTimeStamper) stands in for the configured authority: nothing
    external is asked."""
    from asn1crypto import keys, pem
    from asn1crypto import x509 as asn1_x509
    from conftest import fake_pdf
    from pyhanko.sign.timestamps import DummyTimeStamper

    monkeypatch.setenv("LF_TEST_SEAL_PASSWORD", PASSWORD)
    _, _, tsa_der = pem.unarmor(certificates["tsa_cert"].read_bytes())
    _, _, key_der = pem.unarmor(certificates["tsa_key"].read_bytes())
    stamped_at = datetime(2026, 11, 25, 6, 31, tzinfo=timezone.utc)
    tsa = DummyTimeStamper(asn1_x509.Certificate.load(tsa_der), keys.PrivateKeyInfo.load(key_der),
                           fixed_dt=stamped_at)

    class Draft:
        reference, kind = "X-1", type("K", (), {"value": "demand"})
        account_id = "A-1"

    signed = sealing.seal_pdf(fake_pdf(None, Draft), key(certificates), sealing.signing_time(DAY), tsa)
    (check,) = sealing.check_signatures(signed, roots(certificates))
    assert check.intact and check.trusted
    assert check.timestamp == stamped_at.isoformat()


# -- settings and keys ---------------------------------------------------------------------------------

def _nothing_numbered(root: Path) -> bool:
    ledger = read_ledger(root)
    try:
        return not [l for l in ledger.letters() if l.reference]
    finally:
        ledger.close()


def test_without_the_password_variable_nothing_is_issued_unsigned(signed_workspace, monkeypatch):
    monkeypatch.delenv("LF_TEST_SEAL_PASSWORD")
    with pytest.raises(UserError, match="LF_TEST_SEAL_PASSWORD, which is not set"):
        batch(signed_workspace)
    assert _nothing_numbered(signed_workspace)  # stopped before any letter was numbered or rendered


def test_a_wrong_password_stops_the_batch_once_exit_1_never_shown(signed_workspace, monkeypatch):
    monkeypatch.setenv("LF_TEST_SEAL_PASSWORD", "Tr0ub4dor&3-wrong")
    result = CliRunner().invoke(cli, ["-w", str(signed_workspace), "batch", "--as-of", DAY.isoformat()])
    assert result.exit_code == 1, result.output
    assert result.output.count("does not open it") == 1  # one message for the day, not one per letter
    assert "LF_TEST_SEAL_PASSWORD" in result.output and "Tr0ub4dor" not in result.output
    assert "Traceback" not in result.output
    assert _nothing_numbered(signed_workspace)


@pytest.mark.parametrize("valid, said", [
    ((datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(2026, 11, 24, tzinfo=timezone.utc)), "expired on 2026-11-24"),
    ((datetime(2026, 12, 1, tzinfo=timezone.utc), datetime(2027, 12, 1, tzinfo=timezone.utc)),
     "is valid only from 2026-12-01"),
])
def test_a_certificate_not_valid_on_the_day_is_refused(copy_sample, tmp_path, monkeypatch, valid, said):
    paths = make_certificates(tmp_path, signer_valid=valid)
    root = copy_sample("property-zh")
    (root / "seal.p12").write_bytes(paths["p12"].read_bytes())
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + SIGNING, encoding="utf-8")
    monkeypatch.setenv("LF_TEST_SEAL_PASSWORD", PASSWORD)
    result = CliRunner().invoke(cli, ["-w", str(root), "batch", "--as-of", DAY.isoformat()])
    assert result.exit_code == 1, result.output
    assert said in result.output and "cannot seal a letter issued on 2026-11-25" in result.output
    assert "Traceback" not in result.output
    assert _nothing_numbered(root)
    with pytest.raises(UserError, match=said):  # and signing itself refuses it, whoever calls it
        sealing.seal_issued(root, Workspace.open(root).config.signing, "demand", DAY, b"%PDF-1.7 ...")


def test_a_wrong_password_is_named_never_shown(certificates, monkeypatch):
    monkeypatch.setenv("LF_TEST_SEAL_PASSWORD", "not the password")
    with pytest.raises(UserError) as caught:
        key(certificates)
    assert "LF_TEST_SEAL_PASSWORD does not open it" in str(caught.value)
    assert "not the password" not in str(caught.value)


def test_a_password_written_into_the_settings_is_refused(copy_sample):
    root = copy_sample("property-zh")
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + '\n[signing]\ncertificate = "seal.p12"\n'
                      'password_env = "hunter 2!"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["-w", str(root), "validate"])
    assert result.exit_code == 1
    assert "signing.password_env" in result.output and "NAME of an environment variable" in result.output


def test_lawyers_letters_are_sealed_only_with_the_law_firms_certificate():
    from letterforge.config import Signing

    settings = Signing(certificate="creditor.p12", law_firm_certificate="firm.p12", law_firm_password_env="FIRM")
    assert settings.key_for("lawyer") == ("firm.p12", "FIRM")
    assert settings.key_for("demand") == ("creditor.p12", "LETTERFORGE_SIGNING_PASSWORD")
    assert not settings.lawyer_unsealed
    creditor_only = Signing(certificate="creditor.p12")
    assert creditor_only.key_for("lawyer") is None and creditor_only.lawyer_unsealed  # never the creditor's seal
    assert creditor_only.key_for("reminder") == ("creditor.p12", "LETTERFORGE_SIGNING_PASSWORD")
    firm_only = Signing(law_firm_certificate="firm.p12")
    assert firm_only.key_for("lawyer") == ("firm.p12", "LETTERFORGE_LAW_FIRM_SIGNING_PASSWORD")
    assert firm_only.key_for("demand") is None and not firm_only.lawyer_unsealed
    assert Signing().key_for("demand") is None and not Signing().enabled and not Signing().lawyer_unsealed


FIRM = "浙江衡嘉律师事务所"


@pytest.fixture(scope="module")
def firm_certificates(tmp_path_factory) -> dict[str, Path]:
    return make_certificates(tmp_path_factory.mktemp("firm"), signer_name=FIRM)


def _signer(content: bytes, trust: list) -> str | None:
    checks = sealing.check_signatures(content, trust)
    assert all(c.intact and c.whole_file and c.trusted for c in checks), checks
    return checks[0].signer if checks else None


def test_with_only_the_creditors_certificate_a_lawyers_letter_goes_unsealed_and_the_batch_says_so(
        signed_workspace, certificates, fake_renderer):
    from letterforge.reports import batch_dict, batch_text

    report = batch(signed_workspace)
    assert report.exit_code == 0 and not report.problems
    kinds = {l.kind.value for l in report.issued}
    assert {"reminder", "demand", "lawyer"} <= kinds
    trust = roots(certificates)
    for letter in report.issued:
        content = (signed_workspace / letter.pdf_file).read_bytes()
        if letter.kind.value == "lawyer":
            assert _signer(content, trust) is None  # no seal where the firm's 公章 goes
            assert b"/Sig" not in content
        else:
            assert _signer(content, trust) == "Common Name: 杭州锦绣物业服务有限公司"
    assert report.notes == [sealing.LAWYER_UNSEALED]
    text = batch_text(report)
    assert text.count("NOTE: ") == 1 and "law_firm_certificate" in text
    assert batch_dict(report)["notes"] == [sealing.LAWYER_UNSEALED]
    # The lawyer's letter is reprinted as issued: unsealed, the bytes the ledger holds.
    lawyer = next(l for l in report.issued if l.kind.value == "lawyer")
    ledger = read_ledger(signed_workspace)
    again = reprint(Workspace.open(signed_workspace), ledger, lawyer.reference, rerender=True)
    ledger.close()
    assert again.rerendered is True and hashlib.sha256(again.content).hexdigest() == lawyer.pdf_sha256
    assert not sealing.check_signatures(again.content, trust)
    # A rerun of the finished day issues nothing and has nothing to note.
    assert batch(signed_workspace).notes == []


def test_a_day_without_lawyers_letters_has_nothing_to_note(signed_workspace):
    config = signed_workspace / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("lawyer = 1 }", "lawyer = 0 }"), encoding="utf-8")
    report = batch(signed_workspace)
    assert report.issued and {l.kind.value for l in report.issued} <= {"reminder", "demand"}
    assert report.notes == []


def _with_law_firm(root: Path, firm_certificates, monkeypatch) -> None:
    (root / "firm.p12").write_bytes(firm_certificates["p12"].read_bytes())
    config = root / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        'password_env = "LF_TEST_SEAL_PASSWORD"\n',
        'password_env = "LF_TEST_SEAL_PASSWORD"\nlaw_firm_certificate = "firm.p12"\n'
        'law_firm_password_env = "LF_TEST_FIRM_PASSWORD"\n'), encoding="utf-8")
    monkeypatch.setenv("LF_TEST_FIRM_PASSWORD", PASSWORD)


def test_with_both_certificates_the_law_firm_seals_its_letters(signed_workspace, certificates, firm_certificates,
                                                               monkeypatch):
    _with_law_firm(signed_workspace, firm_certificates, monkeypatch)
    report = batch(signed_workspace)
    assert report.exit_code == 0 and report.notes == []
    trust = roots(certificates) + sealing.load_trust_roots([firm_certificates["ca"]], [])
    signers = {l.kind.value: _signer((signed_workspace / l.pdf_file).read_bytes(), trust) for l in report.issued}
    assert signers["lawyer"] == f"Common Name: {FIRM}"
    assert signers["demand"] == signers["reminder"] == "Common Name: 杭州锦绣物业服务有限公司"
    result = CliRunner().invoke(cli, ["-w", str(signed_workspace), "validate"])
    assert result.exit_code == 0 and "law_firm_certificate" not in result.output


def test_validate_warns_that_lawyers_letters_would_go_unsealed(signed_workspace):
    import json

    result = CliRunner().invoke(cli, ["-w", str(signed_workspace), "validate"])
    assert result.exit_code == 0, result.output  # signing is optional: a warning, not a problem
    assert "signing.law_firm_certificate" in result.output and "unsealed" in result.output
    assert "0 problem(s)" in result.output
    result = CliRunner().invoke(cli, ["-w", str(signed_workspace), "validate", "--format", "json"])
    answer = json.loads(result.stdout)
    assert result.exit_code == 0 and answer["problems"] == []
    assert [w["column"] for w in answer["warnings"]] == ["signing.law_firm_certificate"]


def test_a_clerks_lawyers_letter_with_only_the_creditors_certificate(signed_workspace, certificates, fake_renderer,
                                                                      tmp_path):
    runner = CliRunner()
    args = ["-w", str(signed_workspace), "render", "JX-1-0201", "--as-of", "2026-11-25",
            "--force", "--reason", "asked for by the owner"]
    result = runner.invoke(cli, args + ["--kind", "lawyer", "-o", str(tmp_path / "lawyer.pdf")])
    assert result.exit_code == 0, result.output
    assert result.output.count("note: ") == 1 and "law_firm_certificate" in result.output
    assert not sealing.check_signatures((tmp_path / "lawyer.pdf").read_bytes(), roots(certificates))
    result = runner.invoke(cli, args + ["--kind", "demand", "-o", str(tmp_path / "demand.pdf")])
    assert result.exit_code == 0 and "note: " not in result.output, result.output
    assert _signer((tmp_path / "demand.pdf").read_bytes(), roots(certificates)) == "Common Name: 杭州锦绣物业服务有限公司"


# -- letterforge verify ----------------------------------------------------------------------------------

def test_verify_command(signed_workspace, certificates, tmp_path):
    letter = batch(signed_workspace).issued[0]
    path = signed_workspace / letter.pdf_file
    runner = CliRunner()
    result = runner.invoke(cli, ["-w", str(signed_workspace), "verify", str(path)])
    assert result.exit_code == 0, result.output
    assert letter.reference in result.output and letter.account_id in result.output
    assert "intact, covers the whole file, trusted" in result.output
    assert PASSWORD not in result.output

    changed = bytearray(path.read_bytes())
    changed[200] ^= 0x01
    (tmp_path / "changed.pdf").write_bytes(bytes(changed))
    result = runner.invoke(cli, ["-w", str(signed_workspace), "verify", str(tmp_path / "changed.pdf")])
    assert result.exit_code == 1
    assert "BROKEN" in result.output and "NOT verified" in result.output


def test_verify_without_the_key_trusts_only_what_it_is_given(signed_workspace, certificates, monkeypatch):
    letter = batch(signed_workspace).issued[0]
    path = str(signed_workspace / letter.pdf_file)
    monkeypatch.delenv("LF_TEST_SEAL_PASSWORD")
    runner = CliRunner()
    result = runner.invoke(cli, ["-w", str(signed_workspace), "verify", path, "--format", "json"])
    assert result.exit_code == 1 and '"trusted": false' in result.output
    result = runner.invoke(cli, ["-w", str(signed_workspace), "verify", path, "--trust", str(certificates["ca"])])
    assert result.exit_code == 0, result.output


def test_verify_an_unsigned_letter_or_not_a_pdf(copy_sample, tmp_path):
    root = copy_sample("property-zh")
    letter = batch(root).issued[0]
    runner = CliRunner()
    result = runner.invoke(cli, ["-w", str(root), "verify", str(root / letter.pdf_file)])
    assert result.exit_code == 1
    assert "carries no signature" in result.output and letter.reference in result.output
    (tmp_path / "notes.pdf").write_text("hello")
    result = runner.invoke(cli, ["-w", str(root), "verify", str(tmp_path / "notes.pdf")])
    assert result.exit_code == 1 and "not a PDF file" in result.output
    result = runner.invoke(cli, ["-w", str(root), "verify", str(tmp_path / "missing.pdf")])
    assert result.exit_code == 1 and "cannot read the file" in result.output


@pytest.mark.slow
def test_a_clerks_letter_is_signed_before_it_is_written_and_a_docx_is_not(signed_workspace, certificates, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["-w", str(signed_workspace), "render", "JX-1-0201", "--kind", "demand",
                                 "--as-of", "2026-11-25", "-o", str(tmp_path / "clerk.pdf"),
                                 "--force", "--reason", "asked for by the owner"])
    assert result.exit_code == 0, result.output
    written = (tmp_path / "clerk.pdf").read_bytes()
    (check,) = sealing.check_signatures(written, roots(certificates))
    assert check.intact and check.whole_file and check.trusted
    result = runner.invoke(cli, ["-w", str(signed_workspace), "verify", str(tmp_path / "clerk.pdf")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["-w", str(signed_workspace), "render", "JX-1-0201", "--kind", "lawyer",
                                 "--as-of", "2026-11-25", "--format", "docx", "-o", str(tmp_path / "clerk.docx"),
                                 "--force", "--reason", "asked for by the owner"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "clerk.docx").read_bytes().startswith(b"PK")  # unchanged: a DOCX is never signed


def test_pyhankos_dsa_deprecation_warning_is_not_printed():
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-W", "default", "-c",
                          "from letterforge import sealing; sealing._load_pyhanko()"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "DSA" not in run.stderr and "Warning" not in run.stderr


@pytest.fixture
def local_tsa(certificates):
    """An RFC 3161 time-stamping authority on 127.0.0.1 (pyHanko's DummyTimeStamper answering real
    HTTP requests), certified by the tests' CA; yields its URL, the time it stamps and its requests."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from asn1crypto import keys, pem, tsp
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.timestamps import DummyTimeStamper

    _, _, tsa_der = pem.unarmor(certificates["tsa_cert"].read_bytes())
    _, _, key_der = pem.unarmor(certificates["tsa_key"].read_bytes())
    stamped_at = datetime(2026, 11, 25, 6, 31, tzinfo=timezone.utc)
    tsa = DummyTimeStamper(asn1_x509.Certificate.load(tsa_der), keys.PrivateKeyInfo.load(key_der),
                           fixed_dt=stamped_at)
    requests: list[str] = []

    class Authority(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            requests.append(self.headers.get("Content-Type", ""))
            request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
            answer = tsa.request_tsa_response(request).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Authority)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/tsr", stamped_at, requests
    server.shutdown()
    server.server_close()
    thread.join()


def test_a_configured_timestamp_url_stamps_every_issued_letter(signed_workspace, certificates, local_tsa):
    url, stamped_at, requests = local_tsa
    config = signed_workspace / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + f'timestamp_url = "{url}"\n', encoding="utf-8")
    report = batch(signed_workspace)
    assert report.issued and not report.failed
    # one stamp a sealed letter (not the lawyer's letter: no law firm certificate here), and one sample
    # stamp pyHanko asks for to size the signatures of the day
    sealed = [l for l in report.issued if l.kind.value != "lawyer"]
    assert len(sealed) < len(report.issued)
    assert len(requests) == len(sealed) + 1 and set(requests) == {"application/timestamp-query"}
    for letter in sealed:
        (check,) = sealing.check_signatures((signed_workspace / letter.pdf_file).read_bytes(), roots(certificates))
        assert check.intact and check.trusted and check.whole_file
        assert check.timestamp == stamped_at.isoformat()  # the authority's time, beside the issue date
        assert check.signing_time == "2026-11-25T00:00:00+00:00"


def test_an_unreachable_timestamp_authority_stops_the_day_before_anything_is_numbered(signed_workspace):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = signed_workspace / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8") + f'timestamp_url = "http://127.0.0.1:{port}/tsr"\n',
                      encoding="utf-8")
    result = CliRunner().invoke(cli, ["-w", str(signed_workspace), "batch", "--as-of", DAY.isoformat()])
    assert result.exit_code == 1, result.output
    assert f"time-stamping authority http://127.0.0.1:{port}/tsr did not give a time-stamp" in result.output
    assert "Traceback" not in result.output and PASSWORD not in result.output
    assert _nothing_numbered(signed_workspace)  # never issued unstamped, nothing left reserved
