"""SMS notices of issued letters: each text composed from the letter's approved `sms` clause,
archived and recorded in the ledger as a send (channel sms, number, time, the SHA-256 of its UTF-8
bytes), then handed to a gateway or written to the day file for upload to an SMS platform."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from letterforge.diagnostics import UserError
from letterforge.records import SendStatus
from letterforge.sms import SMS_SLOT, SmsLength, phone_number, signature_problem, sms_length

log = logging.getLogger(__name__)


# -- gateways -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class GatewayAnswer:
    """What the provider said: sent (with its message id), deferred (try again later), failed
    (refused for good) or unknown (the request went out, the answer never came)."""

    status: SendStatus
    answer: str


class SmsGateway(Protocol):
    def send(self, number: str, text: str, message_id: str) -> GatewayAnswer: ...


ANSWER_LIMIT = 64 * 1024  # bytes of a provider's answer read at most


class JsonHttpGateway:
    """A generic JSON/HTTP adapter: POST {"to", "text", "client_ref"} to the provider's URL with an
    Authorization header; the provider answers 2xx with {"message_id"} (or {"id"})."""

    def __init__(self, url: str, authorization: str = "", timeout: float = 15.0) -> None:
        self.url, self.authorization, self.timeout = url, authorization, timeout

    def send(self, number: str, text: str, message_id: str) -> GatewayAnswer:
        body = json.dumps({"to": number, "text": text, "client_ref": message_id}, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"}
        if self.authorization:
            headers["Authorization"] = self.authorization
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, payload = response.status, response.read(ANSWER_LIMIT)  # an id, not a download
        except urllib.error.HTTPError as error:
            said = _said(error.read(), number, text)
            temporary = error.code == 429 or error.code >= 500
            return GatewayAnswer(SendStatus.DEFERRED if temporary else SendStatus.FAILED, f"HTTP {error.code}: {said}".strip())
        except (TimeoutError, socket.timeout):
            return GatewayAnswer(SendStatus.UNKNOWN, f"no answer within {self.timeout:g} s: the text may have been sent "
                                                     "(ask the provider about client_ref before sending it again)")
        except urllib.error.URLError as error:
            if isinstance(error.reason, (TimeoutError, socket.timeout)):  # the request may have gone out
                return GatewayAnswer(SendStatus.UNKNOWN, f"no answer within {self.timeout:g} s: the text may have been sent "
                                                         "(ask the provider about client_ref before sending it again)")
            return GatewayAnswer(SendStatus.DEFERRED, f"could not reach the gateway: {error.reason}")
        except OSError as error:  # the connection broke after the request went out, or could not be made
            return GatewayAnswer(SendStatus.UNKNOWN, f"the connection broke ({type(error).__name__}): the text may have "
                                                     "been sent (ask the provider about client_ref before sending it again)")
        try:
            answer = json.loads(payload or b"")
        except ValueError:
            answer = None
        provider_id = answer.get("message_id") or answer.get("id") if isinstance(answer, dict) else None
        if not isinstance(provider_id, (str, int)) or isinstance(provider_id, bool) or str(provider_id).strip() == "":
            # Accepted by HTTP, but not in the words the adapter reads: whether the text went is unknown.
            return GatewayAnswer(SendStatus.UNKNOWN, f"HTTP {status} without a message id in its answer: "
                                                     f"{_said(payload, number, text) or '(empty)'}")
        return GatewayAnswer(SendStatus.SENT, f"HTTP {status}; gateway message id {_said(str(provider_id).encode(), number, text)}")


def _said(payload: bytes, number: str, text: str) -> str:
    """A provider's words as the ledger keeps them: one line, at most 200 characters, without the
    number or the text (personal data stays out of answers and logs)."""
    said = payload[:400].decode("utf-8", "replace")
    for secret in (text, number):
        if secret:
            said = said.replace(secret, "…")
    said = " ".join("".join(ch if ch.isprintable() else " " for ch in said).split())
    return said[:200]


GATEWAYS: dict[str, Callable[[str, str], SmsGateway]] = {"json-http": JsonHttpGateway}


class ConfiguredGateway:
    """The [sms] gateway: its URL and Authorization header read from the environment only once there
    is a notice to send (a day with nothing to text needs neither). A missing or malformed URL is a
    settings error naming the variable (never its value), raised before anything is recorded."""

    def __init__(self, settings: Any, environ: dict[str, str] | None = None) -> None:
        self.settings = settings
        self._environ = environ
        self._gateway: SmsGateway | None = None

    def ready(self) -> SmsGateway:
        if self._gateway is None:
            settings = self.settings
            environ = os.environ if self._environ is None else self._environ
            url = environ.get(settings.url_env, "")
            if not url:
                raise UserError(f"letterforge.toml: sms.gateway = {settings.gateway!r} reads the gateway's URL from "
                                f"the environment variable {settings.url_env}, which is not set")
            if not re.match(r"https?://[^\s/]+", url, flags=re.I) or any(ch.isspace() for ch in url):
                # (the URL itself is not shown: a provider may put its key in it)
                raise UserError(f"the environment variable {settings.url_env} (sms.gateway's URL) must be one "
                                "http:// or https:// URL")
            self._gateway = GATEWAYS[settings.gateway](url, environ.get(settings.auth_env, ""))
        return self._gateway

    def send(self, number: str, text: str, message_id: str) -> GatewayAnswer:
        return self.ready().send(number, text, message_id)


def gateway_from_settings(settings: Any) -> SmsGateway | None:
    """The configured gateway (None: the day file for upload); its environment is read when the first
    notice is to go (ConfiguredGateway.ready)."""
    if not settings.gateway:
        return None
    return ConfiguredGateway(settings)


def _ready(gateway: SmsGateway | None) -> None:
    """Before the first notice of the run is archived or recorded: the gateway's URL, if it needs one."""
    ready = getattr(gateway, "ready", None)
    if ready is not None:
        ready()


