"""The grader's side of a learner's process: ask it to run cells and call functions.

:class:`LearnerProcess` starts :mod:`wslearn.grading.runner` (in a sandbox, when the
grader gives one) and exchanges one JSON line per request with it
(:class:`~wslearn.grading.sandbox.Session`). :class:`RemoteFunction` makes a learner's
function look like a local one, so the very same check that a learner runs in the notebook
(``check_accept_key(accept_key)``) runs in the grader, on the learner's answers::

    with LearnerProcess() as learner:
        learner.run("def accept_key(key):\\n    ...")
        accept_key = RemoteFunction(learner, "accept_key")
        check_accept_key(accept_key)      # in the grader's process, with its expected values

The arguments go out and the results come back as plain data
(:mod:`wslearn.grading.plain`). A function among the arguments (a ``recv()`` that hands out
a stream in chunks, a connection whose ``send()`` a handler calls) stays here: the learner's
code calls it through the runner, and what it raises here is raised again once the call is
over, so the check sees it as if the call had run here.

If the learner's function raised, the call raises a :class:`LearnerError` of the same type
name here, which is also an instance of the built-in or ``wslearn.errors`` class the
learner's error derives from (a learner's ``ValueError`` is caught by the check's ``except
ValueError``); ``NotImplementedError`` stays itself, so an unsolved stub reads "not written
yet". Every request has a time limit; a process that does not answer in time, or answers
what is not an answer, is killed, and every later request fails at once with a
:class:`LearnerError`.
"""

from __future__ import annotations

import builtins
import sys
import threading
import time
from typing import Any, Callable, Dict, List, NoReturn, Optional, Type

from .. import errors
from .plain import from_wire, to_wire
from .sandbox import Limits, Sandbox
from .session import SandboxError, SandboxTimeout, Session

__all__ = ["LearnerError", "LearnerGone", "LearnerProcess", "RemoteFunction", "MAX_ANSWER"]

#: Largest answer line accepted, in bytes (a 16 MiB frame, base64, with room to spare).
MAX_ANSWER = 64 * 2**20
#: Why every request fails once the notebook's time is up.
OUT_OF_TIME = "out of time: the notebook's time limit has passed"


class LearnerError(Exception):
    """An exception raised by learner code, as the grader sees it: type name, message, line."""

    def __init__(self, type_name: str, message: str, line: Optional[int] = None) -> None:
        Exception.__init__(self, message)
        self.type_name = type_name
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return self.message


class LearnerGone(LearnerError):
    """The learner's process no longer answers (a time-out, a crash): why, in the message."""

    def __init__(self, why: str) -> None:
        super().__init__("RuntimeError", why)


def raise_learner_error(error: Dict[str, Any]) -> NoReturn:
    """Raise, in the grader, the error a learner's code raised in its own process."""
    type_name = str(error.get("type", "Exception"))
    message = str(error.get("message", ""))
    line = error.get("line") if isinstance(error.get("line"), int) else None
    if type_name == "NotImplementedError":
        raise NotImplementedError(message)
    bases = error.get("bases")
    names: List[Any] = [type_name, *(bases if isinstance(bases, list) else [])]
    for name in names:
        known = _known_error(str(name))
        if known is not None:
            raise _learner_error_class(known)(type_name, message, line)
    raise LearnerError(type_name, message, line)


def _known_error(name: str) -> Optional[Type[Exception]]:
    """The built-in or ``wslearn.errors`` exception class of that name, if any (but
    ``Exception``, which every LearnerError is already)."""
    for namespace in (builtins, errors):
        found = getattr(namespace, name, None)
        if isinstance(found, type) and issubclass(found, Exception) and found is not Exception:
            return found
    return None


_ERROR_CLASSES: Dict[Type[Exception], Type[LearnerError]] = {}


def _learner_error_class(base: Type[Exception]) -> Type[LearnerError]:
    """A LearnerError that is also a ``base``; a base whose constructor takes other arguments
    (UnicodeDecodeError) gives way to the first of its own bases that takes a message."""
    if base not in _ERROR_CLASSES:
        _ERROR_CLASSES[base] = _make_error_class(base)
    return _ERROR_CLASSES[base]


def _make_error_class(base: Type[Exception]) -> Type[LearnerError]:
    for candidate in base.__mro__:
        if not issubclass(candidate, Exception) or candidate is Exception:
            continue
        cls = type(f"Learner{candidate.__name__}", (LearnerError, candidate), {})
        try:
            cls("ValueError", "", None)
        except TypeError:
            continue
        return cls
    return LearnerError


