"""`letterforge clauses check`: every problem of the clause library, as file:line: message."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from letterforge.clauses import Clause, ClauseLibrary, describe_case, fact_cases, slots_of
from letterforge.config import SUPPORTED_LOCALES, WorkspaceConfig
from letterforge.diagnostics import Diagnostic
from letterforge.kinds import KINDS
from letterforge.model import CLAUSE_VARIABLES
from letterforge.permissions import write_atomic
from letterforge.records import CreditorType, DebtorCategory, LetterKind
from letterforge.sms import SMS_SLOT, SMS_VARIABLES, signature_problem, sms_length, widest_text

INDEX_FILE = "index.json"
CLAUSE_FILTERS = ("money", "date", "capitals", "percent")
_PLACEHOLDER = re.compile(r"TODO|TBD|FIXME|XX|＿|_{3,}|【待定】|待补充|\?\?\?")
_PLACEHOLDER_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.S)
_VARIABLE = re.compile(r"^\s*([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)\s*(?:\|\s*([a-z_]+)\s*)?$")
_LOGIC = re.compile(r"\{%|\{#")
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>")


@dataclass(frozen=True)
class WordingRule:
    """Wording a letter must not carry, for some creditor types, unless it carries `unless`."""

    creditor_types: tuple[str, ...]
    pattern: re.Pattern[str]
    message: str
    unless: tuple[re.Pattern[str], ...] = ()


WORDING_RULES = (
    WordingRule(
        (CreditorType.PROPERTY,),
        re.compile(r"停水|停电|断水|断电|停暖|停气|断气|停止供[水电气暖]|中止供[水电气暖]|限制进出|门禁|停梯|"
                   r"停用电梯|cut off|disconnect", re.I),
        "a property-service company must not collect fees by cutting water, power, heating or gas or by "
        "restricting access, nor hint at it (Civil Code art. 944)",
    ),
    WordingRule(
        (CreditorType.WATER,),
        re.compile(r"停水|断水|中止供水|暂停供水|停止供水|suspend", re.I),
        "suspension of supply may be mentioned only as the lawful procedure, with prior notice "
        "(Civil Code arts. 654, 656): say both in the same clause",
        (re.compile(r"事先通知|提前通知|prior notice", re.I), re.compile(r"程序|procedure", re.I)),
    ),
    WordingRule(
        tuple(CreditorType),
        re.compile(r"公示|曝光|张贴|通报|黑名单|公布.{0,6}(姓名|名单|欠费)|告知(您的)?(单位|亲友|家人|邻居)|"
                   r"name and shame|publish|your employer|your neighbours|your family", re.I),
        "disclosure of the debt to third parties or public shaming (Personal Information Protection Law "
        "art. 25)",
    ),
    WordingRule(
        tuple(CreditorType),
        re.compile(r"拘留|坐牢|判刑|刑事责任|上门讨债|征信|失信|arrest|prison|criminal|credit file|bailiff", re.I),
        "a threat of action the creditor cannot lawfully take",
    ),
)

Check = Callable[[ClauseLibrary, "CheckContext"], list[Diagnostic]]
CHECKS: list[Check] = []


def check(function: Check) -> Check:
    CHECKS.append(function)
    return function


@dataclass(frozen=True)
class CheckContext:
    locale: str
    creditor_type: str
    as_of: date
    recorded_hashes: dict[str, str]
    issued_hashes: dict[str, tuple[str, str]]  # id@version -> (sha256, reference of a letter that carried it)
    sender: dict[str, str] = field(default_factory=dict)  # creditor.name and creditor.phone, for SMS lengths
    sms_max_segments: int = 2


@check
def _sms(library: ClauseLibrary, context: CheckContext) -> list[Diagnostic]:
    """An SMS notice: at most the set number of segments with the widest values, the sender's
    signature 【…】 (zh-CN) or name (en-GB), no personal data beyond the account and the amounts, and
    never a notice of suspending supply (Electronic Signature Law art. 3: paper only)."""
    problems = []
    for clause in library.clauses:
        if clause.slot != SMS_SLOT:
            continue
        text = " ".join(line.strip() for line in clause.text.replace("**", "").splitlines() if line.strip())
        if not clause.locale.startswith("en"):
            text = text.replace(" ", "")
        own = context.sender if clause.locale == context.locale else {}
        widest = widest_text(text, clause.locale, own)
        length = sms_length(widest)
        if length.segments > context.sms_max_segments:
            per = "70 characters (67 a part)" if length.encoding == "UCS-2" else "160 characters (153 a part)"
            problems.append(Diagnostic(clause.path, clause.text_line, None, "sms-length",
                                       f"the SMS takes {length.segments} segments with the widest values "
                                       f"({length.units} {length.encoding} units; {per} a segment), more than "
                                       f"[sms] max_segments = {context.sms_max_segments}: shorten it"))
        signature = signature_problem(widest) if clause.locale.startswith("zh") else ""
        if signature:
            name = own.get("creditor.name", "")
            where = f" (creditor.name in letterforge.toml is {name!r})" if "【" in name or "】" in name else ""
            problems.append(Diagnostic(clause.path, clause.text_line, None, "sms-signature",
                                       f"{signature}{where}: an SMS starts or ends with the sender's signature "
                                       "in 【】, e.g. 【{{ creditor.name }}】, and has no other 【】"))
        if clause.locale.startswith("en") and "creditor.name" not in clause.variables:
            problems.append(Diagnostic(clause.path, clause.text_line, None, "sms-signature",
                                       "an SMS names its sender: use {{ creditor.name }}"))
        personal = sorted(set(clause.variables) - set(SMS_VARIABLES))
        if personal:
            problems.append(Diagnostic(clause.path, _key_line(clause, "variables"), "variables", "sms-personal-data",
                                       f"an SMS may show only the account, the amounts, the letter and the sender "
                                       f"({', '.join(SMS_VARIABLES)}); not {', '.join(personal)}"))
        if getattr(clause, "suspension_notice", False):
            problems.append(Diagnostic(clause.path, _key_line(clause, "suspension_notice"), "suspension_notice",
                                       "paper-only", "a notice of suspending supply is never sent by SMS: the "
                                       "Electronic Signature Law art. 3 keeps it on paper"))
    return problems


def _line_of(clause: Clause, offset: int) -> int:
    return clause.text_line + clause.text[:offset].count("\n")


def _key_line(clause: Clause, key: str) -> int:
    for number, line in enumerate(Path(clause.path).read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(f"{key}:"):
            return number
    return 1


@check
def _values(library: ClauseLibrary, context: CheckContext) -> list[Diagnostic]:
    problems = []
    allowed = {"locale": SUPPORTED_LOCALES, "kinds": tuple(k.value for k in LetterKind),
               "creditor_types": tuple(t.value for t in CreditorType),
               "categories": tuple(c.value for c in DebtorCategory)}
    for clause in library.clauses:
        values = {"locale": (clause.locale,), "kinds": clause.kinds, "creditor_types": clause.creditor_types,
                  "categories": clause.categories}
        for key, given in values.items():
            for value in given:
                if value not in allowed[key]:
                    problems.append(Diagnostic(clause.path, _key_line(clause, key), key, "front-matter",
                                               f"unknown {key} value {value!r} (use {', '.join(allowed[key])})"))
        slots = {slot for kind in clause.kinds if kind in allowed["kinds"] for slot in slots_of(LetterKind(kind))}
        if slots and clause.slot not in slots:
            problems.append(Diagnostic(clause.path, _key_line(clause, "slot"), "slot", "front-matter",
                                       f"slot {clause.slot!r} is not a slot of {', '.join(clause.kinds)} "
                                       f"(slots: {', '.join(sorted(slots))})"))
        if clause.effective_until is not None and clause.effective_until < clause.effective_from:
            problems.append(Diagnostic(clause.path, _key_line(clause, "effective_until"), "effective_until",
                                       "front-matter", "effective_until is before effective_from"))
        if clause.status == "approved" and not (clause.approved_by and clause.approved_on):
            problems.append(Diagnostic(clause.path, _key_line(clause, "status"), "status", "approval",
                                       "an approved clause needs approved_by and approved_on"))
    return problems


@check
def _text(library: ClauseLibrary, context: CheckContext) -> list[Diagnostic]:
    problems = []
    for clause in library.clauses:
        used: set[str] = set()
        for match in _LOGIC.finditer(clause.text):
            problems.append(Diagnostic(clause.path, _line_of(clause, match.start()), None, "logic",
                                       "no template logic in clause texts ({% %} or {# #}); write one clause per case"))
        for match in _MARKUP.finditer(clause.text):
            problems.append(Diagnostic(clause.path, _line_of(clause, match.start()), None, "markup",
                                       f"no markup in clause texts: {match.group(0)!r} (emphasis is **bold**)"))
        for match in _PLACEHOLDER_EXPRESSION.finditer(clause.text):
            line = _line_of(clause, match.start())
            expression = _VARIABLE.match(match.group(1))
            if expression is None:
                problems.append(Diagnostic(clause.path, line, None, "expression",
                                           f"only a variable and a filter may stand in {{{{ }}}}: {match.group(0)!r}"))
                continue
            name, filter_name = expression.groups()
            used.add(name)
            if name not in CLAUSE_VARIABLES:
                problems.append(Diagnostic(clause.path, line, None, "unknown-variable",
                                           f"unknown variable {name!r} (not in the letter data model)"))
            if filter_name and filter_name not in CLAUSE_FILTERS:
                problems.append(Diagnostic(clause.path, line, None, "unknown-filter",
                                           f"unknown filter {filter_name!r} (use {', '.join(CLAUSE_FILTERS)})"))
        outside = _PLACEHOLDER_EXPRESSION.sub(" ", clause.text)
        for match in _PLACEHOLDER.finditer(outside):
            offset = clause.text.find(match.group(0))
            problems.append(Diagnostic(clause.path, _line_of(clause, max(offset, 0)), None, "placeholder",
                                       f"placeholder text left: {match.group(0)!r}"))
        declared = set(clause.variables)
        if declared != used:
            missing, extra = sorted(used - declared), sorted(declared - used)
            detail = "; ".join(part for part in (f"used but not listed: {', '.join(missing)}" if missing else "",
                                                  f"listed but not used: {', '.join(extra)}" if extra else "") if part)
            problems.append(Diagnostic(clause.path, _key_line(clause, "variables"), "variables", "variables", detail))
    return problems


@check
def _wording(library: ClauseLibrary, context: CheckContext) -> list[Diagnostic]:
    problems = []
    for clause in library.clauses:
        if clause.status == "retired":
            continue
        for rule in WORDING_RULES:
            if not set(rule.creditor_types) & set(clause.creditor_types):
                continue
            if rule.unless and all(condition.search(clause.text) for condition in rule.unless):
                continue
            for match in rule.pattern.finditer(clause.text):
                problems.append(Diagnostic(clause.path, _line_of(clause, match.start()), None, "forbidden-wording",
                                           f"{match.group(0)!r}: {rule.message}"))
    return problems


_SUSPENSION = re.compile(r"停水|断水|中止供水|暂停供水|停止供水|停止供[电气暖热]|中止供[电气暖热]|停电|停气|停暖|"
                         r"suspend(ing|ed)? (the )?(water )?supply|disconnect", re.I)


@check
def _suspension_flag(library: ClauseLibrary, context: CheckContext) -> list[Diagnostic]:
    """A clause that speaks of suspending supply makes its letter a paper-only document (Electronic
    Signature Law art. 3): it must say so, so that no such letter is e-mailed or texted."""
    problems = []
    for clause in library.clauses:
        match = _SUSPENSION.search(clause.text)
        if clause.status == "retired" or clause.suspension_notice or match is None \
                or CreditorType.WATER not in clause.creditor_types:  # other creditors may not speak of it at all (art. 944)
            continue
        problems.append(Diagnostic(clause.path, _line_of(clause, match.start()), "suspension_notice", "paper-only",
                                   f"{match.group(0)!r}: a letter that speaks of suspending supply goes on paper "
                                   "only (Electronic Signature Law art. 3): add `suspension_notice: true` to the "
                                   "front matter"))
    return problems


def _serves(clause: Clause, kind: str, creditor_type: str, category: str, slot: str, locale: str) -> bool:
    return clause.slot == slot and clause.serves(kind, locale, creditor_type, category)


def _overlap(first: Clause, second: Clause) -> bool:
    first_end = first.effective_until or date.max
    second_end = second.effective_until or date.max
    return first.effective_from <= second_end and second.effective_from <= first_end


@check
def _coverage(library: ClauseLibrary, context: CheckContext) -> list[Diagnostic]:
    """For the workspace's locale and creditor type: one approved clause in force per slot."""
    problems = []
    folder = f"legal_clauses/{context.locale}/{context.creditor_type}"
    for kind in KINDS:
        for slot in slots_of(kind):
            for category in DebtorCategory:
                serving = [c for c in library.clauses
                           if _serves(c, kind.value, context.creditor_type, category.value, slot, context.locale)]
                chosen = [c for c in serving if c.status == "approved" and c.in_force(context.as_of)]
                case = f"{kind.value} / {context.locale} / {context.creditor_type} / {category.value}"
                if chosen:
                    problems.extend(_conditions_cover(chosen, slot, case))
                    continue
                drafts = [c for c in serving if c.status == "draft"]
                expired = [c for c in serving if c.status == "approved" and not c.in_force(context.as_of)]
                if drafts:
                    for draft in drafts:
                        problems.append(Diagnostic(draft.path, _key_line(draft, "status"), "status", "draft",
                                                   f"slot {slot!r} of {case} would use this draft: have it approved"))
                elif expired:
                    for old in expired:
                        until = old.effective_until.isoformat() if old.effective_until else "?"
                        problems.append(Diagnostic(old.path, _key_line(old, "effective_until"), "effective_until",
                                                   "expired", f"slot {slot!r} of {case}: this clause is not in force on "
                                                   f"{context.as_of.isoformat()} (effective {old.effective_from.isoformat()} "
                                                   f"to {until}) and nothing replaces it"))
                else:
                    problems.append(Diagnostic(folder, None, None, "missing-slot",
                                               f"no approved clause for slot {slot!r} of {case}"))
    return _unique(problems)


