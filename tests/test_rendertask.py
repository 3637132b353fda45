"""The self-contained render task: what a cluster's worker gets, and the bytes it makes."""

import hashlib
import json
import pickle
import shutil
from datetime import date

import pytest
import segno
from click.testing import CliRunner

from letterforge.cli import cli
from letterforge.diagnostics import UserError
from letterforge.pipeline import LetterFactory
from letterforge.records import LetterKind
from letterforge.rendering import read_template_files
from letterforge.executors import letters_per_task
from letterforge.rendertask import RenderJob, jobs_key, prepare_job, render_job, render_jobs
from letterforge.workspace import Workspace

from conftest import SAMPLES

AS_OF = date(2026, 11, 25)


def with_logo(workspace):
    """A workspace whose return slip shows a logo from its own template folder."""
    logo = workspace / "templates" / "logo.png"
    logo.parent.mkdir(parents=True)
    segno.make("letterforge").save(str(logo), kind="png", scale=4)
    (workspace / "templates" / "partials").mkdir()
    shipped = (SAMPLES.parent / "templates" / "partials" / "return_slip.html").read_text(encoding="utf-8")
    (workspace / "templates" / "partials" / "return_slip.html").write_text(
        f'<img src="{logo.as_uri()}" style="width: 20mm" alt="">' + shipped, encoding="utf-8")
    return workspace


@pytest.mark.slow
def test_the_task_makes_the_same_bytes_without_the_workspace(copy_sample, tmp_path):
    workspace = with_logo(copy_sample("property-zh"))
    factory = LetterFactory(Workspace.open(workspace))
    draft = factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF, "DEM-2026-0001")
    here = factory.render(draft, "pdf").content
    job, files = prepare_job(factory.renderer, draft), read_template_files(factory.renderer)
    assert str(workspace / "templates" / "logo.png") in files.files
    # What travels is plain pickle; the workspace is gone when the worker lays the letter out.
    job, files = pickle.loads(pickle.dumps(job)), pickle.loads(pickle.dumps(files))
    shutil.move(workspace, tmp_path / "elsewhere")
    made = render_job(job, files)
    assert made.proof.ok
    assert hashlib.sha256(made.content).hexdigest() == hashlib.sha256(here).hexdigest()
    assert b"/Subtype /Image" in made.content or b"/Subtype/Image" in made.content


@pytest.mark.slow
def test_the_worker_fetches_no_file_outside_what_travelled(copy_sample):
    workspace = copy_sample("property-zh")
    factory = LetterFactory(Workspace.open(workspace))
    draft = factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF, "DEM-2026-0001")
    files = read_template_files(factory.renderer)
    job = prepare_job(factory.renderer, draft)
    for url in ("file:///etc/hostname", (workspace / "letterforge.toml").as_uri(), "https://example.com/x.png"):
        hostile = RenderJob(draft, job.html.replace("</body>", f'<img src="{url}"></body>'))
        with pytest.raises(UserError, match="refused"):
            render_job(hostile, files)


@pytest.mark.slow
def test_a_letter_that_fails_in_a_task_of_several_fails_alone(copy_sample):
    factory = LetterFactory(Workspace.open(copy_sample("property-zh")))
    files = read_template_files(factory.renderer)
    first = prepare_job(factory.renderer, factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF, "DEM-2026-0001"))
    last = prepare_job(factory.renderer, factory.draft("JX-1-0201", LetterKind.REMINDER, AS_OF, "REM-2026-0001"))
    broken = RenderJob(first.draft, first.html.replace("</body>", '<img src="file:///etc/hostname"></body>'))
    # What a worker sends back is pickled: the failure must arrive as the error it was.
    made = pickle.loads(pickle.dumps(render_jobs((first, broken, last), files)))
    assert [type(m).__name__ for m in made] == ["RenderedPdf", "UserError", "RenderedPdf"]
    assert "refused" in str(made[1]) and "JX-2-0302" in str(made[1])
    assert made[0].content == render_job(first, files).content
    assert made[2].content == render_job(last, files).content


def test_a_task_of_several_letters_is_named_by_its_letters_and_their_content(copy_sample):
    factory = LetterFactory(Workspace.open(copy_sample("property-zh")))
    jobs = tuple(prepare_job(factory.renderer, factory.draft(account, LetterKind.REMINDER, AS_OF, f"REM-2026-000{n}"))
                 for n, account in enumerate(("JX-1-0201", "JX-2-0302"), 1))
    assert jobs_key(jobs) == jobs_key(tuple(jobs)) and jobs_key(jobs).startswith("letterforge-pdfs-REM-2026-0001-2-")
    assert jobs_key(jobs) != jobs_key(jobs[:1]) != jobs_key((jobs[0], RenderJob(jobs[1].draft, jobs[1].html + " ")))
    assert jobs_key(jobs) != jobs_key((jobs[0], RenderJob(jobs[1].draft, jobs[1].html + " ")))


