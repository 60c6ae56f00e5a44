"""Grade a class: every learner's notebooks, judged outside their code, their code sandboxed.

For each learner and notebook, :func:`~wslearn.grading.judge.judge_notebook` replays the
teacher's notebook with the learner's solution cells in a learner process, and runs each
check cell here, in the grader, on the learner's functions. This module decides what a
learner process is (:class:`LearnerStarter`): ``python -m wslearn.grading.runner`` in a
sandbox of its own (:mod:`wslearn.grading.sandbox`), seeing a copy of the package in which
the exercise's own library functions are cut out (:mod:`wslearn.grading.package_view`).
"""

from __future__ import annotations

import concurrent.futures
import functools
import importlib.util
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple, Type

import wslearn

from ..classroom import cell_source, is_solution_cell
from .carried_over import carried_over_scores, plan_replays
from .exercises import Exercise, exercises_of
from .judge import Verdict, defined_functions, exercise_cuts, judge_notebook, teacher_values
from .package_view import learner_package
from .remote import MAX_ANSWER, LearnerProcess
from .report import Report, Score, one_line
from .sandbox import Limits, Sandbox, SandboxUnavailable, python_paths, sandbox_problem
from .submissions import Unreadable, find_submissions, learner_solutions, read_hand_in

__all__ = ["grade_submissions", "LearnerStarter", "SANDBOXED", "TRUSTED"]

#: What the report says about how learner code ran.
SANDBOXED = "Learner code ran in a sandbox (bubblewrap), one per learner and exercise."
TRUSTED = (
    "Learner code ran WITHOUT a sandbox (--trusted-class): each learner in a process of its "
    "own, judged outside it, but with your user's rights over files, processes and network."
)

#: The package that learner processes see a copy of: the grader's own.
PACKAGE = Path(wslearn.__file__).resolve().parent

#: Libraries that start a thread per core (numpy's BLAS) start one: threads count against
#: the sandbox's process limit, and each reserves memory.
_ONE_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


class LearnerStarter:
    """Starts learner processes: ``starter(cut, deadline)`` is a fresh one whose ``wslearn``
    lacks the functions in ``cut``; sandboxed unless ``sandboxed`` is False.

    The copies of the package are made once per cut, in ``folder``, and shared (read-only)
    by every learner. In a learner's sandbox the other WebSocket and HTTP libraries
    installed beside wslearn (:data:`OTHER_LIBRARIES`) are hidden too: they answer several
    exercises. The teacher's own cells (``for_teacher``) see them.
    """

    #: What a learner process is (a test may count what it carries).
    process: Type[LearnerProcess] = LearnerProcess

    def __init__(self, folder: Path, *, sandboxed: bool, timeout: float) -> None:
        self.folder, self.sandboxed, self.timeout = folder, sandboxed, timeout
        # the longest answer: what a learner's function may return (a 16 MiB frame)
        self.limits = Limits(cpu_seconds=max(20, int(4 * timeout)), output_bytes=MAX_ANSWER)
        self._views: Dict[FrozenSet[str], Path] = {}
        self._lock = threading.Lock()

    def view(self, cut: FrozenSet[str]) -> Path:
        """The folder to put on ``PYTHONPATH`` for a package without ``cut``."""
        with self._lock:
            if cut not in self._views:
                folder = self.folder / f"package-{len(self._views)}"
                self._views[cut] = learner_package(PACKAGE, folder, sorted(cut))
            return self._views[cut]

    def __call__(
        self, cut: FrozenSet[str], deadline: Optional[float] = None, *, for_teacher: bool = False
    ) -> LearnerProcess:
        view = self.view(cut)
        env = {"PYTHONPATH": str(view), "MPLBACKEND": "Agg", **_ONE_THREAD}
        if self.sandboxed:
            hidden = _installed_copy() + (() if for_teacher else other_libraries())
            sandbox = Sandbox(read_only=(str(view),), hidden=hidden, limits=self.limits, env=env)
            return self.process(sandbox, timeout=self.timeout, deadline=deadline)
        work = tempfile.mkdtemp(prefix="learner-", dir=self.folder)
        env.update(PATH=os.environ.get("PATH", ""), HOME=work, TMPDIR=work, LANG="C.UTF-8")
        return self.process(env=env, cwd=work, timeout=self.timeout, deadline=deadline)


#: WebSocket and HTTP libraries that answer exercises (an accept key, a frame parser, a
#: request parser), hidden from learner code while it is graded.
OTHER_LIBRARIES = ("websockets", "wsproto", "h11", "tornado", "aiohttp", "websocket")


def other_libraries() -> Tuple[str, ...]:
    """The folders of the :data:`OTHER_LIBRARIES` installed here."""
    folders = []
    for name in OTHER_LIBRARIES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        for folder in (spec.submodule_search_locations or []) if spec else []:
            folders.append(str(Path(folder).resolve()))
    return tuple(folders)


def _installed_copy() -> Tuple[str, ...]:
    """The grader's own package, when it lies where a sandbox shows files (installed in the
    Python's site-packages): shown empty there, so that only the cut copy can be read."""
    inside = any(str(PACKAGE).startswith(path.rstrip("/") + "/") for path in python_paths())
    return (str(PACKAGE),) if inside or str(PACKAGE).startswith("/usr/") else ()


