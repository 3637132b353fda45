"""What the ledger keeps of a made letter: its hash, deadline, amounts, clause versions, and the
snapshot of the letter (model.snapshot_of) from which `reprint --rerender` makes it again."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from letterforge.model import snapshot_of
from letterforge.records import PriorLetter

if TYPE_CHECKING:
    from letterforge.drafts import LetterDraft
    from letterforge.letters import LetterFactory


def issue_facts(factory: LetterFactory, draft: LetterDraft, content: bytes,
                earlier: tuple[PriorLetter, ...]) -> dict[str, Any]:
    """What the ledger records of a made letter: its hash, deadline, amounts, clauses, snapshot."""
    statement = draft.letter.statement
    return {
        "sha256": hashlib.sha256(content).hexdigest(),
        "deadline": draft.deadline,
        "principal": statement.principal,
        "late_fees": statement.late_fees + statement.compensation,
        "total": statement.total,
        "clauses": [f"{version.label}#{version.sha256}" for version in draft.letter.clause_versions],
        "snapshot": snapshot_of(draft.letter),
    }
