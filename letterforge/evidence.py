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

from letterforge.archive import issued_account, reprint, sha256_of
from letterforge.diagnostics import UserError
from letterforge.kinds import KINDS
from letterforge.ledger import Event, Ledger, LedgerLetter, Send
from letterforge.records import Account, SendStatus
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


def _locale(workspace: Workspace, account: Account | None) -> str:
    language = account.language if account is not None else ""
    return language if language in SUMMARY_FILE else workspace.config.locale


CHANNEL_NAMES = {"zh-CN": {"email": "电子邮件", "sms": "短信"}, "en-GB": {"email": "e-mail", "sms": "SMS"}}
# What each state of a send means, said as it is: "sent" is the sending server's acceptance, not
# the debtor's receipt.
STATUS_NAMES = {
    "zh-CN": {SendStatus.SENDING: "发送中（未记录服务器的应答）", SendStatus.SENT: "已由发送服务器接受",
              SendStatus.DEFERRED: "暂缓（服务器暂时拒绝，待重发）", SendStatus.FAILED: "被拒绝（永久性失败，未送出）",
              SendStatus.UNKNOWN: "结果不明（邮件交出后连接中断，是否被接受须查服务器日志）", SendStatus.RETURNED: "已退信（未送达）"},
    "en-GB": {SendStatus.SENDING: "sending (no answer from the server recorded)", SendStatus.SENT: "accepted by the sending server",
              SendStatus.DEFERRED: "deferred (a temporary refusal; to be tried again)",
              SendStatus.FAILED: "refused (a permanent failure; not delivered)",
              SendStatus.UNKNOWN: "outcome unknown (the connection broke after the message was handed over; see the "
                         "server's log)", SendStatus.RETURNED: "returned (a delivery failure report was received)"},
}
CONSENT = {"zh-CN": {"True": "是", "False": "否"}, "en-GB": {"True": "yes", "False": "no"}}


def _currency_as_issued(ledger: Ledger, reference: str) -> str:
    """The currency the letter was issued in, as the ledger's snapshot of it says."""
    import tomllib

    try:
        kept = json.loads(ledger.snapshot(reference))
    except (UserError, ValueError):
        return ""
    if not isinstance(kept, dict):
        return ""
    if "config" in kept:  # a letter issued before the letter model: its snapshot is its inputs
        try:
            settings = tomllib.loads(str(kept["config"]))
        except tomllib.TOMLDecodeError:
            return ""
        currency = settings.get("currency", "CNY")
    else:  # the letter model's JSON (model.snapshot_of)
        currency = kept.get("currency", "")
    return currency if isinstance(currency, str) else ""


def _money(amount: Any, currency: str, locale: str) -> str:
    from decimal import Decimal, InvalidOperation

    from letterforge.money import format_money

    try:
        return format_money(Decimal(str(amount)), currency, locale)
    except (InvalidOperation, ValueError):
        return str(amount)


