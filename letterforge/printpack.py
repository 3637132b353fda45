"""Print packs: the letters of a run merged into one PDF for the print shop, each font once.

Every letter embeds its own subsets of the same few Noto CJK faces, as CID-keyed bare CFF
(see pdffonts). A CID is global to the system font it comes from (its glyph id), so one
subset of the system font holding the CIDs of all letters draws every page of the pack:
each face is embedded once instead of once per letter, and the letters' own font programs
are dropped. The letters' font dictionaries of a face become one too, with the widths (/W)
and Unicode maps of them all; content streams are left as they are, byte for byte.

Before a letter's font is pointed at the shared program, its glyphs are compared with the
shared program's, charstring by charstring (both come out of HarfBuzz without hints or
subroutines, so the same glyph is the same bytes): a letter rendered with another version
of the font, or a face fontconfig does not find, keeps its own font, correct but bigger.
Same letters in, same bytes out: nothing depends on the clock.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from letterforge.fonts import find_font
from letterforge.pdffonts import subset_by_cid

log = logging.getLogger(__name__)

PRODUCER = "letterforge"
_CID_FONT_PROGRAMS = ("/CIDFontType0C", "/OpenType")


def make_print_pack(letters: Sequence[Path | str | bytes]) -> bytes:
    """One PDF of the given single-letter PDFs (paths or contents), in order: one top-level
    bookmark per letter, titled with the letter's /Title, holding the letter's own outline;
    each CID-keyed font face embedded once for all letters."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    if not letters:
        raise ValueError("a print pack needs at least one letter")
    writer = PdfWriter()
    languages = set()
    for number, letter in enumerate(letters, 1):
        if isinstance(letter, (bytes, bytearray)):
            reader = PdfReader(io.BytesIO(letter))
            fallback = f"Letter {number}"
        else:
            reader = PdfReader(Path(letter))
            fallback = Path(letter).stem
        title = (reader.metadata.title if reader.metadata else None) or fallback
        _namespace_destinations(reader, f"{number}/")
        writer.append(reader, outline_item=str(title))
        languages.add(str(reader.root_object.get("/Lang", "")))

    _collapse_outline(writer)
    _share_fonts(writer)
    writer.compress_identical_objects(remove_duplicates=True, remove_unreferenced=False)
    _drop_unreachable(writer)

    writer.add_metadata({
        "/Producer": PRODUCER,
        "/Creator": PRODUCER,
        "/Title": f"Print pack: {len(letters)} letter{'s' if len(letters) != 1 else ''}",
    })
    writer.page_mode = "/UseOutlines"
    if len(languages) == 1 and (language := languages.pop()):
        writer.root_object[NameObject("/Lang")] = TextStringObject(language)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def _collapse_outline(writer: Any) -> None:
    """Show the letters' bookmarks closed: the pack opens on one line per letter."""
    from pypdf.generic import NameObject, NumberObject

    root = writer.get_outline_root()
    letters = list(root.children())
    for item in letters:
        if int(item.get("/Count", 0)) > 0:
            item[NameObject("/Count")] = NumberObject(-int(item["/Count"]))
    root[NameObject("/Count")] = NumberObject(len(letters))


def _drop_unreachable(writer: Any) -> None:
    """Drop every object the document no longer reaches: the letters' own font programs and
    font dictionaries. (compress_identical_objects(remove_unreferenced=True) drops only those
    nothing at all refers to, not what only they refer to.)"""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    reachable: set[int] = set()
    pending: list[Any] = [writer.root_object, writer._info]
    while pending:
        obj = pending.pop()
        if isinstance(obj, IndirectObject):
            if obj.idnum in reachable:
                continue
            reachable.add(obj.idnum)
            obj = obj.get_object()
        elif obj is not None and getattr(obj, "indirect_reference", None) is not None:
            reachable.add(obj.indirect_reference.idnum)
        if isinstance(obj, DictionaryObject):
            pending.extend(obj.values())
        elif isinstance(obj, ArrayObject):
            pending.extend(obj)
    for index in range(len(writer._objects)):
        if index + 1 not in reachable:
            writer._objects[index] = None


# Named destinations -------------------------------------------------------------------------

