"""The user's cache folder, and the small JSON entries kept in it: each is used only while what it
was made from is unchanged (its key), and deleting the folder is always safe."""

from __future__ import annotations

import json
import logging
import os
import stat
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CACHE_ENV = "LETTERFORGE_CACHE_DIR"


def cache_folder() -> Path:
    """LETTERFORGE_CACHE_DIR, else the user's cache folder (XDG_CACHE_HOME or ~/.cache)/letterforge."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "letterforge"


def file_stamp(path: Path) -> dict[str, Any]:
    """What says a file is still the same one: where it is, its size and modification time."""
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def read_entry(path: Path, key: object) -> dict[str, Any] | None:
    """The entry stored at `path` when it was made from `key`; None when it is absent, unreadable,
    damaged or made from something else (the caller makes it again)."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("key") != key:
        return None
    return stored


def write_entry(path: Path, entry: dict[str, Any], what: str) -> None:
    """Atomically (a temporary file renamed over it): a reader never sees half a file. Not
    outputs.write_atomic: a cache is no letter output (no fsync, no permission policy), and an
    entry that cannot be written only costs the next process the time to make it again."""
    text = json.dumps(entry, separators=(",", ":"))
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # private whatever the umask
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        log.debug("%s cache not written (%s): %s", what, path, error)
        return
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except OSError as error:
        log.debug("%s cache not written (%s): %s", what, path, error)
        Path(temporary).unlink(missing_ok=True)


def private_folder(folder: Path, what: str) -> bool:
    """The folder exists or was made, is ours, and nobody else may write to it. What is kept in it
    (`what`: compiled templates, which run as they are read; clause front matter, which decides
    whether a clause is approved) is never taken from a folder another user can write to."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(folder)
    except OSError as error:
        log.debug("no %s cache in %s: %s", what, folder, error)
        return False
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        _not_private(str(folder), what)
        return False
    return True


@lru_cache(maxsize=None)
def _not_private(folder: str, what: str) -> None:
    log.warning("%s is not a private folder of this user (another user may write to it): %s are not kept "
                "there; if it is yours, run: chmod go-w %s", folder, what, folder)
