"""The learner's side of grading: run notebook cells and answer calls, in a process of its own.

::

    python -m wslearn.grading.runner

The grader starts this in a sandbox (:mod:`wslearn.grading.sandbox`), then sends it one
request per line on standard input, as JSON, and reads one answer per line:

``{"op": "run", "source": "..."}``
    Run a notebook cell (IPython syntax: ``%magics`` work) in the notebook's namespace.
    Answer: ``{"ok": true}``, or ``{"error": {...}}`` if the cell raised.
``{"op": "call", "name": "accept_key", "args": [...], "kwargs": {...}}``
    Call a function the cells defined, with plain-data arguments
    (:mod:`wslearn.grading.plain`). Answer: ``{"value": ...}`` (its result as plain
    data), or ``{"error": {...}}``.
``{"op": "get", "name": "RFC_KEY"}``
    A variable's value, as plain data: ``{"value": ...}`` or ``{"error": {...}}``.

An error is ``{"type": "ValueError", "message": "...", "line": 3}``: the exception's
type name, its message (cut short) and the line of the cell where it was raised, so the
grader can tell the learner where to look.

Nothing here judges: the expected answers are not in this process, nor in any file it can
read. Whatever the code it runs does (print, read standard input, replace this module's
functions), it can only change what this process answers, never the grader's verdict: the
grader compares the answers with what it computes itself. The requests arrive on a copy of
standard input and the answers leave on a copy of standard output, made before any learner
code runs; the learner's own ``print()``, ``input()`` and standard error see only
``/dev/null``.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import IO, Any, Dict, Optional, Tuple

from .plain import TooBig, from_wire, to_wire

__all__ = ["Runner", "main"]

#: Longest error message carried back (a message could otherwise be megabytes).
MAX_MESSAGE = 500


class Runner:
    """A notebook namespace that runs cells and calls its functions; no I/O of its own."""

    def __init__(self) -> None:
        # Imported here: IPython is heavy, and only the process that runs cells needs it.
        from IPython.core.interactiveshell import InteractiveShell

        self.shell = InteractiveShell.instance()

    def answer(self, request: Dict[str, Any]) -> Dict[str, Any]:
        """The answer to one request (see the module docstring)."""
        op = request.get("op")
        if op == "run":
            return self.run(str(request.get("source", "")))
        if op == "call":
            return self.call(
                str(request.get("name", "")), request.get("args", []), request.get("kwargs", {})
            )
        if op == "get":
            return self.get(str(request.get("name", "")))
        return {"error": {"type": "ValueError", "message": f"unknown op {op!r}", "line": None}}

    def run(self, source: str) -> Dict[str, Any]:
        result = self.shell.run_cell(source, silent=True, store_history=False)
        error = result.error_before_exec or result.error_in_exec
        if error is None:
            return {"ok": True}
        return {"error": describe_error(error)}

    def call(self, name: str, args: Any, kwargs: Any) -> Dict[str, Any]:
        function = self.shell.user_ns.get(name)
        if not callable(function):
            message = f"name {name!r} is not defined" if function is None else "not a function"
            return {"error": {"type": "NameError", "message": message, "line": None}}
        try:
            arguments = from_wire({"tuple": args})
            keywords = from_wire({"dict": [[k, v] for k, v in dict(kwargs).items()]})
            value = function(*arguments, **keywords)
            return {"value": to_wire(value)}
        except Exception as error:  # the learner's function raised: that is its answer
            return {"error": describe_error(error)}

    def get(self, name: str) -> Dict[str, Any]:
        if name not in self.shell.user_ns:
            return {
                "error": {"type": "NameError", "message": f"{name!r} not defined", "line": None}
            }
        try:
            return {"value": to_wire(self.shell.user_ns[name])}
        except TooBig as error:
            return {"error": describe_error(error)}


def describe_error(error: BaseException) -> Dict[str, Any]:
    """An exception as plain data: type name, message (cut short), the cell line it came from."""
    line: Optional[int] = None
    for frame in traceback.extract_tb(error.__traceback__):
        if _in_a_cell(frame.filename):
            line = frame.lineno  # the innermost line of notebook code
    if isinstance(error, SyntaxError) and error.lineno is not None:
        line = error.lineno
    return {
        "type": type(error).__name__[:80],
        "message": str(error)[:MAX_MESSAGE],
        "line": line,
    }


def _in_a_cell(filename: str) -> bool:
    """IPython compiles each cell under a name such as ``<ipython-input-3-...>`` or a
    temporary path ending in ``.py`` under its ``ipykernel`` cache; library code lives in files."""
    return filename.startswith("<") or "/ipykernel_" in filename


def protocol_streams() -> Tuple[IO[str], IO[str]]:
    """Copies of standard input and output for the requests and answers, then ``/dev/null``
    in the place of all three standard streams, so code run here cannot read the requests
    or write into the answers."""
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    return requests, answers


def main() -> int:
    requests, answers = protocol_streams()
    runner = Runner()
    for line in requests:
        try:
            request = json.loads(line)
            answer = runner.answer(request if isinstance(request, dict) else {})
            text = json.dumps(answer)
        except (ValueError, TooBig) as error:  # a bad request, or an answer too big to carry
            text = json.dumps({"error": describe_error(error)})
        answers.write(text + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
