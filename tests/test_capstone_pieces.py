"""Notebook 12's carry-over: the learner's functions from notebooks 01-07, judged piece by piece.

From the teacher's notebooks every piece is the learner's own; from the student copies (stubs)
every piece is borrowed from the library. A notebook with one wrong, broken or endless exercise
costs that piece only: it is borrowed with the reason, and loading never raises.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

from wslearn.capstone import pieces as pieces_module
from wslearn.capstone.fallbacks import LIBRARY
from wslearn.capstone.pieces import PIECES, Pieces, load_pieces
from wslearn.classroom import cell_source

ROOT = Path(__file__).resolve().parents[1]
NAMES = [spec.name for spec in PIECES]


def copy_notebooks(folder: Path) -> Path:
    for path in sorted((ROOT / "notebooks").glob("0[1-7]_*.ipynb")):
        shutil.copy(path, folder / path.name)
    return folder


def replace_cell(folder: Path, grade_id: str, change: Callable[[str], str]) -> None:
    """Change the source of the solution cell ``grade_id`` in the copy in ``folder``."""
    for path in folder.glob("0*.ipynb"):
        notebook: Dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        for cell in notebook["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution") and meta.get("grade_id") == grade_id:
                cell["source"] = change(cell_source(cell))
                path.write_text(json.dumps(notebook), encoding="utf-8")
                return
    raise AssertionError(f"no solution cell {grade_id}")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return copy_notebooks(tmp_path)


def test_the_teachers_notebooks_give_every_piece() -> None:
    pieces = load_pieces(ROOT / "notebooks")
    assert [piece.name for piece in pieces] == NAMES
    assert pieces.borrowed == [], repr(pieces)
    assert all(piece.function is not LIBRARY[piece.name][0] for piece in pieces)
    assert "15 of 15 pieces are yours" in repr(pieces)
    assert "<table>" in pieces._repr_html_() and "✓ yours" in pieces._repr_html_()


def test_the_student_copies_borrow_every_piece() -> None:
    pieces = load_pieces(ROOT / "student")
    assert pieces.yours == []
    for piece in pieces:
        assert piece.function is LIBRARY[piece.name][0]
        assert "not written yet" in piece.reason
        assert piece.status.startswith("borrowed: ") and piece.library in piece.status
    assert "↩ borrowed" in pieces._repr_html_()


def test_the_library_versions_pass_the_checks() -> None:
    for spec in PIECES:
        assert pieces_module._check(spec, LIBRARY[spec.name][0]) is None, spec.name


def test_a_wrong_solution_is_borrowed_with_the_checks_message(folder: Path) -> None:
    # The tutorial's mistake: base64 of the hex digest's text instead of the raw digest.
    replace_cell(folder, "accept_key", lambda s: s.replace(".digest()", ".hexdigest().encode()"))
    pieces = load_pieces(folder)
    assert pieces.borrowed == ["accept_key"]
    reason = pieces["accept_key"].reason
    assert reason.startswith("its check says: ") and "accept_key" in pieces["accept_key"].status
    assert pieces["accept_key"].library == "wslearn.handshake.accept_key"


def test_a_borrowed_piece_serves_the_learners_later_function(folder: Path) -> None:
    replace_cell(
        folder, "accept_key", lambda s: "def accept_key(key):\n    raise NotImplementedError()\n"
    )
    replace_cell(
        folder,
        "build_101",
        lambda s: (
            "def build_101(key):\n"
            "    return ('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\n'\n"
            "            'Connection: Upgrade\\r\\n'\n"
            "            f'Sec-WebSocket-Accept: {accept_key(key)}\\r\\n\\r\\n').encode()\n"
        ),
    )
    pieces = load_pieces(folder)
    assert pieces.borrowed == ["accept_key"]
    assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in pieces.build_101("dGhlIHNhbXBsZSBub25jZQ==")


def test_a_syntax_error_costs_its_piece_only(folder: Path) -> None:
    replace_cell(
        folder, "close_payload", lambda s: s.replace("def close_payload(", "def close_payload((")
    )
    pieces = load_pieces(folder)  # no exception
    assert pieces.borrowed == ["close_payload"]
    assert "SyntaxError" in pieces["close_payload"].reason


def test_a_cell_that_raises_and_a_missing_notebook(folder: Path) -> None:
    replace_cell(folder, "pong_for", lambda s: "1 / 0\n" + s)
    (folder / "05_live_server.ipynb").unlink()
    (folder / "03_frame_header.ipynb").write_text("{not json", encoding="utf-8")
    pieces = load_pieces(folder)
    assert set(pieces.borrowed) == {"pong_for", "decode_frame", "payload_length",
                                    "encode_header", "is_control"}  # fmt: skip
    assert "ZeroDivisionError" in pieces["pong_for"].reason
    assert "no notebook 05_*.ipynb" in pieces["decode_frame"].reason
    assert "could not read the notebook" in pieces["is_control"].reason


def test_an_endless_function_is_stopped(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pieces_module, "CHECK_SECONDS", 0.5)
    replace_cell(
        folder, "is_control", lambda s: "def is_control(opcode):\n    while True:\n        pass\n"
    )
    pieces = load_pieces(folder)
    assert pieces.borrowed == ["is_control"]
    assert "still running after 0.5 s" in pieces["is_control"].reason


def test_only_what_the_solutions_use_is_run(folder: Path) -> None:
    # A cell that prints, and one that would fail, are left out; the solution's constant is in.
    path = folder / "04_unmasking.ipynb"
    notebook = json.loads(path.read_text(encoding="utf-8"))
    extra = [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "MASK_BIT = 0x80\nraise SystemExit('never run')\n"},
    ]  # fmt: skip
    notebook["cells"] = extra + notebook["cells"]
    path.write_text(json.dumps(notebook), encoding="utf-8")
    replace_cell(
        folder, "read_mask_key", lambda s: s.replace("frame[1] & 0x80", "frame[1] & MASK_BIT")
    )
    pieces = load_pieces(folder)
    assert pieces.borrowed == [], repr(pieces)


def test_the_default_folder_is_the_current_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT / "student")
    pieces = load_pieces()
    assert isinstance(pieces, Pieces) and pieces.folder == ROOT / "student"
    assert len(pieces.borrowed) == len(NAMES)
    with pytest.raises(AttributeError, match="no piece called"):
        pieces.__getattr__("no_such_piece")


def test_a_copy_made_by_jupyterlab_does_not_stand_in_for_the_notebook(folder: Path) -> None:
    """JupyterLab's Duplicate makes ``01_upgrade_request-Copy1.ipynb``, which sorts first."""
    original = next(folder.glob("01_*.ipynb"))
    copy = folder / (original.stem + "-Copy1.ipynb")
    copy.write_text("not a notebook", encoding="utf-8")
    pieces = load_pieces(folder)
    assert pieces["has_token"].notebook_file == original.name
