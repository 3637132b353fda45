"""The batch on a real Dask cluster on this machine, against the local executor: letters/s and peak RSS.

Run: nice -n 10 .venv/bin/python benchmarks/dask_batch.py [--letters 100] [--accounts 1000]
Starts `dask scheduler` and N `dask worker` processes (--nthreads 1, --no-nanny) on 127.0.0.1,
runs the same day of a synthetic workspace (benchmarks/batch.py's) with `--jobs 1` and with
`--executor dask`, checks that both made the same PDFs (SHA-256) and prints figures; asserts
nothing else. `dask_run` and `DaskCluster` are what benchmarks/scale.py uses for its dask column.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from batch import AS_OF, TreeWatch, _processes, fresh_copy, make_workspace, megabytes, run_batch_cli  # noqa: E402

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class DaskCluster:
    """A scheduler and `workers` worker processes on 127.0.0.1, stopped by `stop` (or `with`)."""

    folder: Path
    workers: int = 2
    address: str = ""
    processes: list[subprocess.Popen] = field(default_factory=list)

    def __enter__(self) -> DaskCluster:
        from distributed import Client

        if not (Path(sys.prefix) / "etc" / "dask" / "letterforge.yaml").is_file():
            raise SystemExit(f"{sys.prefix} has not installed letterforge's Dask settings (etc/dask/letterforge.yaml): "
                             "run `make setup`, which installs them, so that the cluster runs as the README starts it")

        port = free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"])
        for number in range(self.workers):
            # As the README starts a letter worker; like the scheduler, it reads letterforge's Dask settings
            # (letterforge/dask.yaml, installed in the venv's etc/dask).
            self._start(f"worker-{number}", ["worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                             "--host", "127.0.0.1", "--local-directory", str(self.folder)])
        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(self.workers, timeout=60)
        return self

    def _start(self, name: str, arguments: list[str], environment: dict[str, str] | None = None) -> None:
        log = open(self.folder / f"{name}.log", "wb")
        self.processes.append(subprocess.Popen([str(BIN / "dask"), *arguments], stdout=log, stderr=log,
                                               start_new_session=True, env={**os.environ, **(environment or {})}))

    @property
    def worker_pids(self) -> list[int]:
        return [p.pid for p in self.processes[1:]]

    def __exit__(self, *_exc: object) -> None:
        for process in reversed(self.processes):  # workers first, the scheduler last
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@dataclass(frozen=True)
class DaskRun:
    issued: int
    failed: int
    seconds: float
    main_mb: float
    worker_mb: list[float]
    folder: Path
    main_cpu: float = 0.0  # CPU-seconds of the batch process
    workers_cpu: float = 0.0  # CPU-seconds of all workers during the batch (their start-up left out)


def dask_run(workspace: Path, scratch: Path, workers: int = 2) -> DaskRun:
    """One day's batch with `--executor dask` on a fresh cluster of `workers` worker processes; the
    workers' start-up (imports, fonts) is not timed: a cluster outlives the day's batch."""
    scratch.mkdir(parents=True, exist_ok=True)
    letterforge = BIN / "letterforge"
    out, stdout, stderr = scratch / "out", scratch / "stdout.json", scratch / "stderr.txt"
    with DaskCluster(scratch, workers) as cluster:
        watches = [TreeWatch(pid) for pid in cluster.worker_pids]
        command = [str(letterforge), "-w", str(workspace), "batch", "--as-of", AS_OF.isoformat(), "--executor", "dask",
                   "--scheduler", cluster.address, "--out", str(out), "--format", "json"]
        with stdout.open("wb") as out_file, stderr.open("wb") as err_file:
            workers_before = _processes()
            started = time.perf_counter()
            process = subprocess.Popen(command, stdout=out_file, stderr=err_file)
            watch = TreeWatch(process.pid)
            process.wait()
            seconds = time.perf_counter() - started
            workers_after = _processes()
        for each in [watch, *watches]:
            each.stop()
        workers_cpu = sum(workers_after[pid][2] - workers_before[pid][2] for pid in cluster.worker_pids
                          if pid in workers_before and pid in workers_after)
    try:
        report = json.loads(stdout.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise SystemExit(f"batch --executor dask on {workspace} exited {process.returncode}:\n{stderr.read_text()}")
    return DaskRun(sum(report["counts"]["issued"].values()), sum(report["counts"]["failed"].values()), seconds,
                   watch.main_kb / 1024, [w.main_kb / 1024 for w in watches], Path(report["folder"]),
                   watch.cpu.get(process.pid, 0.0), workers_cpu)


def hashes(folder: Path) -> dict[str, str]:
    return {row["reference"]: row["sha256"]
            for row in json.loads((folder / "manifest.json").read_text(encoding="utf-8"))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--letters", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print("load average before the run: " + ", ".join(f"{load:.2f}" for load in os.getloadavg()), flush=True)
    with tempfile.TemporaryDirectory(prefix="letterforge-dask-bench-") as temporary:
        scratch = Path(temporary)
        workspace = make_workspace(scratch / "ws", args.accounts, 20261125)
        local = run_batch_cli(fresh_copy(workspace, scratch / "local" / "ws", args.letters), 1, scratch / "local")
        print(f"local --jobs 1: {local.issued} letters in {local.seconds:.1f} s = {local.issued / local.seconds:.2f} "
              f"letters/s; peak RSS {megabytes(local.main_mb)} MB", flush=True)
        on_dask = dask_run(fresh_copy(workspace, scratch / "dask" / "ws", args.letters), scratch / "dask",
                           args.workers)
        print(f"dask, {args.workers} workers: {on_dask.issued} letters ({on_dask.failed} failed) in "
              f"{on_dask.seconds:.1f} s = {on_dask.issued / on_dask.seconds:.2f} letters/s; peak RSS batch "
              f"{megabytes(on_dask.main_mb)} MB, workers {', '.join(megabytes(m) for m in on_dask.worker_mb)} MB")
        same = hashes(local.folder) == hashes(on_dask.folder)
        print(f"speed-up over one local job: {local.seconds / on_dask.seconds * on_dask.issued / local.issued:.2f}x; "
              f"same PDFs (SHA-256) as the local run: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
