"""The report shows learner text as plain text: no terminal control, no spreadsheet formulas."""

from __future__ import annotations

import csv
from pathlib import Path

from wslearn.grading.exercises import Exercise
from wslearn.grading.report import (
    Report,
    Score,
    format_messages,
    format_table,
    plain_text,
    write_report,
)

EXERCISE = Exercise("02_accept_key.ipynb", "accept_key-check", 2, 5, (4,), ("accept_key",))


def report(student: str, message: str) -> Report:
    score = Score(student, EXERCISE.notebook, EXERCISE.grade_id, 0, 2, message, "accept_key")
    return Report([score], [EXERCISE], [student])


def test_escape_sequences_and_control_characters_are_taken_out():
    sneaky = (
        "\x1b]0;owned\x07wrong\x1b[3A\x1b[2Kalice 02 accept_key: 2/2\x1bE\r\n"
        "\u202eevil\x00\x07\x9b31m"
    )
    shown = plain_text(sneaky)
    assert shown == "wrongalice 02 accept_key: 2/2  evil31m"
    assert all(ord(c) >= 32 and c != "\x7f" for c in shown)
    assert plain_text("ü, 你好, 👋 — fine") == "ü, 你好, 👋 — fine"


def test_the_printed_table_and_messages_hold_no_control():
    graded = report("eve\x1b[2J", "your function raised Exception: \x1b[1A\x1b[2Kfake")
    for text in (format_table(graded), format_messages(graded)):
        assert "\x1b" not in text


def test_csv_cells_never_start_a_formula(tmp_path: Path):
    formula = '=HYPERLINK("http://example.invalid","details")'
    rows_path, totals_path = write_report(report("@eve", formula), tmp_path / "report.csv")
    with rows_path.open(encoding="utf-8", newline="") as f:
        (row,) = list(csv.DictReader(f))
    assert row["message"] == "'" + formula and row["student"] == "'@eve"
    with totals_path.open(encoding="utf-8", newline="") as f:
        (total,) = list(csv.DictReader(f))
    assert total["student"] == "'@eve"
