"""The ledger: SQLite in the workspace, the record that proves what was sent, to whom, when and how.

Every write is a transaction. Reference numbers are gapless per kind and year: a number is
reserved for a letter before it is rendered (the PDF prints it), and a reserved letter is
completed on the next run if a batch dies, so no number is lost and none is used twice.
"""

from __future__ import annotations

import errno
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
from letterforge.permissions import create_private_file
from letterforge.records import LetterKind, LetterStatus, SendStatus

LEDGER_FILE = "ledger.sqlite"
BUSY_TIMEOUT = 30.0  # seconds to wait for another letterforge command that is writing the ledger
STATUSES = tuple(LetterStatus)
SENT = tuple(status for status in LetterStatus if status.sent)

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
CREATE TABLE IF NOT EXISTS days (
    day TEXT PRIMARY KEY,
    out TEXT NOT NULL,
    started_at TEXT NOT NULL,
    completed_at TEXT
);
CREATE TABLE IF NOT EXISTS sends (
    id INTEGER PRIMARY KEY,
    letter_id INTEGER NOT NULL REFERENCES letters (id),
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    copy INTEGER NOT NULL DEFAULT 0,
    by_post_too INTEGER NOT NULL DEFAULT 0,
    sha256 TEXT NOT NULL,
    file TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS sends_letter ON sends (letter_id, channel);
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
    status: LetterStatus
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
class BatchDay:
    """A day the batch ran: where its files went, and whether it finished."""

    day: date
    out: str
    started_at: str
    completed_at: str | None


@dataclass(frozen=True)
class RebuiltLetter:
    """A letter as the day folders and the archive show it, for `ledger rebuild`."""

    account_id: str
    kind: LetterKind
    status: LetterStatus
    day: date
    reference: str
    year: int
    number: int
    group: str = ""
    issued_on: date | None = None
    deadline: date | None = None
    principal: Decimal | None = None
    late_fees: Decimal | None = None
    total: Decimal | None = None
    clauses: tuple[str, ...] = ()
    pdf_sha256: str | None = None
    pdf_file: str | None = None
    snapshot: str | None = None  # the letter's JSON (model.snapshot_of)
    note: str = ""


# A send's life: records.SendStatus. Each change of it is an event of the ledger, named here.
SEND_EVENTS = {SendStatus.SENDING: "sending", SendStatus.SENT: "sent", SendStatus.DEFERRED: "send_deferred",
               SendStatus.FAILED: "send_failed", SendStatus.UNKNOWN: "send_unknown", SendStatus.RETURNED: "returned"}
# What asking the provider can end in (Ledger.finish_send).
SEND_OUTCOMES = (SendStatus.SENT, SendStatus.DEFERRED, SendStatus.FAILED, SendStatus.UNKNOWN)


@dataclass(frozen=True)
class Send:
    """One message that carries a letter (an e-mail, an SMS): the evidence of what went where, when."""

    reference: str
    account_id: str
    channel: str
    address: str
    message_id: str
    status: SendStatus
    copy: bool  # a courtesy copy of a letter whose delivery in law is by post
    by_post_too: bool  # the letter also went by post
    sha256: str  # of the exact bytes handed to the provider (the .eml, the SMS text in UTF-8)
    file: str  # where those bytes are archived, relative to the workspace
    answer: str  # the provider's last answer (SMTP reply with queue id, gateway message id)
    attempts: int
    started_at: str
    finished_at: str | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _send(row: sqlite3.Row) -> Send:
    return Send(row["reference"], row["account_id"], row["channel"], row["address"], row["message_id"],
                SendStatus(row["status"]), bool(row["copy"]), bool(row["by_post_too"]), row["sha256"], row["file"],
                row["answer"], row["attempts"], row["started_at"], row["finished_at"])


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
        id=row["id"], account_id=row["account_id"], kind=LetterKind(row["kind"]), status=LetterStatus(row["status"]),
        planned_on=date.fromisoformat(row["planned_on"]), group=row["group_name"], reference=row["reference"],
        reserved_on=_day(row["reserved_on"]), issued_on=_day(row["issued_on"]), deadline=_day(row["deadline"]), principal=_amount(row["principal"]),
        late_fees=_amount(row["late_fees"]), total=_amount(row["total"]),
        clauses=tuple(json.loads(row["clauses"])) if row["clauses"] else (), pdf_sha256=row["pdf_sha256"],
        pdf_file=row["pdf_file"], delivery_method=row["delivery_method"], tracking_number=row["tracking_number"],
        delivered_on=_day(row["delivered_on"]),
    )


