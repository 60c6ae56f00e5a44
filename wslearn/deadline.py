"""A deadline: "at most this many seconds from now", for waits made of several steps.

The live server waits in steps: a handshake arrives in several ``recv()`` calls, a stop
joins several threads, a close drains a socket read by read. A time limit must hold for
the *whole* wait, not for each step, or a peer that sends one byte a second keeps a thread
forever. So the limit is turned into a moment, once, and each step waits only for what is
left of it::

    deadline = Deadline(5.0)
    while True:
        remaining = deadline.remaining()
        if remaining == 0:
            return "too slow"
        sock.settimeout(remaining)       # this step waits no longer than what is left
        data = sock.recv(65536)
        ...

The moment is taken on :func:`time.monotonic`, a clock that only moves forward: the
wall clock (:func:`time.time`) can jump when the machine sets its time, and a deadline on
it would end too early or far too late.
"""

from __future__ import annotations

import time

__all__ = ["Deadline"]


class Deadline:
    """The moment ``seconds`` from now; ask how much of it is left as often as you like."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left until the deadline, never below 0 (a timeout can be set to it)."""
        return max(0.0, self._end - time.monotonic())

    @property
    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self.remaining() == 0

    def __repr__(self) -> str:
        return f"<Deadline of {self.seconds} s, {self.remaining():.3f} s left>"