def _conditions_cover(chosen: list[Clause], slot: str, case: str) -> list[Diagnostic]:
    """Exactly one of the clauses for a slot applies in every case their conditions tell apart."""
    problems = []
    for facts in fact_cases(chosen):
        applying = [c for c in chosen if c.applies(facts)]
        if len(applying) == 1:
            continue
        when = describe_case(facts, chosen)
        when = f" when {when}" if when else ""
        if not applying:
            conditions = "; ".join(f"{c.label}: {c.when_text}" for c in chosen)
            first = chosen[0]
            problems.append(Diagnostic(first.path, _key_line(first, "when"), "when", "missing-slot",
                                       f"slot {slot!r} of {case}{when}: no clause whose conditions hold "
                                       f"({conditions})"))
            continue
        first, *others = applying
        for other in others:
            problems.append(Diagnostic(other.path, _key_line(other, "when" if other.when else "slot"),
                                       "when" if other.when else "slot", "competing",
                                       f"competes with {first.label} ({first.path}) for slot {slot!r} of {case}{when}"))
    return problems


@check
def _competing_versions(library: ClauseLibrary, context: CheckContext) -> list[Diagnostic]:
    """Approved clauses that would both fill the same slot on some day, whatever the as-of date."""
    problems = []
    approved = [c for c in library.clauses if c.status == "approved"]
    for index, first in enumerate(approved):
        for second in approved[index + 1:]:
            if first.slot != second.slot or first.locale != second.locale or not _overlap(first, second):
                continue
            shared = (set(first.kinds) & set(second.kinds), set(first.creditor_types) & set(second.creditor_types),
                      set(first.categories) & set(second.categories))
            if all(shared) and any(first.applies(f) and second.applies(f) for f in fact_cases([first, second])):
                problems.append(Diagnostic(second.path, _key_line(second, "slot"), "slot", "competing",
                                           f"competes with {first.label} ({first.path}) for slot {second.slot!r}: "
                                           "their kinds, creditor types, categories and effective dates overlap"))
    return problems


