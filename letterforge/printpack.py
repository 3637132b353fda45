"""Print packs: the letters of a run merged into one PDF for the print shop, each font once.

Every letter embeds its own subsets of the same few Noto CJK faces, as CID-keyed bare CFF
(see pdffonts). A CID is global to the system font it comes from (its glyph id), so one
subset of the system font holding the CIDs of all letters draws every page of the pack:
each face is embedded once instead of once per letter, and the letters' own font programs
are dropped. The letters' font dictionaries of a face become one too, with the widths (/W)
and Unicode maps of them all; content streams are left as they are, byte for byte.

Before a letter's font is pointed at the shared font, its glyphs are compared with the system
font's, charstring by charstring (both come out of HarfBuzz without hints or subroutines, so
the same glyph is the same bytes): a letter rendered with another version of the font, or a
face fontconfig does not find, keeps its own font, correct but bigger.

A pack is written as the letters are added (`PrintPackWriter`): each letter's pages go to the
file at once, and only what the end of the file needs stays in memory (page and bookmark
numbers, destination names, the fonts' widths and Unicode maps, a digest of each glyph seen),
so memory does not grow with the letters. Same letters in, same bytes out: nothing depends on
the clock.

A sealed letter's signature field is not copied (in the pack it would cover other bytes, and a
viewer would call it invalid); the seal its widget showed is drawn into the page instead.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from pypdf import PdfReader
from pypdf.generic import (ArrayObject, DecodedStreamObject, DictionaryObject, FloatObject, IndirectObject,
                           NameObject, NumberObject, StreamObject, TextStringObject)

from letterforge.fonts import FontFile, find_font
from letterforge.pdffonts import subset_by_cid

log = logging.getLogger(__name__)

PRODUCER = "letterforge"
_CID_FONT_PROGRAMS = ("/CIDFontType0C", "/OpenType")
_INHERITED = ("/Resources", "/MediaBox", "/CropBox", "/Rotate")


def make_print_pack(letters: Sequence[Path | str | bytes]) -> bytes:
    """One PDF of the given single-letter PDFs (paths or contents), in order: one top-level
    bookmark per letter, titled with the letter's /Title, holding the letter's own outline;
    each CID-keyed font face embedded once for all letters."""
    if not letters:
        raise ValueError("a print pack needs at least one letter")
    output = io.BytesIO()
    pack = PrintPackWriter(output)
    for letter in letters:
        pack.add(letter)
    pack.close()
    return output.getvalue()


@dataclass
class _Bookmark:
    """A letter's top-level bookmark, written at the end (its neighbours are known then)."""

    number: int
    title: str
    page: int
    first: int | None = None
    last: int | None = None
    count: int = 0


