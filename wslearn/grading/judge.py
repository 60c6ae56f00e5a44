"""Judging one learner's notebook: their code runs in their process, the checks run here.

The teacher's source notebook is replayed cell by cell in the learner's process
(:class:`~wslearn.grading.remote.LearnerProcess`): each explanation's code cell as the
teacher wrote it, each solution cell as the learner wrote it. Each check cell runs in
*the grader's* process, with every function the learner's cells define standing in as a
:class:`~wslearn.grading.remote.RemoteFunction`. So the check, its hidden tests and its
expected values never enter the learner's process, and what the learner's code does to
itself (patch a module, replace a function, print "✓ all cases pass") changes none of them.

The other names a check cell uses (``RFC_KEY``, a captured request...) are the teacher's:
:func:`teacher_values` reads them once per notebook from a run of the teacher's own cells,
so a learner who rebinds ``RFC_KEY`` changes nothing either.

Each exercise is judged in a process whose copy of ``wslearn`` lacks the library functions
that answer *that* exercise (:func:`exercise_cuts`, from :data:`wslearn.checks.COVERS`):
delegating it to the library earns nothing, while the exercise after it may use what the
one before asked for (build_101 may call ``wslearn.accept_key``). When the next exercise
needs another copy, a fresh process replays the cells run so far.

If the learner's process stops answering (an endless loop, a crash), the exercise at hand
gets 0 with the reason, and a fresh process replays the cells run so far, without the one
that failed, so the next exercises are judged as if nothing happened.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import functools
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Set, Tuple

from ..checks import COVERS, ExerciseFailed
from ..classroom import cell_source, is_check_cell, is_solution_cell, without_hidden_tests
from .plain import NotPlainData
from .remote import LearnerError, LearnerGone, LearnerProcess, RemoteFunction

__all__ = ["Verdict", "check_names", "defined_functions", "judge_notebook", "teacher_values"]
__all__ += ["checks_called", "exercise_cuts"]

Cut = FrozenSet[str]  # library functions left out of the learner's copy of the package
StartLearner = Callable[[Cut], LearnerProcess]
NOTHING: Cut = frozenset()


@dataclasses.dataclass(frozen=True)
class Verdict:
    """An exercise's score for one learner, and what the check said (empty if it passed)."""

    grade_id: str
    points: float
    max_points: float
    message: str = ""


def defined_functions(source: str) -> Set[str]:
    """The functions (and classes) a cell defines at its top level."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name for node in tree.body if isinstance(node, kinds)}


def check_names(source: str) -> Set[str]:
    """The names a check cell reads but does not bind itself (nor are built-ins)."""
    tree = ast.parse(source)
    bound: Set[str] = set()
    read: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
    return {name for name in read - bound if not hasattr(builtins, name)}


def checks_called(source: str) -> Set[str]:
    """The check functions (``check_accept_key``...) a check cell calls by name."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    called = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in COVERS:
                called.add(node.func.id)
    return called


