import shutil
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
AS_OF = "2026-11-25"


@pytest.fixture
def copy_sample(tmp_path):
    """A private copy of a sample workspace, to change or write into."""

    def copy(name: str, as_name: str = "") -> Path:
        target = tmp_path / (as_name or name)
        shutil.copytree(SAMPLES / name, target, ignore=shutil.ignore_patterns("rejects"))
        return target

    return copy