def _namespace_destinations(reader: Any, prefix: str) -> None:
    """Prefix a letter's named destinations (and its links to them) with its number: every
    letter has the same names (#arrears-detail...), and the merge keeps only the first of each."""
    from pypdf.generic import ArrayObject, NameObject, TextStringObject

    names = reader.root_object.get("/Names")
    dests = names.get_object().get("/Dests") if names is not None else None
    renamed: dict[str, str] = {}

    def rename(node: Any) -> None:
        node = node.get_object()
        pairs = node.get("/Names")
        if pairs is not None:
            pairs = pairs.get_object()
            for index in range(0, len(pairs) - 1, 2):
                renamed[str(pairs[index])] = prefix + str(pairs[index])
                pairs[index] = TextStringObject(prefix + str(pairs[index]))
        if "/Limits" in node:
            node["/Limits"] = ArrayObject(TextStringObject(prefix + str(limit)) for limit in node["/Limits"])
        for kid in node.get("/Kids", ()):
            rename(kid)

    if dests is None:
        return
    rename(dests)
    for page in reader.pages:
        for annotation in page.get("/Annots") or ():
            annotation = annotation.get_object()
            action = annotation.get("/A")
            for holder, key in ((annotation, "/Dest"), (action.get_object() if action is not None else {}, "/D")):
                target = holder.get(key)
                # A name (not a string) would be a key of the catalog's old-style /Dests.
                if isinstance(target, str) and not isinstance(target, NameObject) and target in renamed:
                    holder[NameObject(key)] = TextStringObject(renamed[target])


# Shared fonts -------------------------------------------------------------------------------

@dataclass
class _Font:
    """One letter's CID-keyed font of a face: its dictionaries, where pages name it, the CIDs it
    shows with their widths, and the glyphs its own program draws."""

    type0: Any
    cid_font: Any
    descriptor: Any
    slots: list[tuple[Any, Any]]  # (font resource dictionary, resource name)
    widths: dict[int, Any] | None
    cids: set[int]
    glyphs: dict[int, Any] | None


def _share_fonts(writer: Any) -> None:
    """Embed each face once: one subset of the system font for the CIDs of every letter."""
    faces: dict[tuple[str, str], list[_Font]] = {}
    for type0, cid_font, slots in _cid_fonts(writer):
        face = _face_of(cid_font)
        if face is not None:
            faces.setdefault(face, []).append(_font(type0, cid_font, slots))
    for (family, style), fonts in sorted(faces.items()):
        fonts = [font for font in fonts if font.widths is not None and font.glyphs is not None]
        location = find_font(family, style) if fonts else None
        if location is None:
            log.info("font %s %s not found on this system: each letter keeps its own", family, style)
            continue
        system = location.path.read_bytes()
        while fonts:
            shared = subset_by_cid(system, set().union(*(font.cids for font in fonts)), face_index=location.index)
            glyphs = _glyphs(shared) if shared is not None else None
            if shared is None or glyphs is None:
                log.info("font %s %s could not be subset: each letter keeps its own", family, style)
                break
            matching = [font for font in fonts
                        if all(glyphs.get(cid) == glyph for cid, glyph in (font.glyphs or {}).items())]
            if len(matching) == len(fonts):
                _install(writer, shared, fonts)
                _merge_dictionaries(writer, fonts)
                break
            log.info("%d letters' %s %s differs from the system font's: they keep their own",
                     len(fonts) - len(matching), family, style)
            fonts = matching  # their own CIDs only, then every glyph matches


def _cid_fonts(writer: Any) -> list[tuple[Any, Any, list[tuple[Any, Any]]]]:
    """(Type0 font, its CIDFontType0, where it is named) for the fonts of every page, form and
    pattern, in page order."""
    found: dict[int, tuple[Any, Any, list[tuple[Any, Any]]]] = {}
    seen: set[int] = set()

    def visit(resources: Any) -> None:
        resources = resources.get_object() if resources is not None else None
        if not isinstance(resources, dict) or id(resources) in seen:
            return
        seen.add(id(resources))
        fonts = resources.get("/Font")
        fonts = fonts.get_object() if fonts is not None else {}
        for key, font in fonts.items():
            font = font.get_object()
            if id(font) in found:
                found[id(font)][2].append((fonts, key))
                continue
            descendants = font.get("/DescendantFonts")
            for descendant in descendants.get_object() if descendants is not None else ():
                descendant = descendant.get_object()
                if descendant.get("/Subtype") == "/CIDFontType0" and "/FontDescriptor" in descendant:
                    found[id(font)] = (font, descendant, [(fonts, key)])
            visit(font.get("/Resources"))  # Type 3 fonts
        for kind in ("/XObject", "/Pattern"):
            children = resources.get(kind)
            for child in (children.get_object() if children is not None else {}).values():
                visit(child.get_object().get("/Resources"))

    for page in writer.pages:
        visit(page.get("/Resources"))
    return list(found.values())


