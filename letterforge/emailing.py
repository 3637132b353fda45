"""E-mail delivery: one message per letter, the archived letter attached byte for byte, sent over
SMTP and recorded in the ledger before the server is asked and after it answered.

A rerun never sends a letter twice: a message the ledger holds as "sent", "failed" or "returned"
is not sent again, and one left "sending" (the run stopped while the server had it) becomes
"unknown": it is resent only with `letterforge send --resend REF`, after checking the mail server's
log for its Message-ID. A temporary refusal (4xx) is tried again with backoff, then on the next run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from letterforge.archive import (archive_path, archived_file, issued_account, redraft_letter, reprint, sha256_of,
                                 stored_path)
from letterforge.clauses import MESSAGE_SLOTS, ClauseLibrary, load_clause_library, render_clause, select_clauses
from letterforge.config import EmailSettings
from letterforge.delivery import EMAIL, POST, Route, outgoing_letter, route_letter
from letterforge.diagnostics import UserError
from letterforge.drafts import letter_facts
from letterforge.ledger import SENT, Ledger, LedgerError, LedgerLetter, Send
from letterforge.letters import clause_folders
from letterforge.permissions import write_atomic
from letterforge.records import LetterKind, SendStatus
from letterforge.workspace import Workspace

log = logging.getLogger(__name__)

MIME_TYPES = {".pdf": ("application", "pdf"),
              ".docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")}


class SendRefused(Exception):
    """The server refused the message: it was certainly not accepted."""

    def __init__(self, answer: str, permanent: bool) -> None:
        super().__init__(answer)
        self.answer = answer
        self.permanent = permanent


class SendUncertain(Exception):
    """The connection broke after the message was handed over: it may have been accepted."""

    def __init__(self, answer: str) -> None:
        super().__init__(answer)
        self.answer = answer


class ServerUnreachable(Exception):
    """No conversation with the server at all (refused connection, TLS or login failure)."""


class NotSendable(Exception):
    """This letter's message cannot be made (its archived PDF missing or altered, its e-mail clauses
    gone): the letter's own failure, recorded against it; the other letters still go."""


def _answer(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(text.split())}".strip()


