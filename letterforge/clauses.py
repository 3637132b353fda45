"""The legal clause library: versioned clause files, and the choice of clauses for one letter."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, TemplateError

from letterforge.caches import cache_folder, private_folder, read_entry, write_entry
from letterforge.diagnostics import Diagnostic, UserError
from letterforge.kinds import KINDS
from letterforge.records import DebtorCategory, DebtorType, LetterKind

# The slots of the messages that carry a letter, by channel: filled from the same library, on the
# letter's data, and checked like the letter's own (`clauses check`, `clauses preview`). The
# letter's own slots are its kind's (kinds.KINDS).
MESSAGE_SLOTS: dict[str, tuple[str, ...]] = {
    "email": ("email_subject", "email_body"),
    "sms": ("sms",),
}


def slots_of(kind: LetterKind) -> tuple[str, ...]:
    """Every slot a clause for this kind may fill: the letter's, then its messages'."""
    return KINDS[kind].slots + tuple(slot for slots in MESSAGE_SLOTS.values() for slot in slots)


REQUIRED_KEYS = ("id", "version", "title", "locale", "jurisdiction", "kinds", "creditor_types", "slot",
                 "effective_from", "status")
STATUSES = ("draft", "approved", "retired")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")

Run = tuple[str, bool]  # text, bold
Paragraph = tuple[Run, ...]

# The facts about a letter's data that a clause's `when:` may test, with their kind: "count" (a
# whole number), "flag" (true/false), "text" (tested for being given or not) or the tuple of the
# values a choice may take. drafts.letter_facts computes exactly these for every letter.
CONDITION_FACTS: dict[str, str | tuple[str, ...]] = {
    "demands_sent": "count",  # demand letters to the account before this one (history and ledger)
    "reminders_sent": "count",
    "letters_sent": "count",  # letters of every kind before this one
    "debtor.note": "text",
    "debtor.type": tuple(debtor_type.value for debtor_type in DebtorType),
    "statement.items": "count",  # unpaid overdue items
    "statement.billing_periods": "count",  # distinct billing periods among them
    "statement.billing": ("monthly", "bimonthly", "quarterly", "other"),
    "late_fee.charged": "flag",  # the letter claims a late fee (or interest) above zero
    "late_fee.capped": "flag",
    "waiver.offered": "flag",
    "instalments.offered": "flag",
}
_COMPARISON = re.compile(r'^\s*(not\s+)?([a-z_][a-z0-9_.]*)\s*(?:(==|!=|>=|<=|>|<)\s*(.+?))?\s*$')
_ORDERING = (">=", "<=", ">", "<")


@dataclass(frozen=True)
class Condition:
    """One test on a fact of the letter's data: `demands_sent >= 1`, `debtor.note`, `not waiver.offered`,
    `debtor.type == "company"`."""

    fact: str
    operator: str  # ==, !=, >=, <=, >, <; or "given" / "not given" for a bare fact
    value: int | str | bool | None
    text: str

    def holds(self, facts: Mapping[str, object]) -> bool:
        """Whether the condition holds; a fact the letter does not state is zero, false or empty."""
        actual = _fact(facts, self.fact)
        if actual is None:
            actual = 0 if CONDITION_FACTS.get(self.fact) == "count" else ("" if self.operator in ("==", "!=") else False)
        if self.operator == "given":
            return bool(actual)
        if self.operator == "not given":
            return not actual
        if self.operator == "==":
            return actual == self.value
        if self.operator == "!=":
            return actual != self.value
        number, limit = int(str(actual)), int(str(self.value))
        return {">=": number >= limit, "<=": number <= limit, ">": number > limit, "<": number < limit}[self.operator]

    def problem(self) -> str:
        """Why this condition cannot be evaluated on a letter's facts; empty when it can."""
        kind = CONDITION_FACTS.get(self.fact)
        if kind is None:
            return f"unknown fact {self.fact!r} in `when: {self.text}` (facts: {', '.join(CONDITION_FACTS)})"
        if self.operator in ("given", "not given"):
            return "" if kind in ("flag", "text") else (f"`{self.text}`: compare {self.fact} with a value "
                                                        f"({'a number' if kind == 'count' else 'one of its values'})")
        if kind == "count":
            return "" if isinstance(self.value, int) and not isinstance(self.value, bool) else \
                f"`{self.text}`: {self.fact} is a count; compare it with a whole number"
        if self.operator in _ORDERING:
            return f"`{self.text}`: {self.operator} compares counts only"
        if kind == "flag":
            return "" if isinstance(self.value, bool) else f"`{self.text}`: {self.fact} is true or false"
        if kind == "text":
            return f"`{self.text}`: test whether {self.fact} is given (`{self.fact}` or `not {self.fact}`)"
        if self.value not in kind:
            return f"`{self.text}`: {self.value!r} is not a value of {self.fact} (use {', '.join(kind)})"
        return ""