class LearnerProcess:
    """One learner's notebook namespace, in a process of its own (see the module docstring).

    The process is ``python -m wslearn.grading.runner`` in ``sandbox`` (a
    :class:`~wslearn.grading.sandbox.Sandbox`), or, without one, a plain process with
    ``env`` and ``cwd``. ``timeout`` bounds each request, in seconds; ``deadline`` (a
    :func:`time.monotonic` time) all of them: a process asked for after it starts none,
    and fails every request.
    """

    def __init__(
        self,
        sandbox: Optional[Sandbox] = None,
        *,
        python: str = sys.executable,
        timeout: float = 10.0,
        env: Optional[Dict[str, str]] = None,
        cwd: Optional[str] = None,
        deadline: Optional[float] = None,
    ) -> None:
        self.timeout = timeout
        self.deadline = deadline
        self.failure: Optional[str] = None  # why the process is no longer usable
        # One request at a time: a handler's calls come from a server's threads.
        self._lock = threading.RLock()
        self.session: Optional[Session] = None
        if deadline is not None and time.monotonic() >= deadline:
            self.failure = OUT_OF_TIME
            return
        argv = [python, "-m", "wslearn.grading.runner"]
        if sandbox is not None:
            self.session = sandbox.session(argv)
        else:
            limits = Limits(output_bytes=MAX_ANSWER)
            self.session = Sandbox.unsandboxed_session(argv, env=env, cwd=cwd, limits=limits)

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
        """Call the learner's function ``name``; its result, as plain data.

        The functions among the arguments are called here when the learner's code calls
        them; the first exception one of them raises is raised again once the call is over.
        """
        callbacks: List[Callable[..., Any]] = []
        wire_args = to_wire(tuple(args), callbacks)["tuple"]
        wire_kwargs = {str(key): to_wire(value, callbacks) for key, value in kwargs.items()}
        raised: List[BaseException] = []
        request = {"op": "call", "name": name, "args": wire_args, "kwargs": wire_kwargs}
        with self._lock:
            deadline = time.monotonic() + self.timeout
            answer = self.request(request)
            while "callback" in answer:
                reply = self._called_back(answer, callbacks, raised)
                answer = self.request(reply, max(0.0, deadline - time.monotonic()))
        if raised:
            raise raised[0]
        if "error" in answer:
            raise_learner_error(answer["error"])
        return from_wire(answer.get("value"))

    def _called_back(
        self, message: Dict[str, Any], callbacks: List[Callable[..., Any]], raised: List[Any]
    ) -> Dict[str, Any]:
        """Call the grader's function the learner's code called; the reply to send it."""
        number = message.get("callback")
        if type(number) is not int or not 0 <= number < len(callbacks):
            return {"op": "raise", "error": {"type": "RuntimeError", "message": "no such function"}}
        try:
            args = from_wire({"tuple": message.get("args", [])})
            pairs = [[k, v] for k, v in dict(message.get("kwargs") or {}).items()]
            kwargs = from_wire({"dict": pairs})
            value = callbacks[number](*args, **{str(k): v for k, v in kwargs.items()})
            return {"op": "return", "value": to_wire(value, callbacks)}
        except Exception as error:  # the grader's function said no: the learner sees it too
            raised.append(error)
            described = {"type": type(error).__name__, "message": str(error)[:500]}
            return {"op": "raise", "error": described}

    def get(self, name: str) -> Any:
        """The value of the notebook variable ``name``, as plain data."""
        answer = self.request({"op": "get", "name": name})
        if "error" in answer:
            raise_learner_error(answer["error"])
        return from_wire(answer.get("value"))

    def request(self, request: Dict[str, Any], timeout: Optional[float] = None) -> Dict[str, Any]:
        """Send one request and wait for its answer, ``timeout`` seconds at most."""
        with self._lock:
            return self._request(request, timeout)

    def _request(self, request: Dict[str, Any], timeout: Optional[float]) -> Dict[str, Any]:
        if self.failure is not None or self.session is None:
            raise LearnerGone(self.failure or "no process")
        limit = self.timeout if timeout is None else timeout
        if self.deadline is not None:
            limit = min(limit, max(0.0, self.deadline - time.monotonic()))
        try:
            self.session.send(request, timeout=limit)
            answer = self.session.receive(timeout=limit)
        except SandboxTimeout:
            if self.deadline is not None and time.monotonic() >= self.deadline:
                self._fail(OUT_OF_TIME)
            self._fail(f"no answer within {limit:g} s (an endless loop, or a very slow one?)")
        except SandboxError as error:
            self._fail(f"the learner's process stopped answering: {error}")
        if not isinstance(answer, dict):
            self._fail("the learner's process answered something that is not an answer")
        return answer

    def _fail(self, why: str) -> NoReturn:
        self.failure = why
        self.close()
        raise LearnerGone(why)

    # ------------------------------------------------------------------ the end

    def close(self) -> None:
        """Kill the process and everything it started; wait for it. Safe to call again."""
        if self.session is not None:
            self.session.close()


class RemoteFunction:
    """A learner's function, called in the learner's process: arguments and result as plain data."""

    def __init__(self, learner: LearnerProcess, name: str) -> None:
        self.learner = learner
        self.__name__ = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.learner.call(self.__name__, *args, **kwargs)

    def __repr__(self) -> str:
        return f"<the learner's function {self.__name__}>"
