"""What the notebooks say and do, read from their files: claims that must stay true.

These tests read the source notebooks as JSON; they run no kernel.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import List

import pytest
from IPython.core.inputtransformer2 import TransformerManager

from wslearn.classroom import cell_source

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
DATA_FILES = sorted(p.name for p in (ROOT / "wslearn" / "data").iterdir() if p.is_file())


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def code_trees(path: Path) -> List[ast.AST]:
    """Every code cell of a notebook, as Python syntax trees (IPython's syntax translated)."""
    to_python = TransformerManager().transform_cell
    return [
        ast.parse(to_python(cell_source(cell)))
        for cell in load(path)["cells"]
        if cell["cell_type"] == "code"
    ]


# ---------------------------------------------------------------- the shipped data


def test_the_course_ships_data_files():
    assert "chromium_frames.json" in DATA_FILES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_notebook_reads_the_shipped_data_files_itself(path: Path):
    # wslearn.recording.chromium_capture() is the one way in; a notebook that builds the path
    # (wslearn.__file__ + "data" + a file name) breaks when the data moves or changes format.
    for tree in code_trees(path):
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                assert node.attr != "__file__", f"{path.name} looks up a module's __file__"
            if isinstance(node, ast.Name):
                assert node.id != "__file__", f"{path.name} uses __file__"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                named = [name for name in DATA_FILES if name in node.value]
                assert not named, f"{path.name} names {named} in its code"


def test_the_notebooks_that_show_the_chromium_capture_load_it_through_the_library():
    calling = {
        path.stem
        for path in NOTEBOOKS
        for tree in code_trees(path)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "chromium_capture"
    }
    assert {"05_live_server", "06_talking_back_and_closing"} <= calling
