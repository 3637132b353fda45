"""Sealed letters: issued PDFs signed (PAdES, pyHanko) with the creditor's or the law firm's
certificate, and `verify`, which checks a letter's signatures and finds it in the ledger by hash."""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from io import BytesIO
from pathlib import Path
from typing import Any

from letterforge.config import Signing
from letterforge.diagnostics import UserError

log = logging.getLogger(__name__)

SEAL_ANCHOR = "seal"  # the id of the element where the 公章 goes (WeasyPrint keeps it as a named destination)
SEAL_FIELD = "letterforge-seal"
SEAL_SIZE = 38 * 72 / 25.4  # a company seal is 38–42 mm across; the box is drawn 38 mm square
SEAL_RIGHT_MARGIN = 20 * 72 / 25.4  # the letters' right page margin (templates/partials/letter.css)
NAME_LINE = 10.5 * 1.65  # the line above the anchor in a Chinese signature block (font size × line height)
SPACE_HEIGHT = 14 * 72 / 25.4  # an English letter signs in the 14 mm space below the closing
SPACE_WIDTH = 60 * 72 / 25.4


def signing_time(issued_on: date) -> datetime:
    """The time a letter is signed at: its issue date at 00:00 UTC, never the clock, so that the same
    letter signed again gives the same bytes (without a time-stamping authority, whose time is its own)."""
    return datetime.combine(issued_on, time(0, 0), tzinfo=timezone.utc)


# -- the signing key --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SealKey:
    """A loaded PKCS#12: pyHanko's signer, and the file it came from (for messages)."""

    signer: Any
    source: str

    @property
    def subject(self) -> str:
        return str(self.signer.signing_cert.subject.human_friendly)


def _load_pyhanko() -> None:
    """Import pyHanko's signing and validation once, without the CryptographyDeprecationWarning its
    DSA import prints on every run (letterforge signs with RSA or ECDSA keys; cron mails stay clean)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*DSA is deprecated.*")
        import pyhanko.sign.signers  # noqa: F401
        import pyhanko.sign.validation  # noqa: F401


def load_key(workspace: Path, certificate: str, password_env: str) -> SealKey:
    """The PKCS#12 file (relative to the workspace) opened with the password from `password_env`."""
    _load_pyhanko()
    from pyhanko.sign.signers import SimpleSigner

    path = workspace / certificate
    password = os.environ.get(password_env)
    if password is None:
        raise UserError(f"letterforge.toml: signing: the password of {certificate} is read from the "
                        f"environment variable {password_env}, which is not set")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UserError(f"{path}: cannot read the signing certificate ({error.strerror})") from None
    try:
        signer = SimpleSigner.load_pkcs12_data(data, (), passphrase=password.encode("utf-8"))
    except ValueError:
        raise UserError(f"{path}: not a PKCS#12 file, or the password in {password_env} does not open it") from None
    return SealKey(signer, str(path))


def require_valid_on(key: SealKey, day: date) -> None:
    """Refuse a certificate that is not valid at a letter's signing time (expired, or not yet valid):
    a letter sealed with it would not verify, and would not be a reliable signature (art. 13)."""
    cert = key.signer.signing_cert
    when = signing_time(day)
    start, end = cert.not_valid_before, cert.not_valid_after
    if not start <= when <= end:
        state = "expired on" if when > end else "is valid only from"
        shown = end if when > end else start
        raise UserError(f"{key.source}: the signing certificate of {key.subject} {state} "
                        f"{shown.date().isoformat()} (valid {start.date().isoformat()} to {end.date().isoformat()}), "
                        f"so it cannot seal a letter issued on {day.isoformat()}: renew the certificate, or "
                        "remove [signing] certificate to issue unsigned letters")


def key_for_kind(workspace: Path, settings: Signing, kind: str, day: date | None = None) -> SealKey | None:
    """The key that signs a letter of this kind under these settings; None where letters go unsigned.
    With `day`, a certificate not valid on that day is refused."""
    chosen = settings.key_for(kind)
    if not chosen:
        return None
    key = load_key(workspace, *chosen)
    if day is not None:
        require_valid_on(key, day)
    return key


LAWYER_UNSEALED = ("lawyer's letters are issued unsealed: a lawyer's letter is issued by the law firm, so only "
                   "the firm's certificate seals it ([signing] law_firm_certificate, not set); the creditor's "
                   "certificate seals reminders and demands only")


