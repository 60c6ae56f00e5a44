"""The package's shape: one job per module, none too long, none reaching into another's privates.

What ``wslearn/`` promises a reader who opens it (README, "What's inside"):

* every module is short enough to read in one sitting (under 450 lines); ``checks/`` is the
  exception, being redesigned around a shared case model;
* no module reads or writes another object's private attributes (``conn._sock``) or imports
  another module's private names: what one module offers another is public;
* no block of 8 lines or more is copied between modules (pylint's duplicate-code check);
* importing the protocol core (``wslearn.frames``) loads neither the server, nor sockets, nor
  the views: the package imports those only when they are used.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import List, Set

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "wslearn"
NOT_YET = ("checks",)  # being redesigned; see the module docstring
MAX_LINES = 450
#: Names with a leading underscore that are public API by convention (named tuples).
PUBLIC_BY_CONVENTION = {"_fields", "_replace", "_asdict", "_make", "_field_defaults"}


def modules() -> List[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if not path.relative_to(PACKAGE).as_posix().startswith(NOT_YET)
    )


def class_private_names(cls: ast.ClassDef) -> Set[str]:
    """The private attributes a class makes: ``self._x = ...``, its own ``_x`` names."""
    names = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if isinstance(node.value, ast.Name) and node.value.id == "self":
                names.add(node.attr)
    for item in cls.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(item.name)
        elif isinstance(item, (ast.Assign, ast.AnnAssign)):
            targets = item.targets if isinstance(item, ast.Assign) else [item.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return {name for name in names if name.startswith("_")}


def private_reaches(source: str) -> List[str]:
    """Each ``obj._name`` read outside the class that makes ``_name`` (``other._x`` inside
    that class is its own business, as in ``__eq__``), and each ``from .x import _y``."""
    found: List[str] = []

    def visit(node: ast.AST, own: Set[str]) -> None:
        if isinstance(node, ast.ClassDef):
            own = class_private_names(node)
        elif isinstance(node, ast.Attribute):
            name = node.attr
            # _x is private; __x__ and IPython's _repr_html_ hooks are protocols, not privates.
            private = name.startswith("_") and not name.endswith("_")
            if private and name not in PUBLIC_BY_CONVENTION and name not in own:
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            found.extend(
                f"{node.lineno}: from {'.' * node.level}{node.module or ''} import {alias.name}"
                for alias in node.names
                if alias.name.startswith("_") and not alias.name.startswith("__")
            )
        for child in ast.iter_child_nodes(node):
            visit(child, own)

    visit(ast.parse(source), set())
    return found


def test_the_private_reach_finder_finds_each_kind() -> None:
    source = (
        "conn._sock.close()\n"
        "self.server._lock\n"
        "from .masking import _prefix\n"
        "class A:\n"
        "    def __init__(self): self._own = 1\n"
        "    def __eq__(self, other): return other._own\n"
        "header._replace(fin=True)\n"
        "obj.__class__\n"
        "table._repr_html_()\n"
        "sys._getframe()\n"
    )
    found = sorted(int(item.split(":")[0]) for item in private_reaches(source))
    assert found == [1, 2, 3, 10]


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_reaches_into_another_objects_privates(path: Path) -> None:
    found = private_reaches(path.read_text(encoding="utf-8"))
    assert not found, f"{path.relative_to(ROOT)}:\n" + "\n".join(found)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_is_short_enough_to_read(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines < MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


def test_no_block_of_eight_lines_is_copied_between_modules() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pylint", "--disable=all", "--enable=duplicate-code",
         "--min-similarity-lines=8", "--score=n", str(PACKAGE)],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )  # fmt: skip
    assert "duplicate-code" not in result.stdout, result.stdout
    assert result.returncode == 0, result.stdout + result.stderr


def loaded_after(statement: str) -> List[str]:
    """The modules a fresh interpreter has loaded after ``statement``."""
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
        cwd=ROOT,
    )  # fmt: skip
    return json.loads(result.stdout)


def test_importing_the_core_loads_no_server_sockets_or_views() -> None:
    loaded = set(loaded_after("import wslearn.frames"))
    for module in ("wslearn.server", "wslearn.views", "wslearn.widget", "socket", "selectors",
                   "threading", "IPython", "matplotlib", "ipywidgets"):  # fmt: skip
        assert module not in loaded, f"import wslearn.frames loaded {module}"
    # numpy is loaded: masking picks its optional speed-up at import, the way websockets
    # picks its C extension (a failed import falls back to the plain function).
    assert "numpy" in loaded and "wslearn.speedups" in loaded


def test_the_package_loads_what_a_name_needs_when_it_is_used() -> None:
    loaded = set(loaded_after("import wslearn; wslearn.Connection; wslearn.parse_frame_header"))
    assert "wslearn.server" not in loaded and "wslearn.views" not in loaded
    loaded = set(loaded_after("import wslearn; wslearn.serve"))
    assert "wslearn.server" in loaded
