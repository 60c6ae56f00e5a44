"""The per-frame log's budget: a client's tiny frames cannot make the log outgrow the traffic.

The bound every test checks, with the settings it states::

    bytes of the log (lines + newlines, summaries included) <= ALLOWANCE + RATIO x wire bytes

and the accounting: every frame is either logged (one line) or counted in a summary line.
The last test floods the real command-line server, in its own process, and measures its stdout.
"""

from __future__ import annotations

import re
import threading
from typing import List, Tuple

import pytest
from helpers import rawclient as rc
from hypothesis import given, settings
from hypothesis import strategies as st

import wslearn
from wslearn.frame_log import SUMMARY_RESERVE, FrameLog
from wslearn.recording import FrameRecord
from wslearn.views.line import format_frame

pytestmark = pytest.mark.timeout(60)

#: The settings under test, FrameLog's defaults (the server uses them): the log may hold
#: ALLOWANCE bytes, plus RATIO bytes for every byte of frames on the wire; after leaving
#: frames out it resumes only with RESUME bytes to spare.
RATIO = 2.0
ALLOWANCE = 65536
RESUME = 2048

#: A summary line, read back independently of the module: how many frames, how many bytes.
SUMMARY = re.compile(r"^\.\.\. (\d+) frames? not logged \((\d+) bytes on the wire\)")
FRAME_LINE = re.compile(r"^#\d+ (->|<-) ")
MASK = bytes.fromhex("37fa213d")


def record(
    opcode: int, payload: bytes = b"", *, direction: str = "in", connection: int = 1
) -> FrameRecord:
    """The record of a frame as the server sees it: masked from the client, plain from us."""
    frame = wslearn.Frame(wslearn.Opcode(opcode), payload)
    raw = frame.serialize(MASK if direction == "in" else None)
    parsed, _used = wslearn.Frame.parse(raw)
    return FrameRecord.from_frame(parsed, time=0.0, connection=connection, direction=direction)


def wire(rec: FrameRecord) -> int:
    """A frame's bytes on the wire: header, then payload."""
    return len(rec.header) + rec.length


def cost(line: str) -> int:
    """Bytes a line takes in the log (a print adds the newline)."""
    return len(line.encode("utf-8")) + 1


class Written:
    """The log's output: its lines, their bytes, and how many are frame lines."""

    def __init__(self) -> None:
        self.lines: List[str] = []
        self.bytes = 0
        self.frame_line_count = 0

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        self.bytes += cost(line)
        if not SUMMARY.match(line):
            self.frame_line_count += 1

    def summarised(self) -> Tuple[int, int]:
        """Frames and wire bytes the summary lines say were left out."""
        found = [SUMMARY.match(line) for line in self.lines]
        counts = [(int(m.group(1)), int(m.group(2))) for m in found if m]
        return sum(c for c, _ in counts), sum(b for _, b in counts)

    def frame_lines(self) -> List[str]:
        return [line for line in self.lines if not SUMMARY.match(line)]


def feed(log: FrameLog, written: Written, records: List[FrameRecord], ratio: float, allowance: int):
    """Hand each record to ``log``, checking the bound after each; return (wire, logged wire)."""
    total = logged = 0
    for rec in records:
        before = written.frame_line_count
        log(rec)
        total += wire(rec)
        if written.frame_line_count > before:
            assert written.lines[-1] == format_frame(rec)  # its own line, last
            logged += wire(rec)
        assert written.bytes <= allowance + ratio * total
    log.flush()
    assert written.bytes <= allowance + ratio * total
    return total, logged