class SmtpTransport:
    """One SMTP connection for a run, opened on the first message: STARTTLS or implicit TLS, and a
    login with the credentials from the environment variables the settings name."""

    def __init__(self, settings: EmailSettings, environ: Mapping[str, str] | None = None,
                 tls_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self._environ = environ
        self._login: tuple[str, str] | None = None
        self._checked = False
        self._tls_context = tls_context
        self._connection: smtplib.SMTP | None = None

    def check_credentials(self) -> None:
        """Read the credential variables: only once there is a message to send (a day with nothing to
        send needs none of them). A missing one is an error naming it (never its value)."""
        if self._checked:
            return
        settings = self.settings
        environ = os.environ if self._environ is None else self._environ
        if settings.username_env:
            missing = [name for name in (settings.username_env, settings.password_env) if not environ.get(name)]
            if missing:
                raise UserError(f"the environment variable(s) {', '.join(missing)} named in [delivery.email] "
                                "(username_env, password_env) are not set: set them where letterforge runs")
            self._login = (environ[settings.username_env], environ[settings.password_env])
        self._checked = True

    @property
    def tls_context(self) -> ssl.SSLContext:
        if self._tls_context is None:
            self._tls_context = ssl.create_default_context()
        return self._tls_context

    def _connect(self) -> smtplib.SMTP:
        if self._connection is not None:
            return self._connection
        self.check_credentials()
        settings = self.settings
        try:
            if settings.security == "tls":
                connection: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_seconds,
                                                            context=self.tls_context)
            else:
                connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
            connection.ehlo()
            if settings.security == "starttls":
                connection.starttls(context=self.tls_context)
                connection.ehlo()
            if self._login is not None:
                connection.login(*self._login)
        except smtplib.SMTPAuthenticationError as error:
            # The server's answer only: the user name and password are never repeated.
            raise UserError(f"the SMTP server {settings.host} refused the login ({_answer(error.smtp_code, error.smtp_error)}): "
                            f"check the variables {settings.username_env} and {settings.password_env}") from None
        except smtplib.SMTPNotSupportedError as error:
            raise UserError(f"the SMTP server {settings.host}:{settings.port} does not offer what the settings ask "
                            f"(security = {settings.security!r}, login): {error}") from None
        except (OSError, smtplib.SMTPException) as error:
            raise ServerUnreachable(f"cannot talk to the SMTP server {settings.host}:{settings.port} "
                                    f"({type(error).__name__}: {error})") from None
        self._connection = connection
        return connection

    def send(self, sender: str, recipient: str, message: bytes, envelope_id: str = "") -> str:
        """Hand one message over; return the server's answer to it (with its queue id). When the
        server offers DSN (RFC 3461) and `envelope_id` names the letter's message, delivery status
        notifications are asked for on success and failure, with the headers returned, the
        envelope id and the original recipient: a "delivered" report is evidence of arrival."""
        connection = self._connect()
        mail_options: list[str] = []
        rcpt_options: list[str] = []
        if envelope_id and connection.has_extn("dsn"):
            # ENVID is at most 100 characters (RFC 3461 4.4): a longer one (a long sender domain) is left
            # out, and a report is then matched by the Message-ID of the headers it returns.
            envid = xtext(envelope_id)
            mail_options = ["RET=HDRS"] + ([f"ENVID={envid}"] if len(envid) <= MAX_ENVID else [])
            rcpt_options = ["NOTIFY=SUCCESS,FAILURE", f"ORCPT=rfc822;{xtext(recipient)}"]
        try:
            for step in (lambda: connection.mail(sender, mail_options), lambda: connection.rcpt(recipient, rcpt_options)):
                code, text = step()
                if code not in (250, 251):
                    connection.rset()
                    raise SendRefused(_answer(code, text), permanent=500 <= code < 600)
        except smtplib.SMTPServerDisconnected as error:
            self._connection = None
            raise SendRefused(f"disconnected before the message was handed over ({error})", permanent=False) from None
        except (OSError, smtplib.SMTPException) as error:
            if isinstance(error, SendRefused):
                raise
            self.close()
            raise SendRefused(f"{type(error).__name__}: {error}", permanent=False) from None
        try:
            code, text = connection.data(message)
        except smtplib.SMTPDataError as error:
            raise SendRefused(_answer(error.smtp_code, error.smtp_error), permanent=500 <= error.smtp_code < 600) from None
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise SendUncertain(f"no answer after the message was handed over ({type(error).__name__}: {error})") from None
        # smtplib returns the answer to the message itself without checking it: a 4xx or 5xx here
        # is a refusal like any other.
        if 400 <= code < 600:
            raise SendRefused(_answer(code, text), permanent=code >= 500)
        if code != 250:
            raise SendUncertain(f"an answer that is neither acceptance nor refusal: {_answer(code, text)}")
        return _answer(code, text)

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.quit()
            except (OSError, smtplib.SMTPException):
                self._connection.close()
            self._connection = None


MAX_ENVID = 100


def xtext(text: str) -> str:
    """RFC 3461's xtext: printable ASCII as is, except "+" and "=", which (like anything else) go as +XX."""
    return "".join(ch if 33 <= ord(ch) <= 126 and ch not in "+=" else "".join(f"+{b:02X}" for b in ch.encode())
                   for ch in text)


def envelope_id(message_id_text: str) -> str:
    """The DSN envelope id (ENVID) of a letter's message: its Message-ID without the brackets, so
    that a report which returns no headers still names the letter."""
    return message_id_text.strip().strip("<>")


@dataclass(frozen=True)
class EmailText:
    subject: str
    body: str
    clauses: tuple[str, ...]  # id@version of the clauses they came from


def email_text(workspace: Workspace, ledger: Ledger, letter: LedgerLetter) -> EmailText:
    """The subject and body of the e-mail that carries a letter: its approved email_subject and
    email_body clauses, filled on the letter's data as issued."""
    factory, draft = redraft_letter(workspace, ledger, letter)
    config = factory.workspace.config
    clauses = select_clauses(factory.library, draft.kind, draft.locale, config.creditor.type,
                             draft.letter.debtor.category.value, draft.issued_on,
                             facts=letter_facts(draft.letter), slots=MESSAGE_SLOTS[EMAIL])
    texts = {}
    for clause in clauses:
        paragraphs = render_clause(factory.renderer.clause_environment, clause, draft.context)
        texts[clause.slot] = ["".join(text for text, _ in paragraph).strip() for paragraph in paragraphs]
    subject = " ".join(" ".join(texts["email_subject"]).split())
    body = "\n\n".join(p for p in texts["email_body"] if p) + "\n"
    return EmailText(subject, body, tuple(c.label for c in clauses))


