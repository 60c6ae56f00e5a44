"""The learner's own functions from notebooks 01-07, carried over into notebook 12.

Notebook 12 builds a server from what the learner wrote earlier. :func:`load_pieces` reads
their notebooks 01-07 from a folder (by default the running notebook's own: ``my-work/``,
``student/`` or the teacher's ``notebooks/``), so it works the same in every copy: nothing is
exported or saved by hand, the notebooks themselves are the hand-over.

How a notebook is run. Only its exercises' solution cells are executed (found by nbgrader's
``grade_id``, the same in every copy), in a fresh namespace per notebook, in notebook order,
after what they use from the rest of the notebook: its ``import`` lines, and its ``def``,
``class`` and simple assignments (no calls) that bind a name the solution cells use. The
other cells (servers, plots, demos) are not run. A function that needs more than that should
take it in its own cell.

How a piece is judged. It is *yours* when your cell defines the function and it passes the
exercise's check from :mod:`wslearn.checks` (run here, each bounded in time). Otherwise it is
*borrowed*: the library's version stands in (:mod:`wslearn.capstone.fallbacks`, which names the
library function used), and the reason is kept: a missing notebook or cell, a SyntaxError, an
exception while the cell ran, a stub, a failing check. A borrowed function is also put into
that notebook's namespace, so your later functions that call it (``build_101`` calling
``accept_key``) still run. Nothing here raises for a broken notebook.

This runs the learner's own code in the learner's own kernel: the same trust as running their
notebook. Grading does not use this; it runs hand-ins in a sandbox (:mod:`wslearn.grading`).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import dataclasses
import functools
import html
import io
import linecache
import os
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

from ..checks import ExerciseFailed, raised_where
from ..classroom import cell_source, is_check_cell, is_solution_cell
from ..errors import ProtocolError
from ..grading.exercises import nbgrader_meta
from ..grading.submissions import Unreadable, read_hand_in
from .bounded import TookTooLong, run_bounded
from .fallbacks import LIBRARY

__all__ = ["PIECES", "Piece", "PieceError", "PieceSpec", "Pieces", "load_pieces"]

#: Seconds a piece's check may take (the course's checks take well under one).
CHECK_SECONDS = 10.0
#: Seconds the solution cells of one notebook may take to run.
EXEC_SECONDS = 10.0


@dataclasses.dataclass(frozen=True)
class PieceSpec:
    """One piece: the exercise's function ``name`` in notebook ``notebook`` (its file name
    starts with it), the solution cell's ``grade_id``, the check that judges it
    (``wslearn.checks.<module>.<check>``), and what the server does with it (``role``)."""

    name: str
    notebook: str
    grade_id: str
    check: str
    role: str


#: The pieces, in the order of the notebooks and of their cells.
PIECES: Tuple[PieceSpec, ...] = (
    PieceSpec("parse_headers", "01", "parse_headers", "handshake.check_parse_headers",
              "reads the request's headers (the key)"),
    PieceSpec("has_token", "01", "has_token", "handshake.check_has_token",
              "your status_for may use it"),
    PieceSpec("status_for", "01", "status_for", "handshake.check_status_for",
              "101, or the status that refuses the request"),
    PieceSpec("accept_key", "02", "accept_key", "handshake.check_accept_key",
              "your build_101 may use it"),
    PieceSpec("build_101", "02", "build_101", "handshake.check_build_101",
              "the 101 answer"),
    PieceSpec("payload_length", "03", "payload_length", "frames.check_payload_length",
              "a frame's size from its header: too big is refused (1009)"),
    PieceSpec("encode_header", "03", "encode_header", "frames.check_encode_header",
              "the header of every frame sent"),
    PieceSpec("is_control", "03", "is_control", "frames.check_is_control",
              "control frame or data frame"),
    PieceSpec("read_mask_key", "04", "read_mask_key", "frames.check_read_mask_key",
              "an unmasked client frame is refused (1002)"),
    PieceSpec("decode_frame", "05", "decode_frame", "live.check_decode_frame",
              "a frame's opcode and unmasked payload"),
    PieceSpec("close_payload", "06", "close_payload", "live.check_close_payload",
              "the payload of the Close frames sent"),
    PieceSpec("parse_close", "06", "parse_close", "live.check_parse_close",
              "reads the client's Close"),
    PieceSpec("pong_for", "06", "pong_for", "live.check_pong_for",
              "the Pong answering a Ping"),
    PieceSpec("split_frames", "07", "split-frames", "streams.check_split_frames",
              "cuts whole frames from the bytes received"),
    PieceSpec("assemble", "07", "assemble", "streams.check_assemble",
              "puts a message in fragments together"),
)  # fmt: skip


class PieceError(Exception):
    """A piece raised where the server called it; ``piece`` names it, ``error`` is what it
    raised (the server closes that connection with 1011 and keeps this)."""

    def __init__(self, piece: str, error: BaseException) -> None:
        name, line = raised_where(error)
        where = f" (line {line})" if line else ""
        super().__init__(f"{piece} raised {name}: {error}{where}")
        self.piece = piece
        self.error = error


@dataclasses.dataclass
class Piece:
    """A piece as the server uses it: the ``function`` called (yours or the library's),
    whether it is ``yours``, and if not, ``reason`` and the ``library`` function used."""

    spec: PieceSpec
    function: Callable[..., Any]
    yours: bool
    reason: str = ""
    library: str = ""
    notebook_file: str = ""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def status(self) -> str:
        """ "yours", or "borrowed: <why>" with the library function that stands in."""
        return "yours" if self.yours else f"borrowed: {self.reason} (using {self.library})"

    def __call__(self, *args: Any) -> Any:
        """Call the function. A :class:`~wslearn.errors.ProtocolError` (a library function that
        found a broken frame) goes through; anything else raised becomes a :class:`PieceError`
        that names the piece (the server decides: a ValueError from ``parse_close`` is the
        exercise's way to say a payload breaks a rule)."""
        try:
            return self.function(*args)
        except ProtocolError:
            raise
        except Exception as error:  # noqa: BLE001 - the server reports it, and goes on
            raise PieceError(self.name, error) from error


class Pieces:
    """The pieces of one learner, by name: ``pieces.status_for(head)`` calls the piece."""

    def __init__(self, pieces: Sequence[Piece], folder: Optional[Path] = None) -> None:
        self.by_name: Dict[str, Piece] = {piece.name: piece for piece in pieces}
        self.folder = folder

    def __getattr__(self, name: str) -> Piece:
        by_name = self.__dict__.get("by_name", {})
        if name in by_name:
            return by_name[name]  # type: ignore[no-any-return]
        raise AttributeError(f"no piece called {name!r}; the pieces are {', '.join(by_name)}")

    def __getitem__(self, name: str) -> Piece:
        return self.by_name[name]

    def __iter__(self) -> Iterator[Piece]:
        return iter(self.by_name.values())

    def __len__(self) -> int:
        return len(self.by_name)

    def replaced(self, **functions: Callable[..., Any]) -> "Pieces":
        """A copy in which the pieces named are these functions: to try a change, or to see
        what a wrong piece does, without editing its notebook. A replaced piece is not
        counted as yours (its notebook is what counts)."""
        unknown = [name for name in functions if name not in self.by_name]
        if unknown:
            raise AttributeError(f"no piece called {', '.join(unknown)}")
        pieces = []
        for piece in self:
            function = functions.get(piece.name)
            if function is not None:
                name = getattr(function, "__name__", "a function")
                reason = "replaced in notebook 12"
                piece = dataclasses.replace(piece, function=function, yours=False,
                                            reason=reason, library=name)  # fmt: skip
            pieces.append(piece)
        return Pieces(pieces, self.folder)

    @property
    def yours(self) -> List[str]:
        return [piece.name for piece in self if piece.yours]

    @property
    def borrowed(self) -> List[str]:
        return [piece.name for piece in self if not piece.yours]

    def rows(self) -> List[Tuple[str, str, str]]:
        """(piece, notebook, status) for each piece, as the tables show them."""
        return [(p.name, p.notebook_file or p.spec.notebook, p.status) for p in self]

    def __repr__(self) -> str:
        rows = [("piece", "notebook", "")] + self.rows()
        widths = [max(len(row[i]) for row in rows) for i in range(2)]
        lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip() for a, b, c in rows]
        lines.append(f"{len(self.yours)} of {len(self)} pieces are yours")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><td><code>{html.escape(name)}</code></td><td>{html.escape(notebook)}</td>"
            f"<td>{'✓ ' if status == 'yours' else '↩ '}{html.escape(status)}</td></tr>"
            for name, notebook, status in self.rows()
        )
        return (
            "<table><thead><tr><th>piece</th><th>notebook</th><th></th></tr></thead>"
            f"<tbody>{cells}</tbody></table>"
            f"<p>{len(self.yours)} of {len(self)} pieces are yours</p>"
        )


