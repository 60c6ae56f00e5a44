"""The server's per-frame log, with a budget: the log may not grow faster than the traffic.

``python -m wslearn serve`` prints one line per frame (:func:`~wslearn.views.line.format_frame`).
That line is about 60 bytes, and the smallest frame is 2 bytes on the wire (6 from a client,
which must mask): a client that floods the server with tiny frames, as test suites such as
Autobahn's do on purpose, makes the log up to twenty times bigger than its own traffic. Whoever
connects would then decide how fast the server's disk fills. :class:`FrameLog` stops that: it
writes the lines while they fit in a budget that grows with the bytes on the wire, and counts
the frames it had to leave out, then says so in one summary line.

This module owns that rule and nothing else: the lines are format_frame's, it opens no files and
knows no sockets. The server hands it each :class:`~wslearn.recording.FrameRecord` and a
``write`` function (``print``, for the command line).
"""

from __future__ import annotations

import threading
from typing import Callable

from .recording import FrameRecord
from .views.line import format_frame

__all__ = ["FrameLog", "line_cost", "summary_line", "SUMMARY_RESERVE"]


def line_cost(line: str) -> int:
    """Bytes one written line takes in the log: its UTF-8 encoding and the newline after it."""
    return len(line.encode("utf-8", "replace")) + 1


def summary_line(frames: int, wire_bytes: int) -> str:
    """The line that stands for frames left out of the log: how many, and their bytes."""
    noun = "frame" if frames == 1 else "frames"
    return (
        f"... {frames} {noun} not logged ({wire_bytes} bytes on the wire): "
        "small frames arriving faster than the log may grow"
    )


#: Room kept free for one summary line at every moment, so that the summary owed at the end
#: always fits in the budget too. Counts of up to 20 digits (10**20 frames: longer than any
#: server runs) give the longest summary line.
SUMMARY_RESERVE = line_cost(summary_line(10**20 - 1, 10**20 - 1))


class FrameLog:
    """Write one line per frame, as long as the log stays within its budget.

    The rule, in plain words: after any number of frames, everything written so far (each
    line and its newline, summary lines included) is at most ::

        allowance + ratio x (bytes of those frames on the wire)

    The wire bytes of a frame are its header and its payload (``len(record.header) +
    record.length``), counted for every frame, logged or not. With the defaults
    (``ratio=2.0``, ``allowance=65536``) ordinary traffic is logged in full: a frame of 100
    bytes pays 200 bytes of budget for a line of about 110. A flood of tiny frames is not:
    once the 64 KiB allowance is spent, a frame is logged only when the budget has grown
    enough for its line; the others are counted. Before the next line it writes, and at
    :meth:`flush` (the server calls it as it stops), one summary line says how many frames
    were left out and how many bytes they carried. After such a gap the log waits until the
    budget has ``resume`` bytes to spare (2 KiB: some thirty lines) beyond that summary and
    line, so that a flood reads as runs of lines between summaries rather than one summary
    for every line (``resume=0`` resumes as soon as a single line fits).

    Why a budget that follows the traffic: the client decides what it sends, but must not
    decide how fast the server's disk fills. Here a client that sends ``n`` bytes can make
    the log grow by at most ``ratio x n`` bytes, plus the fixed ``allowance``, whatever
    the size of its frames. The budget is shared by all connections, so opening more
    connections does not buy more allowance either.

    Exactness: a line is written only if, after it, there is still room for a summary
    line (:data:`SUMMARY_RESERVE` bytes), so the summary owed at the end always fits.
    Several connection threads call the log at once: one lock makes each decision and
    its write a single step, and keeps a summary next to the line it precedes.
    """

    def __init__(
        self,
        write: Callable[[str], None],
        *,
        ratio: float = 2.0,
        allowance: int = 65536,
        resume: int = 2048,
    ) -> None:
        if ratio < 0 or resume < 0:
            raise ValueError(f"ratio and resume must be 0 or more, not {ratio} and {resume}")
        if allowance < SUMMARY_RESERVE:
            raise ValueError(
                f"allowance must leave room for a summary line ({SUMMARY_RESERVE} bytes)"
            )
        self.write = write
        self.ratio = ratio
        self.allowance = allowance
        self.resume = resume
        # Counters, for a learner (and a test) to read; only this class changes them.
        self.frames = 0  #: frames seen, logged or not
        self.wire_bytes = 0  #: their bytes on the wire (headers and payloads)
        self.written = 0  #: bytes written to the log (lines and newlines)
        self.lines = 0  #: frame lines written
        self.summaries = 0  #: summary lines written
        self.skipped = 0  #: frames left out since the last summary (not yet reported)
        self.skipped_wire_bytes = 0  #: their bytes on the wire
        self._lock = threading.Lock()

    @property
    def budget(self) -> float:
        """How many bytes the log may hold now: ``allowance + ratio x wire_bytes``."""
        return self.allowance + self.ratio * self.wire_bytes

    def __call__(self, record: FrameRecord) -> None:
        """Log one frame (in or out), or count it if its line does not fit in the budget."""
        line = format_frame(record)
        with self._lock:
            self.frames += 1
            self.wire_bytes += len(record.header) + record.length
            needed = line_cost(line) + SUMMARY_RESERVE  # the line, and room kept for a summary
            summary = self._pending_summary()
            if summary:  # after a gap: the summary first, and room for a run of lines
                needed += line_cost(summary) + self.resume
            if self.written + needed > self.budget:
                self.skipped += 1
                self.skipped_wire_bytes += len(record.header) + record.length
                return
            if summary:
                self._write_summary(summary)
            self.write(line)
            self.written += line_cost(line)
            self.lines += 1

    def flush(self) -> None:
        """Write the summary of the frames left out since the last line, if any.

        The server calls it once, as it stops. It fits: every line left
        :data:`SUMMARY_RESERVE` bytes of budget free for it. Called again with no line
        written in between, that room is spent, so a new summary is written only if it
        fits in the budget; otherwise it stays owed, for the next line or flush.
        """
        with self._lock:
            summary = self._pending_summary()
            if summary and self.written + line_cost(summary) <= self.budget:
                self._write_summary(summary)

    def _pending_summary(self) -> str:
        """The summary owed for the frames left out so far ("" if none were)."""
        if not self.skipped:
            return ""
        return summary_line(self.skipped, self.skipped_wire_bytes)

    def _write_summary(self, summary: str) -> None:
        self.write(summary)
        self.written += line_cost(summary)
        self.summaries += 1
        self.skipped = 0
        self.skipped_wire_bytes = 0
