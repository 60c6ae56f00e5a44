"""Grading: score every learner's exercises against the teacher's checks, learner code kept apart.

::

    python -m wslearn grade submissions/ --source notebooks/ --out report.csv

``submissions/`` holds one folder per learner (:mod:`~wslearn.grading.submissions`). The
notebooks graded are those, among the source notebooks that have exercises, that at least
one learner handed in (or the ones named with ``--notebook``); a learner who did not hand
one in gets 0 for its exercises.

How one notebook is judged
==========================

The **teacher's** notebook is replayed in a process of the learner's own: each explanation's
code cell as the teacher wrote it, each solution cell (nbgrader ``solution: true``) as the
learner wrote it, found by ``grade_id``, else by the function it defines, else by position.
The learner's check cells, extra cells and outputs are never read.

Each **check cell runs in the grader**, not in the learner's process: the learner's functions
stand in as proxies whose calls go to the learner's process with plain data (str, bytes,
numbers, lists...) and come back as plain data (:mod:`~wslearn.grading.judge`,
:mod:`~wslearn.grading.remote`). Expected values, hidden tests, hints and the teacher's
solutions never enter the learner's process. What learner code does to its own process
(patch a module, replace a check, hook IPython, print "✓ all cases pass", return a string
that equals everything) changes only what that process answers.

The learner's process runs in a **sandbox** made by bubblewrap
(:mod:`~wslearn.grading.sandbox`), one per learner and exercise: a read-only view of the
system and of a copy of ``wslearn`` without checks, grading code or the library functions
that answer the exercise being judged (:mod:`~wslearn.grading.package_view`: delegating
``accept_key`` to ``wslearn.accept_key`` earns nothing, and the message says the exercise
asks you to write it); a private throw-away ``/tmp``; no network; an unprivileged user;
limits on CPU, memory, processes, files; every process it started ends with it. The
teacher's sources, the other hand-ins, the report and the grader's files are not in view.

An exercise scores its points when its check cell runs without error; otherwise 0 and a
message: the check's own (what was wrong, and a hint, never the answer), a hidden test that
failed (not shown: it holds the answer), or what went wrong in the learner's cell (a syntax
error, a time-out...). A time-out or a crash costs only the exercise at hand: a fresh
process replays the cells so far and grading goes on.

The capstone: notebooks carried over
====================================

Notebook 12 builds a server from the learner's own functions of notebooks 01-07 and has no
code of its own to judge. A check cell whose metadata says ``"wslearn": {"carried_over":
["01", "02"]}`` (read from the teacher's notebook only) scores the pieces of those notebooks
(:data:`wslearn.capstone.pieces.PIECES`): its points times the share of pieces whose exercise
earned full points for that learner in the same run; the message names each borrowed piece
and why. Such a notebook is never replayed; the notebooks it needs are judged once per
learner who handed it in, shown in the report or not (:mod:`~wslearn.grading.carried_over`).
A learner who did not hand in notebook 12 gets 0 for it, as for any notebook.

Where ``bwrap`` cannot make a sandbox, ``grade`` refuses to run learner code, unless the
teacher passes ``--trusted-class``: then each learner still runs in a process of their own,
judged outside it, but with the teacher's rights, and the report says so.
"""

from __future__ import annotations

from .exercises import Exercise, exercises_of
from .grader import grade_submissions
from .report import Report, Score, format_messages, format_table, write_report
from .sandbox import SandboxUnavailable
from .submissions import find_submissions, learner_solutions

__all__ = [
    "Exercise",
    "Score",
    "Report",
    "SandboxUnavailable",
    "exercises_of",
    "find_submissions",
    "learner_solutions",
    "grade_submissions",
    "write_report",
    "format_table",
    "format_messages",
]
