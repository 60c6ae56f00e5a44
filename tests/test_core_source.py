"""The protocol core reads like the RFC: plain Python, no interpreter tricks.

Learners read these modules (notebooks show their source). A test over their syntax trees fails
on what teaches CPython instead of RFC 6455: ``ctypes``, ``id()`` (an object's address in
CPython), ``object.__new__`` / ``object.__setattr__`` (going around a class's own constructor),
``__dict__`` writes, the enum's private maps, and importing another module's private names. Speed
lives in :mod:`wslearn.speedups`, which is optional and not part of the core.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import List

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ["frames", "masking", "reader", "connection", "handshake", "errors", "opcodes"]
PRIVATE_ENUM = {"_value2member_map_", "_member_map_", "_member_names_", "_missing_"}


def tricks(source: str) -> List[str]:
    """Each trick found in ``source``, as ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            found += [f"{line}: imports {a.name}" for a in node.names if a.name == "ctypes"]
        elif isinstance(node, ast.ImportFrom):
            if node.module == "ctypes":
                found.append(f"{line}: imports from ctypes")
            if node.level > 0:  # from .module import _private
                found += [
                    f"{line}: imports the private name {a.name} of another module"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "id":
                found.append(f"{line}: id() (an address in CPython)")
        elif isinstance(node, ast.Attribute):
            if node.attr == "__dict__":
                found.append(f"{line}: __dict__")
            elif node.attr in PRIVATE_ENUM:
                found.append(f"{line}: the enum's private {node.attr}")
            elif (
                node.attr in ("__new__", "__setattr__")
                and isinstance(node.value, ast.Name)
                and node.value.id == "object"
            ):
                found.append(f"{line}: object.{node.attr}")
    return found


def test_the_finder_finds_each_trick() -> None:
    source = (
        "import ctypes\n"
        "from .masking import _prefix_and_mask\n"
        "x = id(y) + 16\n"
        "h = object.__new__(H)\n"
        "h.__dict__.update(a=1)\n"
        "object.__setattr__(h, 'a', 1)\n"
        "t = Opcode._value2member_map_\n"
        "from .opcodes import Opcode\n"
    )
    assert sorted(int(item.split(":")[0]) for item in tricks(source)) == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("module", CORE)
def test_the_core_uses_plain_python(module: str) -> None:
    path = ROOT / "wslearn" / f"{module}.py"
    found = tricks(path.read_text(encoding="utf-8"))
    assert not found, f"wslearn/{module}.py:\n" + "\n".join(found)
