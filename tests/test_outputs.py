"""Outputs: what letterforge writes on the way out (atomic files, rejects, manifest, follow-ups,
the ledger export), tested from the records they are made of, without rendering a letter."""

import csv
import io
import json
import os
import stat
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from letterforge.diagnostics import UserError
from letterforge.ledger import Event, LedgerLetter
from letterforge.kinds import KINDS
from letterforge.outputs import (DayPrintPack, ledger_csv, letter_paths, print_pack_volumes, write_batch_files,
                                 write_print_pack, write_rejects)
from letterforge.permissions import write_atomic
from letterforge.records import Account, LetterKind
from letterforge.validation import DebtorData, RejectedRow


def read_csv(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, so that Excel and WPS open it
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_write_atomic_replaces_the_whole_file_private_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "new" / "folder" / "letter.pdf"
    assert write_atomic(path, b"first") == path
    write_atomic(path, b"second")
    assert path.read_bytes() == b"second"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o750
    assert os.listdir(path.parent) == ["letter.pdf"]


def test_write_atomic_that_fails_keeps_the_old_file_and_no_temporary(tmp_path):
    path = write_atomic(tmp_path / "manifest.csv", b"as it was")
    with pytest.raises(TypeError):
        write_atomic(path, "not bytes")  # type: ignore[arg-type]
    assert path.read_bytes() == b"as it was"
    assert os.listdir(tmp_path) == ["manifest.csv"]


def reject(table: str, row: int, *cells: str, reasons: tuple[str, ...] = ("amount: not a number",)) -> RejectedRow:
    return RejectedRow(table=table, file=f"{table}.csv", row=row, headers=("户号", "金额"), cells=cells,
                       reasons=reasons)


def test_write_rejects_one_file_per_table_with_the_rows_as_they_were(tmp_path):
    folder = tmp_path / "rejects"
    rejects = (reject("arrears", 7, "JX-1-0101", "12,5元", reasons=("金额: not a number", "due date: missing")),
               reject("accounts", 3, "=HYPERLINK(\"http://x\")", ""), reject("arrears", 9, "JX-1-0102", "-"))
    written = write_rejects(rejects, folder)
    assert written == [folder / "accounts.rejects.csv", folder / "arrears.rejects.csv"]
    assert read_csv(folder / "arrears.rejects.csv") == [
        ["file", "row", "reason", "户号", "金额"],
        ["arrears.csv", "7", "金额: not a number; due date: missing", "JX-1-0101", "12,5元"],
        ["arrears.csv", "9", "amount: not a number", "JX-1-0102", "'-"],
    ]
    # A cell that a spreadsheet would run as a formula is written as text.
    assert read_csv(folder / "accounts.rejects.csv")[1][3] == "'=HYPERLINK(\"http://x\")"
    # The next run has clean accounts: its stale rejects file goes, the other is rewritten.
    assert write_rejects(rejects[2:], folder) == [folder / "arrears.rejects.csv"]
    assert not (folder / "accounts.rejects.csv").exists()
    assert len(read_csv(folder / "arrears.rejects.csv")) == 2
    assert write_rejects((), folder) == [] and os.listdir(folder) == []


def one_page_pdf(title: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_metadata({"/Title": title})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def ledger_letter(number: int, account_id: str, kind: LetterKind, deadline: date | None, **changes) -> LedgerLetter:
    fields = dict(id=number, account_id=account_id, kind=kind, status="issued", planned_on=date(2026, 11, 25),
                  group="1栋", reference=f"REF-{number}", reserved_on=date(2026, 11, 25), issued_on=date(2026, 11, 25),
                  deadline=deadline, principal=Decimal("300.00"), late_fees=Decimal("4.59"), total=Decimal("304.59"),
                  clauses=("zh.reminder.opening@2", "zh.privacy@1"), pdf_sha256=f"{number:064x}",
                  pdf_file=f"out/2026-11-25/letters/{kind.value}_{account_id}.pdf", delivery_method=None,
                  tracking_number=None, delivered_on=None)
    fields.update(changes)
    return LedgerLetter(**fields)


def debtor_data(*accounts: Account) -> DebtorData:
    return DebtorData(accounts=accounts, arrears=(), history=(), diagnostics=(), rejects=())


def test_the_days_manifest_print_pack_and_follow_ups_come_from_the_ledgers_letters(tmp_path):
    workspace = tmp_path / "ws"
    folder = workspace / "out" / "2026-11-25"
    letters = [
        ledger_letter(1, "B-2", LetterKind.DEMAND, date(2026, 12, 2)),
        ledger_letter(2, "A-9", LetterKind.REMINDER, date(2026, 12, 9)),
        ledger_letter(3, "A-1", LetterKind.LAWYER, date(2026, 12, 2), clauses=()),
    ]
    for letter in letters:
        write_atomic(workspace / str(letter.pdf_file), one_page_pdf(f"{letter.reference} {letter.account_id}"))
    data = debtor_data(Account(account_id="A-1", name="甲", address="1栋101", building="1栋"),
                       Account(account_id="A-9", name="乙", address="1栋102", building="1栋"),
                       Account(account_id="B-2", name="丙", address="2栋101", building="2栋"))
    written = write_batch_files(folder, letters, data, workspace, {"A-1": "Limitation: 2 item(s) may be time-barred."})
    assert [p.name for p in written] == ["print-pack-001.pdf", "manifest.csv", "manifest.json", "follow-ups.csv"]

    # The print pack, manifest and JSON go in delivery order: by building, then address.
    pack = PdfReader(folder / "print-pack-001.pdf")
    assert [item.title for item in pack.outline] == ["REF-3 A-1", "REF-2 A-9", "REF-1 B-2"]
    manifest = read_csv(folder / "manifest.csv")
    assert manifest[0] == ["reference", "account_id", "kind", "issued_on", "deadline", "principal", "late_fees",
                           "total", "file", "sha256", "clauses", "print_pack"]
    assert [row[1] for row in manifest[1:]] == ["A-1", "A-9", "B-2"]
    assert manifest[2] == ["REF-2", "A-9", "reminder", "2026-11-25", "2026-12-09", "300.00", "4.59", "304.59",
                           "2026-11-25/letters/reminder_A-9.pdf", f"{2:064x}", "zh.reminder.opening@2 zh.privacy@1",
                           "print-pack-001.pdf"]
    assert manifest[1][-2] == ""  # no clauses recorded
    as_json = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert as_json == [dict(zip(manifest[0], row)) for row in manifest[1:]]
    # The file column is relative to the out folder, so the day's folder can be moved with its letters.
    assert (folder.parent / as_json[0]["file"]).is_file()

    # Follow-ups by date, then account; each says what to do for its kind.
    follow_ups = read_csv(folder / "follow-ups.csv")
    assert follow_ups[0] == ["follow_up_on", "account_id", "kind", "reference", "what"]
    assert [row[:4] for row in follow_ups[1:]] == [["2026-12-02", "A-1", "lawyer", "REF-3"],
                                                   ["2026-12-02", "B-2", "demand", "REF-1"],
                                                   ["2026-12-09", "A-9", "reminder", "REF-2"]]
    assert follow_ups[1][4] == KINDS[LetterKind.LAWYER].follow_up + " Limitation: 2 item(s) may be time-barred."
    assert follow_ups[3][4] == KINDS[LetterKind.REMINDER].follow_up


def test_a_letter_of_an_account_no_longer_in_the_data_still_gets_its_rows(tmp_path):
    workspace = tmp_path / "ws"
    letter = ledger_letter(1, "GONE-1", LetterKind.REMINDER, None)
    write_atomic(workspace / str(letter.pdf_file), one_page_pdf("REF-1"))
    write_batch_files(workspace / "out" / "2026-11-25", [letter], debtor_data(), workspace)
    manifest = read_csv(workspace / "out" / "2026-11-25" / "manifest.csv")
    assert manifest[1][:5] == ["REF-1", "GONE-1", "reminder", "2026-11-25", ""]
    assert read_csv(workspace / "out" / "2026-11-25" / "follow-ups.csv")[1][:2] == ["", "GONE-1"]


def test_letter_paths_one_named_file_or_names_inside_a_folder(tmp_path):
    assert letter_paths(["a.pdf"], tmp_path / "mine.pdf") == [tmp_path / "mine.pdf"]
    assert letter_paths(["a.pdf", "b.pdf"], tmp_path) == [tmp_path / "a.pdf", tmp_path / "b.pdf"]
    assert letter_paths(["a.pdf"], tmp_path / "letters") == [tmp_path / "letters" / "a.pdf"]
    with pytest.raises(UserError, match="a file name made from data must not be a path"):
        letter_paths(["../../etc/passwd"], tmp_path)


def test_the_ledger_export_lists_each_letter_with_its_events_then_the_account_events():
    letters = [ledger_letter(1, "A-1", LetterKind.DEMAND, date(2026, 12, 2)),
               ledger_letter(2, "A-2", LetterKind.REMINDER, None, status="cancelled", reference=None)]
    events = [Event("2026-11-25T06:30:00", "A-1", "REF-1", "reserved", "", letter_id=1),
              Event("2026-11-25T06:31:00", "A-1", "REF-1", "issued", "sha256 ab12", letter_id=1),
              Event("2026-11-25T06:31:00", "A-2", None, "cancelled", "Nothing is overdue", letter_id=2),
              Event("2026-11-26T09:00:00", "A-3", None, "hold", "=投诉处理中 until 2026-12-31")]
    rows = list(csv.DictReader(io.StringIO(ledger_csv(letters, events).decode("utf-8-sig"), newline="")))
    assert [(r["reference"], r["account_id"], r["status"]) for r in rows] == [
        ("REF-1", "A-1", "issued"), ("", "A-2", "cancelled"), ("", "A-3", "hold")]
    assert rows[0]["events"] == "2026-11-25T06:30:00 reserved | 2026-11-25T06:31:00 issued sha256 ab12"
    assert rows[0]["clauses"] == "zh.reminder.opening@2 zh.privacy@1" and rows[0]["total"] == "304.59"
    assert rows[1]["events"] == "2026-11-25T06:31:00 cancelled Nothing is overdue"
    assert rows[2]["events"] == "2026-11-26T09:00:00 hold =投诉处理中 until 2026-12-31"  # not at the start: no '


# -- the print pack in volumes ----------------------------------------------------------------

def letter(folder: Path, name: str, pages: int) -> Path:
    """A stand-in letter: `pages` blank pages, titled with its name."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    writer.add_metadata({"/Title": name})
    path = folder / f"{name}.pdf"
    buffer = io.BytesIO()
    writer.write(buffer)
    path.write_bytes(buffer.getvalue())
    return path


def titles(volume: Path) -> list[str]:
    return [item.title for item in PdfReader(volume).outline if not isinstance(item, list)]


@pytest.mark.parametrize(("count", "per_volume", "sizes"), [
    (1, 500, [1]), (500, 500, [500]), (501, 500, [500, 1]), (7, 3, [3, 3, 1]), (6, 3, [3, 3]), (0, 3, []),
])
def test_volumes_hold_at_most_the_setting_each_letter_once_in_order(count, per_volume, sizes):
    volumes = print_pack_volumes(count, per_volume)
    assert [len(v) for v in volumes] == sizes
    assert [position for volume in volumes for position in volume] == list(range(count))


def test_print_pack_is_written_in_volumes_in_the_order_given(tmp_path):
    letters = [letter(tmp_path, f"L{n:02d}", 1 + n % 3) for n in range(7)]
    written = write_print_pack(tmp_path / "day", letters, letters_per_volume=3)
    assert [p.name for p in written] == ["print-pack-001.pdf", "print-pack-002.pdf", "print-pack-003.pdf"]
    assert [titles(v) for v in written] == [["L00", "L01", "L02"], ["L03", "L04", "L05"], ["L06"]]
    # Every page of every letter, each once: the page counts add up volume by volume.
    assert [len(PdfReader(v).pages) for v in written] == [1 + 2 + 3, 1 + 2 + 3, 1]
    for volume in written:
        reader = PdfReader(volume)
        starts = [reader.get_destination_page_number(item) for item in reader.outline]
        assert starts == sorted(starts) and starts[0] == 0
        assert reader.metadata.title == f"Print pack: {len(starts)} letter{'s' if len(starts) != 1 else ''}"


def test_a_smaller_rerun_leaves_no_stale_volume(tmp_path):
    letters = [letter(tmp_path, f"L{n}", 1) for n in range(5)]
    day = tmp_path / "day"
    day.mkdir()
    (day / "print-pack.pdf").write_bytes(b"the one-file pack of an older letterforge")
    write_print_pack(day, letters, letters_per_volume=2)
    assert sorted(p.name for p in day.glob("print-pack*.pdf")) == [
        "print-pack-001.pdf", "print-pack-002.pdf", "print-pack-003.pdf"]
    write_print_pack(day, letters[:2], letters_per_volume=2)
    assert sorted(p.name for p in day.glob("print-pack*.pdf")) == ["print-pack-001.pdf"]
    assert titles(day / "print-pack-001.pdf") == ["L0", "L1"]
    assert not list(day.glob(".*.tmp"))


def test_writing_a_days_pack_again_removes_the_half_volumes_a_killed_run_left(tmp_path):
    letters = [letter(tmp_path, f"L{n}", 1) for n in range(3)]
    day = tmp_path / "day"
    day.mkdir()
    left = [day / ".print-pack-002.pdf.building", day / ".print-pack-001.pdf.k3j9x1.tmp"]
    for path in left:
        path.write_bytes(b"%PDF-1.7 half a volume")
    (day / ".pending-note").write_bytes(b"not ours")
    write_print_pack(day, letters, letters_per_volume=2)
    assert sorted(p.name for p in day.iterdir()) == [".pending-note", "print-pack-001.pdf", "print-pack-002.pdf"]


def test_the_same_letters_give_the_same_volumes(tmp_path):
    letters = [letter(tmp_path, f"L{n}", 2) for n in range(4)]
    first = [p.read_bytes() for p in write_print_pack(tmp_path / "a", letters, letters_per_volume=3)]
    again = [p.read_bytes() for p in write_print_pack(tmp_path / "b", letters, letters_per_volume=3)]
    assert first == again and len(first) == 2


def test_the_day_pack_takes_letters_in_any_order_and_packs_them_in_the_round_order(tmp_path):
    letters = {f"R{n}": letter(tmp_path, f"R{n}", 1) for n in range(6)}
    day = tmp_path / "day"
    # R0 was issued by an earlier run of the day; the rest come now, out of order; R2 fails.
    pack = DayPrintPack(day, [("R0", letters["R0"])] + [(f"R{n}", None) for n in range(1, 6)], letters_per_volume=2)
    for reference in ("R3", "R1", "R5"):
        pack.issued(reference, letters[reference])
    pack.given_up("R2")
    pack.issued("R4", letters["R4"])
    built = pack.finish()
    assert built is not None and built.references == ["R0", "R1", "R3", "R4", "R5"]
    volumes = built.put_in_place(day)
    assert [titles(v) for v in volumes] == [["R0", "R1"], ["R3", "R4"], ["R5"]]
    assert not list(day.glob(".*"))


@pytest.mark.parametrize(("count", "sizes"), [(500, [500]), (501, [500, 1])])
def test_a_day_of_500_letters_is_one_volume_and_the_501st_opens_a_second(tmp_path, count, sizes):
    from letterforge.outputs import LETTERS_PER_VOLUME

    one = letter(tmp_path, "L", 1)
    pack = DayPrintPack(tmp_path / "day", [(f"R{n}", None) for n in range(count)], LETTERS_PER_VOLUME)
    for n in reversed(range(count)):  # the last letter of the round comes first: nothing is packed until R0
        pack.issued(f"R{n}", one)
    built = pack.finish()
    assert built is not None and built.references == [f"R{n}" for n in range(count)]
    volumes = built.put_in_place(tmp_path / "day")
    assert [v.name for v in volumes] == [f"print-pack-{n:03d}.pdf" for n in range(1, len(sizes) + 1)]
    assert [len(PdfReader(v).pages) for v in volumes] == [len(titles(v)) for v in volumes] == sizes


def test_a_day_pack_left_unfinished_leaves_nothing_behind(tmp_path):
    letters = [letter(tmp_path, f"R{n}", 1) for n in range(3)]
    pack = DayPrintPack(tmp_path / "day", [(f"R{n}", None) for n in range(3)], letters_per_volume=1)
    pack.issued("R0", letters[0])
    pack.issued("R2", letters[2])  # R1 never comes: the run was stopped
    assert pack.finish() is None
    assert list((tmp_path / "day").iterdir()) == []


def test_a_letter_the_pack_cannot_read_makes_the_pack_at_the_end(tmp_path):
    good = letter(tmp_path, "R0", 1)
    bad = tmp_path / "R1.pdf"
    bad.write_bytes(b"not a pdf")
    pack = DayPrintPack(tmp_path / "day", [("R0", None), ("R1", None)], letters_per_volume=5)
    pack.issued("R0", good)
    pack.issued("R1", bad)
    assert pack.broken and pack.finish() is None
    assert list((tmp_path / "day").iterdir()) == []
