"""Notebook 12's points: one per piece that is the learner's own, 0 and the reason for a
borrowed one; the graded cells of notebook 12 cover every piece once, and say which notebooks
they score in the metadata that ``wslearn grade`` reads."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from wslearn.capstone import PIECES, load_pieces, pieces_of, score_pieces
from wslearn.classroom import carried_over, is_check_cell, make_learner_copy

ROOT = Path(__file__).resolve().parents[1]
CAPSTONE = ROOT / "notebooks" / "12_your_server.ipynb"


def graded_cells() -> list:
    notebook = json.loads(CAPSTONE.read_text(encoding="utf-8"))
    return [cell for cell in notebook["cells"] if is_check_cell(cell)]


def test_each_piece_of_yours_earns_a_point(capsys: pytest.CaptureFixture[str]) -> None:
    pieces = load_pieces(ROOT / "notebooks")
    assert score_pieces(pieces, "01", "02") == 5.0
    out = capsys.readouterr().out
    assert out.count("yours, 1 point") == 5 and "5 of 5 points" in out


def test_a_borrowed_piece_earns_nothing_and_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    pieces = load_pieces(ROOT / "notebooks").replaced(pong_for=lambda frame: b"")
    assert score_pieces(pieces, "06", "07") == 4.0
    out = capsys.readouterr().out
    assert "✗ pong_for (notebook 06): borrowed, 0 points: replaced in notebook 12" in out
    assert "4 of 5 points" in out
    blank = load_pieces(ROOT / "student")
    assert score_pieces(blank, "03", "04", "05") == 0.0
    assert "NotImplementedError" in capsys.readouterr().out


@pytest.mark.parametrize("notebooks", [(), ("08",), ("1",)])
def test_only_the_notebooks_that_hold_pieces_can_be_named(notebooks: tuple) -> None:
    with pytest.raises(ValueError, match="name notebooks among 01, 02"):
        pieces_of(*notebooks)


def test_the_graded_cells_score_every_piece_once_a_point_each() -> None:
    scored = []
    for cell in graded_cells():
        notebooks = carried_over(cell)
        call = ast.parse("".join(cell["source"])).body[-1]
        assert isinstance(call, ast.Expr) and isinstance(call.value, ast.Call)
        # the cell scores the notebooks its metadata names: the grader reads the metadata
        assert tuple(arg.value for arg in call.value.args[1:]) == notebooks  # type: ignore[attr-defined]
        names = pieces_of(*notebooks)
        assert cell["metadata"]["nbgrader"]["points"] == len(names)
        scored += names
    assert sorted(scored) == sorted(spec.name for spec in PIECES)
    assert len(scored) == len(set(scored))


def test_the_learner_copy_has_no_stuck_link_after_them() -> None:
    notebook = json.loads(CAPSTONE.read_text(encoding="utf-8"))
    copy = make_learner_copy(notebook, "../notebooks/12_your_server.ipynb")
    assert len([c for c in copy["cells"] if is_check_cell(c)]) == 3
    assert not [c for c in copy["cells"] if "Stuck?" in "".join(c["source"])]
    other = json.loads((ROOT / "notebooks" / "02_accept_key.ipynb").read_text(encoding="utf-8"))
    stuck = make_learner_copy(other, "../notebooks/02_accept_key.ipynb")
    assert [c for c in stuck["cells"] if "Stuck?" in "".join(c["source"])]


def test_nbgrader_reads_the_cells_value_as_partial_credit() -> None:
    """nbgrader's autograde scores a graded cell by its value: the stored run of the full
    notebook earns every point, and a borrowed piece's 0 is read as 0, not as full marks."""
    import nbformat
    from nbgrader.utils import determine_grade

    notebook = nbformat.read(str(CAPSTONE), as_version=4)
    cells = [cell for cell in notebook.cells if is_check_cell(cell)]
    assert [determine_grade(cell) for cell in cells] == [(5.0, 5.0)] * 3
    blank = load_pieces(ROOT / "student")
    half = load_pieces(ROOT / "notebooks").replaced(is_control=lambda opcode: opcode >= 8)
    for pieces, expected in [(blank, 0.0), (half, 4.0)]:
        cell = cells[1]
        value = score_pieces(pieces, "03", "04", "05")
        cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": repr(value)})]
        assert determine_grade(cell) == (expected, 5.0)
