"""The grader's side of a learner's process: ask it to run cells and call functions.

:class:`LearnerProcess` starts :mod:`wslearn.grading.runner` (in a sandbox, when the
grader passes the sandbox's command as ``prefix``) and exchanges one JSON line per request
with it. :class:`RemoteFunction` makes a learner's function look like a local one, so the
very same check that a learner runs in the notebook (``check_accept_key(accept_key)``)
runs in the grader, on the learner's answers::

    with LearnerProcess() as learner:
        learner.run("def accept_key(key):\\n    ...")
        accept_key = RemoteFunction(learner, "accept_key")
        check_accept_key(accept_key)      # in the grader's process, with its expected values

The arguments go out and the results come back as plain data
(:mod:`wslearn.grading.plain`). If the learner's function raised, the call raises a
:class:`LearnerError` of the same type name here (``NotImplementedError`` stays itself,
so an unsolved stub reads "not written yet"). Every request has a time limit; a process
that does not answer in time, or answers what is not an answer, is killed, and every
later request fails at once with a :class:`LearnerError`.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from typing import Any, Dict, List, NoReturn, Optional, Sequence

from .plain import from_wire, to_wire

__all__ = ["LearnerError", "LearnerProcess", "RemoteFunction", "MAX_ANSWER"]

#: Largest answer line accepted, in bytes (a 16 MiB frame, base64, with room to spare).
MAX_ANSWER = 64 * 2**20


class LearnerError(Exception):
    """An exception raised by learner code, as the grader sees it: type name, message, line."""

    def __init__(self, type_name: str, message: str, line: Optional[int] = None) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return self.message


def raise_learner_error(error: Dict[str, Any]) -> None:
    """Raise, in the grader, the error a learner's code raised in its own process."""
    type_name = str(error.get("type", "Exception"))
    message = str(error.get("message", ""))
    line = error.get("line") if isinstance(error.get("line"), int) else None
    if type_name == "NotImplementedError":
        raise NotImplementedError(message)
    raise LearnerError(type_name, message, line)


class LearnerProcess:
    """One learner's notebook namespace, in a process of its own (see the module docstring).

    ``prefix`` is put before ``python -m wslearn.grading.runner``: the sandbox's command.
    ``timeout`` bounds each request, in seconds.
    """

    def __init__(
        self,
        prefix: Sequence[str] = (),
        *,
        python: str = sys.executable,
        timeout: float = 10.0,
        env: Optional[Dict[str, str]] = None,
        cwd: Optional[str] = None,
    ) -> None:
        self.timeout = timeout
        self.failure: Optional[str] = None  # why the process is no longer usable
        argv: List[str] = [*prefix, python, "-m", "wslearn.grading.runner"]
        self.process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,  # its own process group: killed whole at the end
        )
        self._selector = selectors.DefaultSelector()
        assert self.process.stdout is not None
        os.set_blocking(self.process.stdout.fileno(), False)
        self._selector.register(self.process.stdout, selectors.EVENT_READ)
        self._pending = bytearray()

    def __enter__(self) -> "LearnerProcess":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ requests

    def run(self, source: str, timeout: Optional[float] = None) -> None:
        """Run a cell; raise :class:`LearnerError` if it raised."""
        answer = self.request({"op": "run", "source": source}, timeout)
        if "error" in answer:
            raise_learner_error(answer["error"])

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the learner's function ``name``; its result, as plain data."""
        wire_args = to_wire(tuple(args))["tuple"]
        wire_kwargs = {str(key): to_wire(value) for key, value in kwargs.items()}
        answer = self.request(
            {"op": "call", "name": name, "args": wire_args, "kwargs": wire_kwargs}
        )
        if "error" in answer:
            raise_learner_error(answer["error"])
        return from_wire(answer.get("value"))

    def get(self, name: str) -> Any:
        """The value of the notebook variable ``name``, as plain data."""
        answer = self.request({"op": "get", "name": name})
        if "error" in answer:
            raise_learner_error(answer["error"])
        return from_wire(answer.get("value"))

    def request(self, request: Dict[str, Any], timeout: Optional[float] = None) -> Dict[str, Any]:
        """Send one request and wait for its answer, ``timeout`` seconds at most."""
        if self.failure is not None:
            raise LearnerError("RuntimeError", self.failure)
        limit = self.timeout if timeout is None else timeout
        try:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
            self.process.stdin.flush()
        except OSError:
            self._fail("the learner's process ended before it was asked anything")
        line = self._read_line(limit)
        try:
            answer = json.loads(line)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            self._fail("the learner's process answered something that is not an answer")
        return answer

    def _read_line(self, limit: float) -> bytes:
        deadline = time.monotonic() + limit
        while b"\n" not in self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._fail(f"no answer within {limit:g} s (an endless loop, or a very slow one?)")
            if not self._selector.select(remaining):
                continue
            assert self.process.stdout is not None
            chunk = self.process.stdout.read(65536)
            if not chunk:  # None: nothing after all; b"": the process ended
                if chunk is None:
                    continue
                self._fail("the learner's process ended (it crashed, or was stopped)")
            self._pending += chunk
            if len(self._pending) > MAX_ANSWER:
                self._fail("the answer was too large")
        line, _, rest = bytes(self._pending).partition(b"\n")
        self._pending = bytearray(rest)
        return line

    def _fail(self, why: str) -> NoReturn:
        self.failure = why
        self.close()
        raise LearnerError("RuntimeError", why)

    # ------------------------------------------------------------------ the end

    def close(self) -> None:
        """Kill the process and everything it started (its process group); wait for it."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.process.kill()
        self.process.wait()
        self._selector.close()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass


class RemoteFunction:
    """A learner's function, called in the learner's process: arguments and result as plain data."""

    def __init__(self, learner: LearnerProcess, name: str) -> None:
        self.learner = learner
        self.__name__ = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.learner.call(self.__name__, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<the learner's function {self.__name__}>"
