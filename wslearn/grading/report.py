"""The report of a grading run: a score per learner and exercise, as CSV and as a table.

``report.csv`` gets one row per learner × exercise: ``student, notebook, grade_id`` (of the
check cell, as in nbgrader's gradebook), ``points, max_points, message`` (empty when the
check passed). Next to it, ``report-totals.csv`` has one row per learner: a column per
exercise, ``total`` and ``max``. The same table is printed.
"""

from __future__ import annotations

import csv
import dataclasses
import textwrap
from pathlib import Path
from typing import List, Tuple

from .exercises import Exercise

__all__ = ["Score", "Report", "write_report", "format_table", "format_messages"]


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
                    s.student,
                    s.notebook,
                    s.grade_id,
                    _number(s.points),
                    _number(s.max_points),
                    s.message,
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
                    student,
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
        row = [student]
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
            lines.append(f"{s.student} {s.notebook} {s.grade_id}: {s.message}")
    return "\n".join(textwrap.shorten(line, 300, placeholder=" …") for line in lines)
