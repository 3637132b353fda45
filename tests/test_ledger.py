from datetime import date, datetime
from decimal import Decimal

import pytest

from letterforge.config import Policy
from letterforge.diagnostics import UserError
from letterforge.ledger import open_ledger
from letterforge.records import LetterKind

CLOCK = lambda: datetime(2026, 11, 25, 8, 0, 0)  # noqa: E731
POLICY = Policy(reference_patterns={"demand": "物催字〔{year}〕第{number:04d}号"})


def reference(kind: LetterKind, year: int, number: int) -> str:
    return POLICY.reference(kind.value, year, number)


def test_references_are_gapless_per_kind_and_year(tmp_path):
    ledger = open_ledger(tmp_path, CLOCK)
    ledger.add_planned([(f"A{i}", LetterKind.DEMAND, date(2026, 11, 25), "1栋") for i in range(3)]
                       + [("B1", LetterKind.REMINDER, date(2026, 11, 25), "2栋")])
    reserved = ledger.reserve_references(ledger.letters(status="planned"), reference, date(2026, 11, 25))
    assert sorted(l.reference for l in reserved) == ["REM-2026-0001", "物催字〔2026〕第0001号", "物催字〔2026〕第0002号",
                                                     "物催字〔2026〕第0003号"]
    ledger.add_planned([("A9", LetterKind.DEMAND, date(2027, 1, 4), "1栋")])
    (next_year,) = ledger.reserve_references(ledger.letters(status="planned"), reference, date(2027, 1, 4))
    assert next_year.reference == "物催字〔2027〕第0001号"


def test_issue_deliver_and_events(tmp_path):
    ledger = open_ledger(tmp_path, CLOCK)
    ledger.add_planned([("A1", LetterKind.DEMAND, date(2026, 11, 25), "1栋")])
    (letter,) = ledger.reserve_references(ledger.letters(), reference, date(2026, 11, 25))
    ledger.mark_issued(letter, date(2026, 11, 25), date(2026, 12, 2), Decimal("100.00"), Decimal("3.00"),
                       Decimal("103.00"), ["c@1.0.0#abc"], "f" * 64, "2026-11-25/letters/demand-A1.pdf", '{"k": "v"}')
    issued = ledger.letter(letter.reference)
    assert (issued.status, issued.total, issued.deadline) == ("issued", Decimal("103.00"), date(2026, 12, 2))
    delivered = ledger.deliver(letter.reference, "ems", "EA123456789CN", date(2026, 11, 27))
    assert (delivered.status, delivered.tracking_number, delivered.delivered_on) == (
        "delivered", "EA123456789CN", date(2026, 11, 27))
    assert [e.event for e in ledger.events(letter.reference)] == ["planned", "reserved", "issued", "delivered"]
    assert ledger.letter(letter.reference).reserved_on == date(2026, 11, 25)
    assert ledger.events(letter.reference)[0].at == "2026-11-25T08:00:00"
    assert ledger.snapshot(letter.reference) == '{"k": "v"}'


def test_only_issued_letters_can_be_delivered(tmp_path):
    ledger = open_ledger(tmp_path, CLOCK)
    ledger.add_planned([("A1", LetterKind.DEMAND, date(2026, 11, 25), "1栋")])
    (letter,) = ledger.reserve_references(ledger.letters(), reference, date(2026, 11, 25))
    with pytest.raises(UserError, match="is reserved: only an issued letter can be delivered"):
        ledger.deliver(letter.reference, "ems", "X", date(2026, 11, 27))
    with pytest.raises(UserError, match="no letter with reference NOPE"):
        ledger.letter("NOPE")


def test_holds_are_recorded_and_released(tmp_path):
    ledger = open_ledger(tmp_path, CLOCK)
    ledger.hold("A1", date(2026, 12, 31), "投诉处理中")
    assert ledger.holds()["A1"].until == date(2026, 12, 31)
    assert ledger.release("A1") and not ledger.release("A1")
    assert [e.event for e in ledger.events(account_id="A1")] == ["hold", "released"]


def test_a_failed_transaction_leaves_nothing(tmp_path):
    ledger = open_ledger(tmp_path, CLOCK)
    with pytest.raises(RuntimeError):
        with ledger.transaction():
            ledger.connection.execute("INSERT INTO holds VALUES ('A1', '2026-12-31', 'x', 'now')")
            raise RuntimeError("crash")
    assert ledger.holds() == {}


def test_delivery_cannot_precede_issue_and_a_voided_number_stays(tmp_path):
    ledger = open_ledger(tmp_path, CLOCK)
    ledger.add_planned([("A1", LetterKind.DEMAND, date(2026, 11, 25), "1栋"), ("A2", LetterKind.DEMAND,
                                                                              date(2026, 11, 25), "1栋")])
    first, second = ledger.reserve_references(ledger.letters(), reference, date(2026, 11, 25))
    ledger.mark_issued(first, date(2026, 11, 25), date(2026, 12, 2), Decimal("1"), Decimal("0"), Decimal("1"), [],
                       "0" * 64, "x.pdf", "{}")
    with pytest.raises(UserError, match="cannot have been delivered on 2026-11-01"):
        ledger.deliver(first.reference, "ems", "X", date(2026, 11, 1))
    ledger.cancel(second, "paid in the meantime")
    voided = ledger.letter(second.reference)
    assert voided.status == "cancelled" and voided.reference == "物催字〔2026〕第0002号"
    assert ledger.events(second.reference)[-1].event == "voided"


