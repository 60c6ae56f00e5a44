"""Student copies: generated from the source notebooks, never edited by hand, and runnable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wslearn.classroom import STUB, make_student_copy, strip_solutions, write_student_copies

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "notebooks").glob("*.ipynb"))


def cell(source, cell_type="code", **nbgrader):
    meta = {"nbgrader": nbgrader} if nbgrader else {}
    outputs = (
        {
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}],
            "execution_count": 3,
        }
        if cell_type == "code"
        else {}
    )
    return {"cell_type": cell_type, "metadata": meta, "source": source, **outputs}


def test_solution_becomes_an_indented_stub_and_hidden_tests_vanish():
    source = "def f(x):\n    ### BEGIN SOLUTION\n    return x * 2\n    ### END SOLUTION\n"
    assert (
        strip_solutions(source)
        == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    )
    checks = "check(f)\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n### END HIDDEN TESTS\n"
    assert strip_solutions(checks) == "check(f)\n"


def test_student_copy_clears_outputs_and_tags_check_cells():
    notebook = {
        "cells": [
            cell("# Title", "markdown"),
            cell(
                "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n",
                solution=True,
                grade=False,
            ),
            cell("check(f)", grade=True, solution=False, points=1),
        ],
        "metadata": {},
    }
    student = make_student_copy(notebook)
    solution, check = student["cells"][1], student["cells"][2]
    assert "return 1" not in solution["source"] and STUB.splitlines()[1] in solution["source"]
    assert solution["outputs"] == [] and solution["execution_count"] is None
    assert check["metadata"]["tags"] == ["raises-exception"]
    assert "tags" not in solution["metadata"]
    assert notebook["cells"][1]["outputs"], "the source notebook must not be changed"


def test_write_and_check_report_what_is_out_of_date(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    (src / "a.ipynb").write_text(json.dumps({"cells": [cell("1")], "metadata": {}}))
    assert write_student_copies(src, out, check=True) == [out / "a.ipynb"]
    assert write_student_copies(src, out) == [out / "a.ipynb"]
    assert write_student_copies(src, out, check=True) == []
    (out / "stale.ipynb").write_text("{}")
    assert write_student_copies(src, out, check=True) == [out / "stale.ipynb"]


@pytest.mark.notebook
def test_committed_student_copies_are_up_to_date():
    result = subprocess.run(
        [sys.executable, "-m", "wslearn", "student", "notebooks", "--out", "student", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"regenerate with: python -m wslearn student\n{result.stderr}"


@pytest.mark.notebook
def test_student_copies_hold_no_solution_code():
    for path in sorted((ROOT / "student").glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, path.name


@pytest.mark.notebook
def test_student_copies_run_with_their_unsolved_checks_failing_as_expected():
    assert list((ROOT / "student").glob("*.ipynb")), "no student copies: python -m wslearn student"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "student/",
            "--nbval-current-env",
            "-p",
            "no:cacheprovider",
            "-q",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