def exercise_cuts(source_nb: Dict[str, Any]) -> Dict[str, Cut]:
    """For each check cell's grade_id, the library functions its exercise covers: what the
    learner's copy of the package lacks while that exercise is judged."""
    cuts: Dict[str, Cut] = {}
    for cell in source_nb.get("cells", []):
        if is_check_cell(cell):
            grade_id = str((cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id", ""))
            names = checks_called(cell_source(cell))
            cuts[grade_id] = frozenset(name for check in names for name in COVERS[check])
    return cuts


def teacher_values(
    source_nb: Dict[str, Any], start: StartLearner, learner_names: Set[str]
) -> Dict[str, Any]:
    """The teacher's values of the names the check cells read (other than the learner's
    functions), from a run of the teacher's cells other than solutions and checks."""
    wanted: Set[str] = set()
    for cell in source_nb.get("cells", []):
        if is_check_cell(cell):
            wanted |= check_names(cell_source(cell))
    wanted -= learner_names
    values: Dict[str, Any] = {}
    with start(NOTHING) as teacher:
        for cell in source_nb.get("cells", []):
            if cell.get("cell_type") == "code" and not is_check_cell(cell):
                if not is_solution_cell(cell):
                    _run_quietly(teacher, cell_source(cell))
        for name in sorted(wanted):
            try:
                value = teacher.get(name)
            except LearnerError:
                continue  # a module (wslearn) or a name the check cell imports itself
            if not isinstance(value, NotPlainData):
                values[name] = value
    return values


def _run_quietly(learner: LearnerProcess, source: str) -> Optional[str]:
    """Run a cell; its error as text (None if it ran), never an exception."""
    try:
        learner.run(source)
    except LearnerError as error:
        return f"{error.type_name}: {error.message}"
    return None


def judge_notebook(
    source_nb: Dict[str, Any],
    solutions: Dict[int, Tuple[str, str]],
    start: StartLearner,
    *,
    values: Dict[str, Any],
    modules: Dict[str, Any],
    cuts: Optional[Dict[str, Cut]] = None,
) -> List[Verdict]:
    """Score every exercise of ``source_nb`` for one learner.

    ``solutions`` gives, for each solution cell's index, the learner's code and a note on
    how it was found (:func:`wslearn.grading.learner_solutions`). ``start(cut)`` makes a
    fresh learner process (sandboxed, as the grader decides) whose package lacks ``cut``.
    ``values`` are the teacher's values for the check cells (:func:`teacher_values`);
    ``modules`` the modules they may read by name (``{"wslearn": wslearn}``). ``cuts``:
    each exercise's cut, by grade_id (:func:`exercise_cuts`; none if not given).
    """
    cuts = cuts or {}
    order = [str((c.get("metadata", {}).get("nbgrader") or {}).get("grade_id", ""))
             for c in source_nb.get("cells", []) if is_check_cell(c)]  # fmt: skip
    verdicts: List[Verdict] = []
    ran: List[str] = []  # the cells run in the learner's process so far, to replay them
    functions: Set[str] = set()
    cell_errors: Dict[str, str] = {}  # function name -> the error of the cell defining it
    cut = cuts.get(order[0], NOTHING) if order else NOTHING
    learner = start(cut)
    try:
        for index, cell in enumerate(source_nb.get("cells", [])):
            if cell.get("cell_type") != "code":
                continue
            if is_check_cell(cell):
                meta = cell.get("metadata", {}).get("nbgrader", {}) or {}
                verdict, alive = _judge(cell_source(cell), meta, learner, functions,
                                        values, modules, cell_errors)  # fmt: skip
                verdicts.append(verdict)
                after = order[len(verdicts)] if len(verdicts) < len(order) else None
                next_cut = cuts.get(after, NOTHING) if after is not None else cut
                if not alive or next_cut != cut:
                    learner.close()
                    cut = next_cut
                    learner = _replay(functools.partial(start, cut), ran)
                continue
            if is_solution_cell(cell):
                source, note = solutions.get(index, ("", "no solution cell found"))
                # the teacher's names too: a learner's cell that does not parse defines none
                names = defined_functions(source) | defined_functions(cell_source(cell))
                functions |= names
                error = _run_quietly(learner, source) or note or None
            else:
                source = cell_source(cell)
                names, error = set(), _run_quietly(learner, source)
            if learner.failure is not None:  # it stopped answering: go on without that cell
                for name in names:
                    cell_errors[name] = learner.failure
                learner.close()
                learner = _replay(functools.partial(start, cut), ran)
                continue
            if error is not None:
                for name in names:
                    cell_errors.setdefault(name, error)
            ran.append(source)
    finally:
        learner.close()
    return verdicts


def _replay(start: Callable[[], LearnerProcess], sources: List[str]) -> LearnerProcess:
    learner = start()
    for source in sources:
        _run_quietly(learner, source)
        if learner.failure is not None:
            learner.close()
            learner = start()
    return learner


#: What a failed hidden test says: its line is not shown, it holds the answer.
HIDDEN_TEST_FAILED = "a hidden test failed (it is not shown: it holds the answer)"


def _run_check(
    source: str,
    grade_id: str,
    learner: LearnerProcess,
    functions: Set[str],
    values: Dict[str, Any],
    modules: Dict[str, Any],
) -> Optional[str]:
    """Run a check cell here on the learner's functions: None if it passed, else why not
    (never an empty text: a learner's error without a message still says what it was)."""
    namespace: Dict[str, Any] = {**modules, **values}
    namespace.update({name: RemoteFunction(learner, name) for name in functions})
    namespace["__name__"] = "__grader__"
    try:
        exec(compile(source, f"<check {grade_id}>", "exec"), namespace)  # the teacher's cell
    except ExerciseFailed as failed:
        return str(failed)
    except NotImplementedError:
        return (
            "not written yet: the function still raises NotImplementedError. Hint: replace "
            "the `raise NotImplementedError()` line with your code"
        )
    except AssertionError:
        return HIDDEN_TEST_FAILED
    except LearnerGone as error:  # it stopped answering: why
        return error.message
    except LearnerError as error:  # the learner's function raised, outside the check's cases
        line = f" (line {error.line})" if error.line is not None else ""
        return f"your function raised {error.type_name}: {error.message}{line}"
    except Exception as error:  # e.g. a result of the wrong shape that the check tripped on
        return f"the check could not use your answer ({type(error).__name__})"
    return None


def _judge(
    source: str,
    meta: Dict[str, Any],
    learner: LearnerProcess,
    functions: Set[str],
    values: Dict[str, Any],
    modules: Dict[str, Any],
    cell_errors: Dict[str, str],
) -> Tuple[Verdict, bool]:
    """Run one check cell here; its verdict, and whether the learner's process still answers."""
    grade_id = str(meta.get("grade_id", ""))
    points = float(meta.get("points", 0) or 0)
    message = _run_check(source, grade_id, learner, functions, values, modules)
    if message == HIDDEN_TEST_FAILED:  # what do the checks a learner can see say?
        visible = without_hidden_tests(source)
        seen = _run_check(visible, grade_id, learner, functions, values, modules)
        if seen is None:
            message += " (the cases you can see pass)"
        elif seen != HIDDEN_TEST_FAILED:
            message = seen
    if message is None:
        return Verdict(grade_id, points, points), learner.failure is None
    needed = check_names(source) & functions
    problems = [cell_errors[name] for name in sorted(needed) if name in cell_errors]
    if problems:
        message += f" (your cell raised {problems[0]})"
    return Verdict(grade_id, 0.0, points, message), learner.failure is None
