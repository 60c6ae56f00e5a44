"""What a source notebook asks for: its exercises, each a check cell and its solution cells.

A check cell may score what other notebooks asked for instead of solution cells of its own
(the capstone, :mod:`~wslearn.grading.carried_over`): its metadata names those notebooks by
number, ``"wslearn": {"carried_over": ["01", "02"]}`` (read by
:func:`wslearn.classroom.carried_over`). Only the teacher's source notebook is read for this.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Tuple

from ..classroom import carried_over, is_check_cell, is_solution_cell

__all__ = ["Exercise", "exercises_of", "nbgrader_meta"]


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One exercise: its check cell (``grade_id``, ``points``) and the solution cells before it."""

    notebook: str
    grade_id: str
    points: float
    check_index: int
    solution_indices: Tuple[int, ...]
    solution_ids: Tuple[str, ...]
    #: The notebooks ("01", "02"...) whose pieces this check cell scores; () for most.
    carried_over: Tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """A short name for tables: the solution cell's id (``accept_key``)."""
        return self.solution_ids[0] if self.solution_ids else self.grade_id


def nbgrader_meta(cell: Dict[str, Any]) -> Dict[str, Any]:
    """A cell's nbgrader metadata; {} if it has none (or what it has is not a dict)."""
    metadata = cell.get("metadata")
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def exercises_of(notebook: Dict[str, Any], name: str = "") -> List[Exercise]:
    """A source notebook's exercises: each check cell, with the solution cells since the last."""
    found: List[Exercise] = []
    pending: List[int] = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if is_solution_cell(cell):
            pending.append(index)
        elif is_check_cell(cell):
            meta = nbgrader_meta(cell)
            cells = notebook["cells"]
            found.append(
                Exercise(
                    notebook=name,
                    grade_id=str(meta.get("grade_id", f"cell-{index}")),
                    points=float(meta.get("points", 0) or 0),
                    check_index=index,
                    solution_indices=tuple(pending),
                    solution_ids=tuple(
                        str(nbgrader_meta(cells[i]).get("grade_id", "")) for i in pending
                    ),
                    carried_over=carried_over(cell),
                )
            )
            pending = []
    return found
