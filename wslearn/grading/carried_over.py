"""Check cells that score other notebooks' work: the capstone's carried-over pieces.

Notebook 12 builds a server from the learner's own functions of notebooks 01-07, the pieces
of :data:`wslearn.capstone.pieces.PIECES`, and asks for no code of its own. Each of its check
cells names, in its metadata, the notebooks whose pieces it scores::

    "metadata": {"nbgrader": {...}, "wslearn": {"carried_over": ["01", "02"]}}

Such a notebook is not replayed (no learner process, no teacher values): each such exercise
scores ``points × own / pieces`` over the pieces of those notebooks. A piece is the learner's
own when the exercise that asks for it (the one whose solution cells include the piece's
``grade_id``) earned its full points for that learner in the same grading run, judged as
usual; its notebook is found among the source notebooks by its number (``01_*.ipynb``) and
judged even when the report does not show it. A borrowed piece earns nothing, and the
message names it, its notebook and why (that exercise's own message, or "not handed in").

A learner who did not hand in the carried-over notebook itself gets 0, as for any notebook
not handed in: handing it in is the step that says "my server is built".
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence, Tuple

from .exercises import Exercise
from .report import Score, one_line
from .submissions import Unreadable, read_hand_in

if TYPE_CHECKING:
    from ..capstone.pieces import PieceSpec

__all__ = ["Plan", "carries_over", "carried_over_scores", "notebooks_needed", "plan_replays"]

#: Longest reason given for one borrowed piece (a message names up to 15 pieces).
REASON_LIMIT = 80
#: What the other exercises of a carried-over notebook say (it is not replayed at all).
NOT_REPLAYED = (
    "not graded: this notebook's check cells score other notebooks, so it is not run; "
    "an exercise of its own belongs in another notebook"
)


def _pieces() -> "Tuple[PieceSpec, ...]":
    """The pieces, imported when needed: :mod:`wslearn.capstone.pieces` itself imports from
    this package, so importing it at the top would make the two packages import each other."""
    from ..capstone.pieces import PIECES

    return PIECES


def carries_over(exercises: Iterable[Exercise]) -> bool:
    """Whether a notebook has a carried-over check cell (and so is not replayed)."""
    return any(exercise.carried_over for exercise in exercises)


def _by_number(names: Iterable[str]) -> Dict[str, str]:
    """Each number's source notebook (``"01"``: ``01_upgrade_request.ipynb``): the first file
    name that starts with it and ``_``, as :func:`~wslearn.capstone.load_pieces` finds it."""
    found: Dict[str, str] = {}
    for name in sorted(names):
        found.setdefault(name.split("_")[0], name)
    return found


def notebooks_needed(sources: Iterable[str], exercises: Iterable[Exercise]) -> List[str]:
    """The source notebooks (by file name, in order) whose pieces these exercises score."""
    numbers = {number for exercise in exercises for number in exercise.carried_over}
    numbers &= {piece.notebook for piece in _pieces()}
    return [name for number, name in sorted(_by_number(sources).items()) if number in numbers]


@dataclasses.dataclass
class Plan:
    """What a grading run replays: the wanted notebooks that are ``carried`` over (scored
    from others, never replayed), each (student, notebook) to ``replays``, and ``warnings``."""

    carried: List[str]
    replays: List[Tuple[str, str]]
    warnings: List[str]


def plan_replays(
    found: Dict[str, Dict[str, Optional[Path]]],
    wanted: Sequence[str],
    exercises: Dict[str, List[Exercise]],
) -> Plan:
    """Which notebooks each learner's process replays: every wanted one that is not carried
    over, and, for a learner who handed in a carried-over one, the notebooks it scores (each
    once, reported or not). ``found`` is :func:`~wslearn.grading.find_submissions`' answer,
    ``exercises`` each source notebook's exercises, by file name."""
    carried = [name for name in wanted if carries_over(exercises[name])]
    warnings = [f"{name}: {NOT_REPLAYED}" for name in carried
                if not all(e.carried_over for e in exercises[name])]  # fmt: skip
    needed = notebooks_needed(exercises, [e for name in carried for e in exercises[name]])
    needed = [name for name in needed if not carries_over(exercises[name])]
    replays = []
    for student, notebooks in found.items():
        builds = any(notebooks.get(name) for name in carried)
        for name in exercises:
            if (name in wanted and name not in carried) or (builds and name in needed):
                replays.append((student, name))
    return Plan(carried, replays, warnings)


def carried_over_scores(
    student: str,
    name: str,
    path: Optional[Path],
    sources: Dict[str, List[Exercise]],
    earned: Dict[str, List[Score]],
) -> List[Score]:
    """One learner's scores on a carried-over notebook ``name`` (handed in at ``path``).

    ``sources`` are the exercises of every source notebook, by file name; ``earned`` this
    learner's scores in this run on the notebooks :func:`notebooks_needed` names.
    """
    exercises = sources[name]
    problem = None
    if path is None:
        problem = "not handed in"
    else:
        try:
            read_hand_in(path)
        except Unreadable as error:
            problem = one_line(str(error))
    scores = []
    for exercise in exercises:
        points, message = 0.0, problem or NOT_REPLAYED
        if problem is None and exercise.carried_over:
            points, message = _score(exercise, sources, earned)
        scores.append(Score(student, name, exercise.grade_id, points, exercise.points, message,
                            exercise=exercise.name))  # fmt: skip
    return scores


def _score(
    exercise: Exercise, sources: Dict[str, List[Exercise]], earned: Dict[str, List[Score]]
) -> Tuple[float, str]:
    """(points, message) of one carried-over exercise."""
    pieces = [piece for piece in _pieces() if piece.notebook in exercise.carried_over]
    if not pieces:
        numbers = ", ".join(exercise.carried_over) or "none"
        return 0.0, f"not graded: no pieces come from the notebooks it names ({numbers})"
    names = _by_number(sources)
    borrowed = []
    for piece in pieces:
        reason = _why_borrowed(piece.grade_id, names.get(piece.notebook), sources, earned)
        if reason is not None:
            borrowed.append(f"{piece.name} ({piece.notebook}: {reason})")
    points = exercise.points * (len(pieces) - len(borrowed)) / len(pieces)
    return points, ("borrowed, 0 points: " + "; ".join(borrowed) if borrowed else "")


def _why_borrowed(
    grade_id: str,
    notebook: Optional[str],
    sources: Dict[str, List[Exercise]],
    earned: Dict[str, List[Score]],
) -> Optional[str]:
    """None if the exercise holding solution cell ``grade_id`` earned full points, else why."""
    if notebook is None:
        return "no such source notebook"
    exercise = next((e for e in sources.get(notebook, []) if grade_id in e.solution_ids), None)
    if exercise is None:
        return f"the source notebook has no '{grade_id}' exercise"
    score = next((s for s in earned.get(notebook, []) if s.grade_id == exercise.grade_id), None)
    if score is None:
        return "not graded"
    if not score.message and score.points >= score.max_points:
        return None
    first = one_line(score.message or "not full points").split(". ")[0]  # its first sentence
    return one_line(first, REASON_LIMIT)
