"""Render benchmark: cold CLI time, warm time per letter by format, WeasyPrint alone, PDF size.

Run: .venv/bin/python benchmarks/render.py [--letters 20]
Prints figures; asserts nothing. Fails (exit 1) when HarfBuzz subsetting is missing, since
WeasyPrint then silently becomes ~30x slower and embeds whole fonts.
"""

from __future__ import annotations

import argparse
import ctypes.util
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pypdf import PdfReader  # noqa: E402

from letterforge.pipeline import LetterFactory  # noqa: E402
from letterforge.records import LetterKind  # noqa: E402
from letterforge.workspace import Workspace  # noqa: E402

AS_OF = date(2026, 11, 25)
SAMPLES = {"property-zh": "JX-2-0302", "receivables-en": "C-1004"}


def cold_cli(sample: str, account: str, output_format: str, runs: int) -> float:
    """A clerk's `render --draft` of one letter, start to finish, on a copy of the sample: a draft,
    since the ladder need not call for that letter today, and nothing is written to the sample."""
    letterforge = Path(sys.executable).with_name("letterforge")
    times = []
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder) / sample
        shutil.copytree(ROOT / "samples" / sample, workspace)
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([str(letterforge), "-w", str(workspace), "render", account, "--kind", "demand", "--draft",
                            "--as-of", AS_OF.isoformat(), "--format", output_format, "-o", folder],
                           check=True, capture_output=True)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--letters", type=int, default=20, help="warm letters per format")
    parser.add_argument("--cold-runs", type=int, default=3)
    args = parser.parse_args()
    if ctypes.util.find_library("harfbuzz-subset") is None:
        print("FAIL: libharfbuzz-subset not found; apt-get install libharfbuzz-subset0")
        return 1
    from weasyprint import HTML

    print(f"{'sample':16} {'format':6} {'cold CLI s':>10} {'warm s/letter':>14} {'size KB':>8}")
    for sample, account in SAMPLES.items():
        factory = LetterFactory(Workspace.open(ROOT / "samples" / sample))
        drafts = [factory.draft(a.account_id, LetterKind.DEMAND, AS_OF)
                  for a in factory.data.accounts
                  if any(i.outstanding > 0 and i.due_date < AS_OF for i in factory.data.arrears_of(a.account_id))
                  and not a.on_hold(AS_OF)][: args.letters]
        for output_format in ("pdf", "docx", "html"):
            factory.render(drafts[0], output_format)  # load fonts and templates once
            started = time.perf_counter()
            sizes = [len(factory.render(draft, output_format).content) for draft in drafts]
            warm = (time.perf_counter() - started) / len(drafts)
            cold = cold_cli(sample, account, output_format, args.cold_runs)
            print(f"{sample:16} {output_format:6} {cold:10.2f} {warm:14.3f} {statistics.mean(sizes) / 1024:8.0f}")
        html = factory.renderer.render_html(factory.draft(account, LetterKind.DEMAND, AS_OF))
        font_config = factory.renderer.font_config
        HTML(string=html).write_pdf(font_config=font_config)
        runs = 5
        started = time.perf_counter()
        for _ in range(runs):
            HTML(string=html).write_pdf(font_config=font_config)
        alone = (time.perf_counter() - started) / runs
        draft = factory.draft(account, LetterKind.DEMAND, AS_OF)
        started = time.perf_counter()
        for _ in range(runs):
            ours = factory.render(draft, "pdf")
        full = (time.perf_counter() - started) / runs
        pages = len(PdfReader(io.BytesIO(ours.content)).pages)
        print(f"{sample:16} WeasyPrint alone on the same HTML: {alone:.3f} s; letterforge PDF: {full:.3f} s "
              f"(ratio {full / alone:.2f}); {pages} pages, {len(ours.content) / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
