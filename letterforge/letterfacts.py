"""What the ledger keeps of a made letter: its hash, deadline, amounts, clause versions, and the
snapshot of its inputs from which `reprint --rerender` makes it again."""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING, Any

from letterforge.records import PriorLetter

if TYPE_CHECKING:
    from letterforge.drafts import LetterDraft
    from letterforge.letters import LetterFactory


def issue_facts(factory: LetterFactory, draft: LetterDraft, content: bytes,
                earlier: tuple[PriorLetter, ...]) -> dict[str, Any]:
    """What the ledger records of a made letter: its hash, deadline, amounts, clauses, snapshot."""
    statement = draft.statement
    return {
        "sha256": hashlib.sha256(content).hexdigest(),
        "deadline": draft.deadline,
        "principal": statement.principal,
        "late_fees": statement.late_fees + statement.compensation,
        "total": statement.total,
        "clauses": [f"{c['id']}@{c['version']}#{c['sha256']}" for c in draft.clause_versions],
        "snapshot": letter_snapshot(factory, draft, earlier),
    }


def letter_snapshot(factory: LetterFactory, draft: LetterDraft, earlier: tuple[PriorLetter, ...]) -> dict[str, Any]:
    """The inputs of one letter, kept in the ledger so that `reprint --rerender` can make it again."""
    workspace = factory.workspace
    data = factory.data
    account_id = draft.account.account_id
    base_rates = workspace.base_rates
    history = [p for p in data.history if p.account_id == account_id] + list(earlier)
    return {
        "config": (workspace.path / "letterforge.toml").read_text(encoding="utf-8"),
        "account": {k: (v.isoformat() if isinstance(v, date) else str(v)) for k, v in asdict(draft.account).items()
                    if v is not None},
        "arrears": [{k: (v.isoformat() if isinstance(v, date) else str(v)) for k, v in asdict(item).items()}
                    for item in data.arrears_of(account_id)],
        "history": [{"account_id": p.account_id, "kind": p.kind.value, "issued_on": p.issued_on.isoformat(),
                     "reference": p.reference} for p in history],
        "base_rates": [[d.isoformat(), str(r)] for d, r in base_rates.changes] if base_rates else None,
        "kind": draft.kind.value, "issued_on": draft.issued_on.isoformat(), "reference": draft.reference,
    }
