"""The report of a grading run: a score per learner and exercise, as CSV and as a table.

``report.csv`` gets one row per learner × exercise: ``student, notebook, grade_id`` (of the
check cell, as in nbgrader's gradebook), ``points, max_points, message`` (empty when the
check passed). Next to it, ``report-totals.csv`` has one row per learner: a column per
exercise, ``total`` and ``max``. The same table is printed.

Learner text (a message carries what their code raised; a folder name is theirs) is shown as
plain text only: terminal control sequences and other control characters are taken out, so
nothing in the report can move the cursor or redraw the teacher's terminal; and a CSV cell
that would start a spreadsheet formula (``=``, ``+``, ``-``, ``@``) starts with ``'``.
"""

from __future__ import annotations

import csv
import dataclasses
import re
import textwrap
import unicodedata
from pathlib import Path
from typing import List, Tuple

from .exercises import Exercise

__all__ = [
    "Score",
    "Report",
    "write_report",
    "format_table",
    "format_messages",
    "plain_text",
    "one_line",
]


@dataclasses.dataclass
class Score:
    """One learner's result on one exercise."""

    student: str
    notebook: str
    grade_id: str
    points: float
    max_points: float
    message: str = ""
    exercise: str = ""


@dataclasses.dataclass
class Report:
    """Every score, in the order students × notebooks × exercises."""

    scores: List[Score]
    exercises: List[Exercise]
    students: List[str]
    warnings: List[str] = dataclasses.field(default_factory=list)
    #: How learner code was kept apart (printed under the table): a sandbox, or not.
    protection: str = ""

    def total(self, student: str) -> float:
        return sum(s.points for s in self.scores if s.student == student)

    @property
    def max_points(self) -> float:
        return sum(e.points for e in self.exercises)


#: A terminal escape sequence: CSI (``ESC [ ... m``), OSC (``ESC ] ... BEL``), or ESC and one more.
_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.?)", re.S)
#: Characters that reorder the text around them when shown.
_BIDI = {chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}


def plain_text(text: str) -> str:
    """``text`` without escape sequences, control characters (a line break becomes a space)
    or bidirectional overrides: what it says, never how a terminal would draw it."""
    text = _ESCAPE.sub("", text)
    return "".join(
        " " if char in "\n\r\t" else char
        for char in text
        if char in "\n\r\t" or (unicodedata.category(char) != "Cc" and char not in _BIDI)
    )


def one_line(text: str, limit: int = 400) -> str:
    """One line of :func:`plain_text`, spaces collapsed, at most ``limit`` characters."""
    text = " ".join(plain_text(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _cell(text: str) -> str:
    """A CSV cell of learner text: plain, and never read as a formula by a spreadsheet."""
    text = plain_text(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


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
                    _cell(s.student),
                    _cell(s.notebook),
                    _cell(s.grade_id),
                    _number(s.points),
                    _number(s.max_points),
                    _cell(s.message),
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
                    _cell(student),
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
        row = [plain_text(student)]
        for e in report.exercises:
            s = by.get((e.notebook, e.grade_id))
            row.append("-" if s is None else _number(s.points))
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
    if report.protection:
        lines += ["", report.protection]
    return "\n".join(lines)


def format_messages(report: Report) -> str:
    """One line per exercise that did not earn its points, for the teacher's eyes."""
    lines = []
    for s in report.scores:
        if s.message:
            lines.append(plain_text(f"{s.student} {s.notebook} {s.grade_id}: {s.message}"))
    return "\n".join(textwrap.shorten(line, 300, placeholder=" …") for line in lines)
