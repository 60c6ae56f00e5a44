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

An error is ``{"type": "ValueError", "bases": [...], "message": "...", "line": 3}``: the
exception's type name, the names of the classes it derives from (so that the grader's
``except ValueError`` catches a learner's ``ValueError``), its message (cut short) and the
line of the cell where it was raised, so the grader can tell the learner where to look.

While a call runs, the learner's function may call a function of the grader's that came as
an argument (``{"callback": 0}``: a ``recv()``, a connection's ``send()``). The runner then
writes ``{"callback": 0, "args": [...], "kwargs": {...}}`` and reads the grader's answer,
``{"op": "return", "value": ...}`` or ``{"op": "raise", "error": {...}}``, before the call
goes on.

Nothing here judges: the expected answers are not in this process, nor in any file it can
read. Whatever the code it runs does (print, read standard input, replace this module's
functions), it can only change what this process answers, never the grader's verdict: the
grader compares the answers with what it computes itself. The requests arrive on a copy of
standard input and the answers leave on a copy of standard output, made before any learner
code runs; the learner's own ``print()``, ``input()`` and standard error see only
``/dev/null``.
"""

from __future__ import annotations

import builtins
import json
import os
import sys
import traceback
from typing import IO, Any, Callable, Dict, List, Optional, Tuple

from .plain import TooBig, from_wire, to_wire

__all__ = ["Runner", "main"]

#: Longest error message carried back (a message could otherwise be megabytes).
MAX_MESSAGE = 500


class Runner:
    """A notebook namespace that runs cells and calls its functions.

    ``requests`` and ``answers`` are the protocol's streams; the runner itself uses them only
    for callbacks, while a call runs (``main`` reads the requests and writes the answers).
    """

    def __init__(self, requests: Optional[IO[str]] = None, answers: Optional[IO[str]] = None):
        # Imported here: IPython is heavy, and only the process that runs cells needs it.
        from IPython.core.interactiveshell import InteractiveShell

        self.shell = InteractiveShell.instance()
        self.requests, self.answers = requests, answers

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
            arguments = from_wire({"tuple": args}, self.callback)
            pairs = [[k, v] for k, v in dict(kwargs).items()]
            keywords = from_wire({"dict": pairs}, self.callback)
            value = function(*arguments, **keywords)
            return {"value": to_wire(value)}
        except Exception as error:  # the learner's function raised: that is its answer
            return {"error": describe_error(error)}

    def callback(self, number: int) -> Callable[..., Any]:
        """The function that stands for the grader's function ``number`` during a call."""

        def call_the_grader(*args: Any, **kwargs: Any) -> Any:
            if self.requests is None or self.answers is None:
                raise RuntimeError("no grader to call back")
            arguments = to_wire(tuple(args))["tuple"]
            keywords = {str(key): to_wire(value) for key, value in kwargs.items()}
            message = {"callback": number, "args": arguments, "kwargs": keywords}
            self.answers.write(json.dumps(message) + "\n")
            self.answers.flush()
            reply = json.loads(self.requests.readline() or "{}")
            if reply.get("op") == "return":
                return from_wire(reply.get("value"), self.callback)
            error = reply.get("error") or {}
            raise _builtin_error(error.get("type"))(str(error.get("message", "")))

        return call_the_grader

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
    bases: List[str] = [cls.__name__[:80] for cls in type(error).__mro__[1:]]
    return {
        "type": type(error).__name__[:80],
        "bases": bases[:20],
        "message": str(error)[:MAX_MESSAGE],
        "line": line,
    }


def _builtin_error(name: Any) -> type:
    """The built-in exception class of that name (what a grader's function raised, as the
    learner's code sees it); RuntimeError for any other."""
    found = getattr(builtins, str(name), None)
    if isinstance(found, type) and issubclass(found, Exception):
        return found
    return RuntimeError


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
    runner = Runner(requests, answers)
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
