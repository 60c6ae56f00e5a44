"""Student copies: generated from the source notebooks, never edited by hand, and runnable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.spoilers import spoiler_lines, spoilers_in, spoilers_in_folder

from wslearn.classroom import (
    STUB,
    make_student_copy,
    strip_solutions,
    write_learner_copies,
    write_student_copies,
)

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
        "metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {}}, "x": 1},
    }
    student = make_student_copy(notebook)
    assert student["metadata"] == {"x": 1}, "the teacher's widget state is not the learner's"
    solution, check = student["cells"][1], student["cells"][2]
    assert "return 1" not in solution["source"] and STUB.splitlines()[1] in solution["source"]
    assert solution["outputs"] == [] and solution["execution_count"] is None
    assert check["metadata"]["tags"] == ["raises-exception"]
    assert "tags" not in solution["metadata"]
    assert notebook["cells"][1]["outputs"], "the source notebook must not be changed"


def test_cells_of_the_full_course_only_are_not_copied():
    notice = cell("This is the full course notebook.", "markdown")
    notice["metadata"]["tags"] = ["full-course"]
    notebook = {"cells": [cell("# Title", "markdown"), notice, cell("1")], "metadata": {}}
    student = make_student_copy(notebook)
    assert [c["source"] for c in student["cells"]] == ["# Title", "1"]
    for path in SOURCES[1:]:  # every notebook after the index says which copy it is
        tagged = [c for c in json.loads(path.read_text())["cells"]
                  if "full-course" in c["metadata"].get("tags", [])]  # fmt: skip
        assert len(tagged) == 1 and "full course notebook" in "".join(tagged[0]["source"]), path


def test_write_and_check_report_what_is_out_of_date(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    (src / "a.ipynb").write_text(json.dumps({"cells": [cell("1")], "metadata": {}}))
    assert write_student_copies(src, out, check=True) == [out / "a.ipynb"]
    assert write_student_copies(src, out) == [out / "a.ipynb"]
    assert write_student_copies(src, out, check=True) == []
    (out / "stale.ipynb").write_text("{}")
    assert write_student_copies(src, out, check=True) == [out / "stale.ipynb"]


def test_the_pages_the_notebooks_link_to_go_with_every_copy(tmp_path):
    src, out, work = tmp_path / "src", tmp_path / "out", tmp_path / "work"
    src.mkdir()
    (src / "a.ipynb").write_text(json.dumps({"cells": [cell("1")], "metadata": {}}))
    (src / "REFERENCE.md").write_text("# Reference\n")
    assert write_student_copies(src, out) == [out / "a.ipynb", out / "REFERENCE.md"]
    assert (out / "REFERENCE.md").read_text() == "# Reference\n"
    (src / "REFERENCE.md").write_text("# Reference, regenerated\n")
    assert write_student_copies(src, out, check=True) == [out / "REFERENCE.md"]
    write_learner_copies(src, work)
    (src / "REFERENCE.md").write_text("# Reference, again\n")
    (work / "a.ipynb").write_text("the learner's work")
    write_learner_copies(src, work)  # the learner's notebook stays; the course's page is new
    assert (work / "a.ipynb").read_text() == "the learner's work"
    assert (work / "REFERENCE.md").read_text() == "# Reference, again\n"


def test_every_notebook_links_to_the_reference_page():
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        assert "(REFERENCE.md)" in text, path.name
    assert (ROOT / "notebooks" / "REFERENCE.md").exists()


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
def test_no_solution_text_anywhere_in_the_student_copies():
    """Not in the exercise cells, and not in an explanation that quotes the answer."""
    problems = spoilers_in_folder(ROOT / "student", ROOT / "notebooks")
    assert not problems, "solution text in the student copies:\n" + "\n".join(problems)


def test_the_spoiler_finder_finds_a_quoted_answer():
    source = {"cells": [cell(
        "def f(data):\n    ### BEGIN SOLUTION\n    return bytes(b ^ 1 for b in data)\n"
        "    ### END SOLUTION\n", solution=True, grade=False)]}  # fmt: skip
    explained = {"cells": [cell("It is `bytes(b ^ 1  for b in data)`.", "markdown")]}
    assert spoilers_in(explained, spoiler_lines(source)) == [(0, "bytes(b ^ 1 for b in data)")]
    assert spoilers_in(make_student_copy(source), spoiler_lines(source)) == []


@pytest.mark.notebook
@pytest.mark.timeout(600)
def test_student_copies_run_with_their_unsolved_checks_failing_as_expected(readme_env):
    """nbval-lax over student/, in the environment README's first command builds."""
    assert list((ROOT / "student").glob("*.ipynb")), "no student copies: python -m wslearn student"
    result = subprocess.run(
        [
            str(readme_env.python),
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
        timeout=400,
        check=False,
        env=readme_env.environ(),
    )
    assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
