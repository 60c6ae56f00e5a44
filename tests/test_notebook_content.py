"""What the notebooks say and do, read from their files: claims that must stay true.

These tests read the source notebooks as JSON; they run no kernel.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import List

import pytest
from IPython.core.inputtransformer2 import TransformerManager

from wslearn.classroom import cell_source

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
INDEX = ROOT / "notebooks" / "00_index.ipynb"
COURSE = [path for path in NOTEBOOKS if path != INDEX]
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
    # wslearn.course_data.chromium_capture() is the one way in; a notebook that builds the path
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


# ---------------------------------------------------------------- the index's claims

_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


def _size_claim() -> str:
    (text,) = [
        cell_source(cell)
        for cell in load(INDEX)["cells"]
        if cell["cell_type"] == "markdown" and "How long it takes" in cell_source(cell)
    ]
    return " ".join(text.split())


def _claimed_range(pattern: str) -> List[int]:
    match = re.search(pattern, _size_claim())
    assert match, f"the index no longer says /{pattern}/: update this test with it"
    return [int(number.replace(",", "")) for number in match.groups()]


def _stated_honestly(what: str, claimed: List[int], measured: List[int]) -> None:
    """The claim covers every notebook, and is no more than 10% looser than the facts."""
    low, high = claimed
    fewest, most = min(measured), max(measured)
    assert low <= fewest and most <= high, (
        f"{what}: the index says {low}–{high}, but the notebooks have {measured}"
    )
    assert low >= 0.9 * fewest and high <= 1.1 * most, (
        f"{what}: the index says {low}–{high}, but the notebooks have {fewest}–{most}"
    )


def _markdown_words(notebook: dict) -> int:
    return sum(
        len(cell_source(c).split()) for c in notebook["cells"] if c["cell_type"] == "markdown"
    )


def test_the_index_states_how_many_cells_each_notebook_has():
    measured = [len(load(path)["cells"]) for path in COURSE]
    _stated_honestly("cells", _claimed_range(r"(\d+)–(\d+) cells"), measured)


def test_the_index_states_how_many_words_of_text_each_notebook_has():
    assert "words of its Markdown cells" in _size_claim()  # what is counted, said
    measured = [_markdown_words(load(path)) for path in COURSE]
    _stated_honestly("words", _claimed_range(r"([\d,]+)–([\d,]+) words"), measured)


def test_the_index_states_how_many_exercises_each_notebook_ends_with():
    match = re.search(r"\b(\w+) or (\w+) exercises", _size_claim())
    assert match, "the index no longer says how many exercises: update this test with it"
    claimed = tuple(_NUMBERS[word] for word in match.groups())
    counts = [
        sum(
            bool(c.get("metadata", {}).get("nbgrader", {}).get("grade"))
            for c in load(path)["cells"]
        )
        for path in COURSE
    ]
    assert claimed == (min(counts), max(counts)), f"the notebooks have {counts} exercises"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_notebook_stores_its_widgets_state(path: Path):
    """A notebook saved with its widgets' state keeps a copy of the widget's JavaScript, which
    JupyterLab would run again when the notebook is reopened, against a server long gone and
    with the code of the day it was saved."""
    assert "widgets" not in load(path).get("metadata", {}), path.name
