"""Environment checks: Python, packages, fonts, HarfBuzz subsetting, a writable workspace."""

from __future__ import annotations

import ctypes.util
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

APT_PACKAGES = "fonts-noto-cjk libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 poppler-utils"
PYTHON_PACKAGES = ("docxtpl", "jinja2", "weasyprint", "click", "pydantic", "pypdf", "babel",
                   "openpyxl", "chinesecalendar", "holidays", "segno", "pyyaml")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def check_python() -> Check:
    version = ".".join(str(part) for part in sys.version_info[:3])
    return Check("python", sys.version_info >= (3, 11), version, "install Python 3.11 or newer")


def check_packages() -> list[Check]:
    checks = []
    for package in PYTHON_PACKAGES:
        try:
            checks.append(Check(f"package {package}", True, importlib.metadata.version(package)))
        except importlib.metadata.PackageNotFoundError:
            checks.append(Check(f"package {package}", False, "not installed", "run `make setup` (or pip install -e .)"))
    return checks


def check_cjk_font() -> Check:
    fix = "apt-get install fonts-noto-cjk"
    if shutil.which("fc-list") is None:
        return Check("CJK font", False, "fontconfig (fc-list) not found", "apt-get install fontconfig fonts-noto-cjk")
    listed = subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True, check=False)
    families = sorted({line.split(",")[0].strip() for line in listed.stdout.splitlines() if line.strip()})
    if not families:
        return Check("CJK font", False, "no font with Simplified Chinese glyphs", fix)
    return Check("CJK font", True, ", ".join(families[:3]) + (" …" if len(families) > 3 else ""))


def check_harfbuzz_subset() -> Check:
    # Without libharfbuzz-subset WeasyPrint only warns, then runs ~30x slower and embeds whole fonts.
    found = ctypes.util.find_library("harfbuzz-subset")
    return Check("HarfBuzz subsetting", found is not None, found or "libharfbuzz-subset not found",
                 "apt-get install libharfbuzz-subset0")


def check_weasyprint() -> Check:
    try:
        import weasyprint
    except (ImportError, OSError) as error:  # OSError: Pango missing
        return Check("WeasyPrint", False, str(error).splitlines()[0], "apt-get install libpango-1.0-0 libpangoft2-1.0-0")
    return Check("WeasyPrint", True, weasyprint.__version__)


def check_writable(folder: Path) -> Check:
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".letterforge-doctor-"):
            pass
    except OSError as error:
        return Check("output folder writable", False, f"{folder}: {error.strerror}",
                     "choose a workspace you can write to (-w PATH)")
    return Check("output folder writable", True, str(folder))


def run_checks(workspace: Path) -> list[Check]:
    """All checks, in the order a user fixes them."""
    return [check_python(), *check_packages(), check_weasyprint(), check_cjk_font(),
            check_harfbuzz_subset(), check_writable(workspace if workspace.is_dir() else Path(os.curdir))]