# ---------------------------------------------------------------------- reading a notebook


def _find_notebook(folder: Path, number: str) -> Optional[Path]:
    """The notebook ``<number>_*.ipynb``; of several, the shortest name: the course's own, not
    a copy JupyterLab made of it (``01_upgrade_request-Copy1.ipynb``)."""
    found = sorted(folder.glob(f"{number}_*.ipynb"), key=lambda path: (len(path.name), path.name))
    return found[0] if found else None


def _solution_cells(notebook: Dict[str, Any]) -> List[Tuple[str, str]]:
    """(grade_id, source) of each solution cell, in order (a repeated one: the last wins)."""
    cells: Dict[str, str] = {}
    for cell in notebook["cells"]:
        if is_solution_cell(cell):
            grade_id = str(nbgrader_meta(cell).get("grade_id", ""))
            cells.pop(grade_id, None)
            cells[grade_id] = cell_source(cell)
    return list(cells.items())


def _binds(node: ast.stmt) -> Set[str]:
    """The names a top-level statement binds: what an import, def, class or assignment makes."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        if any(isinstance(n, (ast.Call, ast.Await, ast.Yield)) for n in ast.walk(node.value)):
            return set()  # only plain values: a call might start a server or wait
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _uses(tree: ast.AST) -> Set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def _statements(source: str) -> List[ast.stmt]:
    """The top-level statements of a cell; for a cell that is not plain Python (an IPython
    magic), those of its lines that are a statement on their own at column 0."""
    try:
        return list(ast.parse(source).body)
    except SyntaxError:
        found: List[ast.stmt] = []
        for line in source.splitlines():
            with contextlib.suppress(SyntaxError, ValueError):
                found += ast.parse(line).body
        return found


def _context(notebook: Dict[str, Any], solutions: List[Tuple[str, str]]) -> List[ast.stmt]:
    """The statements of the other cells that the solution cells need, in notebook order."""
    candidates: List[Tuple[Set[str], ast.stmt]] = []
    for cell in notebook["cells"]:
        if cell.get("cell_type") == "code" and not is_solution_cell(cell):
            if not is_check_cell(cell):
                for node in _statements(cell_source(cell)):
                    bound = _binds(node)
                    if bound or isinstance(node, ast.ImportFrom) and node.names[0].name == "*":
                        candidates.append((bound or {"*"}, node))
    needed: Set[str] = {"*"}
    for _, source in solutions:
        with contextlib.suppress(SyntaxError, ValueError):
            needed |= _uses(ast.parse(source))
    needed -= set(dir(builtins))
    chosen: Dict[int, ast.stmt] = {}
    grew = True
    while grew:  # a def may use a further name: follow until nothing new is needed
        grew = False
        for index, (bound, node) in enumerate(candidates):
            if index not in chosen and bound & needed:
                chosen[index] = node
                needed |= _uses(node) - set(dir(builtins))
                grew = True
    return [chosen[index] for index in sorted(chosen)]


def _compiled(source: str, filename: str) -> Any:
    """Compile a cell with a name of its own, its lines kept so tracebacks can show them."""
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return compile(source, filename, "exec")


def _raised(error: BaseException) -> str:
    if isinstance(error, SyntaxError):
        return f"a SyntaxError on line {error.lineno}: {error.msg}"
    if isinstance(error, TookTooLong):
        return f"it was {error}"
    name, line = raised_where(error)
    return f"{name}: {str(error)[:200]}" + (f" (line {line})" if line else "")


def _run_notebook(notebook: Dict[str, Any], stem: str) -> Tuple[Dict[str, Any], Dict[str, str]]:
    """Run the solution cells (after their context); the namespace, and the problem of each
    cell that did not run through, by grade_id."""
    namespace: Dict[str, Any] = {"__name__": f"wslearn_notebook_{stem}"}
    problems: Dict[str, str] = {}
    solutions = _solution_cells(notebook)
    for node in _context(notebook, solutions):
        module = ast.Module(body=[node], type_ignores=[])
        with contextlib.suppress(Exception):  # a missing module: the cells that need it say so
            code = compile(module, f"<{stem}>", "exec")
            run_bounded(functools.partial(exec, code, namespace), 5.0)
    for grade_id, source in solutions:
        try:
            code = _compiled(source, f"<{stem}: {grade_id}>")
            run_bounded(functools.partial(exec, code, namespace), EXEC_SECONDS)
        except (Exception, TookTooLong) as error:  # noqa: BLE001 - the learner's cell
            problems[grade_id] = f"the cell raised {_raised(error)}"
    return namespace, problems


def _check(spec: PieceSpec, function: Callable[..., Any]) -> Optional[str]:
    """None if ``function`` passes its check, else why not (the check's own message)."""
    from importlib import import_module

    module, check = spec.check.split(".")
    checker = getattr(import_module(f"wslearn.checks.{module}"), check)
    try:
        run_bounded(lambda: checker(function), CHECK_SECONDS)
    except ExerciseFailed as failed:
        return f"its check says: {failed.problem}"
    except TookTooLong:
        return f"its check was still running after {CHECK_SECONDS:g} s (an endless loop?)"
    except Exception as error:  # noqa: BLE001 - whatever went wrong, the piece is borrowed
        last = traceback.format_exception_only(type(error), error)[-1].strip()
        return f"its check could not run: {last}"
    return None


def _load_notebook(folder: Path, number: str) -> Tuple[Optional[Path], Dict[str, Any], str]:
    """(path, namespace after the solution cells, problem with the notebook as a whole)."""
    path = _find_notebook(folder, number)
    if path is None:
        return None, {}, f"no notebook {number}_*.ipynb in {folder}"
    try:
        notebook = read_hand_in(path)
    except Unreadable as error:
        return path, {}, str(error)
    namespace, problems = _run_notebook(notebook, path.stem)
    namespace["__problems__"] = problems
    namespace["__grade_ids__"] = {grade_id for grade_id, _ in _solution_cells(notebook)}
    return path, namespace, ""


def _judge(spec: PieceSpec, namespace: Dict[str, Any], trouble: str) -> Optional[str]:
    """None if the piece in ``namespace`` is the learner's and passes, else why not."""
    if trouble:
        return trouble
    if spec.grade_id not in namespace["__grade_ids__"]:
        return f"the notebook has no '{spec.grade_id}' exercise cell"
    problem: Optional[str] = namespace["__problems__"].get(spec.grade_id)
    if problem:
        return problem
    function = namespace.get(spec.name)
    if not callable(function):
        return f"the '{spec.grade_id}' cell does not define {spec.name}()"
    return _check(spec, function)


def load_pieces(folder: Union[str, "os.PathLike[str]", None] = None) -> Pieces:
    """The server's pieces from the notebooks 01-07 in ``folder`` (default: the current
    directory, which in a notebook's kernel is the notebook's own folder). Never raises for
    a learner's notebook: what is missing or broken is borrowed, with the reason."""
    where = Path(folder) if folder is not None else Path.cwd()
    loaded: Dict[str, Tuple[Optional[Path], Dict[str, Any], str]] = {}
    pieces: List[Piece] = []
    quiet = io.StringIO()  # what the cells and checks print is not the table's
    with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
        for spec in PIECES:
            if spec.notebook not in loaded:
                loaded[spec.notebook] = _load_notebook(where, spec.notebook)
            path, namespace, trouble = loaded[spec.notebook]
            reason = _judge(spec, namespace, trouble)
            library, library_name = LIBRARY[spec.name]
            file = path.name if path is not None else f"{spec.notebook}_*.ipynb"
            if reason is None:
                pieces.append(Piece(spec, namespace[spec.name], True, notebook_file=file))
            else:
                pieces.append(Piece(spec, library, False, reason, library_name, file))
                namespace[spec.name] = library  # the notebook's later functions may call it
    return Pieces(pieces, where)
