"""Run a learner's code for a few seconds at most, in the learner's own kernel.

Loading the pieces of notebook 12 runs the learner's solution cells and the course's checks
on them, in-process: the same trust as running their notebook. An endless loop there must
cost one piece, not the kernel. In the main thread (where a Jupyter kernel runs a cell) a
timer signal interrupts the code after ``seconds`` (and any timer set before, such as a test
runner's, is put back afterwards); elsewhere the code runs in a thread of its own that is
given up on after ``seconds`` (Python cannot stop a thread: it is left to end by itself).
Code stuck in one long C call (``bytes(10**12)``) is interrupted only when that call returns.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any, Callable, List, TypeVar

__all__ = ["TookTooLong", "run_bounded"]

T = TypeVar("T")


class TookTooLong(BaseException):
    """The code ran past its time. A BaseException, so ``except Exception`` in learner code
    (or in a check, which reports a learner's exceptions) does not swallow it."""


def run_bounded(function: Callable[[], T], seconds: float) -> T:
    """``function()``, or :class:`TookTooLong` once it has run ``seconds``."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return _with_timer(function, seconds)
    return _in_thread(function, seconds)


def _with_timer(function: Callable[[], T], seconds: float) -> T:
    def on_alarm(signum: int, frame: Any) -> None:
        raise TookTooLong(f"still running after {seconds:g} s")

    started = time.monotonic()
    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return function()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if previous_delay > 0:  # someone else's timer: it goes on where it was
            left = previous_delay - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001), previous_interval)


def _in_thread(function: Callable[[], T], seconds: float) -> T:
    outcome: List[Any] = []

    def run() -> None:
        try:
            outcome.append((True, function()))
        except BaseException as error:  # noqa: BLE001 - handed back to the caller below
            outcome.append((False, error))

    worker = threading.Thread(target=run, name="wslearn-capstone-bounded", daemon=True)
    worker.start()
    worker.join(seconds)
    if not outcome:
        raise TookTooLong(f"still running after {seconds:g} s")
    finished, value = outcome[0]
    if not finished:
        raise value
    return value  # type: ignore[no-any-return]
