"""The batch on a Dask cluster: the same letters as the local pool, nothing lost with a worker,
workers checked before use. The real-cluster tests start a `dask scheduler` and two `dask worker`
processes on 127.0.0.1; the others use an in-process LocalCluster or a stand-in client. Those
that render real letters are marked slow."""

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from letterforge.batch import run_batch
from letterforge.cli import cli
from letterforge.diagnostics import UserError
from letterforge.executors import DaskExecutor, check_workers
from letterforge.ledger import open_ledger
from letterforge.workspace import Workspace

from test_batch import assert_gapless

AS_OF = date(2026, 11, 25)
CLOCK = lambda: datetime(2026, 11, 25, 6, 30)  # noqa: E731
BIN = Path(sys.executable).parent
SMALL_DAY = """
daily_caps = { reminder = 3, demand = 2, lawyer = 2 }
per_group_daily = { reminder = 2, demand = 1, lawyer = 1 }
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Cluster:
    """A real scheduler and workers, each a `dask` command of this venv in its own process group."""

    address: str
    folder: Path
    scheduler: subprocess.Popen | None = None
    workers: list[subprocess.Popen] = field(default_factory=list)

    def start_worker(self, name: str) -> subprocess.Popen:
        worker = subprocess.Popen(
            [str(BIN / "dask"), "worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
             "--host", "127.0.0.1", "--name", name, "--local-directory", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=open(self.folder / f"{name}.log", "wb"), start_new_session=True)
        self.workers.append(worker)
        return worker

    def stop(self) -> None:
        for process in self.workers + ([self.scheduler] if self.scheduler else []):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def start_cluster(folder: Path, workers: int = 2, scheduler_env: dict[str, str] | None = None) -> Cluster:
    port = free_port()
    cluster = Cluster(f"tcp://127.0.0.1:{port}", folder)
    try:
        cluster.scheduler = subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=open(folder / "scheduler.log", "wb"), start_new_session=True,
            env={**os.environ, **(scheduler_env or {})})
        for number in range(workers):
            cluster.start_worker(f"worker-{number}")
        from distributed import Client

        with Client(cluster.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=60)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture
def dask_cluster(tmp_path_factory, request):
    """A fresh cluster for one test (the test may kill its workers)."""
    cluster = start_cluster(tmp_path_factory.mktemp("dask"))
    request.addfinalizer(cluster.stop)
    return cluster


@pytest.fixture(scope="module")
def local_cluster():
    """An in-process cluster: one worker thread in this process, for the faster tests."""
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None,
                           protocol="tcp://", host="127.0.0.1")
    yield cluster
    cluster.close()


def day_workspace(copy_sample, name: str, sample: str = "water-zh", caps: str = "") -> Path:
    root = copy_sample(sample, name)
    if caps:
        config = root / "letterforge.toml"
        config.write_text(config.read_text(encoding="utf-8") + caps, encoding="utf-8")
    return root


def issued(root: Path) -> dict[str, str]:
    """reference -> SHA-256 of every issued letter, as the day's manifest lists them."""
    rows = json.loads((root / "out" / AS_OF.isoformat() / "manifest.json").read_text(encoding="utf-8"))
    for row in rows:  # the manifest's hash is the file's
        assert hashlib.sha256((root / "out" / row["file"]).read_bytes()).hexdigest() == row["sha256"]
    return {row["reference"]: row["sha256"] for row in rows}


def ledger_letters(root: Path) -> list:
    ledger = open_ledger(root, CLOCK)
    try:
        return ledger.letters()
    finally:
        ledger.close()


