"""A letter's PDF as a self-contained task for a worker that has no workspace (a Dask worker): the
composed letter, its HTML and the template folders' files travel with it; the worker lays it out,
proof-reads it and returns the bytes. Deterministic, so a task run twice makes the same bytes."""

from __future__ import annotations

import gc
import hashlib
import importlib.metadata
import pickle
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from letterforge.diagnostics import UserError
from letterforge.drafts import LetterDraft
from letterforge.proof import ProofReport
from letterforge.rendering import LetterRenderer, TemplateFiles

# What decides a letter's bytes besides its HTML: the same everywhere, or a worker is refused.
RENDER_PACKAGES = ("weasyprint", "pydyf", "fonttools", "pypdf", "tinycss2", "cssselect2", "Pyphen")


@dataclass(frozen=True, repr=False)
class RenderJob:
    """One letter to lay out: everything its PDF is made from."""

    draft: LetterDraft
    html: str

    def __repr__(self) -> str:
        # Dask logs a failed task with its arguments: the account id, never the debtor's data.
        return f"RenderJob({self.draft.reference!r}, account {self.draft.account_id!r})"

    @property
    def key(self) -> str:
        """The task's name on a cluster: the letter and its content, so that the same letter
        submitted again (or re-run after its worker was lost) is the same task."""
        digest = hashlib.sha256(self.html.encode("utf-8")).hexdigest()[:16]
        return f"letterforge-pdf-{self.draft.reference}-{digest}"


@dataclass(frozen=True)
class RenderedPdf:
    content: bytes
    proof: ProofReport


def prepare_job(renderer: LetterRenderer, draft: LetterDraft) -> RenderJob:
    """In the batch: the letter's HTML, from the workspace's templates and clauses."""
    return RenderJob(draft, renderer.render_html(draft))


class ClusterFailure(UserError):
    """The cluster cannot make letters (scheduler lost, no worker left, a worker unfit): the run
    stops, the letters not made stay reserved for the next run."""


class WorkerUnfit(ClusterFailure):
    """A worker without what a letter needs (fonts, HarfBuzz subsetting, the batch's software)."""


_renderers: dict[str, LetterRenderer] = {}
# WeasyPrint's font configuration is one per process and not made for threads: a worker with
# several threads renders one letter at a time (run workers with --nthreads 1, more of them).
_render_lock = threading.Lock()


def render_job(job: RenderJob, files: TemplateFiles, software: Mapping[str, str] | None = None) -> RenderedPdf:
    """On the worker: the letter's PDF and the proof-reader's findings, from the job and the
    template files alone. `software`: the batch's software_stack(), which this worker must match."""
    (made,) = render_jobs((job,), files, software)
    if isinstance(made, Exception):
        raise made
    return made


def render_jobs(jobs: tuple[RenderJob, ...], files: TemplateFiles,
                software: Mapping[str, str] | None = None) -> list[RenderedPdf | Exception]:
    """On the worker: several letters in one cluster task (a task costs the scheduler and the worker
    some milliseconds each, whatever its size). A letter that fails gives its error in its place and
    the others are made; a worker unfit for letters fails the whole task."""
    with _render_lock:
        renderer = _renderer_for(files, software)
        made: list[RenderedPdf | Exception] = []
        for job in jobs:
            try:
                made.append(RenderedPdf(*renderer.pdf_proofread(job.draft, job.html)))
            except Exception as error:  # noqa: BLE001 - the batch records it against this letter alone
                made.append(_portable(error))
            freeze_what_lasts()
        return made


_frozen = False