def unsealed_note(settings: Signing, kinds: set[str]) -> str:
    """What a run says once when it issued lawyer's letters (PDF) unsealed although letters are sealed:
    the creditor's certificate is set, the law firm's is not. Empty otherwise."""
    return LAWYER_UNSEALED if settings.lawyer_unsealed and "lawyer" in kinds else ""


def _clip(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def check_signing_keys(workspace: Path, settings: Signing, day: date) -> None:
    """Before a day issues anything: every configured key opens with its password and its certificate
    is valid on the day, and the time-stamping authority answers, so that a wrong password, an
    expired certificate or an authority that is down stops the day once, with one message, rather
    than failing each letter after it was numbered and rendered."""
    for certificate, password_env in ((settings.certificate, settings.password_env),
                                      (settings.law_firm_certificate, settings.law_firm_password_env)):
        if certificate:
            require_valid_on(load_key(workspace, certificate, password_env), day)
    timestamper = timestamper_for(settings) if settings.enabled else None
    if timestamper is not None:
        import asyncio

        # The sample stamp pyHanko sizes every signature with, asked now: an authority that does not
        # answer stops the day here, and the stamp is kept for the day's letters.
        try:
            asyncio.run(timestamper.async_dummy_response("sha256"))
        except Exception as error:
            raise UserError(f"letterforge.toml: signing: the time-stamping authority {settings.timestamp_url} did not "
                            f"give a time-stamp ({type(error).__name__}: {_clip(str(error))}); nothing was issued: "
                            "try again when it answers, or remove timestamp_url to sign without time-stamps") from None


# -- where the seal goes ----------------------------------------------------------------------------

@dataclass(frozen=True)
class SealBox:
    page: int  # 0-based
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 in PDF points


def seal_box(content: bytes) -> SealBox | None:
    """Where the visible seal goes: at the template's `seal` anchor, read from the laid-out PDF. A
    Chinese letter's seal covers the signature block's right end (company name, 盖章, date), as a
    公章 does; an English letter's fills the space between the closing and the name."""
    from pypdf import PdfReader

    reader = PdfReader(BytesIO(content))
    destination = reader.named_destinations.get(SEAL_ANCHOR)
    if destination is None:
        return None
    page = reader.get_destination_page_number(destination)
    width = float(reader.pages[page].mediabox.width)
    left, top = float(destination.left), float(destination.top)
    lang = str(reader.trailer["/Root"].get("/Lang", ""))
    if lang.startswith("zh"):
        right, upper = width - SEAL_RIGHT_MARGIN, top + NAME_LINE  # from the creditor's name down
        box = (right - SEAL_SIZE, upper - SEAL_SIZE, right, upper)
    else:
        box = (left, top - SPACE_HEIGHT, left + SPACE_WIDTH, top)
    return SealBox(page, tuple(round(v) for v in box))  # type: ignore[arg-type]


# -- signing ----------------------------------------------------------------------------------------

def _fixed_writer(content: bytes, when: datetime) -> Any:
    """pyHanko's incremental writer with the two values it takes from the clock and from chance made
    to follow the letter: the document ID's second half (random in pyHanko) is derived from the
    unsigned bytes (the first half too where the letter has none), and the modification date is the
    signing time."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    class FixedWriter(IncrementalPdfFileWriter):
        def _update_meta(self) -> None:
            super()._update_meta()
            if self._info is not None:
                info = self._info.get_object()
                if "/ModDate" in info:
                    info["/ModDate"] = generic.pdf_date(when)
                    self.mark_update(self._info)

    writer = FixedWriter(BytesIO(content), strict=False)
    derived = hashlib.sha256(content).digest()[:16]
    first = writer.document_id[0] if "/ID" in writer.prev.trailer else derived  # WeasyPrint writes no /ID
    writer._document_id = generic.ArrayObject([generic.ByteStringObject(first), generic.ByteStringObject(derived)])
    return writer


def seal_pdf(content: bytes, key: SealKey, when: datetime, timestamper: Any = None,
             reason: str = "", location: str = "") -> bytes:
    """The letter signed (PAdES B-B, or B-T with a time-stamping authority), its seal drawn at the
    template's seal anchor (invisible when the template has none). Without a timestamper the
    signing time is `when`, so the same letter signed again gives the same bytes."""
    import asyncio  # here, not at the top: only a sealed letter needs it (start-up of every command)

    return asyncio.run(_seal(content, key, when, timestamper, reason, location))


async def _seal(content: bytes, key: SealKey, when: datetime, timestamper: Any, reason: str,
                location: str) -> bytes:
    _load_pyhanko()
    from pyhanko.sign import fields, signers
    from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
    from pyhanko.pdf_utils.layout import AxisAlignment, SimpleBoxLayoutRule
    from pyhanko.stamp import TextStampStyle

    placed = seal_box(content)
    if placed is None:
        log.warning("no seal anchor (an element with id=\"seal\") in the letter: its signature is invisible")
    spec = fields.SigFieldSpec(SEAL_FIELD, on_page=placed.page if placed else 0,
                               box=placed.box if placed else None)
    # The words sit at the foot of the box, below the signature block's lines that the seal covers; no
    # date (the signature carries its time, and the proof-reader reads an ISO date in prose as a slip).
    style = TextStampStyle(stamp_text="ELECTRONIC SEAL", border_width=2,
                           inner_content_layout=SimpleBoxLayoutRule(x_align=AxisAlignment.ALIGN_MID,
                                                                    y_align=AxisAlignment.ALIGN_MIN))
    meta = signers.PdfSignatureMetadata(field_name=SEAL_FIELD, subfilter=fields.SigSeedSubFilter.PADES,
                                        md_algorithm="sha256", reason=reason or None, location=location or None)
    pdf_signer = signers.PdfSigner(meta, key.signer, timestamper=timestamper, stamp_style=style,
                                   new_field_spec=spec)
    writer = _fixed_writer(content, when)
    session = pdf_signer.init_signing_session(writer)
    session.system_time = when
    reserved = await session.estimate_signature_container_size(None, tight=False)
    document = session.prepare_tbs_document(validation_info=None, bytes_reserved=reserved)
    digest, output = document.digest_tbs_document()
    signed = await document.perform_signature(
        document_digest=digest.document_digest,
        pdf_cms_signed_attrs=PdfCMSSignedAttributes(signing_time=when))
    await signed.post_signature_processing(output)
    output.seek(0)
    return bytes(output.read())


_TIMESTAMPERS: dict[str, Any] = {}


def timestamper_for(settings: Signing) -> Any:
    """pyHanko's RFC 3161 client for the configured authority, if any: one per URL for the process,
    so that the sample stamp pyHanko asks for to size the signature is asked once, not once a letter
    (an authority may charge per stamp): a day of N letters asks N + 1 stamps."""
    if not settings.timestamp_url:
        return None
    from pyhanko.sign.timestamps import HTTPTimeStamper

    if settings.timestamp_url not in _TIMESTAMPERS:
        _TIMESTAMPERS[settings.timestamp_url] = HTTPTimeStamper(settings.timestamp_url)
    return _TIMESTAMPERS[settings.timestamp_url]


def seal_issued(workspace: Path, settings: Signing, kind: str, issued_on: date, content: bytes,
                timestamper: Any = None) -> bytes:
    """An issued letter's final bytes: signed where the settings say, unchanged otherwise (and a DOCX
    is never signed). Called once, at issue, before the bytes are archived."""
    if not content.startswith(b"%PDF"):
        return content
    key = key_for_kind(workspace, settings, kind, issued_on)
    if key is None:
        return content
    try:
        return seal_pdf(content, key, signing_time(issued_on), timestamper or timestamper_for(settings))
    except UserError:
        raise
    except Exception as error:  # pyHanko's and the TSA's failures: the letter is not issued unsigned
        raise UserError(f"the letter could not be signed with {key.source}: {type(error).__name__}: {error}") from None


# -- verify -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignatureCheck:
    field: str
    intact: bool
    valid: bool
    whole_file: bool
    trusted: bool
    signer: str
    serial: str
    signing_time: str
    timestamp: str
    problems: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Verification:
    file: str
    sha256: str
    signatures: tuple[SignatureCheck, ...]
    letter: dict[str, Any] | None
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "sha256": self.sha256, "ok": self.ok, "problems": list(self.problems),
                "signatures": [s.as_dict() for s in self.signatures], "letter": self.letter}


def check_signatures(content: bytes, trust_roots: list[Any]) -> list[SignatureCheck]:
    """Every signature in the PDF checked by pyHanko: the bytes it covers are intact, it covers the
    whole file, and its certificate leads to one of `trust_roots` (nothing is fetched)."""
    _load_pyhanko()
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(BytesIO(content), strict=False)
    checks = []
    for embedded in reader.embedded_signatures:
        context = ValidationContext(trust_roots=trust_roots, allow_fetching=False)
        with _quiet("pyhanko", "pyhanko_certvalidator"):  # its findings are returned, not logged with tracebacks
            status = validate_pdf_signature(embedded, context, ts_validation_context=context)
        problems = []
        whole = status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
        if not status.intact:
            problems.append("the signed bytes were changed after signing")
        elif not status.valid:
            problems.append("the signature does not match the signed bytes")
        if status.intact and not whole:
            problems.append("the file was changed or added to after this signature")
        if not status.trusted:
            problems.append("its certificate does not lead to a trusted root (give the issuer's certificate "
                            "with --trust, or configure the signing certificate in the workspace)")
        stamp = status.timestamp_validity
        cert = status.signing_cert
        checks.append(SignatureCheck(
            embedded.field_name, bool(status.intact), bool(status.valid), whole, bool(status.trusted),
            str(cert.subject.human_friendly) if cert is not None else "", format(cert.serial_number, "x") if cert else "",
            status.signer_reported_dt.isoformat() if status.signer_reported_dt else "",
            stamp.timestamp.isoformat() if stamp is not None else "", tuple(problems)))
    return checks


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def load_trust_roots(files: list[Path], keys: list[SealKey]) -> list[Any]:
    """Certificates trusted to issue signing certificates: the files given (PEM or DER) and the
    workspace's own signing certificates with the chain their PKCS#12 files carry."""
    from asn1crypto import pem, x509

    roots: list[Any] = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise UserError(f"{path}: cannot read the certificate ({error.strerror})") from None
        blobs = [der for _, _, der in pem.unarmor(data, multiple=True)] if pem.detect(data) else [data]
        try:
            roots += [x509.Certificate.load(der) for der in blobs]
        except ValueError:
            raise UserError(f"{path}: not a certificate (PEM or DER)") from None
    for key in keys:
        roots.append(key.signer.signing_cert)
        roots += list(key.signer.cert_registry)
    return roots