# Typical values of the facts, for a case that does not test them.
TYPICAL_FACTS: dict[str, object] = {
    "demands_sent": 2, "reminders_sent": 2, "letters_sent": 4, "debtor.note": False, "debtor.type": "individual",
    "statement.items": 3, "statement.billing_periods": 3, "statement.billing": "monthly", "late_fee.charged": True,
    "late_fee.capped": True, "waiver.offered": True, "instalments.offered": True,
}


def fact_cases(clauses: Sequence[Clause]) -> list[dict[str, object]]:
    """Every combination of fact values that the clauses' conditions can tell apart (for a count,
    zero and each compared number with its neighbours), each a complete set of facts."""
    values: dict[str, list[object]] = {}
    for condition in (c for clause in clauses for c in clause.when):
        kind = CONDITION_FACTS[condition.fact]
        if kind in ("flag", "text"):
            values[condition.fact] = [False, True]
        elif kind == "count":
            numbers = set(values.get(condition.fact, [0])) | {0}
            limit = int(condition.value)  # type: ignore[arg-type]
            numbers |= {n for n in (limit - 1, limit, limit + 1) if n >= 0}
            values[condition.fact] = sorted(numbers)  # type: ignore[type-var]
        else:
            values[condition.fact] = list(kind)
    cases = [dict(TYPICAL_FACTS)]
    for fact, choices in values.items():
        cases = [{**case, fact: choice} for case in cases for choice in choices]
    return cases


def describe_case(case: Mapping[str, object], clauses: Sequence[Clause]) -> str:
    """The facts of a case that the clauses test, in words: `demands_sent is 0, debtor.note is not given`."""
    tested = dict.fromkeys(c.fact for clause in clauses for c in clause.when)
    parts = []
    for fact in tested:
        value = case[fact]
        if CONDITION_FACTS[fact] == "text":
            parts.append(f"{fact} is {'given' if value else 'not given'}")
        else:
            parts.append(f"{fact} is {str(value).lower() if isinstance(value, bool) else value}")
    return ", ".join(parts)


def _fact(facts: Mapping[str, object], name: str) -> object:
    """A fact by its name (`debtor.type`), from the flat facts of drafts.letter_facts or, failing that,
    along the dotted path of a nested letter context."""
    if name in facts:
        return facts[name]
    value: object = facts
    for part in name.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def parse_conditions(value: Any) -> tuple[tuple[Condition, ...], list[str]]:
    """`when:` as one condition, several joined by `and`, or a list of them (all must hold)."""
    texts = [str(v) for v in value] if isinstance(value, list) else ([] if value is None else [str(value)])
    conditions: list[Condition] = []
    problems: list[str] = []
    for text in texts:
        for part in re.split(r"\s+and\s+", text.strip()):
            match = _COMPARISON.match(part)
            if match is None or (match[1] and match[3]) or (match[3] and not match[4]):
                problems.append(f"`when: {part}` is not a condition (write e.g. `demands_sent >= 1`, `debtor.note`, "
                                f"`not waiver.offered`, `debtor.type == \"company\"`)")
                continue
            negated, fact, operator, literal = match.groups()
            if operator is None:
                conditions.append(Condition(fact, "not given" if negated else "given", None, part.strip()))
                continue
            parsed = _literal(literal)
            if parsed is None:
                problems.append(f"`when: {part}`: {literal!r} is not a value (write a whole number, true, false "
                                "or a quoted text)")
                continue
            conditions.append(Condition(fact, operator, parsed, part.strip()))
    return tuple(conditions), problems


