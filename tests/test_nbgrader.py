"""The source notebooks are valid nbgrader sources, and nbgrader grades them as we do.

nbgrader runs on a throw-away course folder holding copies of a few source notebooks:

* ``generate_assignment`` must succeed, drop every solution and hidden test, keep every check,
  and give each solution cell the same stub as ``python -m wslearn student``;
* a class handed in from nbgrader's own released copies (``tests/fixtures/nbgrader_hand_ins.py``:
  an honest learner, a blank one, a partly wrong one) is graded twice, by ``nbgrader autograde``
  and by ``python -m wslearn grade``; each learner's score on each exercise (check cell) must be
  the same in nbgrader's gradebook and in our report, and be the one the learner earned.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from wslearn.classroom import cell_source, make_student_copy

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ["01_upgrade_request.ipynb", "02_accept_key.ipynb", "03_frame_header.ipynb"]
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

from nbgrader_hand_ins import NB02, NB03, NB06, STUDENTS, write_hand_ins  # noqa: E402

# Notebook 06's learner functions raise ValueError for bad input, and its notebook runs a live
# server on 127.0.0.1: both graders must cope with either.
GRADED = [NB02, NB03, NB06]
ASSIGNMENT = "ws"
CELL_TIMEOUT = 30  # seconds per cell, for both graders

Key = Tuple[str, str, str]  # (student, notebook file name, check cell grade_id)


def by_grade_id(notebook: dict) -> dict:
    return {
        c["metadata"]["nbgrader"]["grade_id"]: c
        for c in notebook["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    }


def make_course(tmp_path: Path, notebooks: List[str]) -> Tuple[Path, str]:
    """A course folder with ``source/ws/`` and its ``nbgrader_config.py``; returns it and db_url.

    The gradebook lives outside the course folder, so nothing is written in the current one.
    """
    course = tmp_path / "course"
    (course / "source" / ASSIGNMENT).mkdir(parents=True)
    for name in notebooks:
        shutil.copy(ROOT / "notebooks" / name, course / "source" / ASSIGNMENT / name)
    db_url = "sqlite:///" + str(tmp_path / "gradebook.db")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.course_id = 'wslearn'\n"
        f"c.CourseDirectory.db_url = {db_url!r}\n"
        f"c.Execute.timeout = {CELL_TIMEOUT}\n"
    )
    return course, db_url


def run(command: List[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    """Run ``python -m <command>`` in ``cwd``; fail the test, with its output, if it fails."""
    env = dict(os.environ)
    # nbgrader runs its database migrations with the `alembic` script installed beside python
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )
    assert result.returncode == 0, (command, result.stdout[-3000:] + result.stderr[-3000:])
    return result


@pytest.mark.timeout(240)
def test_nbgrader_generate_assignment_accepts_the_source_notebooks(tmp_path):
    course, _ = make_course(tmp_path, NOTEBOOKS)
    run(["nbgrader", "generate_assignment", ASSIGNMENT, "--create", "--force"], course, 180)
    for name in NOTEBOOKS:
        released_path = course / "release" / ASSIGNMENT / name
        text = released_path.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, name
        released = by_grade_id(json.loads(text))
        source = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
        ours = by_grade_id(make_student_copy(source))
        assert sorted(released) == sorted(ours) and released, name
        for grade_id, cell in released.items():
            meta = cell["metadata"]["nbgrader"]
            if meta.get("grade"):  # the check survives, locked, with its points
                assert "from wslearn.checks" in cell_source(cell), (name, grade_id)
                assert meta["locked"] and meta["points"] > 0
            assert cell_source(cell).strip() == cell_source(ours[grade_id]).strip(), (
                name,
                grade_id,
            )


def nbgrader_scores(db_url: str) -> Dict[Key, Tuple[float, float]]:
    """``{(student, notebook, grade_id): (score, max_score)}`` from nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    scores: Dict[Key, Tuple[float, float]] = {}
    with Gradebook(db_url) as gradebook:
        for notebook in gradebook.find_assignment(ASSIGNMENT).notebooks:
            for cell in notebook.grade_cells:
                for student in STUDENTS:
                    grade = gradebook.find_grade(cell.name, notebook.name, ASSIGNMENT, student)
                    assert not grade.needs_manual_grade, (student, notebook.name, cell.name)
                    key = (student, notebook.name + ".ipynb", cell.name)
                    scores[key] = (float(grade.score), float(grade.max_score))
    return scores


def wslearn_scores(report: Path) -> Dict[Key, Tuple[float, float]]:
    """The same, from ``python -m wslearn grade``'s report (one row per learner and exercise)."""
    with report.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    scores = {
        (r["student"], r["notebook"], r["grade_id"]): (float(r["points"]), float(r["max_points"]))
        for r in rows
    }
    assert len(scores) == len(rows), "a learner and exercise reported twice"
    return scores


@pytest.mark.notebook
@pytest.mark.timeout(240)
def test_nbgrader_autograde_and_wslearn_grade_give_each_exercise_the_same_score(tmp_path):
    course, db_url = make_course(tmp_path, GRADED)
    run(["nbgrader", "generate_assignment", ASSIGNMENT, "--create", "--force"], course, 60)
    submitted = course / "submitted"
    expected = write_hand_ins(
        ROOT / "notebooks", course / "release" / ASSIGNMENT, submitted, GRADED, ASSIGNMENT
    )

    # nbgrader's workflow: autograde every hand-in into the gradebook, then export the totals
    run(["nbgrader", "autograde", ASSIGNMENT, "--create"], course, 150)
    run(["nbgrader", "export"], course, 60)
    theirs = nbgrader_scores(db_url)
    with (course / "grades.csv").open(encoding="utf-8", newline="") as f:
        exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}

    # ours, on the same files, in nbgrader's submitted/<student>/<assignment>/ layout
    report = tmp_path / "report" / "report.csv"
    command = ["wslearn", "grade", str(submitted), "--source", str(ROOT / "notebooks")]
    command += ["--out", str(report), "--timeout", str(CELL_TIMEOUT), "--quiet"]
    for name in GRADED:
        command += ["--notebook", name]
    run(command, tmp_path, 150)
    ours = wslearn_scores(report)

    # the same learners and exercises, each with the same points out of the same maximum
    assert sorted(ours) == sorted(theirs)
    differ = {key: (theirs[key], ours[key]) for key in theirs if theirs[key] != ours[key]}
    assert not differ, f"(nbgrader, wslearn) (score, max) where they differ: {differ}"
    assert len(theirs) == len(STUDENTS) * sum(len(expected["honest"][n]) for n in GRADED)

    # ... and the ones each learner earned: honest all, blank none, partly exactly the right ones
    for (student, notebook, grade_id), (score, max_score) in theirs.items():
        assert max_score > 0
        earned = max_score if grade_id in expected[student][notebook] else 0.0
        assert score == earned, (student, notebook, grade_id, score)
    for student in STUDENTS:
        total = sum(score for (who, _, _), (score, _) in ours.items() if who == student)
        assert exported[student] == total, student
    assert 0 < exported["partly"] < exported["honest"] and exported["blank"] == 0