def test_a_flood_of_empty_frames_stays_within_ratio_times_the_wire_plus_the_allowance():
    # 10**5 frames: Pings from the client (6 bytes each, masked) and our Pongs (2 bytes).
    ping, pong = record(wslearn.Opcode.PING), record(wslearn.Opcode.PONG, direction="out")
    records = [ping, pong] * 50_000
    written = Written()
    log = FrameLog(written, ratio=RATIO, allowance=ALLOWANCE, resume=RESUME)
    total, logged = feed(log, written, records, RATIO, ALLOWANCE)

    assert total == 50_000 * (6 + 2)
    assert written.bytes <= ALLOWANCE + RATIO * total  # the bound, after the final summary
    # Without the budget each frame would cost its ~45-byte line: 10x the wire or more.
    assert sum(cost(format_frame(r)) for r in records) > 5 * (ALLOWANCE + RATIO * total)
    # Every frame is logged or counted, and the summaries say how many bytes they skipped.
    summarised, skipped_bytes = written.summarised()
    assert len(written.frame_lines()) + summarised == len(records)
    assert logged + skipped_bytes == total
    assert log.summaries >= 1 and summarised > 0
    assert (log.frames, log.wire_bytes, log.written) == (len(records), total, written.bytes)
    assert log.skipped == 0  # flush() reported the last ones
    # Between two summaries come runs of lines, not single lines: at least RESUME bytes of
    # them, less one line (the one whose turn came when the budget ran out).
    longest = max(cost(format_frame(ping)), cost(format_frame(pong)))
    run = None  # bytes of frame lines since the last summary (None before the first)
    for line in written.lines:
        if SUMMARY.match(line):
            assert run is None or run > RESUME - longest, run
            run = 0
        elif run is not None:
            run += cost(line)


def test_normal_traffic_is_logged_line_by_line_without_a_summary():
    # 100 text messages of 100 bytes, each echoed: 200 frames, every one worth its line.
    records = []
    for n in range(100):
        text = f"message {n:03d} ".encode().ljust(100, b".")
        records += [
            record(wslearn.Opcode.TEXT, text),
            record(wslearn.Opcode.TEXT, text, direction="out"),
        ]
    written = Written()
    log = FrameLog(written, ratio=RATIO, allowance=ALLOWANCE, resume=RESUME)
    feed(log, written, records, RATIO, ALLOWANCE)
    assert written.lines == [format_frame(r) for r in records]
    assert log.summaries == 0


def test_after_a_flood_the_next_big_frame_gets_the_summary_then_its_own_line():
    written = Written()
    log = FrameLog(written, ratio=RATIO, allowance=ALLOWANCE, resume=RESUME)
    for _ in range(20_000):
        log(record(wslearn.Opcode.BINARY, b"x"))
    owed = log.skipped
    assert owed > 0
    # It pays RATIO x 4008 bytes of budget: more than RESUME, a summary, its line and the
    # reserve together, however little was left before it.
    big = record(wslearn.Opcode.BINARY, bytes(4000))
    assert RATIO * wire(big) > RESUME + 2 * SUMMARY_RESERVE + cost(format_frame(big))
    log(big)
    assert SUMMARY.match(written.lines[-2]).group(1) == str(owed)
    assert written.lines[-1] == format_frame(big)
    assert log.skipped == 0


def test_several_threads_share_one_budget_and_lose_no_frame():
    written = Written()
    log = FrameLog(written, ratio=RATIO, allowance=ALLOWANCE, resume=RESUME)
    per_thread = 10_000  # 4 threads, each its own connection of 1-byte binary frames (7 bytes)

    def flood(connection: int) -> None:
        rec = record(wslearn.Opcode.BINARY, b"x", connection=connection)
        for _ in range(per_thread):
            log(rec)

    threads = [threading.Thread(target=flood, args=(n,)) for n in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    log.flush()
    total = 4 * per_thread * 7
    assert log.wire_bytes == total
    assert written.bytes <= ALLOWANCE + RATIO * total
    assert len(written.frame_lines()) + written.summarised()[0] == 4 * per_thread


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 300), min_size=1, max_size=400),
    ratio=st.sampled_from([0.0, 0.5, 1.0, 2.0, 5.0]),
    extra=st.integers(0, 2000),
    resume=st.sampled_from([0, 1, 500, RESUME]),
)
def test_the_bound_holds_after_every_frame_for_any_sizes_and_settings(sizes, ratio, extra, resume):
    # The tightest allowances too: just the room for one summary line, plus a little.
    allowance = SUMMARY_RESERVE + extra
    records = [record(wslearn.Opcode.BINARY, bytes(n)) for n in sizes]
    written = Written()
    log = FrameLog(written, ratio=ratio, allowance=allowance, resume=resume)
    total, logged = feed(log, written, records, ratio, allowance)
    summarised, skipped_bytes = written.summarised()
    assert len(written.frame_lines()) + summarised == len(records)
    assert logged + skipped_bytes == total


