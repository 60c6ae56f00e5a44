"""Grading: run every learner's notebook against the teacher's checks, score each exercise.

::

    python -m wslearn grade submissions/ --source notebooks/ --out report.csv

``submissions/`` holds one folder per learner, nbgrader's layout::

    submissions/alice/02_accept_key.ipynb
    submissions/bob/02_accept_key.ipynb
    submissions/bob/03_frame_header.ipynb

(a notebook deeper inside a learner's folder is found too, e.g. nbgrader's
``submitted/<student>/<assignment>/<notebook>.ipynb``; loose ``*.ipynb`` files at the
top are ignored, with a warning). The notebooks graded are those, among the source
notebooks that have exercises, that at least one learner handed in (or the ones named
with ``--notebook``); a learner who did not hand one in gets 0 for its exercises.

How one notebook is graded
==========================

Submissions are only read, never written. For each one the grader builds a *graded
copy*: the **teacher's** source notebook, cell for cell, in which only the solution
cells (nbgrader ``solution: true``) hold the learner's code — matched by nbgrader
``grade_id``, else by the function the cell defines, else by position. Every check
cell (with its hidden tests), every explanation and every other cell comes from the
source, so deleting, editing or weakening a check, or adding cells that print
``✓ … all cases pass``, changes nothing: those cells are not in the graded copy.
Outputs in the submission are never read.

The graded copy runs in a fresh kernel (this Python), in a temporary folder, with a
time limit per cell (``--timeout``; the kernel is interrupted and grading goes on
with the next cell) and one for the whole notebook (``--notebook-timeout``; the
kernel is killed and exercises not reached score 0). An exercise scores its points
when the kernel reports that its check cell ran without error; otherwise 0 and the
first error — the check's own message (what was wrong, and a hint, never the
answer), a hidden test that failed (its line is not shown: it holds the answer), or
the error of the learner's cell (a syntax error, a time-out, ...).

Tampering
=========

The learner's function can only run in the kernel, so learner code and checks share
one Python process. Two layers keep the score honest:

1. **Put back, then check** (run time). A first grader cell, run before any learner
   code, imports every ``wslearn`` module (all of ``wslearn.checks``) and remembers
   each module's names, each function's code, defaults and the classes' attributes,
   the check modules' lists and dicts, ``builtins``, ``sys.modules`` entries and the
   interpreter's output and trace hooks. Before every check cell a grader cell puts
   all of that back and reports, under a random per-run name, what it had to restore.
   So ``h.check_accept_key = lambda f: None``, ``run_cases.__code__ = …``, a fake
   ``wslearn.accept_key``, or a ``check_accept_key`` defined in a solution cell (the
   check cell re-imports the real one) earn nothing; the message says what was put
   back.

2. **Read before running** (static). Each solution cell is parsed (after IPython's
   own rewriting of ``%magic`` and ``!shell`` lines) and *held for review* when it
   reaches for the machinery a run-time guard cannot protect: imports outside a short
   list of plain modules (``base64``, ``hashlib``, ``struct``, ``re``, ``wslearn`` but
   not ``wslearn.checks``, ...), dunder attributes (``__code__``, ``__globals__``,
   ``__class__``, ...) or dunder strings, frame and traceback attributes,
   ``exec``/``eval``/``getattr``/``setattr``/``globals``/``vars``/``open``/
   ``get_ipython``..., names of the checking functions, assignments to attributes of
   modules, classes that subclass built-in types or define ``__eq__``-like methods
   (an answer that equals everything), and module attributes that lead to a module
   outside the list (``re.enum.sys``). A hold sets to 0 the exercise of that cell and
   of every check that ran after it (earlier checks could not be affected) and says
   why; ``--keep-flagged-points`` keeps what the check gave and only reports it. None
   of the teacher's own solutions is held (a test pins it).

Limits, honestly: this is the protection of an autograder that runs learner code in
the checking process, as nbgrader's does. It stops monkeypatching, look-alike
functions, edited or deleted checks and faked output; it is not a sandbox. Learner
code runs with your user's rights (files, network): grade untrusted classes in a
container or a throw-away account. A determined learner may find a path the static
list misses; such code would have to be unusual enough to read, so review the
``held for review`` lines and, when in doubt, the graded copies (``--keep-graded``).
Hidden tests may use notebook variables (``RFC_KEY``) a learner can rebind; they
only add to the check call, which depends on the learner's function alone.

The report
==========

``--out report.csv`` gets one row per learner × exercise: ``student, notebook,
grade_id`` (of the check cell, as in nbgrader's gradebook), ``points, max_points,
message`` (empty when the check passed). Next to it, ``report-totals.csv`` has one row
per learner: a column per exercise, ``total`` and ``max``. The same table is printed;
``0!`` there marks points held for review.
"""

from __future__ import annotations

import ast
import asyncio
import copy
import csv
import dataclasses
import importlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import textwrap
import types
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ..classroom import cell_source, is_check_cell, is_solution_cell, strip_solutions

__all__ = [
    "Exercise",
    "Score",
    "Report",
    "exercises_of",
    "find_submissions",
    "build_graded_copy",
    "learner_solutions",
    "screen_solution",
    "grade_submissions",
    "write_report",
    "format_table",
]

