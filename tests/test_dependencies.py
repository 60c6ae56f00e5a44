"""What the course imports is what it declares.

Every module imported at run time by a notebook (``notebooks/``, ``student/``) or by the library
(``wslearn/``) must come from the standard library, from ``wslearn`` itself, or from a
distribution named in ``requirements.txt`` and ``binder/requirements.txt`` — and, for what
``wslearn`` imports, in ``pyproject.toml``'s ``dependencies`` too. A package that only the
developers' environment happens to have (``requirements-dev.txt``) breaks the course for every
learner, so this test reads every import of every code cell and module and names the notebook,
cell and module that is not declared.

Imports under ``if TYPE_CHECKING:`` are not run, so they do not count. A module is mapped to the
distribution that provides it with :func:`importlib.metadata.packages_distributions` (``IPython``
comes from ``ipython``).
"""

from __future__ import annotations

import ast
import json
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Dict, Iterator, List, NamedTuple, Optional

import pytest
from test_project import _normalise, read_requirements

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the project's Python is 3.11
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
LOCAL = {"wslearn"}


class Import(NamedTuple):
    where: str  # "notebooks/02_accept_key.ipynb, cell 29" or "wslearn/grading.py:742"
    module: str  # the top-level module name


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def run_time_imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """``(line, top-level module)`` of each absolute import, skipping ``if TYPE_CHECKING:``."""
    stack: List[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module.split(".")[0]
        stack.extend(ast.iter_child_nodes(node))


def python_source(cell_source: str) -> str:
    """A code cell as plain Python: IPython's magics and shell escapes turned into calls."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell_source)


def notebook_imports(path: Path) -> Iterator[Import]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = cell["source"]
        source = "".join(source) if isinstance(source, list) else source
        tree = ast.parse(python_source(source))
        for _line, module in run_time_imports(tree):
            yield Import(f"{path.relative_to(ROOT)}, cell {index}", module)


def library_imports() -> Iterator[Import]:
    for path in sorted((ROOT / "wslearn").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, module in run_time_imports(tree):
            yield Import(f"{path.relative_to(ROOT)}:{line}", module)


def course_notebooks() -> List[Path]:
    return sorted((ROOT / "notebooks").glob("*.ipynb")) + sorted((ROOT / "student").glob("*.ipynb"))


def pyproject_dependencies() -> Dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found: Dict[str, str] = {}
    for requirement in project.get("dependencies", []):
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$", requirement)
        assert match, f"pyproject.toml: cannot parse dependency {requirement!r}"
        parts = sorted(p for p in match.group(3).replace(" ", "").split(",") if p)
        found[_normalise(match.group(1))] = ",".join(parts)
    return found


_DISTRIBUTIONS = packages_distributions()


def distribution_of(module: str) -> Optional[str]:
    """The normalised name of the distribution that provides ``module``, or None (stdlib, local,
    or not installed here)."""
    if module in sys.stdlib_module_names or module in LOCAL:
        return None
    names = _DISTRIBUTIONS.get(module)
    if not names:
        return f"(no installed distribution provides {module!r})"
    return _normalise(names[0])


def undeclared(imports: List[Import], declared: Dict[str, str], where: str) -> List[str]:
    problems = []
    for item in imports:
        distribution = distribution_of(item.module)
        if distribution is not None and distribution not in declared:
            problems.append(
                f"{item.where}: imports {item.module!r} ({distribution}), not declared in {where}"
            )
    return sorted(set(problems))


def test_the_scanner_finds_run_time_imports_and_skips_type_checking() -> None:
    source = (
        "import os, numpy.linalg as la\n"
        "from websockets.sync.client import connect\n"
        "from . import frames\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    import playwright\n"
        "else:\n"
        "    import json\n"
        "def f():\n"
        "    import nbformat\n"
    )
    found = sorted(module for _line, module in run_time_imports(ast.parse(source)))
    assert found == ["json", "nbformat", "numpy", "os", "typing", "websockets"]
    assert "import os" in python_source("%matplotlib inline\nimport os\n")
    assert distribution_of("IPython") == "ipython"
    assert distribution_of("json") is None and distribution_of("wslearn") is None


def test_undeclared_names_the_place_and_the_module() -> None:
    imports = [Import("notebooks/x.ipynb, cell 3", "websockets"), Import("x", "json")]
    assert undeclared(imports, {"numpy": ""}, "requirements.txt") == [
        "notebooks/x.ipynb, cell 3: imports 'websockets' (websockets), not declared in "
        "requirements.txt"
    ]
    assert undeclared(imports, {"websockets": ""}, "requirements.txt") == []


@pytest.mark.parametrize("requirements", ["requirements.txt", "binder/requirements.txt"])
def test_every_import_of_the_course_is_declared(requirements: str) -> None:
    declared = read_requirements(ROOT / requirements)
    imports = list(library_imports())
    for path in course_notebooks():
        imports += list(notebook_imports(path))
    assert len(imports) > 100, "the scanner found suspiciously few imports"
    problems = undeclared(imports, declared, requirements)
    assert not problems, "\n".join(problems)


def test_every_import_of_the_library_is_a_dependency_of_the_package() -> None:
    problems = undeclared(list(library_imports()), pyproject_dependencies(), "pyproject.toml")
    assert not problems, "\n".join(problems)


def test_package_dependencies_agree_with_requirements() -> None:
    """The same version range wherever a distribution is named."""
    package = pyproject_dependencies()
    assert package, "pyproject.toml declares no dependencies"
    for requirements in ("requirements.txt", "binder/requirements.txt"):
        declared = read_requirements(ROOT / requirements)
        for name, spec in package.items():
            assert name in declared, f"{name} is a dependency of wslearn but not in {requirements}"
            assert declared[name] == spec, (
                f"{name}: pyproject.toml says {spec!r}, {requirements} says {declared[name]!r}"
            )
