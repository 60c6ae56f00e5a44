"""Every notebook runs under nbval and reproduces its committed outputs.

nbval runs in its own pytest process, the way a teacher would run it:

    python -m pytest --nbval notebooks/ --nbval-sanitize-with notebooks/sanitize.cfg
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.notebook
def test_notebooks_pass_nbval() -> None:
    assert list((ROOT / "notebooks").glob("*.ipynb")), "no notebooks found in notebooks/"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--nbval",
        "notebooks/",
        "--nbval-sanitize-with",
        "notebooks/sanitize.cfg",
        "--nbval-current-env",  # the kernel runs on this same interpreter
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    # The kernel starts in notebooks/; make sure it imports this checkout's wslearn even when the
    # package is not installed.
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=240, check=False, env=env
    )
    assert result.returncode == 0, (
        f"nbval failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
