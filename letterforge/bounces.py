"""Bounces: delivery status notifications (RFC 3464) read from a file, a Maildir or a folder of
.eml files, and recorded against the letter whose e-mail they report, by its Message-ID."""

from __future__ import annotations

import hashlib
import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path

from letterforge.diagnostics import UserError
from letterforge.ledger import Ledger
from letterforge.records import SendStatus

MAX_REPORT_BYTES = 10 * 2**20  # a DSN is small; a bigger file is not one


@dataclass(frozen=True)
class DeliveryReport:
    """What one DSN says about one message: `action` is failed, delayed, delivered, relayed or expanded."""

    message_id: str
    action: str
    status: str  # e.g. 5.1.1
    diagnostic: str  # the remote server's words, e.g. "smtp; 550 5.1.1 user unknown"
    source: str  # the file it came from
    sha256: str  # of the whole report, as evidence

    @property
    def reason(self) -> str:
        return " ".join(f"{self.status} {self.diagnostic}".split())


def _messages(path: Path) -> Iterator[tuple[str, bytes]]:
    if path.is_file():
        yield str(path), path.read_bytes()[:MAX_REPORT_BYTES]
        return
    if (path / "cur").is_dir() or (path / "new").is_dir():
        box = mailbox.Maildir(path, factory=None, create=False)
        for key in sorted(box.keys()):
            yield f"{path}/{key}", box.get_bytes(key)[:MAX_REPORT_BYTES]
        return
    for file in sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in (".eml", ".msg", "")):
        yield str(file), file.read_bytes()[:MAX_REPORT_BYTES]


def _original_message_id(report: Message) -> str:
    for part in report.walk():
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "message/rfc822-headers", "text/rfc822-headers",
                            "message/global", "message/global-headers"):
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                original = payload[0]
            else:
                raw = part.get_payload(decode=True) or b""
                original = message_from_bytes(raw if isinstance(raw, bytes) else str(raw).encode(), policy=policy.default)
            value = original.get("Message-ID")
            if value:
                return " ".join(str(value).split())
    return ""


def _from_envelope_id(value: str) -> str:
    """The Message-ID a report's Original-Envelope-Id names (letterforge's ENVID is the Message-ID
    without brackets, as xtext); empty when there is none."""
    text = re.sub(r"\+([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), " ".join(value.split()))
    return f"<{text}>" if text and "@" in text and not any(ch in text for ch in " <>") else ""


def read_reports(path: Path) -> tuple[list[DeliveryReport], list[str]]:
    """Every per-recipient report in the DSNs at `path`, and the files that are not DSNs (by name)."""
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    reports: list[DeliveryReport] = []
    skipped: list[str] = []
    for source, raw in _messages(path):
        message = message_from_bytes(raw, policy=policy.default)
        if message.get_content_type() != "multipart/report" or \
                message.get_param("report-type", "").lower() != "delivery-status":
            skipped.append(source)
            continue
        message_id = _original_message_id(message)
        sha256 = hashlib.sha256(raw).hexdigest()
        found = False
        for part in message.walk():
            if part.get_content_type() not in ("message/delivery-status", "message/global-delivery-status"):
                continue
            blocks = part.get_payload()
            if not message_id and isinstance(blocks, list) and blocks:
                # No headers returned: the envelope id letterforge asked for (ENVID) names the message.
                message_id = _from_envelope_id(str(blocks[0].get("Original-Envelope-Id", "")))
            for block in (blocks[1:] if isinstance(blocks, list) else []):  # the first block is per message
                action = str(block.get("Action", "")).strip().lower()
                if not action:
                    continue
                found = True
                reports.append(DeliveryReport(message_id, action, str(block.get("Status", "")).strip(),
                                              " ".join(str(block.get("Diagnostic-Code", "")).split()), source, sha256))
        if not found:
            skipped.append(source)
    return reports, skipped


def record_reports(ledger: Ledger, reports: list[DeliveryReport], on: date) -> list[tuple[DeliveryReport, str]]:
    """Record each report against its message: a failure returns it (once); delivered, relayed and
    delayed reports are kept as events. Returns (report, what was done) for each."""
    done = []
    for report in reports:
        send = ledger.send_by_message_id(report.message_id) if report.message_id else None
        if send is None:
            done.append((report, "unmatched"))
            continue
        if report.action == "failed":
            if send.status == SendStatus.RETURNED:
                done.append((report, "skipped"))
                continue
            ledger.send_returned(send.message_id, report.reason, on, report.sha256)
            done.append((report, SendStatus.RETURNED))
            continue
        letter = ledger.letter(send.reference)
        ledger.note(letter, "delivery_report", _detail(send.channel, send.message_id, report, on))
        if report.action in ("delivered", "relayed", "expanded") and send.status in (SendStatus.UNKNOWN, SendStatus.SENDING):
            # The run that sent it stopped before the server's answer was recorded: the report, matched
            # by Message-ID, shows the message was accepted. Resolved without sending it again.
            ledger.finish_send(send.message_id, SendStatus.SENT, f"confirmed by a delivery status notification read on "
                               f"{on.isoformat()}: {report.action} {report.status} {report.diagnostic}".strip())
            done.append((report, "confirmed"))
            continue
        done.append((report, report.action))
    return done


def _detail(channel: str, message_id: str, report: DeliveryReport, on: date) -> str:
    import json

    return json.dumps({"channel": channel, "message_id": message_id, "action": report.action,
                       "status": report.status, "diagnostic": report.diagnostic, "on": on.isoformat(),
                       "report_sha256": report.sha256}, ensure_ascii=False, sort_keys=True)


__all__ = ["DeliveryReport", "read_reports", "record_reports"]