def message_id(reference: str, generation: int, sender: str) -> str:
    """A Message-ID that names the letter, the same on every rerun: <DEM-2026-0001.e1.3f9a…@example.cn>."""
    readable = re.sub(r"[^A-Za-z0-9]+", "-", reference).strip("-")[:40] or "letter"
    digest = hashlib.sha256(reference.encode("utf-8")).hexdigest()[:12]
    domain = sender.rpartition("@")[2] or "letterforge.invalid"
    return f"<{readable}.e{generation}.{digest}@{domain}>"


def _mailbox(name: str, address: str) -> Address | str:
    return Address(name, addr_spec=address) if name else address


def build_email(settings: EmailSettings, recipient: str, text: EmailText, attachment: bytes, file_name: str,
                message_id_text: str, sent_at: datetime, copy: bool = False, lawyer: bool = False) -> bytes:
    """The message as bytes, the same for the same inputs (the MIME boundary comes from the Message-ID).
    `lawyer`: a lawyer's letter, From the law firm when the settings give its address (the
    configured sender, who transmits it, is then its Sender)."""
    message = EmailMessage(policy=SMTP)
    message["Message-ID"] = message_id_text
    message["Date"] = format_datetime(sent_at)
    if lawyer and settings.law_firm_sender:
        message["From"] = _mailbox(settings.law_firm_sender_name, settings.law_firm_sender)
        message["Sender"] = _mailbox(settings.sender_name, settings.sender)
    else:
        message["From"] = _mailbox(settings.sender_name, settings.sender)
    message["To"] = recipient
    if settings.reply_to:
        message["Reply-To"] = settings.reply_to
    message["Subject"] = text.subject
    if copy:
        message["X-Letterforge-Copy"] = "yes; the letter is delivered by post"
    message.set_content(text.body, charset="utf-8", cte="base64")
    maintype, subtype = MIME_TYPES.get(Path(file_name).suffix.lower(), ("application", "octet-stream"))
    message.add_attachment(attachment, maintype=maintype, subtype=subtype, filename=file_name)
    message.set_boundary("=_letterforge_" + hashlib.sha256(message_id_text.encode()).hexdigest()[:24])
    return message.as_bytes(policy=SMTP)


@dataclass
class SendOutcome:
    reference: str
    account_id: str
    status: str  # a SendStatus (sent, deferred, failed, unknown), or skipped, withheld
    detail: str
    message_id: str = ""


@dataclass
class SendReport:
    day: date
    outcomes: list[SendOutcome] = field(default_factory=list)
    stopped: str = ""  # why the run stopped early (server unreachable)
    nothing: str = "nothing to send"  # what the summary says when there is no outcome

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def exit_code(self) -> int:
        """0 when every e-mail due went (or had gone) out; 1 when one needs a look."""
        trouble = (SendStatus.DEFERRED, SendStatus.FAILED, SendStatus.UNKNOWN)
        return 1 if self.stopped or any(o.status in trouble for o in self.outcomes) else 0


class Pacer:
    """At most `per_minute` messages a minute: waits between messages as needed."""

    def __init__(self, per_minute: int, sleep: Callable[[float], None], clock: Callable[[], float]) -> None:
        self.interval = 60.0 / per_minute
        self.sleep, self.clock = sleep, clock
        self.last: float | None = None

    def wait(self) -> None:
        if self.last is not None:
            pause = self.last + self.interval - self.clock()
            if pause > 0:
                self.sleep(pause)
        self.last = self.clock()