def _face_of(cid_font: Any) -> tuple[str, str] | None:
    """(family, style) of a font WeasyPrint named TAG+Family-With-Hyphens[-Style]: ("Noto Serif
    CJK SC", "Bold") for ABCDEF+Noto-Serif-CJK-SC-Bold; None if it is no CID-keyed CFF font."""
    descriptor = cid_font["/FontDescriptor"].get_object()
    program = descriptor.get("/FontFile3")
    family = descriptor.get("/FontFamily")
    if program is None or family is None or program.get_object().get("/Subtype") not in _CID_FONT_PROGRAMS:
        return None
    family = str(family)
    name = _untagged(str(cid_font.get("/BaseFont", ""))[1:])
    stem = family.replace(" ", "-")
    if name == stem:
        return family, "Regular"
    if name.startswith(stem + "-"):
        return family, name[len(stem) + 1:].replace("-", "")
    return None


def _untagged(name: str) -> str:
    tag, plus, rest = name.partition("+")
    return rest if plus and len(tag) == 6 and tag.isalpha() and tag.isupper() else name


def _font(type0: Any, cid_font: Any, slots: list[tuple[Any, Any]]) -> _Font:
    descriptor = cid_font["/FontDescriptor"].get_object()
    program = descriptor["/FontFile3"].get_object()
    widths = _widths(cid_font.get("/W"))
    cids = set(widths or ())
    data = program.get_data()
    if program.get("/Subtype") == "/OpenType":
        data = _cff_table(data)
    glyphs = _glyphs(data) if data is not None else None
    if glyphs is not None:
        glyphs = {cid: glyphs.get(cid) for cid in sorted(cids | {0})}
    return _Font(type0, cid_font, descriptor, slots, widths, cids, glyphs)


def _cff_table(opentype: bytes) -> bytes | None:
    from fontTools.ttLib import TTFont

    try:
        font = TTFont(io.BytesIO(opentype), lazy=True)
        return bytes(font.reader["CFF "]) if "CFF " in font.reader else None
    except Exception:  # noqa: BLE001 - a font we cannot read is left as it is
        return None


def _glyphs(cff: bytes) -> dict[int, Any] | None:
    """CID -> everything that decides how the glyph is drawn: its charstring and the font
    matrices and private dict it is read with. None unless a CID-keyed CFF font."""
    from fontTools.cffLib import CFFFontSet

    try:
        fonts = CFFFontSet()
        fonts.decompile(io.BytesIO(cff), None)
        top = fonts[fonts.fontNames[0]]
        if not hasattr(top, "ROS") or not hasattr(top, "FDArray"):
            return None
        dicts = []
        for fd in top.FDArray:
            private = {key: value for key, value in fd.Private.rawDict.items() if key != "Subrs"}
            dicts.append((repr(getattr(fd, "FontMatrix", None)), repr(sorted(private.items()))))
        matrix = repr(top.rawDict.get("FontMatrix"))
        glyphs: dict[int, Any] = {}
        for index, name in enumerate(top.charset):
            charstring, selector = top.CharStrings.getItemAndSelector(name)
            cid = 0 if name == ".notdef" else int(name.removeprefix("cid"))
            glyphs[cid] = (charstring.bytecode, matrix, dicts[selector or 0])
        return glyphs
    except Exception:  # noqa: BLE001 - a font we cannot read is left as it is
        log.debug("unreadable CFF font", exc_info=True)
        return None


