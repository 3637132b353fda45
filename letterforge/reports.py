"""Plain-text and JSON views of statements and diagnostics, for the command line."""

from __future__ import annotations

import json
import signal
import unicodedata
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from letterforge.clauses import ClauseLibrary
from letterforge.ledger import LedgerLetter
from letterforge.pipeline import BatchReport
from letterforge.planning import Plan
from letterforge.records import LetterKind, SendStatus
from letterforge.diagnostics import Diagnostic
from letterforge.money import format_money
from letterforge.statements import LimitationFlag, Statement, limitation_summary
from letterforge.sealing import Verification
from letterforge.sms_notices import SmsReport

STATEMENT_HEADINGS = {
    "zh-CN": ("账期", "收费项目", "应收", "已缴", "欠费", "应缴日期", "逾期天数", "滞纳金"),
    "en-GB": ("Period", "Item", "Due", "Paid", "Outstanding", "Due date", "Days overdue", "Late fee"),
}
TOTAL_LABELS = {
    "zh-CN": {"principal": "欠费合计", "late_fees": "滞纳金合计", "compensation": "补偿金",
              "total": "应缴总额", "capitals": "大写", "none": "无逾期欠费"},
    "en-GB": {"principal": "Outstanding", "late_fees": "Interest", "compensation": "Compensation",
              "total": "Total due", "capitals": "", "none": "nothing overdue"},
}


def _width(text: str) -> int:
    # CJK characters take two columns on a terminal.
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * (width - _width(text))
    return gap + text if right else text + gap


