"""The back-pressure experiment: a slow reader holds the handler back; a stopped one is closed.

Real runs over 127.0.0.1, about 2 s each. The bounds asserted are on bytes (where they
wait, how many) and on order; time appears only in generous liveness deadlines.
"""

from __future__ import annotations

import os
import re
from typing import Iterator

import pytest
from helpers.leftovers import left_behind, open_things

from wslearn.experiments import BackpressureRun, slow_reader

pytestmark = pytest.mark.timeout(60)
LINUX = os.path.isdir("/proc/self/fd")


def checked_run(**options) -> BackpressureRun:
    before = open_things()
    run = slow_reader(**options)
    assert not left_behind(before), "a thread or a socket outlived the run"
    return run


@pytest.fixture(scope="module")
def keeps_up() -> Iterator[BackpressureRun]:
    yield checked_run(duration=2.0)


@pytest.fixture(scope="module")
def stops() -> Iterator[BackpressureRun]:
    yield checked_run(stops_reading_at=0.5, write_timeout=1.0)


def test_a_slow_reader_holds_the_handler_to_its_pace(keeps_up: BackpressureRun) -> None:
    run = keeps_up
    assert len(run.samples) >= 10
    last = run.samples[-1]
    assert last.read > 0
    # Far fewer messages left than the handler wanted to send: its send() waited.
    assert run.messages_sent < 10_000
    # What was handed to send() but not read is bounded, all the way: the two kernel
    # buffers (the kernel counts up to twice SO_SNDBUF / SO_RCVBUF, and some overhead) and
    # at most one message in the server's memory. Unbounded, it would reach 160 MB here.
    assert run.send_buffer is not None and run.receive_buffer is not None
    kernels = 4 * (run.send_buffer + run.receive_buffer)
    for sample in run.samples:
        assert sample.read <= sample.handed <= sample.read + kernels + run.frame_size
    assert run.close_code == 1000  # the client closed at the end, normally


@pytest.mark.skipif(not LINUX, reason="SIOCOUTQ and SIOCINQ are Linux's")
def test_the_servers_memory_never_holds_more_than_write_limit_and_one_message(
    keeps_up: BackpressureRun, stops: BackpressureRun
) -> None:
    for run in (keeps_up, stops):
        # The server's own count of its memory, sampled once the handler had begun.
        assert all(s.outbox is not None for s in run.samples)
        assert run.max_backlog is not None
        assert run.max_backlog <= run.write_limit + run.frame_size
        assert run.max_server_queue is not None and run.max_server_queue > 0
        assert run.max_client_queue is not None and run.max_client_queue > 0
    # A waiting send leaves at most the rest of its own message unsent.
    assert keeps_up.max_backlog is not None and keeps_up.max_backlog <= keeps_up.frame_size


def test_a_reader_that_stops_is_closed_with_1008(stops: BackpressureRun) -> None:
    run = stops
    assert run.close_code == 1008
    assert "peer too slow" in run.close_reason
    assert run.closed_at is not None and run.stops_reading_at is not None
    assert run.stops_reading_at < run.closed_at <= run.stops_reading_at + 2 * 1.0 + 1.0
    after = [s for s in run.samples if s.time > run.stops_reading_at + 0.05]
    assert after and len({s.read for s in after}) == 1  # it really read nothing more
    assert "1008" in run.summary()
    # The reason counts what the server dropped as it gave up: the rest of the message
    # its handler was sending (read once the outbox had dropped it, it said 0).
    found = re.search(r"(\d+) bytes unread", run.close_reason)
    assert found, run.close_reason
    assert 0 < int(found.group(1)) <= run.frame_size


@pytest.mark.skipif(not LINUX, reason="the server measures what its peer read with SIOCOUTQ")
def test_a_reader_that_keeps_reading_is_not_closed_behind_linuxs_own_send_buffer() -> None:
    # Linux grows the send buffer to some 3 MB and wakes a blocked send() only once a third
    # of it is free: more than write_timeout of this reader's pace. It reads all along, so
    # it is not closed: it closes the connection itself at the end (1000).
    run = checked_run(send_buffer=None, write_timeout=1.0, duration=2.5)
    assert run.close_code == 1000, run.close_reason
    assert run.max_server_queue is not None and run.max_server_queue > 1_000_000
    reads = [s.read for s in run.samples]
    assert reads[-1] > reads[len(reads) // 2] > 0  # it read in the second half too


def test_a_sender_that_never_waits_drops_the_reader_past_write_limit() -> None:
    run = checked_run(waits=False, write_limit=32768, duration=1.0)
    assert run.close_code == 1008
    found = re.search(r"(\d+) bytes unread", run.close_reason)
    assert found, run.close_reason
    unread = int(found.group(1))  # the server's own count, the moment it gave up
    assert run.write_limit < unread <= run.write_limit + run.frame_size


def test_the_summary_names_the_figures(keeps_up: BackpressureRun) -> None:
    text = keeps_up.summary()
    assert f"{keeps_up.messages_sent} message(s) of 16384 B" in text
    assert "write_limit 32768 B" in text and "closed at" in text
