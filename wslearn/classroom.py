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
``### END HIDDEN TESTS`` blocks removed, outputs (and stored widget state)
cleared. The cells that check an exercise are tagged ``raises-exception``,
because until the learner writes the function they *should* fail; nbval then
still passes on the student copy.

The copies are generated, never edited by hand: ``python -m wslearn student``.
What learners hand back is graded by :mod:`wslearn.grading`
(``python -m wslearn grade``).
These are the same markers and replacement nbgrader uses, so a teacher who runs
nbgrader can take the source notebooks as they are.

A learner on their own gets a third kind of copy, their *work copy*
(:func:`write_learner_copies`, run by ``python -m wslearn lab`` and by Binder's
``postBuild``): a student copy in ``my-work/``, where after each exercise's
check a "Stuck?" cell links to that exercise in the full source notebook (not
after notebook 12's graded cells, which score pieces carried over and have no
solution of their own: :func:`carried_over`). The solution stays out of view
until the learner asks for it, and a notebook that is already in ``my-work/``
is never written again, so the learner's work survives every re-run.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

__all__ = [
    "make_student_copy",
    "write_student_copies",
    "make_learner_copy",
    "write_learner_copies",
    "install_lab_defaults",
    "WORK_DIR",
    "strip_solutions",
    "is_check_cell",
    "is_solution_cell",
    "carried_over",
    "cell_source",
    "STUB",
]

STUB = "# YOUR CODE HERE\nraise NotImplementedError()"

#: Where ``python -m wslearn lab`` (and Binder) put the learner's own copy, beside ``notebooks/``.
WORK_DIR = "my-work"

#: The tag of a source notebook's cells that no copy keeps (the "full course" notice).
FULL_COURSE_TAG = "full-course"

#: The tag of the "Stuck?" cells that a learner copy adds after each exercise's check.
SOLUTION_LINK_TAG = "wslearn-solution-link"

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


def without_hidden_tests(source: str) -> str:
    """``source`` without its ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` blocks."""
    return _HIDDEN.sub("", source)


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


def carried_over(cell: Dict[str, Any]) -> Tuple[str, ...]:
    """The notebooks ("01", "02"...) whose pieces a graded cell of notebook 12 scores, from
    its metadata ``"wslearn": {"carried_over": ["01", "02"]}``, in order, each once; () for
    every other cell, and for metadata that is not a list of digit strings (a grader must
    not guess what a teacher meant)."""
    metadata = cell.get("metadata")
    ours = metadata.get("wslearn") if isinstance(metadata, dict) else None
    numbers = ours.get("carried_over") if isinstance(ours, dict) else None
    if not isinstance(numbers, (list, tuple)):
        return ()
    if not all(isinstance(n, str) and n.isascii() and n.isdigit() for n in numbers):
        return ()
    return tuple(dict.fromkeys(numbers))


