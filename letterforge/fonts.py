"""Fonts: where the letter fonts are (fontconfig), which characters they draw (cached on disk per
font file), WeasyPrint's font configuration, and whether HarfBuzz can subset them."""

from __future__ import annotations

import ctypes.util
import hashlib
import logging
import subprocess
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from letterforge.caches import CACHE_ENV, cache_folder, file_stamp, read_entry, write_entry  # noqa: F401 (CACHE_ENV)
from letterforge.diagnostics import UserError

log = logging.getLogger(__name__)

# Every font stack of the letters names these; the glyph check reads their character maps.
LETTER_FONTS = ("Noto Serif CJK SC", "Noto Sans CJK SC")
_COVERAGE_FORMAT = 1


@dataclass(frozen=True)
class FontFile:
    """One face of a font file: a collection (.ttc) holds several, picked by index."""

    path: Path
    index: int = 0


def _fc_escaped(family: str) -> str:
    return "".join("\\" + char if char in "\\-:," else char for char in family)


def _plain(text: str) -> str:
    return text.replace(" ", "").replace("-", "").casefold()


def find_font(family: str, style: str | None = None) -> FontFile | None:
    """The face fontconfig draws `family` (in `style`, if given) with: the same fonts WeasyPrint
    uses. None unless fontconfig has that very family (and style), not a fallback for it."""
    pattern = _fc_escaped(family) + (f":style={style}" if style else "")
    try:
        answer = subprocess.run(["fc-match", "-f", "%{family}|%{style}|%{file}|%{index}", pattern],
                                capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    parts = answer.split("|")
    if len(parts) != 4:
        return None
    families, styles, file, index = parts
    if family.casefold() not in {name.strip().casefold() for name in families.split(",")} or not file:
        return None
    if style is not None and _plain(style) not in {_plain(s) for s in styles.split(",")}:
        return None
    if not index.strip().isdigit() or int(index) >> 16:  # a named instance of a variable font
        return None
    path = Path(file)
    return FontFile(path, int(index)) if path.is_file() else None


def cjk_families() -> list[str] | None:
    """The families with Simplified Chinese glyphs, sorted; None when fontconfig is missing."""
    try:
        listed = subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True, check=False)
    except OSError:
        return None
    return sorted({line.split(",")[0].strip() for line in listed.stdout.splitlines() if line.strip()})


def harfbuzz_subset_library() -> str | None:
    """The HarfBuzz subsetting library's name, or None: without it WeasyPrint only warns, then
    runs ~30x slower and embeds whole fonts."""
    return ctypes.util.find_library("harfbuzz-subset")