class LedgerError(UserError):
    """The ledger file cannot be used as it is: named, with what to do (exit 1, not a bug)."""

    def __init__(self, message: str, damaged: bool = False) -> None:
        super().__init__(message)
        self.damaged = damaged  # not a database, or a damaged one: `ledger rebuild` can replace it


def ledger_problem(path: Path, error: sqlite3.Error | OSError) -> LedgerError:
    """What an SQLite or file-system error on the ledger means for the user, and what to do."""
    text = str(error).lower()
    code = getattr(error, "errno", None)
    if "locked" in text or "busy" in text:
        advice = "another program holds it locked; try again when it has finished"
    elif "full" in text or code == errno.ENOSPC:
        advice = "the disk is full; free space, then run the command again (a batch completes its day on the rerun)"
    elif "readonly" in text or "read-only" in text or code in (errno.EACCES, errno.EPERM, errno.EROFS) \
            or "unable to open" in text:
        advice = "it cannot be written (a read-only file or folder); give letterforge write access to it and its folder"
    elif "not a database" in text or "malformed" in text or "corrupt" in text or isinstance(error, sqlite3.DatabaseError):
        return LedgerError(f"{path}: {error}: it is damaged or not a letterforge ledger; run `letterforge ledger "
                           "rebuild`, which moves it aside and reconstructs the ledger from the day folders and "
                           "the archive", damaged=True)
    else:
        advice = "check the file and its folder"
    return LedgerError(f"{path}: {error}: {advice}")


@contextmanager
def _translated(path: Path) -> Iterator[None]:
    try:
        yield
    except (sqlite3.Error, OSError) as error:
        raise ledger_problem(path, error) from error