def _literal(text: str) -> int | str | bool | None:
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    if text in ("true", "false"):
        return text == "true"
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return None


@dataclass(frozen=True)
class Clause:
    id: str
    version: str
    title: str
    locale: str
    jurisdiction: str
    kinds: tuple[str, ...]
    creditor_types: tuple[str, ...]
    categories: tuple[str, ...]
    slot: str
    effective_from: date
    effective_until: date | None
    status: str
    approved_by: str
    approved_on: date | None
    citations: tuple[str, ...]
    variables: tuple[str, ...]
    text: str
    path: str
    text_line: int  # the file line where the text starts, for messages
    when: tuple[Condition, ...] = ()
    # The clause gives notice of suspending water (heat, gas, power) supply: the letter goes on paper only.
    suspension_notice: bool = False

    @property
    def content_hash(self) -> str:
        """The text's hash; with conditions, the conditions too, since they decide which letters carry it."""
        hashed = self.text.strip()
        if self.when:
            hashed += "\n---when: " + " and ".join(c.text for c in self.when)
        return hashlib.sha256(hashed.encode("utf-8")).hexdigest()

    @property
    def when_text(self) -> str:
        return " and ".join(c.text for c in self.when)

    def applies(self, facts: Mapping[str, object]) -> bool:
        return all(condition.holds(facts) for condition in self.when)

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_until is None or on <= self.effective_until)

    def serves(self, kind: str, locale: str, creditor_type: str, category: str) -> bool:
        return (kind in self.kinds and self.locale == locale and creditor_type in self.creditor_types
                and category in self.categories)


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return (str(value),)


def _load_yaml(text: str) -> Any:
    """libyaml's parser (PyYAML's C loader) reads the front matter of the whole library several
    times faster than the pure-Python one; the types it makes are the same (the resolver is
    shared). Its error messages are worded differently, so a file it refuses is read again with
    the pure-Python loader, whose message names the problem as the legal team's documentation
    shows it."""
    import yaml  # only when the front matter is not in the cache (FrontMatterCache)

    fast_loader = _fast_loader()
    try:
        return yaml.load(text, Loader=fast_loader) or {}
    except yaml.YAMLError:
        if fast_loader is yaml.SafeLoader:
            raise
    return yaml.load(text, Loader=yaml.SafeLoader) or {}  # raises the pure-Python loader's error


def _fast_loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml_error() -> type[Exception]:
    import yaml

    return yaml.YAMLError