def verify_letter(name: str, content: bytes, trust_roots: list[Any], issued: dict[str, dict[str, Any]] | None) -> Verification:
    """A letter file checked: its signatures (pyHanko), and its SHA-256 looked up among the letters the
    ledger issued (`issued`: by SHA-256; None when no ledger was read)."""
    sha256 = hashlib.sha256(content).hexdigest()
    problems = []
    if not content.startswith(b"%PDF"):
        return Verification(name, sha256, (), None, ("not a PDF file",))
    try:
        signatures = check_signatures(content, trust_roots)
    except Exception as error:  # a damaged file is the answer, not a crash
        signatures = []
        problems.append(f"its signatures cannot be read: {type(error).__name__}: {error}")
    if not signatures and not problems:
        problems.append("the file carries no signature")
    for check in signatures:
        problems += [f"signature {check.field}: {problem}" for problem in check.problems]
    letter = None if issued is None else issued.get(sha256)
    if issued is None:
        problems.append("no ledger was read: give the workspace (-w) to look the letter up")
    elif letter is None:
        problems.append(f"no letter in the ledger has these bytes (SHA-256 {sha256})")
    return Verification(name, sha256, tuple(signatures), letter, tuple(problems))


def verify_file(workspace: Any, path: Path, trust_files: list[Path]) -> Verification:
    """`letterforge verify FILE`: the file's signatures checked against the trusted certificates (the
    files given, `[signing] trust`, and the workspace's own signing certificates where their password
    is set), and the file looked up in the workspace's ledger by its SHA-256."""
    from letterforge.ledger import SENT, read_ledger

    try:
        content = path.read_bytes()
    except OSError as error:
        raise UserError(f"{path}: cannot read the file ({error.strerror})") from None
    settings: Signing = workspace.config.signing
    keys = []
    for certificate, password_env in ((settings.certificate, settings.password_env),
                                      (settings.law_firm_certificate, settings.law_firm_password_env)):
        if certificate and password_env in os.environ:
            keys.append(load_key(workspace.path, certificate, password_env))
    roots = load_trust_roots(list(trust_files) + [workspace.path / name for name in settings.trust], keys)
    ledger = read_ledger(workspace.path)
    try:
        issued = {l.pdf_sha256: {"reference": l.reference, "account_id": l.account_id, "kind": l.kind.value,
                                 "issued_on": l.issued_on.isoformat() if l.issued_on else None, "status": l.status}
                  for l in ledger.letters() if l.status in SENT and l.pdf_sha256}
    finally:
        ledger.close()
    return verify_letter(str(path), content, roots, issued)