# --------------------------------------------------------------------------------------
# What a source notebook asks for
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One exercise: its check cell (``grade_id``, ``points``) and the solution cells before it."""

    notebook: str
    grade_id: str
    points: float
    check_index: int
    solution_indices: Tuple[int, ...]
    solution_ids: Tuple[str, ...]

    @property
    def name(self) -> str:
        """A short name for tables: the solution cell's id (``accept_key``)."""
        return self.solution_ids[0] if self.solution_ids else self.grade_id


def _nbgrader(cell: Dict[str, Any]) -> Dict[str, Any]:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def exercises_of(notebook: Dict[str, Any], name: str = "") -> List[Exercise]:
    """A source notebook's exercises: each check cell, with the solution cells since the last."""
    found: List[Exercise] = []
    pending: List[int] = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if is_solution_cell(cell):
            pending.append(index)
        elif is_check_cell(cell):
            meta = _nbgrader(cell)
            cells = notebook["cells"]
            found.append(
                Exercise(
                    notebook=name,
                    grade_id=str(meta.get("grade_id", f"cell-{index}")),
                    points=float(meta.get("points", 0) or 0),
                    check_index=index,
                    solution_indices=tuple(pending),
                    solution_ids=tuple(
                        str(_nbgrader(cells[i]).get("grade_id", "")) for i in pending
                    ),
                )
            )
            pending = []
    return found


# --------------------------------------------------------------------------------------
# Where the submissions are
# --------------------------------------------------------------------------------------


def _visible(path: Path, root: Path) -> bool:
    return not any(
        part.startswith(".") or part == "__pycache__" for part in path.relative_to(root).parts
    )


def find_submissions(
    submissions_dir: Path, notebook_names: Iterable[str]
) -> Tuple[Dict[str, Dict[str, Optional[Path]]], List[str]]:
    """``{student: {notebook name: path or None}}`` and warnings about what was ignored."""
    submissions_dir = Path(submissions_dir)
    names = list(notebook_names)
    found: Dict[str, Dict[str, Optional[Path]]] = {}
    warnings: List[str] = []
    for entry in sorted(submissions_dir.iterdir()):
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_file():
            if entry.suffix == ".ipynb":
                warnings.append(
                    f"ignored {entry.name}: put each learner's notebooks in a folder "
                    f"named after them ({submissions_dir.name}/<student>/<notebook>.ipynb)"
                )
            continue
        notebooks: Dict[str, Optional[Path]] = {}
        for name in names:
            direct = entry / name
            if direct.is_file():
                notebooks[name] = direct
                continue
            deeper = sorted(
                (p for p in entry.rglob(name) if p.is_file() and _visible(p, entry)),
                key=lambda p: (len(p.parts), str(p)),
            )
            notebooks[name] = deeper[0] if deeper else None
        found[entry.name] = notebooks
    return found, warnings


# --------------------------------------------------------------------------------------
# The graded copy
# --------------------------------------------------------------------------------------

_DEF = re.compile(r"^(?:async\s+)?def\s+([A-Za-z_]\w*)|^class\s+([A-Za-z_]\w*)", re.M)


def _defined_names(source: str) -> Set[str]:
    return {a or b for a, b in _DEF.findall(source)}


def learner_solutions(
    source_nb: Dict[str, Any], student_nb: Dict[str, Any]
) -> Dict[int, Tuple[str, str]]:
    """For each source solution cell index: (the learner's code, a note on how it was found)."""
    source_cells = source_nb.get("cells", [])
    student_cells = [c for c in student_nb.get("cells", []) if isinstance(c, dict)]
    by_id: Dict[str, Dict[str, Any]] = {}
    for cell in student_cells:
        grade_id = _nbgrader(cell).get("grade_id")
        if cell.get("cell_type") == "code" and grade_id:
            by_id[str(grade_id)] = cell  # a duplicated cell: the last one wins, as in a run
    unlabelled = [
        c
        for c in student_cells
        if c.get("cell_type") == "code" and not _nbgrader(c).get("grade_id")
    ]
    same_shape = len(student_cells) == len(source_cells)
    chosen: Dict[int, Tuple[str, str]] = {}
    for index, cell in enumerate(source_cells):
        if not is_solution_cell(cell):
            continue
        grade_id = str(_nbgrader(cell).get("grade_id", ""))
        if grade_id in by_id:
            chosen[index] = (cell_source(by_id[grade_id]), "")
            continue
        wanted = _defined_names(cell_source(cell))
        match = next(
            (c for c in reversed(unlabelled) if wanted and wanted & _defined_names(cell_source(c))),
            None,
        )
        if match is not None:
            chosen[index] = (cell_source(match), "")
            continue
        if same_shape and student_cells[index].get("cell_type") == "code":
            chosen[index] = (cell_source(student_cells[index]), "")
            continue
        chosen[index] = (
            strip_solutions(cell_source(cell)),
            f"your notebook has no '{grade_id}' cell (its nbgrader metadata is missing and no "
            "cell defines the same function); graded as not written",
        )
    return chosen


