"""Start-up: a command imports only what it uses (benchmarks/startup.py measures the time)."""

import json
import subprocess
import sys

import pytest

from conftest import AS_OF

# Heavy packages and the commands that need them: a cluster batch, the local process pool, DOCX letters, XLSX data,
# sealed letters, reading PDFs back, laying letters out.
CLUSTER = {"dask", "distributed"}
NEVER_AT_START = CLUSTER | {"docxtpl", "docx", "openpyxl", "pyhanko", "pyhanko_certvalidator", "pypdf", "weasyprint",
                            "fontTools", "asyncio", "segno", "cryptography", "multiprocessing", "concurrent"}


def imported_by(code: str, tmp_path, cwd=None) -> set[str]:
    """The top-level packages in sys.modules after running `code` in a fresh interpreter."""
    found = tmp_path / "modules.json"
    script = (f"import atexit, json, sys\n"
              f"atexit.register(lambda: open({str(found)!r}, 'w').write(json.dumps(sorted({{name.split('.')[0] for "
              f"name in sys.modules}}))))\n{code}\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return set(json.loads(found.read_text()))


def test_importing_the_command_line_imports_no_heavy_package(tmp_path):
    assert not imported_by("import letterforge.cli", tmp_path) & (NEVER_AT_START | {"pydantic", "jinja2", "yaml"})


def test_the_facade_imports_no_renderer_cluster_or_signing_package(tmp_path):
    assert not imported_by("import letterforge.pipeline", tmp_path) & NEVER_AT_START


def test_the_facade_leaves_e_mail_sms_and_checks_until_a_command_asks_for_them(tmp_path):
    code = "import sys, letterforge.pipeline as p\nassert 'letterforge.emailing' not in sys.modules\np.send_day"
    late = {"smtplib", "ssl", "http", "difflib"}
    assert not imported_by("import letterforge.pipeline", tmp_path) & late
    assert {"smtplib", "ssl"} <= imported_by(code, tmp_path)  # there when asked for


@pytest.mark.parametrize("arguments, allowed", [
    (["validate"], set()),
    (["plan", "--as-of", AS_OF], set()),
    (["render", "JX-1-0201", "--kind", "reminder", "--as-of", AS_OF, "--draft", "--format", "html", "-o", "r.html"],
     {"segno"}),
])
def test_a_command_imports_only_what_it_uses(copy_sample, arguments, allowed):
    workspace = copy_sample("property-zh")
    call = f"from letterforge.cli import cli\ncli({['-w', str(workspace), *arguments]!r}, standalone_mode=False)"
    imported = imported_by(call, workspace.parent, cwd=workspace)
    assert "pydantic" in imported  # the command ran: it read the workspace's settings
    assert not imported & (NEVER_AT_START - allowed), sorted(imported & (NEVER_AT_START - allowed))
    if arguments[0] == "render":
        assert "JX-1-0201" in (workspace / "r.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_pdf_render_imports_no_cluster_docx_xlsx_or_pdf_reading_package(copy_sample):
    workspace = copy_sample("property-zh")
    arguments = ["-w", str(workspace), "render", "JX-1-0201", "--kind", "reminder", "--as-of", AS_OF, "-o", "r.pdf"]
    imported = imported_by(f"from letterforge.cli import cli\ncli({arguments!r}, standalone_mode=False)",
                           workspace.parent, cwd=workspace)
    assert "weasyprint" in imported and (workspace / "r.pdf").read_bytes().startswith(b"%PDF")
    assert not imported & (CLUSTER | {"docxtpl", "docx", "openpyxl", "pyhanko", "multiprocessing", "concurrent"}), \
        sorted(imported)
    # The proof-reader reads the new PDF's properties without pypdf (pdfinfo), which alone costs a
    # one-letter command ~0.05 CPU-seconds to import (and cryptography with it).
    assert not imported & {"pypdf", "cryptography"}, sorted(imported & {"pypdf", "cryptography"})


def test_a_command_reads_no_yaml_while_no_clause_changed(copy_sample, monkeypatch, tmp_path):
    # The clauses' front matter is kept in the cache folder (clauses.FrontMatterCache): the first
    # command reads the YAML and fills it, the next ones import no YAML parser at all.
    monkeypatch.setenv("LETTERFORGE_CACHE_DIR", str(tmp_path / "cache"))
    workspace = copy_sample("property-zh")
    arguments = ["-w", str(workspace), "render", "JX-1-0201", "--kind", "reminder", "--as-of", AS_OF, "--draft",
                 "--format", "html", "-o", "r.html"]
    call = f"from letterforge.cli import cli\ncli({arguments!r}, standalone_mode=False)"
    assert "yaml" in imported_by(call, tmp_path, cwd=workspace)
    assert "yaml" not in imported_by(call, tmp_path, cwd=workspace)
    assert "JX-1-0201" in (workspace / "r.html").read_text(encoding="utf-8")


def test_modules_imported_for_good_are_frozen_out_of_the_collectors_sight(tmp_path):
    # records.lasting_imports: the collector paused while the block imports, what the process holds
    # then frozen (gc.freeze), and the collector as it was afterwards, enabled or not.
    code = ("import gc\nfrom letterforge.records import lasting_imports\n"
            "assert gc.get_freeze_count() == 0 and gc.isenabled()\n"
            "with lasting_imports():\n    assert not gc.isenabled()\n    import letterforge.pipeline\n"
            "assert gc.isenabled() and gc.get_freeze_count() > 10000\n"
            "gc.disable()\nwith lasting_imports():\n    pass\nassert not gc.isenabled()\n")
    imported = imported_by(code, tmp_path)
    assert "letterforge" in imported


def test_a_render_freezes_its_modules(copy_sample):
    workspace = copy_sample("property-zh")
    arguments = ["-w", str(workspace), "render", "JX-1-0201", "--kind", "reminder", "--as-of", AS_OF, "--draft",
                 "--format", "html", "-o", "r.html"]
    code = (f"import gc\nfrom letterforge.cli import cli\nassert gc.get_freeze_count() == 0\n"
            f"cli({arguments!r}, standalone_mode=False)\nassert gc.get_freeze_count() > 10000 and gc.isenabled()\n")
    imported_by(code, workspace.parent, cwd=workspace)


def test_the_facade_leaves_the_batchs_executors_until_a_command_asks_for_them(tmp_path):
    code = ("import sys, letterforge.pipeline as p\n"
            "assert not {'letterforge.executors', 'letterforge.delivery'} & set(sys.modules), sorted(sys.modules)\n"
            "assert p.choose_executor and p.render_pdf and 'letterforge.executors' in sys.modules\n")
    imported = imported_by(code, tmp_path)
    assert "multiprocessing" in imported and "concurrent" in imported  # there when asked for
    assert not imported_by("import letterforge.pipeline", tmp_path) & {"multiprocessing", "concurrent"}