class Ledger:
    """One workspace's ledger. `now` gives event timestamps: the CLI passes the clock in."""

    def __init__(self, path: Path, now: Callable[[], datetime], read_only: bool = False) -> None:
        self.path = path
        self.now = now
        with _translated(path):
            if read_only:
                self.connection = _open_for_reading(path)
            else:
                create_private_file(path)  # sqlite would create it world-readable; its -wal and -shm copy its mode
                self.connection = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT)
                self.connection.execute("PRAGMA journal_mode=WAL")
                self.connection.execute("PRAGMA synchronous=FULL")
            self.connection.row_factory = sqlite3.Row
            self.connection.execute("PRAGMA foreign_keys=ON")
            if not read_only or not path.exists():
                self.connection.executescript(_SCHEMA)
            else:
                self.connection.execute("SELECT count(*) FROM letters").fetchone()

    def close(self) -> None:
        self.connection.close()

    def _rows(self, query: str, values: tuple[Any, ...] | list[Any] = ()) -> list[sqlite3.Row]:
        with _translated(self.path):
            return self.connection.execute(query, values).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with _translated(self.path):
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield self.connection
            except BaseException:
                if self.connection.in_transaction:
                    self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")

    def _event(self, letter_id: int | None, account_id: str, event: str, detail: str = "", at: str = "") -> None:
        self.connection.execute("INSERT INTO events (letter_id, account_id, at, event, detail) VALUES (?, ?, ?, ?, ?)",
                                (letter_id, account_id, at or self.now().isoformat(timespec="seconds"), event, detail))

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
        return [_letter(row) for row in self._rows(query, values)]

    def letter(self, reference: str) -> LedgerLetter:
        rows = self._rows("SELECT * FROM letters WHERE reference = ?", (reference,))
        if not rows:
            raise UserError(f"no letter with reference {reference} in the ledger")
        return _letter(rows[0])

    def snapshot(self, reference: str) -> str:
        """The JSON the ledger keeps of an issued letter (model.snapshot_of; before the letter model,
        the letter's inputs), as it was written."""
        rows = self._rows("SELECT snapshot FROM letters WHERE reference = ?", (reference,))
        if not rows or not rows[0]["snapshot"]:
            raise UserError(f"the ledger keeps no snapshot of {reference}")
        return str(rows[0]["snapshot"])

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
        return [Event(*row) for row in self._rows(query, values)]

    def holds(self) -> dict[str, Hold]:
        return {row["account_id"]: Hold(row["account_id"], date.fromisoformat(row["until"]), row["reason"])
                for row in self._rows("SELECT * FROM holds")}

    def integrity_problems(self) -> list[str]:
        """What SQLite's own integrity check finds wrong with the file (nothing, for a sound one)."""
        problems = [row[0] for row in self._rows("PRAGMA integrity_check")]
        return [] if problems == ["ok"] else problems

    # -- the days the batch ran: a day is issued once, and days in order
    def days(self) -> list[BatchDay]:
        return [BatchDay(date.fromisoformat(row["day"]), row["out"], row["started_at"], row["completed_at"])
                for row in self._rows("SELECT * FROM days ORDER BY day")]

    def begin_day(self, day: date, out: str) -> None:
        with self.transaction():
            self.connection.execute("INSERT INTO days (day, out, started_at) VALUES (?, ?, ?) ON CONFLICT (day) DO NOTHING",
                                    (day.isoformat(), out, self.now().isoformat(timespec="seconds")))

    def complete_day(self, day: date) -> None:
        with self.transaction():
            self.connection.execute("UPDATE days SET completed_at = ? WHERE day = ? AND completed_at IS NULL",
                                    (self.now().isoformat(timespec="seconds"), day.isoformat()))

    # -- the reference series
    def numbers(self) -> dict[tuple[LetterKind, int], dict[int, str]]:
        """Every reference number the ledger gave, by kind and year."""
        series: dict[tuple[LetterKind, int], dict[int, str]] = {}
        for row in self._rows("SELECT kind, year, number, reference FROM letters WHERE number IS NOT NULL"):
            series.setdefault((LetterKind(row["kind"]), row["year"]), {})[row["number"]] = row["reference"]
        return series

    def counters(self) -> dict[tuple[LetterKind, int], int]:
        return {(LetterKind(row["kind"]), row["year"]): row["last_number"]
                for row in self._rows("SELECT * FROM counters")}

    def series_problems(self, used_elsewhere: dict[tuple[LetterKind, int], set[int]] | None = None) -> list[str]:
        """Holes in each series and counters out of step with it (cheap: the batch checks it before
        it issues anything). Numbers in `used_elsewhere` (history file, day-folder manifests) fill holes."""
        problems = []
        counters = self.counters()
        series = self.numbers()
        for key in sorted(set(series) | set(counters)):
            kind, year = key
            numbers = series.get(key, {})
            taken = set(numbers) | (used_elsewhere or {}).get(key, set())
            last = counters.get(key, 0)
            if numbers:
                holes = [n for n in range(min(numbers), max(numbers) + 1) if n not in taken]
                if holes:
                    shown = ", ".join(str(n) for n in holes[:10]) + (" …" if len(holes) > 10 else "")
                    problems.append(f"{kind.value} {year}: numbers missing from the series: {shown}")
            top = max(numbers, default=0)
            if last < top:
                problems.append(f"{kind.value} {year}: the counter stands at {last} but the ledger holds number {top}")
            elif last > top and last not in taken:
                problems.append(f"{kind.value} {year}: the counter stands at {last} but no letter in the ledger "
                                f"carries a number above {top}")
        return problems

    def add_rebuilt(self, letters: list[RebuiltLetter], reason: str) -> None:
        """Letters recovered from the day folders and the archive (`ledger rebuild`), in one transaction;
        the counters move up to the highest number seen."""
        with self.transaction():
            for letter in letters:
                cursor = self.connection.execute(
                    "INSERT INTO letters (account_id, kind, status, planned_on, group_name, reference, reserved_on, year, "
                    "number, issued_on, deadline, principal, late_fees, total, clauses, pdf_sha256, pdf_file, snapshot) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (letter.account_id, letter.kind.value, letter.status, letter.day.isoformat(), letter.group,
                     letter.reference, letter.day.isoformat(), letter.year, letter.number, _iso(letter.issued_on),
                     _iso(letter.deadline), _text(letter.principal), _text(letter.late_fees), _text(letter.total),
                     json.dumps(list(letter.clauses)), letter.pdf_sha256, letter.pdf_file,
                     letter.snapshot or None))
                self._event(cursor.lastrowid, letter.account_id, "rebuilt", f"{letter.reference}: {reason}"
                            + (f"; {letter.note}" if letter.note else ""))
                self.connection.execute(
                    "INSERT INTO counters (kind, year, last_number) VALUES (?, ?, ?) ON CONFLICT (kind, year) "
                    "DO UPDATE SET last_number = max(last_number, excluded.last_number)",
                    (letter.kind.value, letter.year, letter.number))

    # -- the plan
    def add_planned(self, letters: list[tuple[str, LetterKind, date, str]]) -> list[LedgerLetter]:
        """Record newly planned letters (account, kind, day, group)."""
        ids: list[int] = []
        with self.transaction():
            for account_id, kind, day, group in letters:
                cursor = self.connection.execute(
                    "INSERT INTO letters (account_id, kind, status, planned_on, group_name) VALUES (?, ?, ?, ?, ?)",
                    (account_id, kind.value, LetterStatus.PLANNED, day.isoformat(), group))
                ids.append(int(cursor.lastrowid or 0))
                self._event(cursor.lastrowid, account_id, "planned", f"{kind.value} planned for {day.isoformat()}")
        by_id = {letter.id: letter for letter in self.letters(status=LetterStatus.PLANNED)}
        return [by_id[i] for i in ids]

    def note(self, letter: LedgerLetter, event: str, detail: str) -> None:
        """An event about a letter that changes nothing else (e.g. a clerk's reason for forcing it)."""
        with self.transaction():
            self._event(letter.id, letter.account_id, event, detail)

    def move_planned(self, moves: list[tuple[LedgerLetter, date]]) -> None:
        """Give letters whose day passed without a batch, or found no room left, their new day."""
        with self.transaction():
            for letter, day in moves:
                self.connection.execute("UPDATE letters SET planned_on = ? WHERE id = ? AND status = ?",
                                        (day.isoformat(), letter.id, LetterStatus.PLANNED))
                self._event(letter.id, letter.account_id, "replanned",
                            f"from {letter.planned_on.isoformat()} to {day.isoformat()}: placed again under the caps "
                            "(its day passed without a batch, or letters left by a stopped run took its room)")

    def cancel(self, letter: LedgerLetter, reason: str) -> None:
        """A letter that will not go out. A reserved one keeps its number, void, with the reason:
        the series stays without holes."""
        with self.transaction():
            self.connection.execute("UPDATE letters SET status = ? WHERE id = ? AND status IN (?, ?)",
                                    (LetterStatus.CANCELLED, letter.id, LetterStatus.PLANNED, LetterStatus.RESERVED))
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
                    "UPDATE letters SET status = ?, reference = ?, reserved_on = ?, year = ?, number = ? "
                    "WHERE id = ?", (LetterStatus.RESERVED, reference, on.isoformat(), year, number, letter.id))
                self._event(letter.id, letter.account_id, "reserved", reference)
        ids = [letter.id for letter in letters]
        return [letter for letter in self.letters(status=LetterStatus.RESERVED) if letter.id in ids]

    def mark_issued(self, letter: LedgerLetter, issued_on: date, deadline: date, principal: Decimal,
                    late_fees: Decimal, total: Decimal, clauses: list[str], sha256: str, pdf_file: str,
                    snapshot: str) -> None:
        with self.transaction():
            self.connection.execute(
                "UPDATE letters SET status = ?, issued_on = ?, deadline = ?, principal = ?, late_fees = ?, "
                "total = ?, clauses = ?, pdf_sha256 = ?, pdf_file = ?, snapshot = ? WHERE id = ? AND status = ?",
                (LetterStatus.ISSUED, issued_on.isoformat(), deadline.isoformat(), str(principal), str(late_fees), str(total),
                 json.dumps(clauses), sha256, pdf_file, snapshot, letter.id, LetterStatus.RESERVED))
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
            self.connection.execute("UPDATE letters SET status = ?, delivery_method = ?, tracking_number = ?, "
                                    "delivered_on = ? WHERE id = ?",
                                    (LetterStatus.DELIVERED, method, tracking, on.isoformat(), letter.id))
            self._event(letter.id, letter.account_id, "delivered", f"{method} {tracking} on {on.isoformat()}".strip())
        return self.letter(reference)

    def returned(self, reference: str, reason: str, on: date) -> LedgerLetter:
        letter = self.letter(reference)
        if letter.status not in SENT:
            raise UserError(f"{reference} is {letter.status}: only an issued letter can come back")
        with self.transaction():
            self.connection.execute("UPDATE letters SET status = ? WHERE id = ?", (LetterStatus.RETURNED, letter.id))
            self._event(letter.id, letter.account_id, "returned", f"{reason} on {on.isoformat()}")
        return self.letter(reference)

    # -- sends: every message that carries a letter, each change an event whose detail is JSON
    def sends(self, reference: str | None = None, channel: str | None = None,
              status: SendStatus | None = None) -> list[Send]:
        query = ("SELECT sends.*, letters.reference, letters.account_id FROM sends "
                 "JOIN letters ON letters.id = sends.letter_id WHERE 1=1")
        values: list[Any] = []
        for column, value in (("letters.reference", reference), ("sends.channel", channel), ("sends.status", status)):
            if value:
                query += f" AND {column} = ?"
                values.append(value)
        return [_send(row) for row in self._rows(query + " ORDER BY sends.id", values)]

    def send_by_message_id(self, message_id: str) -> Send | None:
        rows = self._rows("SELECT sends.*, letters.reference, letters.account_id FROM sends "
                          "JOIN letters ON letters.id = sends.letter_id WHERE sends.message_id = ?", (message_id,))
        return _send(rows[0]) if rows else None

    def _send_event(self, letter_id: int, account_id: str, event: str, send: dict[str, Any], at: str = "") -> None:
        self._event(letter_id, account_id, event, json.dumps(send, ensure_ascii=False, sort_keys=True), at)

    def begin_send(self, reference: str, channel: str, address: str, message_id: str, sha256: str, file: str,
                   copy: bool = False, by_post_too: bool = False, at: datetime | None = None) -> Send:
        """Record a message as "sending" BEFORE the provider is asked: a crash after it leaves a trace
        that stops a blind resend. One message id is one message: recording it again is an error.
        `at`: the time the message itself states (its Date), by default the ledger's clock now."""
        letter = self.letter(reference)
        if letter.status not in SENT:
            raise UserError(f"{reference} is {letter.status}: only an issued letter can be sent")
        at_text = (at or self.now()).isoformat(timespec="seconds")
        with self.transaction():
            if self.connection.execute("SELECT 1 FROM sends WHERE message_id = ?", (message_id,)).fetchone():
                raise UserError(f"{reference}: message {message_id} is already in the ledger")
            self.connection.execute(
                "INSERT INTO sends (letter_id, channel, address, message_id, status, copy, by_post_too, sha256, file, "
                "started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (letter.id, channel, address, message_id, SendStatus.SENDING, int(copy), int(by_post_too), sha256, file, at_text))
            self._send_event(letter.id, letter.account_id, "sending",
                             {"channel": channel, "address": address, "message_id": message_id, "sha256": sha256,
                              "file": file, "copy": copy}, at_text)
        send = self.send_by_message_id(message_id)
        assert send is not None
        return send

    def resend(self, message_id: str, reason: str) -> Send:
        """Put a message back to "sending" for an explicit `--resend`: the same id and bytes go again."""
        send = self._existing_send(message_id)
        letter = self.letter(send.reference)
        with self.transaction():
            self.connection.execute("UPDATE sends SET status = ?, finished_at = NULL WHERE message_id = ?",
                                    (SendStatus.SENDING, message_id))
            self._send_event(letter.id, letter.account_id, "resending",
                             {"channel": send.channel, "address": send.address, "message_id": message_id,
                              "sha256": send.sha256, "previous_status": send.status, "reason": reason})
        return self._existing_send(message_id)

    def _existing_send(self, message_id: str) -> Send:
        send = self.send_by_message_id(message_id)
        if send is None:
            raise UserError(f"no message {message_id} in the ledger")
        return send

    def send_attempt(self, message_id: str, answer: str) -> None:
        """A temporary refusal that will be tried again in this run: counted, with the answer."""
        send = self._existing_send(message_id)
        letter = self.letter(send.reference)
        with self.transaction():
            self.connection.execute("UPDATE sends SET attempts = attempts + 1, answer = ? WHERE message_id = ?",
                                    (answer, message_id))
            self._send_event(letter.id, letter.account_id, "send_retry",
                             {"channel": send.channel, "message_id": message_id, "answer": answer})

    def finish_send(self, message_id: str, status: SendStatus, answer: str) -> Send:
        """The outcome of asking the provider: sent, deferred, failed or unknown, with its answer."""
        if status not in SEND_OUTCOMES:
            raise ValueError(f"not an outcome of a send: {status!r}")
        send = self._existing_send(message_id)
        letter = self.letter(send.reference)
        with self.transaction():
            self.connection.execute(
                "UPDATE sends SET status = ?, answer = ?, attempts = attempts + 1, finished_at = ? WHERE message_id = ?",
                (SendStatus(status), answer, self.now().isoformat(timespec="seconds"), message_id))
            self._send_event(letter.id, letter.account_id, SEND_EVENTS[SendStatus(status)],
                             {"channel": send.channel, "address": send.address, "message_id": message_id,
                              "sha256": send.sha256, "answer": answer})
        return self._existing_send(message_id)

    def send_returned(self, message_id: str, reason: str, on: date, report_sha256: str = "") -> Send:
        """A bounce (delivery status notification) or a provider's failure report for a message. A
        letter that went by no other channel is then returned, as `ledger return` records it for post."""
        send = self._existing_send(message_id)
        letter = self.letter(send.reference)
        others = [s for s in self.sends(send.reference) if s.message_id != message_id
                  and s.status in (SendStatus.SENT, SendStatus.UNKNOWN) and not s.copy]
        with self.transaction():
            self.connection.execute("UPDATE sends SET status = ?, finished_at = COALESCE(finished_at, ?) "
                                    "WHERE message_id = ?",
                                    (SendStatus.RETURNED, self.now().isoformat(timespec="seconds"), message_id))
            if not send.by_post_too and not send.copy and not others and letter.status in SENT:
                self.connection.execute("UPDATE letters SET status = ? WHERE id = ?", (LetterStatus.RETURNED, letter.id))
            self._send_event(letter.id, letter.account_id, "returned",
                             {"channel": send.channel, "address": send.address, "message_id": message_id,
                              "reason": reason, "on": on.isoformat(), "report_sha256": report_sha256})
        return self._existing_send(message_id)

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


def _open_for_reading(path: Path) -> sqlite3.Connection:
    """Reading must not create or change anything: an absent ledger reads as an empty one, and a
    ledger in a read-only folder (where SQLite cannot make its shared-memory file) is read as is."""
    if not path.exists():
        return sqlite3.connect("file::memory:", uri=True, isolation_level=None)
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, timeout=BUSY_TIMEOUT)
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return connection
    except sqlite3.OperationalError:
        connection.close()
        return sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, isolation_level=None)


def open_ledger(workspace: Path, now: Callable[[], datetime], read_only: bool = False) -> Ledger:
    return Ledger(workspace / LEDGER_FILE, now, read_only)


def _no_clock() -> datetime:
    raise AssertionError("a read-only ledger records no events")


def read_ledger(workspace: Path) -> Ledger:
    """The ledger for reading only; it needs no clock, and an absent ledger reads as empty."""
    return Ledger(workspace / LEDGER_FILE, _no_clock, read_only=True)
