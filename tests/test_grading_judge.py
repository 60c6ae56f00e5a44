"""Judging a notebook with the learner's code in its own process and the checks in the grader's."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

import wslearn
from wslearn.classroom import cell_source, is_solution_cell
from wslearn.grading import learner_solutions
from wslearn.grading.judge import check_names, defined_functions, judge_notebook, teacher_values
from wslearn.grading.remote import LearnerProcess

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[1]
SOURCE = json.loads((ROOT / "notebooks" / "02_accept_key.ipynb").read_text(encoding="utf-8"))
BLANK = json.loads((ROOT / "student" / "02_accept_key.ipynb").read_text(encoding="utf-8"))


def start(cut=frozenset()) -> LearnerProcess:
    """A learner process on the whole package (the cut is the covers tests' business)."""
    return LearnerProcess(timeout=20)


@pytest.fixture(scope="module")
def values():
    learner_names = set()
    for cell in SOURCE["cells"]:
        if is_solution_cell(cell):
            learner_names |= defined_functions(cell_source(cell))
    return teacher_values(SOURCE, start, learner_names)


def judge(learner_nb, values):
    solutions = learner_solutions(SOURCE, learner_nb)
    return judge_notebook(SOURCE, solutions, start, values=values, modules={"wslearn": wslearn})


def with_solution(name: str, code: str):
    """The blank copy with the solution cell ``name`` replaced by ``code``."""
    learner = copy.deepcopy(BLANK)
    for cell in learner["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == name:
            cell["source"] = code
    return learner


def test_the_check_cells_read_the_teachers_values(values):
    assert "RFC_KEY" in values and isinstance(values["RFC_KEY"], str)


def test_honest_work_gets_full_marks(values):
    verdicts = judge(SOURCE, values)
    assert verdicts and all(v.points == v.max_points > 0 for v in verdicts), verdicts
    assert all(v.message == "" for v in verdicts)


def test_a_blank_copy_gets_nothing_and_says_not_written_yet(values):
    verdicts = judge(BLANK, values)
    assert verdicts and all(v.points == 0 for v in verdicts)
    assert all("not written yet" in v.message for v in verdicts), verdicts


def test_a_wrong_answer_gets_nothing_with_the_checks_message(values):
    verdicts = judge(with_solution("accept_key", "def accept_key(key):\n    return key"), values)
    first = verdicts[0]
    assert first.points == 0 and first.message  # here a hidden test, the first line to fail


def test_an_endless_loop_costs_only_its_exercise(values):
    learner = copy.deepcopy(SOURCE)
    for cell in learner["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "accept_key":
            cell["source"] = cell_source(cell) + "\nwhile True:\n    pass\n"
    verdicts = judge_notebook(
        SOURCE,
        learner_solutions(SOURCE, learner),
        lambda cut: LearnerProcess(timeout=2),
        values=values,
        modules={"wslearn": wslearn},
    )
    assert verdicts[0].points == 0 and "no answer within 2 s" in verdicts[0].message
    assert all(v.points == v.max_points for v in verdicts[1:]), verdicts


def test_patching_the_check_in_the_learners_process_changes_nothing(values):
    cheat = (
        "import wslearn.checks.handshake as h\n"
        "h.check_accept_key = lambda f: None\n"
        "h.run_cases = lambda *a, **k: None\n"
        "def accept_key(key):\n    return 'wrong'"
    )
    verdicts = judge(with_solution("accept_key", cheat), values)
    assert verdicts[0].points == 0


def test_rebinding_a_notebook_value_changes_no_hidden_test(values):
    cheat = "RFC_KEY = 'AAAA'\ndef accept_key(key):\n    return 'wrong'"
    verdicts = judge(with_solution("accept_key", cheat), values)
    assert verdicts[0].points == 0


def test_check_names_and_defined_functions():
    assert check_names("from m import f\nf(g)\nassert h(RFC_KEY) == len(x)") == {
        "g",
        "h",
        "RFC_KEY",
        "x",
    }
    assert defined_functions("def a(): pass\nclass B: pass\nc = 1\nif x:\n    def d(): pass") == {
        "a",
        "B",
    }


@pytest.mark.parametrize(
    "body",
    ["raise Exception()", "raise RuntimeError", "return next(iter([]))", "raise ValueError('')"],
)
def test_a_function_that_raises_without_a_message_earns_nothing(values, body):
    # The hidden tests call it outside the check's cases: its error must still fail them.
    code = f"def accept_key(key):\n    {body}\n\ndef build_101(key):\n    {body}\n"
    learner = with_solution("accept_key", code)
    verdicts = judge(learner, values)
    assert [v.points for v in verdicts] == [0, 0]
    assert all(v.message for v in verdicts)
