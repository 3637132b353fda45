"""Print-pack memory benchmark: the batch process's peak memory as the day grows.

Run: .venv/bin/python benchmarks/printpack_memory.py [--letters 100,1000] [--jobs 2] [--renderer real|replay]
Generates a synthetic workspace (benchmarks/batch.py's, invented names only, fixed seed), runs the
batch for each number of letters and prints the peak RSS (VmHWM) of the batch process and of its
workers, the print pack's volumes and the time; then it makes the print pack alone from the day's
letter files, in a process of its own: the part of the memory the pack is responsible for.

--renderer real (the default) runs `letterforge batch` itself: WeasyPrint in --jobs workers, about
0.6 CPU-seconds a letter, so 1,000 letters take some 5 minutes of both cores on an idle machine.
--renderer replay first renders --replay letters with WeasyPrint, then runs the batch (run_batch,
--jobs workers) with workers that hand out copies of those real letters instead of rendering: the
batch process does all it does in a real run (ledger, archive, print pack, manifest) at a fraction
of the time, for quick iterations. Asserts nothing; run it with `nice -n 10` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from batch import fresh_copy, make_workspace, megabytes, run_batch_cli  # noqa: E402

SEED = 20261125
# Peak memory is read as VmHWM from /proc/self/status: a child's ru_maxrss counts what it was
# forked from (Linux keeps it across exec), which would add this process's size to its figure.
PACK_ALONE = """
import resource, sys, time
from pathlib import Path
from letterforge.outputs import write_print_pack
letters = [Path(line) for line in Path(sys.argv[1]).read_text().splitlines()]
started = time.process_time()
volumes = write_print_pack(Path(sys.argv[2]), letters)
peak_kb = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(len(volumes), time.process_time() - started, peak_kb)
"""


def pack_alone(letters: list[Path], scratch: Path) -> tuple[int, float, float]:
    """(volumes, CPU seconds, peak RSS MB) of making the print pack from these files in a fresh process."""
    listing = scratch / "letters.txt"
    listing.write_text("\n".join(str(p) for p in letters))
    done = subprocess.run([sys.executable, "-c", PACK_ALONE, str(listing), str(scratch / "pack")],
                          capture_output=True, text=True, check=True, cwd=ROOT)
    volumes, seconds, peak_kb = done.stdout.split()
    return int(volumes), float(seconds), int(peak_kb) / 1024


REPLAY_DIR = "LETTERFORGE_REPLAY_LETTERS"


def replay_pdf(_factory: object, draft: object) -> bytes:
    """A worker's stand-in for WeasyPrint: one of the letters rendered beforehand, chosen by account,
    made unique with a comment after its end (which PDF readers ignore)."""
    letters = sorted(Path(os.environ[REPLAY_DIR]).glob("*.pdf"))
    account = draft.account.account_id  # type: ignore[attr-defined]
    chosen = letters[sum(account.encode()) % len(letters)]
    return chosen.read_bytes() + f"\n% {draft.reference}\n".encode()  # type: ignore[attr-defined]


def render_for_replay(workspace: Path, folder: Path, count: int) -> None:
    from datetime import date

    from letterforge.diagnostics import UserError
    from letterforge.pipeline import LetterFactory
    from letterforge.records import LetterKind
    from letterforge.workspace import Workspace

    folder.mkdir()
    factory = LetterFactory(Workspace.open(workspace))
    made = 0
    for account in factory.data.accounts:
        for kind in (LetterKind.REMINDER, LetterKind.DEMAND, LetterKind.LAWYER):
            try:
                draft = factory.draft(account.account_id, kind, date(2026, 11, 25))
                (folder / f"{made:03d}.pdf").write_bytes(factory.render(draft, "pdf").content)
            except UserError:
                continue
            made += 1
            if made == count:
                return


REPLAY_BATCH = """
import json, os, resource, sys, time
from datetime import date, datetime
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from printpack_memory import replay_pdf
from letterforge.batch import run_batch
from letterforge.workspace import Workspace
started = time.perf_counter()
report = run_batch(Workspace.open(Path(sys.argv[1])), date(2026, 11, 25), Path(sys.argv[1]) / "out", int(sys.argv[2]),
                   lambda: datetime(2026, 11, 25, 6, 30), renderer=replay_pdf)