@dataclass
class _Sender:
    workspace: Workspace
    ledger: Ledger
    settings: EmailSettings
    transport: Any
    sleep: Callable[[float], None]
    pacer: Pacer
    library: Any

    def transmit(self, send: Send, content: bytes) -> SendOutcome:
        """Hand the recorded message over, with retries on temporary refusals; record the outcome."""
        outcome = SendOutcome(send.reference, send.account_id, "", "", send.message_id)
        for attempt in range(self.settings.retries + 1):
            self.pacer.wait()
            try:
                answer = self.transport.send(self.settings.sender, send.address, content,
                                             envelope_id=envelope_id(send.message_id))
            except SendRefused as refused:
                if refused.permanent:
                    self.ledger.finish_send(send.message_id, SendStatus.FAILED, refused.answer)
                    outcome.status, outcome.detail = SendStatus.FAILED, refused.answer
                    return outcome
                if attempt < self.settings.retries:
                    self.ledger.send_attempt(send.message_id, refused.answer)
                    self.sleep(self.settings.backoff_seconds * 2 ** attempt)
                    continue
                self.ledger.finish_send(send.message_id, SendStatus.DEFERRED, refused.answer)
                outcome.status, outcome.detail = SendStatus.DEFERRED, refused.answer
                return outcome
            except SendUncertain as uncertain:
                self.ledger.finish_send(send.message_id, SendStatus.UNKNOWN, uncertain.answer)
                outcome.status, outcome.detail = SendStatus.UNKNOWN, uncertain.answer
                return outcome
            except ServerUnreachable as down:
                if attempt < self.settings.retries:
                    self.sleep(self.settings.backoff_seconds * 2 ** attempt)
                    continue
                self.ledger.finish_send(send.message_id, SendStatus.DEFERRED, str(down))
                raise
            except UserError as refused_login:  # the login was refused: nothing was handed over
                self.ledger.finish_send(send.message_id, SendStatus.DEFERRED, str(refused_login))
                raise
            self.ledger.finish_send(send.message_id, SendStatus.SENT, answer)
            outcome.status, outcome.detail = SendStatus.SENT, answer
            log.info("letter %s to account %s: e-mail accepted", send.reference, send.account_id)
            return outcome
        raise AssertionError("unreachable")

    def ready(self) -> None:
        """Before the first message of the run is recorded: the transport's credentials."""
        check = getattr(self.transport, "check_credentials", None)
        if check is not None:
            check()

    def new_message(self, letter: LedgerLetter, route: Route, by_post_too: bool, generation: int) -> tuple[Send, bytes]:
        reference = letter.reference or ""
        try:
            text = email_text(self.workspace, self.ledger, letter)
            # The archived bytes, checked against the ledger's SHA-256: a missing or altered file is never sent.
            issued = reprint(self.workspace, self.ledger, reference)
        except LedgerError:
            raise
        except UserError as problem:
            raise NotSendable(str(problem)) from None
        file_name = Path(letter.pdf_file or archived_file(self.workspace.path, letter).name).name
        identifier = message_id(reference, generation, self.settings.sender)
        at = self.ledger.now()  # the message's Date is the time the ledger records it as sending
        content = build_email(self.settings, route.address, text, issued.content, file_name, identifier,
                              at, copy=route.copy, lawyer=letter.kind is LetterKind.LAWYER)
        sha256 = sha256_of(content)
        path = archive_path(self.workspace.path, sha256, ".eml")
        write_atomic(path, content)
        if sha256_of(path.read_bytes()) != sha256:
            raise UserError(f"{path}: the archived e-mail does not read back as written; check the disk")
        send = self.ledger.begin_send(reference, EMAIL, route.address, identifier, sha256,
                                      stored_path(self.workspace.path, path), copy=route.copy, by_post_too=by_post_too,
                                      at=at)
        return send, content

    def archived_message(self, send: Send) -> bytes:
        path = self.workspace.path / send.file
        content = path.read_bytes() if path.is_file() else b""
        if sha256_of(content) != send.sha256:
            raise NotSendable(f"{send.reference}: the archived e-mail {send.file} is missing or altered "
                            f"(SHA-256 {send.sha256}); run `letterforge ledger check`")
        return content


def email_route(workspace: Workspace, ledger: Ledger, letter: LedgerLetter,
                library: ClauseLibrary) -> tuple[Route | None, bool, str]:
    """The letter's e-mail route, whether it also goes by post, and why there is no e-mail route."""
    reference = letter.reference or ""
    account = issued_account(ledger, reference)
    if account is None:
        return None, True, "the ledger keeps no snapshot of the letter's account"
    locale = account.language or workspace.config.locale
    outgoing = outgoing_letter(reference, letter.kind, locale, letter.clauses, library)
    routing = route_letter(outgoing, account, workspace.config)
    route = routing.route(EMAIL)
    # Empty when the settings do not choose e-mail for this letter at all.
    why = "; ".join(reason for channel, reason in routing.withheld if channel == EMAIL)
    return route, routing.route(POST) is not None, why


