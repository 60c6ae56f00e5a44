"""The copy of ``wslearn`` that learner code sees while it is graded.

Learner code may import ``wslearn`` as the notebooks do, but the grader's own answers must
not be within its reach. The copy made here differs from the installed package in two ways:

* it holds no checks, hints or grading code (``wslearn/checks/`` and all of
  ``wslearn/grading/`` but the runner and its plain-data codec are left out), so nothing a
  learner's process can read says what a right answer is;
* each library function that an exercise asks the learner to write (``accept_key`` for
  notebook 02) is *cut out*: its body is replaced by a ``raise`` that says so. Calling it
  by any path, ``wslearn.accept_key``, ``wslearn.handshake.accept_key``, an alias, or by
  executing the module's source, reaches only that ``raise``: the code is not in the copy.

The grader points the learner's process at the copy (``PYTHONPATH``) and shows it nothing
else of the project.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

__all__ = ["DELEGATION_ERROR", "learner_package"]

#: The name of the error a cut-out function raises (as the learner sees it in a message).
DELEGATION_ERROR = "DelegationError"

_KEEP_IN_GRADING = ("plain.py", "runner.py")


def learner_package(source: Path, destination: Path, cut_out: Iterable[str]) -> Path:
    """Copy the package at ``source`` into ``destination/wslearn``, checks and grading left
    out, each of ``cut_out`` (``"handshake.accept_key"``, ``"close.Close.parse"``) cut out.

    Returns the folder to put on ``PYTHONPATH``.
    """
    target = destination / "wslearn"
    shutil.copytree(
        source,
        target,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "checks", "grading"),
    )
    grading = target / "grading"
    grading.mkdir()
    (grading / "__init__.py").write_text('"""The runner learner code is graded by."""\n')
    for name in _KEEP_IN_GRADING:
        shutil.copy2(source / "grading" / name, grading / name)
    by_module: Dict[str, List[str]] = {}
    for dotted in cut_out:
        module, qualname = _split(target, dotted)
        by_module.setdefault(module, []).append(qualname)
    for module, qualnames in by_module.items():
        path = target.joinpath(*module.split(".")).with_suffix(".py")
        path.write_text(_cut(path.read_text(encoding="utf-8"), module, qualnames), "utf-8")
    return destination


def _split(package: Path, dotted: str) -> Tuple[str, str]:
    """``"bad_examples.toy_server.handshake"`` -> the module ``"bad_examples.toy_server"``
    and the name in it, ``"handshake"``: the longest leading part that is a module file."""
    parts = dotted.split(".")
    for end in range(len(parts) - 1, 0, -1):
        if package.joinpath(*parts[:end]).with_suffix(".py").is_file():
            return ".".join(parts[:end]), ".".join(parts[end:])
    raise ValueError(f"wslearn has no module for {dotted}")


def _cut(source: str, module: str, qualnames: List[str]) -> str:
    """``source`` with the body of each function in ``qualnames`` replaced by a ``raise``."""
    tree = ast.parse(source)
    for qualname in qualnames:
        function = _find(tree.body, qualname.split("."))
        if function is None:
            raise ValueError(f"wslearn.{module} has no function {qualname}")
        message = (
            f"wslearn.{module}.{qualname} is what this exercise asks you to write: "
            "while your work is graded, the library's own is not available"
        )
        function.body = [ast.parse(f"raise {DELEGATION_ERROR}({message!r})").body[0]]
    error = ast.parse(
        f"class {DELEGATION_ERROR}(Exception):\n"
        "    '''A library function called while it is the exercise being graded.'''"
    ).body[0]
    tree.body.insert(_after_docstring_and_future(tree.body), error)
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _find(body: List[ast.stmt], path: List[str]) -> "ast.FunctionDef | ast.AsyncFunctionDef | None":
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == path[0]:
            return node if len(path) == 1 else None
        if isinstance(node, ast.ClassDef) and node.name == path[0] and len(path) > 1:
            return _find(node.body, path[1:])
    return None


def _after_docstring_and_future(body: List[ast.stmt]) -> int:
    index = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        index = 1
    while index < len(body) and isinstance(body[index], ast.ImportFrom):
        if body[index].module != "__future__":  # type: ignore[attr-defined]
            break
        index += 1
    return index