class FrontMatterCache:
    """The front matter of a folder's clauses as YAML read it, kept in the cache folder (one JSON
    file per clause folder) so that a one-letter command does not parse the library's YAML again
    (and never imports PyYAML while no clause changed). An entry is found by the SHA-256 of the
    front matter's text, so an edited clause is read afresh. Only front matter that JSON gives back
    exactly is kept (text, numbers, true/false, dates, lists, key: value maps), and only in a folder
    that is the user's own: an entry decides whether a clause counts as approved. A missing,
    damaged or foreign file is read again from the clauses; an unwritable folder only costs time."""

    _FORMAT = 1

    def __init__(self, folder: Path) -> None:
        name = hashlib.sha256(os.path.realpath(folder).encode("utf-8", "surrogateescape")).hexdigest()[:24]
        self.path = cache_folder() / f"clauses-{name}.json"
        self.key = {"format": self._FORMAT, "folder": os.path.realpath(folder)}
        self.usable = private_folder(cache_folder(), "the clauses' front matter entries")
        stored = read_entry(self.path, self.key) if self.usable else None
        entries = stored.get("entries") if stored else None
        self.stored: dict[str, Any] = entries if isinstance(entries, dict) else {}
        self.used: dict[str, Any] = {}

    def front_matter(self, text: str) -> Any:
        """The front matter as `_load_yaml` reads it (raising its error), from the cache when there."""
        digest = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
        if digest in self.stored:
            found = _from_json(self.stored[digest])
            if found is not _UNKEPT:
                self.used[digest] = self.stored[digest]
                return found
        meta = _load_yaml(text)
        kept = _to_json(meta)
        if kept is not _UNKEPT and _from_json(kept) == meta:
            self.used[digest] = kept
        return meta

    def save(self) -> None:
        """Keep the entries of this reading (those of clauses since deleted or edited go)."""
        if self.usable and self.used != self.stored:
            write_entry(self.path, {"key": self.key, "entries": self.used}, "clause front matter")


_UNKEPT = object()
_DATE_TAG = "$date"


def _to_json(value: Any) -> Any:
    """The value as JSON keeps it (dates tagged), or _UNKEPT for anything JSON would not give back."""
    if value is None or type(value) in (str, bool, int):
        return value
    if type(value) is float:
        return value if value == value and value not in (float("inf"), float("-inf")) else _UNKEPT
    if type(value) is date:
        return {_DATE_TAG: value.isoformat()}
    if type(value) is list:
        items = [_to_json(item) for item in value]
        return _UNKEPT if any(item is _UNKEPT for item in items) else items
    if type(value) is dict and all(type(key) is str and key != _DATE_TAG for key in value):
        entries = {key: _to_json(item) for key, item in value.items()}
        return _UNKEPT if any(item is _UNKEPT for item in entries.values()) else entries
    return _UNKEPT


def _from_json(value: Any) -> Any:
    if isinstance(value, list):
        items = [_from_json(item) for item in value]
        return _UNKEPT if any(item is _UNKEPT for item in items) else items
    if isinstance(value, dict):
        if set(value) == {_DATE_TAG}:
            try:
                return date.fromisoformat(value[_DATE_TAG])
            except (TypeError, ValueError):
                return _UNKEPT
        entries = {key: _from_json(item) for key, item in value.items()}
        return _UNKEPT if any(item is _UNKEPT for item in entries.values()) else entries
    return value


