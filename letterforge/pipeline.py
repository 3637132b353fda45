"""The stages strung together: what each command does, callable from Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from letterforge.diagnostics import Diagnostic, UserError
from letterforge.outputs import write_rejects
from letterforge.statements import Statement, compute_statement
from letterforge.validation import DebtorData
from letterforge.workspace import Workspace


@dataclass(frozen=True)
class ValidationReport:
    data: DebtorData
    rejects_files: tuple[Path, ...]

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return self.data.diagnostics


def validate_workspace(workspace: Workspace, rejects_dir: Path | None = None) -> ValidationReport:
    """Check every data file and write the rejected rows, with their reasons, beside them."""
    data = workspace.load_data()
    written = write_rejects(data.rejects, rejects_dir or workspace.rejects_dir)
    return ValidationReport(data, tuple(written))


def compute_statements(
    workspace: Workspace, account_ids: tuple[str, ...], as_of: date, data: DebtorData | None = None
) -> list[Statement]:
    """Statements of the given accounts (all accounts when none are given) on the as-of date."""
    data = data or workspace.load_data()
    if account_ids:
        unknown = [a for a in account_ids if data.account(a) is None]
        if unknown:
            rejected = {r.cells[0] for r in data.rejects if r.table == "accounts" and r.cells}
            reasons = [f"{a} (its row was rejected; run `letterforge validate`)" if a in rejected else a
                       for a in unknown]
            raise UserError(f"unknown account: {', '.join(reasons)}")
        accounts = [data.account(a) for a in account_ids]
    else:
        accounts = list(data.accounts)
    return [
        compute_statement(account, data.arrears_of(account.account_id), workspace.config, as_of,
                          workspace.base_rates)
        for account in accounts
        if account is not None
    ]