def planned_count(root: Path) -> int:
    result = CliRunner().invoke(cli, ["-w", str(root), "batch", "--as-of", AS_OF.isoformat(), "--dry-run",
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    return len(json.loads(result.stdout)["due_today"])


# -- in-process cluster (the tests that render real letters are slow) -------------------------------

@pytest.mark.slow
def test_a_day_on_dask_gives_the_local_pools_bytes(copy_sample, local_cluster):
    local = day_workspace(copy_sample, "local", "property-zh", SMALL_DAY)
    on_dask = day_workspace(copy_sample, "on-dask", "property-zh", SMALL_DAY)
    planned = planned_count(on_dask)
    run_batch(Workspace.open(local), AS_OF, local / "out", 1, CLOCK)
    report = run_batch(Workspace.open(on_dask), AS_OF, on_dask / "out", 1, CLOCK,
                       executor=DaskExecutor(on_dask, local_cluster.scheduler_address))
    assert report.exit_code == 0 and report.issued
    assert issued(on_dask) == issued(local)
    assert len(issued(on_dask)) == planned >= 3


@pytest.mark.slow
def test_on_dask_the_print_pack_volumes_are_built_as_the_letters_come_and_match_the_local_pools(
        copy_sample, local_cluster, monkeypatch):
    volumes = SMALL_DAY + "\n[print_pack]\nletters_per_volume = 2\n"
    local = day_workspace(copy_sample, "local", "property-zh", volumes)
    on_dask = day_workspace(copy_sample, "on-dask", "property-zh", volumes)
    monkeypatch.setattr("letterforge.outputs.write_print_pack",
                        lambda *a, **k: pytest.fail("the print pack was made again from the files at the end"))
    run_batch(Workspace.open(local), AS_OF, local / "out", 2, CLOCK)
    report = run_batch(Workspace.open(on_dask), AS_OF, on_dask / "out", 1, CLOCK,
                       executor=DaskExecutor(on_dask, local_cluster.scheduler_address))
    assert report.exit_code == 0 and len(report.issued) >= 3

    def packs(root: Path) -> list[tuple[str, bytes]]:
        return [(v.name, v.read_bytes()) for v in sorted((root / "out" / AS_OF.isoformat()).glob("print-pack*"))]

    assert [name for name, _ in packs(on_dask)] == [f"print-pack-{n:03d}.pdf"
                                                    for n in range(1, (len(report.issued) + 1) // 2 + 1)]
    assert packs(on_dask) == packs(local)  # the same volumes, byte for byte, whichever executor


def test_an_unreachable_scheduler_is_an_error_and_nothing_is_issued(copy_sample, monkeypatch):
    monkeypatch.setattr(DaskExecutor, "CONNECT_TIMEOUT", 2)
    root = day_workspace(copy_sample, "w", "property-zh", SMALL_DAY)
    address = f"tcp://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(cli, ["-w", str(root), "batch", "--as-of", AS_OF.isoformat(), "--executor", "dask",
                                      "--scheduler", address])
    assert result.exit_code == 1
    assert f"cannot reach the Dask scheduler at {address}" in result.output and "Traceback" not in result.output
    assert not [l for l in ledger_letters(root) if l.status == "issued"]


@pytest.fixture
def not_a_scheduler():
    """Servers that are not a Dask scheduler at a free port: a web server, and a port that accepts
    and never says a word. Dask's own client would wait for either without end."""
    import http.server
    import threading

    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    yield {"web": f"tcp://127.0.0.1:{web.server_address[1]}", "silent": f"tcp://127.0.0.1:{silent.getsockname()[1]}"}
    web.shutdown()
    web.server_close()
    silent.close()


@pytest.mark.parametrize("server", ["web", "silent"])
def test_a_scheduler_address_where_no_scheduler_answers_is_an_error_in_bounded_time(copy_sample, monkeypatch,
                                                                                      not_a_scheduler, server):
    monkeypatch.setattr(DaskExecutor, "CONNECT_TIMEOUT", 2)
    root = day_workspace(copy_sample, "w", "property-zh", SMALL_DAY)
    planned = planned_count(root)
    address = not_a_scheduler[server]
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["-w", str(root), "batch", "--as-of", AS_OF.isoformat(), "--executor", "dask",
                                      "--scheduler", address])
    assert time.monotonic() - started < 60  # it used to hang for good
    assert result.exit_code == 1, result.output
    assert f"cannot reach the Dask scheduler at {address}" in result.output and "Traceback" not in result.output
    letters = ledger_letters(root)
    assert not [l for l in letters if l.status == "issued"]
    assert len([l for l in letters if l.status == "reserved"]) == planned  # for the next run


def test_a_workers_address_given_as_the_scheduler_is_named_as_such(copy_sample, local_cluster):
    root = day_workspace(copy_sample, "w", "property-zh", SMALL_DAY)
    worker = next(iter(local_cluster.workers.values())).address
    result = CliRunner().invoke(cli, ["-w", str(root), "batch", "--as-of", AS_OF.isoformat(), "--executor", "dask",
                                      "--scheduler", worker])
    assert result.exit_code == 1, result.output
    assert f"{worker} is not a Dask scheduler: a Dask Worker answers there" in result.output
    assert "Traceback" not in result.output
    assert not [l for l in ledger_letters(root) if l.status == "issued"]


def test_garbage_at_the_scheduler_address_is_not_a_crash(copy_sample, monkeypatch):
    """Whatever answers may send bytes that Dask reads as a huge message length (MemoryError)."""
    from letterforge import executors

    def garbage(_address, _timeout):
        raise MemoryError

    monkeypatch.setattr(executors, "_who_answers", garbage)
    root = day_workspace(copy_sample, "w", "property-zh", SMALL_DAY)
    result = CliRunner().invoke(cli, ["-w", str(root), "batch", "--as-of", AS_OF.isoformat(), "--executor", "dask",
                                      "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == 1, result.output
    assert "is not a Dask scheduler: something that does not speak Dask's protocol" in result.output


@pytest.mark.slow
def test_after_a_wrong_scheduler_address_the_next_run_completes_the_day(copy_sample, monkeypatch, not_a_scheduler,
                                                                       local_cluster):
    monkeypatch.setattr(DaskExecutor, "CONNECT_TIMEOUT", 2)
    root = day_workspace(copy_sample, "w", "property-zh", SMALL_DAY)
    planned = planned_count(root)
    batch = ["-w", str(root), "batch", "--as-of", AS_OF.isoformat(), "--executor", "dask", "--scheduler"]
    wrong = CliRunner().invoke(cli, [*batch, not_a_scheduler["web"]])
    assert wrong.exit_code == 1, wrong.output
    right = CliRunner().invoke(cli, [*batch, local_cluster.scheduler_address])
    assert right.exit_code == 0, right.output
    letters = [l for l in ledger_letters(root) if l.status == "issued"]
    assert len(letters) == len(issued(root)) == planned
    assert_gapless([l.reference for l in letters])


def test_the_cluster_is_reached_and_checked_while_the_day_loads(copy_sample, local_cluster, monkeypatch):
    """The connection and the worker checks take seconds: they are made while the batch loads and
    plans the day, and let go when the batch ends, even when it ends before it renders."""
    root = day_workspace(copy_sample, "w", "property-zh", SMALL_DAY)
    scheduler = local_cluster.scheduler
    before = set(scheduler.clients)
    seen_while_loading: list[set[str]] = []

    def load_data(self):
        deadline = time.monotonic() + 30  # a bound for the failure only: the client comes in milliseconds
        while time.monotonic() < deadline and not set(scheduler.clients) - before:
            time.sleep(0.05)
        seen_while_loading.append(set(scheduler.clients) - before)
        raise UserError("the day's data is not there (stopped here by the test)")

    monkeypatch.setattr(Workspace, "load_data", load_data)
    with pytest.raises(UserError, match="stopped here by the test"):
        run_batch(Workspace.open(root), AS_OF, root / "out", 1, CLOCK,
                  executor=DaskExecutor(root, local_cluster.scheduler_address))
    assert seen_while_loading and seen_while_loading[0], "no client reached the scheduler while the day loaded"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and set(scheduler.clients) & seen_while_loading[0]:
        time.sleep(0.05)
    assert not set(scheduler.clients) & seen_while_loading[0], "the batch left its client connected"


@pytest.mark.slow
def test_sigterm_while_the_day_loads_stops_before_any_letter_and_lets_the_cluster_go(copy_sample, local_cluster,
                                                                                     monkeypatch):
    """SIGTERM while the cluster is being reached in the background: nothing is reserved or issued,
    the connection is let go, and the next run completes the day."""
    root = day_workspace(copy_sample, "w", "property-zh", SMALL_DAY)
    planned = planned_count(root)
    scheduler = local_cluster.scheduler
    before = set(scheduler.clients)
    loading = Workspace.load_data

    def load_data(self):
        os.kill(os.getpid(), signal.SIGTERM)
        return loading(self)

    monkeypatch.setattr(Workspace, "load_data", load_data)
    report = run_batch(Workspace.open(root), AS_OF, root / "out", 1, CLOCK,
                       executor=DaskExecutor(root, local_cluster.scheduler_address))
    monkeypatch.setattr(Workspace, "load_data", loading)
    assert report.interrupted == signal.SIGTERM and not report.issued
    assert not [l for l in ledger_letters(root) if l.status in ("reserved", "issued")]
    deadline = time.monotonic() + 30  # a bound for the failure only
    while time.monotonic() < deadline and set(scheduler.clients) - before:
        time.sleep(0.05)
    assert not set(scheduler.clients) - before, "the batch left its client connected"
    rerun = run_batch(Workspace.open(root), AS_OF, root / "out", 1, CLOCK,
                      executor=DaskExecutor(root, local_cluster.scheduler_address))
    assert rerun.exit_code == 0 and len(rerun.issued) == planned


def test_a_day_with_nothing_to_render_needs_no_cluster(copy_sample, monkeypatch):
    """A rerun of a finished day (or a day without letters due) renders nothing: an unreachable
    scheduler, which the batch tried to reach while the day loaded, is then no error."""
    monkeypatch.setattr(DaskExecutor, "CONNECT_TIMEOUT", 2)
    root = day_workspace(copy_sample, "w", "property-zh", SMALL_DAY)
    batch = ["-w", str(root), "batch", "--as-of", AS_OF.isoformat(), "--format", "json"]
    first = CliRunner().invoke(cli, [*batch, "--executor", "local", "--jobs", "1"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    rerun = CliRunner().invoke(cli, [*batch, "--executor", "dask", "--scheduler", f"tcp://127.0.0.1:{free_port()}"])
    assert rerun.exit_code == 0, rerun.output
    assert json.loads(rerun.stdout)["already_complete"] is True


@pytest.mark.slow
def test_dask_processes_of_letterforges_environment_run_with_its_dask_settings(tmp_path):
    """letterforge installs Dask's settings for letter work (letterforge/dask.yaml) where every Dask
    process of its environment reads them: the scheduler and the workers started as the README says
    run without the sampling profiler and with fewer housekeeping wake-ups."""
    import yaml
    from distributed import Client

    def flat(tree: dict, prefix: str = "") -> dict:
        out = {}
        for key, value in tree.items():
            out.update(flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
        return out

    shipped = flat(yaml.safe_load((Path(__file__).parent.parent / "letterforge" / "dask.yaml").read_text()))
    assert shipped["distributed.worker.profile.enabled"] is False

    def settings() -> dict:
        import dask

        return {key: dask.config.get(key) for key in shipped}

    cluster = start_cluster(tmp_path, workers=1)
    try:
        with Client(cluster.address, timeout=30, set_as_default=False) as client:
            (on_worker,) = client.run(settings).values()
            on_scheduler = client.run_on_scheduler(settings)
    finally:
        cluster.stop()
    assert on_worker == on_scheduler == settings() == shipped


@pytest.mark.parametrize("arguments, code, message", [
    (["--executor", "dask"], 1, "needs a scheduler"),
    (["--executor", "dask", "--scheduler", "127.0.0.1:8786"], 2, "not a Dask scheduler address"),
    (["--executor", "dask", "--scheduler", "tcp://127.0.0.1:8786", "--jobs", "2"], 2, "--jobs"),
    (["--executor", "cloud"], 2, "cloud"),
])
def test_executor_options_are_checked(copy_sample, arguments, code, message):
    root = day_workspace(copy_sample, "w", "property-zh")
    result = CliRunner().invoke(cli, ["-w", str(root), "batch", "--as-of", AS_OF.isoformat(), *arguments])
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output


def test_batch_settings_are_validated(copy_sample):
    root = day_workspace(copy_sample, "w", "property-zh", "\n[batch]\nexecutor = \"cloud\"\nscheduler = \"h:1\"\n")
    result = CliRunner().invoke(cli, ["-w", str(root), "validate"])
    assert result.exit_code == 1
    assert "batch.executor" in result.output and "batch.scheduler" in result.output


@pytest.mark.slow
def test_settings_choose_the_executor(copy_sample, local_cluster):
    root = day_workspace(copy_sample, "w", "property-zh",
                         SMALL_DAY + f'\n[batch]\nexecutor = "dask"\nscheduler = "{local_cluster.scheduler_address}"\n')
    result = CliRunner().invoke(cli, ["-w", str(root), "batch", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert issued(root)
    # --executor local overrides the settings: nothing to do on a finished day, and no cluster asked.
    again = CliRunner().invoke(cli, ["-w", str(root), "batch", "--as-of", AS_OF.isoformat(), "--executor", "local",
                                     "--scheduler", "tcp://127.0.0.1:1"])
    assert again.exit_code == 2 and "--scheduler" in again.output


class StandInClient:
    """What check_workers asks of a cluster, with the answers a test gives."""

    def __init__(self, reports, scheduler=None):
        self.reports = reports
        self.scheduler = scheduler

    def run_on_scheduler(self, function):
        if isinstance(self.scheduler, BaseException):
            raise self.scheduler
        return self.scheduler or function()

    def wait_for_workers(self, n, timeout):
        if not self.reports:
            raise TimeoutError

    def run(self, function, on_error):
        return self.reports


def worker(**changes):
    from letterforge.rendertask import font_files, software_stack

    report = {"failed": [], "software": software_stack(), "fonts": font_files()}
    report.update(changes)
    return report


def test_workers_are_checked_before_any_letter():
    check_workers(StandInClient({"tcp://10.0.0.1:1": worker(), "tcp://10.0.0.2:1": worker()}), "tcp://s:1", 1)
    cases = [
        ({"tcp://10.0.0.1:1": worker(), "tcp://10.0.0.2:1": worker(failed=["HarfBuzz subsetting: not found"])},
         "worker tcp://10.0.0.2:1 fails `letterforge doctor --worker`: HarfBuzz subsetting: not found"),
        ({"tcp://10.0.0.1:1": worker(software={**worker()["software"], "weasyprint": "61.0"})},
         "worker tcp://10.0.0.1:1 runs other software: weasyprint 61.0"),
        ({"tcp://10.0.0.1:1": worker(), "tcp://10.0.0.2:1": worker(fonts={"Noto Serif CJK SC": "other.ttc#0"})},
         "different fonts"),
        ({"tcp://10.0.0.1:1": OSError("no fontconfig")}, "worker tcp://10.0.0.1:1: its check failed"),
        ({}, "no Dask worker is connected to tcp://s:1"),
    ]
    for reports, message in cases:
        with pytest.raises(UserError, match="Nothing was issued") as refused:
            check_workers(StandInClient(reports), "tcp://s:1", 1)
        assert message in str(refused.value)


def test_the_scheduler_is_checked_before_any_letter():
    """Dask's scheduler unpickles every task: one without the batch's letterforge (not installed,
    or left running through an upgrade) would fail every letter of the day."""
    from letterforge.rendertask import software_stack

    fit = {"tcp://10.0.0.1:1": worker()}
    cases = [
        (RuntimeError("No module named 'letterforge'"),
         "the Dask scheduler at tcp://s:1 cannot load letterforge (RuntimeError: No module named 'letterforge')"),
        ({"software": {**software_stack(), "letterforge": "0123456789abcdef"}},
         "the Dask scheduler at tcp://s:1 runs other software: letterforge 0123456789abcdef (the batch has "),
    ]
    for scheduler, message in cases:
        with pytest.raises(UserError, match="Nothing was issued") as refused:
            check_workers(StandInClient(fit, scheduler), "tcp://s:1", 1)
        assert message in str(refused.value)


def test_a_worker_failing_its_check_stops_the_run_before_any_letter(copy_sample, local_cluster, monkeypatch):
    from letterforge import doctor
    from letterforge.doctor import Check

    monkeypatch.setattr(doctor, "run_worker_checks", lambda: [Check("HarfBuzz subsetting", False, "not found")])
    root = day_workspace(copy_sample, "w", "property-zh", SMALL_DAY)
    result = CliRunner().invoke(cli, ["-w", str(root), "batch", "--as-of", AS_OF.isoformat(), "--executor", "dask",
                                      "--scheduler", local_cluster.scheduler_address])
    assert result.exit_code == 1
    assert "fails `letterforge doctor --worker`: HarfBuzz subsetting: not found" in result.output
    assert not [l for l in ledger_letters(root) if l.status == "issued"]
    assert not list((root / "out" / AS_OF.isoformat() / "letters").glob("*.pdf"))


# -- a real scheduler and two worker processes -------------------------------------------------

@pytest.mark.slow
def test_two_real_workers_make_the_local_pools_letters_and_one_lost_loses_nothing(copy_sample, dask_cluster):
    local = day_workspace(copy_sample, "local")
    on_dask = day_workspace(copy_sample, "on-dask")
    planned = planned_count(on_dask)
    assert planned >= 10
    run_batch(Workspace.open(local), AS_OF, local / "out", 2, CLOCK)
    made: list[str] = []

    def kill_a_worker_halfway(letter):
        made.append(letter.reference)
        if len(made) == planned // 2:
            dask_cluster.workers[0].send_signal(signal.SIGKILL)

    report = run_batch(Workspace.open(on_dask), AS_OF, on_dask / "out", 1, CLOCK, progress=kill_a_worker_halfway,
                       executor=DaskExecutor(on_dask, dask_cluster.address))
    assert dask_cluster.workers[0].wait(timeout=10) == -signal.SIGKILL
    assert report.exit_code == 0, report.failed
    letters = [l for l in ledger_letters(on_dask) if l.status == "issued"]
    assert len(letters) == planned
    assert_gapless([l.reference for l in letters])
    assert not [l for l in ledger_letters(on_dask) if l.status == "reserved"]
    assert issued(on_dask) == issued(local)


@pytest.mark.slow
def test_sigterm_on_a_dask_batch_finishes_the_letters_in_hand_and_the_rerun_completes_the_day(copy_sample,
                                                                                                dask_cluster):
    root = day_workspace(copy_sample, "w")
    planned = planned_count(root)
    command = [str(BIN / "letterforge"), "-w", str(root), "batch", "--as-of", AS_OF.isoformat(),
               "--executor", "dask", "--scheduler", dask_cluster.address]
    letters = root / "out" / AS_OF.isoformat() / "letters"
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and not (letters.is_dir() and any(letters.glob("*.pdf"))):
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert "STOPPED by SIGTERM" in stdout
    stopped = ledger_letters(root)
    assert 0 < len([l for l in stopped if l.status == "issued"]) < planned
    assert all((root / l.pdf_file).is_file() for l in stopped if l.status == "issued")
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    letters_issued = [l for l in ledger_letters(root) if l.status == "issued"]
    assert len(letters_issued) == planned
    assert_gapless([l.reference for l in letters_issued])


@pytest.mark.slow
def test_an_unfit_worker_that_joins_later_stops_the_run_and_the_rerun_completes_the_day(copy_sample, local_cluster,
                                                                                        monkeypatch):
    from letterforge import rendertask

    root = day_workspace(copy_sample, "w", "property-zh", SMALL_DAY)
    planned = planned_count(root)
    # The check before the run passes; the worker's own check, at its first letter, does not.
    monkeypatch.setattr(rendertask, "worker_problems", lambda: "letter fonts: Noto Serif CJK SC is not installed")
    report = run_batch(Workspace.open(root), AS_OF, root / "out", 1, CLOCK,
                       executor=DaskExecutor(root, local_cluster.scheduler_address))
    assert report.exit_code == 1
    assert "cannot make letters: letter fonts: Noto Serif CJK SC is not installed" in report.stopped_by
    assert not report.issued
    assert len([l for l in ledger_letters(root) if l.status == "reserved"]) == planned
    monkeypatch.undo()
    rerun = run_batch(Workspace.open(root), AS_OF, root / "out", 1, CLOCK,
                      executor=DaskExecutor(root, local_cluster.scheduler_address))
    assert rerun.exit_code == 0
    letters = [l for l in ledger_letters(root) if l.status == "issued"]
    assert len(letters) == planned
    assert_gapless([l.reference for l in letters])


@pytest.mark.slow
def test_with_every_worker_lost_the_run_stops_and_the_next_completes_the_day(copy_sample, dask_cluster, monkeypatch):
    root = day_workspace(copy_sample, "w", "property-zh", SMALL_DAY)
    planned = planned_count(root)
    monkeypatch.setattr(DaskExecutor, "NO_WORKER_LIMIT", 3)

    def kill_every_worker(_letter):
        for worker in dask_cluster.workers:
            worker.send_signal(signal.SIGKILL)

    report = run_batch(Workspace.open(root), AS_OF, root / "out", 1, CLOCK, progress=kill_every_worker,
                       executor=DaskExecutor(root, dask_cluster.address))
    assert report.exit_code == 1
    assert "no Dask worker left on" in report.stopped_by
    assert 1 <= len(report.issued) < planned
    letters = ledger_letters(root)
    assert len([l for l in letters if l.status == "reserved"]) == planned - len(report.issued)
    dask_cluster.start_worker("worker-new")
    rerun = run_batch(Workspace.open(root), AS_OF, root / "out", 1, CLOCK,
                      executor=DaskExecutor(root, dask_cluster.address))
    assert rerun.exit_code == 0, rerun.failed
    letters = [l for l in ledger_letters(root) if l.status == "issued"]
    assert len(letters) == planned
    assert_gapless([l.reference for l in letters])


@pytest.mark.slow
@pytest.mark.parametrize("scheduler_has", ["no letterforge", "another letterforge"])
def test_a_scheduler_without_the_batchs_letterforge_is_refused_before_any_letter(copy_sample, tmp_path_factory,
                                                                                 request, scheduler_has):
    """A real scheduler that cannot load letterforge, or loads another one (as one left running
    through an upgrade does): every letter would fail on it, so the batch refuses it up front."""
    import shutil

    import letterforge

    other = tmp_path_factory.mktemp("scheduler-python")
    if scheduler_has == "no letterforge":
        (other / "sitecustomize.py").write_text("import sys\nsys.modules['letterforge'] = None\n")
    else:
        shutil.copytree(Path(letterforge.__file__).parent, other / "letterforge",
                        ignore=shutil.ignore_patterns("__pycache__"))
        with open(other / "letterforge" / "dayplan.py", "a", encoding="utf-8") as module:
            module.write("\n# a later release\n")
    cluster = start_cluster(tmp_path_factory.mktemp("dask"), workers=1, scheduler_env={"PYTHONPATH": str(other)})
    request.addfinalizer(cluster.stop)
    root = day_workspace(copy_sample, "w", "property-zh", SMALL_DAY)
    planned = planned_count(root)
    result = subprocess.run([str(BIN / "letterforge"), "-w", str(root), "batch", "--as-of", AS_OF.isoformat(),
                             "--executor", "dask", "--scheduler", cluster.address],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    expected = "cannot load letterforge" if scheduler_has == "no letterforge" else "runs other software: letterforge"
    assert f"the Dask scheduler at {cluster.address} {expected}" in result.stderr
    assert "Traceback" not in result.stderr
    letters = ledger_letters(root)
    assert not [l for l in letters if l.status == "issued"]
    assert len([l for l in letters if l.status == "reserved"]) == planned  # the next run completes the day


def test_a_made_letter_lost_with_every_worker_stops_the_run_instead_of_waiting_for_good():
    """A letter finished on a worker that died before its bytes were fetched is made again by Dask;
    with no worker left the wait for it ends after the no-worker limit (this hung the slow test once)."""
    from letterforge.executors import _fetch
    from letterforge.rendertask import ClusterFailure

    class NoWorkers:
        def nthreads(self):
            return {}

    class LostWithItsWorker:
        client = NoWorkers()
        waits = 0

        def result(self, timeout):
            self.waits += 1
            raise TimeoutError(f"timed out after {timeout} s.")

        def release(self):
            pass

    future = LostWithItsWorker()
    with pytest.raises(ClusterFailure, match="no Dask worker left on tcp://s:1 for 4 seconds"):
        _fetch(future, "tcp://s:1", 4)
    assert future.waits == 2
