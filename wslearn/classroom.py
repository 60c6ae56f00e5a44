"""Student copies: the course's source notebooks with their solutions taken out.

The source notebooks in ``notebooks/`` are complete: every exercise is solved
between nbgrader's markers, so the whole course runs top to bottom::

    def accept_key(key):
        ### BEGIN SOLUTION
        ...the teacher's answer...
        ### END SOLUTION

:func:`make_student_copy` turns one into what a learner gets — the markers and
everything between them replaced by a stub (``# YOUR CODE HERE`` /
``raise NotImplementedError()``), ``### BEGIN HIDDEN TESTS`` …
``### END HIDDEN TESTS`` blocks removed, outputs cleared. The cells that check
an exercise are tagged ``raises-exception``, because until the learner writes
the function they *should* fail; nbval then still passes on the student copy.

The copies are generated, never edited by hand: ``python -m wslearn student``.
What learners hand back is graded by :mod:`wslearn.grading`
(``python -m wslearn grade``).
These are the same markers and replacement nbgrader uses, so a teacher who runs
nbgrader can take the source notebooks as they are.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional

__all__ = [
    "make_student_copy",
    "write_student_copies",
    "strip_solutions",
    "is_check_cell",
    "is_solution_cell",
    "cell_source",
    "STUB",
]

STUB = "# YOUR CODE HERE\nraise NotImplementedError()"

_SOLUTION = re.compile(
    r"^([ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*(\n|$)", re.M | re.S
)
_HIDDEN = re.compile(
    r"^[ \t]*### BEGIN HIDDEN TESTS[^\n]*\n.*?^[ \t]*### END HIDDEN TESTS[^\n]*(\n|$)", re.M | re.S
)


def cell_source(cell: Dict[str, Any]) -> str:
    """A cell's source as one string (notebook files may store it as a list of lines)."""
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


_source = cell_source


def strip_solutions(source: str) -> str:
    """Replace each solution block with the stub, indented like its ``### BEGIN`` line."""

    def stub(match: "re.Match[str]") -> str:
        indent = match.group(1)
        return "".join(f"{indent}{line}\n" for line in STUB.splitlines())

    source = _SOLUTION.sub(stub, source)
    return _HIDDEN.sub("", source)


def is_check_cell(cell: Dict[str, Any]) -> bool:
    """A cell that checks an exercise: nbgrader's ``grade: true`` on a code cell."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_solution_cell(cell: Dict[str, Any]) -> bool:
    """A cell the learner writes in: nbgrader's ``solution: true`` on a code cell."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("solution"))


def make_student_copy(notebook: Dict[str, Any]) -> Dict[str, Any]:
    """Return a student copy of a notebook given as its JSON dictionary."""
    student = copy.deepcopy(notebook)
    for cell in student.get("cells", []):
        source = _source(cell)
        new = strip_solutions(source)
        if new != source:
            cell["source"] = new
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
            if is_check_cell(cell):
                tags: List[str] = cell.setdefault("metadata", {}).setdefault("tags", [])
                if "raises-exception" not in tags:
                    tags.append("raises-exception")
    return student


def write_student_copies(source_dir: Path, out_dir: Path, *, check: bool = False) -> List[Path]:
    """Write a student copy of every ``*.ipynb`` in ``source_dir`` to ``out_dir``.

    With ``check=True`` nothing is written: the paths whose committed copy is
    missing or differs from a fresh one are returned (CI fails on any).
    """
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    changed: List[Path] = []
    for path in sorted(source_dir.glob("*.ipynb")):
        notebook = json.loads(path.read_text(encoding="utf-8"))
        text = json.dumps(make_student_copy(notebook), indent=1, ensure_ascii=False) + "\n"
        target = out_dir / path.name
        old: Optional[str] = target.read_text(encoding="utf-8") if target.exists() else None
        if old != text:
            changed.append(target)
            if not check:
                out_dir.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
    if check:
        names = {p.name for p in source_dir.glob("*.ipynb")}
        changed += [p for p in sorted(out_dir.glob("*.ipynb")) if p.name not in names]
    return changed
