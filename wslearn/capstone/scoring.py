"""Notebook 12's points: one for each piece that is the learner's own, none for a borrowed one.

Notebook 12 asks for no new code: its graded cells score the pieces carried over from
notebooks 01-07, one cell per group of notebooks (``score_pieces(pieces, "01", "02")``), one
point per piece. A borrowed piece scores 0, and the line says why it was borrowed, so the
learner knows where to go back to. The cell's value is the points earned, a number: nbgrader
reads a graded cell's number as partial credit.

``python -m wslearn grade`` does not run these cells (they would run learner code in the
grader): it scores the same pieces from its own, sandboxed, verdicts on the learner's hand-ins
of notebooks 01-07 (:mod:`wslearn.grading.carried_over`). Each graded cell's metadata names its
notebooks (``"wslearn": {"carried_over": ["01", "02"]}``) for that.
"""

from __future__ import annotations

from typing import List

from .pieces import PIECES, Piece, Pieces

__all__ = ["score_pieces", "pieces_of"]


def pieces_of(*notebooks: str) -> List[str]:
    """The names of the pieces that come from ``notebooks`` ("01".."07"), in course order."""
    known = sorted({spec.notebook for spec in PIECES})
    unknown = [number for number in notebooks if number not in known]
    if unknown or not notebooks:
        raise ValueError(f"name notebooks among {', '.join(known)}, not {notebooks!r}")
    return [spec.name for spec in PIECES if spec.notebook in notebooks]


def score_pieces(pieces: Pieces, *notebooks: str) -> float:
    """Print one line per piece of ``notebooks`` (yours: 1 point, borrowed: 0 and why) and
    return the points earned."""
    chosen: List[Piece] = [pieces[name] for name in pieces_of(*notebooks)]
    for piece in chosen:
        where = f"notebook {piece.spec.notebook}"
        if piece.yours:
            print(f"✓ {piece.name} ({where}): yours, 1 point")
        else:
            print(f"✗ {piece.name} ({where}): borrowed, 0 points: {piece.reason}")
    earned = sum(1 for piece in chosen if piece.yours)
    print(f"{earned} of {len(chosen)} points")
    return float(earned)