def _install(writer: Any, shared: bytes, fonts: list[_Font]) -> None:
    """Put the shared program in the pack once and point every font of the face at it, under
    one subset tag of its own (two different programs must not share a name)."""
    from pypdf.generic import DecodedStreamObject, NameObject

    stream = DecodedStreamObject()
    stream.set_data(shared)
    stream[NameObject("/Subtype")] = NameObject("/CIDFontType0C")
    reference = writer._add_object(stream.flate_encode(level=9))
    digest = hashlib.sha256(shared).digest()
    tag = "".join(chr(65 + byte % 26) for byte in digest[:6])
    for font in fonts:
        old = str(font.cid_font["/BaseFont"])[1:]
        new = f"{tag}+{_untagged(old)}"
        font.descriptor[NameObject("/FontFile3")] = reference
        font.descriptor[NameObject("/FontName")] = NameObject("/" + new)
        font.descriptor.pop("/CIDSet", None)  # it would list the letter's CIDs only
        font.cid_font[NameObject("/BaseFont")] = NameObject("/" + new)
        font.cid_font.pop("/CIDToGIDMap", None)  # bare CFF: glyphs are found by CID
        type0_name = str(font.type0.get("/BaseFont", ""))[1:]
        if type0_name.startswith(old):
            font.type0[NameObject("/BaseFont")] = NameObject("/" + new + type0_name[len(old):])


@dataclass
class _Merged:
    """Fonts of a face that can be one font dictionary: no CID with two widths or two texts."""

    signature: str
    widths: dict[int, Any] = field(default_factory=dict)
    texts: dict[int, str] = field(default_factory=dict)
    fonts: list[_Font] = field(default_factory=list)

    def agrees(self, widths: dict[int, Any], texts: dict[int, str]) -> bool:
        return (all(float(self.widths.get(cid, width)) == float(width) for cid, width in widths.items())
                and all(self.texts.get(cid, text) == text for cid, text in texts.items()))


