"""File names made from data (account ids, clause ids): safe on every file system, readable, unique,
and checked to stay inside the folder they are written to. Ids are data, never paths."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from letterforge.diagnostics import UserError

# Bytes, not characters: file systems count UTF-8 bytes (255 at most), and a Chinese character takes 3.
MAX_NAME_BYTES = 80
_UNSAFE = re.compile(r'[/\\:*?"<>|]|\.\.+')
_WINDOWS_DEVICES = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$", re.IGNORECASE)


def _unsafe_character(character: str) -> bool:
    # Control, format (bidi overrides), separator and unassigned code points: none belongs in a name.
    return unicodedata.category(character) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") or character == "\x7f"


def _case_unique(text: str) -> bool:
    """A name with no lower-case letter cannot collide, ignoring case, with another such name; a
    name with lower-case letters is made unique by a hash (macOS, Windows and SMB shares ignore case)."""
    return text == text.upper()


def safe_file_name(text: str, max_bytes: int = MAX_NAME_BYTES, unique_ignoring_case: bool = True) -> str:
    """`text` as one file-name component: no separators, no `..`, no control characters, no
    reserved device names, at most `max_bytes` bytes. Where the name had to change (or could
    collide with another ignoring case, unless `unique_ignoring_case` is off), a short hash of the exact text keeps it unique:
    `2栋/1602` -> `2栋_1602~3f1c9a2b`; `JX-2-0302` stays as it is."""
    cleaned = unicodedata.normalize("NFC", text)
    cleaned = "".join("_" if _unsafe_character(c) else c for c in cleaned)
    cleaned = _UNSAFE.sub("_", cleaned)
    cleaned = re.sub(r"\s", " ", cleaned).strip(" ")
    cleaned = cleaned.lstrip(".").rstrip(". ") or "_"
    if _WINDOWS_DEVICES.match(cleaned.split(".")[0]):
        cleaned = "_" + cleaned
    # "~" marks a hashed name: an id kept as it is never has one, so the two kinds never meet.
    exact = cleaned == text and (_case_unique(text) or not unique_ignoring_case) and "~" not in text
    encoded = cleaned.encode("utf-8")
    if len(encoded) > max_bytes:
        exact = False
    if not exact and len(encoded) > max_bytes - 9:
        cleaned = encoded[:max_bytes - 9].decode("utf-8", errors="ignore").rstrip(". ") or "_"
    if exact:
        return cleaned
    return f"{cleaned}~{hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]}"


def letter_file_name(kind: str, account_id: str, extension: str, account_first: bool = False, tail: str = "") -> str:
    """A letter's file name: `reminder-JX-2-0302.pdf`, or `JX-2-0302-reminder.pdf` with
    `account_first`, `reminder-JX-2-0302-reprint.pdf` with `tail="-reprint"`."""
    account = safe_file_name(account_id)
    stem = f"{account}-{kind}" if account_first else f"{kind}-{account}"
    return f"{stem}{tail}.{extension}"


def path_inside(folder: Path, name: str) -> Path:
    """`folder / name`, after checking that `name` is one plain file name, so that the path is
    directly inside `folder` whatever the name holds (a file there that is a symlink is replaced
    by the atomic write, never written through)."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise UserError(f"refused to write {name!r} in {folder}: a file name made from data must not be a path")
    return folder / name