class PrintPackWriter:
    """A print pack written to `output` as letters are added; `close` writes the shared fonts,
    the page tree, the bookmarks and the cross-reference table."""

    def __init__(self, output: BinaryIO) -> None:
        self._output = output
        self._start = output.tell()
        self._offsets: dict[int, int] = {}
        self._allocated = 0
        self._pages_root = self._allocate()
        self._outline_root = self._allocate()
        self._pages: list[int] = []
        self._bookmarks: list[_Bookmark] = []
        self._destinations: list[tuple[Any, Any]] = []
        self._languages: set[str] = set()
        self._faces: dict[tuple[str, str], _Face | None] = {}
        self._closed = False
        output.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    @property
    def letters(self) -> int:
        return len(self._bookmarks)

    def _allocate(self) -> int:
        self._allocated += 1
        return self._allocated

    def _write(self, number: int, obj: Any) -> None:
        self._offsets[number] = self._output.tell() - self._start
        self._output.write(f"{number} 0 obj\n".encode())
        obj.write_to_stream(self._output)
        self._output.write(b"\nendobj\n")

    def add(self, letter: Path | str | bytes) -> None:
        """Append one letter's pages, its bookmark (holding its own outline) and its named
        destinations (prefixed with its number, as its links to them are)."""

        if self._closed:
            raise ValueError("the print pack is closed")
        number = len(self._bookmarks) + 1
        if isinstance(letter, (bytes, bytearray)):
            reader = PdfReader(io.BytesIO(letter))
            fallback = f"Letter {number}"
        else:
            reader = PdfReader(Path(letter))
            fallback = Path(letter).stem
        title = (reader.metadata.title if reader.metadata else None) or fallback
        self._languages.add(str(reader.root_object.get("/Lang", "")))
        _namespace_destinations(reader, f"{number}/")
        pages = list(reader.pages)
        self._share_fonts(pages)
        self._flatten_widgets(pages)

        bookmark = _Bookmark(self._allocate(), str(title), 0)
        fixed: dict[int, int] = {}  # the letter's objects that the pack replaces with its own
        for node in _page_tree_nodes(reader):
            fixed[node] = self._pages_root
        outline = reader.root_object.get("/Outlines")
        if outline is not None and getattr(outline, "idnum", None) is not None:
            fixed[outline.idnum] = bookmark.number
        numbers: dict[int, int] = {}
        waiting: deque[int] = deque()

        def number_of(idnum: int) -> int:
            if idnum in fixed:
                return fixed[idnum]
            if idnum not in numbers:
                numbers[idnum] = self._allocate()
                waiting.append(idnum)
            return numbers[idnum]

        # Pages as pypdf reads them: with what they inherit from the letter's page tree, which the pack does not keep.
        own_pages: dict[int, Any] = {}
        for page in pages:
            own_pages[page.indirect_reference.idnum] = page
            self._pages.append(number_of(page.indirect_reference.idnum))
        if not pages:
            log.warning("%s has no pages: its bookmark in the print pack leads nowhere", title)
        bookmark.page = self._pages[-len(pages)] if pages else 0
        if outline is not None:
            outline = outline.get_object()
            if "/First" in outline and "/Last" in outline:
                bookmark.first = number_of(outline.raw_get("/First").idnum)
                bookmark.last = number_of(outline.raw_get("/Last").idnum)
                count = int(outline["/Count"]) if "/Count" in outline else 0
                bookmark.count = count if count > 0 else _siblings(outline.raw_get("/First"))
        for name, destination in _named_destinations(reader):
            self._destinations.append((name, _copy(destination, number_of)))
        while waiting:
            idnum = waiting.popleft()
            obj = own_pages.get(idnum)
            if obj is None:
                obj = reader.get_object(idnum)
            self._write(numbers[idnum], _copy(obj, number_of))
        self._bookmarks.append(bookmark)

    def _share_fonts(self, pages: list[Any]) -> None:
        """Point the letter's fonts that the system font can draw at the pack's shared fonts."""
        for type0, cid_font, slots in _cid_fonts(pages):
            face_name = _face_of(cid_font)
            if face_name is None:
                continue
            if face_name not in self._faces:
                location = find_font(*face_name)
                if location is None:
                    log.info("font %s %s not found on this system: each letter keeps its own", *face_name)
                self._faces[face_name] = _Face(face_name, location) if location is not None else None
            face = self._faces[face_name]
            if face is None:
                continue
            font = _font(type0, cid_font, slots)
            texts = _to_unicode(type0.get("/ToUnicode"))
            if font.widths is None or font.glyphs is None or texts is None:
                continue
            if not face.draws(font.glyphs):
                log.info("a letter's %s %s differs from the system font's: it keeps its own", *face_name)
                continue
            try:
                group = face.group_for(font, texts, self._allocate)
            except ValueError:
                log.info("a letter's %s %s is of a form the pack does not share: it keeps its own", *face_name)
                continue
            for resources, key in slots:
                resources[key] = _PackReference(group.number)

    def _flatten_widgets(self, pages: list[Any]) -> None:
        """Take the letter's form widgets (a sealed letter's signature field) off its pages: in the
        pack the signature would cover other bytes, and a viewer would call it invalid. What a
        printable widget shows (the seal's box and words) is drawn into the page instead, as the
        printed letter showed it. A page without widgets is left as it is, byte for byte."""
        for page in pages:
            annotations = page.get("/Annots")
            if annotations is None:
                continue
            annotations = annotations.get_object()
            widgets = [a for a in annotations if a.get_object().get("/Subtype") == "/Widget"]
            if not widgets:
                continue
            kept = ArrayObject(a for a in annotations if a.get_object().get("/Subtype") != "/Widget")
            if kept:
                page[NameObject("/Annots")] = kept
            else:
                del page["/Annots"]
            drawn = [(name, placement) for name, placement in
                     ((f"/LetterforgeWidget{index}", _placement(widget.get_object()))
                      for index, widget in enumerate(widgets, 1)) if placement is not None]
            if not drawn:
                continue
            resources = page.get("/Resources")
            resources = DictionaryObject(resources.get_object()) if resources is not None else DictionaryObject()
            forms = resources.get("/XObject")
            forms = DictionaryObject(forms.get_object()) if forms is not None else DictionaryObject()
            operators = []
            for name, (appearance, matrix) in drawn:
                while name in forms:
                    name += "_"
                forms[NameObject(name)] = appearance
                operators.append(f"q {' '.join(_number(v) for v in matrix)} cm {name} Do Q")
            resources[NameObject("/XObject")] = forms
            page[NameObject("/Resources")] = resources
            contents = page.raw_get("/Contents") if "/Contents" in page else None
            parts = contents.get_object() if contents is not None else ArrayObject()
            parts = list(parts) if isinstance(parts, ArrayObject) else [contents]
            before, after = self._allocate(), self._allocate()
            self._write(before, _content_stream(b"q\n"))
            # The page's own drawing ends in the state it began with, then the widgets are drawn over it.
            self._write(after, _content_stream(("\nQ\n" + "\n".join(operators) + "\n").encode()))
            page[NameObject("/Contents")] = ArrayObject([_PackReference(before), *parts, _PackReference(after)])

    def close(self) -> None:
        """Write the shared fonts, page tree, bookmarks, catalog and cross-reference table."""

        if self._closed:
            return
        if not self._bookmarks:
            raise ValueError("a print pack needs at least one letter")
        self._closed = True
        try:
            for face in self._faces.values():
                if face is not None and face.groups:
                    face.write(self)
        finally:
            for face in self._faces.values():
                if face is not None:
                    face.release()
        self._write(self._pages_root, DictionaryObject({
            NameObject("/Type"): NameObject("/Pages"), NameObject("/Count"): NumberObject(len(self._pages)),
            NameObject("/Kids"): ArrayObject(_reference(number) for number in self._pages)}))
        for index, bookmark in enumerate(self._bookmarks):
            item = DictionaryObject({NameObject("/Title"): TextStringObject(bookmark.title),
                                     NameObject("/Parent"): _reference(self._outline_root)})
            if bookmark.page:
                item[NameObject("/Dest")] = ArrayObject([_reference(bookmark.page), NameObject("/Fit")])
            if index > 0:
                item[NameObject("/Prev")] = _reference(self._bookmarks[index - 1].number)
            if index + 1 < len(self._bookmarks):
                item[NameObject("/Next")] = _reference(self._bookmarks[index + 1].number)
            if bookmark.first is not None and bookmark.last is not None:
                item[NameObject("/First")] = _reference(bookmark.first)
                item[NameObject("/Last")] = _reference(bookmark.last)
                if bookmark.count > 0:  # shown closed: the pack opens on one line per letter
                    item[NameObject("/Count")] = NumberObject(-bookmark.count)
            self._write(bookmark.number, item)
        self._write(self._outline_root, DictionaryObject({
            NameObject("/Type"): NameObject("/Outlines"), NameObject("/Count"): NumberObject(len(self._bookmarks)),
            NameObject("/First"): _reference(self._bookmarks[0].number),
            NameObject("/Last"): _reference(self._bookmarks[-1].number)}))
        catalog = DictionaryObject({NameObject("/Type"): NameObject("/Catalog"),
                                    NameObject("/Pages"): _reference(self._pages_root),
                                    NameObject("/Outlines"): _reference(self._outline_root),
                                    NameObject("/PageMode"): NameObject("/UseOutlines")})
        if self._destinations:
            # A name tree's keys are sorted (viewers search it by halves).
            names = ArrayObject()
            for name, destination in sorted(self._destinations, key=lambda pair: _sort_key(pair[0])):
                names.extend((name, destination))
            catalog[NameObject("/Names")] = DictionaryObject({
                NameObject("/Dests"): DictionaryObject({NameObject("/Names"): names})})
        languages = self._languages
        if len(languages) == 1 and (language := next(iter(languages))):
            catalog[NameObject("/Lang")] = TextStringObject(language)
        catalog_number = self._allocate()
        self._write(catalog_number, catalog)
        count = len(self._bookmarks)
        info_number = self._allocate()
        self._write(info_number, DictionaryObject({
            NameObject("/Producer"): TextStringObject(PRODUCER), NameObject("/Creator"): TextStringObject(PRODUCER),
            NameObject("/Title"): TextStringObject(f"Print pack: {count} letter{'s' if count != 1 else ''}")}))
        start = self._output.tell() - self._start
        lines = [b"xref", f"0 {self._allocated + 1}".encode(), b"0000000000 65535 f "]
        for number in range(1, self._allocated + 1):
            offset = self._offsets.get(number)
            lines.append(f"{offset:010d} 00000 n ".encode() if offset is not None else b"0000000000 00001 f ")
        self._output.write(b"\n".join(lines) + b"\n")
        self._output.write(f"trailer\n<< /Size {self._allocated + 1} /Root {catalog_number} 0 R "
                           f"/Info {info_number} 0 R >>\nstartxref\n{start}\n%%EOF\n".encode())


