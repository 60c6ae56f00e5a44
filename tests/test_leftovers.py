"""The test run fails, naming it, when a process started by a test outlives the run."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers.leftovers import MARK, marked_processes

HERE = Path(__file__).resolve().parent


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc (Linux)")
def test_a_run_that_leaves_a_process_behind_fails_and_names_it(tmp_path: Path) -> None:
    (tmp_path / "test_leaky.py").write_text(
        textwrap.dedent(
            """
            import subprocess

            def test_starts_a_sleeper():
                subprocess.Popen(["sleep", "567"], start_new_session=True)
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != MARK and not k.startswith("COV_")}
    env.update(PYTHONPATH=str(HERE), WSLEARN_LEFTOVER_GRACE="1")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "helpers.leftovers", "-p", "no:cacheprovider",
         "-o", "addopts=", "-q", str(tmp_path / "test_leaky.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "1 passed" in output and "processes left behind" in output, output
    assert "sleep 567" in output, output
    time.sleep(0.5)
    sleepers = subprocess.run(["pgrep", "-f", "sleep 567"], capture_output=True, text=True)
    assert sleepers.stdout.strip() == "", "the plugin did not kill what it reported"


def test_processes_of_this_run_are_marked() -> None:
    value = os.environ[MARK]
    child = subprocess.Popen(["sleep", "30"])
    try:
        deadline = time.monotonic() + 5
        while child.pid not in marked_processes(value) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "sleep 30" in marked_processes(value)[child.pid]
    finally:
        child.kill()
        child.wait(timeout=5)
    assert child.pid not in marked_processes(value)
