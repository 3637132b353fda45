"""Batch benchmark: plan time, end-to-end batch time with 1 and 2 jobs, peak memory, print-pack size.

Run: .venv/bin/python benchmarks/batch.py [--quick] [--sizes 1000,10000] [--letters 200]
Generates synthetic workspaces (invented names only, fixed seed) modelled on samples/property-zh
and prints figures; asserts nothing. About 6 minutes on 2 cores (--quick: 1.5); run it on an
otherwise idle machine, as other load skews the times and the 2-job speed-up most. Fails
(exit 1) when HarfBuzz subsetting is missing, since WeasyPrint then silently becomes ~30x
slower and embeds whole fonts.
"""

from __future__ import annotations

import argparse
import csv
import ctypes.util
import io
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import letterforge.pipeline  # noqa: E402,F401  (imported here so that its import time is not timed as planning)
from letterforge.batch import plan_letters  # noqa: E402
from letterforge.ledger import open_ledger  # noqa: E402
from letterforge.printpack import make_print_pack  # noqa: E402
from letterforge.workspace import Workspace  # noqa: E402
from samples.make_samples import ADDRESS_PREFIX, GIVEN_NAMES, SURNAMES, UNIT_PRICE, mobile  # noqa: E402

AS_OF = date(2026, 11, 25)
SEED = 20261125
SAMPLE = ROOT / "samples" / "property-zh"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ACCOUNTS_PER_BUILDING = 40  # 20 floors x 2 rooms
AREAS = tuple(Decimal(a) for a in ("62.45", "89.37", "97.81", "108.16", "118.73", "126.54", "143.26", "176.92"))
# The first-day caps of the plan benchmark: a few hundred letters for a big community.
PLAN_CAPS = {"reminder": 300, "demand": 100, "lawyer": 50}
PER_GROUP_DAILY = {"reminder": 20, "demand": 5, "lawyer": 2}
CATEGORIES = (("遗忘", 35), ("", 25), ("经济困难", 15), ("恶意拖欠", 15), ("整改", 10))

# Letters already sent, by profile, dated on working days. On 2026-11-25: "lawyer" accounts have
# two demands past their deadlines (lawyer's-letter candidates); "demand" accounts two reminders
# past theirs; "reminder" accounts none or one reminder; "lawyered" accounts a lawyer's letter
# still within its deadline. The lawyered ones also count as recent lawyer's letters, so the
# plan does not shrink the first day to the small first wave meant for a fresh start.
HISTORY = {
    "lawyer": (("催缴通知", date(2026, 7, 6)), ("催缴通知", date(2026, 8, 5)),
               ("催费函", date(2026, 9, 1)), ("催费函", date(2026, 10, 9))),
    "lawyered": (("催缴通知", date(2026, 7, 6)), ("催费函", date(2026, 9, 1)), ("催费函", date(2026, 10, 9)),
                 ("律师函", date(2026, 11, 10))),
    "demand": (("催缴通知", date(2026, 10, 15)), ("催缴通知", date(2026, 10, 26))),
    "reminder-again": (("催缴通知", date(2026, 11, 5)),),
    "reminder": (),
    "hold": (("催缴通知", date(2026, 10, 15)),),
    "paid": (),
}
PROFILES = (("paid", 25), ("reminder", 15), ("reminder-again", 13), ("demand", 20), ("lawyer", 20),
            ("lawyered", 4), ("hold", 3))
REFERENCE_PREFIXES = {"催缴通知": "锦物通字", "催费函": "锦物催字", "律师函": "浙衡律函字"}


# -- synthetic workspaces ----------------------------------------------------------------------