def _placement(widget: Any) -> tuple[Any, list[float]] | None:
    """A widget's normal appearance and the matrix that puts it on the page where a viewer draws it
    (the form's box, through its own matrix, fitted to the widget's rectangle), or None where it
    shows nothing on paper (hidden, not printed, no appearance, no area)."""
    flags = int(widget.get("/F", 0))
    if flags & 2 or flags & 32 or not flags & 4:  # Hidden, NoView, not Print
        return None
    appearances = widget.get("/AP")
    appearance = appearances.get_object().get("/N") if appearances is not None else None
    if appearance is None or not isinstance(appearance.get_object(), StreamObject) or "/Rect" not in widget:
        return None
    form = appearance.get_object()
    x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
    left, right, bottom, top = min(x1, x2), max(x1, x2), min(y1, y2), max(y1, y2)
    try:
        a, b, c, d, e, f = (float(v) for v in form.get("/Matrix", (1, 0, 0, 1, 0, 0)))
        bx1, by1, bx2, by2 = (float(v) for v in form["/BBox"])
    except (KeyError, TypeError, ValueError):
        return None
    corners = [(a * x + c * y + e, b * x + d * y + f) for x in (bx1, bx2) for y in (by1, by2)]
    xs, ys = [x for x, _ in corners], [y for _, y in corners]
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    if right - left <= 0 or top - bottom <= 0 or width <= 0 or height <= 0:
        return None
    sx, sy = (right - left) / width, (top - bottom) / height
    return appearance, [sx, 0.0, 0.0, sy, left - min(xs) * sx, bottom - min(ys) * sy]


