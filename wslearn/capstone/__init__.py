"""The capstone (notebook 12): your own WebSocket server, checked against the RFC.

The learner assembles a small echo server from the functions of notebooks 01-07
(:func:`load_pieces` carries them over from the learner's own notebooks, borrowing the library's
version of a piece that is missing or wrong, and says so) and runs it in a thread
(:func:`serve_pieces`); :func:`run_conformance` checks it over raw sockets, case by case
(:data:`CASES`, :func:`case_table`), and says for each failure which notebook's topic it is and
which rule was broken, never the fix. :func:`run_side_by_side` runs the same cases against
``wslearn.serve`` too and shows the differences.

* :mod:`~wslearn.capstone.topics` — the notebooks and the rules, in plain words;
* :mod:`~wslearn.capstone.probe` — a raw-socket client bounded in time and memory;
* :mod:`~wslearn.capstone.cases` — the cases: what each sends, what it must get back;
* :mod:`~wslearn.capstone.report` — the report, its tables, and :func:`compare`;
* :mod:`~wslearn.capstone.conformance` — the run;
* :mod:`~wslearn.capstone.pieces` — the learner's functions, carried over (``fallbacks``: the
  library's versions; ``bounded``: a time limit for running learner code);
* :mod:`~wslearn.capstone.server` — the server made of the pieces;
* :mod:`~wslearn.capstone.scoring` — notebook 12's points: one per piece that is yours.
"""

from __future__ import annotations

from .cases import CASES, Case
from .conformance import run_conformance, run_side_by_side
from .pieces import PIECES, Piece, PieceError, Pieces, load_pieces
from .report import (
    CaseResult,
    Comparison,
    ConformanceReport,
    case_table,
    compare,
    compare_frames,
)
from .scoring import pieces_of, score_pieces
from .server import LearnerServer, serve_pieces

__all__ = [
    "CASES",
    "PIECES",
    "LearnerServer",
    "Piece",
    "PieceError",
    "Pieces",
    "load_pieces",
    "serve_pieces",
    "pieces_of",
    "score_pieces",
    "Case",
    "CaseResult",
    "Comparison",
    "ConformanceReport",
    "case_table",
    "compare",
    "compare_frames",
    "run_conformance",
    "run_side_by_side",
]
