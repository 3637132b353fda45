"""Problems in user data, templates and settings, kept as values and reported all at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Diagnostic:
    """One problem: where it is (file, row or line, column or key) and what is wrong."""

    file: str
    row: int | None
    column: str | None
    code: str
    message: str

    @property
    def location(self) -> str:
        return self.file if self.row is None else f"{self.file}:{self.row}"

    def __str__(self) -> str:
        column = f" {self.column}:" if self.column else ""
        return f"{self.location}:{column} {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "message": self.message,
        }


class UserError(Exception):
    """A mistake the user can fix (bad settings, unknown account): shown as one line, exit 1."""

    def __init__(self, message: str, diagnostics: tuple[Diagnostic, ...] = ()) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics
