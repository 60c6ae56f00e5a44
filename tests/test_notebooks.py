"""Every notebook passes nbval, reproducing its committed outputs, in the learner's environment.

nbval runs in its own pytest process, the way a teacher would run it, with the ``python`` of the
environment that README's first command builds (``tests/helpers/learner_envs.py``) — not the
developers' environment, which has more packages than a learner:

    python -m pytest --nbval notebooks/ --nbval-sanitize-with notebooks/sanitize.cfg
"""

from __future__ import annotations

import subprocess

import pytest
from helpers.learner_envs import ROOT, LearnerEnv

pytestmark = pytest.mark.timeout(600)


@pytest.mark.notebook
def test_notebooks_pass_nbval_in_the_readme_environment(readme_env: LearnerEnv) -> None:
    assert list((ROOT / "notebooks").glob("*.ipynb")), "no notebooks found in notebooks/"
    command = [
        str(readme_env.python),
        "-m",
        "pytest",
        "--nbval",
        "notebooks/",
        "--nbval-sanitize-with",
        "notebooks/sanitize.cfg",
        "--nbval-current-env",  # the kernel runs on the environment's own interpreter
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    result = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=400, check=False,
        env=readme_env.environ(),
    )  # fmt: skip
    assert result.returncode == 0, (
        f"nbval failed in the README's environment (exit {result.returncode}):\n"
        f"{result.stdout[-8000:]}\n{result.stderr[-3000:]}"
    )
    # A teacher runs this too: no complaint about the project's pytest settings.
    assert " passed" in result.stdout and "PytestConfigWarning" not in result.stdout, result.stdout