# -- the day's notices ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SmsNotice:
    reference: str
    account_id: str
    number: str
    text: str
    message_id: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def length(self) -> SmsLength:
        return sms_length(self.text)


@dataclass
class SmsReport:
    as_of: date
    files: list[Path] = field(default_factory=list)
    recorded: list[tuple[SmsNotice, SendStatus, str]] = field(default_factory=list)  # notice, status, answer
    already: list[str] = field(default_factory=list)  # references whose notice the ledger has
    withheld: list[tuple[str, str]] = field(default_factory=list)  # reference, why no SMS
    unresolved: list[str] = field(default_factory=list)  # references a crashed run left "sending"
    gateway: bool = False  # sent through a gateway (not only written to the day file)

    @property
    def trouble(self) -> tuple[SendStatus, ...]:
        """The statuses that need a look: refused, deferred, or (through a gateway) without an answer.
        The day file's notices are 'unknown' by design: letterforge hands them over and cannot know
        what the platform does."""
        if self.gateway:
            return (SendStatus.FAILED, SendStatus.DEFERRED, SendStatus.UNKNOWN)
        return (SendStatus.FAILED, SendStatus.DEFERRED)

    @property
    def ok(self) -> bool:
        """Nothing to look at: no notice in trouble, none left unresolved by a crash."""
        return not self.unresolved and not any(status in self.trouble for _, status, _ in self.recorded)


def message_id_for(reference: str) -> str:
    """One notice per letter: its id follows from the letter, so a rerun finds it in the ledger."""
    return f"sms-{hashlib.sha256(reference.encode('utf-8')).hexdigest()[:20]}@letterforge"


DAY_FILE_COLUMNS = {
    "zh-CN": ("手机号码", "短信内容", "户号", "文号", "计费条数"),
    "en-GB": ("Mobile number", "Message", "Account", "Reference", "Segments"),
}


def day_file_rows(notices: list[SmsNotice]) -> list[tuple[str, str, str, str, int]]:
    return [(n.number, n.text, n.account_id, n.reference, n.length.segments) for n in notices]


def xlsx_bytes(header: tuple[str, ...], rows: list[tuple[Any, ...]], as_of: date) -> bytes:
    """The day file as XLSX: every cell a text cell (never a formula, whatever it starts with), the
    numbers as text so that no leading digit is lost; dated the day, not the clock."""
    import io

    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING

    book = Workbook()
    book.properties.created = book.properties.modified = datetime.combine(as_of, datetime.min.time())
    sheet = book.active
    sheet.title = "SMS"
    for row_number, row in enumerate([header, *rows], start=1):
        for column, value in enumerate(row, start=1):
            cell = sheet.cell(row=row_number, column=column)
            cell.value = str(value)
            cell.data_type = TYPE_STRING
            cell.number_format = "@"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def compose_notice(factory: Any, draft: Any) -> str:
    """The SMS text of a letter: its approved `sms` clause, filled from the letter's own values as the
    e-mail's clauses are (the same sandbox, plain text: an SMS is not HTML), as one line."""
    from letterforge.clauses import MESSAGE_SLOTS, render_clause, select_clauses
    from letterforge.drafts import letter_facts

    config = factory.workspace.config
    (clause,) = select_clauses(factory.library, draft.kind, draft.locale, config.creditor.type,
                               draft.letter.debtor.category.value, draft.issued_on,
                               facts=letter_facts(draft.letter), slots=MESSAGE_SLOTS[SMS_SLOT])
    paragraphs = render_clause(factory.renderer.clause_environment, clause, draft.context)
    # Paragraphs run on (an English one after a space); the values keep their own spaces (a phone
    # number such as 0571-8600 1234), only line breaks and the space runs around them go.
    joiner = " " if draft.locale.startswith("en") else ""
    text = joiner.join("".join(run for run, _ in paragraph).strip() for paragraph in paragraphs)
    return re.sub(r"\s*[\r\n]+\s*", joiner, text).strip()


