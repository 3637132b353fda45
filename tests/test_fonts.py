import json
import os
import shutil

import pytest
from fontTools.ttLib import TTFont
from hypothesis import given
from hypothesis import strategies as st

from letterforge import fonts
from letterforge.diagnostics import UserError
from letterforge.fonts import (LETTER_FONTS, CodePoints, FontFile, covered_characters, drawable_characters, find_font,
                               font_coverage)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """A private cache folder, and no answer kept in the process from another test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(fonts.CACHE_ENV, str(folder))
    covered_characters.cache_clear()
    drawable_characters.cache_clear()
    yield folder
    covered_characters.cache_clear()
    drawable_characters.cache_clear()


@pytest.fixture
def small_font(tmp_path):
    """A font file of our own (a copy of a small system font), to change under the cache."""
    found = find_font("DejaVu Sans Mono")
    if found is None:
        pytest.skip("DejaVu Sans Mono is not installed")
    copy = tmp_path / "fonts" / found.path.name
    copy.parent.mkdir()
    shutil.copyfile(found.path, copy)
    return FontFile(copy, 0)


def test_the_letter_fonts_are_faces_of_the_noto_cjk_collections():
    for family in LETTER_FONTS:
        font = find_font(family)
        assert font is not None, family
        assert font.path.suffix == ".ttc" and font.index > 0  # the SC face of a collection
        assert find_font(family, "Bold").path != font.path


def test_a_family_fontconfig_only_substitutes_is_not_found():
    assert find_font("No Such Family Anywhere") is None
    assert find_font("Noto Serif CJK SC", "Ultra Wide Italic") is None


def test_a_missing_letter_font_is_a_clear_error():
    with pytest.raises(UserError, match="No Such Family.*is not installed: run `letterforge doctor`"):
        covered_characters(("Noto Serif CJK SC", "No Such Family"))


def test_coverage_is_the_fonts_character_map_and_is_read_once(cache, monkeypatch):
    font = find_font("Noto Serif CJK SC")
    expected = frozenset(TTFont(str(font.path), fontNumber=font.index, lazy=True).getBestCmap())
    assert font_coverage(font) == expected
    assert ord("欠") in expected and ord("£") in expected
    assert len(list(cache.glob("coverage-*.json"))) == 1
    both = covered_characters()
    assert both >= expected
    assert len(list(cache.glob("coverage-*.json"))) == len(LETTER_FONTS)

    def no_reading(font):
        raise AssertionError("the font was read again although the cache is fresh")

    monkeypatch.setattr(fonts, "read_coverage", no_reading)
    covered_characters.cache_clear()  # as a new process
    assert font_coverage(font) == expected
    assert covered_characters() == both


def test_the_glyph_checks_runs_are_the_same_code_points_as_the_set(cache, monkeypatch):
    # The glyph check asks `drawable_characters` (runs read from the cache, a binary search), the
    # doctor `covered_characters` (a set): the same answer for every code point, fresh or cached.
    both = covered_characters()
    for fresh in (False, True):
        if fresh:  # as a new process, with every entry in the cache
            monkeypatch.setattr(fonts, "read_coverage", lambda font: pytest.fail("read again although cached"))
        drawable_characters.cache_clear()
        runs = drawable_characters()
        assert len(runs) == len(both)
        assert [p for p in range(0x30000) if (p in runs) != (p in both)] == []
    assert ord("欠") in runs and ord("£") in runs and 0x10FFFF not in runs and -1 not in runs and "A" not in runs


@given(st.lists(st.tuples(st.integers(0, 300), st.integers(0, 40)), max_size=12), st.integers(-5, 360))
def test_code_points_as_runs_answer_as_a_set_does(runs, point):
    points = {p for first, width in runs for p in range(first, first + width + 1)}
    as_runs = CodePoints([[first, first + width] for first, width in runs])
    assert (point in as_runs) == (point in points) and len(as_runs) == len(points)


def test_a_missing_letter_font_is_a_clear_error_for_the_glyph_check_too():
    with pytest.raises(UserError, match="No Such Family.*is not installed: run `letterforge doctor`"):
        drawable_characters(("Noto Serif CJK SC", "No Such Family"))


def test_a_changed_font_file_is_read_again(small_font, monkeypatch):
    first = font_coverage(small_font)
    reads = []
    monkeypatch.setattr(fonts, "read_coverage", lambda font: reads.append(font) or frozenset({65}))
    stat = small_font.path.stat()
    os.utime(small_font.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert font_coverage(small_font) == frozenset({65}) != first
    assert reads == [small_font]
    assert font_coverage(small_font) == frozenset({65})  # and the new answer is cached
    assert len(reads) == 1


@pytest.mark.parametrize("content", [
    b"", b"\xff\xfe not text", b"{not json", b"[]", b'{"key": null}',
    b"TRUNCATED",  # the first half of a good file, written below
    b"RANGES:[[70, 65]]", b'RANGES:[[1, "2"]]', b"RANGES:[[0, 1114112]]", b"RANGES:{}", b"RANGES:[[true, 5]]",
])
def test_a_corrupted_cache_file_is_ignored_and_repaired(small_font, content):
    good = font_coverage(small_font)
    [path] = fonts.cache_folder().glob("coverage-*.json")
    stored = json.loads(path.read_text())
    if content == b"TRUNCATED":
        content = path.read_bytes()[: path.stat().st_size // 2]
    elif content.startswith(b"RANGES:"):
        content = json.dumps({"key": stored["key"], "ranges": json.loads(content[7:])}).encode()
    path.write_bytes(content)
    assert font_coverage(small_font) == good
    assert json.loads(path.read_text()) == stored


def test_an_unwritable_cache_folder_costs_only_time(small_font, cache):
    cache.parent.mkdir(exist_ok=True)
    cache.write_text("a file where the folder should be")
    assert font_coverage(small_font) == font_coverage(small_font) != frozenset()
    assert cache.read_text() == "a file where the folder should be"
    assert not list(cache.parent.glob(".coverage-*"))


def test_the_cache_folder_defaults_to_the_users_cache(monkeypatch, tmp_path):
    monkeypatch.delenv(fonts.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert fonts.cache_folder() == tmp_path / "xdg" / "letterforge"


@given(st.frozensets(st.integers(0, 0x10FFFF), max_size=300))
def test_code_points_survive_the_ranges_they_are_stored_as(points):
    ranges = fonts._ranges(points)
    assert fonts._from_ranges(json.loads(json.dumps(ranges))) == points
    assert all(a[1] + 1 < b[0] for a, b in zip(ranges, ranges[1:]))  # runs are maximal