def format_table(headings: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    widths = [max([_width(h)] + [_width(r[i]) for r in rows]) for i, h in enumerate(headings)]
    lines = ["  ".join(_pad(h, widths[i], i in right) for i, h in enumerate(headings)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(_pad(c, widths[i], i in right) for i, c in enumerate(row)).rstrip() for row in rows)
    return "\n".join(lines)


def statement_text(statement: Statement, locale: str, limitation: tuple[LimitationFlag, ...] = ()) -> str:
    account = statement.account
    labels = TOTAL_LABELS[locale]
    money = lambda amount: format_money(amount, statement.currency, locale)  # noqa: E731
    header = f"{account.account_id}  {account.name}  {account.building} {account.unit}".rstrip()
    if not statement.lines:
        return f"{header}\n  {labels['none']} ({statement.as_of.isoformat()})"
    rows = [
        (line.item.period, line.item.fee_item, money(line.item.amount_due), money(line.item.amount_paid),
         money(line.outstanding), line.item.due_date.isoformat(), str(line.days_overdue),
         money(line.late_fee.amount + line.late_fee.compensation))
        for line in statement.lines
    ]
    parts = [header, format_table(STATEMENT_HEADINGS[locale], rows, {2, 3, 4, 6, 7})]
    totals = [("principal", statement.principal), ("late_fees", statement.late_fees)]
    if statement.compensation:
        totals.append(("compensation", statement.compensation))
    totals.append(("total", statement.total))
    parts.extend(f"{labels[key]}: {money(amount)}" for key, amount in totals)
    if statement.total_in_capitals:
        parts.append(f"{labels['capitals']}: {statement.total_in_capitals}")
    if limitation:
        parts.append(limitation_summary(limitation))
    return "\n".join(parts)


def statement_dict(statement: Statement, limitation: tuple[LimitationFlag, ...] = ()) -> dict[str, Any]:
    account = statement.account
    return {
        "account_id": account.account_id,
        "name": account.name,
        "building": account.building,
        "unit": account.unit,
        "category": account.category.value,
        "as_of": statement.as_of.isoformat(),
        "currency": statement.currency,
        "items": [
            {
                "period": line.item.period,
                "fee_item": line.item.fee_item,
                "amount_due": str(line.item.amount_due),
                "amount_paid": str(line.item.amount_paid),
                "outstanding": str(line.outstanding),
                "due_date": line.item.due_date.isoformat(),
                "days_overdue": line.days_overdue,
                "late_fee": str(line.late_fee.amount),
                "late_fee_days": line.late_fee.days,
                "late_fee_rate": str(line.late_fee.rate),
                "late_fee_basis": line.late_fee.rate_basis,
                "late_fee_capped": line.late_fee.capped,
                "compensation": str(line.late_fee.compensation),
            }
            for line in statement.lines
        ],
        "principal": str(statement.principal),
        "late_fees": str(statement.late_fees),
        "compensation": str(statement.compensation),
        "total": str(statement.total),
        "total_in_capitals": statement.total_in_capitals,
        "not_yet_due": str(statement.not_yet_due),
        "limitation": [{"period": f.item.period, "fee_item": f.item.fee_item, "due_date": f.item.due_date.isoformat(),
                        "runs_from": f.runs_from.isoformat(), "ran_out_on": f.ran_out_on.isoformat(),
                        "years": f.years} for f in limitation],
    }


def clause_rows(library: ClauseLibrary, kind: str | None, locale: str | None) -> list[dict[str, str]]:
    rows = []
    for clause in sorted(library.clauses, key=lambda c: (c.locale, c.id, c.version)):
        if (kind and kind not in clause.kinds) or (locale and clause.locale != locale):
            continue
        rows.append({
            "id": clause.id, "version": clause.version, "slot": clause.slot, "kinds": ",".join(clause.kinds),
            "creditor_types": ",".join(clause.creditor_types), "categories": ",".join(clause.categories),
            "when": clause.when_text, "status": clause.status, "effective": f"{clause.effective_from.isoformat()}.."
            f"{clause.effective_until.isoformat() if clause.effective_until else ''}",
            "approved": f"{clause.approved_by} {clause.approved_on.isoformat() if clause.approved_on else ''}".strip(),
        })
    return rows


def diagnostics_json(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic], **extra: Any) -> str:
    return json.dumps({**extra, "problems": [d.as_dict() for d in diagnostics]}, ensure_ascii=False, indent=2)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def plan_dict(plan: Plan) -> dict[str, Any]:
    totals = plan.totals()
    return {
        "days": [
            {"date": day.isoformat(),
             "totals": {kind.value: totals[day][kind] for kind in LetterKind},
             "letters": [{"account_id": l.account_id, "kind": l.kind.value, "group": l.group,
                          "already_planned": not l.new} for l in plan.on(day)]}
            for day in plan.days if plan.on(day)
        ],
        "unplaced": [{"account_id": c.account_id, "kind": c.kind.value, "group": c.group} for c in plan.unplaced],
    }


def plan_text(plan: Plan) -> str:
    lines = []
    totals = plan.totals()
    for day in plan.days:
        letters = plan.on(day)
        if not letters:
            continue
        counts = ", ".join(f"{totals[day][kind]} {kind.value}" for kind in LetterKind if totals[day][kind])
        lines.append(f"{day.isoformat()}  {len(letters)} letter(s): {counts}")
        lines.extend(f"    {l.kind.value:9} {l.account_id:16} {l.group}" for l in letters)
    if plan.unplaced:
        lines.append(f"beyond the horizon: {len(plan.unplaced)} letter(s) wait for room")
    return "\n".join(lines) or "no letters to plan"


def batch_dict(report: BatchReport) -> dict[str, Any]:
    return {
        "as_of": report.as_of.isoformat(), "folder": str(report.folder), "dry_run": report.dry_run,
        "counts": {name: dict(counter) for name, counter in report.counts().items()},
        "due_today": [{"account_id": l.account_id, "kind": l.kind.value} for l in report.due_today],
        "planned_later": report.planned_later, "rejected_rows": report.rejected_rows,
        "issued": [l.as_dict() for l in report.issued],
        "working_day": report.working_day,
        "cancelled": [{"account_id": l.account_id, "kind": l.kind.value, "reason": r} for l, r in report.cancelled],
        "skipped": [{"account_id": l.account_id, "kind": l.kind.value, "reason": r} for l, r in report.skipped],
        "failed": [{"account_id": l.account_id, "kind": l.kind.value, "reference": l.reference, "error": e}
                   for l, e in report.failed],
        "files": [str(p) for p in report.files],
        "already_complete": report.already_complete, "left": report.left,
        "interrupted": signal.Signals(report.interrupted).name if report.interrupted is not None else None,
        "stopped_by": report.stopped_by, "problems": report.problems, "exit_code": report.exit_code,
        "emails": send_dict(report.emails) if report.emails is not None else None,
        "sms": sms_dict(report.sms) if report.sms is not None else None,
        "notes": report.notes,
    }


def _after_day(report: BatchReport) -> list[str]:
    """What the batch did after the day's letters: notes said once, the e-mails and SMS notices sent."""
    lines = [f"NOTE: {note}" for note in report.notes]
    if report.emails is not None:
        lines.append("e-mail: " + send_text(report.emails).replace("\n", "\n  "))
    if report.sms is not None:
        lines.append("sms: " + sms_text(report.sms).replace("\n", "\n  "))
    return lines


def batch_text(report: BatchReport) -> str:
    if not report.working_day:
        return (f"{report.as_of.isoformat()} is not a working day: no letters go out "
                f"({report.planned_later} planned for later days)" if report.dry_run else
                f"{report.as_of.isoformat()} is not a working day: no letters go out")
    if report.dry_run:
        lines = [f"{report.as_of.isoformat()} (dry run): {len(report.due_today)} letter(s) would go out today"]
        lines.extend(f"    {l.kind.value:9} {l.account_id}" for l in report.due_today)
        return "\n".join(lines)
    if report.already_complete:
        lines = [f"{report.as_of.isoformat()}: this day was issued in full by an earlier run; nothing new to issue "
                 "today", f"{report.planned_later} letter(s) planned for later days"]
        lines.extend(f"PROBLEM: {problem}" for problem in report.problems)
        lines.extend(_after_day(report))
        if report.files:
            lines.append(f"written to {report.folder.parent}: " + ", ".join(_under(p, report.folder.parent)
                                                                          for p in report.files))
        return "\n".join(lines)
    counts = report.counts()
    lines = [f"{report.as_of.isoformat()}: " + "; ".join(
        f"{name} " + (", ".join(f"{counts[name][k.value]} {k.value}" for k in LetterKind if counts[name][k.value])
                      or "none")
        for name in ("issued", "cancelled", "skipped", "failed"))]
    if not (report.issued or report.cancelled or report.failed):
        lines.append("nothing new to issue today")
    for letter, reason in report.cancelled:
        lines.append(f"cancelled {letter.kind.value} for {letter.account_id}: {reason}")
    for letter, reason in report.skipped:
        lines.append(f"skipped {letter.kind.value} for {letter.account_id}: {reason}")
    for letter, error in report.failed:
        lines.append(f"FAILED {letter.kind.value} {letter.reference} for {letter.account_id}: {error}")
    if report.interrupted is not None:
        lines.append(f"STOPPED by {signal.Signals(report.interrupted).name}: {len(report.issued)} letter(s) issued, "
                     f"{report.left} left reserved or planned; the next run of the batch completes the day")
    if report.stopped_by:
        lines.append(f"STOPPED: {report.stopped_by}; {report.left} letter(s) left for the next run")
    lines.extend(f"PROBLEM: {problem}" for problem in report.problems)
    lines.extend(_after_day(report))
    if report.rejected_rows:
        lines.append(f"{report.rejected_rows} data row(s) rejected: see {report.folder / 'rejects'}")
    lines.append(f"{report.planned_later} letter(s) planned for later days")
    if report.files:
        lines.append(f"written to {report.folder.parent}: " + ", ".join(_under(p, report.folder.parent)
                                                                      for p in report.files))
    return "\n".join(lines)


def _under(path: Path, folder: Path) -> str:
    return str(path.relative_to(folder)) if path.is_relative_to(folder) else str(path)


def ledger_rows(letters: list[LedgerLetter]) -> list[dict[str, Any]]:
    return [letter.as_dict() for letter in letters]


def verification_text(result: Verification) -> str:
    """`verify`'s answer in words: each signature, the ledger's letter, then the verdict."""
    lines = [f"{result.file}  SHA-256 {result.sha256}"]
    for check in result.signatures:
        state = "intact" if check.intact and check.valid else "BROKEN"
        lines.append(f"  signature {check.field}: {state}, "
                     f"{'covers the whole file' if check.whole_file else 'does NOT cover the whole file'}, "
                     f"{'trusted' if check.trusted else 'NOT trusted'}")
        lines.append(f"    signer: {check.signer} (serial {check.serial})")
        lines.append(f"    signing time: {check.signing_time or '-'}; time-stamp: {check.timestamp or 'none'}")
    if result.letter:
        letter = result.letter
        lines.append(f"  ledger: {letter['reference']}, account {letter['account_id']}, {letter['kind']}, "
                     f"issued on {letter['issued_on']} ({letter['status']})")
    lines += [f"  problem: {problem}" for problem in result.problems]
    lines.append("valid, and issued by this workspace" if result.ok else "NOT verified")
    return "\n".join(lines)


# What `send` (and `send --bounces`) can say of a letter: a send's status, or what was done instead;
# a delivery report's own action (delivered, relayed, delayed, expanded) is its outcome when it is
# kept as an event.
SEND_OUTCOMES = (SendStatus.SENT, SendStatus.DEFERRED, SendStatus.FAILED, SendStatus.UNKNOWN, "skipped", "withheld",
                 SendStatus.RETURNED, "confirmed", "delivered", "relayed", "expanded", "delayed", "unmatched")


def send_dict(report: Any) -> dict[str, Any]:
    """`letterforge send` as data: each letter's outcome, and the bounces recorded."""
    return {"day": report.day.isoformat(), "stopped": report.stopped,
            "counts": {str(status): report.count(status) for status in SEND_OUTCOMES},
            "letters": [outcome.__dict__ for outcome in report.outcomes]}


def send_text(report: Any) -> str:
    lines = [f"    {o.status:9} {o.reference}  {o.account_id}  {o.detail}".rstrip() for o in report.outcomes]
    counts = ", ".join(f"{report.count(s)} {s}" for s in SEND_OUTCOMES if report.count(s))
    lines.append(f"{report.day.isoformat()}: {counts or report.nothing}")
    if report.stopped:
        lines.append(f"stopped: {report.stopped}")
    return "\n".join(lines)


def sms_dict(report: SmsReport) -> dict[str, Any]:
    return {"as_of": report.as_of.isoformat(), "files": [str(p) for p in report.files],
            "recorded": [{"reference": n.reference, "account_id": n.account_id, "message_id": n.message_id,
                          "sha256": n.sha256, "encoding": n.length.encoding, "segments": n.length.segments,
                          "status": status, "answer": answer} for n, status, answer in report.recorded],
            "already_recorded": report.already, "unresolved": report.unresolved,
            "withheld": [{"reference": r, "why": why} for r, why in report.withheld]}


def sms_text(report: SmsReport) -> str:
    """`sms`'s answer: one line per text recorded (account id only: no number, no text), then totals."""
    lines = [f"{n.reference} ({n.account_id}): {status}, {n.length.segments} segment(s) {n.length.encoding}; {answer}"
             for n, status, answer in report.recorded]
    lines += [f"{reference}: no SMS: {why}" for reference, why in report.withheld]
    lines += [f"{reference}: UNRESOLVED: an earlier run recorded its SMS and stopped before the gateway's answer; "
              "not sent again (ask the provider about its client_ref; `sms --resend REF` sends it again on purpose)"
              for reference in report.unresolved]
    if not (report.recorded or report.already or report.unresolved):
        lines.append(f"{report.as_of.isoformat()}: nothing to text (no letter issued on the day goes by SMS)")
        return "\n".join(lines)
    counts = Counter(status for _, status, _ in report.recorded)
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items())) or "none recorded"
    lines.append(f"{report.as_of.isoformat()}: SMS notices {summary}; {len(report.already)} recorded by an earlier run")
    lines += [f"written: {path}" for path in report.files]
    return "\n".join(lines)
