import shutil
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
AS_OF = "2026-11-25"


@pytest.fixture
def copy_sample(tmp_path):
    """A private copy of a sample workspace, to change or write into."""

    def copy(name: str, as_name: str = "") -> Path:
        target = tmp_path / (as_name or name)
        shutil.copytree(SAMPLES / name, target, ignore=shutil.ignore_patterns("rejects"))
        return target

    return copy


def fake_pdf(_factory, draft) -> bytes:
    """A stand-in for WeasyPrint where rendering itself is not under test: a real one-page PDF,
    deterministic, titled with the letter's reference (tests of planning, caps, numbering and
    recovery stay fast)."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.add_metadata({"/Title": f"{draft.reference} {draft.account_id} {draft.kind.value}"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def sigterm_at(letter: int):
    """`fake_pdf` that sends this process SIGTERM while the `letter`-th letter is made: the batch
    finishes the letter in hand, then stops."""
    import os
    import signal

    made = {"n": 0}

    def renderer(factory, draft) -> bytes:
        made["n"] += 1
        if made["n"] == letter:
            os.kill(os.getpid(), signal.SIGTERM)
        return fake_pdf(factory, draft)

    return renderer


@pytest.fixture
def fake_renderer(monkeypatch):
    """`fake_pdf` in place of WeasyPrint for what a test runs through the command line in this
    process (`letterforge batch --jobs 1` through CliRunner), where `run_batch(renderer=...)`
    cannot be given: for tests of planning, numbering and recovery that read no letter."""
    from letterforge.letters import LetterFactory, RenderedLetter

    real = LetterFactory.render

    def render(self, draft, output_format, enforce=None):
        if output_format != "pdf":
            return real(self, draft, output_format, enforce)
        return RenderedLetter(draft, output_format, fake_pdf(self, draft))

    monkeypatch.setattr(LetterFactory, "render", render)
