"""The document information of a PDF (what a viewer's Properties dialog shows), read from the file
without pypdf when the file is laid out as WeasyPrint writes it (pydyf: one cross-reference table or
stream, the information in an object or an object stream, plain text strings). Importing pypdf
costs a one-letter command ~0.05 CPU-seconds; this reads the same answer in well under a
millisecond. Anything else (an encrypted file, an updated one, a filter, a string that is not plain
ASCII or UTF-16 text) answers None and the caller asks pypdf, so the answer is always pypdf's."""

from __future__ import annotations

import re
import zlib

_WHITESPACE = b" \t\r\n\f\0"
_DELIMITERS = b"()<>[]{}/%"
_NUMBER = re.compile(rb"[+-]?(\d+\.?\d*|\.\d+)")
_REFERENCE = re.compile(rb"(\d+)\s+(\d+)\s+R(?![^\s()<>\[\]{}/%])")
_OBJECT = re.compile(rb"(\d+)\s+(\d+)\s+obj(?![^\s()<>\[\]{}/%])")
_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f", ord("("): b"(",
            ord(")"): b")", ord("\\"): b"\\"}


class _Unread(Exception):
    """Not a file this reader answers for: pypdf reads it."""


class _Reference(tuple):  # (number, generation)
    pass


def document_information(content: bytes) -> tuple[tuple[str, str], ...] | None:
    """The Info dictionary's entries as pypdf gives them ("/Title", "…"), in the file's order; None
    when the file is not one this reader answers for."""
    try:
        return _information(content)
    except (_Unread, ValueError, IndexError, KeyError, TypeError, RecursionError, zlib.error):
        return None


def _information(content: bytes) -> tuple[tuple[str, str], ...]:
    found = list(re.finditer(rb"startxref\s+(\d+)\s+%%EOF\s*$", content[-64:]))
    if len(found) != 1 or content.count(b"startxref") != 1:  # an updated file has several sections
        raise _Unread("not one cross-reference section")
    start = int(found[0].group(1))
    if content.startswith(b"xref", start):
        trailer, offsets = _xref_table(content, start)
    else:
        trailer, offsets = _xref_stream(content, start)
    if "Encrypt" in trailer or "Prev" in trailer:
        raise _Unread("encrypted or updated")
    if "Info" not in trailer:
        return ()
    info = _object(content, offsets, trailer["Info"])
    if not isinstance(info, dict):
        raise _Unread("the Info entry is not a dictionary")
    return tuple((f"/{key}", _text(value)) for key, value in info.items())


def _text(value: object) -> str:
    """A text string as pypdf decodes it: UTF-16 after its byte order mark, else PDFDocEncoding,
    which is ASCII for the printable characters (anything else is left to pypdf)."""
    if not isinstance(value, bytes):
        raise _Unread("not a string")
    if value.startswith(b"\xfe\xff"):
        if len(value) % 2:
            raise _Unread("odd UTF-16")
        return value[2:].decode("utf-16-be")
    if any(byte < 0x20 or byte > 0x7E for byte in value):
        raise _Unread("not printable ASCII")
    return value.decode("ascii")


def _xref_table(content: bytes, start: int) -> tuple[dict, dict[int, int]]:
    position = start + 4
    offsets: dict[int, int] = {}
    while True:
        position = _skip(content, position)
        if content.startswith(b"trailer", position):
            trailer, _ = _value(content, position + 7)
            if not isinstance(trailer, dict):
                raise _Unread("no trailer dictionary")
            return trailer, offsets
        header = re.compile(rb"(\d+) (\d+)[ \t]*\r?\n?").match(content, position)
        if header is None:
            raise _Unread("not a cross-reference table")
        first, count = int(header.group(1)), int(header.group(2))
        position = _skip(content, header.end())
        for number in range(first, first + count):
            entry = content[position:position + 20]
            if len(entry) != 20 or entry[17:18] not in (b"n", b"f"):
                raise _Unread("not a cross-reference entry")
            if entry[17:18] == b"n":
                offsets[number] = int(entry[:10])
            position += 20


def _xref_stream(content: bytes, start: int) -> tuple[dict, dict[int, int | tuple[int, int]]]:
    header, data = _stream_at(content, start)
    if header.get("Type") != "XRef":
        raise _Unread("not a cross-reference stream")
    widths = header["W"]
    if len(widths) != 3 or not all(isinstance(w, int) and 0 <= w <= 8 for w in widths) or widths[1] == 0:
        raise _Unread("bad /W")
    index = header.get("Index", [0, header["Size"]])
    if not all(isinstance(n, int) and n >= 0 for n in index) or sum(index[1::2]) * sum(widths) > len(data):
        raise _Unread("more entries than the stream holds")
    offsets: dict[int, int | tuple[int, int]] = {}
    position = 0
    for first, count in zip(index[::2], index[1::2]):
        for number in range(first, first + count):
            fields, at = [], position
            for width in widths:
                fields.append(int.from_bytes(data[at:at + width], "big"))
                at += width
            if at > len(data):
                raise _Unread("short cross-reference stream")
            position = at
            kind = fields[0] if widths[0] else 1
            if kind == 1:
                offsets[number] = fields[1]
            elif kind == 2:
                offsets[number] = (fields[1], fields[2])
    return header, offsets


def _stream_at(content: bytes, offset: int) -> tuple[dict, bytes]:
    """The stream object at `offset`: its dictionary and its data, inflated."""
    match = _OBJECT.match(content, offset)
    if match is None:
        raise _Unread("no object here")
    header, position = _value(content, match.end())
    if not isinstance(header, dict):
        raise _Unread("a stream without a dictionary")
    position = _skip(content, position)
    if not content.startswith(b"stream", position):
        raise _Unread("not a stream")
    position += 6
    position += 2 if content.startswith(b"\r\n", position) else 1
    length = header.get("Length")
    if not isinstance(length, int) or "DecodeParms" in header:
        raise _Unread("indirect length or decoding parameters")
    data = content[position:position + length]
    if len(data) != length or not re.match(rb"\s*endstream", content[position + length:position + length + 12]):
        raise _Unread("the stream's length is wrong")
    filters = header.get("Filter")
    if filters in (None, []):
        return header, data
    if filters in ("FlateDecode", ["FlateDecode"]):
        return header, zlib.decompress(data)
    raise _Unread("a filter other than FlateDecode")


def _object(content: bytes, offsets: dict, reference: object) -> object:
    if not isinstance(reference, _Reference):
        raise _Unread("the Info entry is not a reference")
    number, generation = reference
    where = offsets[number]
    if isinstance(where, tuple):  # in an object stream
        holder, index = where
        if generation != 0 or not isinstance(offsets.get(holder), int):
            raise _Unread("an object stream inside an object stream")
        header, data = _stream_at(content, offsets[holder])
        if header.get("Type") != "ObjStm":
            raise _Unread("not an object stream")
        pairs = [int(n) for n in data[:header["First"]].split()]
        if len(pairs) != 2 * header["N"] or pairs[2 * index] != number:
            raise _Unread("the object stream does not hold the object")
        value, _ = _value(data, header["First"] + pairs[2 * index + 1])
        return value
    match = _OBJECT.match(content, where)
    if match is None or int(match.group(1)) != number or int(match.group(2)) != generation:
        raise _Unread("the cross-reference points elsewhere")
    value, _ = _value(content, match.end())
    return value


def _skip(data: bytes, position: int) -> int:
    while position < len(data):
        if data[position] in _WHITESPACE:
            position += 1
        elif data[position] == ord("%"):
            while position < len(data) and data[position] not in b"\r\n":
                position += 1
        else:
            break
    return position


def _value(data: bytes, position: int) -> tuple[object, int]:
    """The PDF object at `position` and where it ends: dictionaries, arrays, names, numbers,
    references, strings, true, false and null."""
    position = _skip(data, position)
    if data.startswith(b"<<", position):
        entries: dict[str, object] = {}
        position += 2
        while True:
            position = _skip(data, position)
            if data.startswith(b">>", position):
                return entries, position + 2
            key, position = _value(data, position)
            if not isinstance(key, _Name) or key in entries:
                raise _Unread("a dictionary key that is not a name, or twice")
            entries[str(key)], position = _value(data, position)
    if data[position] == ord("["):
        items: list[object] = []
        position += 1
        while True:
            position = _skip(data, position)
            if data[position] == ord("]"):
                return items, position + 1
            item, position = _value(data, position)
            items.append(item)
    if data[position] == ord("/"):
        end = position + 1
        while end < len(data) and data[end] not in _WHITESPACE and data[end] not in _DELIMITERS:
            end += 1
        name = data[position + 1:end]
        if b"#" in name or not name.isascii():
            raise _Unread("an escaped name")
        return _Name(name.decode("ascii")), end
    if data[position] == ord("("):
        return _literal(data, position + 1)
    if data[position] == ord("<"):
        end = data.index(b">", position)
        digits = bytes(b for b in data[position + 1:end] if b not in _WHITESPACE)
        if len(digits) % 2:
            digits += b"0"
        return bytes.fromhex(digits.decode("ascii")), end + 1
    reference = _REFERENCE.match(data, position)
    if reference is not None:
        return _Reference((int(reference.group(1)), int(reference.group(2)))), reference.end()
    number = _NUMBER.match(data, position)
    if number is not None:
        text = number.group(0)
        return (float(text) if b"." in text else int(text)), number.end()
    for word, meaning in ((b"true", True), (b"false", False), (b"null", None)):
        if data.startswith(word, position):
            return meaning, position + len(word)
    raise _Unread("an object this reader does not know")


class _Name(str):
    pass


def _literal(data: bytes, position: int) -> tuple[bytes, int]:
    """A literal string's bytes (its escapes undone) and where it ends."""
    out = bytearray()
    depth = 0
    while True:
        byte = data[position]
        if byte == ord("\\"):
            escaped = data[position + 1]
            if escaped in _ESCAPES:
                out += _ESCAPES[escaped]
                position += 2
            elif ord("0") <= escaped <= ord("7"):
                digits = re.match(rb"[0-7]{1,3}", data[position + 1:position + 4]).group(0)
                out.append(int(digits, 8) & 0xFF)
                position += 1 + len(digits)
            else:
                raise _Unread("an escape this reader leaves to pypdf")  # line continuations and the like
            continue
        if byte in b"\r":
            raise _Unread("an end of line in a string")
        if byte == ord("("):
            depth += 1
        elif byte == ord(")"):
            if depth == 0:
                return bytes(out), position + 1
            depth -= 1
        out.append(byte)
        position += 1
