"""Environment checks: Python, packages, fonts, HarfBuzz subsetting, a writable workspace."""

from __future__ import annotations

import importlib.metadata
import io
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from letterforge.fonts import cjk_families, harfbuzz_subset_library

APT_PACKAGES = "fonts-noto-cjk libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 poppler-utils"
PYTHON_PACKAGES = ("docxtpl", "jinja2", "weasyprint", "click", "pydantic", "pypdf", "babel",
                   "openpyxl", "chinesecalendar", "holidays", "segno", "pyyaml", "pyhanko", "dask", "distributed")


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
    families = cjk_families()
    if families is None:
        return Check("CJK font", False, "fontconfig (fc-list) not found", "apt-get install fontconfig fonts-noto-cjk")
    if not families:
        return Check("CJK font", False, "no font with Simplified Chinese glyphs", fix)
    return Check("CJK font", True, ", ".join(families[:3]) + (" …" if len(families) > 3 else ""))


def check_harfbuzz_subset() -> Check:
    found = harfbuzz_subset_library()
    return Check("HarfBuzz subsetting", found is not None, found or "libharfbuzz-subset not found",
                 "apt-get install libharfbuzz-subset0")


def check_weasyprint() -> Check:
    try:
        import weasyprint
    except (ImportError, OSError) as error:  # OSError: Pango missing
        return Check("WeasyPrint", False, str(error).splitlines()[0], "apt-get install libpango-1.0-0 libpangoft2-1.0-0")
    return Check("WeasyPrint", True, weasyprint.__version__)


def check_letter_fonts() -> Check:
    """The very fonts the letters name, as the glyph check finds them."""
    from letterforge.diagnostics import UserError
    from letterforge.fonts import LETTER_FONTS, covered_characters

    try:
        count = len(covered_characters())
    except UserError as error:
        return Check("letter fonts", False, str(error), "apt-get install fonts-noto-cjk")
    return Check("letter fonts", True, f"{', '.join(LETTER_FONTS)} ({count} characters)")


def check_test_letter() -> Check:
    """A line of a letter laid out and subset as a real one is: the CJK font embedded and compacted
    (about 5 KB; without HarfBuzz subsetting the compaction is skipped and it weighs some 140 KB)."""
    from pypdf import PdfReader

    from letterforge.pdffonts import compact_cid_fonts
    from letterforge.fonts import LETTER_FONTS, font_configuration

    try:
        from weasyprint import HTML

        html = f"<p style=\"font-family: '{LETTER_FONTS[0]}'\">催款通知书 Reminder 12,345.60</p>"
        content = HTML(string=html).write_pdf(font_config=font_configuration(), finisher=compact_cid_fonts)
        fonts = {str(font["/BaseFont"]) for page in PdfReader(io.BytesIO(content)).pages
                 for font in page["/Resources"]["/Font"].get_object().values()}
    except Exception as error:  # whatever stops a test letter stops the real ones
        return Check("test letter", False, f"{type(error).__name__}: {error}", "run `letterforge doctor` on this machine")
    embedded = sorted(name.split("+")[-1] for name in fonts)
    if not any("CJK" in name for name in embedded) or len(content) > 50_000:
        return Check("test letter", False, f"{len(content)} bytes, fonts {', '.join(embedded) or 'none'}: the CJK "
                     "font is missing or not compacted (HarfBuzz subsetting)", "apt-get install fonts-noto-cjk libharfbuzz-subset0")
    return Check("test letter", True, f"{len(content)} bytes, fonts {', '.join(embedded)}")


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


def run_worker_checks() -> list[Check]:
    """What a machine that renders letters for a batch elsewhere (a Dask worker) needs: no
    workspace, but the same packages, the letter fonts and HarfBuzz subsetting, proven by a test
    letter (without them a letter fails, or comes out different from the batch's own)."""
    checks = [check_python(), *check_packages(), check_weasyprint(), check_letter_fonts(), check_harfbuzz_subset()]
    if all(check.ok for check in checks):
        checks.append(check_test_letter())
    return checks