@check
def _unchanged_versions(library: ClauseLibrary, context: CheckContext) -> list[Diagnostic]:
    problems = []
    for clause in library.clauses:
        if clause.status == "draft":
            continue
        recorded = context.recorded_hashes.get(clause.label)
        if recorded is None:
            problems.append(Diagnostic(clause.path, _key_line(clause, "version"), "version", "not-recorded",
                                       f"{clause.label} is not recorded in the clause index: run "
                                       "`letterforge clauses index` once it is approved"))
        elif recorded != clause.content_hash:
            problems.append(Diagnostic(clause.path, _key_line(clause, "version"), "version", "changed-text",
                                       f"the text of {clause.label} changed but its version did not: give the new "
                                       "text a new version and have it approved"))
        issued = context.issued_hashes.get(clause.label)
        if issued is not None and issued[0] != clause.content_hash:
            problems.append(Diagnostic(clause.path, _key_line(clause, "version"), "version", "changed-text",
                                       f"the text of {clause.label} differs from the one in letter {issued[1]} "
                                       "already issued: give the new text a new version"))
    return problems


def _unique(problems: list[Diagnostic]) -> list[Diagnostic]:
    seen: set[tuple[str, int | None, str]] = set()
    unique = []
    for problem in problems:
        key = (problem.file, problem.row, problem.message)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique


