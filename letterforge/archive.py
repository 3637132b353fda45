"""The archive: the exact bytes of every issued letter, kept in the workspace under their SHA-256,
and reprint, which returns those bytes (verified) whatever changed since the letter was issued."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from letterforge.diagnostics import UserError
from letterforge.ledger import Ledger, LedgerLetter
from letterforge.model import letter_from_snapshot
from letterforge.permissions import write_atomic
from letterforge.records import Account, ArrearsItem, DebtorCategory, LetterKind, PriorLetter
from letterforge.workspace import Workspace

ARCHIVE_DIR = "archive"


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def archive_path(workspace: Path, sha256: str, suffix: str = ".pdf") -> Path:
    """Where the bytes with this SHA-256 are kept: archive/ab/abcdef….pdf."""
    return workspace / ARCHIVE_DIR / sha256[:2] / f"{sha256}{suffix}"


def archived_file(workspace: Path, letter: LedgerLetter) -> Path:
    """Where an issued letter's bytes are kept (a PDF, or a clerk's DOCX)."""
    suffix = Path(letter.pdf_file or "").suffix if (letter.pdf_file or "").endswith(".docx") else ".pdf"
    return archive_path(workspace, letter.pdf_sha256 or "", suffix)


def stored_path(workspace: Path, path: Path) -> str:
    """A path as the ledger keeps it: relative to the workspace when inside it, so that a moved or
    copied workspace still finds its files."""
    path = path.resolve()
    return str(path.relative_to(workspace)) if path.is_relative_to(workspace) else str(path)


def workspace_file(workspace: Path, stored: str) -> Path:
    """A path the ledger keeps, made usable again (absolute ones are from older ledgers or an --out
    folder outside the workspace)."""
    path = Path(stored)
    return path if path.is_absolute() else workspace / path


def archive_letter(workspace: Path, content: bytes, record: dict[str, Any], suffix: str = ".pdf") -> str:
    """Keep the letter's bytes and its ledger record; read them back before the letter counts as
    issued. Content-addressed, so writing the same letter twice is harmless."""
    sha256 = sha256_of(content)
    path = archive_path(workspace, sha256, suffix)
    if not (path.is_file() and sha256_of(path.read_bytes()) == sha256):
        write_atomic(path, content)
        if sha256_of(path.read_bytes()) != sha256:
            raise UserError(f"{path}: the archived letter does not read back as written; check the disk")
    write_atomic(path.with_suffix(".json"), (json.dumps(record, ensure_ascii=False, indent=1, default=str) + "\n")
                 .encode("utf-8"))
    return sha256


def archived_records(workspace: Path) -> list[dict[str, Any]]:
    """The ledger records kept beside the archived letters (for `ledger rebuild`)."""
    folder = workspace / ARCHIVE_DIR
    records = []
    for path in sorted(folder.glob("??/*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("reference"):
            records.append(record)
    return records


def archive_has_letters(workspace: Path) -> bool:
    folder = workspace / ARCHIVE_DIR
    return folder.is_dir() and any(p.suffix != ".json" for p in folder.glob("??/*.*"))


@dataclass(frozen=True)
class Reprint:
    content: bytes
    source: Path
    rerendered: bool | None = None  # with --rerender: whether rendering again gives the same bytes


def reprint(workspace: Workspace, ledger: Ledger, reference: str, rerender: bool = False) -> Reprint:
    """The issued letter's bytes, checked against the ledger's SHA-256: from the archive, else from
    its day folder. With `rerender`, the letter is also made again from its snapshot and compared."""
    letter = ledger.letter(reference)
    if letter.pdf_sha256 is None:
        raise UserError(f"{reference} is {letter.status}: it was never issued")
    places = [archived_file(workspace.path, letter)]
    if letter.pdf_file and workspace_file(workspace.path, letter.pdf_file) != places[0]:
        places.append(workspace_file(workspace.path, letter.pdf_file))
    for place in places:
        if place.is_file():
            content = place.read_bytes()
            if sha256_of(content) == letter.pdf_sha256:
                again = rerender_letter(workspace, ledger, letter) if rerender else None
                return Reprint(content, place, None if again is None else sha256_of(again) == letter.pdf_sha256)
    raise UserError(f"{reference}: no file with the issued bytes (SHA-256 {letter.pdf_sha256}) is left: "
                    f"{' and '.join(str(p) for p in places)} are missing or altered; "
                    f"run `letterforge ledger check`, and `letterforge reprint {reference} --rerender` to try "
                    "making it again from its snapshot")


def rerender_letter(workspace: Workspace, ledger: Ledger, letter: LedgerLetter) -> bytes:
    """The letter made again from the snapshot the ledger kept, with today's templates and fonts."""
    from letterforge.sealing import seal_issued

    factory, draft = redraft_letter(workspace, ledger, letter)
    content = factory.render(draft, "pdf", enforce=False).content  # the issued letter again, as it was
    # Signed as at issue (same key, same signing time): without a time-stamping authority the same bytes.
    config = factory.workspace.config
    return seal_issued(workspace.path, config.signing, draft.kind.value, draft.issued_on, content)


