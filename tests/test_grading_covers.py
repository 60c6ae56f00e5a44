"""What each exercise covers (``wslearn.checks.COVERS``), and every notebook judged with it cut out.

The grader runs a learner's code in a sandboxed process of its own, on a copy of the package
in which the library functions that answer the exercise are cut out
(:func:`~wslearn.grading.package_view.learner_package`), and runs each check cell in its own
process with the learner's functions as :class:`~wslearn.grading.remote.RemoteFunction`.
Here the learner is the teacher: the source notebooks hold the model solutions, honest work
that must get full marks, each exercise judged with what it covers cut out.
"""

from __future__ import annotations

import collections
import concurrent.futures
import copy
import functools
import json
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Set, Tuple

import pytest

import wslearn
import wslearn.checks.application
import wslearn.checks.client
import wslearn.checks.compression
import wslearn.checks.frames
import wslearn.checks.handshake
import wslearn.checks.live
import wslearn.checks.streams
from wslearn.checks import COVERS
from wslearn.classroom import carried_over, cell_source, is_check_cell, is_solution_cell
from wslearn.grading import learner_solutions
from wslearn.grading.grader import LearnerStarter
from wslearn.grading.judge import (
    Verdict,
    defined_functions,
    exercise_cuts,
    judge_notebook,
    teacher_values,
)
from wslearn.grading.judge import checks_called as checks_called_by
from wslearn.grading.package_view import learner_package
from wslearn.grading.remote import MAX_ANSWER, LearnerError, LearnerProcess
from wslearn.grading.sandbox import sandbox_problem

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(wslearn.__file__).resolve().parent
#: The notebooks with exercises (00 is the index).
NOTEBOOKS = sorted(
    p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb") if p.stem != "00_index"
)
CHECK_MODULES = (
    wslearn.checks.application,
    wslearn.checks.client,
    wslearn.checks.compression,
    wslearn.checks.handshake,
    wslearn.checks.frames,
    wslearn.checks.live,
    wslearn.checks.streams,
)

#: Seconds one request to a learner process may take: a liveness deadline (the slowest
#: context cell, a live server's round trips, takes a few seconds).
REQUEST_TIMEOUT = 60.0
#: Notebooks judged at once: each mostly waits on its own learner process.
WORKERS = 4
#: Bytes (requests and answers) the calls of one learner function may carry in one notebook:
#: what a single answer may carry (room for a 16 MiB frame). A check whose cases carry more
#: makes grading a class take minutes per learner.
WIRE_BUDGET = MAX_ANSWER

#: A learner's build_101 that follows the check's hint: "as in Exercise 1 or with
#: wslearn.accept_key".
BUILD_101_WITH_ACCEPT_KEY = (
    "import wslearn\n"
    "\n"
    "def build_101(key):\n"
    '    return ("HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\n"\n'
    '            "Connection: Upgrade\\r\\n"\n'
    '            f"Sec-WebSocket-Accept: {wslearn.accept_key(key)}\\r\\n\\r\\n").encode()\n'
)


# ---------------------------------------------------------------------------- COVERS


def check_functions() -> Set[str]:
    """Every check function of the check modules."""
    return {
        name for module in CHECK_MODULES for name in module.__all__ if name.startswith("check_")
    }


def test_every_check_function_has_an_entry() -> None:
    assert len(check_functions()) == 28  # the course's exercises
    assert set(COVERS) == check_functions()


def test_every_entry_names_a_function_of_the_package(tmp_path: Path) -> None:
    # learner_package raises ValueError for a name that is not a function of the package.
    names = sorted({name for covered in COVERS.values() for name in covered})
    assert names, "some exercise covers a library function"
    for number, name in enumerate(names):
        learner_package(PACKAGE, tmp_path / str(number), [name])
    with pytest.raises(ValueError, match="no function"):
        learner_package(PACKAGE, tmp_path / "unknown", ["frames.no_such_function"])


def test_each_entry_is_listed_once() -> None:
    for check, covered in COVERS.items():
        assert len(set(covered)) == len(covered), check


# ---------------------------------------------------------------------------- notebooks


def load(path: Path) -> Dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def checks_called(notebook: Dict[str, Any]) -> Set[str]:
    """The check functions the notebook's check cells call."""
    called: Set[str] = set()
    for cell in notebook["cells"]:
        if is_check_cell(cell):
            called |= checks_called_by(cell_source(cell))
    return called


def exercises() -> Iterator[Tuple[str, str]]:
    """(notebook stem, grade_id of a check cell) for every exercise of the course (not
    notebook 12's cells, which score the pieces of other notebooks:
    tests/test_grading_capstone.py)."""
    for path in NOTEBOOKS:
        for cell in load(path)["cells"]:
            if is_check_cell(cell) and not carried_over(cell):
                yield path.stem, str(cell["metadata"]["nbgrader"]["grade_id"])


