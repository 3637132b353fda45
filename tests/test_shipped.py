"""The shipped folders (templates, legal clauses, samples): found in a checkout and inside an
installed wheel, where `pip install` of the wheel into a fresh environment can work from any folder."""

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import letterforge
from letterforge import shipped
from letterforge.shipped import SHIPPED_FOLDERS, shipped_folder

REPOSITORY = Path(__file__).resolve().parent.parent


def test_a_checkout_reads_the_top_level_folders_of_the_repository():
    assert Path(letterforge.__file__).resolve().parent == REPOSITORY / "letterforge"  # the editable install
    for name in SHIPPED_FOLDERS:
        assert shipped_folder(name) == REPOSITORY / name and shipped_folder(name).is_dir()
    assert (shipped_folder("samples") / "property-zh" / "letterforge.toml").is_file()
    with pytest.raises(ValueError, match="letterforge ships no folder 'letterforge.toml'"):
        shipped_folder("letterforge.toml")  # type: ignore[arg-type]


def test_an_installed_package_reads_the_folders_it_carries(tmp_path, monkeypatch):
    package = tmp_path / "site-packages" / "letterforge"
    (package / "shipped" / "templates").mkdir(parents=True)
    monkeypatch.setattr(shipped, "files", lambda name: package)
    shipped.shipped_root.cache_clear()
    try:
        assert shipped_folder("templates") == package / "shipped" / "templates"
    finally:
        shipped.shipped_root.cache_clear()


def run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "PYTHONPATH": "", "LETTERFORGE_WORKSPACE": ""})
    assert result.returncode == 0, f"{command}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_a_wheel_installed_into_a_fresh_environment_works_from_another_folder(tmp_path):
    # The wheel, as `pip install .` builds it (in an isolated build environment, with hatchling).
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist), str(REPOSITORY)], tmp_path)
    (wheel,) = dist.glob("letterforge-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in SHIPPED_FOLDERS:
        tracked = subprocess.run(["git", "-C", str(REPOSITORY), "ls-files", "-z", name], capture_output=True,
                                 check=True).stdout.decode().split("\0")
        assert {f"letterforge/shipped/{path}" for path in tracked if path} <= set(names), name
    assert not [n for n in names if "sqlite" in n or "/rejects/" in n or "__pycache__" in n]
    # Dask's settings for letter work, installed where the environment's Dask processes read them
    assert [n for n in names if n.endswith(".data/data/etc/dask/letterforge.yaml")]

    # A fresh environment: letterforge installed from the wheel (not editable) and nothing else;
    # its dependencies are read from this test environment's site-packages, after its own.
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel)], tmp_path)
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    tmp_path).stdout.strip())
    (site / "zz-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = json.loads(run([str(python), "-c", "import json, sys, letterforge, letterforge.shipped as s; "
                                               "print(json.dumps([letterforge.__file__, str(s.shipped_root()), sys.path]))"],
                           elsewhere).stdout)
    assert Path(where[0]).is_relative_to(site) and Path(where[1]) == site / "letterforge" / "shipped"
    assert not any(entry and Path(entry).resolve() == REPOSITORY for entry in where[2])
    profiler = run([str(python), "-c", "import dask; print(dask.config.get('distributed.worker.profile.enabled'))"],
                   elsewhere).stdout.strip()
    assert profiler == "False"  # the environment's etc/dask/letterforge.yaml, read by every Dask process of it

    letterforge_command = str(venv / "bin" / "letterforge")
    created = run([letterforge_command, "init", "ws", "--example", "property-zh"], elsewhere)
    assert "install letterforge from its repository" not in created.stdout + created.stderr
    workspace = elsewhere / "ws"
    config = workspace / "letterforge.toml"
    config.write_text(config.read_text(encoding="utf-8")
                      + "\ndaily_caps = { reminder = 2, demand = 1, lawyer = 1 }\n", encoding="utf-8")
    run([letterforge_command, "-w", "ws", "validate"], elsewhere)
    run([letterforge_command, "-w", "ws", "render", "JX-2-0302", "--kind", "demand", "--as-of", "2026-11-25",
         "-o", "letters", "--draft"], elsewhere)
    text = run(["pdftotext", str(elsewhere / "letters" / "JX-2-0302-demand.pdf"), "-"], elsewhere).stdout
    assert "编号：DEM-20261125-JX-2-0302" in text and "催 费 函" in text  # the shipped template and clauses
    batch = run([letterforge_command, "-w", "ws", "batch", "--as-of", "2026-11-25", "--jobs", "1", "--format", "json"],
                elsewhere)
    issued = json.loads(batch.stdout)["counts"]["issued"]
    assert sum(issued.values()) > 0
    manifest = json.loads((workspace / "out" / "2026-11-25" / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest) == sum(issued.values())
    assert all((workspace / "out" / row["file"]).is_file() for row in manifest)
    for other in ("water-zh", "receivables-en"):
        run([letterforge_command, "init", other, "--example", other], elsewhere)
        run([letterforge_command, "-w", other, "validate"], elsewhere)


def test_init_names_a_sample_missing_from_the_installation(tmp_path, monkeypatch):
    from letterforge import workspace
    from letterforge.diagnostics import UserError

    monkeypatch.setattr(workspace, "SAMPLES", tmp_path / "shipped" / "samples")
    with pytest.raises(UserError, match=r"the sample water-zh is missing from this installation \(.*shipped/samples/"
                                        r"water-zh\); reinstall letterforge"):
        workspace.init_workspace(tmp_path / "ws", "water-zh")
    assert not (tmp_path / "ws").exists()
