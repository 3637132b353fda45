"""Scale benchmark: how a month-end day grows, side by side in one run.

Run: nice -n 10 .venv/bin/python benchmarks/scale.py [--quick] [--accounts 10000,100000]
     [--letters 100,1000] [--rounds 2] [--round-letters 300] [--baseline 2482dbb] [--workers 2,8,32,64]
     [--skip-batch | --skip-plan]

Prints, asserts nothing:
- planning: load + plan time, CPU time, time in the garbage collector and peak memory at 10,000
  and 100,000 accounts, each size in a fresh process (so that its peak RSS is its own); how the
  time grows from the smaller size to the larger; with --baseline COMMIT the same figures for the
  planning code of that commit (exported from this repository's git into the temporary folder),
  so that "faster than before" is measured in the same run on the same data;
- two at once: the seconds 30 letters take to lay out in one process alone and in each of two
  processes at the same time, which bounds what two workers of any kind can give over one here;
- the batch through the CLI for `local` with 1 and 2 jobs and for `dask` with a real scheduler and
  2 worker processes started here on 127.0.0.1 (always stopped): letters/s, the speed-up over one
  local job at the same number of letters, the peak RSS of the batch process and of each worker at each --letters count, and
  whether the Dask run made the same PDFs (SHA-256 in the manifest) as the local one;
- side by side: `dask` and `local` with 1 job run in turn, --rounds times at --round-letters
  letters (dask, 1 job; 1 job, dask; ...), and the speed-up of each round, from two runs minutes
  apart: this machine is a VM whose speed drifts by 10-30% within the hour, so a speed-up taken
  from runs far apart in time (the table's 1,000-letter columns are 10-20 minutes apart) measures
  the drift as much as the executors;
- an extrapolation to 200,000 letters on N workers, from the CPU-seconds a letter costs a worker
  and the batch process.
Synthetic workspaces (invented names, fixed seed; benchmarks/batch.py makes them) live in a
temporary folder. Other work on the machine skews the wall-clock figures (the speed-ups most),
the CPU-seconds least: the load average before the run is printed with the figures. The full
run takes about 45 minutes on an idle 2-core machine; --quick a few minutes.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = Path(__file__).resolve().parent
MONTH_END = 200_000


def _autogroup() -> bool:
    try:
        return Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
    except OSError:
        return False


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _numbers(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


# -- planning, each size in its own process -----------------------------------------------------

@dataclass(frozen=True)
class PlanRun:
    code: str  # "this code" or the baseline commit
    accounts: int
    load: float
    plan: float
    cpu: float  # CPU seconds of load + plan: what a busy machine skews least
    gc_seconds: float
    peak_mb: float
    planned: int

    @property
    def seconds(self) -> float:
        return self.load + self.plan

    @property
    def kb_per_account(self) -> float:
        return self.peak_mb * 1024 / self.accounts


def _peak_rss_mb() -> float:
    match = re.search(r"^VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(match.group(1)) / 1024 if match else float("nan")


def plan_child(workspace: Path, as_of: date, code: Path) -> None:
    """In a fresh process: load the workspace and plan its day with the letterforge found in
    `code`; print the figures as JSON. Nothing of letterforge is imported before this."""
    sys.path.insert(0, str(code))
    import letterforge
    from letterforge.ledger import open_ledger
    from letterforge.workspace import Workspace
    try:
        from letterforge.dayplan import plan_letters
    except ImportError:  # before the stages had modules of their own
        from letterforge.batch import plan_letters  # type: ignore[attr-defined,no-redef]
    if not Path(letterforge.__file__).resolve().is_relative_to(code.resolve()):
        raise SystemExit(f"letterforge was imported from {letterforge.__file__}, not from {code}")

    collecting = {"started": 0.0, "total": 0.0}

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collecting["started"] = time.process_time()
        else:
            collecting["total"] += time.process_time() - collecting["started"]

    gc.callbacks.append(watch)
    opened = Workspace.open(workspace)
    cpu_started = time.process_time()
    started = time.perf_counter()
    data = opened.load_data()
    loaded = time.perf_counter()
    if data.diagnostics:
        raise SystemExit(f"{workspace}: the data has problems, the plan would not be today's: {data.diagnostics[0]}")
    ledger = open_ledger(workspace, lambda: datetime.now().astimezone())
    try:
        planned = time.perf_counter()
        day_plan = plan_letters(opened, data, ledger, as_of)
        done = time.perf_counter()
    finally:
        ledger.close()
    cpu = time.process_time() - cpu_started
    print(json.dumps({"accounts": len(data.accounts), "load": loaded - started, "plan": done - planned, "cpu": cpu,
                      "gc_seconds": collecting["total"], "peak_mb": _peak_rss_mb(),
                      "planned": len(day_plan.plan.letters)}))


def layout_child(workspace: Path, as_of: date, letters: int) -> None:
    """In a fresh process: lay out `letters` reminders of the workspace one after the other, after
    two that warm the process up (fonts, templates); print their wall-clock and CPU seconds as JSON."""
    from letterforge.letters import LetterFactory
    from letterforge.records import LetterKind
    from letterforge.workspace import Workspace

    factory = LetterFactory(Workspace.open(workspace))
    drafts = []
    for account in factory.data.accounts:
        if len(drafts) == letters + 2:
            break
        if factory.data.arrears_of(account.account_id):
            drafts.append(factory.draft(account.account_id, LetterKind.REMINDER, as_of, f"REM-{len(drafts):05d}"))
    for draft in drafts[:2]:
        factory.render(draft, "pdf")
    cpu, started = time.process_time(), time.perf_counter()
    for draft in drafts[2:]:
        factory.render(draft, "pdf")
    print(json.dumps({"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu, "letters": letters}))


def two_at_once(workspace: Path, as_of: date, letters: int) -> tuple[float, float]:
    """The seconds `letters` letters take in one process alone, and on average in each of two
    processes laying out the same letters at the same time: what two cores of this machine give
    when both are busy, the most any executor with two workers can get over one."""
    def children(count: int) -> list[dict[str, float]]:
        command = [sys.executable, __file__, "--layout-child", str(workspace), "--as-of", as_of.isoformat(),
                   "--layout-letters", str(letters)]
        processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(count)]
        return [json.loads(process.communicate()[0]) for process in processes]

    alone = children(1)[0]["wall"]
    together = children(2)
    return alone, sum(child["wall"] for child in together) / len(together)


def large_workspace(folder: Path, accounts: int, seed: int) -> Path:
    """A synthetic workspace whose data files may be as big as the accounts make them (the
    arrears of 100,000 accounts are ~60 MB, above the default [limits] max_file_mb)."""
    from batch import make_workspace

    workspace = make_workspace(folder, accounts, seed)
    settings = workspace / "letterforge.toml"
    assert "[limits]" not in settings.read_text(encoding="utf-8")
    with settings.open("a", encoding="utf-8") as file:
        file.write("\n[limits]\nmax_file_mb = 2048\n")
    return workspace


def export_commit(commit: str, folder: Path) -> Path:
    """The package and its shipped files as they were at `commit`, from this repository's git."""
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit, "letterforge", "templates",
                              "legal_clauses", "samples"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def time_plan(workspace: Path, accounts: int, as_of: date, code: Path, label: str) -> PlanRun:
    done = subprocess.run([sys.executable, __file__, "--plan-child", str(workspace), "--as-of", as_of.isoformat(),
                           "--code", str(code)], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"planning {workspace} with {label} failed:\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures.pop("accounts") == accounts, "the workspace has accounts that did not load"
    return PlanRun(label, accounts, **figures)


def print_plans(plans: list[PlanRun]) -> None:
    print(f"{'code':>10} {'accounts':>8} {'load s':>7} {'plan s':>7} {'total s':>8} {'CPU s':>7} {'gc s':>6} "
          f"{'peak MB':>8} {'KB/account':>10} {'planned':>8}")
    for run in plans:
        print(f"{run.code:>10} {run.accounts:>8} {run.load:7.2f} {run.plan:7.2f} {run.seconds:8.2f} {run.cpu:7.2f} "
              f"{run.gc_seconds:6.2f} {run.peak_mb:8.0f} {run.kb_per_account:10.1f} {run.planned:>8}")
    for code in dict.fromkeys(run.code for run in plans):
        mine = [run for run in plans if run.code == code]
        if len(mine) >= 2:
            small, large = mine[0], mine[-1]
            print(f"{code}: {large.accounts:,} accounts take {large.seconds / small.seconds:.1f}x the time of "
                  f"{small.accounts:,} ({large.cpu / small.cpu:.1f}x the CPU time) for "
                  f"{large.accounts / small.accounts:.0f}x the accounts")
    ours = {run.accounts: run for run in plans if run.code == "this code"}
    for run in plans:
        if run.code != "this code" and run.accounts in ours:
            now = ours[run.accounts]
            print(f"at {run.accounts:,} accounts this code is {run.seconds / now.seconds:.2f}x as fast as {run.code} "
                  f"({run.cpu / now.cpu:.2f}x by CPU time) in {now.peak_mb / run.peak_mb:.2f}x the memory; "
                  f"the same number of letters planned: {'yes' if run.planned == now.planned else 'NO'}")


# -- the batch, per executor ---------------------------------------------------------------------

@dataclass(frozen=True)
class Batch:
    """One day's batch through the CLI: what an executor's column shows."""

    executor: str
    letters: int  # asked for, through the daily caps
    issued: int
    failed: int
    seconds: float
    main_mb: float
    workers_mb: tuple[float, ...]
    main_cpu: float | None  # the batch process's CPU-seconds
    workers_cpu: float | None  # all workers' together
    hashes: dict[str, str]

    @property
    def rate(self) -> float:
        return self.issued / self.seconds if self.seconds else float("nan")


def local_batch(workspace: Path, scratch: Path, jobs: int, letters: int) -> Batch:
    from batch import fresh_copy, run_batch_cli
    from dask_batch import hashes

    run_dir = scratch / f"local-{jobs}-{letters}"
    run = run_batch_cli(fresh_copy(workspace, run_dir / "ws", letters), jobs, run_dir)
    workers_mb = run.workers_mb if jobs > 1 else ()  # one job renders in the batch process itself
    return Batch(f"local {jobs} job{'s' if jobs > 1 else ''}", letters, run.issued, run.failed, run.seconds,
                 run.main_mb, workers_mb, run.main_cpu_seconds, run.cpu_seconds - run.main_cpu_seconds,
                 hashes(run.folder))


def dask_batch(workspace: Path, scratch: Path, letters: int, workers: int) -> Batch:
    """`batch --executor dask` with a real scheduler and `workers` worker processes started here
    on 127.0.0.1 (benchmarks/dask_batch.py), on a fresh copy of `workspace`."""
    from batch import fresh_copy
    from dask_batch import dask_run, hashes

    run_dir = scratch / f"dask-{workers}-{letters}"
    run = dask_run(fresh_copy(workspace, run_dir / "ws", letters), run_dir, workers)
    return Batch(f"dask {workers} workers", letters, run.issued, run.failed, run.seconds, run.main_mb,
                 tuple(run.worker_mb), run.main_cpu, run.workers_cpu,
                 hashes(run.folder))


def side_by_side(workspace: Path, scratch: Path, letters: int, rounds: int, workers: int) -> list[tuple[Batch, Batch]]:
    """`rounds` rounds of the same day on Dask and on one local job, one right after the other, in
    turns: dask first in odd rounds, one local job first in even ones, so that a machine growing
    faster or slower through the rounds favours neither."""
    pairs = []
    for number in range(1, rounds + 1):
        load = os.getloadavg()[0]
        if number % 2:
            on_dask = dask_batch(workspace, scratch / f"round-{number}", letters, workers)
            local = local_batch(workspace, scratch / f"round-{number}", 1, letters)
        else:
            local = local_batch(workspace, scratch / f"round-{number}", 1, letters)
            on_dask = dask_batch(workspace, scratch / f"round-{number}", letters, workers)
        pairs.append((on_dask, local))
        print(f"round {number} ({letters} letters, load {load:.2f} before): dask {workers} workers {on_dask.rate:.2f} "
              f"letters/s, local 1 job {local.rate:.2f}: {on_dask.rate / local.rate:.2f}x; the same PDFs: "
              f"{'yes' if on_dask.hashes == local.hashes else 'NO'}", flush=True)
    return pairs


def print_side_by_side(pairs: list[tuple[Batch, Batch]], workers: int) -> None:
    median = statistics.median(on_dask.rate / local.rate for on_dask, local in pairs)
    letters = pairs[0][0].letters
    print(f"side by side, {len(pairs)} rounds of {letters} letters: dask with {workers} workers did "
          + ", ".join(f"{on_dask.rate / local.rate:.2f}x" for on_dask, local in pairs)
          + f" one local job (median {median:.2f}x); CPU-seconds a letter (the day's start-up included), dask "
          "workers / batch process: "
          + ", ".join(f"{on_dask.workers_cpu / on_dask.issued:.2f}/{on_dask.main_cpu / on_dask.issued:.3f}"
                      for on_dask, _ in pairs if on_dask.issued and on_dask.workers_cpu is not None
                      and on_dask.main_cpu is not None)
          + "; one local job: "
          + ", ".join(f"{local.main_cpu / local.issued:.2f}" for _, local in pairs
                      if local.issued and local.main_cpu is not None))


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def print_batches(runs: dict[tuple[str, int], Batch | None], executors: list[str], letter_counts: list[int]) -> None:
    width = 20
    print(f"{'':40}" + "".join(f"{name:>{width}}" for name in executors))

    def row(label: str, cell) -> None:  # type: ignore[no-untyped-def]
        print(f"{label:40}" + "".join(f"{cell(name):>{width}}" for name in executors))

    for letters in letter_counts:
        def get(name: str, letters: int = letters) -> Batch | None:
            return runs.get((name, letters))

        one = get(executors[0])

        row(f"{letters} letters: issued (failed)",
            lambda n: f"{get(n).issued} ({get(n).failed})" if get(n) else "-")
        row(f"{letters} letters: seconds", lambda n: f"{get(n).seconds:.1f}" if get(n) else "-")
        row(f"{letters} letters: letters/s", lambda n: f"{get(n).rate:.2f}" if get(n) else "-")
        if one is not None:
            row(f"{letters} letters: speed-up over 1 job",
                lambda n, one=one: f"{get(n).rate / one.rate:.2f}x" if get(n) else "-")
        row(f"{letters} letters: batch peak MB", lambda n: _mb(get(n).main_mb) if get(n) else "-")
        row(f"{letters} letters: each worker peak MB",
            lambda n: "/".join(_mb(m) for m in get(n).workers_mb) or "(none)" if get(n) else "-")
        row(f"{letters} letters: CPU-s batch/workers",
            lambda n: f"{_cpu(get(n).main_cpu)}/{_cpu(get(n).workers_cpu)}" if get(n) else "-")
    if len(letter_counts) >= 2:
        small, large = letter_counts[0], letter_counts[-1]
        row(f"batch peak at {large} / at {small}",
            lambda n: f"{runs[(n, large)].main_mb / runs[(n, small)].main_mb:.2f}x"
            if runs.get((n, large)) and runs.get((n, small)) else "-")
    for name in executors[1:]:
        for letters in letter_counts:
            local, other = runs.get((executors[1], letters)), runs.get((name, letters))
            if name != executors[1] and local and other:
                same = local.hashes == other.hashes
                print(f"{name} at {letters} letters: the same PDFs (SHA-256) as {executors[1]}: "
                      f"{'yes' if same else 'NO'} ({len(other.hashes)} letters)")


def _cpu(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_extrapolation(runs: dict[tuple[str, int], Batch | None], workers: list[int]) -> None:
    """200,000 letters on N workers of this machine's speed, one core each, from the CPU-seconds a
    letter costs: the workers' share spreads over N; the batch process's share (compose, archive,
    verify, record, print pack) stays on its one core and bounds the rate whatever N. The cost of
    a letter is the difference between the largest and the smallest day of an executor (start-up
    and planning then drop out), or the largest day's average when there is one day only."""
    for executor in dict.fromkeys(name for name, _ in runs):
        days = sorted((run for (name, _), run in runs.items() if name == executor and run is not None
                       and run.issued and run.workers_cpu and run.main_cpu is not None and run.workers_mb),
                      key=lambda run: run.issued)
        if not days:
            continue
        small, large = days[0], days[-1]
        if large.issued > small.issued:
            letters = large.issued - small.issued
            worker_s = (large.workers_cpu - small.workers_cpu) / letters  # type: ignore[operator]
            main_s = (large.main_cpu - small.main_cpu) / letters  # type: ignore[operator]
            basis = f"the {small.issued} to {large.issued} letters' difference"
        else:
            worker_s, main_s = large.workers_cpu / large.issued, large.main_cpu / large.issued  # type: ignore[operator]
            basis = f"{large.issued} letters, start-up included"
        ceiling = 1 / main_s if main_s > 0 else float("inf")
        print(f"{executor} ({basis}): {worker_s:.2f} CPU-s a letter in the workers "
              f"({MONTH_END * worker_s / 3600:.1f} CPU-hours for 200,000), {main_s:.3f} CPU-s in the batch process "
              f"(at most {ceiling:.0f} letters/s whatever the workers)")
        cells = []
        for count in workers:
            rate = min(count / worker_s, ceiling) if worker_s > 0 else ceiling
            cells.append(f"{count} workers {MONTH_END / rate / 3600:.1f} h")
        print("  200,000 letters: " + ", ".join(cells))
    print("  (one core per worker, the work spread evenly; the network, the scheduler and the day's planning "
          "not counted)")


# -- main ----------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plan-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--layout-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--layout-letters", type=int, default=30,
                        help="letters each process lays out in the two-at-once measurement (default 30)")
    parser.add_argument("--code", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 25), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="plan 2,000 and 20,000 accounts; 20 and 100 letters")
    parser.add_argument("--accounts", "--plan-sizes", default="10000,100000",
                        help="accounts of the planning runs, comma-separated (default 10000,100000)")
    parser.add_argument("--baseline", metavar="COMMIT",
                        help="also plan with the code of this commit (e.g. 2482dbb), side by side")
    parser.add_argument("--letters", default="100,1000",
                        help="letters of the batches, comma-separated (default 100,1000)")
    parser.add_argument("--batch-accounts", type=int, default=10_000, help="accounts of the batch's workspace")
    parser.add_argument("--dask-workers", type=int, default=2, help="worker processes of the Dask column")
    parser.add_argument("--workers", default="2,8,32,64", help="worker counts of the 200,000-letter extrapolation")
    parser.add_argument("--skip-batch", action="store_true", help="planning only")
    parser.add_argument("--skip-plan", action="store_true", help="the batches only")
    parser.add_argument("--no-dask", action="store_true", help="leave out the Dask column")
    parser.add_argument("--executors", default="local1,local2,dask",
                        help="the batch's columns to run, of local1, local2 and dask (default all three)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="rounds of dask and one local job side by side (default 2; 0 leaves them out; "
                             "--letters '' runs the rounds alone)")
    parser.add_argument("--round-letters", type=int, default=300, help="letters of each side-by-side run (default 300)")
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    if args.plan_child:
        plan_child(args.plan_child, args.as_of, args.code)
        return 0
    if args.layout_child:
        layout_child(args.layout_child, args.as_of, args.layout_letters)
        return 0
    sys.path.insert(0, str(BENCHMARKS))
    # A SIGTERM unwinds like Ctrl-C: the Dask scheduler and workers started here are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    plan_sizes = [2_000, 20_000] if args.quick else _numbers(args.accounts)
    letter_counts = [20, 100] if args.quick else _numbers(args.letters)
    batch_accounts = 2_000 if args.quick else args.batch_accounts
    began = time.perf_counter()
    print("load average before the run: " + ", ".join(f"{load:.2f}" for load in os.getloadavg())
          + f" ({os.cpu_count()} cores)", flush=True)
    if _autogroup():
        print("the kernel shares the CPU by session (sched_autogroup): on a busy machine the Dask scheduler and "
              "workers, each in a session of its own, get more of it than the local pool, whose workers share the "
              "batch's; the letters/s then favour Dask, the CPU-seconds do not", flush=True)
    why_no_dask = "left out (--no-dask)" if args.no_dask else ""
    plans: list[PlanRun] = []
    runs: dict[tuple[str, int], Batch | None] = {}
    pairs: list[tuple[Batch, Batch]] = []
    executors = ["local 1 job", "local 2 jobs", f"dask {args.dask_workers} workers"]
    chosen = {"local1": executors[0], "local2": executors[1], "dask": executors[2]}
    unknown = set(_names(args.executors)) - chosen.keys()
    if unknown:
        parser.error(f"--executors: unknown {', '.join(sorted(unknown))} (known: local1, local2, dask)")
    wanted = {chosen[name] for name in _names(args.executors)}
    with tempfile.TemporaryDirectory(prefix="letterforge-scale-") as temporary:
        scratch = Path(temporary)
        if not args.skip_plan:
            codes = [("this code", ROOT)]
            if args.baseline:
                codes.append((args.baseline, export_commit(args.baseline, scratch / f"code-{args.baseline}")))
            for size in plan_sizes:
                workspace = large_workspace(scratch / f"plan-{size}", size, args.seed)
                for label, code in codes:
                    plans.append(run := time_plan(workspace, size, args.as_of, code, label))
                    print(f"plan {size:>7} accounts ({label}): load {run.load:.2f} s + plan {run.plan:.2f} s "
                          f"(CPU {run.cpu:.2f} s, gc {run.gc_seconds:.2f} s), peak RSS {run.peak_mb:.0f} MB = "
                          f"{run.kb_per_account:.1f} KB an account; {run.planned} letters planned", flush=True)
            plans.sort(key=lambda run: (run.code != "this code", run.code, run.accounts))
        if not args.skip_batch:
            from batch import make_workspace

            workspace = make_workspace(scratch / "batch", batch_accounts, args.seed)
            alone, together = two_at_once(workspace, args.as_of, 10 if args.quick else args.layout_letters)
            print(f"two at once: {args.layout_letters if not args.quick else 10} letters take {alone:.1f} s in one "
                  f"process alone, {together:.1f} s in each of two processes at the same time: two workers can be "
                  f"at most {2 * alone / together:.2f}x one on this machine", flush=True)
            for letters in letter_counts:
                # one local job and dask one after the other, so that the machine's drift parts them least
                for name in (executors[0], executors[2], executors[1]):
                    if name not in wanted:
                        continue
                    if name.startswith("dask") and why_no_dask:
                        runs[(name, letters)] = None
                        continue
                    if name.startswith("dask"):
                        run = dask_batch(workspace, scratch, letters, args.dask_workers)
                    else:
                        run = local_batch(workspace, scratch, 1 if name == "local 1 job" else 2, letters)
                    runs[(name, letters)] = run
                    print(f"{name}, {letters} letters: {run.issued} issued ({run.failed} failed) in {run.seconds:.1f} s"
                          f" = {run.rate:.2f} letters/s; peak RSS batch {_mb(run.main_mb)} MB, workers "
                          f"{'/'.join(_mb(m) for m in run.workers_mb) or '-'} MB", flush=True)

            if args.rounds and not why_no_dask and {executors[0], executors[2]} <= wanted:
                pairs = side_by_side(workspace, scratch, 20 if args.quick else args.round_letters,
                                     args.rounds, args.dask_workers)

    print()
    print("load average after the run: " + ", ".join(f"{load:.2f}" for load in os.getloadavg()))
    if plans:
        print()
        print_plans(plans)
    if runs:
        print()
        print_batches(runs, executors, letter_counts)
        if why_no_dask:
            print(f"dask: {why_no_dask}")
        print()
        print_extrapolation(runs, _numbers(args.workers))
    if pairs:
        print()
        print_side_by_side(pairs, args.dask_workers)
    print(f"\ntotal {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
