"""Grading: each learner scores exactly what their own functions earn against the teacher's checks.

The class is built at test time from the current source notebooks
(``tests/fixtures/make_submissions.py``), so it never goes stale, and is graded in one run of
``python -m wslearn grade``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from wslearn.classroom import make_student_copy
from wslearn.grading import (
    SandboxUnavailable,
    exercises_of,
    find_submissions,
    grade_submissions,
    learner_solutions,
)
from wslearn.grading.submissions import Unreadable, read_hand_in

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "notebooks").glob("*.ipynb"))
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

from make_submissions import EXPECTED, HANDED_IN, NB02, NB03, make_submissions  # noqa: E402


def load(name: str) -> dict:
    return json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))


def digests(folder: Path) -> Dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def env_with_root() -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


# ---------------------------------------------------------------------------------------------
# The class, graded once
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class")
    submissions = tmp / "submissions"
    make_submissions(ROOT / "notebooks", submissions)
    (submissions / "stray.ipynb").write_text("{}")  # flat layout: ignored with a warning
    before = digests(submissions)
    mtimes = {p: p.stat().st_mtime_ns for p in submissions.rglob("*")}
    out = tmp / "report" / "grades.csv"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wslearn",
            "grade",
            str(submissions),
            "--source",
            str(ROOT / "notebooks"),
            "--out",
            str(out),
            "--timeout",
            "4",
            "--jobs",
            "2",
        ],
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env=env_with_root(),
    )
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    totals_path = out.with_name("grades-totals.csv")
    with totals_path.open(encoding="utf-8", newline="") as f:
        totals = list(csv.DictReader(f))
    return {
        "result": result,
        "rows": rows,
        "totals": totals,
        "before": before,
        "after": digests(submissions),
        "mtimes": mtimes,
        "mtimes_after": {p: p.stat().st_mtime_ns for p in submissions.rglob("*")},
        "submissions": submissions,
    }


def row(graded, student: str, grade_id: str) -> dict:
    (found,) = [r for r in graded["rows"] if r["student"] == student and r["grade_id"] == grade_id]
    return found


def all_exercises():
    return exercises_of(load(NB02), NB02) + exercises_of(load(NB03), NB03)


@pytest.mark.notebook
def test_grade_command_exits_0_and_prints_the_class_table(graded):
    result = graded["result"]
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert lines[0].split()[0] == "student" and "total" in lines[0] and "max" in lines[0]
    assert "02:accept_key" in lines[0] and "03:is_control" in lines[0]
    table = {line.split()[0]: line.split() for line in lines[2:8]}
    assert sorted(table) == sorted(EXPECTED)
    assert "stray.ipynb" in result.stderr  # a loose notebook is not a learner


@pytest.mark.notebook
def test_every_learner_scores_exactly_the_exercises_they_solved(graded):
    maximum = sum(e.points for e in all_exercises())
    for student, solved in EXPECTED.items():
        for exercise in all_exercises():
            got = row(graded, student, exercise.grade_id)
            want = exercise.points if exercise.grade_id in solved else 0
            assert float(got["points"]) == want, (student, exercise.grade_id, got["message"])
            assert float(got["max_points"]) == exercise.points
        (total,) = [t for t in graded["totals"] if t["student"] == student]
        expected_total = sum(e.points for e in all_exercises() if e.grade_id in solved)
        assert float(total["total"]) == expected_total
        assert float(total["max"]) == maximum


@pytest.mark.notebook
def test_report_has_one_row_per_learner_and_exercise(graded):
    assert list(graded["rows"][0]) == [
        "student",
        "notebook",
        "grade_id",
        "points",
        "max_points",
        "message",
    ]
    assert len(graded["rows"]) == len(EXPECTED) * len(all_exercises())
    assert list(graded["totals"][0]) == [
        "student",
        *(f"{e.notebook[:2]}:{e.name}" for e in all_exercises()),
        "total",
        "max",
    ]
    for r in graded["rows"]:
        passed = float(r["points"]) == float(r["max_points"])
        assert (r["message"] == "") == passed, r


@pytest.mark.notebook
def test_messages_say_what_is_wrong_and_never_the_answer(graded):
    right_answer = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    bob = row(graded, "bob", "accept_key-check")["message"]
    assert "Hint:" in bob and right_answer not in bob
    assert "not written yet" in row(graded, "carol", "accept_key-check")["message"]
    for exercise in exercises_of(load(NB03)):  # hidden tests run first in 03: same message
        assert "not written yet" in row(graded, "carol", exercise.grade_id)["message"]
    assert "SyntaxError" in row(graded, "dave", "accept_key-check")["message"]
    assert "no answer within 4 s" in row(graded, "erin", "accept_key-check")["message"]
    for student in ("bob", "dave", "erin", "mallory"):
        for exercise in exercises_of(load(NB03)):
            assert row(graded, student, exercise.grade_id)["message"] == "not handed in"
    for r in graded["rows"]:
        if r["student"] != "alice":
            assert right_answer not in r["message"] or r["grade_id"] != "accept_key-check"


@pytest.mark.notebook
def test_tampering_earns_nothing(graded):
    for grade_id in ("accept_key-check", "build_101-check"):
        assert float(row(graded, "mallory", grade_id)["points"]) == 0
        # the checks are not in the learner's copy of the package at all
        assert "No module named 'wslearn.checks'" in row(graded, "mallory", grade_id)["message"]


@pytest.mark.notebook
def test_the_report_says_how_learner_code_ran(graded):
    assert "Learner code ran in a sandbox" in graded["result"].stdout


@pytest.mark.notebook
def test_submissions_are_only_read(graded):
    assert graded["after"] == graded["before"]
    assert graded["mtimes_after"] == graded["mtimes"]
    assert sorted(
        p.parent.name
        for p in graded["submissions"].rglob("*.ipynb")
        if p.parent.name != "submissions"
    ) == sorted(s for s, nbs in HANDED_IN.items() for _ in nbs)


@pytest.mark.notebook
def test_a_learner_that_ignores_interrupts_costs_only_that_exercise(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    check = {"grade": True, "solution": False, "locked": True, "schema_version": 3, "task": False}
    solution = {
        "grade": False,
        "solution": True,
        "locked": False,
        "schema_version": 3,
        "task": False,
    }

    def code(text, **nbgrader):
        return {
            "cell_type": "code",
            "execution_count": None,
            "outputs": [],
            "source": text,
            "metadata": {"nbgrader": nbgrader} if nbgrader else {},
        }

    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "cells": [
            code(
                "def is_control(opcode):\n    ### BEGIN SOLUTION\n    return bool(opcode & 8)\n"
                "    ### END SOLUTION\n",
                grade_id="is_control",
                **solution,
            ),
            code(
                "from wslearn.checks.frames import check_is_control\n"
                "check_is_control(is_control)\n",
                grade_id="is_control-check",
                points=1,
                **check,
            ),
            code(
                "def twice(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n",
                grade_id="twice",
                **solution,
            ),
            code("assert twice(21) == 42\n", grade_id="twice-check", points=1, **check),
        ],
    }
    (source / "09_tiny.ipynb").write_text(json.dumps(notebook))
    stubborn = json.loads(json.dumps(notebook))
    stubborn["cells"][0]["source"] = (
        "def is_control(opcode):\n    import signal\n"
        "    signal.signal(signal.SIGINT, signal.SIG_IGN)  # deaf to the interrupt\n"
        "    while True:\n        pass\n"
    )
    for student, nb in (("quick", notebook), ("stubborn", stubborn)):
        (tmp_path / "hand-ins" / student).mkdir(parents=True)
        (tmp_path / "hand-ins" / student / "09_tiny.ipynb").write_text(json.dumps(nb))
    report = grade_submissions(tmp_path / "hand-ins", source, timeout=2, notebook_timeout=8)
    scores = {(s.student, s.grade_id): s for s in report.scores}
    assert scores["quick", "is_control-check"].points == 1
    assert scores["quick", "twice-check"].points == 1
    assert scores["stubborn", "is_control-check"].points == 0
    assert "no answer within 2 s" in scores["stubborn", "is_control-check"].message
    assert scores["stubborn", "twice-check"].points == 1  # a fresh process replays the rest


# ---------------------------------------------------------------------------------------------
# Without a kernel
# ---------------------------------------------------------------------------------------------


def test_exercises_and_their_points_come_from_the_nbgrader_metadata():
    exercises = exercises_of(load(NB02), NB02)
    assert [(e.grade_id, e.name, e.points) for e in exercises] == [
        ("accept_key-check", "accept_key", 2),
        ("build_101-check", "build_101", 2),
    ]
    for path in SOURCES:
        for exercise in exercises_of(json.loads(path.read_text(encoding="utf-8"))):
            # notebook 12's cells score pieces of other notebooks, and have no solution cell
            solutions = 0 if exercise.carried_over else 1
            assert exercise.points > 0, (path, exercise)
            assert len(exercise.solution_indices) == solutions, (path, exercise)


def test_solution_cells_are_found_by_grade_id_then_by_function_then_by_position():
    source = load(NB02)
    student = make_student_copy(source)
    for cell in student["cells"]:
        cell["metadata"].pop("nbgrader", None)  # an editor that drops metadata
    for cell in student["cells"]:
        if "def build_101" in "".join(cell["source"]):
            cell["source"] = "def build_101(key):\n    return b'by name'\n"
    student["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "shifted"})
    found = learner_solutions(source, student)
    by_id = {
        source["cells"][index]["metadata"]["nbgrader"]["grade_id"]: code
        for index, (code, _) in found.items()
    }
    assert "by name" in by_id["build_101"]
    assert "raise NotImplementedError()" in by_id["accept_key"]  # defines accept_key
    nothing = learner_solutions(source, {"cells": []})
    notes = [note for _, note in nothing.values()]
    assert any("no 'accept_key' cell" in note for note in notes)
    labelled = make_student_copy(source)
    for cell in labelled["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "accept_key":
            cell["source"] = "def accept_key(key):\n    return 'mine'\n"
    mine = learner_solutions(source, labelled)
    assert "'mine'" in [c for c, _ in mine.values()][0]


def test_submissions_are_folders_named_after_learners(tmp_path):
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / NB02).write_text("{}")
    deep = tmp_path / "ben" / "ps1"
    deep.mkdir(parents=True)
    (deep / NB02).write_text("{}")  # nbgrader's submitted/<student>/<assignment>/ layout
    (tmp_path / "ben" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "ben" / ".ipynb_checkpoints" / NB03).write_text("{}")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "loose.ipynb").write_text("{}")
    found, warnings = find_submissions(tmp_path, [NB02, NB03])
    assert found == {
        "ann": {NB02: tmp_path / "ann" / NB02, NB03: None},
        "ben": {NB02: deep / NB02, NB03: None},
    }
    assert len(warnings) == 1 and "loose.ipynb" in warnings[0]


def test_unreadable_or_missing_notebooks_score_0_without_a_kernel(tmp_path):
    (tmp_path / "zoe").mkdir()
    (tmp_path / "zoe" / NB02).write_text("{not json")
    (tmp_path / "yan").mkdir()
    report = grade_submissions(tmp_path, ROOT / "notebooks", notebooks=[NB02])
    by = {(s.student, s.grade_id): s for s in report.scores}
    assert by["zoe", "accept_key-check"].points == 0
    assert by["zoe", "accept_key-check"].message.startswith("could not read the notebook")
    assert by["yan", "build_101-check"].message == "not handed in"
    assert report.max_points == 4 and report.total("zoe") == 0


def test_grade_command_reports_a_missing_folder(tmp_path, capsys):
    from wslearn.__main__ import main

    assert main(["grade", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


def malformed_class(tmp_path: Path) -> Path:
    """Two learners: one with a hand-in whose cells are broken, one honest."""
    source = load(NB02)
    broken = json.loads(json.dumps(source))
    broken["cells"][0]["metadata"] = None
    for cell in broken["cells"]:
        if (cell["metadata"] or {}).get("nbgrader", {}).get("grade_id") == "accept_key":
            cell["source"] = [1, 2, 3]  # not lines of text: a cell that says so
    broken["cells"].append("not a cell")
    for student, notebook in (("broken", broken), ("honest", source)):
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / NB02).write_text(json.dumps(notebook))
    return tmp_path / "class"


@pytest.mark.notebook
def test_a_malformed_hand_in_affects_that_learner_only(tmp_path):
    report = grade_submissions(malformed_class(tmp_path), ROOT / "notebooks", notebooks=[NB02])
    assert report.total("honest") == 4 and report.max_points == 4
    assert report.total("broken") == 2  # build_101 is whole: it still counts
    (message,) = [s.message for s in report.scores if s.grade_id == "accept_key-check"
                  and s.student == "broken"]  # fmt: skip
    assert "this cell of your notebook is not text" in message


def test_without_a_sandbox_grading_refuses_unless_the_class_is_trusted(
    tmp_path, monkeypatch, capsys
):
    import wslearn.grading.grader as grader
    from wslearn.__main__ import main

    monkeypatch.setattr(grader, "sandbox_problem", lambda: "`bwrap` is not installed")
    (tmp_path / "ann").mkdir()
    with pytest.raises(SandboxUnavailable, match="--trusted-class"):
        grade_submissions(tmp_path, ROOT / "notebooks", notebooks=[NB02])
    assert main(["grade", str(tmp_path), "--source", str(ROOT / "notebooks")]) == 2
    assert "bwrap" in capsys.readouterr().err and not (tmp_path / "report.csv").exists()


@pytest.mark.notebook
def test_a_trusted_class_is_graded_without_a_sandbox_and_the_report_says_so(tmp_path):
    report = grade_submissions(
        malformed_class(tmp_path), ROOT / "notebooks", notebooks=[NB02], trusted_class=True
    )
    assert report.total("honest") == 4
    assert "WITHOUT a sandbox" in report.protection


def test_a_hand_in_that_is_a_link_is_not_read(tmp_path):
    (tmp_path / "class" / "ann").mkdir(parents=True)
    (tmp_path / "class" / "ann" / NB02).symlink_to(ROOT / "notebooks" / NB02)  # the teacher's
    (tmp_path / "class" / "ben").symlink_to(tmp_path / "class" / "ann")  # another's folder
    (tmp_path / "class" / "cid").mkdir()
    (tmp_path / "class" / "cid" / NB02).mkdir()  # not a file
    found, warnings = find_submissions(tmp_path / "class", [NB02])
    assert set(found) == {"ann", "cid"} and any("ben" in w for w in warnings)
    with pytest.raises(Unreadable, match="symbolic link"):
        read_hand_in(found["ann"][NB02])
    with pytest.raises(Unreadable, match="could not read"):
        read_hand_in(tmp_path / "class" / "cid" / NB02)
    report = grade_submissions(tmp_path / "class", ROOT / "notebooks", notebooks=[NB02])
    assert report.total("ann") == 0
    assert all("symbolic link" in s.message for s in report.scores if s.student == "ann")


def test_a_hand_in_too_large_to_be_a_notebook_is_not_read(tmp_path, monkeypatch):
    import wslearn.grading.submissions as submissions

    monkeypatch.setattr(submissions, "MAX_HAND_IN", 1000)
    big = tmp_path / NB02
    big.write_text(json.dumps({"cells": [], "padding": "x" * 2000}))
    with pytest.raises(Unreadable, match="larger than 1000 bytes"):
        read_hand_in(big)


@pytest.mark.parametrize("for_teacher", [False, True])
def test_other_websocket_libraries_are_hidden_from_learner_code_only(tmp_path, for_teacher):
    from wslearn.grading.grader import LearnerStarter, other_libraries

    assert any(path.endswith("websockets") for path in other_libraries())
    starter = LearnerStarter(tmp_path, sandboxed=True, timeout=20)
    with starter(frozenset(), for_teacher=for_teacher) as learner:
        learner.run(
            "def can_import(name):\n"
            "    import importlib\n"
            "    try:\n"
            "        importlib.import_module(name)\n"
            "        return True\n"
            "    except ImportError:\n"
            "        return False\n"
        )
        for module in (
            "websockets.utils",
            "wsproto.utilities",
            "tornado.websocket",
            "h11._connection",
        ):
            assert learner.call("can_import", module) is for_teacher, module
        assert learner.call("can_import", "wslearn.handshake") is True