def freeze_what_lasts() -> None:
    """Once per process, after its first letter: what the process holds then (modules, fonts,
    compiled templates, in the batch the day's data) lives as long as it does. The garbage is
    collected and the rest frozen (gc.freeze), so that the collections that each letter's layout
    sets off no longer scan it: they took a tenth of a letter's CPU time in a worker
    (benchmarks/scale.py). Reference counting still frees a frozen object that is let go."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


def jobs_key(jobs: tuple[RenderJob, ...]) -> str:
    """The cluster's name of a task of several letters: the first letter, how many, and their content,
    so that the same letters submitted again (or re-run after a worker was lost) are the same task."""
    digest = hashlib.sha256()
    for job in jobs:
        digest.update(job.key.encode("utf-8") + b"\0")
    return f"letterforge-pdfs-{jobs[0].draft.reference}-{len(jobs)}-{digest.hexdigest()[:16]}"


def _portable(error: Exception) -> Exception:
    """The error itself if it travels back to the batch intact, else one with its words."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001 - an exception whose arguments do not pickle
        return RuntimeError(f"{type(error).__name__}: {error}")


def _renderer_for(files: TemplateFiles, software: Mapping[str, str] | None) -> LetterRenderer:
    """This worker's renderer of the batch's templates, once it is known to be fit for letters."""
    problems = worker_problems()
    if not problems and software and dict(software) != software_stack():
        problems = f"it runs other software than the batch: {', '.join(software_differences(software_stack(), software))}"
    if problems:
        raise WorkerUnfit(f"worker {_worker_name()} cannot make letters: {problems}; run "
                          "`letterforge doctor --worker` on it and install the batch's letterforge")
    renderer = _renderers.get(files.digest)
    if renderer is None:
        _renderers.clear()  # one batch's templates at a time
        renderer = _renderers[files.digest] = LetterRenderer([], files)
    return renderer


def template_files(files: TemplateFiles) -> TemplateFiles:
    """A cluster task that holds the template files for the letters' tasks (made again if lost)."""
    return files


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "(not a Dask worker)"


@lru_cache(maxsize=1)
def worker_problems() -> str:
    """The failed checks of `letterforge doctor --worker` on this machine ('' when all pass)."""
    from letterforge.doctor import run_worker_checks

    return "; ".join(f"{check.name}: {check.detail}" for check in run_worker_checks() if not check.ok)


def worker_report() -> dict[str, Any]:
    """Run on each worker before a batch submits to it: its checks and what its letters are made with."""
    from letterforge.doctor import run_worker_checks

    checks = run_worker_checks()
    return {"failed": [f"{c.name}: {c.detail}" + (f" (fix: {c.fix})" if c.fix else "") for c in checks if not c.ok],
            "software": software_stack(), "fonts": font_files()}


def software_differences(found: Mapping[str, str], batch: Mapping[str, str]) -> list[str]:
    """What `found` (a worker's or the scheduler's software_stack) runs that the batch does not."""
    return [f"{name} {found.get(name, 'missing')} (the batch has {version})" for name, version in batch.items()
            if found.get(name) != version]


def scheduler_report() -> dict[str, Any]:
    """Run on the scheduler before a batch submits to it: Dask's scheduler unpickles each task, so it
    loads letterforge's letter model too and must run the batch's letterforge."""
    return {"software": software_stack()}


@lru_cache(maxsize=1)
def software_stack() -> dict[str, str]:
    """The letterforge code (a digest of its modules) and the versions of the packages that lay
    letters out: the batch requires its own on every worker and on the scheduler. Taken once per
    process, at the first ask: a scheduler or worker left running while letterforge was upgraded
    under it still reports the code it loaded."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(root.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    stack = {"letterforge": digest.hexdigest()[:16]}
    for package in RENDER_PACKAGES:
        try:
            stack[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            stack[package] = "missing"
    return stack


def font_files() -> dict[str, str]:
    """The letter fonts this machine lays out with: the file and its size, per family."""
    from letterforge.fonts import LETTER_FONTS, find_font

    found = {}
    for family in LETTER_FONTS:
        located = find_font(family)
        found[family] = f"{located.path.name}#{located.index} ({located.path.stat().st_size} bytes)" \
            if located else "missing"
    return found