def grade_submissions(
    submissions_dir: Path,
    source_dir: Path = Path("notebooks"),
    *,
    timeout: float = 60,
    notebook_timeout: Optional[float] = None,
    notebooks: Optional[Sequence[str]] = None,
    jobs: int = 2,
    trusted_class: bool = False,
) -> Report:
    """Grade every learner's notebooks in ``submissions_dir`` against ``source_dir``.

    ``timeout`` bounds each cell and each call of a learner's function; ``notebook_timeout``
    (default ``10 × timeout``) one learner's whole notebook. ``jobs`` learners' notebooks are
    judged at once. Without a sandbox on this machine, raises :class:`SandboxUnavailable`
    unless ``trusted_class``.
    """
    submissions_dir, source_dir = Path(submissions_dir), Path(source_dir)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"no such folder: {submissions_dir}")
    sandboxed = not trusted_class
    if sandboxed:
        problem = sandbox_problem()
        if problem is not None:
            raise SandboxUnavailable(
                f"{problem}. Learner code is only run in a sandbox; to grade a class you trust "
                "without one, pass --trusted-class"
            )
    sources = _source_notebooks(source_dir)
    wanted = _wanted(sources, notebooks, source_dir)
    found, warnings = find_submissions(submissions_dir, list(sources))
    if not notebooks:  # the assignment: what at least one learner handed in
        wanted = [n for n in wanted if any(found[s].get(n) for s in found)]
    exercises = {name: exercises_of(sources[name], name) for name in sources}
    plan = plan_replays(found, wanted, exercises)
    warnings += plan.warnings
    limit = notebook_timeout if notebook_timeout is not None else 10 * timeout
    with tempfile.TemporaryDirectory(prefix="wslearn-grade-") as tmp:
        starter = LearnerStarter(Path(tmp), sandboxed=sandboxed, timeout=timeout)
        handed_in = {name for student, name in plan.replays if found[student].get(name)}
        read = [name for name in sources if name in handed_in]
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            # the teacher's values of each notebook, ``jobs`` notebooks at once
            computed = pool.map(lambda name: _teacher_values(sources[name], starter), read)
            values = dict(zip(read, computed))

        def grade(student: str, name: str) -> List[Score]:
            path, source = found[student].get(name), sources[name]
            return _grade_one(student, name, path, source, exercises[name],
                              values.get(name, {}), starter, limit)  # fmt: skip

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {replay: pool.submit(grade, *replay) for replay in plan.replays}
            judged = {replay: future.result() for replay, future in futures.items()}
    scores: List[Score] = []
    for student in found:
        earned = {name: judged[student, name] for name in sources if (student, name) in judged}
        for name in wanted:
            if name in plan.carried:  # scored from the others, never replayed
                path = found[student].get(name)
                scores += carried_over_scores(student, name, path, exercises, earned)
            else:
                scores += earned[name]
    every = [e for name in wanted for e in exercises[name]]
    protection = SANDBOXED if sandboxed else TRUSTED
    return Report(scores, every, list(found), warnings, protection)


def _source_notebooks(source_dir: Path) -> Dict[str, Dict[str, Any]]:
    """The teacher's notebooks that have exercises, by file name."""
    sources: Dict[str, Dict[str, Any]] = {}
    for path in sorted(source_dir.glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        if exercises_of(notebook):
            sources[path.name] = notebook
    return sources


def _wanted(
    sources: Dict[str, Dict[str, Any]], notebooks: Optional[Sequence[str]], source_dir: Path
) -> List[str]:
    if not notebooks:
        return list(sources)
    wanted = [n if n.endswith(".ipynb") else n + ".ipynb" for n in notebooks]
    unknown = [n for n in wanted if n not in sources]
    if unknown:
        raise FileNotFoundError(
            f"not a source notebook with exercises in {source_dir}: {', '.join(unknown)}"
        )
    return wanted


def _teacher_values(source_nb: Dict[str, Any], starter: LearnerStarter) -> Dict[str, Any]:
    names: Set[str] = set()
    for cell in source_nb.get("cells", []):
        if is_solution_cell(cell):
            names |= defined_functions(cell_source(cell))
    return teacher_values(source_nb, functools.partial(starter, for_teacher=True), names)


def _grade_one(
    student: str,
    name: str,
    path: Optional[Path],
    source_nb: Dict[str, Any],
    exercises: List[Exercise],
    values: Dict[str, Any],
    starter: LearnerStarter,
    notebook_timeout: float,
) -> List[Score]:
    """One learner's scores on one notebook; whatever goes wrong stays in their rows."""
    if path is None:
        return _all(student, name, exercises, "not handed in")
    try:
        learner_nb = read_hand_in(path)
    except Unreadable as error:
        return _all(student, name, exercises, str(error))
    deadline = time.monotonic() + notebook_timeout

    def start(cut: FrozenSet[str]) -> LearnerProcess:
        return starter(cut, deadline)

    try:
        verdicts = judge_notebook(
            source_nb,
            learner_solutions(source_nb, learner_nb),
            start,
            values=values,
            modules={"wslearn": wslearn},
            cuts=exercise_cuts(source_nb),
        )
    except SandboxUnavailable:
        raise
    except Exception as error:  # a fault of the grader's: this learner's rows say so
        return _all(student, name, exercises, f"not graded: the grader failed ({error!r:.200})")
    by_id: Dict[str, Verdict] = {verdict.grade_id: verdict for verdict in verdicts}
    scores = []
    for exercise in exercises:
        verdict = by_id.get(exercise.grade_id)
        points = verdict.points if verdict is not None else 0.0
        message = one_line(verdict.message) if verdict is not None else "not graded"
        scores.append(
            Score(
                student,
                name,
                exercise.grade_id,
                points,
                exercise.points,
                message,
                exercise=exercise.name,
            )  # fmt: skip
        )
    return scores


def _all(student: str, name: str, exercises: List[Exercise], message: str) -> List[Score]:
    """The same 0 and message for every exercise of a notebook."""
    return [
        Score(student, name, e.grade_id, 0, e.points, message, exercise=e.name) for e in exercises
    ]