def notices_due(workspace: Any, ledger: Any, data: Any, as_of: date) -> tuple[list[tuple[Any, SmsNotice]], list[tuple[str, str]]]:
    """The SMS notices of the letters issued on `as_of` whose route includes SMS (the settings'
    channels, the debtor's consent and number, and the law: a suspension notice goes on paper only),
    with the reasons any other letter of the day gets none."""
    from letterforge.archive import redraft_letter
    from letterforge.delivery import SMS, outgoing_letter, route_letter
    from letterforge.ledger import SENT

    config = workspace.config
    due: list[tuple[Any, SmsNotice]] = []
    withheld: list[tuple[str, str]] = []
    library = None
    for letter in ledger.letters():
        if letter.status not in SENT or letter.issued_on != as_of or not letter.reference:
            continue
        account = data.account(letter.account_id)
        if account is None:
            withheld.append((letter.reference, "the account is no longer in the data"))
            continue
        factory, draft = redraft_letter(workspace, ledger, letter)
        library = library or factory.library
        outgoing = outgoing_letter(letter.reference, letter.kind, draft.locale, letter.clauses, library)
        routing = route_letter(outgoing, account, config)
        route = routing.route(SMS)
        if route is None:
            withheld += [(letter.reference, why) for channel, why in routing.withheld if channel == SMS]
            continue
        number = phone_number(route.address, draft.locale)
        if not number:
            withheld.append((letter.reference, "the phone number is not a mobile number"))
            continue
        text = compose_notice(factory, draft)
        problem = signature_problem(text) if draft.locale.startswith("zh") else ""
        if problem:
            raise UserError(f"{letter.reference}: the SMS notice cannot go: {problem} (creditor.name in "
                            "letterforge.toml, the sms clause); `letterforge clauses check` names it. Nothing was sent.")
        due.append((letter, SmsNotice(letter.reference, letter.account_id, number, text,
                                      message_id_for(letter.reference))))
    return due, withheld


def send_notices(workspace: Any, ledger: Any, data: Any, as_of: date, out: Path,
                 gateway: SmsGateway | None, resend: tuple[str, ...] = ()) -> SmsReport:
    """The day's SMS notices: each text archived and recorded as a send before it goes anywhere, then
    handed to the gateway (or, without one, to the day file for upload: recorded as 'unknown', as
    letterforge cannot know what the platform did). The day file lists every notice of the day. A
    rerun sends nothing twice: a notice the ledger has is not sent again (a deferred one is retried)."""
    from letterforge.archive import archive_path
    from letterforge.outputs import csv_bytes
    from letterforge.permissions import write_atomic

    report = SmsReport(as_of, gateway=gateway is not None)
    due, report.withheld = notices_due(workspace, ledger, data, as_of)
    folder = out / as_of.isoformat() / "sms"
    locale = workspace.config.locale
    csv_path = folder / f"sms-{as_of.isoformat()}.csv"
    _check_resend(ledger, due, resend, as_of)
    for letter, notice in due:
        earlier = ledger.send_by_message_id(notice.message_id)
        resending = earlier is not None and notice.reference in resend
        if earlier is not None and not resending and earlier.status == SendStatus.SENDING:
            # Recorded, then the run stopped before the gateway's answer was recorded: it may have gone.
            report.unresolved.append(notice.reference)
            continue
        if earlier is not None and not resending and earlier.status != SendStatus.DEFERRED:
            report.already.append(notice.reference)
            continue
        _ready(gateway)  # something to send: now the gateway's URL must be there
        if resending:
            ledger.resend(notice.message_id, "sent again on purpose (sms --resend)")
        content = notice.text.encode("utf-8")
        stored = archive_path(workspace.path, notice.sha256, ".sms.txt")
        write_atomic(stored, content)
        relative = str(stored.relative_to(workspace.path))
        if earlier is None:  # (a deferred or resent notice keeps its record, its id and its text)
            ledger.begin_send(notice.reference, "sms", notice.number, notice.message_id, notice.sha256, relative)
        if gateway is None:
            answer = GatewayAnswer(SendStatus.UNKNOWN, f"written to {csv_path.name} for upload to the SMS platform")
        else:
            answer = gateway.send(notice.number, notice.text, notice.message_id)
        ledger.finish_send(notice.message_id, answer.status, answer.answer)
        report.recorded.append((notice, answer.status, answer.answer))
        log.info("sms for %s: %s", notice.account_id, answer.status)
    day = [notice for _, notice in due]
    if day and gateway is None:  # through a gateway, no file for upload: it could only send them twice
        header = DAY_FILE_COLUMNS.get(locale, DAY_FILE_COLUMNS["en-GB"])
        rows = day_file_rows(day)
        write_atomic(csv_path, csv_bytes(header, rows))
        write_atomic(csv_path.with_suffix(".xlsx"), xlsx_bytes(header, rows, as_of))
        report.files = [csv_path, csv_path.with_suffix(".xlsx")]
    return report


