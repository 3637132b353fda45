"""Where the batch's letters are rendered: an `Executor` takes render tasks and gives back each
one's outcome as it finishes. `LocalExecutor` renders in this process (one job) or in a pool of
worker processes on this machine."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING, Any, Protocol

from letterforge.diagnostics import UserError
from letterforge.letterfacts import issue_facts
from letterforge.permissions import write_atomic
from letterforge.records import LetterKind, PriorLetter
from letterforge.rendertask import freeze_what_lasts
from letterforge.workspace import Workspace

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from letterforge.drafts import LetterDraft
    from letterforge.letters import LetterFactory
    from letterforge.validation import DebtorData

LETTERS_PER_TASK = 4  # at most, in one task on a Dask cluster

Renderer = Callable[["LetterFactory", "LetterDraft"], bytes]  # a letter's PDF bytes
LetterFacts = dict[str, Any]  # what the ledger records of a made letter (letterfacts.issue_facts)
Outcome = Callable[[], LetterFacts]  # the letter's facts, or raises what stopped it


def render_pdf(factory: LetterFactory, draft: LetterDraft) -> bytes:
    """The real renderer: WeasyPrint, through the workspace's templates and fonts."""
    return bytes(factory.render(draft, "pdf").content)


@dataclass(frozen=True)
class RenderTask:
    letter_id: int
    account_id: str
    kind: LetterKind
    reference: str
    as_of: date  # the letter's date
    pending: str  # where the worker writes the PDF; the batch archives it and moves it into place
    earlier: tuple[PriorLetter, ...]  # the ledger's letters to this account, which the letter may cite


class StopRequest:
    """Set by SIGTERM or SIGINT, or by a failure that makes going on pointless (a full disk): the
    batch starts no new letter, lets those in hand finish, and leaves the rest reserved."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.reason = ""

    @property
    def requested(self) -> bool:
        return self.signal is not None or bool(self.reason)


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """SIGTERM and SIGINT request a stop while the batch runs (in the main thread only)."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def request(signum: int, _frame: Any) -> None:
        stop.signal = signum
        log.warning("%s received: finishing the letters in hand, then stopping", signal.Signals(signum).name)

    previous = {signum: signal.signal(signum, request) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class Executor(Protocol):
    """Renders the batch's letters. An executor may also have `start()`, which the batch calls
    before it loads and plans the day, to get ready meanwhile (a cluster's connection and worker
    checks), and `close()`, which the batch calls when it ends, whether `run` was called or not
    (see `started`)."""

    def run(self, tasks: Iterable[RenderTask], stop: StopRequest,
            data: DebtorData | None = None) -> Iterator[tuple[RenderTask, Outcome]]:
        """Render the tasks, yielding each with its outcome as it finishes (in any order). No task
        is started once `stop` is requested; the tasks not yielded were not started. `data`: the
        workspace's data as the batch loaded it, which an executor composing letters in this
        process uses instead of loading it again."""
        ...


class LocalExecutor:
    """Renders on this machine: in this process for one job, else in `jobs` worker processes."""

    def __init__(self, workspace: Path, jobs: int, renderer: Renderer = render_pdf) -> None:
        self.workspace = workspace
        self.jobs = jobs
        self.renderer = renderer

    def run(self, tasks: Iterable[RenderTask], stop: StopRequest,
            data: DebtorData | None = None) -> Iterator[tuple[RenderTask, Outcome]]:
        pending = iter(tasks)
        if self.jobs <= 1:
            _start_worker(str(self.workspace), renderer=self.renderer, data=data)
            while not stop.requested and (task := next(pending, None)) is not None:
                # Rendered when the batch asks for the outcome: a failure is the batch's to handle.
                yield task, partial(_render_task, task)
            return
        # Fresh worker processes (spawned, not forked): they inherit neither the workspace lock nor
        # the ledger's connection, and they exit when the batch dies. Letters are handed out a few at
        # a time, so that a stop leaves the rest reserved, not queued.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=self.jobs, mp_context=context, initializer=_start_worker,
                                 initargs=(str(self.workspace), os.getpid(), self.renderer)) as pool:
            in_hand: dict[Future[LetterFacts], RenderTask] = {}
            more = True
            while more or in_hand:
                while more and len(in_hand) < 2 * self.jobs and not stop.requested:
                    task = next(pending, None)
                    if task is None:
                        more = False
                        break
                    in_hand[pool.submit(_render_task, task)] = task
                if not in_hand:
                    break
                done, _ = wait(in_hand, return_when=FIRST_COMPLETED)
                for future in done:
                    yield in_hand.pop(future), future.result  # keep no finished results: memory stays flat


