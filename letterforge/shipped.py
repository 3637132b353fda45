"""The folders letterforge ships beside its code: the templates, the legal clause library and the samples."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

ShippedFolder = Literal["templates", "legal_clauses", "samples"]
SHIPPED_FOLDERS: tuple[ShippedFolder, ...] = ("templates", "legal_clauses", "samples")
# In a wheel the three folders are package data under letterforge/shipped/ (pyproject.toml maps
# the repository's top-level folders there); in a checkout (make setup's editable install) they
# are the repository's own top-level folders, where the legal team edits them.
PACKAGED = "shipped"


@cache
def shipped_root() -> Path:
    """Where the shipped folders are: inside the installed package, else the checkout it runs from."""
    package = files("letterforge")
    if not isinstance(package, Path):
        raise RuntimeError(f"letterforge is imported from {package}; it must be installed as files (pip install)")
    packaged = package / PACKAGED
    return packaged if packaged.is_dir() else package.parent


def shipped_folder(name: ShippedFolder) -> Path:
    """One of the shipped folders (`templates`, `legal_clauses`, `samples`)."""
    if name not in SHIPPED_FOLDERS:
        raise ValueError(f"letterforge ships no folder {name!r}")
    return shipped_root() / name