def _number(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def _content_stream(data: bytes) -> StreamObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    return stream


def _reference(number: int) -> IndirectObject:
    return IndirectObject(number, 0, None)


def _sort_key(name: Any) -> bytes:
    return name.get_original_bytes() if isinstance(name, TextStringObject) else str(name).encode("utf-8")


class _PackReference(IndirectObject):
    """A reference to an object of the pack, put in a letter being added: copied as it is."""

    def __init__(self, number: int) -> None:
        super().__init__(number, 0, None)


def _copy(obj: Any, number_of: Any) -> Any:
    """The object with every reference to the letter's objects renumbered for the pack."""
    if isinstance(obj, IndirectObject):
        if isinstance(obj, _PackReference):
            return _reference(obj.idnum)
        return _reference(number_of(obj.idnum))
    if isinstance(obj, StreamObject):
        stream = StreamObject()
        stream._data = obj._data  # as stored in the letter, still filtered: written as it was
        for key, value in obj.items():
            if key != "/Length":  # written from the data
                stream[NameObject(key)] = _copy(value, number_of)
        return stream
    if isinstance(obj, DictionaryObject):
        return DictionaryObject({NameObject(key): _copy(value, number_of) for key, value in obj.items()})
    if isinstance(obj, ArrayObject):
        return ArrayObject(_copy(value, number_of) for value in obj)
    return obj


def _page_tree_nodes(reader: Any) -> list[int]:
    """Object numbers of the letter's /Pages nodes (its pages' parents, replaced by the pack's)."""
    found: list[int] = []
    pending = [reader.root_object.raw_get("/Pages")]
    while pending:
        reference = pending.pop()
        if getattr(reference, "idnum", None) is None or reference.idnum in found:
            continue
        node = reference.get_object()
        if node.get("/Type") != "/Pages":
            continue
        found.append(reference.idnum)
        pending.extend(node.get_object().raw_get("/Kids") or ())
    return found


def _siblings(first: Any) -> int:
    count, item, seen = 0, first, set()
    while item is not None and id(item.get_object()) not in seen:
        seen.add(id(item.get_object()))
        count += 1
        item = item.get_object().get("/Next")
    return count


def _named_destinations(reader: Any) -> list[tuple[Any, Any]]:
    """(name, destination) of the letter's /Names /Dests tree, leaves in order."""
    names = reader.root_object.get("/Names")
    dests = names.get_object().get("/Dests") if names is not None else None
    found: list[tuple[Any, Any]] = []
    pending = [dests] if dests is not None else []
    while pending:
        node = pending.pop().get_object()
        pairs = node.get("/Names")
        if pairs is not None:
            pairs = pairs.get_object()
            found.extend((pairs[index], pairs[index + 1]) for index in range(0, len(pairs) - 1, 2))
        pending.extend(reversed(list(node.get("/Kids", ()))))
    return found


# Named destinations -------------------------------------------------------------------------

def _namespace_destinations(reader: Any, prefix: str) -> None:
    """Prefix a letter's named destinations (and its links to them) with its number: every
    letter has the same names (#arrears-detail...), and the merge keeps only the first of each."""

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


@dataclass
class _Group:
    """Fonts of a face that are one font dictionary in the pack: no CID with two widths or two
    texts (a glyph can stand for two characters, e.g. a Kangxi radical and its ideograph)."""

    number: int  # of its Type0 font, which the letters' pages name
    signature: str
    type0: Any  # the first font's dictionaries, as direct objects
    cid_font: Any
    descriptor: Any
    widths: dict[int, Any] = field(default_factory=dict)
    texts: dict[int, str] = field(default_factory=dict)
    boxes: list[list[float] | None] = field(default_factory=list)
    flags: list[int] = field(default_factory=list)

    def agrees(self, widths: dict[int, Any], texts: dict[int, str]) -> bool:
        return (all(float(self.widths.get(cid, width)) == float(width) for cid, width in widths.items())
                and all(self.texts.get(cid, text) == text for cid, text in texts.items()))

    def take(self, font: _Font, texts: dict[int, str]) -> None:
        self.widths.update(font.widths or {})
        self.texts.update(texts)
        box = _bbox(font.descriptor)
        if box is None or box not in self.boxes:
            self.boxes.append(box)
        if "/Flags" in font.descriptor:
            flag = int(font.descriptor["/Flags"])
            if flag not in self.flags:
                self.flags.append(flag)


_SYSTEM_GLYPHS: dict[tuple[str, int, int, int], dict[int, bytes]] = {}


class _Face:
    """A system font face the pack shares: the glyphs seen so far (to check that a letter's
    glyphs are the system font's), and the font groups pointing at it."""

    def __init__(self, name: tuple[str, str], location: FontFile) -> None:
        self.name = name
        self.location = location
        # CID -> digest of everything that decides how the glyph is drawn; kept for the process, so
        # that each volume of a day (and each day of a long-running process) reads a glyph once.
        stat = location.path.stat()
        self.glyphs = _SYSTEM_GLYPHS.setdefault((str(location.path), location.index, stat.st_size, stat.st_mtime_ns), {})
        self.groups: list[_Group] = []
        self.unusable = False
        self._file: Any = None
        self._program: Any = None

    def program(self) -> Any:
        """The system font file, mapped into memory once (read only where HarfBuzz looks)."""
        if self._program is None:
            import mmap

            self._file = open(self.location.path, "rb")
            self._program = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        return self._program

    def release(self) -> None:
        if self._program is not None:
            self._program.close()
            self._file.close()
            self._program = self._file = None

    def draws(self, glyphs: dict[int, Any]) -> bool:
        """Whether every glyph of a letter's font is the system font's glyph of the same CID."""
        if self.unusable:
            return False
        missing = {cid for cid in glyphs if cid not in self.glyphs}
        if missing:
            subset = subset_by_cid(self.program(), missing, face_index=self.location.index)
            found = _glyphs(subset) if subset is not None else None
            if found is None:
                log.info("font %s %s could not be subset: each letter keeps its own", *self.name)
                self.unusable = True
                return False
            self.glyphs.update((cid, _digest(found.get(cid))) for cid in missing)
        return all(self.glyphs.get(cid) == _digest(glyph) for cid, glyph in glyphs.items())

    def group_for(self, font: _Font, texts: dict[int, str], allocate: Any) -> _Group:
        signature = _signature(font)
        for group in self.groups:
            if group.signature == signature and group.agrees(font.widths or {}, texts):
                break
        else:
            dictionaries = (_direct(font.type0, "/DescendantFonts", "/ToUnicode"),
                            _direct(font.cid_font, "/FontDescriptor", "/W", "/CIDToGIDMap"),
                            _direct(font.descriptor, "/FontFile3", "/CIDSet"))
            group = _Group(allocate(), signature, *dictionaries)
            self.groups.append(group)
        group.take(font, texts)
        return group

    def write(self, pack: PrintPackWriter) -> None:
        """The face's program, one subset of the system font for the CIDs of every letter, and each
        group's font dictionaries, under one subset tag of the program's own (two different
        programs must not share a name)."""

        cids = set().union(*(group.widths.keys() for group in self.groups))
        shared = subset_by_cid(self.program(), cids, face_index=self.location.index)
        if shared is None:
            raise RuntimeError(f"font {' '.join(self.name)}: the shared subset failed after every letter's did not")
        program = DecodedStreamObject()
        program.set_data(shared)
        program[NameObject("/Subtype")] = NameObject("/CIDFontType0C")
        program_number = pack._allocate()
        pack._write(program_number, program.flate_encode(level=9))
        tag = "".join(chr(65 + byte % 26) for byte in hashlib.sha256(shared).digest()[:6])
        for group in self.groups:
            old = str(group.cid_font["/BaseFont"])[1:]
            new = f"{tag}+{_untagged(old)}"
            descriptor = group.descriptor
            descriptor[NameObject("/FontFile3")] = _reference(program_number)
            descriptor[NameObject("/FontName")] = NameObject("/" + new)
            # WeasyPrint sizes a descriptor's /FontBBox and /Flags FixedPitch to the glyphs used: the
            # shared descriptor gets the union box, and FixedPitch if every glyph has the same width.
            if group.boxes and all(box is not None for box in group.boxes):
                corners = list(zip(*group.boxes))
                descriptor[NameObject("/FontBBox")] = ArrayObject(
                    _pdf_number(value) for value in (min(corners[0]), min(corners[1]), max(corners[2]),
                                                     max(corners[3])))
            if group.flags:
                fixed = (all(flag & _FIXED_PITCH for flag in group.flags)
                         and len({float(w) for w in group.widths.values()}) <= 1)
                descriptor[NameObject("/Flags")] = NumberObject(
                    group.flags[0] & ~_FIXED_PITCH | (_FIXED_PITCH if fixed else 0))
            descriptor_number = pack._allocate()
            pack._write(descriptor_number, descriptor)
            cid_font = group.cid_font
            cid_font[NameObject("/BaseFont")] = NameObject("/" + new)  # bare CFF: glyphs are found by CID
            cid_font[NameObject("/FontDescriptor")] = _reference(descriptor_number)
            widths = ArrayObject()
            for cid in sorted(group.widths):
                if widths and cid == widths[-2] + len(widths[-1]):
                    widths[-1].append(group.widths[cid])
                else:
                    widths.extend([NumberObject(cid), ArrayObject([group.widths[cid]])])
            cid_font[NameObject("/W")] = widths
            cid_number = pack._allocate()
            pack._write(cid_number, cid_font)
            to_unicode = DecodedStreamObject()
            to_unicode.set_data(_cmap(group.texts))
            unicode_number = pack._allocate()
            pack._write(unicode_number, to_unicode.flate_encode(level=9))
            type0 = group.type0
            type0_name = str(type0.get("/BaseFont", ""))[1:]
            if type0_name.startswith(old):
                type0[NameObject("/BaseFont")] = NameObject("/" + new + type0_name[len(old):])
            type0[NameObject("/DescendantFonts")] = ArrayObject([_reference(cid_number)])
            type0[NameObject("/ToUnicode")] = _reference(unicode_number)
            pack._write(group.number, type0)


def _digest(glyph: Any) -> bytes:
    return hashlib.sha256(repr(glyph).encode()).digest()[:16]


def _direct(dictionary: Any, *dropped: str) -> Any:
    """A font dictionary as direct objects (its references resolved), without the given keys."""

    def resolved(value: Any, depth: int = 0) -> Any:
        if isinstance(value, IndirectObject):
            value = value.get_object()
        if depth > 8:
            raise ValueError("font dictionary nested too deep")
        if isinstance(value, StreamObject):
            raise ValueError("a stream cannot be a direct object")
        if isinstance(value, DictionaryObject):
            return DictionaryObject({NameObject(k): resolved(v, depth + 1) for k, v in value.items()})
        if isinstance(value, ArrayObject):
            return ArrayObject(resolved(v, depth + 1) for v in value)
        return value

    return DictionaryObject({NameObject(key): resolved(value) for key, value in dictionary.items()
                             if key not in dropped})


def _cid_fonts(pages: Iterable[Any]) -> list[tuple[Any, Any, list[tuple[Any, Any]]]]:
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

    for page in pages:
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


_FIXED_PITCH = 1


def _signature(font: _Font) -> str:
    """All that two fonts must have in common to be one: not their widths, Unicode maps, boxes,
    FixedPitch flags, subset tags or programs (the pack gives them its own)."""
    def items(dictionary: Any, *ignored: str) -> list[tuple[str, str]]:
        direct = _direct(dictionary, *ignored)
        return sorted((str(key), _untagged(str(value)[1:]) if key in ("/BaseFont", "/FontName") else repr(value))
                      for key, value in direct.items())

    flags = font.descriptor.get("/Flags")
    return repr((items(font.type0, "/ToUnicode", "/DescendantFonts"),
                 items(font.cid_font, "/W", "/FontDescriptor", "/CIDToGIDMap"),
                 items(font.descriptor, "/FontBBox", "/Flags", "/FontFile3", "/CIDSet"), _bbox(font.descriptor) is None,
                 None if flags is None else int(flags) & ~_FIXED_PITCH))


def _bbox(descriptor: Any) -> list[float] | None:
    try:
        box = [float(value) for value in descriptor["/FontBBox"]]
    except (KeyError, TypeError, ValueError):
        return None
    return box if len(box) == 4 else None


def _pdf_number(value: float) -> Any:

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
