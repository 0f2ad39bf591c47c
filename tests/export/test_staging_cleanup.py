"""An export killed with SIGKILL cannot remove its staging folder; the next export of the same output
removes the staging folders whose process is gone, and leaves everything else alone."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import REPO, invoke

FIXTURES = Path(__file__).resolve().parents[1] / "runs" / "fixtures"


@pytest.fixture
def run_dir(tmp_path) -> Path:
    return shutil.copytree(FIXTURES / "run-0.1.0", tmp_path / "run")


def staging_folders(parent: Path, output_name: str) -> list[Path]:
    return sorted(p for p in parent.iterdir() if p.name.startswith(f".{output_name}.") and p.name.endswith(".tmp"))


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def export_killed_after_staging(run_dir: Path, output: Path, data_dir: Path) -> int:
    """Start an export in another process and SIGKILL it once its staging folder exists; its pid."""
    script = textwrap.dedent(f"""
        import os, signal
        from pathlib import Path
        from filterforge.export.export import ExportSettings, prepare_job
        job = prepare_job(Path({str(run_dir)!r}), ExportSettings(output=Path({str(output)!r}), data_dir=Path({str(data_dir)!r})))
        (job.staging / "model.onnx").write_bytes(b"x" * 4096)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stderr=subprocess.PIPE, text=True)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == -signal.SIGKILL, stderr
    return process.pid


def test_the_next_export_removes_what_a_killed_export_left(runner, run_dir, demo_splits):
    output = run_dir / "onnx-new"
    killed = export_killed_after_staging(run_dir, output, demo_splits)
    (left,) = staging_folders(run_dir, "onnx-new")
    assert f".onnx-new.{killed}." in left.name, "the staging folder names its owner's pid"

    result = invoke(runner, ["export", run_dir, "--output", output, "--data-dir", demo_splits])
    assert result.exit_code == 0, result.output
    assert not left.exists() and staging_folders(run_dir, "onnx-new") == []
    assert (output / "model.onnx").is_file()


def test_only_stale_folders_of_the_same_output_are_removed(runner, run_dir, demo_splits):
    output = run_dir / "onnx-new"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        gone = dead_pid()
        folders = {
            "stale": run_dir / f".onnx-new.{gone}.k2j4h1x9.tmp",
            "live": run_dir / f".onnx-new.{live.pid}.a8s7d6f5.tmp",            # another export still running
            "unowned": run_dir / ".onnx-new.q1w2e3r4.tmp",                       # no pid: cannot tell its owner
            "other_output": run_dir / f".onnx-int8.{gone}.z9x8c7v6.tmp",         # staging of another output
        }
        for folder in folders.values():
            folder.mkdir()
            (folder / "model.onnx").write_bytes(b"x")
        result = invoke(runner, ["export", run_dir, "--output", output, "--data-dir", demo_splits])
        assert result.exit_code == 0, result.output
        assert not folders["stale"].exists()
        for name in ("live", "unowned", "other_output"):
            assert folders[name].is_dir(), name
        assert str(folders["stale"].name) in result.output
    finally:
        live.kill()
        live.wait()