def _issued(tmp_path, account="A1"):
    ledger = open_ledger(tmp_path, CLOCK)
    ledger.add_planned([(account, LetterKind.DEMAND, date(2026, 11, 25), "1栋")])
    (letter,) = ledger.reserve_references(ledger.letters(status="planned"), reference, date(2026, 11, 25))
    ledger.mark_issued(letter, date(2026, 11, 25), date(2026, 12, 2), Decimal("100.00"), Decimal("3.00"),
                       Decimal("103.00"), ["c@1.0.0#abc"], "f" * 64, "2026-11-25/letters/demand-A1.pdf", '{"k": "v"}')
    return ledger, letter.reference


def test_a_send_is_recorded_before_and_after_with_json_events(tmp_path):
    import json

    ledger, ref = _issued(tmp_path)
    sending = ledger.begin_send(ref, "email", "a1@example.cn", "<m1@example.cn>", "e" * 64, "archive/ee/e.eml")
    assert (sending.status, sending.attempts, sending.reference) == ("sending", 0, ref)
    with pytest.raises(UserError, match="already in the ledger"):
        ledger.begin_send(ref, "email", "a1@example.cn", "<m1@example.cn>", "e" * 64, "archive/ee/e.eml")
    ledger.send_attempt("<m1@example.cn>", "451 4.3.0 try later")
    sent = ledger.finish_send("<m1@example.cn>", "sent", "250 2.0.0 Ok: queued as ABC123")
    assert (sent.status, sent.attempts, sent.answer) == ("sent", 2, "250 2.0.0 Ok: queued as ABC123")
    events = [e for e in ledger.events(ref) if e.event in ("sending", "send_retry", "sent")]
    assert [e.event for e in events] == ["sending", "send_retry", "sent"]
    detail = json.loads(events[-1].detail)
    assert detail == {"channel": "email", "address": "a1@example.cn", "message_id": "<m1@example.cn>",
                      "sha256": "e" * 64, "answer": "250 2.0.0 Ok: queued as ABC123"}
    assert ledger.letter(ref).status == "issued"  # accepted by the server is not received by the debtor
    with pytest.raises(ValueError):
        ledger.finish_send("<m1@example.cn>", "returned", "")


def test_a_returned_message_returns_the_letter_only_when_nothing_else_carried_it(tmp_path):
    ledger, ref = _issued(tmp_path)
    ledger.begin_send(ref, "email", "a1@example.cn", "<m1@x.cn>", "e" * 64, "", by_post_too=True)
    ledger.finish_send("<m1@x.cn>", "sent", "250 ok")
    returned = ledger.send_returned("<m1@x.cn>", "5.1.1 user unknown", date(2026, 11, 26))
    assert returned.status == "returned"
    assert ledger.letter(ref).status == "issued"  # it went by post too
    other, ref2 = _issued(tmp_path, "A2")
    ledger.begin_send(ref2, "email", "a2@example.cn", "<m2@x.cn>", "e" * 64, "")
    ledger.finish_send("<m2@x.cn>", "sent", "250 ok")
    ledger.send_returned("<m2@x.cn>", "5.1.1 user unknown", date(2026, 11, 26))
    assert ledger.letter(ref2).status == "returned"
    assert [s.message_id for s in ledger.sends(status="returned")] == ["<m1@x.cn>", "<m2@x.cn>"]


def test_only_an_issued_letter_is_sent(tmp_path):
    ledger = open_ledger(tmp_path, CLOCK)
    ledger.add_planned([("A1", LetterKind.DEMAND, date(2026, 11, 25), "1栋")])
    (letter,) = ledger.reserve_references(ledger.letters(), reference, date(2026, 11, 25))
    with pytest.raises(UserError, match="only an issued letter can be sent"):
        ledger.begin_send(letter.reference, "email", "a@b.cn", "<m@x>", "e" * 64, "")


def test_send_statuses_are_one_enum_stored_as_their_plain_values(tmp_path):
    """records.SendStatus is what a send's status is; the ledger file holds the same words as before
    the enum, so a ledger written earlier (plain strings) reads the same."""
    from letterforge.records import SendStatus

    assert [s.value for s in SendStatus] == ["sending", "sent", "deferred", "failed", "unknown", "returned"]
    ledger, ref = _issued(tmp_path)
    ledger.begin_send(ref, "email", "a1@example.cn", "<m1@x.cn>", "e" * 64, "")
    ledger.begin_send(ref, "sms", "13800000000", "<m2@x.cn>", "e" * 64, "")
    ledger.finish_send("<m1@x.cn>", SendStatus.DEFERRED, "451 later")
    stored = dict(ledger.connection.execute("SELECT message_id, status FROM sends").fetchall())
    assert stored == {"<m1@x.cn>": "deferred", "<m2@x.cn>": "sending"}
    assert all(type(value) is str for value in stored.values())
    # An older ledger's row, written as a plain string, reads back as the enum.
    with ledger.transaction():
        ledger.connection.execute("UPDATE sends SET status = 'unknown' WHERE message_id = '<m2@x.cn>'")
    (sms,) = ledger.sends(channel="sms")
    assert sms.status is SendStatus.UNKNOWN
    assert [s.message_id for s in ledger.sends(status=SendStatus.DEFERRED)] == ["<m1@x.cn>"]
    with pytest.raises(ValueError, match="not an outcome"):
        ledger.finish_send("<m1@x.cn>", SendStatus.SENDING, "")
