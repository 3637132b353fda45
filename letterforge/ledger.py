"""The ledger: SQLite in the workspace, the record that proves what was sent, to whom, when and how.

Every write is a transaction. Reference numbers are gapless per kind and year: a number is
reserved for a letter before it is rendered (the PDF prints it), and a reserved letter is
completed on the next run if a batch dies, so no number is lost and none is used twice.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from letterforge.diagnostics import UserError
from letterforge.records import LetterKind

LEDGER_FILE = "ledger.sqlite"
STATUSES = ("planned", "reserved", "issued", "cancelled", "delivered", "returned")
SENT = ("issued", "delivered", "returned")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS letters (
    id INTEGER PRIMARY KEY,
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    planned_on TEXT NOT NULL,
    group_name TEXT NOT NULL DEFAULT '',
    reference TEXT UNIQUE,
    reserved_on TEXT,
    year INTEGER,
    number INTEGER,
    issued_on TEXT,
    deadline TEXT,
    principal TEXT,
    late_fees TEXT,
    total TEXT,
    clauses TEXT,
    pdf_sha256 TEXT,
    pdf_file TEXT,
    snapshot TEXT,
    delivery_method TEXT,
    tracking_number TEXT,
    delivered_on TEXT,
    UNIQUE (kind, year, number)
);
CREATE INDEX IF NOT EXISTS letters_account ON letters (account_id);
CREATE INDEX IF NOT EXISTS letters_status ON letters (status, planned_on);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    letter_id INTEGER REFERENCES letters (id),
    account_id TEXT NOT NULL,
    at TEXT NOT NULL,
    event TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS counters (
    kind TEXT NOT NULL,
    year INTEGER NOT NULL,
    last_number INTEGER NOT NULL,
    PRIMARY KEY (kind, year)
);
CREATE TABLE IF NOT EXISTS holds (
    account_id TEXT PRIMARY KEY,
    until TEXT NOT NULL,
    reason TEXT NOT NULL,
    set_at TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class LedgerLetter:
    id: int
    account_id: str
    kind: LetterKind
    status: str
    planned_on: date
    group: str
    reference: str | None
    reserved_on: date | None
    issued_on: date | None
    deadline: date | None
    principal: Decimal | None
    late_fees: Decimal | None
    total: Decimal | None
    clauses: tuple[str, ...]
    pdf_sha256: str | None
    pdf_file: str | None
    delivery_method: str | None
    tracking_number: str | None
    delivered_on: date | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference, "account_id": self.account_id, "kind": self.kind.value,
            "status": self.status, "planned_on": self.planned_on.isoformat(), "group": self.group,
            "issued_on": _iso(self.issued_on), "deadline": _iso(self.deadline),
            "principal": _text(self.principal), "late_fees": _text(self.late_fees), "total": _text(self.total),
            "clauses": list(self.clauses), "pdf_sha256": self.pdf_sha256, "pdf_file": self.pdf_file,
            "delivery_method": self.delivery_method, "tracking_number": self.tracking_number,
            "delivered_on": _iso(self.delivered_on),
        }


@dataclass(frozen=True)
class Hold:
    account_id: str
    until: date
    reason: str


@dataclass(frozen=True)
class Event:
    at: str
    account_id: str
    reference: str | None
    event: str
    detail: str
    letter_id: int | None = None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _text(amount: Decimal | None) -> str | None:
    return str(amount) if amount is not None else None


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _amount(text: str | None) -> Decimal | None:
    return Decimal(text) if text is not None else None


def _letter(row: sqlite3.Row) -> LedgerLetter:
    return LedgerLetter(
        id=row["id"], account_id=row["account_id"], kind=LetterKind(row["kind"]), status=row["status"],
        planned_on=date.fromisoformat(row["planned_on"]), group=row["group_name"], reference=row["reference"],
        reserved_on=_day(row["reserved_on"]), issued_on=_day(row["issued_on"]), deadline=_day(row["deadline"]), principal=_amount(row["principal"]),
        late_fees=_amount(row["late_fees"]), total=_amount(row["total"]),
        clauses=tuple(json.loads(row["clauses"])) if row["clauses"] else (), pdf_sha256=row["pdf_sha256"],
        pdf_file=row["pdf_file"], delivery_method=row["delivery_method"], tracking_number=row["tracking_number"],
        delivered_on=_day(row["delivered_on"]),
    )


class Ledger:
    """One workspace's ledger. `now` gives event timestamps: the CLI passes the clock in."""

    def __init__(self, path: Path, now: Callable[[], datetime], read_only: bool = False) -> None:
        self.path = path
        self.now = now
        if read_only:
            # Reading must not create or change anything: an absent ledger reads as an empty one.
            target = f"file:{path}?mode=ro" if path.exists() else "file::memory:"
            self.connection = sqlite3.connect(target, uri=True, isolation_level=None, timeout=30)
        else:
            self.connection = sqlite3.connect(path, isolation_level=None, timeout=30)
            self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=FULL")
        self.connection.row_factory = sqlite3.Row
        self.connection.execute("PRAGMA foreign_keys=ON")
        if not read_only or not path.exists():
            self.connection.executescript(_SCHEMA)

    def close(self) -> None:
        self.connection.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def _event(self, letter_id: int | None, account_id: str, event: str, detail: str = "") -> None:
        self.connection.execute("INSERT INTO events (letter_id, account_id, at, event, detail) VALUES (?, ?, ?, ?, ?)",
                                (letter_id, account_id, self.now().isoformat(timespec="seconds"), event, detail))

    # -- reading
    def letters(self, account_id: str | None = None, kind: str | None = None, status: str | None = None,
                planned_until: date | None = None) -> list[LedgerLetter]:
        query, values = "SELECT * FROM letters WHERE 1=1", []
        for column, value in (("account_id", account_id), ("kind", kind), ("status", status)):
            if value:
                query += f" AND {column} = ?"
                values.append(value)
        if planned_until is not None:
            query += " AND planned_on <= ?"
            values.append(planned_until.isoformat())
        query += " ORDER BY planned_on, kind, year, number, id"
        return [_letter(row) for row in self.connection.execute(query, values)]

    def letter(self, reference: str) -> LedgerLetter:
        row = self.connection.execute("SELECT * FROM letters WHERE reference = ?", (reference,)).fetchone()
        if row is None:
            raise UserError(f"no letter with reference {reference} in the ledger")
        return _letter(row)

    def snapshot(self, reference: str) -> dict[str, Any]:
        row = self.connection.execute("SELECT snapshot FROM letters WHERE reference = ?", (reference,)).fetchone()
        if row is None or not row["snapshot"]:
            raise UserError(f"the ledger keeps no snapshot of {reference}")
        return dict(json.loads(row["snapshot"]))

    def events(self, reference: str | None = None, account_id: str | None = None) -> list[Event]:
        query = ("SELECT events.at, events.account_id, letters.reference, events.event, events.detail, "
                 "events.letter_id FROM events "
                 "LEFT JOIN letters ON letters.id = events.letter_id WHERE 1=1")
        values = []
        if reference:
            query += " AND letters.reference = ?"
            values.append(reference)
        if account_id:
            query += " AND events.account_id = ?"
            values.append(account_id)
        query += " ORDER BY events.id"
        return [Event(*row) for row in self.connection.execute(query, values)]

    def holds(self) -> dict[str, Hold]:
        return {row["account_id"]: Hold(row["account_id"], date.fromisoformat(row["until"]), row["reason"])
                for row in self.connection.execute("SELECT * FROM holds")}

    # -- the plan
    def add_planned(self, letters: list[tuple[str, LetterKind, date, str]]) -> None:
        """Record newly planned letters (account, kind, day, group); planned days never move."""
        with self.transaction():
            for account_id, kind, day, group in letters:
                cursor = self.connection.execute(
                    "INSERT INTO letters (account_id, kind, status, planned_on, group_name) VALUES (?, ?, 'planned', ?, ?)",
                    (account_id, kind.value, day.isoformat(), group))
                self._event(cursor.lastrowid, account_id, "planned", f"{kind.value} planned for {day.isoformat()}")

    def move_planned(self, moves: list[tuple[LedgerLetter, date]]) -> None:
        """Give letters whose day passed without a batch their new day."""
        with self.transaction():
            for letter, day in moves:
                self.connection.execute("UPDATE letters SET planned_on = ? WHERE id = ? AND status = 'planned'",
                                        (day.isoformat(), letter.id))
                self._event(letter.id, letter.account_id, "replanned",
                            f"{letter.planned_on.isoformat()} passed without a batch: now {day.isoformat()}")

    def cancel(self, letter: LedgerLetter, reason: str) -> None:
        """A letter that will not go out. A reserved one keeps its number, void, with the reason:
        the series stays without holes."""
        with self.transaction():
            self.connection.execute("UPDATE letters SET status = 'cancelled' WHERE id = ? AND status IN ('planned', 'reserved')",
                                    (letter.id,))
            self._event(letter.id, letter.account_id, "cancelled" if letter.reference is None else "voided", reason)

    def reserve_references(self, letters: list[LedgerLetter], references: Callable[[LetterKind, int, int], str],
                           on: date, used_before: dict[LetterKind, int] | None = None) -> list[LedgerLetter]:
        """Give each planned letter the next reference number of its kind and year, in one transaction.

        `used_before` holds the highest number of each kind that letters sent before letterforge
        used this year: the series goes on from there.
        """
        year = on.year
        with self.transaction():
            for letter in letters:
                row = self.connection.execute("SELECT last_number FROM counters WHERE kind = ? AND year = ?",
                                              (letter.kind.value, year)).fetchone()
                floor = (used_before or {}).get(letter.kind, 0)
                number = max(row["last_number"] if row else 0, floor) + 1
                self.connection.execute(
                    "INSERT INTO counters (kind, year, last_number) VALUES (?, ?, ?) "
                    "ON CONFLICT (kind, year) DO UPDATE SET last_number = excluded.last_number",
                    (letter.kind.value, year, number))
                reference = references(letter.kind, year, number)
                self.connection.execute(
                    "UPDATE letters SET status = 'reserved', reference = ?, reserved_on = ?, year = ?, number = ? "
                    "WHERE id = ?", (reference, on.isoformat(), year, number, letter.id))
                self._event(letter.id, letter.account_id, "reserved", reference)
        ids = [letter.id for letter in letters]
        return [letter for letter in self.letters(status="reserved") if letter.id in ids]

    def mark_issued(self, letter: LedgerLetter, issued_on: date, deadline: date, principal: Decimal,
                    late_fees: Decimal, total: Decimal, clauses: list[str], sha256: str, pdf_file: str,
                    snapshot: dict[str, Any]) -> None:
        with self.transaction():
            self.connection.execute(
                "UPDATE letters SET status = 'issued', issued_on = ?, deadline = ?, principal = ?, late_fees = ?, "
                "total = ?, clauses = ?, pdf_sha256 = ?, pdf_file = ?, snapshot = ? WHERE id = ? AND status = 'reserved'",
                (issued_on.isoformat(), deadline.isoformat(), str(principal), str(late_fees), str(total),
                 json.dumps(clauses), sha256, pdf_file, json.dumps(snapshot, ensure_ascii=False), letter.id))
            self._event(letter.id, letter.account_id, "issued", f"{letter.reference} sha256 {sha256}")

    # -- after issue
    def deliver(self, reference: str, method: str, tracking: str, on: date) -> LedgerLetter:
        letter = self.letter(reference)
        if letter.status not in SENT:
            raise UserError(f"{reference} is {letter.status}: only an issued letter can be delivered")
        if letter.issued_on and on < letter.issued_on:
            raise UserError(f"{reference} was issued on {letter.issued_on.isoformat()}: it cannot have been "
                            f"delivered on {on.isoformat()}")
        with self.transaction():
            self.connection.execute("UPDATE letters SET status = 'delivered', delivery_method = ?, tracking_number = ?, "
                                    "delivered_on = ? WHERE id = ?", (method, tracking, on.isoformat(), letter.id))
            self._event(letter.id, letter.account_id, "delivered", f"{method} {tracking} on {on.isoformat()}".strip())
        return self.letter(reference)

    def returned(self, reference: str, reason: str, on: date) -> LedgerLetter:
        letter = self.letter(reference)
        if letter.status not in SENT:
            raise UserError(f"{reference} is {letter.status}: only an issued letter can come back")
        with self.transaction():
            self.connection.execute("UPDATE letters SET status = 'returned' WHERE id = ?", (letter.id,))
            self._event(letter.id, letter.account_id, "returned", f"{reason} on {on.isoformat()}")
        return self.letter(reference)

    # -- holds
    def hold(self, account_id: str, until: date, reason: str) -> None:
        with self.transaction():
            self.connection.execute("INSERT INTO holds (account_id, until, reason, set_at) VALUES (?, ?, ?, ?) "
                                    "ON CONFLICT (account_id) DO UPDATE SET until = excluded.until, "
                                    "reason = excluded.reason, set_at = excluded.set_at",
                                    (account_id, until.isoformat(), reason, self.now().isoformat(timespec="seconds")))
            self._event(None, account_id, "hold", f"until {until.isoformat()}: {reason}")

    def release(self, account_id: str) -> bool:
        with self.transaction():
            cursor = self.connection.execute("DELETE FROM holds WHERE account_id = ?", (account_id,))
            if cursor.rowcount:
                self._event(None, account_id, "released", "")
        return bool(cursor.rowcount)


def open_ledger(workspace: Path, now: Callable[[], datetime], read_only: bool = False) -> Ledger:
    return Ledger(workspace / LEDGER_FILE, now, read_only)


def _no_clock() -> datetime:
    raise AssertionError("a read-only ledger records no events")


def read_ledger(workspace: Path) -> Ledger:
    """The ledger for reading only; it needs no clock, and an absent ledger reads as empty."""
    return Ledger(workspace / LEDGER_FILE, _no_clock, read_only=True)
