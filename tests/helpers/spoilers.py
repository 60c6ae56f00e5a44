"""Finding a solution's text where a learner should not see it.

The source notebooks hold every exercise's solution between ``### BEGIN SOLUTION`` /
``### END SOLUTION`` and hidden tests between ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN
TESTS``. A copy a learner works in must hold none of that text: not in its exercise cells, and not
in the explanations around them (a teaching cell that prints the answer word for word spoils the
exercise just as much). A *line* of those blocks counts when it says something specific: at least
:data:`MIN_CHARS` characters once spaces are collapsed (``return None`` is everybody's).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List, Set, Tuple

MIN_CHARS = 20
#: A solution or hidden-test block of a source notebook: (kind, body).
BLOCK = re.compile(
    r"^[ \t]*### BEGIN (SOLUTION|HIDDEN TESTS)[^\n]*\n(.*?)^[ \t]*### END \1", re.M | re.S
)


def _text(cell: Dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def normalise(line: str) -> str:
    return " ".join(line.split())


_RETURNED = re.compile(r"^(?:return|yield)\s+(.*)$")


def _variants(line: str) -> List[str]:
    """The line, and what it returns (an explanation may quote just the expression)."""
    match = _RETURNED.match(line)
    return [line, match.group(1)] if match else [line]


def spoiler_lines(notebook: Dict[str, Any]) -> Set[str]:
    """The specific lines of every solution and hidden-test block of a source notebook."""
    lines: Set[str] = set()
    for cell in notebook["cells"]:
        for _kind, body in BLOCK.findall(_text(cell)):
            for line in map(normalise, body.splitlines()):
                if line.startswith("#"):
                    continue
                lines.update(v for v in _variants(line) if len(v.replace(" ", "")) >= MIN_CHARS)
    return lines


def spoilers_in(copy: Dict[str, Any], lines: Set[str]) -> List[Tuple[int, str]]:
    """``(cell index, line)`` for each spoiler line found in any cell of ``copy``."""
    found = []
    for index, cell in enumerate(copy["cells"]):
        text = "\n".join(normalise(line) for line in _text(cell).splitlines())
        found += [(index, line) for line in sorted(lines) if line in text]
    return found


def read(path: Path) -> Dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def spoilers_in_folder(folder: Path, sources: Path) -> List[str]:
    """Every spoiler found in ``folder/*.ipynb``, as ``name, cell N: line`` (empty: none)."""
    problems = []
    for source in sorted(sources.glob("*.ipynb")):
        target = folder / source.name
        if not target.exists():
            continue
        for index, line in spoilers_in(read(target), spoiler_lines(read(source))):
            problems.append(f"{folder.name}/{source.name}, cell {index}: {line}")
    return problems
