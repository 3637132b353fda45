"""The legal clause library: versioned clause files, and the choice of clauses for one letter."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, TemplateError

from letterforge.diagnostics import Diagnostic, UserError
from letterforge.records import DebtorCategory, LetterKind

# The slots each letter kind is made of, in reading order.
LETTER_SLOTS: dict[LetterKind, tuple[str, ...]] = {
    LetterKind.REMINDER: ("opening", "statement_of_debt", "category_offer", "request", "dispute_contact",
                          "privacy_note"),
    LetterKind.DEMAND: ("opening", "statement_of_debt", "late_fee_basis", "category_offer",
                        "deadline_and_choices", "consequence", "dispute_contact", "privacy_note"),
    LetterKind.LAWYER: ("instruction", "facts", "legal_basis", "category_offer", "demand", "deadline",
                        "consequence", "dispute_contact", "privacy_note"),
}
REQUIRED_KEYS = ("id", "version", "title", "locale", "jurisdiction", "kinds", "creditor_types", "slot",
                 "effective_from", "status")
STATUSES = ("draft", "approved", "retired")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")

Run = tuple[str, bool]  # text, bold
Paragraph = tuple[Run, ...]


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
    when: tuple[str, ...] = ()  # conditions on the letter's data, all of which must hold

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.strip().encode("utf-8")).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.id}@{self.version}"

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_until is None or on <= self.effective_until)

    def serves(self, kind: str, locale: str, creditor_type: str, category: str) -> bool:
        return (kind in self.kinds and self.locale == locale and creditor_type in self.creditor_types
                and category in self.categories)

    def applies_to(self, facts: Mapping[str, Any]) -> bool:
        return all(condition_holds(condition, facts) for condition in self.when)


# A clause condition (`when:` in the front matter): `path`, `not path` or `path OP literal`, where OP is
# ==, !=, >=, <=, >, < and the literal a quoted string or an integer; e.g. `debtor.type != "company"`.
_CONDITION = re.compile(r"""^\s*(not\s+)?([a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)*)\s*"""
                        r"""(?:(==|!=|>=|<=|>|<)\s*("[^"]*"|'[^']*'|-?\d+))?\s*$""")


def condition_error(condition: str) -> str:
    """Why a condition cannot be read; empty when it can."""
    match = _CONDITION.match(condition)
    if match is None:
        return (f"condition {condition!r} is not `name`, `not name` or `name OP value` "
                '(OP one of == != >= <= > <, value a quoted text or a whole number)')
    if match.group(1) and match.group(3):
        return f"condition {condition!r}: write `not` only before a name on its own"
    return ""


def condition_holds(condition: str, facts: Mapping[str, Any]) -> bool:
    """Evaluate one condition against the letter's facts; a name that is not there is empty."""
    match = _CONDITION.match(condition)
    if match is None:
        raise UserError(f"clause condition {condition!r} cannot be read")
    negate, path, operator, literal = match.groups()
    value: Any = facts
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if operator is None:
        return not value if negate else bool(value)
    expected: Any = literal[1:-1] if literal[0] in "\"'" else int(literal)
    if isinstance(expected, int):
        if not isinstance(value, int) or isinstance(value, bool):
            return False
    else:
        value = "" if value is None else str(value)
    comparisons = {"==": value == expected, "!=": value != expected}
    if operator in comparisons:
        return comparisons[operator]
    if isinstance(expected, str):
        return False
    return {">=": value >= expected, "<=": value <= expected, ">": value > expected, "<": value < expected}[operator]


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return (str(value),)


def parse_clause(path: Path, text: str) -> tuple[Clause | None, list[Diagnostic]]:
    """One clause file: YAML front matter between --- lines, then the text."""
    file = str(path)
    match = _FRONT_MATTER.match(text)
    if not match:
        return None, [Diagnostic(file, 1, None, "front-matter", "front matter missing: start the file with a --- block")]
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as error:
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
    when = _as_tuple(meta.get("when"))
    for condition in when:
        error = condition_error(condition)
        if error:
            problems.append(Diagnostic(file, _key_line(text, "when"), "when", "front-matter", error))
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
        text_line=body_line, when=when,
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
    for folder in folders:
        if not folder.is_dir():
            continue
        in_folder: dict[tuple[str, str], str] = {}
        for path in sorted(folder.rglob("*.md")):
            if path.name.upper() == "README.MD":
                continue
            real = Path(os.path.realpath(path))
            if not any(real.is_relative_to(os.path.realpath(f)) for f in folders):
                problems.append(Diagnostic(str(path), None, None, "outside", f"refused: it resolves to {real}, "
                                           "outside the clause folders (a symlink?); copy the clause in instead"))
                continue
            clause, found = parse_clause(path, text_of(path))
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
    return ClauseLibrary(tuple(by_id.values()), tuple(problems))


def select_clauses(
    library: ClauseLibrary, kind: LetterKind, locale: str, creditor_type: str, category: str, on: date,
    allow_drafts: bool = False, preview: Clause | None = None, facts: Mapping[str, Any] | None = None,
) -> tuple[Clause, ...]:
    """The one clause for each slot of the letter; none or several is an error naming the slot.

    `preview` puts one clause (a draft, say) in its slot, for `letterforge clauses preview`.
    `facts`: the letter's data that clause conditions (`when:`) are checked against.
    """
    facts = facts or {}
    usable = ("approved", "draft") if allow_drafts else ("approved",)
    chosen: list[Clause] = []
    problems: list[str] = []
    for slot in LETTER_SLOTS[kind]:
        if preview is not None and preview.slot == slot:
            chosen.append(preview)
            continue
        candidates = [c for c in library.clauses
                      if c.slot == slot and c.status in usable and c.in_force(on)
                      and c.serves(kind.value, locale, creditor_type, category) and c.applies_to(facts)]
        if allow_drafts and len(candidates) > 1:
            # In a preview, an approved text wins over drafts of other slots.
            approved = [c for c in candidates if c.status == "approved"]
            candidates = approved or candidates
        if len(candidates) == 1:
            chosen.append(candidates[0])
        elif not candidates:
            conditional = sorted({f"when {' and '.join(c.when)}" for c in library.clauses
                                  if c.slot == slot and c.when and c.serves(kind.value, locale, creditor_type, category)})
            unmet = f" (conditions not met: {'; '.join(conditional)})" if conditional else ""
            problems.append(f"slot {slot!r}: no approved clause in force on {on.isoformat()} for "
                            f"{kind.value} / {locale} / {creditor_type} / {category}{unmet}")
        else:
            ids = ", ".join(c.label for c in candidates)
            problems.append(f"slot {slot!r}: {len(candidates)} clauses compete ({ids})")
    if problems:
        raise UserError("the letter's clauses cannot be chosen:\n" + "\n".join(problems))
    return tuple(chosen)


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