def test_flush_with_nothing_left_out_writes_nothing_and_an_allowance_too_small_is_refused():
    written = Written()
    log = FrameLog(written)
    log(record(wslearn.Opcode.TEXT, b"hi"))
    log.flush()
    assert len(written.lines) == 1
    with pytest.raises(ValueError, match="summary line"):
        FrameLog(written, allowance=SUMMARY_RESERVE - 1)
    with pytest.raises(ValueError, match="ratio"):
        FrameLog(written, ratio=-1)
    with pytest.raises(ValueError, match="resume"):
        FrameLog(written, resume=-1)


# ------------------------------------------------------------------ the real command line


#: The flood: this many 1-byte binary messages (7 bytes masked), each echoed (3 bytes).
FLOOD = 20_000
#: The lines the command line prints whatever the traffic: two at start, one at stop.
FIXED_LINES = (r"^wslearn \w+ server on ws://", r"^Press Ctrl-C to stop\.$", r"^stopping: ")


def test_the_command_line_log_stays_within_ratio_times_the_wire_under_a_flood(foreground):
    server = foreground()
    received = bytearray()
    with rc.handshake(server.port) as sock:
        sock.settimeout(30)  # a liveness bound: the whole flood is echoed in seconds

        def read_all() -> None:  # the echoes, while we send: neither side ever blocks
            try:
                for chunk in iter(lambda: sock.recv(65536), b""):
                    received.extend(chunk)
            except OSError:
                pass

        reader = threading.Thread(target=read_all, daemon=True)
        reader.start()
        flood = b"".join(rc.frame(wslearn.Opcode.BINARY, b"x") for _ in range(FLOOD))
        sock.sendall(flood)
        # Every echo first (3 bytes each), then our Close: messages that arrive together
        # with a Close are not echoed once the server has answered it.
        assert rc.wait_until(lambda: len(received) >= 3 * FLOOD, seconds=30), len(received)
        closing = rc.close_frame(1000)
        sock.sendall(closing)
        reader.join(timeout=30)
        assert not reader.is_alive(), "the server did not close the connection"
    frames_out = []
    rest = bytes(received)
    while rest:
        found, used = wslearn.Frame.parse(rest)
        frames_out.append(found)
        rest = rest[used:]
    assert len(frames_out) == FLOOD + 1  # every echo, then the Close reply
    assert rc.close_code_of(frames_out[-1]) == 1000

    assert server.interrupt(15) == 0
    fixed = [line for line in server.lines if any(re.search(p, line) for p in FIXED_LINES)]
    assert len(fixed) == len(FIXED_LINES), fixed
    logged = [line for line in server.lines if line not in fixed]
    # The server prints each line with its newline, and these lines are ASCII (hex previews,
    # Close codes): so each costs exactly cost(line) bytes of stdout, whatever the encoding.
    assert all(line.isascii() for line in logged)
    log_bytes = sum(cost(line) for line in logged)
    wire_bytes = len(flood) + len(closing) + len(received)  # both directions, handshake left out

    assert log_bytes <= ALLOWANCE + RATIO * wire_bytes, (
        f"{log_bytes} bytes of log for {wire_bytes} bytes on the wire"
    )
    # Each line is a frame's or a summary's, and together they account for every frame.
    summaries = [SUMMARY.match(line) for line in logged if SUMMARY.match(line)]
    frame_lines = [line for line in logged if FRAME_LINE.match(line)]
    assert len(summaries) + len(frame_lines) == len(logged), "a line that is neither"
    assert summaries, "a flood this size cannot be logged whole"
    frames_seen = 2 * (FLOOD + 1)  # in: FLOOD messages and a Close; out: as many
    assert len(frame_lines) + sum(int(m.group(1)) for m in summaries) == frames_seen
    print(
        f"flood: {frames_seen} frames, {wire_bytes} wire bytes, {log_bytes} log bytes, "
        f"{len(frame_lines)} frame lines, {len(summaries)} summaries"
    )
