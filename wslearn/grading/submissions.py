"""The learners' hand-ins: where they are, how to read one, which cells are the learner's.

``submissions/`` holds one folder per learner, nbgrader's layout::

    submissions/alice/02_accept_key.ipynb
    submissions/bob/02_accept_key.ipynb
    submissions/bob/03_frame_header.ipynb

A notebook deeper inside a learner's folder is found too (nbgrader's
``submitted/<student>/<assignment>/<notebook>.ipynb``); loose ``*.ipynb`` files at the top are
ignored, with a warning. Hand-ins are only read, never written. A hand-in that is not a
notebook, or holds cells that are not cells, is that learner's problem alone: it is read as
far as it can be, and what could not be read is said in their rows of the report.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from ..classroom import cell_source, is_solution_cell, strip_solutions
from .exercises import nbgrader_meta

__all__ = ["find_submissions", "learner_solutions", "read_hand_in", "Unreadable", "MAX_HAND_IN"]


#: Largest hand-in read, in bytes (a notebook with its outputs is rarely over a few MB).
MAX_HAND_IN = 64 * 2**20
#: What a learner's cell whose source is not text says when it is run.
UNREADABLE_CELL = "this cell of your notebook is not text: it could not be read"


class Unreadable(ValueError):
    """A hand-in that is not a notebook; the message says why, for the report."""


def read_hand_in(path: Path) -> Dict[str, Any]:
    """The notebook at ``path``, its cells cleaned up: each a dict with a dict of metadata and
    a source that is text. Raises :class:`Unreadable` if it is not a notebook at all.

    Only a regular file of at most :data:`MAX_HAND_IN` bytes is read, never through a
    symbolic link: a "hand-in" that links to the teacher's notebook or another learner's is
    not theirs, and a device or a huge file would only cost the grader time and memory.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        reason = "it is a symbolic link" if path.is_symlink() else error.strerror
        raise Unreadable(f"could not read the notebook: {reason}") from None
    status = os.fstat(fd)
    if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_HAND_IN:
        os.close(fd)
        if not stat.S_ISREG(status.st_mode):
            raise Unreadable("could not read the notebook: it is not a regular file")
        raise Unreadable(f"could not read the notebook: larger than {MAX_HAND_IN} bytes")
    with os.fdopen(fd, "rb") as file:
        data = file.read(MAX_HAND_IN + 1)
    try:
        notebook = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise Unreadable(f"could not read the notebook: {str(error)[:200]}") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise Unreadable("could not read the notebook: it has no list of cells")
    cells = [_clean(cell) for cell in notebook["cells"] if isinstance(cell, dict)]
    return {**notebook, "cells": cells}


def _clean(cell: Dict[str, Any]) -> Dict[str, Any]:
    """A cell whose metadata is a dict and whose source is text: metadata that is not a dict
    is dropped, a source that is not text becomes a cell that raises :data:`UNREADABLE_CELL`."""
    found = cell.get("metadata")
    metadata: Dict[str, Any] = found if isinstance(found, dict) else {}
    if not isinstance(metadata.get("nbgrader", {}), dict):
        metadata = {key: value for key, value in metadata.items() if key != "nbgrader"}
    source = cell.get("source", "")
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        source = "".join(source)
    elif not isinstance(source, str):  # run in its place: a cell that says so
        source = f"raise SyntaxError({UNREADABLE_CELL!r})\n"
    cell_type = cell.get("cell_type") if isinstance(cell.get("cell_type"), str) else "raw"
    return {"cell_type": cell_type, "metadata": metadata, "source": source}


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
        if entry.is_symlink():  # to another learner's folder, or anywhere: not a learner's own
            warnings.append(f"ignored {entry.name}: a symbolic link, not a learner's folder")
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
        grade_id = nbgrader_meta(cell).get("grade_id")
        if cell.get("cell_type") == "code" and grade_id:
            by_id[str(grade_id)] = cell  # a duplicated cell: the last one wins, as in a run
    unlabelled = [
        c
        for c in student_cells
        if c.get("cell_type") == "code" and not nbgrader_meta(c).get("grade_id")
    ]
    same_shape = len(student_cells) == len(source_cells)
    chosen: Dict[int, Tuple[str, str]] = {}
    for index, cell in enumerate(source_cells):
        if not is_solution_cell(cell):
            continue
        grade_id = str(nbgrader_meta(cell).get("grade_id", ""))
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
