"""What a conformance run found: a score, and for each failure its notebook and its rule.

:class:`ConformanceReport` holds one :class:`CaseResult` per case; :func:`compare` lays two
reports side by side (the learner's server and ``wslearn.serve`` on the same cases). All of
them show as an HTML table in a notebook and as plain text elsewhere, through one small
:class:`Table`. :func:`compare_frames` lays side by side the frames two servers exchanged
with the same client (a browser sending the same messages to each). A report says what the
server did and which rule that breaks; it never says how to change the code.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .cases import CASES

__all__ = [
    "CaseResult",
    "ConformanceReport",
    "Comparison",
    "Table",
    "compare",
    "compare_frames",
    "case_table",
]


@dataclasses.dataclass(frozen=True)
class CaseResult:
    """One case's outcome.

    ``rule`` is the rule the case checks (the one broken, when it failed); ``seen`` says what
    the server did, in short, in order; ``seconds`` is how long the case took.
    """

    name: str
    passed: bool
    notebook: str
    rule: str
    seen: str
    seconds: float


class Table:
    """Rows of text cells: an HTML table in a notebook, aligned plain text elsewhere.

    Plain text puts the last column (the long one) under each row, indented, so that a
    line stays readable in a terminal.
    """

    def __init__(self, columns: Sequence[str], rows: Sequence[Sequence[str]], title: str = ""):
        self.columns = list(columns)
        self.rows = [list(row) for row in rows]
        self.title = title

    def __str__(self) -> str:
        short = [row[:-1] for row in [self.columns, *self.rows]]
        widths = [max(len(row[i]) for row in short) for i in range(len(self.columns) - 1)]
        lines = [self.title] if self.title else []
        for number, row in enumerate([self.columns, *self.rows]):
            cells = "  ".join(cell.ljust(width) for cell, width in zip(row, widths))
            lines.append(cells.rstrip())
            if number and row[-1]:
                lines.append(f"    {row[-1]}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td style='text-align:left'>{_html_cell(c)}</td>" for c in row)
            for row in self.rows
        )
        title = f"<p><b>{html.escape(self.title)}</b></p>" if self.title else ""
        return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_cell(text: str) -> str:
    escaped = html.escape(text)
    if text.startswith("PASS"):
        return f"<span style='color:#1a7f37'>{escaped}</span>"
    if text.startswith("FAIL"):
        return f"<span style='color:#cf222e'><b>{escaped}</b></span>"
    return escaped


def _verdict(result: Optional[CaseResult]) -> str:
    if result is None:
        return "-"
    return "PASS" if result.passed else "FAIL"


class Shown:
    """Shows itself through its :meth:`table`: HTML in a notebook, plain text elsewhere."""

    def table(self) -> Table:
        raise NotImplementedError

    def __str__(self) -> str:
        return str(self.table())

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()


@dataclasses.dataclass(repr=False)
class ConformanceReport(Shown):
    """The cases run against one server: ``results`` in order, and the whole run's ``seconds``."""

    target: str
    results: List[CaseResult]
    seconds: float

    @property
    def passed(self) -> int:
        return sum(result.passed for result in self.results)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def score(self) -> str:
        """``"9/12"``: cases passed out of cases run."""
        return f"{self.passed}/{self.total}"

    @property
    def failures(self) -> List[CaseResult]:
        return [result for result in self.results if not result.passed]

    def __getitem__(self, name: str) -> CaseResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def table(self) -> Table:
        """One row per case; a failure also names its notebook, its rule and what was seen."""
        rows = []
        for result in self.results:
            detail = f"{result.rule}. Seen: {result.seen}" if not result.passed else result.seen
            rows.append(
                [result.name, _verdict(result), f"{result.seconds:.2f} s", result.notebook, detail]
            )
        title = f"{self.target}: {self.score} passed in {self.seconds:.2f} s"
        return Table(["case", "result", "time", "notebook", "rule broken / what was seen"], rows,
                     title)  # fmt: skip