def index_paths(folders: list[Path]) -> list[Path]:
    return [folder / INDEX_FILE for folder in folders]


def read_index(folders: list[Path]) -> dict[str, str]:
    """id@version -> sha256 of the text, as recorded when the version was approved."""
    recorded: dict[str, str] = {}
    for path in index_paths(folders):
        if path.is_file():
            recorded.update(json.loads(path.read_text(encoding="utf-8")))
    return recorded


def check_clauses(library: ClauseLibrary, config: WorkspaceConfig, as_of: date, folders: list[Path],
                  issued_hashes: dict[str, tuple[str, str]] | None = None) -> list[Diagnostic]:
    """Every problem at once, sorted by file and line."""
    context = CheckContext(config.locale, config.creditor.type, as_of, read_index(folders), issued_hashes or {},
                           {"creditor.name": config.creditor.name, "creditor.phone": config.creditor.phone},
                           config.sms.max_segments)
    problems = list(library.diagnostics)
    for run in CHECKS:
        problems.extend(run(library, context))
    return sorted(_unique(problems), key=lambda d: (d.file, d.row or 0, d.message))


def record_index(library: ClauseLibrary, folders: list[Path]) -> tuple[list[str], list[Diagnostic]]:
    """Record the hash of every approved or retired clause version not yet recorded, in the index
    of the folder it lives in. A recorded version is never rewritten: a changed text needs a new
    version."""
    added: list[str] = []
    problems: list[Diagnostic] = []
    recorded = read_index(folders)
    for folder in folders:
        index_path = folder / INDEX_FILE
        own = json.loads(index_path.read_text(encoding="utf-8")) if index_path.is_file() else {}
        changed = False
        for clause in sorted(library.clauses, key=lambda c: c.label):
            if clause.status == "draft" or not Path(clause.path).resolve().is_relative_to(folder.resolve()):
                continue
            known = recorded.get(clause.label)
            if known is None:
                own[clause.label] = clause.content_hash
                added.append(clause.label)
                changed = True
            elif known != clause.content_hash:
                problems.append(Diagnostic(clause.path, None, "version", "changed-text",
                                           f"{clause.label} is recorded with other text: give it a new version"))
        if changed:
            text = json.dumps(dict(sorted(own.items())), ensure_ascii=False, indent=1) + "\n"
            write_atomic(index_path, text.encode("utf-8"))
    return added, problems