_SETUP = """\
# wslearn grader: remember the checking code before any learner code runs.
def {guard}():
    import builtins, copy, importlib, pkgutil, sys, types
    import wslearn, wslearn.checks
    for info in pkgutil.iter_modules(wslearn.checks.__path__):
        importlib.import_module("wslearn.checks." + info.name)
    _getattr, _setattr, _isinstance, _id, _vars = getattr, setattr, isinstance, id, vars
    _list, _dict, _type, _print = list, dict, type, print
    modules = {{n: m for n, m in _list(sys.modules.items())
               if m is not None and (n == "wslearn" or n.startswith("wslearn."))}}
    namespaces, functions, containers, seen = [], {{}}, [], set()

    def function(f, label):
        if _isinstance(f, (staticmethod, classmethod)):
            f = f.__func__
        if _isinstance(f, property):
            for part in (f.fget, f.fset, f.fdel):
                if part is not None:
                    function(part, label)
            return
        if _isinstance(f, types.FunctionType) and _id(f) not in functions:
            functions[_id(f)] = (f, label, f.__code__, f.__defaults__, f.__kwdefaults__)

    def namespace(owner, label, keep_containers):
        if _id(owner) in seen:
            return
        seen.add(_id(owner))
        snapshot = _dict(_vars(owner))
        namespaces.append((owner, label, snapshot))
        for key, value in snapshot.items():
            function(value, label + "." + key)
            if _isinstance(value, _type) and _getattr(value, "__module__", "") in modules:
                namespace(value, value.__module__ + "." + value.__qualname__, keep_containers)
            elif keep_containers and _isinstance(value, (_list, _dict, set, bytearray)):
                try:
                    containers.append((value, label + "." + key, copy.deepcopy(value)))
                except Exception:
                    pass

    for name, module in modules.items():
        namespace(module, name, name.startswith("wslearn.checks"))
    builtin_names = _dict(_vars(builtins))
    hooks = {{k: _getattr(sys, k) for k in ("stdout", "stderr", "displayhook")}}
    meta_path, path_hooks = _list(sys.meta_path), _list(sys.path_hooks)
    user = globals()
    missing = object()

    def restore(grade_id):
        changed = []
        names = _vars(builtins)
        for key, value in builtin_names.items():
            now = names.get(key, missing)
            if now is not value and not (
                    _type(now) is _type(value) is types.MethodType and now == value):
                names[key] = value
                changed.append("builtins." + key)
        sys.settrace(None)
        sys.setprofile(None)
        for key, value in hooks.items():
            if _getattr(sys, key) is not value:
                _setattr(sys, key, value)
                changed.append("sys." + key)
        if sys.meta_path != meta_path:
            sys.meta_path[:] = meta_path
            changed.append("sys.meta_path")
        if sys.path_hooks != path_hooks:
            sys.path_hooks[:] = path_hooks
            changed.append("sys.path_hooks")
        for name, module in modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
                changed.append("sys.modules[" + repr(name) + "]")
        for owner, label, snapshot in namespaces:
            now = _vars(owner)
            for key, value in snapshot.items():
                if now.get(key, missing) is not value:
                    try:
                        _setattr(owner, key, value)
                    except Exception:
                        _type.__setattr__(owner, key, value)
                    changed.append(label + "." + key)
            for key in [k for k in now if k not in snapshot]:
                value = now[key]
                if key == "__warningregistry__" or key.startswith("_abc") or (
                        _isinstance(value, types.ModuleType)
                        and value.__name__ == label + "." + key):
                    continue
                try:
                    delattr(owner, key)
                except Exception:
                    _type.__delattr__(owner, key)
                changed.append(label + "." + key + " (added)")
        for f, label, code, defaults, kwdefaults in functions.values():
            if f.__code__ is not code or f.__defaults__ is not defaults \\
                    or f.__kwdefaults__ is not kwdefaults:
                f.__code__, f.__defaults__, f.__kwdefaults__ = code, defaults, kwdefaults
                changed.append(label + " (code)")
        for value, label, saved in containers:
            try:
                same = value == saved
            except Exception:
                same = False
            if not same:
                if _isinstance(value, _dict):
                    value.clear()
                    value.update(copy.deepcopy(saved))
                elif _isinstance(value, set):
                    value.clear()
                    value.update(copy.deepcopy(saved))
                else:
                    value[:] = copy.deepcopy(saved)
                changed.append(label + " (contents)")
        if "wslearn" in user and user["wslearn"] is not modules["wslearn"]:
            user["wslearn"] = modules["wslearn"]
            changed.append("the notebook's name wslearn")
        _print("{nonce}", grade_id, "restored:", ", ".join(changed) if changed else "-", flush=True)

    return restore


{guard} = {guard}()
"""

_BEFORE_CHECK = """\
# wslearn grader: put the checking code back as the teacher wrote it.
{guard}({grade_id!r})
"""


_FEEDBACK = """\
# wslearn grader: a hidden test failed; run the check as the learner sees it, for the message.
import sys as _wslearn_sys
if (not get_ipython().last_execution_succeeded
        and type(getattr(_wslearn_sys, "last_value", None)) is AssertionError):
{visible}
"""


def _grader_cell(source: str, role: str) -> Dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"wslearn_grader": role},
        "outputs": [],
        "source": source,
    }


@dataclasses.dataclass
class GradedCopy:
    """The notebook to run, and where its parts are."""

    notebook: Dict[str, Any]
    nonce: str
    check_cells: Dict[str, int]  # exercise grade_id -> index in the graded copy
    guard_cells: Dict[str, int]
    solution_cells: Dict[str, List[int]]  # exercise grade_id -> indices of learner code
    feedback_cells: Dict[str, int]  # checks with hidden tests -> the visible check, re-run
    solution_sources: Dict[int, str]  # source solution index -> learner code
    notes: Dict[str, str]  # exercise grade_id -> a note on how its cells were found