@dataclasses.dataclass(repr=False)
class Comparison(Shown):
    """Two reports on the same cases, side by side; ``differences`` names the cases whose
    verdicts differ."""

    first: ConformanceReport
    second: ConformanceReport
    names: Tuple[str, str]

    def _pairs(self) -> List[Tuple[str, Optional[CaseResult], Optional[CaseResult]]]:
        by_name: Dict[str, List[Optional[CaseResult]]] = {}
        for index, report in enumerate((self.first, self.second)):
            for result in report.results:
                by_name.setdefault(result.name, [None, None])[index] = result
        return [(name, pair[0], pair[1]) for name, pair in by_name.items()]

    @property
    def differences(self) -> List[str]:
        return [name for name, a, b in self._pairs() if _verdict(a) != _verdict(b)]

    def table(self) -> Table:
        """Every case; where the verdicts differ, what each server did and the rule."""
        rows = []
        for name, a, b in self._pairs():
            detail = ""
            if _verdict(a) != _verdict(b):
                failed = a if a is not None and not a.passed else b
                rule = f"{failed.notebook}: {failed.rule}. " if failed is not None else ""
                seen = [f"{who}: {r.seen}" for who, r in zip(self.names, (a, b)) if r]
                detail = rule + " | ".join(seen)
            mark = "differs" if detail else ""
            rows.append([name, _verdict(a), _verdict(b), mark, detail])
        title = (
            f"{self.names[0]} {self.first.score} · {self.names[1]} {self.second.score} · "
            f"{len(self.differences)} case(s) differ"
        )
        return Table(["case", *self.names, "", "what each server did"], rows, title)


def compare(
    first: ConformanceReport,
    second: ConformanceReport,
    names: Tuple[str, str] = ("your server", "wslearn.serve"),
) -> Comparison:
    """Lay two reports side by side (the learner's server first, by default)."""
    return Comparison(first, second, names)


def case_table() -> Table:
    """The cases a run makes, with the notebook of each topic and the rule it checks."""
    rows = [[case.name, case.notebook, case.expects, case.rule] for case in CASES]
    return Table(["case", "notebook", "the server must", "rule"], rows, "The conformance cases")


def _frames_of_last_connection(server: Any) -> Tuple[str, List[str]]:
    """A server's (or recorder's) last WebSocket connection: who, and its frames in order."""
    recorder = getattr(server, "recorder", server)
    upgraded = [record for record in recorder.connections() if record.status == 101]
    if not upgraded:
        return "no connection yet", []
    record = upgraded[-1]
    frames = [
        f"{'→' if frame.direction == 'in' else '←'} {frame.opcode_name} {frame.length} B"
        + ("" if frame.fin else " (not FIN)")
        for frame in recorder.frames(connection=record.id, direction=None)
    ]
    return f"#{record.id} from {record.peer}", frames


def compare_frames(
    first: Any, second: Any, names: Tuple[str, str] = ("your server", "wslearn.serve")
) -> Table:
    """The frames of each server's last WebSocket connection, row by row (→ from the
    client, ← from the server): the same client sending the same messages to both should
    see the same frames. ``first`` and ``second`` are servers with a ``recorder``."""
    (who_a, a), (who_b, b) = _frames_of_last_connection(first), _frames_of_last_connection(second)
    rows = []
    for index in range(max(len(a), len(b))):
        left = a[index] if index < len(a) else ""
        right = b[index] if index < len(b) else ""
        differs = a and b and left != right  # one side with no connection: nothing to compare
        rows.append([str(index + 1), left, right, "differs" if differs else ""])
    differ = sum(row[-1] == "differs" for row in rows)
    verdict = f"{differ} row(s) differ" if a and b else "nothing to compare yet"
    title = f"{names[0]} ({who_a}): {len(a)} frames · {names[1]} ({who_b}): {len(b)} frames · "
    title += verdict
    return Table(["#", *names, ""], rows, title)