def _merge_dictionaries(writer: Any, fonts: list[_Font]) -> None:
    """Fonts of a face sharing a program also share one Type0 font, with the widths (/W) and
    Unicode map of them all, unless two letters disagree on a CID (a glyph can stand for two
    characters, e.g. a Kangxi radical and its ideograph): such a letter goes to the next font.
    WeasyPrint sizes a descriptor's /FontBBox and /Flags FixedPitch to the glyphs used: the
    shared descriptor gets the union box, and FixedPitch if every glyph has the same width."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject, NumberObject

    merged: list[_Merged] = []
    for font in fonts:
        texts = _to_unicode(font.type0.get("/ToUnicode"))
        if texts is None or font.widths is None:
            continue
        signature = _signature(font)
        for group in merged:
            if group.signature == signature and group.agrees(font.widths, texts):
                break
        else:
            group = _Merged(signature)
            merged.append(group)
        group.widths.update(font.widths)
        group.texts.update(texts)
        group.fonts.append(font)
    for group in merged:
        if len(group.fonts) < 2:
            continue
        first = group.fonts[0]
        descriptor = DictionaryObject(first.descriptor)
        boxes = [_bbox(font.descriptor) for font in group.fonts]
        if all(box is not None for box in boxes):
            corners = list(zip(*boxes))
            descriptor[NameObject("/FontBBox")] = ArrayObject(
                _pdf_number(value) for value in (min(corners[0]), min(corners[1]), max(corners[2]), max(corners[3])))
        if "/Flags" in first.descriptor:
            flags = [int(font.descriptor["/Flags"]) for font in group.fonts]
            fixed = all(flag & _FIXED_PITCH for flag in flags) and len({float(w) for w in group.widths.values()}) <= 1
            descriptor[NameObject("/Flags")] = NumberObject(flags[0] & ~_FIXED_PITCH | (_FIXED_PITCH if fixed else 0))
        cid_font = DictionaryObject(first.cid_font)
        cid_font[NameObject("/FontDescriptor")] = writer._add_object(descriptor)
        widths = ArrayObject()
        for cid in sorted(group.widths):
            if widths and cid == widths[-2] + len(widths[-1]):
                widths[-1].append(group.widths[cid])
            else:
                widths.extend([NumberObject(cid), ArrayObject([group.widths[cid]])])
        cid_font[NameObject("/W")] = widths
        to_unicode = DecodedStreamObject()
        to_unicode.set_data(_cmap(group.texts))
        type0 = DictionaryObject(first.type0)
        type0[NameObject("/DescendantFonts")] = ArrayObject([writer._add_object(cid_font)])
        type0[NameObject("/ToUnicode")] = writer._add_object(to_unicode.flate_encode(level=9))
        reference = writer._add_object(type0)
        for font in group.fonts:
            for resources, key in font.slots:
                resources[key] = reference


_FIXED_PITCH = 1


def _signature(font: _Font) -> str:
    """All that two fonts must have in common to be one: not their widths, Unicode maps, boxes
    or FixedPitch flags."""
    def items(dictionary: Any, *ignored: str) -> list[tuple[str, str]]:
        return sorted((str(key), repr(value)) for key, value in dictionary.items() if key not in ignored)

    flags = font.descriptor.get("/Flags")
    return repr((items(font.type0, "/ToUnicode", "/DescendantFonts"), items(font.cid_font, "/W", "/FontDescriptor"),
                 items(font.descriptor, "/FontBBox", "/Flags"), _bbox(font.descriptor) is None,
                 None if flags is None else int(flags) & ~_FIXED_PITCH))


def _bbox(descriptor: Any) -> list[float] | None:
    try:
        box = [float(value) for value in descriptor["/FontBBox"]]
    except (KeyError, TypeError, ValueError):
        return None
    return box if len(box) == 4 else None


def _pdf_number(value: float) -> Any:
    from pypdf.generic import FloatObject, NumberObject

    return NumberObject(int(value)) if value.is_integer() else FloatObject(value)


def _widths(array: Any) -> dict[int, Any] | None:
    """CID -> width of a CIDFont's /W array ([first [w w ...] first last w ...]); None if it
    cannot be read."""
    widths: dict[int, Any] = {}
    items = list(array.get_object()) if array is not None else []
    index = 0
    try:
        while index < len(items):
            first, following = int(items[index]), items[index + 1].get_object()
            if isinstance(following, list):
                widths.update((first + offset, width.get_object()) for offset, width in enumerate(following))
                index += 2
            else:
                widths.update((cid, items[index + 2].get_object()) for cid in range(first, int(following) + 1))
                index += 3
    except (IndexError, TypeError, ValueError):
        return None
    return widths


_CMAP_SECTION = re.compile(rb"\d+\s+begin(bfchar|bfrange)(.*?)end\1", re.S)
_TWO_BYTE_CODES = re.compile(rb"begincodespacerange\s*<0000>\s*<ffff>\s*endcodespacerange", re.I)
_CMAP_TOKEN = re.compile(rb"<([0-9A-Fa-f\s]*)>|(\[|\])")


def _to_unicode(stream: Any) -> dict[int, str] | None:
    """CID -> UTF-16BE hex of a ToUnicode CMap with 2-byte codes; None if it is anything more
    (usecmap, other code lengths) than WeasyPrint writes."""
    if stream is None:
        return {}
    stream = stream.get_object()
    if not hasattr(stream, "get_data"):
        return None
    data = stream.get_data()
    if b"usecmap" in data or _TWO_BYTE_CODES.search(data) is None:
        return None
    try:
        return _cmap_entries(data)
    except (IndexError, ValueError):
        return None


def _cmap_entries(data: bytes) -> dict[int, str]:
    texts: dict[int, str] = {}
    for kind, body in _CMAP_SECTION.findall(data):
        tokens = [token[0].translate(None, b" \t\r\n").decode().lower() if token[0] or not token[1]
                  else token[1].decode() for token in _CMAP_TOKEN.findall(body)]
        index = 0
        while index < len(tokens):
            if kind == b"bfchar":
                texts[int(tokens[index], 16)] = tokens[index + 1]
                index += 2
                continue
            low, high = int(tokens[index], 16), int(tokens[index + 1], 16)
            if tokens[index + 2] == "[":
                closing = tokens.index("]", index + 3)
                for offset, text in enumerate(tokens[index + 3:closing]):
                    texts[low + offset] = text
                index = closing + 1
            else:
                start = tokens[index + 2]
                for offset in range(high - low + 1):
                    texts[low + offset] = f"{int(start, 16) + offset:0{len(start)}x}"
                index += 3
    return texts


def _cmap(texts: dict[int, str]) -> bytes:
    lines = [b"/CIDInit /ProcSet findresource begin", b"12 dict begin", b"begincmap", b"/CIDSystemInfo",
             b"<< /Registry (Adobe)", b"/Ordering (UCS)", b"/Supplement 0", b">> def",
             b"/CMapName /Adobe-Identity-UCS def", b"/CMapType 2 def", b"1 begincodespacerange",
             b"<0000> <ffff>", b"endcodespacerange"]
    entries = sorted(texts.items())
    for start in range(0, len(entries), 100):
        batch = entries[start:start + 100]
        lines.append(f"{len(batch)} beginbfchar".encode())
        lines.extend(f"<{cid:04x}> <{text}>".encode() for cid, text in batch)
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return b"\n".join(lines)