def _summary(locale: str, letter: LedgerLetter, pdf_name: str, sends: list[Send], events: list[Event],
             files: list[tuple[str, str]], account: Account | None, currency: str) -> str:
    zh = locale == "zh-CN"
    kind = KINDS[letter.kind].name_in(locale)
    total = _money(letter.total, currency, locale) if letter.total is not None else "-"
    lines = []
    if zh:
        lines += [f"函件证据摘要：{letter.reference}", "",
                  f"函件类型：{kind}　户号：{letter.account_id}",
                  f"发函日期：{letter.issued_on}　付款期限：{letter.deadline}　金额合计：{total}",
                  f"函件原件：{pdf_name}（SHA-256：{letter.pdf_sha256}）", ""]
    else:
        lines += [f"Evidence summary: letter {letter.reference}", "",
                  f"Kind: {kind}   Account: {letter.account_id}",
                  f"Issued on: {letter.issued_on}   Deadline: {letter.deadline}   Total: {total}",
                  f"The letter as issued: {pdf_name} (SHA-256 {letter.pdf_sha256})", ""]
    if letter.delivery_method:
        lines.append(f"邮寄送达：{letter.delivery_method} {letter.tracking_number or ''}，送达日期 {letter.delivered_on or '未记录'}"
                     if zh else f"By post: {letter.delivery_method} {letter.tracking_number or ''}, delivered on "
                     f"{letter.delivered_on or '(not recorded)'}")
    for number, send in enumerate(sends, start=1):
        mine = [e for e in events if isinstance(_detail(e), dict) and _detail(e).get("message_id") == send.message_id]
        accepted = next((e.at for e in mine if e.event == "sent"), "")
        returned = [_detail(e) for e in mine if e.event == "returned"]
        # A "delivered" delivery status notification (asked for with NOTIFY=SUCCESS): evidence of arrival.
        delivered = [_detail(e) for e in mine if e.event == "delivery_report" and _detail(e).get("action") == "delivered"]
        channel = CHANNEL_NAMES[locale].get(send.channel, send.channel)
        status = STATUS_NAMES[locale].get(send.status, send.status)
        consent = CONSENT[locale].get(str(getattr(account, f"{send.channel}_consent", "")), "-")
        if zh:
            lines += [f"{number}. {channel}{'（副本：本函以邮寄方式送达）' if send.copy else ''}",
                      f"  收件地址：{send.address}　债务人同意以此方式送达：{consent}（据发函时的账户资料）",
                      f"  状态：{status}",
                      f"  记录为发送中（即邮件的 Date）：{send.started_at}",
                      f"  服务器接受时间：{accepted or '无'}",
                      f"  服务器应答：{send.answer or '无'}",
                      f"  Message-ID：{send.message_id}",
                      f"  所发送内容（{message_member(number, send)}）的 SHA-256：{send.sha256}"]
            lines += [f"  退信：{r.get('on', '')} {r.get('reason', '')}".rstrip() for r in returned] or \
                     ["  退信：台账中无退信记录"]
            lines += [f"  送达回执（投递状态通知，{d.get('on', '')} 读取）：{d.get('status', '')} {d.get('diagnostic', '')}".rstrip()
                      for d in delivered]
        else:
            lines += [f"{number}. By {channel}{' (a copy: the letter itself is delivered by post)' if send.copy else ''}",
                      f"  to: {send.address}   the debtor agreed to this channel: {consent} (account data as issued)",
                      f"  status: {status}",
                      f"  recorded as sending (the message's Date): {send.started_at}",
                      f"  accepted by the server at: {accepted or '-'}",
                      f"  server's answer: {send.answer or '-'}",
                      f"  Message-ID: {send.message_id}",
                      f"  SHA-256 of the bytes sent ({message_member(number, send)}): {send.sha256}"]
            lines += [f"  returned: {r.get('on', '')} {r.get('reason', '')}".rstrip() for r in returned] or \
                     ["  returned: no delivery failure report in the ledger"]
            lines += [f"  delivered: a delivery status notification read on {d.get('on', '')} reports it delivered "
                      f"({d.get('status', '')} {d.get('diagnostic', '')})".replace(" )", ")") for d in delivered]
    if not sends:
        lines.append("本函未以电子方式发送。" if zh else "This letter was not sent electronically.")
    lines.append("")
    if zh:
        lines += ["说明：",
                  "1. emails/ 中的 .eml 文件是交给发送邮件服务器的完整原始字节，其 SHA-256 在交出之前已记入台账；",
                  "   其附件与 letter/ 中的函件原件逐字节相同（SHA-256 相同）。",
                  "   sms/ 中的 .txt 文件是交给短信网关的短信原文（UTF-8），其 SHA-256 同样在交出之前已记入台账。",
                  "2. “已由发送服务器接受”指发件方的邮件服务器以 250 应答接受了该邮件并给出队列号。邮件进入收件人",
                  "   指定系统（电子签名法第十一条）：台账记有送达回执（报告“已投递”的投递状态通知，见上文该邮件下）",
                  "   的，该回执即为到达的证据；没有的，以该服务器日志中此队列号、Message-ID 的投递记录为准。",
                  "3. 以数据电文催告的，到达或者应当到达债务人时诉讼时效中断（民法典第一百九十五条；最高人民法院",
                  "   关于审理民事案件适用诉讼时效制度若干问题的规定第八条），故须能证明所发内容、地址与时间。",
                  "4. ledger-events.json 是台账对本函记录的全部事件（时间、事件、详情），时间带时区；",
                  "   SHA256SUMS 列出本包各文件的 SHA-256，可用 sha256sum -c SHA256SUMS 核对。", ""]
    else:
        lines += ["Notes:",
                  "1. The .eml files in emails/ are the exact bytes handed to the sending mail server; the ledger",
                  "   recorded their SHA-256 before they were handed over. The attachment in each is the letter in",
                  "   letter/, byte for byte (the same SHA-256).",
                  "   The .txt files in sms/ are the exact texts (UTF-8) handed to the SMS gateway or written to the",
                  "   day file for upload; the ledger recorded their SHA-256 before they were handed over too.",
                  "2. \"Accepted by the sending server\" means the sender's own mail server answered 250 and gave a",
                  "   queue id. A recorded delivery receipt (a delivery status notification reporting \"delivered\",",
                  "   listed under the message above) is evidence that the message reached the recipient's server;",
                  "   without one, when the message reached the recipient's server is shown by that server's log",
                  "   under this queue id and Message-ID.",
                  "3. ledger-events.json holds every event the ledger recorded for this letter, with time zones;",
                  "   SHA256SUMS lists each file's SHA-256 (check with: sha256sum -c SHA256SUMS).", ""]
    lines.append("文件及其 SHA-256：" if zh else "Files and their SHA-256:")
    lines += [f"  {sha}  {name}" for name, sha in files]
    return "\n".join(lines) + "\n"


def message_member(number: int, send: Send) -> str:
    """Where a sent message sits in the bundle: an e-mail as the .eml handed to the mail server, an
    SMS as the UTF-8 text handed to the gateway (or written to the day file)."""
    if send.channel == "sms":
        return f"sms/{number}-sms-{send.status}.txt"
    return f"emails/{number}-{send.channel}-{send.status}.eml"


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
        members.append((message_member(number, send), content))
    events = ledger.events(reference)
    members.append(("ledger-events.json", _json([{"at": e.at, "event": e.event, "detail": _detail(e)}
                                                   for e in events])))
    members.append(("letter.json", _json(letter.as_dict())))
    members.append(("sends.json", _json([s.as_dict() for s in sends])))
    files = [(name, sha256_of(content)) for name, content in members]
    account = issued_account(ledger, reference)  # the account data as issued
    locale = _locale(workspace, account)
    currency = _currency_as_issued(ledger, reference) or workspace.config.currency
    summary = _summary(locale, letter, pdf_name, sends, events, files, account, currency).encode("utf-8")
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