def send_emails(workspace: Workspace, ledger: Ledger, day: date, transport: Any | None = None,
                resend: tuple[str, ...] = (), environ: Mapping[str, str] | None = None,
                sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic) -> SendReport:
    """E-mail each letter issued on `day` whose routes include e-mail, once. `resend`: references
    whose last message is unknown, failed, deferred or returned, to send again on purpose."""
    settings = workspace.config.delivery.email
    if settings is None:
        raise UserError("no [delivery.email] settings in letterforge.toml: nothing can be e-mailed")
    report = SendReport(day)
    letters = [letter for letter in ledger.letters() if letter.status in SENT and letter.reference
               and (letter.issued_on == day or letter.reference in resend)]
    for reference in sorted(set(resend) - {letter.reference for letter in letters}):
        status = ledger.letter(reference).status  # an unknown reference is an error naming it
        raise UserError(f"{reference} is {status}: only an issued letter can be sent")
    library = load_clause_library(clause_folders(workspace))
    own_transport = transport is None
    transport = transport or SmtpTransport(settings, environ)
    sender = _Sender(workspace, ledger, settings, transport, sleep, Pacer(settings.rate_per_minute, sleep, clock),
                     library)
    try:
        for letter in letters:
            outcome = _send_one(sender, letter, letter.reference in resend)
            if outcome is not None:
                report.outcomes.append(outcome)
    except ServerUnreachable as down:
        report.stopped = f"{down}; the letters not yet sent go on the next run"
    finally:
        if own_transport:
            transport.close()
    return report


def _send_one(sender: _Sender, letter: LedgerLetter, resend: bool) -> SendOutcome | None:
    reference, ledger = letter.reference or "", sender.ledger
    previous = [s for s in ledger.sends(reference, channel=EMAIL)]
    last = previous[-1] if previous else None
    route, by_post_too, why = email_route(sender.workspace, ledger, letter, sender.library)
    if route is None:
        if resend:
            raise UserError(f"{reference}: not sent by e-mail: {why or 'the settings do not send it by e-mail'}")
        if last is not None:
            return SendOutcome(reference, letter.account_id, "skipped",
                               f"{last.status} earlier; now {why or 'the settings do not send it by e-mail'}",
                               last.message_id)
        # The settings chose e-mail for it, yet it may not go so: said, so that no one assumes it went.
        return SendOutcome(reference, letter.account_id, "withheld", why) if why else None
    if last is not None and not resend:
        if last.status == SendStatus.SENDING:
            # The run that recorded it stopped with the server holding the message: do not guess.
            ledger.finish_send(last.message_id, SendStatus.UNKNOWN, "no outcome recorded: the run stopped while sending")
            return SendOutcome(reference, letter.account_id, SendStatus.UNKNOWN, unknown_advice(last), last.message_id)
        if last.status == SendStatus.DEFERRED:
            try:
                content = sender.archived_message(last)
            except NotSendable as problem:
                return _not_sendable(ledger, letter, str(problem))
            sender.ready()
            ledger.resend(last.message_id, "tried again after a temporary refusal")
            return sender.transmit(ledger.send_by_message_id(last.message_id) or last, content)
        status = last.status if last.status in (SendStatus.UNKNOWN, SendStatus.FAILED) else "skipped"
        detail = unknown_advice(last) if last.status == SendStatus.UNKNOWN else f"already {last.status}: {last.answer}"
        return SendOutcome(reference, letter.account_id, status, detail, last.message_id)
    if last is not None and resend:
        if last.status == SendStatus.SENT:
            raise UserError(f"{reference}: its e-mail {last.message_id} was accepted ({last.answer}); "
                            "a letter is not e-mailed twice")
        if last.status in (SendStatus.SENDING, SendStatus.UNKNOWN, SendStatus.DEFERRED) and last.address == route.address:
            # The same message again, same Message-ID: a copy that did arrive is recognisably the same.
            try:
                content = sender.archived_message(last)
            except NotSendable as problem:
                return _not_sendable(ledger, letter, str(problem))
            sender.ready()
            send = ledger.resend(last.message_id, "--resend")
            return sender.transmit(send, content)
    sender.ready()
    try:
        send, content = sender.new_message(letter, route, by_post_too, generation=len(previous) + 1)
    except NotSendable as problem:
        return _not_sendable(ledger, letter, str(problem))
    return sender.transmit(send, content)


def _not_sendable(ledger: Ledger, letter: LedgerLetter, reason: str) -> SendOutcome:
    """The letter's own failure: recorded against it (nothing was handed over, so the next run tries
    again once the cause is put right); the run goes on with the other letters."""
    ledger.note(letter, "email not sent", reason)
    log.warning("letter %s of account %s: not e-mailed: its message cannot be made", letter.reference,
                letter.account_id)
    return SendOutcome(letter.reference or "", letter.account_id, SendStatus.FAILED, f"not sent: {reason}")