def build_graded_copy(
    source_nb: Dict[str, Any], student_nb: Dict[str, Any], *, nonce: Optional[str] = None
) -> GradedCopy:
    """The teacher's notebook with the learner's solution cells, and the grader's own cells."""
    nonce = nonce or secrets.token_hex(8)
    guard = f"_wslearn_grader_{nonce}"
    solutions = learner_solutions(source_nb, student_nb)
    exercises = exercises_of(source_nb)
    owner = {i: ex.grade_id for ex in exercises for i in ex.solution_indices}
    cells: List[Dict[str, Any]] = [_grader_cell(_SETUP.format(guard=guard, nonce=nonce), "setup")]
    checks: Dict[str, int] = {}
    guards: Dict[str, int] = {}
    feedback: Dict[str, int] = {}
    learner: Dict[str, List[int]] = {}
    notes: Dict[str, str] = {}
    for index, cell in enumerate(source_nb.get("cells", [])):
        cell = copy.deepcopy(cell)
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        if index in solutions:
            code, note = solutions[index]
            cell["source"] = code
            grade_id = owner.get(index, "")
            learner.setdefault(grade_id, []).append(len(cells))
            if note:
                notes[grade_id] = note
        elif is_check_cell(cell):
            grade_id = str(_nbgrader(cell).get("grade_id", f"cell-{index}"))
            guards[grade_id] = len(cells)
            cells.append(
                _grader_cell(_BEFORE_CHECK.format(guard=guard, grade_id=grade_id), "guard")
            )
            checks[grade_id] = len(cells)
            visible = strip_solutions(cell_source(cell))
            if visible != cell_source(cell):
                cells.append(cell)
                feedback[grade_id] = len(cells)
                cell = _grader_cell(
                    _FEEDBACK.format(visible=textwrap.indent(visible.rstrip() or "pass", "    ")),
                    "feedback",
                )
        cells.append(cell)
    used: Set[str] = set()
    for number, cell in enumerate(cells):
        cell["source"] = cell_source(cell)
        if not cell.get("id") or cell["id"] in used:
            cell["id"] = f"graded-{number}"
        used.add(cell["id"])
    notebook = copy.deepcopy({k: v for k, v in source_nb.items() if k != "cells"})
    notebook["cells"] = cells
    notebook["nbformat"], notebook["nbformat_minor"] = 4, max(5, source_nb.get("nbformat_minor", 5))
    return GradedCopy(
        notebook,
        nonce,
        checks,
        guards,
        learner,
        feedback,
        {i: code for i, (code, _) in solutions.items()},
        notes,
    )


# --------------------------------------------------------------------------------------
# The static screen
# --------------------------------------------------------------------------------------

PLAIN_MODULES = frozenset(
    """base64 binascii hashlib hmac struct re string math cmath codecs collections
    collections.abc itertools functools typing dataclasses enum secrets random textwrap
    unicodedata array bisect heapq json time errno socket select zlib numbers decimal
    fractions statistics copy""".split()
)
"""Modules a solution cell may import (plus ``wslearn`` and its modules, except checks)."""

_BLOCKED_NAMES = frozenset(
    """exec eval compile __import__ globals locals vars getattr setattr delattr open input
    breakpoint get_ipython exit quit help memoryview_hack __builtins__ __loader__ __spec__
    ExerciseFailed CheckResult run_cases Case describe_bytes""".split()
)
_FRAME_ATTRIBUTES = frozenset(
    """f_back f_globals f_locals f_builtins f_code f_trace tb_frame tb_next gi_frame gi_code
    cr_frame cr_code ag_frame ag_code cell_contents""".split()
)
_ALLOWED_DUNDER_DEFS = frozenset(
    "__init__ __repr__ __str__ __iter__ __len__ __post_init__ __slots__".split()
)
_ALLOWED_DUNDER_ATTRIBUTES = frozenset("__init__ __name__ __doc__".split())
_BUILTIN_TYPES = frozenset(
    "str bytes bytearray int float bool tuple list dict set frozenset memoryview type object "
    "complex range".split()
)
_DUNDER = re.compile(r"__\w+__")


def _allowed_module(name: str, extra: Iterable[str] = ()) -> bool:
    if name == "wslearn.checks" or name.startswith("wslearn.checks."):
        return False
    if name == "wslearn" or name.startswith("wslearn."):
        return True
    return name in PLAIN_MODULES or name in set(extra)


def _check_function_names() -> Set[str]:
    """Every public name of every ``wslearn.checks`` module (``check_accept_key``, ...)."""
    import pkgutil

    import wslearn.checks as checks

    names: Set[str] = set(getattr(checks, "__all__", []))
    for info in pkgutil.iter_modules(checks.__path__):
        module = importlib.import_module(f"wslearn.checks.{info.name}")
        names |= set(getattr(module, "__all__", [])) | {
            n for n in vars(module) if n.startswith("check_")
        }
    return names


