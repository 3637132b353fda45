"""Start-up benchmark: a clerk's one-letter `letterforge render` against WeasyPrint's own command
on the same HTML, side by side.

Run: .venv/bin/python benchmarks/startup.py [--runs 9] [--sample property-zh] [--account JX-1-0201]

Each run is a fresh process, as a clerk's command is. The two commands alternate, so that what
else the machine does weighs on both alike; the figures are medians. Prints wall-clock and CPU
(user + system) seconds per command and their ratio; asserts nothing.

- letterforge: `letterforge -w WS render ACCOUNT --kind KIND --as-of D -o letter.pdf`, the real
  thing: the letter is numbered, proof-read, archived and recorded in the ledger. Every run gets a
  fresh copy of the workspace (copied before the clock starts), so no run is refused as a second
  letter of the day.
- WeasyPrint: `weasyprint letter.html out.pdf`, where letter.html is what letterforge lays the same
  letter out from (`render --draft --format html`), with the same fonts (fontconfig's).

Both share one cache folder (LETTERFORGE_CACHE_DIR: glyph coverage, compiled templates, holidays),
filled by an untimed first run, as it is on any machine after its first letter. Both run with
Python's bytecode cache on (PYTHONDONTWRITEBYTECODE unset), as after `pip install`, which
byte-compiles a package: with it set, an editable letterforge compiles its ~50 modules from
source at every start (~0.1 s), while WeasyPrint, installed by pip, does not.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one command run to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="runs of each command (median)")
    parser.add_argument("--sample", default="property-zh")
    parser.add_argument("--account", default="JX-1-0201")
    parser.add_argument("--kind", default="reminder")
    parser.add_argument("--as-of", default="2026-11-25")
    args = parser.parse_args()
    letterforge, weasyprint = str(BIN / "letterforge"), str(BIN / "weasyprint")

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        env = dict(os.environ, LETTERFORGE_CACHE_DIR=str(root / "cache"))
        env.pop("LETTERFORGE_WORKSPACE", None)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        template = root / "template"
        subprocess.run([letterforge, "init", str(template), "--example", args.sample], check=True, capture_output=True,
                       env=env)
        letter = [args.account, "--kind", args.kind, "--as-of", args.as_of]
        html = root / "letter.html"
        subprocess.run([letterforge, "-w", str(template), "render", *letter, "--draft", "--format", "html", "-o",
                        str(html)], check=True, capture_output=True, env=env)

        def letterforge_run(number: int) -> list[str]:
            workspace = root / f"ws-{number}"
            shutil.copytree(template, workspace)
            return [letterforge, "-w", str(workspace), "render", *letter, "-o", str(root / f"letter-{number}.pdf")]

        weasyprint_run = [weasyprint, str(html), str(root / "weasyprint.pdf")]
        timed(letterforge_run(0), env)  # untimed: fills the font cache, warms the page cache
        timed(weasyprint_run, env)
        ours: list[tuple[float, float]] = []
        theirs: list[tuple[float, float]] = []
        for number in range(1, args.runs + 1):
            command = letterforge_run(number)
            ours.append(timed(command, env))
            theirs.append(timed(weasyprint_run, env))
            shutil.rmtree(root / f"ws-{number}")

        python_alone = statistics.median(timed([sys.executable, "-c", "pass"], env)[0] for _ in range(args.runs))
        load = os.getloadavg()[0]

    print(f"{args.sample} {args.account} {args.kind} as of {args.as_of}, {args.runs} runs each, alternating; "
          f"load average {load:.2f}; python -c pass: {python_alone:.3f} s")
    print(f"{'command':32} {'wall s':>8} {'CPU s':>8}")
    wall_ours, cpu_ours = (statistics.median(run[i] for run in ours) for i in (0, 1))
    wall_theirs, cpu_theirs = (statistics.median(run[i] for run in theirs) for i in (0, 1))
    print(f"{'letterforge render (issued PDF)':32} {wall_ours:8.3f} {cpu_ours:8.3f}")
    print(f"{'weasyprint on the same HTML':32} {wall_theirs:8.3f} {cpu_theirs:8.3f}")
    print(f"{'ratio':32} {wall_ours / wall_theirs:8.2f} {cpu_ours / cpu_theirs:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
