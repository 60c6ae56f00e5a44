"""The server's memory stays bounded by its settings, whatever a peer sends: measured.

Two attacks, each against ``python -m wslearn serve --quiet`` in a process of its own, so
that the memory measured is the server's alone:

* one message made of two hundred thousand one-byte fragments: a message costs what it
  holds (one growing buffer), not one Python object per fragment;
* a hundred plain ``GET /`` requests whose heads are a megabyte each: a connection's record
  keeps at most ``MAX_REQUEST_KEPT`` bytes of each part of the head.

Each of these tests first warms the server up with a normal echo and a page (imports, threads,
buffers), notes its resident memory (``VmRSS``), starts its peak over, attacks through raw
sockets, then reads the peak (``VmHWM``) from ``/proc/<pid>/status``
(:mod:`helpers.procmem`). The growth of the peak must stay under a bound stated below.

The recorder's own byte count cannot be read from another process, so the last two tests
run the same attacks against a server in this process and ask its recorder
(``held_bytes() <= byte_bound``).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from helpers import procmem
from helpers import rawclient as rc
from helpers.foreground import Foreground

import wslearn
from wslearn.recording import CONNECTION_BYTES_BOUND, frame_bytes_bound

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(
        not Path("/proc/self/status").exists(), reason="reads memory from Linux's /proc"
    ),
]

KiB, MiB = 2**10, 2**20

# --- one message, one-byte fragments
#: The server's --max-size for this test.
MAX_SIZE = 256 * KiB
#: One byte each: a message of 200 000 bytes, under MAX_SIZE, so it must come back whole.
FRAGMENTS = 200_000
#: The message may exist a few times at once: the growing buffer (over-allocated as it
#: grows), the bytes handed to the handler, the echo on its way out; 8 copies is twice that.
FRAGMENT_K = 8
#: What does not depend on max_size: mostly the recorder's 10 000 frame records (about
#: 5 MiB on CPython 3.11), doubled, plus 2 MiB for the allocator.
FRAGMENT_C = 12 * MiB
# With one object per fragment (about 150 bytes each) the peak grew by 30 MiB, over the
# bound of 8 x 256 KiB + 12 MiB = 14 MiB; with one growing buffer, by about 5.4 MiB.

# --- plain requests with megabyte heads
#: Requests sent one after another.
HEADS = 100
#: Host plus 127 header lines of 8 KB: the most lines (128) and nearly the longest line
#: (8192 bytes) that http11 reads, about 1 MB in all; no limit applies to the whole head.
HEAD = rc.request(upgrade=False, headers=[(f"X-H{i}", "v" * 8000) for i in range(127)])
#: What a kept record may cost: its bytes (CONNECTION_BYTES_BOUND: 3 x 8 KiB of the head,
#: plus a close reason) and Python's overhead for the record, its Headers and strings (a
#: few hundred bytes). Stated, not computed, so that raising MAX_REQUEST_KEPT shows here.
HEAD_PER_RECORD = 32 * KiB
#: Reading one head costs several copies of it at once (the growing buffer, the copy that
#: is parsed, its lines, the decoded headers): about 11 MiB here; 24 MiB is twice that.
HEAD_C = 24 * MiB
# Keeping whole heads, 100 requests grew the peak by 205 MiB (300: 600 MiB), over the
# bound of 100 x 32 KiB + 24 MiB = 27 MiB; kept at 8 KiB a part: about 12 MiB.

#: Requests and fragments sent to the in-process server (its recorder is asked directly).
IN_PROCESS_HEADS = 30
IN_PROCESS_FRAGMENTS = 5_000
IN_PROCESS_MAX_FRAMES = 1_000


def one_byte_fragments(payload: bytes) -> bytes:
    """``payload`` as one binary message of one-byte frames: BINARY, CONT..., CONT with FIN."""
    last = len(payload) - 1
    return b"".join(
        rc.frame(0x2 if i == 0 else 0x0, payload[i : i + 1], fin=i == last)
        for i in range(len(payload))
    )


def warm_up(server: Foreground) -> int:
    """Serve a page, a short fragmented message and an echo; return the RSS then, in bytes.

    The first of each loads modules and makes threads and buffers that stay: counting them
    would blame the attack for the server's own start. The peak starts over here.
    """
    rc.exchange_http(server.port, rc.request(upgrade=False))
    with rc.handshake(server.port) as sock:
        sock.sendall(one_byte_fragments(b"warm up"))
        assert rc.read_frame(sock).payload == b"warm up"
    rc.assert_echoes(server.url, "warm up")
    pid = server.process.pid
    before = procmem.rss(pid)
    procmem.reset_peak(pid)  # if refused, the peak counts from the start: only higher
    return before


def figures(before: int, server: Foreground, seconds: float) -> str:
    """What was measured, in words, for the failure message (and ``pytest -s``)."""
    status = procmem.memory_status(server.process.pid)
    return (
        f"RSS before {before / MiB:.1f} MiB, after {status['VmRSS'] / MiB:.1f} MiB, "
        f"peak {status['VmHWM'] / MiB:.1f} MiB, growth {(status['VmHWM'] - before) / MiB:.1f} "
        f"MiB, in {seconds:.1f} s"
    )


def test_a_message_of_one_byte_fragments_costs_a_few_times_max_size(foreground) -> None:
    server = foreground("--quiet", "--max-size", "256KiB")
    before = warm_up(server)
    payload = bytes(i % 251 for i in range(FRAGMENTS))
    data = one_byte_fragments(payload)
    start = time.monotonic()
    # A generous socket timeout: the echo comes only once every fragment has been read.
    with rc.handshake(server.port, timeout=30) as sock:
        sock.sendall(data)  # 1.75 MB in one batch: 7 bytes a frame (2 header, 4 key, 1)
        echo = rc.read_frame(sock, seconds=30)
    seen = figures(before, server, time.monotonic() - start)
    print(seen)  # shown with pytest -s
    growth = procmem.peak_rss(server.process.pid) - before
    assert echo.opcode == wslearn.Opcode.BINARY and echo.payload == payload, seen
    assert growth <= FRAGMENT_K * MAX_SIZE + FRAGMENT_C, seen
    assert server.process.poll() is None  # still running


def test_plain_requests_with_megabyte_heads_leave_small_records(foreground) -> None:
    assert CONNECTION_BYTES_BOUND < HEAD_PER_RECORD  # the bound below is really room for it
    server = foreground("--quiet")
    before = warm_up(server)
    start = time.monotonic()
    for _ in range(HEADS):
        status, _headers, _body = rc.exchange_http(server.port, HEAD)
        assert status == 200  # the test page: a plain GET without Upgrade
    seen = figures(before, server, time.monotonic() - start)
    print(seen)  # shown with pytest -s
    growth = procmem.peak_rss(server.process.pid) - before
    assert growth <= HEADS * HEAD_PER_RECORD + HEAD_C, seen
    rc.assert_echoes(server.url, "still here")


def test_in_process_the_recorder_holds_at_most_its_byte_bound_after_megabyte_heads() -> None:
    with wslearn.serve(port=0, log=None) as server:
        for _ in range(IN_PROCESS_HEADS):
            status, _headers, _body = rc.exchange_http(server.port, HEAD)
            assert status == 200
        recorder = server.recorder
        assert recorder.held_bytes() <= recorder.byte_bound
        assert recorder.held_bytes() <= IN_PROCESS_HEADS * CONNECTION_BYTES_BOUND
        records = recorder.connections()
        assert len(records) == IN_PROCESS_HEADS
        assert all(record.request_dropped > 900_000 for record in records)


def test_in_process_the_recorder_holds_at_most_its_byte_bound_after_fragments() -> None:
    payload = bytes(i % 251 for i in range(IN_PROCESS_FRAGMENTS))
    big = bytes(100_000)
    with wslearn.serve(port=0, log=None, max_frames=IN_PROCESS_MAX_FRAMES) as server:
        with rc.handshake(server.port, timeout=30) as sock:
            sock.sendall(one_byte_fragments(payload))
            assert rc.read_frame(sock, seconds=30).payload == payload
            sock.sendall(rc.frame(0x2, big))  # and one big frame, each way
            assert rc.read_frame(sock, seconds=30).payload == big
        recorder = server.recorder
        # Every frame, in and out, was recorded; only the newest are kept, each within its
        # bound (the big frames' previews were cut).
        recorded = IN_PROCESS_FRAGMENTS + 3  # the fragments, their echo, the big frame, its echo
        assert recorder.dropped_frames == recorded - IN_PROCESS_MAX_FRAMES
        frames = recorder.frames()
        assert len(frames) == IN_PROCESS_MAX_FRAMES and frames[-1].length == len(big)
        assert max(f.held_bytes() for f in frames) == frame_bytes_bound(recorder.preview_bytes)
        assert recorder.held_bytes() <= recorder.byte_bound