@lru_cache(maxsize=1)
def font_configuration() -> Any:
    """WeasyPrint's font configuration, made once per process: it costs most of a second."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def _faces(families: tuple[str, ...]) -> list[FontFile]:
    """The face of each family, or a clear error naming every family that is not installed."""
    found = {family: find_font(family) for family in families}
    missing = [family for family, font in found.items() if font is None]
    if missing:
        raise UserError(f"font {', '.join(missing)} is not installed: run `letterforge doctor`")
    return [font for font in found.values() if font is not None]


@lru_cache(maxsize=None)
def covered_characters(families: tuple[str, ...] = LETTER_FONTS) -> frozenset[int]:
    """Every code point that the fonts can draw (read once per process, from the disk cache
    when the font files have not changed)."""
    covered: set[int] = set()
    for font in _faces(families):
        covered.update(font_coverage(font))
    return frozenset(covered)


class CodePoints:
    """A set of code points kept as sorted runs: `in` is a binary search. The glyph check of one
    letter asks about a few hundred characters; a set of the ~65,000 a CJK font draws would cost
    more to build than every question costs to answer."""

    def __init__(self, runs: list[list[int]]) -> None:
        merged: list[list[int]] = []
        for first, last in sorted(runs):
            if merged and first <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        self._firsts = [first for first, _ in merged]
        self._lasts = [last for _, last in merged]

    def __contains__(self, point: object) -> bool:
        if not isinstance(point, int):
            return False
        at = bisect_right(self._firsts, point) - 1
        return at >= 0 and point <= self._lasts[at]

    def __len__(self) -> int:
        return sum(last - first + 1 for first, last in zip(self._firsts, self._lasts))


@lru_cache(maxsize=None)
def drawable_characters(families: tuple[str, ...] = LETTER_FONTS) -> CodePoints:
    """The code points of `covered_characters`, as runs read straight from the disk cache."""
    return CodePoints([run for font in _faces(families) for run in _coverage_runs(font)])


# -- the glyph coverage cache --------------------------------------------------------------------

def _cache_key(font: FontFile) -> dict[str, Any]:
    stamp = file_stamp(font.path)
    return {"format": _COVERAGE_FORMAT, "path": stamp["path"], "index": font.index, "size": stamp["size"],
            "mtime_ns": stamp["mtime_ns"]}


def _cache_file(key: dict[str, Any]) -> Path:
    name = hashlib.sha256(f"{key['path']}\0{key['index']}".encode()).hexdigest()[:24]
    return cache_folder() / f"coverage-{name}.json"


def _ranges(code_points: frozenset[int]) -> list[list[int]]:
    """Runs of consecutive code points as [first, last]: a CJK font's 45,000 fit in a few KB."""
    ranges: list[list[int]] = []
    for point in sorted(code_points):
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])
    return ranges


def _valid_ranges(ranges: object) -> list[list[int]] | None:
    if not isinstance(ranges, list):
        return None
    for entry in ranges:
        if not (isinstance(entry, list) and len(entry) == 2 and all(type(n) is int for n in entry)
                and 0 <= entry[0] <= entry[1] <= 0x10FFFF):
            return None
    return ranges


def _from_ranges(ranges: object) -> frozenset[int] | None:
    if _valid_ranges(ranges) is None:
        return None
    points: set[int] = set()
    for first, last in ranges:  # type: ignore[union-attr]
        points.update(range(first, last + 1))
    return frozenset(points)


def _cached_ranges(path: Path, key: dict[str, Any]) -> list[list[int]] | None:
    stored = read_entry(path, key)
    return None if stored is None else _valid_ranges(stored.get("ranges"))


def _read_cached(path: Path, key: dict[str, Any]) -> frozenset[int] | None:
    ranges = _cached_ranges(path, key)
    return None if ranges is None else _from_ranges(ranges)


def _write_cached(path: Path, key: dict[str, Any], code_points: frozenset[int]) -> None:
    write_entry(path, {"key": key, "ranges": _ranges(code_points)}, "glyph coverage")


def read_coverage(font: FontFile) -> frozenset[int]:
    """The code points of the face's character map, read from the font file (~0.2 s for Noto CJK)."""
    from fontTools.ttLib import TTFont

    return frozenset(TTFont(str(font.path), fontNumber=font.index, lazy=True).getBestCmap())


def _coverage_runs(font: FontFile) -> list[list[int]]:
    """The face's code points as runs [first, last], from the cache without making a set of them
    (a missing, stale or damaged entry: read from the font and cached, as by `font_coverage`)."""
    try:
        key = _cache_key(font)
    except OSError:
        return _ranges(read_coverage(font))
    cached = _cached_ranges(_cache_file(key), key)
    return cached if cached is not None else _ranges(font_coverage(font))


def font_coverage(font: FontFile) -> frozenset[int]:
    """The code points the face draws, from the cache when its file's path, size and mtime match."""
    try:
        key = _cache_key(font)
    except OSError:
        return read_coverage(font)
    path = _cache_file(key)
    cached = _read_cached(path, key)
    if cached is not None:
        return cached
    coverage = read_coverage(font)
    _write_cached(path, key, coverage)
    return coverage
