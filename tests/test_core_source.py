"""The protocol core reads like the RFC: plain Python, no interpreter tricks.

Learners read these modules (notebooks show their source). A test over their syntax trees fails
on what teaches CPython instead of RFC 6455: ``ctypes``, ``id()`` (an object's address in
CPython), ``object.__new__`` / ``object.__setattr__`` (going around a class's own constructor),
``__dict__`` writes, the enum's private maps, and importing another module's private names. Speed
lives in :mod:`wslearn.speedups`, which is optional and not part of the core.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import List

import pytest

import wslearn

ROOT = Path(__file__).resolve().parent.parent
CORE = [
    "frames",
    "close",
    "masking",
    "reader",
    "connection",
    "handshake",
    "http11",
    "errors",
    "opcodes",
    "bytes_like",
    "extensions",
    "permessage_deflate",
]
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


def assignments_of(source: str, name: str) -> List[int]:
    """Lines where ``source`` binds ``name`` at any depth (``name = ...``, ``name: T = ...``)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        else:
            continue
        for target in targets:
            for leaf in ast.walk(target):
                if isinstance(leaf, ast.Name) and leaf.id == name:
                    lines.append(node.lineno)
    return lines


def test_the_assignment_finder_finds_each_form() -> None:
    source = (
        "BytesLike = Union[bytes, bytearray]\n"
        "BytesLike: Any = bytes\n"
        "a, BytesLike = 1, 2\n"
        "def f():\n"
        "    BytesLike = bytes\n"
        "from .bytes_like import BytesLike\n"
        "x: BytesLike = b''\n"
    )
    assert assignments_of(source, "BytesLike") == [1, 2, 3, 5]


def test_bytes_like_is_defined_once_in_its_own_module() -> None:
    where = {}
    for path in sorted((ROOT / "wslearn").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = assignments_of(source, "BytesLike")
        # A text search too, for a definition the syntax tree would not show as one.
        lines += [
            number
            for number, line in enumerate(source.splitlines(), 1)
            if line.lstrip().startswith("BytesLike =") and number not in lines
        ]
        if lines:
            where[path.name] = lines
    assert list(where) == ["bytes_like.py"], where
    assert len(where["bytes_like.py"]) == 1
    from wslearn import bytes_like, close, connection, frames, http11, masking, reader

    for module in (close, connection, frames, http11, masking, reader):
        assert module.BytesLike is bytes_like.BytesLike, module.__name__


def test_opcodes_has_no_data_or_control_opcode_sets() -> None:
    opcodes = importlib.import_module("wslearn.opcodes")
    for name in ("DATA_OPCODES", "CONTROL_OPCODES"):
        assert not hasattr(opcodes, name), name
        assert name not in opcodes.__all__
        assert not hasattr(wslearn, name), name
    source = (ROOT / "wslearn" / "opcodes.py").read_text(encoding="utf-8")
    assert "DATA_OPCODES" not in source and "CONTROL_OPCODES" not in source
