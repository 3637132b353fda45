"""Everything letterforge writes to disk on the way out: atomic files and the rejects files."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections import defaultdict
from pathlib import Path

from letterforge.validation import RejectedRow


def write_atomic(path: Path, data: bytes) -> Path:
    """Write to a temporary name in the same folder, fsync, then rename: never a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_rejects(rejects: tuple[RejectedRow, ...], folder: Path) -> list[Path]:
    """One CSV per data file (UTF-8 with BOM, so Excel and WPS open it): row, reason, then the
    row as it was. Stale rejects files of a table that is now clean are removed."""
    by_table: dict[str, list[RejectedRow]] = defaultdict(list)
    for reject in rejects:
        by_table[reject.table].append(reject)
    written = []
    for table in ("accounts", "arrears", "history"):
        path = folder / f"{table}.rejects.csv"
        rows = by_table.get(table)
        if not rows:
            path.unlink(missing_ok=True)
            continue
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(["file", "row", "reason", *rows[0].headers])
        for reject in rows:
            cells = ["" if cell is None else str(cell) for cell in reject.cells]
            writer.writerow([reject.file, reject.row, "; ".join(reject.reasons), *cells])
        written.append(write_atomic(path, buffer.getvalue().encode("utf-8-sig")))
    return written


def letter_paths(file_names: list[str], output: Path | None) -> list[Path]:
    """Where each rendered letter goes: -o names a file for one letter, else a folder."""
    if output is not None and len(file_names) == 1 and not output.is_dir() and output.suffix:
        return [output]
    folder = output if output is not None else Path.cwd()
    return [folder / name for name in file_names]
