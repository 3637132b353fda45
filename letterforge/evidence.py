"""The evidence bundle of one letter (`letterforge evidence REF -o bundle.zip`): the issued letter,
every message that carried it, the ledger's events, the hashes, and a summary in the letter's
language, for a court or a lawyer (Civil Code art. 195: a demand interrupts limitation once it
can be proved what was sent, to which address, and when)."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from letterforge.archive import reprint, sha256_of
from letterforge.diagnostics import UserError
from letterforge.ledger import Event, Ledger, LedgerLetter, Send
from letterforge.workspace import Workspace

SUMMARY_FILE = {"zh-CN": "summary-摘要.txt", "en-GB": "summary.txt"}


@dataclass(frozen=True)
class Bundle:
    content: bytes
    files: tuple[tuple[str, str], ...]  # (name in the bundle, SHA-256)


def _detail(event: Event) -> Any:
    try:
        return json.loads(event.detail)
    except ValueError:
        return event.detail


def _locale(workspace: Workspace, ledger: Ledger, reference: str) -> str:
    try:
        language = ledger.snapshot(reference).get("account", {}).get("language", "")
    except UserError:
        language = ""
    return language if language in SUMMARY_FILE else workspace.config.locale


def _summary(locale: str, letter: LedgerLetter, pdf_name: str, sends: list[Send], events: list[Event],
             files: list[tuple[str, str]]) -> str:
    zh = locale == "zh-CN"
    lines = []
    if zh:
        lines += [f"函件证据摘要：{letter.reference}", "",
                  f"函件类型：{letter.kind.value}　户号：{letter.account_id}",
                  f"发函日期：{letter.issued_on}　缴费期限：{letter.deadline}　金额合计：{letter.total}",
                  f"函件文件：{pdf_name}（SHA-256：{letter.pdf_sha256}）", ""]
    else:
        lines += [f"Evidence summary: letter {letter.reference}", "",
                  f"Kind: {letter.kind.value}   Account: {letter.account_id}",
                  f"Issued on: {letter.issued_on}   Deadline: {letter.deadline}   Total: {letter.total}",
                  f"Letter file: {pdf_name} (SHA-256 {letter.pdf_sha256})", ""]
    if letter.delivery_method:
        lines.append(f"邮寄送达：{letter.delivery_method} {letter.tracking_number or ''}，送达日期 {letter.delivered_on}"
                     if zh else f"Delivered by {letter.delivery_method} {letter.tracking_number or ''} on "
                     f"{letter.delivered_on}")
    for send in sends:
        sent_at = next((e.at for e in events if e.event == "sent" and isinstance(_detail(e), dict)
                        and _detail(e).get("message_id") == send.message_id), send.finished_at or send.started_at)
        if zh:
            lines += [f"电子送达（{send.channel}{'，副本' if send.copy else ''}）：{send.address}",
                      f"  状态：{send.status}　发送时间：{sent_at}",
                      f"  Message-ID：{send.message_id}",
                      f"  服务器应答：{send.answer}",
                      f"  所发送内容的 SHA-256：{send.sha256}（{send.file}）"]
        else:
            lines += [f"Sent by {send.channel}{' (a copy)' if send.copy else ''} to {send.address}",
                      f"  status: {send.status}   at: {sent_at}",
                      f"  Message-ID: {send.message_id}",
                      f"  server's answer: {send.answer}",
                      f"  SHA-256 of the bytes sent: {send.sha256} ({send.file})"]
    if not sends:
        lines.append("本函未以电子方式发送。" if zh else "This letter was not sent electronically.")
    lines.append("")
    if zh:
        lines += ["说明：ledger-events.json 是 letterforge 台账对本函记录的全部事件（时间、事件、详情）；",
                  "emails/ 中的 .eml 文件是交给邮件服务器的原始字节，其 SHA-256 与台账记录一致；",
                  "附件即存档的函件原件。数据电文进入收件人指定系统的时间为到达时间（电子签名法第十一条）；",
                  "能够证明催告内容、地址与时间的，诉讼时效自催告时中断（民法典第一百九十五条）。", ""]
    else:
        lines += ["ledger-events.json holds every event letterforge's ledger recorded for this letter; the .eml",
                  "files in emails/ are the exact bytes handed to the mail server, whose SHA-256 the ledger recorded",
                  "before sending; the attachment in each is the archived letter, byte for byte.", ""]
    lines.append("文件及其 SHA-256：" if zh else "Files and their SHA-256:")
    lines += [f"  {sha}  {name}" for name, sha in files]
    return "\n".join(lines) + "\n"


def evidence_bundle(workspace: Workspace, ledger: Ledger, reference: str) -> Bundle:
    """The bundle as zip bytes: the same ledger and archive give the same bytes."""
    letter = ledger.letter(reference)
    issued = reprint(workspace, ledger, reference)  # checked against the ledger's SHA-256
    pdf_name = "letter/" + Path(letter.pdf_file or issued.source.name).name
    members: list[tuple[str, bytes]] = [(pdf_name, issued.content)]
    sends = ledger.sends(reference)
    for number, send in enumerate(sends, start=1):
        path = workspace.path / send.file
        content = path.read_bytes() if send.file and path.is_file() else b""
        if sha256_of(content) != send.sha256:
            raise UserError(f"{reference}: the archived message {send.file or send.message_id} is missing or altered "
                            f"(the ledger recorded SHA-256 {send.sha256}); run `letterforge ledger check`")
        members.append((f"emails/{number}-{send.channel}-{send.status}.eml", content))
    events = ledger.events(reference)
    members.append(("ledger-events.json", _json([{"at": e.at, "event": e.event, "detail": _detail(e)}
                                                   for e in events])))
    members.append(("letter.json", _json(letter.as_dict())))
    members.append(("sends.json", _json([s.as_dict() for s in sends])))
    files = [(name, sha256_of(content)) for name, content in members]
    locale = _locale(workspace, ledger, reference)
    summary = _summary(locale, letter, pdf_name, sends, events, files).encode("utf-8")
    members.append((SUMMARY_FILE[locale], summary))
    files.append((SUMMARY_FILE[locale], sha256_of(summary)))
    sums = "".join(f"{sha}  {name}\n" for name, sha in files).encode("utf-8")
    members.append(("SHA256SUMS", sums))
    stamp = (letter.issued_on.year, letter.issued_on.month, letter.issued_on.day, 0, 0, 0) if letter.issued_on \
        else (1980, 1, 1, 0, 0, 0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o640 << 16
            archive.writestr(info, content)
    return Bundle(buffer.getvalue(), tuple(files))


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str) + "\n").encode("utf-8")