def unknown_advice(send: Send) -> str:
    return (f"outcome unknown for {send.message_id}: look for this Message-ID in the mail server's log; if it "
            f"was not delivered, run `letterforge send --resend {send.reference}` (the same message goes again)")


def record_bounces(ledger: Ledger, path: Path, day: date) -> SendReport:
    """`send --bounces`: each DSN recorded against its letter's message, on the as-of day."""
    from letterforge.bounces import read_reports, record_reports

    reports, not_reports = read_reports(path)
    report = SendReport(day)
    for dsn, done in record_reports(ledger, reports, day):
        send = ledger.send_by_message_id(dsn.message_id) if dsn.message_id else None
        report.outcomes.append(SendOutcome(send.reference if send else "", send.account_id if send else "",
                                           done, f"{dsn.action} {dsn.reason}".strip(), dsn.message_id))
    if not_reports:
        log.info("%d file(s) at %s are not delivery status notifications", len(not_reports), path)
    report.nothing = (f"no delivery status notification in {path}"
                      + (f" ({len(not_reports)} message(s) that are not one)" if not_reports else "")
                      + "; nothing recorded")
    return report


def confirm_sent(ledger: Ledger, day: date, reference: str, server_log: str) -> SendReport:
    """`send --confirm REF --server-log TEXT`: the mail server's log shows the letter's message, left
    unknown by a run that stopped, accepted. The log line must name its Message-ID: the outcome is
    resolved by the Message-ID, and recorded as sent with that line, instead of sending it again."""
    sends = ledger.sends(reference, channel=EMAIL)  # an unknown reference is an error naming it
    if not sends:
        raise UserError(f"{reference}: no e-mail of this letter is in the ledger; nothing to confirm")
    last = sends[-1]
    if last.status not in (SendStatus.UNKNOWN, SendStatus.SENDING):
        raise UserError(f"{reference}: its e-mail {last.message_id} is {last.status}, not unknown: only an unknown "
                        "outcome is confirmed from the server's log")
    line = " ".join(server_log.split())
    if last.message_id not in line and last.message_id.strip("<>") not in line:
        raise UserError(f"{reference}: the server log line given does not name the message's Message-ID "
                        f"{last.message_id}: give the line that shows this message accepted (e.g. Postfix's "
                        f"'message-id={last.message_id}' line with its queue id)")
    ledger.finish_send(last.message_id, SendStatus.SENT, f"confirmed from the mail server's log: {line}")
    report = SendReport(day)
    report.outcomes.append(SendOutcome(reference, last.account_id, SendStatus.SENT, f"confirmed from the mail server's "
                                       f"log: {line}", last.message_id))
    return report


def send_day(workspace: Workspace, ledger: Ledger, day: date, resend: tuple[str, ...] = (),
             bounces: Path | None = None, **options: Any) -> SendReport:
    """`letterforge send`: record bounces when given, else e-mail the day's letters. The settings'
    channels are checked against the rules the law sets first: a breach stops the run (exit 1)."""
    if bounces is not None:
        return record_bounces(ledger, bounces, day)
    from letterforge.delivery import delivery_problems

    problems = delivery_problems(workspace.config, load_clause_library(clause_folders(workspace)),
                                 str(workspace.path / "letterforge.toml"))
    if problems:
        raise UserError("the delivery settings break a rule the law sets:\n" + "\n".join(str(p) for p in problems),
                        tuple(problems))
    return send_emails(workspace, ledger, day, resend=resend, **options)


def send_after_batch(workspace: Workspace, ledger: Ledger, day: date, problems: list[str]) -> SendReport | None:
    """`[delivery] send_after_batch`: e-mail the letters issued on the day at the end of a run that
    was not stopped, as `letterforge send` does; what goes wrong is a problem of the run, not a reason to undo the day."""
    try:
        sent = send_day(workspace, ledger, day)
    except UserError as error:
        problems.append(f"e-mail: {error}")
        return None
    if sent.exit_code:
        counts = ", ".join(f"{sent.count(s)} {s}" for s in (SendStatus.DEFERRED, SendStatus.FAILED, SendStatus.UNKNOWN)
                           if sent.count(s))
        problems.append(f"e-mail: {counts}" + (f"; stopped: {sent.stopped}" if sent.stopped else "")
                        + " (see `letterforge send`)")
    return sent