def _ipython_to_python(source: str) -> str:
    """The Python IPython runs for a cell (``!ls`` → ``get_ipython().system('ls')``)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:
        return source


def teacher_modules(source_nb: Dict[str, Any]) -> Dict[str, str]:
    """Names the teacher's cells bind to modules: ``{"wslearn": "wslearn", "plt": ...}``."""
    bound: Dict[str, str] = {}
    for cell in source_nb.get("cells", []):
        if cell.get("cell_type") != "code" or is_solution_cell(cell):
            continue
        try:
            tree = ast.parse(_ipython_to_python(strip_solutions(cell_source(cell))))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        bound[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        bound[top] = top
    return bound


def screen_solution(
    source: str,
    *,
    check_names: Optional[Set[str]] = None,
    notebook_modules: Optional[Dict[str, str]] = None,
) -> List[str]:
    """Reasons to hold this solution cell for review; empty when it only computes an answer."""
    check_names = _check_function_names() if check_names is None else check_names
    notebook_modules = dict(notebook_modules or {"wslearn": "wslearn"})
    try:
        tree = ast.parse(_ipython_to_python(source))
    except SyntaxError:
        return []  # it cannot run, so it cannot tamper: the kernel reports the error
    reasons: List[str] = []

    def flag(node: ast.AST, what: str) -> None:
        reasons.append(f"{what} (line {getattr(node, 'lineno', '?')})")

    modules = dict(notebook_modules)
    allowed_extra = set(notebook_modules.values())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not _allowed_module(alias.name):
                    flag(node, f"imports {alias.name}")
                if alias.asname:
                    modules[alias.asname] = alias.name
                else:
                    modules[alias.name.split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            if node.level or not _allowed_module(base):
                flag(node, f"imports from {base}")
                continue
            for alias in node.names:
                if alias.name in check_names or alias.name in _BLOCKED_NAMES:
                    flag(node, f"imports {alias.name}")
                if alias.name == "*":
                    flag(node, f"imports * from {base}")
                    continue
                module = _module_named(base, alias.name)
                if module is not None:
                    if not _allowed_module(module):
                        flag(node, f"imports {module}")
                    modules[alias.asname or alias.name] = module
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id in _BLOCKED_NAMES or node.id.startswith("_wslearn"):
                flag(node, f"uses {node.id}")
            elif node.id in check_names:
                flag(node, f"uses the checking function name {node.id}")
        elif isinstance(node, ast.Attribute):
            if node.attr in _FRAME_ATTRIBUTES:
                flag(node, f"reads .{node.attr}")
            elif _DUNDER.fullmatch(node.attr) and node.attr not in _ALLOWED_DUNDER_ATTRIBUTES:
                flag(node, f"uses .{node.attr}")
            elif node.attr == "checks" or node.attr in check_names:
                flag(node, f"uses .{node.attr}")
            if isinstance(node.ctx, (ast.Store, ast.Del)) and _root_name(node) in modules:
                flag(node, f"changes {_dotted(node)}")
            chain = _dotted(node)
            if chain and chain.split(".")[0] in modules:
                bad = _module_outside_list(chain, modules, allowed_extra)
                if bad:
                    flag(node, f"reaches the module {bad} through {chain}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _DUNDER.search(node.value):
                flag(node, "names a dunder attribute in a string")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if node.name in check_names:
                flag(node, f"defines {node.name}, a checking function's name")
            elif _DUNDER.fullmatch(node.name) and node.name not in _ALLOWED_DUNDER_DEFS:
                flag(node, f"defines {node.name}")
        elif isinstance(node, ast.ClassDef):
            for parent in node.bases:
                if isinstance(parent, ast.Name) and parent.id in _BUILTIN_TYPES:
                    flag(node, f"class {node.name} subclasses {parent.id}")
            if node.keywords:
                flag(node, f"class {node.name} sets a metaclass or class keywords")
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id == "type" and len(node.args) == 3:
                flag(node, "creates a class with type()")
        elif isinstance(node, ast.Global):
            names = [n for n in node.names if n in check_names or n in modules]
            if names:
                flag(node, f"rebinds {', '.join(names)}")
    seen: Set[str] = set()
    unique = []
    for reason in reasons:
        if reason not in seen:
            seen.add(reason)
            unique.append(reason)
    return unique


def _module_named(base: str, name: str) -> Optional[str]:
    """If ``from base import name`` gives a module, its real name (``base`` is on the list)."""
    try:
        value = getattr(importlib.import_module(base), name, None)
        if isinstance(value, types.ModuleType):
            return value.__name__
        if importlib.util.find_spec(f"{base}.{name}") is not None:
            return f"{base}.{name}"
    except Exception:
        return None
    return None


def _root_name(node: ast.AST) -> Optional[str]:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node: ast.AST) -> str:
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    parts.append(node.id)
    return ".".join(reversed(parts))


def _module_outside_list(chain: str, modules: Dict[str, str], extra: Set[str]) -> Optional[str]:
    """Follow ``re.enum.sys`` in this process; the first module on the way not in the list."""
    root, *rest = chain.split(".")
    try:
        value: Any = importlib.import_module(modules[root])
    except Exception:
        return None
    for part in rest:
        try:
            value = getattr(value, part)
        except Exception:
            return None
        if isinstance(value, types.ModuleType) and not _allowed_module(value.__name__, extra):
            return value.__name__
    return None


# --------------------------------------------------------------------------------------
# Running a graded copy
# --------------------------------------------------------------------------------------


def _kernel_manager() -> Any:
    """A kernel manager whose ``python3`` is this interpreter, with this ``wslearn`` importable."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
            return KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name="Python 3 (grader)",
                language="python",
                resource_dir="",
            )

    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())


@dataclasses.dataclass
class RunResult:
    notebook: Dict[str, Any]
    replies: Dict[int, Dict[str, Any]]
    stopped: str  # "" or why the run stopped early


async def _run(notebook: Dict[str, Any], cwd: Path, timeout: float, limit: float) -> RunResult:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.from_dict(notebook)
    replies: Dict[int, Dict[str, Any]] = {}

    def executed(cell: Any, cell_index: int, execute_reply: Dict[str, Any]) -> None:
        replies[cell_index] = execute_reply.get("content", {}) if execute_reply else {}

    km = _kernel_manager()
    client = NotebookClient(
        nb,
        km=km,
        timeout=max(1, int(round(timeout))),
        startup_timeout=60,
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={
            "ename": "CellTimeout",
            "evalue": f"stopped after {timeout:g} s",
            "traceback": [],
        },
        record_timing=False,
        extra_arguments=["--IPKernelApp.log_level=40"],
        on_cell_executed=executed,
        resources={"metadata": {"path": str(cwd)}},
    )
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "Agg"
    stopped = ""
    try:
        await asyncio.wait_for(client.async_execute(env=env), timeout=limit)
    except asyncio.TimeoutError:
        stopped = f"the notebook ran past its {limit:g} s time limit"
    except Exception as error:  # a dead kernel, a kernel that would not start, ...
        stopped = f"{type(error).__name__}: {error}".strip()
    finally:
        try:
            if await km.is_alive():
                await km.shutdown_kernel(now=True)
        except Exception:
            pass
        try:
            await client._async_cleanup_kernel()
        except Exception:
            pass
    return RunResult(nb, replies, stopped)


# --------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------


@dataclasses.dataclass
class Score:
    """One learner's result on one exercise."""

    student: str
    notebook: str
    grade_id: str
    points: float
    max_points: float
    message: str = ""
    passed: bool = False
    held: bool = False
    exercise: str = ""


@dataclasses.dataclass
class Report:
    """Every score, in the order students × notebooks × exercises."""

    scores: List[Score]
    exercises: List[Exercise]
    students: List[str]
    warnings: List[str] = dataclasses.field(default_factory=list)

    def total(self, student: str) -> float:
        return sum(s.points for s in self.scores if s.student == student)

    @property
    def max_points(self) -> float:
        return sum(e.points for e in self.exercises)


def _trim(text: str, limit: int = 400) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    text = " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _error_of(cell: Dict[str, Any], reply: Optional[Dict[str, Any]]) -> Optional[Tuple[str, str]]:
    """(ename, evalue) if the kernel says this cell failed, else None."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if reply is not None and reply.get("status") == "error":
        if reply.get("ename") == "CellTimeout" or not errors:
            return str(reply.get("ename", "Error")), str(reply.get("evalue", ""))
    if errors:
        return str(errors[0].get("ename", "Error")), str(errors[0].get("evalue", ""))
    if reply is not None and reply.get("status") not in (None, "ok"):
        return str(reply.get("status")), ""
    return None


def _explain(ename: str, evalue: str, *, timeout: float, in_check: bool) -> str:
    if ename == "CellTimeout":
        return (
            f"timed out after {timeout:g} s: an endless loop, or waiting for something "
            "that never comes?"
        )
    if ename == "ExerciseFailed":
        return _trim(evalue)
    if ename == "KeyboardInterrupt":
        return "interrupted (it ran too long)"
    if ename == "NotImplementedError":
        return (
            "not written yet: the function still raises NotImplementedError. Hint: replace "
            "the `raise NotImplementedError()` line with your code"
        )
    if in_check:  # the hidden tests call the learner's function directly
        if ename == "AssertionError":
            detail = _trim(evalue)
            return "a hidden test failed" + (f": {detail}" if detail else "")
        if ename == "NameError":
            return _trim(f"{evalue}: did the cell that defines it run without an error?")
        return _trim(f"a hidden test failed: your function raised {ename}: {evalue}")
    return _trim(f"{ename}: {evalue}" if evalue else ename)


def _guard_report(cell: Dict[str, Any], nonce: str) -> Optional[str]:
    """What the grader cell before a check had to put back ('' for nothing), None if unknown.

    The cell's stream outputs are joined first: one printed line may arrive in pieces.
    """
    pieces = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name", "stdout") == "stdout":
            text = output.get("text", "")
            pieces.append("".join(text) if isinstance(text, list) else str(text))
    for line in "".join(pieces).splitlines():
        if line.startswith(nonce + " "):
            restored = line.split(" restored: ", 1)[-1].strip()
            return "" if restored == "-" else restored
    return None


def _score_notebook(
    student: str,
    name: str,
    exercises: List[Exercise],
    copy_: GradedCopy,
    run: RunResult,
    *,
    timeout: float,
    holds: Dict[str, List[str]],
    hold_flagged: bool,
) -> List[Score]:
    cells = run.notebook["cells"]
    setup_reply = run.replies.get(0)
    setup_error = _error_of(cells[0], setup_reply) if cells else None
    scores: List[Score] = []
    for exercise in exercises:
        score = Score(student, name, exercise.grade_id, 0, exercise.points, exercise=exercise.name)
        scores.append(score)
        check_index = copy_.check_cells[exercise.grade_id]
        guard_index = copy_.guard_cells[exercise.grade_id]
        if setup_reply is None or setup_error:
            detail = f": {_trim(' '.join(setup_error))}" if setup_error else ""
            score.message = f"not graded: the grader could not start{detail}" + (
                f" ({run.stopped})" if run.stopped else ""
            )
            continue
        if check_index not in run.replies:
            score.message = "not graded: " + (run.stopped or "the check did not run")
            own = _first_learner_error(exercise, copy_, run, timeout)
            if own:
                score.message += f"; before that, {own}"
            continue
        restored = _guard_report(cells[guard_index], copy_.nonce)
        guard_error = _error_of(cells[guard_index], run.replies.get(guard_index))
        if guard_error and guard_error[0] in ("CellTimeout", "KeyboardInterrupt"):
            score.message = "not graded: the kernel was still stuck in an earlier cell"
            own = _first_learner_error(exercise, copy_, run, timeout)
            if own:
                score.message += f"; before that, {own}"
            continue
        error = _error_of(cells[check_index], run.replies.get(check_index))
        if restored is None:
            error = error or ("GraderError", "the grader's cell before this check did not run")
        if error is None:
            score.passed = True
            score.points = exercise.points
        else:
            own = _first_learner_error(exercise, copy_, run, timeout)
            check_message = _explain(*error, timeout=timeout, in_check=True)
            fb = copy_.feedback_cells.get(exercise.grade_id)
            if error[0] == "AssertionError" and fb is not None and fb in run.replies:
                seen = _error_of(cells[fb], run.replies.get(fb))
                if seen is None:
                    check_message += " (the cases you can see pass)"
                elif seen[0] not in ("CellTimeout", "KeyboardInterrupt"):
                    check_message = _explain(*seen, timeout=timeout, in_check=True)
            if own and error[0] in ("NameError", "CellTimeout", "KeyboardInterrupt"):
                score.message = own
            elif own:
                score.message = f"{own}; then the check: {check_message}"
            else:
                score.message = check_message
        notes = []
        if copy_.notes.get(exercise.grade_id):
            notes.append(copy_.notes[exercise.grade_id])
        if restored:
            notes.append(
                f"the checking code had been changed ({_trim(restored, 200)}) and was put "
                "back before this check"
            )
        if holds.get(exercise.grade_id):
            score.held = True
            outcome = "passed" if score.passed else "failed"
            notes.insert(
                0,
                "held for review: "
                + "; ".join(holds[exercise.grade_id])
                + f" (the check {outcome})",
            )
            if hold_flagged:
                score.points = 0
        if notes:
            score.message = " | ".join(filter(None, ["; ".join(notes), score.message]))
    return scores


def _first_learner_error(
    exercise: Exercise, copy_: GradedCopy, run: RunResult, timeout: float
) -> str:
    cells = run.notebook["cells"]
    for index in copy_.solution_cells.get(exercise.grade_id, []):
        error = _error_of(cells[index], run.replies.get(index))
        if error:
            what = _explain(*error, timeout=timeout, in_check=False)
            return f"your {exercise.name} cell failed: {what}"
    return ""


def _holds(
    exercises: List[Exercise],
    source_nb: Dict[str, Any],
    copy_: GradedCopy,
    check_names: Set[str],
) -> Dict[str, List[str]]:
    """For each exercise: why its points are held (flagged cells at or before its check)."""
    modules = teacher_modules(source_nb)
    flagged: List[Tuple[int, str]] = []  # (source cell index, reason)
    for exercise in exercises:
        for index in exercise.solution_indices:
            reasons = screen_solution(
                copy_.solution_sources.get(index, ""),
                check_names=check_names,
                notebook_modules=modules,
            )
            if reasons:
                flagged.append((index, f"your {exercise.name} cell " + ", ".join(reasons[:4])))
    holds: Dict[str, List[str]] = {}
    for exercise in exercises:
        why = [reason for index, reason in flagged if index < exercise.check_index]
        if why:
            holds[exercise.grade_id] = why
    return holds


def _zero(student: str, name: str, exercises: List[Exercise], message: str) -> List[Score]:
    return [
        Score(student, name, e.grade_id, 0, e.points, message, exercise=e.name) for e in exercises
    ]


async def _grade_one(
    student: str,
    name: str,
    path: Optional[Path],
    source_nb: Dict[str, Any],
    exercises: List[Exercise],
    *,
    source_dir: Path,
    timeout: float,
    notebook_timeout: float,
    check_names: Set[str],
    hold_flagged: bool,
    keep_graded: Optional[Path],
    gate: asyncio.Semaphore,
) -> List[Score]:
    if path is None:
        return _zero(student, name, exercises, "not handed in")
    try:
        student_nb = json.loads(path.read_bytes().decode("utf-8"))
        if not isinstance(student_nb, dict) or not isinstance(student_nb.get("cells"), list):
            raise ValueError("no list of cells")
    except Exception as error:
        return _zero(
            student, name, exercises, f"could not read the notebook: {_trim(str(error), 200)}"
        )
    copy_ = build_graded_copy(source_nb, student_nb)
    holds = _holds(exercises, source_nb, copy_, check_names)
    async with gate:
        with tempfile.TemporaryDirectory(prefix="wslearn-grade-") as tmp:
            cwd = Path(tmp)
            for item in source_dir.iterdir():  # the notebook's folder, minus the notebooks
                if item.is_file() and item.suffix != ".ipynb":
                    shutil.copy2(item, cwd / item.name)
            run = await _run(copy_.notebook, cwd, timeout, notebook_timeout)
    if keep_graded is not None:
        import nbformat

        target = keep_graded / student / name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(run.notebook, str(target))
    return _score_notebook(
        student,
        name,
        exercises,
        copy_,
        run,
        timeout=timeout,
        holds=holds,
        hold_flagged=hold_flagged,
    )


def grade_submissions(
    submissions_dir: Path,
    source_dir: Path = Path("notebooks"),
    *,
    timeout: float = 60,
    notebook_timeout: Optional[float] = None,
    notebooks: Optional[Sequence[str]] = None,
    jobs: int = 2,
    hold_flagged: bool = True,
    keep_graded: Optional[Path] = None,
) -> Report:
    """Grade every learner's notebooks in ``submissions_dir`` against ``source_dir``.

    ``timeout`` is per cell; ``notebook_timeout`` (default ``10 × timeout``) bounds one
    notebook's whole run. ``jobs`` notebooks run at once, each in its own kernel.
    """
    submissions_dir, source_dir = Path(submissions_dir), Path(source_dir)
    if not submissions_dir.is_dir():
        raise FileNotFoundError(f"no such folder: {submissions_dir}")
    sources: Dict[str, Dict[str, Any]] = {}
    for path in sorted(source_dir.glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        if exercises_of(notebook):
            sources[path.name] = notebook
    if notebooks:
        wanted = [n if n.endswith(".ipynb") else n + ".ipynb" for n in notebooks]
        unknown = [n for n in wanted if n not in sources]
        if unknown:
            raise FileNotFoundError(
                f"not a source notebook with exercises in {source_dir}: {', '.join(unknown)}"
            )
    else:
        wanted = list(sources)
    found, warnings = find_submissions(submissions_dir, wanted)
    if not notebooks:  # the assignment: what at least one learner handed in
        wanted = [n for n in wanted if any(found[s].get(n) for s in found)]
    exercises = {n: exercises_of(sources[n], n) for n in wanted}
    check_names = _check_function_names()
    limit = notebook_timeout if notebook_timeout is not None else 10 * timeout

    async def everything() -> List[List[Score]]:
        gate = asyncio.Semaphore(max(1, jobs))
        return await asyncio.gather(
            *(
                _grade_one(
                    student,
                    name,
                    found[student].get(name),
                    sources[name],
                    exercises[name],
                    source_dir=source_dir,
                    timeout=timeout,
                    notebook_timeout=limit,
                    check_names=check_names,
                    hold_flagged=hold_flagged,
                    keep_graded=keep_graded,
                    gate=gate,
                )
                for student in found
                for name in wanted
            )
        )

    results = _run_async(everything())
    scores = [score for group in results for score in group]
    return Report(scores, [e for n in wanted for e in exercises[n]], list(found), warnings)


def _run_async(coroutine: Any) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    # Called from a running loop (a notebook): run in a thread with its own loop.
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:g}"


def _column(exercise: Exercise, many: bool) -> str:
    prefix = exercise.notebook.split("_")[0] + ":" if many else ""
    return prefix + exercise.name


def write_report(report: Report, path: Path) -> Tuple[Path, Path]:
    """Write ``path`` (one row per learner × exercise) and ``<stem>-totals.csv`` beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["student", "notebook", "grade_id", "points", "max_points", "message"])
        for s in report.scores:
            writer.writerow(
                [
                    s.student,
                    s.notebook,
                    s.grade_id,
                    _number(s.points),
                    _number(s.max_points),
                    s.message,
                ]
            )
    totals = path.with_name(f"{path.stem}-totals.csv")
    many = len({e.notebook for e in report.exercises}) > 1
    with totals.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["student", *(_column(e, many) for e in report.exercises), "total", "max"])
        for student in report.students:
            points = {
                (s.notebook, s.grade_id): s.points for s in report.scores if s.student == student
            }
            writer.writerow(
                [
                    student,
                    *(_number(points.get((e.notebook, e.grade_id), 0)) for e in report.exercises),
                    _number(report.total(student)),
                    _number(report.max_points),
                ]
            )
    return path, totals


