"""Who may read what letterforge writes: files 0640, folders 0750, optionally a group (a print
shop's account), the same for every file it creates, each written atomically. Debtor data never gets
world access."""

from __future__ import annotations

import grp
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from letterforge.diagnostics import UserError


@dataclass(frozen=True)
class FilePolicy:
    file_mode: int = 0o640
    folder_mode: int = 0o750
    gid: int | None = None  # None: the user's own group


# Set once per command (and per batch worker) from the workspace's letterforge.toml by
# `Workspace.open`; everything that writes through `outputs` and `ledger` follows it.
_policy = FilePolicy()


def file_policy() -> FilePolicy:
    return _policy


def set_file_policy(group: str = "") -> FilePolicy:
    """The policy for this process: the default modes, and `group` (a name or number) if given.
    A group this user cannot give files to is a settings error, said before anything is written."""
    global _policy
    gid = None
    if group:
        try:
            gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
        except KeyError:
            raise UserError(f"letterforge.toml: permissions.group: no group {group!r} on this machine") from None
        if os.geteuid() != 0 and gid not in (os.getegid(), *os.getgroups()):
            raise UserError(f"letterforge.toml: permissions.group: this user is not a member of {group!r}, so "
                            "cannot give files to it; add the user to the group or change the setting")
    _policy = FilePolicy(gid=gid)
    return _policy


def protect_descriptor(descriptor: int) -> None:
    """Give an open file letterforge created the policy's mode and group."""
    if _policy.gid is not None:
        os.fchown(descriptor, -1, _policy.gid)
    os.fchmod(descriptor, _policy.file_mode)


def create_private_file(path: Path) -> None:
    """Create `path` empty with the policy's mode and group, if it does not exist yet (so that a
    library such as sqlite, which creates files world-readable, finds it made already)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        protect_descriptor(descriptor)
    finally:
        os.close(descriptor)


def make_folders(folder: Path) -> None:
    """Create `folder` and any missing parents with the policy's mode and group; folders that
    already exist are left as their owner set them."""
    missing = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            if not path.is_dir():
                raise
            continue
        if _policy.gid is not None:
            os.chown(path, -1, _policy.gid)
        os.chmod(path, _policy.folder_mode)


def write_atomic(path: Path, data: bytes) -> Path:
    """Write to a temporary name in the same folder, fsync, then rename: never a half file.
    The file gets the permission policy's mode and group (0640; see `permissions`), and folders
    it needs are created 0750."""
    with atomic_file(path) as file:
        file.write(data)
    return path


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A file written piece by piece that appears under its name only when complete (as
    `write_atomic`), for files too large to hold in memory."""
    make_folders(path.parent)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:100]}.", suffix=".tmp")
    try:
        protect_descriptor(handle)
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
