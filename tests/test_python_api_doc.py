"""docs/python-api.md: its Python examples run, in order, as one session in an empty folder."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "python-api.md"


def python_blocks(text: str) -> list[tuple[int, str]]:
    """Each ```python block with the line it starts on."""
    return [(text[:match.start()].count("\n") + 2, match.group(1))
            for match in re.finditer(r"^```python\n(.*?)^```$", text, flags=re.M | re.S)]


def test_the_doc_has_an_example_for_each_task():
    text = DOC.read_text(encoding="utf-8")
    code = "\n".join(block for _, block in python_blocks(text))
    for call in ("Workspace.open(", "compute_statements(", "factory.draft(", "draft.letter", "factory.render(",
                 "plan_letters(", "run_batch("):
        assert call in code, call


@pytest.mark.slow
def test_the_python_examples_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LETTERFORGE_WORKSPACE", raising=False)
    session: dict[str, object] = {"__name__": "python_api_doc"}
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 6
    for line, block in blocks:
        try:
            exec(compile(block, f"{DOC.name}:{line}", "exec"), session)
        except Exception as error:
            raise AssertionError(f"the example at {DOC.name}:{line} fails: {error!r}") from error
    printed = capsys.readouterr().out
    assert "杭州锦绣物业服务有限公司 zh-CN CNY" in printed
    assert "wrote letters/JX-2-0302-demand.pdf" in printed
    assert (tmp_path / "jinxiu" / "out" / "2026-11-25" / "manifest.json").is_file()