def _check_resend(ledger: Any, due: list[tuple[Any, SmsNotice]], resend: tuple[str, ...], as_of: date) -> None:
    """`--resend REF` only for a notice of the day whose fate is not known to be good (unknown, left
    'sending' by a crash, failed): a sent one is never sent again."""
    notices = {notice.reference: notice for _, notice in due}
    for reference in resend:
        notice = notices.get(reference)
        if notice is None:
            raise UserError(f"--resend {reference}: no SMS notice of a letter issued on {as_of.isoformat()} has "
                            "this reference (see `letterforge sms` without --resend)")
        earlier = ledger.send_by_message_id(notice.message_id)
        if earlier is None or earlier.status not in (SendStatus.UNKNOWN, SendStatus.SENDING, SendStatus.FAILED):
            state = "not sent yet" if earlier is None else earlier.status
            raise UserError(f"--resend {reference}: its SMS is {state}; only an unknown, unresolved or failed one "
                            "is sent again on purpose. Nothing was sent.")


def refuse_unlawful_settings(workspace: Any) -> None:
    """The settings' channels checked against the rules the law sets (a suspension notice goes on
    paper only): a breach stops the SMS run before anything is sent, naming the setting and the rule."""
    from letterforge.clauses import load_clause_library
    from letterforge.delivery import delivery_problems
    from letterforge.letters import clause_folders

    problems = delivery_problems(workspace.config, load_clause_library(clause_folders(workspace)),
                                 str(workspace.path / "letterforge.toml"))
    if problems:
        raise UserError("the delivery settings break a rule the law sets:\n" + "\n".join(str(p) for p in problems),
                        tuple(problems))


def run_sms(workspace: Any, as_of: date, out: Path, now: Callable[[], datetime],
            resend: tuple[str, ...] = ()) -> SmsReport:
    """`letterforge sms --as-of D`: the SMS notices of the letters issued on D. The settings' channels
    are checked against the rules the law sets first (as `send` does): a breach stops the run. Not
    beside a batch, a `send` or another `sms` (the workspace lock): each notice goes once."""
    from letterforge.ledger import open_ledger
    from letterforge.recovery import workspace_lock

    refuse_unlawful_settings(workspace)
    gateway = gateway_from_settings(workspace.config.sms)
    with workspace_lock(workspace):
        data = workspace.load_data()
        ledger = open_ledger(workspace.path, now)
        try:
            return send_notices(workspace, ledger, data, as_of, out, gateway, resend)
        finally:
            ledger.close()


def sms_after_batch(workspace: Any, ledger: Any, data: Any, as_of: date, out: Path,
                    problems: list[str]) -> SmsReport | None:
    """`[delivery] sms_after_batch`: the SMS notices of the day's letters at the end of a run not stopped, as
    `letterforge sms` makes them, inside the batch's lock and ledger. Only letters the ledger records
    as issued get one; what goes wrong is a problem of the run (exit 1), not a reason to undo the day."""
    try:
        refuse_unlawful_settings(workspace)
        report = send_notices(workspace, ledger, data, as_of, out, gateway_from_settings(workspace.config.sms))
    except UserError as error:
        problems.append(f"sms: {error}")
        return None
    if not report.ok:
        counts = [f"{n} {status}" for status in report.trouble
                  if (n := sum(1 for _, answered, _ in report.recorded if answered == status))]
        if report.unresolved:
            counts.append(f"{len(report.unresolved)} left unresolved by a crashed run")
        problems.append(f"sms: {', '.join(counts)} (see `letterforge sms`)")
    return report