def test_every_check_the_notebooks_call_has_an_entry() -> None:
    called = set().union(*(checks_called(load(path)) for path in NOTEBOOKS))
    assert called == check_functions()  # each exercise is in a notebook, and has an entry
    assert len(list(exercises())) == len(called)  # one check cell per exercise


class MeteredLearner(LearnerProcess):
    """A learner process that counts the bytes each function's calls carry, and refuses a
    call once they are over :data:`WIRE_BUDGET` (the check reports it as the function's error).
    """

    def __init__(self, carried: Dict[str, int], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.carried = carried  # shared by the processes that judge one notebook

    def request(self, request: Dict[str, Any], timeout: Optional[float] = None) -> Dict[str, Any]:
        name = str(request.get("name")) if request.get("op") == "call" else None
        if name is not None and self.carried[name] > WIRE_BUDGET:
            raise LearnerError("RuntimeError", f"the calls of {name} carried more than budgeted")
        answer = super().request(request, timeout)
        if name is not None:
            self.carried[name] += len(json.dumps(request)) + len(json.dumps(answer))
        return answer


Verdicts = Dict[str, Verdict]  # by grade_id


def learner_functions(notebook: Dict[str, Any]) -> Set[str]:
    """The functions the notebook's solution cells define."""
    names: Set[str] = set()
    for cell in notebook["cells"]:
        if is_solution_cell(cell):
            names |= defined_functions(cell_source(cell))
    return names


def judge(path: Path, folder: Path) -> Dict[str, Verdicts]:
    """The teacher's notebook judged as a learner's, each exercise with its covers cut out;
    for notebook 02 also a build_101 that uses wslearn.accept_key. Verdicts by learner, then
    by grade_id."""
    source = load(path)
    carried: Dict[str, int] = collections.Counter()
    # As the grade command starts learner processes: sandboxed (where a sandbox can be made),
    # the other WebSocket libraries hidden, each exercise's covers cut out.
    starter = LearnerStarter(folder, sandboxed=sandbox_problem() is None, timeout=REQUEST_TIMEOUT)
    starter.process = functools.partial(MeteredLearner, carried)  # type: ignore[assignment]
    values = teacher_values(
        source, functools.partial(starter, for_teacher=True), learner_functions(source)
    )
    learners = {"teacher": source}
    if path.stem == "02_accept_key":
        learners["accept_key in build_101"] = with_solution(source, BUILD_101_WITH_ACCEPT_KEY)
    judged = {}
    for who, notebook in learners.items():
        carried.clear()
        verdicts = judge_notebook(
            source,
            learner_solutions(source, notebook),
            starter,
            values=values,
            modules={"wslearn": wslearn},
            cuts=exercise_cuts(source),
        )
        judged[who] = {verdict.grade_id: verdict for verdict in verdicts}
    return judged


def with_solution(source: Dict[str, Any], code: str) -> Dict[str, Any]:
    """The teacher's notebook with the build_101 solution cell holding ``code``."""
    learner = copy.deepcopy(source)
    for cell in learner["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "build_101":
            cell["source"] = code
    return learner


@pytest.fixture(scope="module")
def judging(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Dict[str, Any]]:
    """The judging of every notebook a selected test needs, started side by side: a future
    of its verdicts, by the notebook's stem."""
    wanted = set()
    for item in request.session.items:
        if getattr(item, "module", None) is request.module:
            wanted.add(getattr(getattr(item, "callspec", None), "params", {}).get("stem"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = {
            path.stem: pool.submit(judge, path, tmp_path_factory.mktemp(path.stem))
            for path in NOTEBOOKS
            if path.stem in wanted
        }
        yield futures


def assert_full_marks(verdict: Verdict) -> None:
    assert verdict.max_points > 0
    assert verdict.points == verdict.max_points, verdict.message
    assert verdict.message == ""


@pytest.mark.parametrize(
    "stem,grade_id", [pytest.param(*e, id=f"{e[0]}:{e[1]}") for e in exercises()]
)
def test_the_model_solution_gets_full_marks(
    judging: Dict[str, Any], stem: str, grade_id: str
) -> None:
    verdict = judging[stem].result()["teacher"][grade_id]
    assert_full_marks(verdict)


def test_the_build_101_using_accept_key_is_right() -> None:
    namespace: Dict[str, Any] = {}
    exec(BUILD_101_WITH_ACCEPT_KEY, namespace)  # in this process, with the whole library
    wslearn.checks.handshake.check_build_101(namespace["build_101"])


@pytest.mark.parametrize("stem", ["02_accept_key"])
def test_a_build_101_using_accept_key_as_the_hint_offers_gets_full_marks(
    judging: Dict[str, Any], stem: str
) -> None:
    verdict = judging[stem].result()["accept_key in build_101"]["build_101-check"]
    assert_full_marks(verdict)
