"""Compact CJK fonts in WeasyPrint's PDFs: keep only the glyphs a letter uses.

WeasyPrint subsets fonts but keeps every glyph id up to the highest one used, so that its
content streams can address glyphs by their original ids. For the CID-keyed CFF fonts of
Noto CJK that leaves some 60,000 empty glyph slots and their metrics: about 700 KB per font.
A CID-keyed CFF font carries a charset that maps each glyph to its CID, and PDF viewers find
glyphs of a CIDFontType0C font by CID through that charset. So the fonts can be subset again
without keeping glyph ids, as long as they stay CID-keyed and are embedded as bare CFF:
the letter looks the same (tests compare the rendered pages) at a fifth of the size.
"""

from __future__ import annotations

import io
import logging
import mmap
from functools import lru_cache
from typing import Any

from letterforge.fonts import harfbuzz_subset_library

log = logging.getLogger(__name__)

_CDEF = """
typedef struct hb_blob_t hb_blob_t;
typedef struct hb_face_t hb_face_t;
typedef struct hb_set_t hb_set_t;
typedef struct hb_subset_input_t hb_subset_input_t;
typedef uint32_t hb_codepoint_t;
hb_blob_t * hb_blob_create (const char *data, unsigned int length, int mode, void *user_data, void *destroy);
void hb_blob_destroy (hb_blob_t *blob);
hb_face_t * hb_face_create (hb_blob_t *blob, unsigned int index);
void hb_face_destroy (hb_face_t *face);
hb_blob_t * hb_face_reference_blob (hb_face_t *face);
const char * hb_blob_get_data (hb_blob_t *blob, unsigned int *length);
hb_subset_input_t * hb_subset_input_create_or_fail (void);
void hb_subset_input_destroy (hb_subset_input_t *input);
hb_set_t * hb_subset_input_glyph_set (hb_subset_input_t *input);
void hb_set_add (hb_set_t *set, hb_codepoint_t codepoint);
void hb_subset_input_set_flags (hb_subset_input_t *input, unsigned value);
hb_set_t * hb_subset_input_set (hb_subset_input_t *input, int set_type);
hb_face_t * hb_subset_or_fail (hb_face_t *source, const hb_subset_input_t *input);
"""
_MEMORY_MODE_READONLY = 1
_SUBSET_FLAGS_NO_HINTING = 0x1
_SUBSET_FLAGS_DESUBROUTINIZE = 0x4
_SUBSET_SETS_DROP_TABLE_TAG = 3
# Dropped before subsetting: their glyph closure (GSUB most of all) would pull every alternate
# form of the wanted glyphs into the subset. Only the CFF table is kept anyway, and WeasyPrint's
# fonts have no GSUB left, so their subsets are unchanged; a system font's shrink to the CIDs asked.
_DROPPED_TABLES = (b"GSUB", b"GPOS", b"GDEF", b"BASE", b"JSTF", b"MATH", b"COLR")


@lru_cache(maxsize=1)
def _harfbuzz() -> tuple[Any, Any] | None:
    import cffi

    name = harfbuzz_subset_library()
    if name is None:
        return None
    ffi = cffi.FFI()
    ffi.cdef(_CDEF)
    return ffi, ffi.dlopen(name)


def subset_by_cid(font_program: bytes | mmap.mmap, cids: set[int], face_index: int = 0) -> bytes | None:
    """The bare CFF of a CID-keyed OpenType font, reduced to the given CIDs; None if the font
    is not CID-keyed or cannot be subset (it is then left as WeasyPrint wrote it).

    font_program may also be a system font file, face_index picking the face of a collection
    (.ttc), as long as its glyph ids are its CIDs (true of Noto CJK): charstrings come out
    without hints or subroutines, as WeasyPrint embeds them, so the same CIDs give the same
    bytes whether taken from a letter's font or from the system font."""
    from fontTools.ttLib import TTFont

    loaded = _harfbuzz()
    if loaded is None:
        return None
    ffi, hb = loaded
    # A mapped font file is read in place: HarfBuzz touches only the tables and glyphs it needs.
    data = font_program if isinstance(font_program, bytes) else ffi.from_buffer(font_program)
    blob = hb.hb_blob_create(data, len(font_program), _MEMORY_MODE_READONLY, ffi.NULL, ffi.NULL)
    face = hb.hb_face_create(blob, face_index)
    request = hb.hb_subset_input_create_or_fail()
    try:
        glyphs = hb.hb_subset_input_glyph_set(request)
        # WeasyPrint kept glyph ids, so in its font a glyph's id is its CID.
        for cid in sorted(cids | {0}):
            hb.hb_set_add(glyphs, cid)
        dropped = hb.hb_subset_input_set(request, _SUBSET_SETS_DROP_TABLE_TAG)
        for tag in _DROPPED_TABLES:
            hb.hb_set_add(dropped, int.from_bytes(tag, "big"))
        hb.hb_subset_input_set_flags(request, _SUBSET_FLAGS_NO_HINTING | _SUBSET_FLAGS_DESUBROUTINIZE)
        subset = hb.hb_subset_or_fail(face, request)
        if subset == ffi.NULL:
            return None
        result = hb.hb_face_reference_blob(subset)
        length = ffi.new("unsigned int *")
        data = bytes(ffi.buffer(hb.hb_blob_get_data(result, length), length[0]))
        hb.hb_blob_destroy(result)
        hb.hb_face_destroy(subset)
    finally:
        hb.hb_subset_input_destroy(request)
        hb.hb_face_destroy(face)
        hb.hb_blob_destroy(blob)
    font = TTFont(io.BytesIO(data))
    if "CFF " not in font or not hasattr(font["CFF "].cff.topDictIndex[0], "ROS"):
        return None
    return bytes(font.reader["CFF "])


def _used_cids(widths: Any) -> set[int]:
    """The CIDs of a CIDFont's /W array: [first [w w w] first [w] ...]."""
    cids: set[int] = set()
    for index in range(0, len(widths) - 1, 2):
        first = int(widths[index])
        cids.update(range(first, first + len(widths[index + 1])))
    return cids


def compact_cid_fonts(document: Any, pdf: Any) -> None:
    """WeasyPrint finisher: re-subset every CID-keyed CFF font program to the CIDs in use."""
    import pydyf

    by_reference = {obj.reference: obj for obj in pdf.objects if isinstance(obj, pydyf.Object)}
    used: dict[bytes, set[int]] = {}
    descriptors: dict[bytes, list[Any]] = {}
    for obj in pdf.objects:
        if isinstance(obj, pydyf.Dictionary) and obj.get("Subtype") == "/CIDFontType0" and "W" in obj:
            descriptor = by_reference[obj["FontDescriptor"]]
            program = descriptor.get("FontFile3")
            if program is None:
                continue
            used.setdefault(program, set()).update(_used_cids(obj["W"]))
            descriptors.setdefault(program, []).append(obj)
    for reference, cids in used.items():
        stream = by_reference[reference]
        if stream.extra.get("Subtype") != "/OpenType":
            continue
        compacted = subset_by_cid(b"".join(stream.stream), cids)
        if compacted is None:
            log.debug("font %s left as embedded (not CID-keyed)", reference)
            continue
        stream.stream = [compacted]
        stream.extra["Subtype"] = "/CIDFontType0C"
        for cid_font in descriptors[reference]:
            cid_font.pop("CIDToGIDMap", None)  # meaningless for CFF fonts; glyphs are found by CID
