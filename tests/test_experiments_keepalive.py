"""The keepalive experiment: a peer that goes silent is Pinged, then closed with 1011.

Each run is real: a wslearn server on 127.0.0.1 and a raw-socket peer, a few seconds.
The only time bounds asserted are orders (a Ping before the close, the close after the
limits) and generous deadlines, never speeds.
"""

from __future__ import annotations

from typing import Iterator

import pytest
from helpers.leftovers import left_behind, open_things

from wslearn.experiments import KeepaliveRun, silent_peer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def run() -> Iterator[KeepaliveRun]:
    before = open_things()
    result = silent_peer(ping_interval=0.5, ping_timeout=0.5, answered=2)
    assert not left_behind(before), "a thread or a socket outlived the run"
    yield result


def test_the_server_pings_the_peer_answers_then_goes_silent(run: KeepaliveRun) -> None:
    assert len(run.pongs) == 2  # the two Pings the peer answered
    assert len(run.pings) >= 3  # ... and the one it did not
    assert run.pings == sorted(run.pings) and run.pings[0] > 0
    assert all(ping < pong for ping, pong in zip(run.pings, run.pongs))
    assert run.pongs[-1] <= run.silent_at + 0.5  # the last Pong was sent before the silence


def test_the_server_closes_the_silent_peer_with_1011(run: KeepaliveRun) -> None:
    assert run.close_code == 1011
    assert "keepalive" in run.close_reason and "Pong" in run.close_reason
    assert run.closed_at is not None
    assert run.pings[-1] < run.closed_at
    # The close waits for a quiet interval, then for the Pong's timeout.
    quiet = run.closed_at - run.last_sign_of_life
    assert quiet >= run.ping_interval + run.ping_timeout
    assert quiet <= run.ping_interval + run.ping_timeout + 2.0  # generous: a liveness bound
    assert run.closed_at - run.pings[-1] >= run.ping_timeout


def test_the_client_finds_the_unanswered_ping_and_the_close_in_its_buffer(
    run: KeepaliveRun,
) -> None:
    assert run.client_saw[-1].startswith("CLOSE 1011")
    assert any(seen.startswith("PING") for seen in run.client_saw[:-1])
    assert run.client_eof


def test_the_timeline_is_in_order_and_from_both_sides(run: KeepaliveRun) -> None:
    times = [event.time for event in run.events]
    assert times == sorted(times)
    assert {event.side for event in run.events} == {"server", "client"}
    whats = [event.what for event in run.events if event.side == "server"]
    assert whats[:2] == ["TEXT", "TEXT"]  # the message and its echo come first
    assert whats[-1] == "CLOSE"
    assert len(run.frames) == len(whats)
    assert "1011" in run.summary() and "2 Pong(s)" in repr(run)


def test_a_peer_silent_from_the_start_is_closed_after_its_first_ping() -> None:
    before = open_things()
    run = silent_peer(ping_interval=0.3, ping_timeout=0.3, answered=0)
    assert not left_behind(before)
    assert run.pongs == [] and len(run.pings) == 1
    assert run.close_code == 1011
    assert run.closed_at is not None and run.closed_at - run.pings[0] >= 0.3
    assert run.detected_after is not None and run.detected_after > 0