print(json.dumps({"issued": len(report.issued), "failed": len(report.failed), "folder": str(report.folder),
                  "seconds": time.perf_counter() - started,
                  "main_kb": int(next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:"))),
                  "workers_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


@dataclass(frozen=True)
class Run:
    issued: int
    failed: int
    seconds: float
    main_mb: float
    worker_mb: float | None
    folder: Path


def run_replay(workspace: Path, jobs: int, letters: Path) -> Run:
    done = subprocess.run([sys.executable, "-c", REPLAY_BATCH, str(workspace), str(jobs), str(ROOT / "benchmarks")],
                          capture_output=True, text=True, cwd=ROOT, env={**os.environ, REPLAY_DIR: str(letters)})
    if done.returncode:
        raise SystemExit(done.stderr)
    report = json.loads(done.stdout.splitlines()[-1])
    return Run(report["issued"], report["failed"], report["seconds"], report["main_kb"] / 1024,
               report["workers_kb"] / 1024 if jobs > 1 else None, Path(report["folder"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--letters", default="100,1000", help="letters of each day's batch, comma-separated")
    parser.add_argument("--accounts", type=int, default=3000, help="accounts of the synthetic workspace")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--renderer", choices=("real", "replay"), default="real")
    parser.add_argument("--replay", type=int, default=30, help="letters rendered for --renderer replay")
    args = parser.parse_args()
    sizes = [int(size) for size in args.letters.split(",")]
    print("load average before the run: " + ", ".join(f"{load:.2f}" for load in os.getloadavg()), flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="letterforge-packmem-") as temporary:
        scratch = Path(temporary)
        workspace = make_workspace(scratch / "ws", args.accounts, SEED)
        if args.renderer == "replay":
            render_for_replay(workspace, scratch / "replay", args.replay)
        for size in sizes:
            run_dir = scratch / f"run-{size}"
            copy = fresh_copy(workspace, run_dir / "ws", size)
            run = (run_replay(copy, args.jobs, scratch / "replay") if args.renderer == "replay"
                   else run_batch_cli(copy, args.jobs, run_dir))
            volumes = sorted(run.folder.glob("print-pack-*.pdf"))
            pack_bytes = sum(volume.stat().st_size for volume in volumes)
            letters = sorted((run.folder / "letters").glob("*.pdf"))
            alone = pack_alone(letters, run_dir)
            rows.append((size, run, volumes, pack_bytes, alone))
            print(f"{run.issued} letters ({run.failed} failed), --jobs {args.jobs}, {args.renderer} renderer: "
                  f"{run.seconds:.0f} s; peak RSS "
                  f"batch process {megabytes(run.main_mb)} MB, workers {megabytes(run.worker_mb)} MB; "
                  f"{len(volumes)} volume(s), {pack_bytes / 1e6:.1f} MB; the pack alone: "
                  f"{alone[1]:.1f} CPU-s, peak RSS {alone[2]:.0f} MB", flush=True)
    print()
    print(f"{'letters':>7} {'batch MB':>8} {'worker MB':>9} {'volumes':>7} {'pack MB':>7} "
          f"{'pack alone MB':>13} {'pack CPU ms/letter':>18}")
    for size, run, volumes, pack_bytes, alone in rows:
        print(f"{run.issued:>7} {megabytes(run.main_mb):>8} {megabytes(run.worker_mb):>9} {len(volumes):>7} "
              f"{pack_bytes / 1e6:7.1f} {alone[2]:13.0f} {1000 * alone[1] / max(run.issued, 1):18.0f}")
    first, last = rows[0][1], rows[-1][1]
    print(f"batch process peak at {last.issued} letters / at {first.issued}: {last.main_mb / first.main_mb:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
