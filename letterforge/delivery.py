"""Which channels a letter goes by (post, e-mail, SMS), with the rules the law sets built in.

The settings choose channels per kind and debtor type ([delivery] channels); the debtor's consent
decides whether an e-mail or SMS may go at all; and two rules override both: a letter that gives
notice of suspending water supply goes on paper only (Electronic Signature Law art. 3), and a UK
letter before action to an individual goes by post, with e-mail as a copy only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from email.errors import HeaderParseError
from email.headerregistry import Address

from letterforge.addressing import pre_action_protocol_applies
from letterforge.clauses import Clause, ClauseLibrary
from letterforge.config import WorkspaceConfig
from letterforge.diagnostics import Diagnostic
from letterforge.kinds import KINDS
from letterforge.records import Account, DebtorType, LetterKind

POST, EMAIL, SMS = "post", "email", "sms"
ELECTRONIC = (EMAIL, SMS)
SUSPENSION_RULE = ("a letter that gives notice of suspending water supply goes on paper only: the Electronic "
                   "Signature Law (电子签名法) art. 3 excludes documents about stopping water, heat, gas or power "
                   "supply from electronic form")
PROTOCOL_RULE = ("a letter before action to an individual goes by post, e-mail only as a copy (Pre-Action "
                 "Protocol for Debt Claims, section 3)")


@dataclass(frozen=True)
class OutgoingLetter:
    """What the channel rules need to know about an issued letter."""

    reference: str
    kind: LetterKind
    locale: str
    suspension_notice: bool  # one of its clauses gives notice of suspending supply


@dataclass(frozen=True)
class Route:
    """One way a letter goes: the channel and the debtor's address on it. `copy`: a courtesy copy of
    a letter whose delivery in law is by post (it is sent and recorded, but does not replace post)."""

    channel: str
    address: str
    copy: bool = False


@dataclass(frozen=True)
class Routing:
    routes: tuple[Route, ...]
    withheld: tuple[tuple[str, str], ...]  # (channel, why it is not used for this letter)

    def route(self, channel: str) -> Route | None:
        return next((route for route in self.routes if route.channel == channel), None)


def outgoing_letter(reference: str, kind: LetterKind, locale: str, clause_labels: Iterable[str],
                    library: ClauseLibrary) -> OutgoingLetter:
    """The letter as the channel rules see it. A clause the library no longer holds counts as a
    suspension notice: what cannot be checked goes on paper."""
    by_label = {clause.label: clause for clause in library.clauses}
    labels = [entry.partition("#")[0] for entry in clause_labels]  # the ledger keeps id@version#sha256
    suspension = any(label not in by_label or by_label[label].suspension_notice for label in labels)
    return OutgoingLetter(reference, kind, locale, suspension)


def email_address_problem(address: str) -> str:
    """Why `address` cannot be an e-mail recipient; empty when it can (one plain address, no header tricks)."""
    if not address:
        return "no e-mail address"
    if any(ch in address for ch in "\r\n,;<>\"") or any(ch.isspace() for ch in address):
        return "not one plain e-mail address"
    if not address.isascii():
        return "an e-mail address with non-ASCII characters (not supported: give its ASCII form)"
    try:
        parsed = Address(addr_spec=address)
    except (HeaderParseError, ValueError, IndexError):
        return "not an e-mail address"
    if not parsed.username or "." not in parsed.domain:
        return "not an e-mail address"
    return ""


def route_letter(letter: OutgoingLetter, account: Account, settings: WorkspaceConfig) -> Routing:
    """The routes of one letter and why any channel the settings chose is not used."""
    chosen = settings.delivery.channels_for(letter.kind.value, account.debtor_type.value)
    protocol = pre_action_protocol_applies(account, letter.kind, letter.locale)
    routes: list[Route] = []
    withheld: list[tuple[str, str]] = []
    if letter.suspension_notice or protocol:
        # Post whatever the settings say: the law decides how this letter is delivered.
        routes.append(Route(POST, account.address))
    for channel in chosen:
        if channel == POST:
            if not routes or routes[0].channel != POST:
                routes.insert(0, Route(POST, account.address))
            continue
        if letter.suspension_notice:
            withheld.append((channel, SUSPENSION_RULE))
            continue
        if channel == EMAIL:
            problem = email_address_problem(account.email)
            if not account.email_consent:
                withheld.append((channel, "the debtor has not agreed to delivery by e-mail (email_consent)"))
            elif problem:
                withheld.append((channel, problem))
            else:
                routes.append(Route(EMAIL, account.email, copy=protocol))
        elif channel == SMS:
            if protocol:
                withheld.append((channel, PROTOCOL_RULE))
            elif not account.sms_consent:
                withheld.append((channel, "the debtor has not agreed to notices by SMS (sms_consent)"))
            elif not account.phone:
                withheld.append((channel, "no phone number"))
            else:
                routes.append(Route(SMS, account.phone))
    if not routes:
        # Every letter reaches the debtor somehow: without a usable electronic channel, by post.
        routes.append(Route(POST, account.address))
    return Routing(tuple(routes), tuple(withheld))


def channels_for(letter: OutgoingLetter, account: Account, settings: WorkspaceConfig) -> tuple[Route, ...]:
    """The routes a letter goes by: the settings' channels for its kind and debtor type, where the
    debtor consented and the law allows (see `route_letter` for why a channel is withheld)."""
    return route_letter(letter, account, settings).routes


def _suspension_clauses(library: ClauseLibrary, kind: LetterKind, config: WorkspaceConfig) -> list[Clause]:
    return [c for c in library.clauses if c.suspension_notice and c.status != "retired" and kind.value in c.kinds
            and config.creditor.type in c.creditor_types and c.slot in KINDS[kind].slots]


def _paper_only_fix(key: str, kind: str) -> str:
    """What to write: the kind's own key when the channels came from "default" (setting default to
    post only would take e-mail and SMS from every other kind too)."""
    if key == "default":
        return f"add {kind} = [\"post\"] to [delivery] channels"
    return f"set {key} = [\"post\"]"


def delivery_problems(config: WorkspaceConfig, library: ClauseLibrary, file: str = "letterforge.toml") -> list[Diagnostic]:
    """The settings' channels against the rules the law sets, for this workspace's clauses: a kind
    whose letters can give notice of suspending supply must not be set to go by e-mail or SMS."""
    problems = []
    for kind in LetterKind:
        clauses = _suspension_clauses(library, kind, config)
        if not clauses:
            continue
        for debtor_type in DebtorType:
            channels = config.delivery.channels_for(kind.value, debtor_type.value)
            electronic = [c for c in channels if c in ELECTRONIC]
            if not electronic:
                continue
            key = next((k for k in (f"{kind.value}.{debtor_type.value}", kind.value, "default")
                        if k in config.delivery.channels), "default")
            labels = ", ".join(sorted(c.label for c in clauses))
            problems.append(Diagnostic(file, None, f"delivery.channels.{key}", "paper-only",
                                       f"{kind.value} letters of this workspace can give notice of suspending "
                                       f"supply ({labels}), yet the settings send them by {' and '.join(electronic)}: "
                                       f"{SUSPENSION_RULE}; {_paper_only_fix(key, kind.value)}"))
    unique: dict[str, Diagnostic] = {}
    for problem in problems:
        unique.setdefault(problem.message, problem)
    return list(unique.values())


__all__ = ["EMAIL", "POST", "SMS", "OutgoingLetter", "Route", "Routing", "channels_for",
           "delivery_problems", "email_address_problem", "outgoing_letter", "route_letter"]