@pytest.mark.parametrize("waiting, threads, letters", [
    (1000, 2, 4),  # many waiting: the most a task holds
    (20, 2, 2),  # a small day: small tasks, spread over the workers
    (7, 2, 1), (1, 2, 1), (3, 0, 1),  # the end of the day; no worker yet
    (1000, 64, 3),  # a big cluster: every worker gets work
])
def test_tasks_hold_several_letters_while_many_wait_and_one_at_the_end(waiting, threads, letters):
    assert letters_per_task(waiting, threads) == letters


def test_a_task_key_names_the_letter_and_its_content(copy_sample):
    factory = LetterFactory(Workspace.open(copy_sample("property-zh")))
    draft = factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF, "DEM-2026-0001")
    job = prepare_job(factory.renderer, draft)
    assert job.key == prepare_job(factory.renderer, draft).key
    assert job.key.startswith("letterforge-pdf-DEM-2026-0001-")
    assert RenderJob(draft, job.html + " ").key != job.key


def test_template_files_digest_follows_the_files(copy_sample):
    workspace = copy_sample("property-zh")
    (workspace / "templates").mkdir()
    factory = LetterFactory(Workspace.open(workspace))
    before = read_template_files(factory.renderer)
    assert read_template_files(factory.renderer).digest == before.digest
    (workspace / "templates" / "note.css").write_text("p { color: black }", encoding="utf-8")
    assert read_template_files(factory.renderer).digest != before.digest


def test_template_files_keep_no_symlink_that_leaves_the_folders(copy_sample, tmp_path):
    workspace = copy_sample("property-zh")
    (workspace / "templates").mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("not a template", encoding="utf-8")
    (workspace / "templates" / "leak.txt").symlink_to(secret)
    (workspace / "templates" / "loop").symlink_to(workspace / "templates")
    files = read_template_files(LetterFactory(Workspace.open(workspace)).renderer)
    assert not any(content == b"not a template" for content in files.files.values())


def test_doctor_worker_checks_fonts_subsetting_and_a_test_letter(tmp_path):
    result = CliRunner().invoke(cli, ["doctor", "--worker", "--format", "json"])
    checks = {check["name"]: check for check in json.loads(result.stdout)}
    assert {"letter fonts", "HarfBuzz subsetting", "test letter", "package distributed"} <= set(checks)
    assert "output folder writable" not in checks
    assert result.exit_code == 0 and all(c["ok"] for c in checks.values())


def test_doctor_worker_fails_without_harfbuzz_subsetting(monkeypatch):
    import ctypes.util

    import letterforge.pdffonts

    real = ctypes.util.find_library
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None if name == "harfbuzz-subset" else real(name))
    result = CliRunner().invoke(cli, ["doctor", "--worker"])
    assert result.exit_code == 1
    assert "FAIL  HarfBuzz subsetting" in result.stdout
    # The test letter proves it too: without the compaction the font weighs far more.
    monkeypatch.setattr(letterforge.pdffonts, "_harfbuzz", lambda: None)
    from letterforge.doctor import check_test_letter

    check = check_test_letter()
    assert not check.ok and "not compacted" in check.detail


@pytest.mark.slow
def test_a_worker_with_other_software_than_the_batch_makes_no_letter(copy_sample):
    from letterforge.rendertask import WorkerUnfit, software_stack

    factory = LetterFactory(Workspace.open(copy_sample("property-zh")))
    draft = factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF, "DEM-2026-0001")
    job, files = prepare_job(factory.renderer, draft), read_template_files(factory.renderer)
    batch = {**software_stack(), "weasyprint": "99.0"}
    with pytest.raises(WorkerUnfit, match="other software than the batch") as refused:
        render_job(job, files, batch)
    # Only what differs is named, not the worker's whole list of packages.
    assert f"weasyprint {software_stack()['weasyprint']} (the batch has 99.0)" in str(refused.value)
    assert "pydyf" not in str(refused.value) and "fonttools" not in str(refused.value)
    assert render_job(job, files, software_stack()).proof.ok


def test_what_a_cluster_logs_of_a_task_names_no_debtor(copy_sample):
    from dask._task_spec import Task

    factory = LetterFactory(Workspace.open(copy_sample("property-zh")))
    draft = factory.draft("JX-2-0302", LetterKind.DEMAND, AS_OF, "DEM-2026-0001")
    task = Task("k", render_job, prepare_job(factory.renderer, draft), read_template_files(factory.renderer))
    shown = repr(task)  # what a worker logs when a task fails
    assert "JX-2-0302" in shown and "DEM-2026-0001" in shown
    assert draft.account.name not in shown and draft.account.address not in shown
