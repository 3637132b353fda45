"""Where the batch's letters are rendered: an `Executor` takes render tasks and gives back each
one's outcome as it finishes. `LocalExecutor` renders in this process (one job) or in a pool of
worker processes on this machine."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import date
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from letterforge.letterfacts import issue_facts
from letterforge.permissions import write_atomic
from letterforge.records import LetterKind, PriorLetter
from letterforge.workspace import Workspace

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from letterforge.drafts import LetterDraft
    from letterforge.letters import LetterFactory

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
    def run(self, tasks: Iterable[RenderTask], stop: StopRequest) -> Iterator[tuple[RenderTask, Outcome]]:
        """Render the tasks, yielding each with its outcome as it finishes (in any order). No task
        is started once `stop` is requested; the tasks not yielded were not started."""
        ...


class LocalExecutor:
    """Renders on this machine: in this process for one job, else in `jobs` worker processes."""

    def __init__(self, workspace: Path, jobs: int, renderer: Renderer = render_pdf) -> None:
        self.workspace = workspace
        self.jobs = jobs
        self.renderer = renderer

    def run(self, tasks: Iterable[RenderTask], stop: StopRequest) -> Iterator[tuple[RenderTask, Outcome]]:
        pending = iter(tasks)
        if self.jobs <= 1:
            _start_worker(str(self.workspace), renderer=self.renderer)
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


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) or 1


# -- in the worker ------------------------------------------------------------------------------

_worker_factory: Any = None
_worker_renderer: Renderer = render_pdf


def _start_worker(workspace_path: str, batch_pid: int | None = None, renderer: Renderer = render_pdf) -> None:
    """Load data, clauses, templates and fonts once per worker."""
    global _worker_factory, _worker_renderer
    from letterforge.letters import LetterFactory

    if batch_pid is not None:
        # The batch decides when to stop (SIGTERM, Ctrl-C reach the whole process group): a
        # worker finishes the letter in hand and leaves when the batch closes the pool.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        threading.Thread(target=_exit_with_batch, args=(batch_pid,), daemon=True).start()
    _worker_renderer = renderer
    _worker_factory = LetterFactory(Workspace.open(Path(workspace_path)))


def _exit_with_batch(batch_pid: int) -> None:
    # A killed batch (kill -9) cannot tell its workers; they notice it is gone and leave.
    while os.getppid() == batch_pid:
        time.sleep(0.5)
    os._exit(1)


def _render_task(task: RenderTask) -> LetterFacts:
    factory = _worker_factory
    draft = factory.draft(task.account_id, task.kind, task.as_of, task.reference, earlier=task.earlier)
    content = _worker_renderer(factory, draft)
    write_atomic(Path(task.pending), content)
    return issue_facts(factory, draft, content, task.earlier)