def format_table(report: Report) -> str:
    """The class table: one row per learner, a column per exercise, total and max."""
    many = len({e.notebook for e in report.exercises}) > 1
    header = ["student", *(f"{_column(e, many)} ({_number(e.points)})" for e in report.exercises)]
    header += ["total", "max"]
    rows = [header]
    for student in report.students:
        by = {(s.notebook, s.grade_id): s for s in report.scores if s.student == student}
        row = [student]
        for e in report.exercises:
            s = by.get((e.notebook, e.grade_id))
            row.append("-" if s is None else _number(s.points) + ("!" if s.held else ""))
        row += [_number(report.total(student)), _number(report.max_points)]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(
            (cell.ljust(w) if i == 0 else cell.rjust(w))
            for i, (cell, w) in enumerate(zip(r, widths))
        ).rstrip()
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if any(s.held for s in report.scores):
        lines.append("")
        lines.append("! held for review: see the message in the report")
    return "\n".join(lines)


def format_messages(report: Report) -> str:
    """One line per exercise that did not earn its points, for the teacher's eyes."""
    lines = []
    for s in report.scores:
        if s.message:
            lines.append(f"{s.student} {s.notebook} {s.grade_id}: {s.message}")
    return "\n".join(textwrap.shorten(line, 300, placeholder=" …") for line in lines)