@contextmanager
def started(executor: Any) -> Iterator[None]:
    """`executor` getting ready in the background while the batch loads and plans, and let go when
    the batch ends: for an executor with `start` and `close` (others are used as they are)."""
    start, close = getattr(executor, "start", None), getattr(executor, "close", None)
    if start is not None:
        start()
    try:
        yield
    finally:
        if close is not None:
            close()


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) or 1


def choose_executor(workspace: Workspace, executor: str | None = None, scheduler: str | None = None,
                    jobs: int | None = None) -> Executor:
    """The batch's executor: the one asked for (a scheduler alone means dask), else [batch] executor
    in letterforge.toml; local runs `jobs` worker processes (default: the cores)."""
    settings = workspace.config.batch
    name = executor or ("dask" if scheduler else settings.executor)
    if name == "dask":
        address = scheduler or settings.scheduler
        if not address:
            raise UserError("the dask executor needs a scheduler: give --scheduler tcp://HOST:8786 or set "
                            "[batch] scheduler in letterforge.toml")
        return DaskExecutor(workspace.path, address)
    return LocalExecutor(workspace.path, jobs or default_jobs())


# -- on a Dask cluster ----------------------------------------------------------------------------

class DaskExecutor:
    """Renders on the workers of a Dask cluster (`dask scheduler`, `dask worker`). The batch
    composes each letter (cheap) and ships its HTML with the template folders' files; a worker lays
    it out and proof-reads it (the costly part) without reading the workspace, and returns the
    bytes, which the batch writes, archives and records. A task of a lost worker is run again by
    Dask on another: the bytes are the same. Workers are checked (`letterforge doctor --worker`,
    the same letterforge and layout packages as the batch, the same fonts) before any is used."""

    CONNECT_TIMEOUT = 20  # seconds to reach the scheduler
    ASK_EVERY = 2  # seconds between asking the scheduler how many worker threads there are
    WORKER_WAIT = 30  # seconds to wait for a first worker
    NO_WORKER_LIMIT = 60  # seconds without any worker before the run stops

    def __init__(self, workspace: Path, scheduler: str) -> None:
        self.workspace = workspace
        self.scheduler = scheduler
        self._connecting: _Connecting | None = None

    def start(self) -> None:
        """Reach the scheduler and check its workers in a thread of their own (a few seconds),
        while the batch loads and plans the day; `run` waits for it. What goes wrong is told by
        `run`, if there are letters to make: a day with nothing to render needs no cluster."""
        if self._connecting is None:
            self._connecting = _Connecting(self.scheduler, self.CONNECT_TIMEOUT, self.WORKER_WAIT)

    def close(self) -> None:
        """Let the cluster go: the connection, or the thread still making it (which then closes it
        itself: a batch with nothing to render does not wait for a cluster it does not need)."""
        if self._connecting is not None:
            self._connecting.let_go()
            self._connecting = None

    def run(self, tasks: Iterable[RenderTask], stop: StopRequest,
            data: DebtorData | None = None) -> Iterator[tuple[RenderTask, Outcome]]:
        from letterforge.letters import LetterFactory
        from letterforge.rendering import read_template_files
        from letterforge.rendertask import jobs_key, prepare_job, render_jobs, software_stack, template_files

        pending = deque(tasks)
        if not pending:
            return
        self.start()
        assert self._connecting is not None
        client = self._connecting.client()
        try:
            factory = LetterFactory(Workspace.open(self.workspace), data)
            files = read_template_files(factory.renderer)
            # One task holds the template files; each letters' task depends on it, so that a worker
            # fetches them once, and Dask can make them again if the workers holding them are lost.
            shipped = client.submit(template_files, files, key=f"letterforge-templates-{files.digest}")
            software = software_stack()
            in_hand: dict[Any, list[tuple[RenderTask, LetterDraft]]] = {}
            arrived: SimpleQueue[Any] = SimpleQueue()  # futures as they finish, in order of arrival
            workless_since: float | None = None
            threads, asked = _threads(client), time.monotonic()
            while pending or in_hand:
                if time.monotonic() - asked >= self.ASK_EVERY or not threads:
                    threads, asked = _threads(client), time.monotonic()
                if threads is None:  # the scheduler is gone: what it held is lost
                    yield from _lost(in_hand, f"the connection to the Dask scheduler at {self.scheduler} was lost")
                    return
                while pending and len(in_hand) < 2 * max(1, threads) and not stop.requested:
                    letters: list[tuple[RenderTask, LetterDraft]] = []
                    jobs = []
                    for _ in range(letters_per_task(len(pending), threads)):
                        task = pending.popleft()
                        try:
                            draft = factory.draft(task.account_id, task.kind, task.as_of, task.reference,
                                                  earlier=task.earlier)
                            jobs.append(prepare_job(factory.renderer, draft))
                        except Exception as error:  # a letter that cannot be composed fails alone
                            yield task, partial(_raise, error)
                            continue
                        letters.append((task, draft))
                    if not jobs:
                        continue
                    future = client.submit(render_jobs, tuple(jobs), shipped, software, key=jobs_key(tuple(jobs)))
                    in_hand[future] = letters
                    future.add_done_callback(arrived.put)
                    freeze_what_lasts()  # the batch's data and templates, once its first letters are composed
                if not in_hand:
                    break
                try:
                    done = [arrived.get(timeout=2)]
                except Empty:
                    done = []
                    threads, asked = _threads(client), time.monotonic()
                    if threads:
                        workless_since = None
                    elif threads is not None and time.monotonic() - (workless_since := workless_since or
                                                                     time.monotonic()) > self.NO_WORKER_LIMIT:
                        yield from _lost(in_hand, f"no Dask worker left on {self.scheduler} for "
                                                  f"{self.NO_WORKER_LIMIT} seconds")
                        return
                for future in done:
                    if future not in in_hand:  # cancelled after the cluster was given up
                        continue
                    letters = in_hand.pop(future)
                    try:
                        made = _fetch(future, self.scheduler, self.NO_WORKER_LIMIT)
                    except Exception as error:  # the whole task failed: each of its letters with it
                        for task, _draft in letters:
                            yield task, partial(_raise, error)
                        continue
                    for (task, draft), letter in zip(letters, made, strict=True):
                        yield task, partial(_finish_on_cluster, factory, task, draft, letter)
        finally:
            self.close()