def write_csv(path: Path, headers: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def inline_table(values: dict[str, int]) -> str:
    return "{ " + ", ".join(f"{key} = {value}" for key, value in values.items()) + " }"


def settings(caps: dict[str, int]) -> str:
    """The sample's letterforge.toml with the generated data files and these daily caps."""
    text = (SAMPLE / "letterforge.toml").read_text(encoding="utf-8")
    text = re.sub(r"^\[data\]\n(?:[^\[\n].*\n)*", "[data]\n"
                  'accounts = { file = "住户.csv", encoding = "utf-8" }\n'
                  'arrears = { file = "欠费明细.csv", encoding = "utf-8" }\n'
                  'history = { file = "已发函件.csv", encoding = "utf-8" }\n', text, count=1, flags=re.M)
    policy = f"daily_caps = {inline_table(caps)}\nper_group_daily = {inline_table(PER_GROUP_DAILY)}\n"
    if "\n[policy]\n" in text:  # the sample's own policy (its reference numbers) stays
        return text.replace("\n[policy]\n", "\n[policy]\n" + policy, 1)
    return text + "\n[policy]\n" + policy


def make_workspace(folder: Path, accounts: int, seed: int) -> Path:
    """A community of `accounts` households, 40 to a building, each indebted one owing 12 months."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    account_rows: list[list[str]] = []
    arrears_rows: list[list[str]] = []
    letters: list[tuple[date, str, str]] = []
    for index in range(accounts):
        building, slot = divmod(index, ACCOUNTS_PER_BUILDING)
        unit = f"{slot // 2 + 2:02d}{slot % 2 + 1:02d}"
        account_id = f"JX-{building + 1}-{unit}"
        profile = rng.choices([p for p, _ in PROFILES], [w for _, w in PROFILES])[0]
        category = rng.choices([c for c, _ in CATEGORIES], [w for _, w in CATEGORIES])[0]
        hold = ("已签分期协议", "2027-03-31") if profile == "hold" else ("", "")
        account_rows.append([account_id, rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES), f"{building + 1}栋", unit,
                             f"{ADDRESS_PREFIX}{building + 1}栋{unit}室", category, mobile(rng), *hold])
        if profile == "paid":
            continue
        fee = (rng.choice(AREAS) * UNIT_PRICE).quantize(Decimal("0.01"), ROUND_HALF_UP)
        for month in range(12):  # 2025-11 .. 2026-10, due on the 5th
            year, month_number = divmod(2025 * 12 + 10 + month, 12)
            paid = Decimal(rng.choice((50, 100))) if category == "经济困难" and rng.random() < 0.5 else Decimal(0)
            arrears_rows.append([account_id, f"{year}-{month_number + 1:02d}", "物业服务费", f"{fee:.2f}",
                                 f"{paid:.2f}", date(year, month_number + 1, 5).isoformat()])
        letters.extend((issued_on, account_id, kind) for kind, issued_on in HISTORY[profile])
    write_csv(folder / "住户.csv", ["户号", "姓名", "楼栋", "房号", "地址", "欠费类型", "联系电话", "暂缓原因", "暂缓至"],
              account_rows)
    write_csv(folder / "欠费明细.csv", ["户号", "账期", "收费项目", "应收金额", "已缴金额", "应缴日期"], arrears_rows)
    numbers: dict[str, int] = {}
    history_rows = []
    for issued_on, account_id, kind in sorted(letters):
        numbers[kind] = numbers.get(kind, 0) + 1
        history_rows.append([account_id, kind, issued_on.isoformat(),
                             f"{REFERENCE_PREFIXES[kind]}〔{issued_on.year}〕第{numbers[kind]:04d}号"])
    write_csv(folder / "已发函件.csv", ["户号", "函件类型", "发函日期", "文号"], history_rows)
    (folder / "letterforge.toml").write_text(settings(PLAN_CAPS), encoding="utf-8")
    return folder


def capped(letters: int) -> dict[str, int]:
    """Daily caps in the proportions of PLAN_CAPS that add up to `letters`."""
    total = sum(PLAN_CAPS.values())
    caps = {kind: round(letters * cap / total) for kind, cap in PLAN_CAPS.items() if kind != "reminder"}
    return {"reminder": letters - sum(caps.values()), **caps}


def fresh_copy(workspace: Path, target: Path, letters: int) -> Path:
    """A copy without ledger or output, so each run issues the same letters; caps cut to `letters`."""
    shutil.copytree(workspace, target, ignore=shutil.ignore_patterns("ledger.sqlite*", "out", ".letterforge.lock"))
    (target / "letterforge.toml").write_text(settings(capped(letters)), encoding="utf-8")
    return target


# -- plan --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanTiming:
    load: float
    plan: float
    today: int
    planned: int


def time_plan(workspace: Path, runs: int) -> PlanTiming:
    """Median load and plan_letters time (no rendering) on a workspace with an empty ledger."""
    opened = Workspace.open(workspace)
    loads, plans = [], []
    for _ in range(runs):
        started = time.perf_counter()
        data = opened.load_data()
        loads.append(time.perf_counter() - started)
        ledger = open_ledger(workspace, lambda: datetime.now().astimezone())
        try:
            started = time.perf_counter()
            day_plan = plan_letters(opened, data, ledger, AS_OF)
            plans.append(time.perf_counter() - started)
        finally:
            ledger.close()
    return PlanTiming(statistics.median(loads), statistics.median(plans), len(day_plan.plan.on(AS_OF)),
                      len(day_plan.plan.letters))


# -- batch through the CLI, with peak memory ---------------------------------------------------

def _processes() -> dict[int, tuple[str, int, float]]:
    """(command name, parent pid, CPU seconds so far) of every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        name_end = text.rfind(")")  # the name may itself contain spaces and parentheses
        fields = text[name_end + 2:].split()
        found[int(entry.name)] = (text[text.index("(") + 1:name_end], int(fields[1]),
                                  (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return found


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


class TreeWatch:
    """Polls the peak RSS (VmHWM) and CPU time of a process and of all its descendants every 0.2 s.

    /usr/bin/time -v and RUSAGE_CHILDREN give one maximum over the whole process tree, which
    cannot tell the main process from a worker, and they miss the fork server's workers, whom
    the CLI never waits for. VmHWM is a high-water mark, so a poll shortly before a process
    exits still sees its peak; its CPU time is short of at most the last 0.2 s.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peaks_kb: dict[int, int] = {}
        self.cpu: dict[int, float] = {}
        self.seen: dict[int, tuple[str, int, str]] = {}  # pid: (command name, parent, command line)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            processes = _processes()
            tree, frontier = set(), [self.pid]
            while frontier:
                parent = frontier.pop()
                tree.add(parent)
                frontier.extend(pid for pid, (_, ppid, _) in processes.items() if ppid == parent and pid not in tree)
            for pid in tree & processes.keys():
                self.cpu[pid] = processes[pid][2]
                match = re.search(r"^VmHWM:\s+(\d+) kB", _read(f"/proc/{pid}/status"), re.M)
                if match:
                    self.peaks_kb[pid] = max(self.peaks_kb.get(pid, 0), int(match.group(1)))
                if pid not in self.seen:
                    self.seen[pid] = (*processes[pid][:2], _read(f"/proc/{pid}/cmdline").replace("\0", " "))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def main_kb(self) -> int:
        return self.peaks_kb.get(self.pid, 0)

    @property
    def workers_kb(self) -> list[int]:
        """Peaks of the pool workers: the Python descendants other than multiprocessing's resource
        tracker and fork server (a fork-server process whose parent is the main one); helpers such
        as fc-match are not Python."""
        main_name = self.seen.get(self.pid, ("",))[0]
        return [self.peaks_kb.get(pid, 0) for pid, (name, parent, command) in self.seen.items()
                if pid != self.pid and (name.startswith("python") or name == main_name)
                and "multiprocessing.resource_tracker" not in command
                and not ("multiprocessing.forkserver" in command and parent == self.pid)]


@dataclass(frozen=True)
class BatchRun:
    jobs: int
    issued: int
    failed: int
    seconds: float
    cpu_seconds: float
    main_mb: float
    worker_mb: float | None
    pack_bytes: int
    letters_bytes: int
    folder: Path
    main_cpu_seconds: float = 0.0  # the batch process alone: its serial share, which more workers do not shorten
    workers_mb: tuple[float, ...] = ()  # each worker's peak RSS


def run_batch_cli(workspace: Path, jobs: int, scratch: Path) -> BatchRun:
    letterforge = Path(sys.executable).with_name("letterforge")
    out, stdout, stderr = scratch / "out", scratch / "stdout.json", scratch / "stderr.txt"
    command = [str(letterforge), "-w", str(workspace), "batch", "--as-of", AS_OF.isoformat(), "--jobs", str(jobs),
               "--out", str(out), "--format", "json"]
    # Output goes to files: a pipe left unread until the end would block the batch's final print.
    with stdout.open("wb") as out_file, stderr.open("wb") as err_file:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out_file, stderr=err_file)
        watch = TreeWatch(process.pid)
        process.wait()
        seconds = time.perf_counter() - started
        watch.stop()
    try:
        report = json.loads(stdout.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise SystemExit(f"batch --jobs {jobs} on {workspace} exited {process.returncode}:\n{stderr.read_text()}")
    folder = Path(report["folder"])
    volumes = list(folder.glob("print-pack-*.pdf"))
    return BatchRun(
        jobs, sum(report["counts"]["issued"].values()), sum(report["counts"]["failed"].values()), seconds,
        sum(watch.cpu.values()),  # well under 2 x the seconds with 2 jobs: the workers waited
        watch.main_kb / 1024, max(watch.workers_kb) / 1024 if watch.workers_kb else None,
        sum(volume.stat().st_size for volume in volumes),
        sum(p.stat().st_size for p in (folder / "letters").glob("*.pdf")), folder,
        watch.cpu.get(process.pid, 0.0), tuple(kb / 1024 for kb in watch.workers_kb))


def time_pack(folder: Path) -> float:
    """The print pack alone, made again in this process: the serial tail that extra jobs cannot shorten."""
    letters = sorted((folder / "letters").glob("*.pdf"))
    started = time.perf_counter()
    make_print_pack(letters)
    return time.perf_counter() - started


def megabytes(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


# -- main --------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="accounts per workspace, comma-separated")
    parser.add_argument("--quick", action="store_true", help="sizes 200,1000 and 50 letters per batch")
    parser.add_argument("--letters", type=int, default=None,
                        help="letters per timed batch, via the daily caps (default 200; 50 with --quick)")
    parser.add_argument("--small-letters", type=int, default=20,
                        help="letters of the extra 2-job batch whose peak memory is set against the full one's")
    parser.add_argument("--plan-runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    if ctypes.util.find_library("harfbuzz-subset") is None:
        print("FAIL: libharfbuzz-subset not found; apt-get install libharfbuzz-subset0")
        return 1
    sizes = [200, 1000] if args.quick else [int(size) for size in args.sizes.split(",")]
    letters = args.letters or (50 if args.quick else 200)
    began = time.perf_counter()
    # Other work on the machine skews every figure here, the 2-job speed-up most.
    print("load average before the run: " + ", ".join(f"{load:.2f}" for load in os.getloadavg()), flush=True)
    plans: dict[int, PlanTiming] = {}
    runs: dict[int, list[BatchRun]] = {}
    packs: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="letterforge-bench-") as temporary:
        scratch = Path(temporary)
        for size in sizes:
            workspace = make_workspace(scratch / f"ws-{size}", size, args.seed)
            plans[size] = timing = time_plan(workspace, args.plan_runs)
            print(f"{size:>6} accounts: load {timing.load:.2f} s, plan {timing.plan:.2f} s "
                  f"({timing.today} letters on {AS_OF}, {timing.planned} planned in the horizon)", flush=True)
            runs[size] = []
            for jobs, count in ((1, letters), (2, letters), (2, args.small_letters)):
                run_dir = scratch / f"run-{size}-{jobs}-{count}"
                run = run_batch_cli(fresh_copy(workspace, run_dir / "ws", count), jobs, run_dir)
                runs[size].append(run)
                print(f"{size:>6} accounts: batch --jobs {jobs}: {run.issued} issued ({run.failed} failed) in "
                      f"{run.seconds:.1f} s (CPU {run.cpu_seconds:.1f} s); peak RSS main {megabytes(run.main_mb)} MB, "
                      f"worker {megabytes(run.worker_mb)} MB", flush=True)
            packs[size] = time_pack(runs[size][1].folder)
            for run_dir in scratch.glob(f"run-{size}-*"):
                shutil.rmtree(run_dir)  # 10,000 accounts' letters and copies add up

    print()
    print(f"{'accounts':>8} {'load s':>6} {'plan s':>6} {'letters':>7} {'1 job s':>7} {'2 jobs s':>8} "
          f"{'l/s 1':>5} {'l/s 2':>5} {'speed-up':>8} {'pack s':>6} {'pack/sum':>8} "
          f"{'main MB':>11} {'worker MB':>11}")
    for size in sizes:
        one, two, small = runs[size]
        ratio = two.pack_bytes / two.letters_bytes if two.letters_bytes else float("nan")
        print(f"{size:>8} {plans[size].load:6.2f} {plans[size].plan:6.2f} {two.issued:>7} {one.seconds:7.1f} "
              f"{two.seconds:8.1f} {one.issued / one.seconds:5.2f} {two.issued / two.seconds:5.2f} "
              f"{one.seconds / two.seconds:7.2f}x {packs[size]:6.1f} {ratio:8.3f} "
              f"{megabytes(small.main_mb) + '/' + megabytes(two.main_mb):>11} "
              f"{megabytes(small.worker_mb) + '/' + megabytes(two.worker_mb):>11}")
    print(f"MB: peak RSS with {args.small_letters} letters / with {letters} letters (2 jobs); the 1-job main "
          "process renders too: " + ", ".join(f"{megabytes(runs[s][0].main_mb)} MB at {s}" for s in sizes))
    print("pack/sum: the print pack's volumes over the sum of the single-letter PDFs; "
          + ", ".join(f"{runs[s][1].pack_bytes / 1024:.0f} KB vs {runs[s][1].letters_bytes / 1024:.0f} KB at {s}"
                      for s in sizes))
    print(f"total {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