def redraft_letter(workspace: Workspace, ledger: Ledger, letter: LedgerLetter) -> tuple[Any, Any]:
    """The letter's content (a LetterDraft, with the factory that made it) again from the snapshot
    the ledger kept: the letter's data and the versions of its clauses, as issued. The factory has
    the workspace's settings of today (for a letter issued before the letter model: the settings
    its snapshot kept)."""
    from letterforge.drafts import redraft_letter as draft_from_letter
    from letterforge.letters import LetterFactory
    from letterforge.validation import DebtorData

    reference = letter.reference or ""
    text = ledger.snapshot(reference)
    try:
        kept = json.loads(text)
    except ValueError:
        kept = None  # letter_from_snapshot says what is wrong with it
    if isinstance(kept, dict) and "config" in kept:
        return _redraft_from_inputs(workspace, reference, kept)
    issued = letter_from_snapshot(text, f"the ledger's snapshot of {reference}")
    factory = LetterFactory(workspace, data=DebtorData((), (), (), (), ()))
    return factory, draft_from_letter(issued, factory.library)


def _redraft_from_inputs(workspace: Workspace, reference: str, snapshot: dict[str, Any]) -> tuple[Any, Any]:
    """A letter issued before the letter model, whose snapshot is its inputs: composed again from them."""
    from letterforge.config import parse_config
    from letterforge.drafts import compose_letter
    from letterforge.latefees import BaseRates
    from letterforge.letters import LetterFactory
    from letterforge.statements import compute_statement
    from letterforge.validation import DebtorData

    config = parse_config(snapshot["config"], f"{reference} (settings as issued)")
    account_fields = dict(snapshot["account"])
    if "hold_until" in account_fields:
        account_fields["hold_until"] = date.fromisoformat(account_fields["hold_until"])
    account_fields["category"] = DebtorCategory(account_fields["category"])
    account = Account(**account_fields)
    items = tuple(ArrearsItem(i["account_id"], i["period"], i["fee_item"], Decimal(i["amount_due"]),
                              Decimal(i["amount_paid"]), date.fromisoformat(i["due_date"]), i["source"])
                  for i in snapshot["arrears"])
    history = tuple(PriorLetter(h["account_id"], LetterKind(h["kind"]), date.fromisoformat(h["issued_on"]),
                                h["reference"]) for h in snapshot["history"])
    rates = (BaseRates(tuple((date.fromisoformat(d), Decimal(r)) for d, r in snapshot["base_rates"]))
             if snapshot["base_rates"] else None)
    issued_on = date.fromisoformat(snapshot["issued_on"])
    statement = compute_statement(account, items, config, issued_on, rates)
    factory = LetterFactory(Workspace(workspace.path, config), data=DebtorData((account,), items, history, (), ()))
    draft = compose_letter(LetterKind(snapshot["kind"]), statement, config, factory.library, issued_on=issued_on,
                           reference=reference, history=history)
    return factory, draft


def issued_account(ledger: Ledger, reference: str) -> Account | None:
    """The debtor as the letter was addressed to them (name, address, e-mail, consents, language),
    from the ledger's snapshot; None when the ledger keeps no readable snapshot of it."""
    try:
        text = ledger.snapshot(reference)
        kept = json.loads(text)
    except (UserError, ValueError):
        return None
    if isinstance(kept, dict) and isinstance(kept.get("account"), dict):  # before the letter model: its inputs
        fields = dict(kept["account"])
        fields.pop("hold_until", None)
        fields["category"] = DebtorCategory(fields.get("category", "unknown"))
        known = set(Account.__dataclass_fields__)
        return Account(**{k: v for k, v in fields.items() if k in known})
    try:
        return letter_from_snapshot(text).debtor.as_account()
    except UserError:
        return None


def same_file(path: Path, sha256: str) -> bool:
    try:
        return sha256_of(path.read_bytes()) == sha256
    except OSError:
        return False