class _Connecting:
    """A client of the scheduler whose workers passed `check_workers`, made in a thread of its own."""

    def __init__(self, scheduler: str, connect_timeout: float, worker_wait: float) -> None:
        self._client: Any = None
        self._failure: BaseException | None = None
        self._let_go = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._connect, args=(scheduler, connect_timeout, worker_wait),
                                        name="letterforge-dask-start", daemon=True)
        self._thread.start()

    def _connect(self, scheduler: str, connect_timeout: float, worker_wait: float) -> None:
        client = None
        try:
            client = connect(scheduler, connect_timeout)
            check_workers(client, scheduler, worker_wait)
        except BaseException as error:  # noqa: BLE001 - told in the batch's thread, by client()
            self._failure = error
        with self._lock:
            if self._let_go or self._failure is not None:
                if client is not None:
                    client.close()
            else:
                self._client = client

    def client(self) -> Any:
        """The client once ready; raises what stopped it (a UserError saying why)."""
        self._thread.join()
        if self._failure is not None:
            raise self._failure
        return self._client

    def let_go(self) -> None:
        with self._lock:
            self._let_go = True
            client, self._client = self._client, None
        if client is not None:
            client.close()


def letters_per_task(waiting: int, threads: int) -> int:
    """How many letters go into the next cluster task: up to LETTERS_PER_TASK while many wait, fewer
    towards the end of the day, so that the last tasks spread over the workers."""
    return max(1, min(LETTERS_PER_TASK, waiting // (4 * max(1, threads)), waiting))


def _raise(error: BaseException) -> LetterFacts:
    raise error


def _threads(client: Any) -> int | None:
    """The worker threads the cluster has now; None when the scheduler cannot be asked."""
    try:
        return sum(client.nthreads().values())
    except (OSError, TimeoutError):
        return None


def _lost(in_hand: dict[Any, list[tuple[RenderTask, Any]]], what: str) -> Iterator[tuple[RenderTask, Outcome]]:
    from letterforge.rendertask import ClusterFailure

    lost = ClusterFailure(f"{what}: the letters not made stay reserved; start workers (or the scheduler) and run "
                          "the batch again, it completes the day")
    for future, letters in list(in_hand.items()):
        future.cancel()
        del in_hand[future]
        for task, _draft in letters:
            yield task, partial(_raise, lost)


def _fetch(future: Any, scheduler: str, no_worker_limit: float = 60) -> list[Any]:
    """A finished task's letters, fetched from the worker that made them; the future is released, so
    that the cluster keeps no finished letter."""
    from concurrent.futures import CancelledError

    from letterforge.rendertask import ClusterFailure

    try:
        # A finished task whose worker died before its letters were fetched is made again by Dask:
        # with no worker left, that would be a wait without end.
        workless = 0.0
        while True:
            try:
                return future.result(timeout=2)
            except TimeoutError:
                if _threads(future.client):
                    workless = 0.0
                    continue
                workless += 2
                if workless >= no_worker_limit:
                    raise ClusterFailure(f"no Dask worker left on {scheduler} for {no_worker_limit:g} seconds: the "
                                         "letters not made stay reserved; start workers (or the scheduler) and run "
                                         "the batch again, it completes the day") from None
    except CancelledError:
        raise ClusterFailure(f"the connection to the Dask scheduler at {scheduler} was lost: the letters not made "
                             "stay reserved; run the batch again when it is back, it completes the day") from None
    finally:
        future.release()


def _finish_on_cluster(factory: LetterFactory, task: RenderTask, draft: LetterDraft, made: Any) -> LetterFacts:
    """A letter made by a worker (or the error that stopped it), judged here by the proof-reader's
    rule and written where the batch takes it from."""
    from letterforge.letters import RenderedLetter

    if isinstance(made, BaseException):
        raise made
    factory.proofread(RenderedLetter(draft, "pdf", made.content, made.proof))
    write_atomic(Path(task.pending), made.content)
    return issue_facts(factory, draft, made.content, task.earlier)


def connect(scheduler: str, timeout: float) -> Any:
    """A client of the scheduler, or a UserError saying it cannot be reached or is no scheduler."""
    from distributed import Client

    unreachable = (f"cannot reach the Dask scheduler at {scheduler} ({{}}): start it with `dask scheduler`, or give "
                   "its address with --scheduler or [batch] scheduler. Nothing was issued.")
    # Dask's client waits without end for the greeting of whatever answers at the address (a web
    # server, a silent port), or reads its first bytes as a message length: ask who is there first.
    try:
        kind = _who_answers(scheduler, timeout)
    except (OSError, TimeoutError) as error:
        raise UserError(unreachable.format(error or type(error).__name__)) from None
    except Exception as error:  # garbage read as a Dask message (MemoryError, a decoding error)
        kind = f"something that does not speak Dask's protocol ({type(error).__name__})"
    if kind != "Scheduler":
        what = f"a Dask {kind}" if kind in ("Worker", "Nanny") else kind
        raise UserError(f"{scheduler} is not a Dask scheduler: {what} answers there. Give the address that "
                        "`dask scheduler` prints (tcp://HOST:8786 by default) with --scheduler or [batch] scheduler. "
                        "Nothing was issued.")
    try:
        # Letters are fetched from the worker that made them, not relayed through the scheduler (which
        # is asked instead when a worker cannot be reached from here).
        return Client(scheduler, timeout=timeout, set_as_default=False, direct_to_workers=True)
    except (OSError, TimeoutError) as error:
        raise UserError(unreachable.format(error)) from None


def _who_answers(address: str, timeout: float) -> str:
    """The type of the Dask server at `address` ('Scheduler', 'Worker', ...), asked with a deadline
    on the whole exchange; OSError or TimeoutError when nothing answers in time."""
    import asyncio

    from distributed.core import rpc
    from distributed.security import Security

    async def ask() -> Any:
        remote = rpc(address, timeout=timeout, connection_args=Security().get_connection_args("client"))
        try:
            return await remote.identity()
        finally:
            await remote.close_rpc()

    try:
        answer = asyncio.run(asyncio.wait_for(ask(), timeout))
    except asyncio.TimeoutError:
        raise TimeoutError(f"nothing answered as Dask there within {timeout:g} s") from None
    return str(answer.get("type", "an unknown Dask server")) if isinstance(answer, dict) else \
        "something that does not speak Dask's protocol"


def check_workers(client: Any, scheduler: str, wait_seconds: float) -> None:
    """Refuse the run unless the scheduler runs the batch's letterforge, every worker passes
    `letterforge doctor --worker` and runs the batch's letterforge and layout packages, and all have
    the same letter fonts: else letters would fail, or differ by the worker that made them."""
    from letterforge.rendertask import scheduler_report, software_differences, software_stack, worker_report

    own = software_stack()
    # The scheduler unpickles every task: without the batch's letterforge every letter would fail.
    try:
        on_scheduler = client.run_on_scheduler(scheduler_report)["software"]
    except Exception as error:  # letterforge missing there: the function cannot even be loaded
        raise UserError(f"the Dask scheduler at {scheduler} cannot load letterforge ({type(error).__name__}: "
                        f"{str(error)[:200]}): install the batch's letterforge on the scheduler's machine and restart "
                        "`dask scheduler` there. Nothing was issued.") from None
    differ = software_differences(on_scheduler, own)
    if differ:
        raise UserError(f"the Dask scheduler at {scheduler} runs other software: {', '.join(differ)}; install the "
                        "batch's letterforge there and restart `dask scheduler` (a scheduler left running through an "
                        "upgrade keeps the code it loaded). Nothing was issued.")
    try:
        client.wait_for_workers(1, timeout=wait_seconds)
    except TimeoutError:
        raise UserError(f"no Dask worker is connected to {scheduler}: start workers with `dask worker {scheduler} "
                        "--nthreads 1` on machines where `letterforge doctor --worker` passes. Nothing was "
                        "issued.") from None
    reports = client.run(worker_report, on_error="return")
    problems = []
    fonts: dict[str, list[str]] = {}
    for address, report in sorted(reports.items()):
        if isinstance(report, BaseException):
            problems.append(f"worker {address}: its check failed ({type(report).__name__}: {report})")
            continue
        if report["failed"]:
            problems.append(f"worker {address} fails `letterforge doctor --worker`: {'; '.join(report['failed'])}")
        differ = software_differences(report["software"], own)
        if differ:
            problems.append(f"worker {address} runs other software: {', '.join(differ)}")
        fonts.setdefault(json.dumps(report["fonts"], sort_keys=True), []).append(address)
    if len(fonts) > 1:
        problems.append("the workers lay letters out with different fonts (" + "; ".join(
            f"{', '.join(addresses)}: {found}" for found, addresses in fonts.items()) + "), so letters would differ "
            "by the worker that made them")
    if problems:
        raise UserError(f"the Dask cluster at {scheduler} has workers that cannot make letters: "
                        + "; ".join(problems) + ". Fix or stop them, then run the batch again. Nothing was issued.")


# -- in the worker ------------------------------------------------------------------------------

_worker_factory: Any = None
_worker_renderer: Renderer = render_pdf


def _start_worker(workspace_path: str, batch_pid: int | None = None, renderer: Renderer = render_pdf,
                  data: DebtorData | None = None) -> None:
    """Load data (unless given), clauses, templates and fonts once per worker."""
    global _worker_factory, _worker_renderer
    from letterforge.letters import LetterFactory

    if batch_pid is not None:
        # The batch decides when to stop (SIGTERM, Ctrl-C reach the whole process group): a
        # worker finishes the letter in hand and leaves when the batch closes the pool.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        threading.Thread(target=_exit_with_batch, args=(batch_pid,), daemon=True).start()
    _worker_renderer = renderer
    _worker_factory = LetterFactory(Workspace.open(Path(workspace_path)), data)


def _exit_with_batch(batch_pid: int) -> None:
    # A killed batch (kill -9) cannot tell its workers; they notice it is gone and leave.
    while os.getppid() == batch_pid:
        time.sleep(0.5)
    os._exit(1)


def _render_task(task: RenderTask) -> LetterFacts:
    factory = _worker_factory
    draft = factory.draft(task.account_id, task.kind, task.as_of, task.reference, earlier=task.earlier)
    content = _worker_renderer(factory, draft)
    freeze_what_lasts()
    write_atomic(Path(task.pending), content)
    return issue_facts(factory, draft, content, task.earlier)