def parse_clause(path: Path, text: str, cache: FrontMatterCache | None = None) -> tuple[Clause | None, list[Diagnostic]]:
    """One clause file: YAML front matter between --- lines, then the text."""
    file = str(path)
    match = _FRONT_MATTER.match(text)
    if not match:
        return None, [Diagnostic(file, 1, None, "front-matter", "front matter missing: start the file with a --- block")]
    try:
        meta = cache.front_matter(match.group(1)) if cache is not None else _load_yaml(match.group(1))
    except _yaml_error() as error:  # evaluated only when something was raised: PyYAML is imported then
        mark = getattr(error, "context_mark", None) or getattr(error, "problem_mark", None)
        line = (mark.line if mark is not None else 0) + 2  # the YAML starts on the file's second line
        problem = getattr(error, "problem", None) or str(error)
        return None, [Diagnostic(file, line, None, "front-matter", f"front matter is not valid YAML: {problem}")]
    if not isinstance(meta, dict):
        return None, [Diagnostic(file, 2, None, "front-matter", "front matter must be key: value lines")]
    problems = [Diagnostic(file, 1, key, "front-matter", "required key missing") for key in REQUIRED_KEYS
                if key not in meta]
    if problems:
        return None, problems
    version = str(meta["version"])
    if not _VERSION.match(version):
        problems.append(Diagnostic(file, _key_line(text, "version"), "version", "front-matter",
                                   f"version {version!r} is not semantic (write 1.0.0)"))
    status = str(meta["status"])
    if status not in STATUSES:
        problems.append(Diagnostic(file, _key_line(text, "status"), "status", "front-matter",
                                   f"status {status!r} must be one of {', '.join(STATUSES)}"))
    dates: dict[str, date | None] = {}
    for key in ("effective_from", "effective_until", "approved_on"):
        value = meta.get(key)
        if value is None or isinstance(value, date):
            dates[key] = value
        else:
            problems.append(Diagnostic(file, _key_line(text, key), key, "front-matter",
                                       f"{value!r} is not a date (write 2026-01-01)"))
            dates[key] = None
    if not isinstance(meta.get("suspension_notice", False), bool):
        problems.append(Diagnostic(file, _key_line(text, "suspension_notice"), "suspension_notice", "front-matter",
                                   "suspension_notice is true or false"))
    conditions, wrong = parse_conditions(meta.get("when"))
    problems.extend(Diagnostic(file, _key_line(text, "when"), "when", "condition", message) for message in wrong)
    problems.extend(Diagnostic(file, _key_line(text, "when"), "when", "condition", c.problem())
                    for c in conditions if c.problem())
    if problems:
        return None, problems
    body_line = text[: match.end()].count("\n") + 1
    clause = Clause(
        id=str(meta["id"]), version=version, title=str(meta["title"]), locale=str(meta["locale"]),
        jurisdiction=str(meta["jurisdiction"]), kinds=_as_tuple(meta["kinds"]),
        creditor_types=_as_tuple(meta["creditor_types"]),
        categories=_as_tuple(meta.get("categories")) or tuple(c.value for c in DebtorCategory),
        slot=str(meta["slot"]), effective_from=dates["effective_from"] or date.min,
        effective_until=dates["effective_until"], status=status, approved_by=str(meta.get("approved_by") or ""),
        approved_on=dates["approved_on"], citations=_as_tuple(meta.get("citations")),
        variables=_as_tuple(meta.get("variables")), text=text[match.end():].strip(), path=file,
        text_line=body_line, when=conditions, suspension_notice=bool(meta.get("suspension_notice", False)),
    )
    return clause, []


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _key_line(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(f"{key}:"):
            return number
    return 1


@dataclass(frozen=True)
class ClauseLibrary:
    clauses: tuple[Clause, ...]
    diagnostics: tuple[Diagnostic, ...]

    def versions(self, clause_id: str) -> list[Clause]:
        """Every version of one clause, oldest first."""
        found = [c for c in self.clauses if c.id == clause_id]
        return sorted(found, key=lambda c: tuple(int(part) for part in c.version.split(".")))

    def latest(self, clause_id: str) -> Clause:
        versions = self.versions(clause_id)
        if not versions:
            raise UserError(f"no clause with id {clause_id!r} (see `letterforge clauses list`)")
        return versions[-1]


def load_clause_library(folders: list[Path]) -> ClauseLibrary:
    """Every clause file under the folders; a later folder (the workspace) overrides a clause
    of the same id and version, or adds versions of its own."""
    by_id: dict[tuple[str, str], Clause] = {}
    problems: list[Diagnostic] = []
    real_folders = [os.path.realpath(f) for f in folders]
    for folder in folders:
        if not folder.is_dir():
            continue
        in_folder: dict[tuple[str, str], str] = {}
        cache = FrontMatterCache(folder)
        for path in sorted(folder.rglob("*.md")):
            if path.name.upper() == "README.MD":
                continue
            real = Path(os.path.realpath(path))
            if not any(real.is_relative_to(f) for f in real_folders):
                problems.append(Diagnostic(str(path), None, None, "outside", f"refused: it resolves to {real}, "
                                           "outside the clause folders (a symlink?); copy the clause in instead"))
                continue
            clause, found = parse_clause(path, text_of(path), cache)
            problems.extend(found)
            if clause is None:
                continue
            key = (clause.id, clause.version)
            if key in in_folder:
                problems.append(Diagnostic(clause.path, _key_line(text_of(path), "id"), "id", "duplicate-id",
                                           f"{clause.label} is also defined in {in_folder[key]}"))
                continue
            in_folder[key] = clause.path
            by_id[key] = clause
        cache.save()
    return ClauseLibrary(tuple(by_id.values()), tuple(problems))


def select_clauses(
    library: ClauseLibrary, kind: LetterKind, locale: str, creditor_type: str, category: str, on: date,
    allow_drafts: bool = False, preview: Clause | None = None, facts: Mapping[str, object] | None = None,
    slots: tuple[str, ...] | None = None,
) -> tuple[Clause, ...]:
    """The one clause for each slot of the letter whose conditions hold on the letter's facts; none
    or several is an error naming the slot (and, for none, the conditions that failed).

    `preview` puts one clause (a draft, say) in its slot, for `letterforge clauses preview`.
    `facts`: the letter's facts (drafts.letter_facts) that the clauses' `when:` are checked against.
    `slots`: other slots than the letter's, e.g. MESSAGE_SLOTS["email"] for the e-mail that carries it.
    """
    facts = facts or {}
    usable = ("approved", "draft") if allow_drafts else ("approved",)
    chosen: list[Clause] = []
    problems: list[str] = []
    for slot in KINDS[kind].slots if slots is None else slots:
        if preview is not None and preview.slot == slot:
            chosen.append(preview)
            continue
        serving = [c for c in library.clauses
                   if c.slot == slot and c.status in usable and c.in_force(on)
                   and c.serves(kind.value, locale, creditor_type, category)]
        candidates = [c for c in serving if c.applies(facts)]
        if allow_drafts and len(candidates) > 1:
            # In a preview, an approved text wins over drafts of other slots.
            approved = [c for c in candidates if c.status == "approved"]
            candidates = approved or candidates
        if len(candidates) == 1:
            chosen.append(candidates[0])
        elif not candidates and serving:
            failed = "; ".join(f"{c.label} needs {c.when_text} ({_actual(c, facts)})" for c in serving)
            problems.append(f"slot {slot!r}: no clause whose conditions hold for {kind.value} / {locale} / "
                            f"{creditor_type} / {category}: {failed}")
        elif not candidates:
            problems.append(f"slot {slot!r}: no approved clause in force on {on.isoformat()} for "
                            f"{kind.value} / {locale} / {creditor_type} / {category}")
        else:
            ids = ", ".join(c.label for c in candidates)
            problems.append(f"slot {slot!r}: {len(candidates)} clauses compete ({ids})")
    if problems:
        raise UserError("the letter's clauses cannot be chosen:\n" + "\n".join(problems))
    return tuple(chosen)


def _actual(clause: Clause, facts: Mapping[str, object]) -> str:
    failing = dict.fromkeys(c.fact for c in clause.when if not c.holds(facts))
    return ", ".join(f"{fact} is {_fact(facts, fact)!r}" for fact in failing)


def render_clause(environment: Environment, clause: Clause, context: dict[str, Any]) -> tuple[Paragraph, ...]:
    """The clause text with its variables filled in, as paragraphs of plain-text runs.

    **bold** markers are split off before rendering, so no value (a debtor's name, say) can
    ever turn into emphasis, markup or template code; the letter template escapes the runs.
    """
    paragraphs = []
    for block in re.split(r"\n\s*\n", clause.text):
        runs: list[Run] = []
        for index, segment in enumerate(block.replace("\n", " " if clause.locale.startswith("en") else "")
                                        .split("**")):
            if not segment:
                continue
            try:
                rendered = environment.from_string(segment).render(context)
            except TemplateError as error:
                raise UserError(f"{clause.path}:{clause.text_line}: clause {clause.id}: {error}") from None
            runs.append((rendered, index % 2 == 1))
        paragraphs.append(tuple(runs))
    return tuple(paragraphs)