def make_student_copy(notebook: Dict[str, Any]) -> Dict[str, Any]:
    """Return a student copy of a notebook given as its JSON dictionary."""
    student = copy.deepcopy(notebook)
    # The teacher's run left its widgets' state here (tables of frames): not the learner's.
    student.get("metadata", {}).pop("widgets", None)
    # Cells meant for the full notebooks only ("this is the full course, solutions in view").
    student["cells"] = [
        cell
        for cell in student.get("cells", [])
        if FULL_COURSE_TAG not in cell.get("metadata", {}).get("tags", [])
    ]
    for cell in student["cells"]:
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
    """Write a student copy of every ``*.ipynb`` in ``source_dir`` to ``out_dir`` (and copy the
    pages they link to, :func:`copy_pages`).

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
    changed += copy_pages(source_dir, out_dir, check=check)
    if check:
        names = {p.name for p in source_dir.glob("*.ipynb")}
        changed += [p for p in sorted(out_dir.glob("*.ipynb")) if p.name not in names]
    return changed


def heading_anchor(heading: str) -> str:
    """The fragment JupyterLab gives a Markdown heading: its text, spaces as ``-``.

    ``### Exercise 1: `accept_key` `` becomes ``Exercise-1:-accept_key`` (backticks and
    asterisks are formatting, not text).
    """
    text = heading.lstrip("#").strip()
    text = re.sub(r"[`*]", "", text)
    return text.replace(" ", "-")


def _solution_link_cell(title: str, href: str, check_id: str) -> Dict[str, Any]:
    return {
        "cell_type": "markdown",
        "id": f"{check_id[:50]}-stuck",
        "metadata": {"tags": [SOLUTION_LINK_TAG]},
        "source": (
            f"**Stuck?** Read the check's message and hint first, and try again. When you want "
            f"to see a worked solution: [{title} — worked solution]({href}), in the course's "
            f"full notebook. It opens in its own tab; the exercises, with their solutions "
            f"and hidden tests, are at its end under the same headings (the table of contents in "
            f"JupyterLab's left sidebar jumps there). Your copy here is not changed: come back to "
            f"this tab to go on."
        ),
    }


def make_learner_copy(notebook: Dict[str, Any], solutions: str) -> Dict[str, Any]:
    """A learner's work copy: the student copy, plus a "Stuck?" link after every check cell
    that has a solution (not after a :func:`carried_over` cell).

    ``solutions`` is the link to the full source notebook, relative to where the copy is
    written (``../notebooks/02_accept_key.ipynb``); each link points at the exercise's heading.
    """
    student = make_student_copy(notebook)
    cells: List[Dict[str, Any]] = []
    heading = ""
    for cell in student.get("cells", []):
        cells.append(cell)
        if cell.get("cell_type") == "markdown":
            headings = [line for line in _source(cell).splitlines() if line.startswith("#")]
            heading = headings[-1] if headings else heading
        elif is_check_cell(cell) and not carried_over(cell):  # those have no solution
            title = heading.lstrip("#").strip() if heading else "this exercise"
            anchor = f"#{heading_anchor(heading)}" if heading else ""
            check_id = str(cell.get("id") or f"cell-{len(cells)}")
            cells.append(_solution_link_cell(title, solutions + anchor, check_id))
    student["cells"] = cells
    return student


def copy_pages(source_dir: Path, out_dir: Path, *, check: bool = False) -> List[Path]:
    """Copy the course's Markdown pages (``REFERENCE.md``) beside the notebooks that link to
    them; return those whose copy was missing or out of date (with ``check``, nothing is
    written). A page is the course's, not the learner's work: an old copy is replaced.
    """
    changed: List[Path] = []
    for path in sorted(Path(source_dir).glob("*.md")):
        target = Path(out_dir) / path.name
        text = path.read_text(encoding="utf-8")
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            changed.append(target)
            if not check:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
    return changed


def write_learner_copies(source_dir: Path, work_dir: Path) -> Dict[str, List[Path]]:
    """Give the learner a work copy of every notebook in ``source_dir`` that ``work_dir`` lacks.

    A notebook already in ``work_dir`` is kept as it is — it holds the learner's work — so this
    can run every time the course starts. Returns ``{"written": [...], "kept": [...]}``. To get a
    fresh copy of one notebook, delete (or rename) it and run again.
    """
    source_dir, work_dir = Path(source_dir), Path(work_dir)
    result: Dict[str, List[Path]] = {"written": [], "kept": []}
    for path in sorted(source_dir.glob("*.ipynb")):
        target = work_dir / path.name
        if target.exists():
            result["kept"].append(target)
            continue
        notebook = json.loads(path.read_text(encoding="utf-8"))
        link = Path(os.path.relpath(path.resolve(), work_dir.resolve())).as_posix()
        text = json.dumps(make_learner_copy(notebook, link), indent=1, ensure_ascii=False)
        work_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        partial.write_text(text + "\n", encoding="utf-8")
        os.replace(partial, target)  # never a half-written notebook, even if interrupted
        result["written"].append(target)
    copy_pages(source_dir, work_dir)  # the reference page the notebooks link to
    return result


#: JupyterLab's defaults for the course, in the form of an ``overrides.d`` file.
LAB_DEFAULTS = Path(__file__).resolve().parent / "data" / "jupyterlab-overrides.json"


def install_lab_defaults(prefix: Optional[str] = None) -> Optional[Path]:
    """Give this environment's JupyterLab the course's defaults; the file written, or None.

    One default matters to a learner: a *Stuck?* link should open the full notebook at the
    exercise's heading, far down. JupyterLab 4.6's default (``contentVisibility``) lays out only
    the cells in view, and in a learner's trial such links opened the notebook at its top; with
    ``windowingMode: defer`` every cell is laid out, and the link lands on its heading (the
    course's tests check it). The file goes to
    ``<prefix>/share/jupyter/lab/settings/overrides.d/`` (JupyterLab reads every file there; a
    learner's own settings still win). Where the environment is not writable (a shared one on a
    hub), nothing is written and None is returned.
    """
    folder = Path(prefix or sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.d"
    target = folder / "wslearn.json"
    wanted = LAB_DEFAULTS.read_text(encoding="utf-8")
    try:
        if target.exists() and target.read_text(encoding="utf-8") == wanted:
            return target
        folder.mkdir(parents=True, exist_ok=True)
        target.write_text(wanted, encoding="utf-8")
    except OSError:
        return None
    return target
