"""Workspaces: a creditor's folder with letterforge.toml, its data files, overrides and ledger."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from letterforge.config import CONFIG_FILE, WorkspaceConfig, load_config
from letterforge.diagnostics import UserError
from letterforge.permissions import set_file_policy
from letterforge.latefees import BaseRates, load_base_rates
from letterforge.shipped import shipped_folder
from letterforge.validation import DebtorData, load_debtor_data

SAMPLES = shipped_folder("samples")
EXAMPLES = ("property-zh", "water-zh", "receivables-en")


@dataclass(frozen=True)
class Workspace:
    path: Path
    config: WorkspaceConfig

    @classmethod
    def open(cls, path: Path) -> Workspace:
        path = path.resolve()
        if not path.is_dir():
            raise UserError(f"{path}: no such workspace folder")
        config = load_config(path)
        set_file_policy(config.permissions.group)
        return cls(path, config)

    @property
    def rejects_dir(self) -> Path:
        return self.path / "rejects"

    def load_data(self) -> DebtorData:
        return load_debtor_data(self.path, self.config)

    @cached_property
    def base_rates(self) -> BaseRates | None:
        if not self.config.late_fee.base_rates:
            return None
        return load_base_rates(self.path / self.config.late_fee.base_rates)


def init_workspace(target: Path, example: str) -> Path:
    """Create a workspace at `target` from one of the bundled samples."""
    if example not in EXAMPLES:
        raise UserError(f"unknown example {example!r} (choose {', '.join(EXAMPLES)})")
    source = SAMPLES / example
    if not (source / CONFIG_FILE).is_file():
        raise UserError(f"the sample {example} is missing from this installation ({source}); reinstall letterforge")
    if target.exists() and any(target.iterdir()):
        raise UserError(f"{target}: folder exists and is not empty; choose a new folder")
    shutil.copytree(source, target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("rejects", "out", "*.sqlite*", "__pycache__"))
    return target
