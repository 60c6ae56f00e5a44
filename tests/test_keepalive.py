"""``Keepalive``: when to Ping a quiet peer, and when its missing Pong means it is gone."""

from __future__ import annotations

import pytest

from wslearn.keepalive import PING_PAYLOAD, Keepalive


def test_pings_after_the_interval_then_gives_up_after_the_timeout():
    keepalive = Keepalive(interval=20, timeout=5, now=100)
    assert keepalive.next_event() == 120
    assert [keepalive.due(t) for t in (100, 119.9, 120)] == [None, None, "ping"]
    keepalive.ping_sent(now=120)
    assert keepalive.waiting
    assert keepalive.next_event() == 125
    assert [keepalive.due(t) for t in (121, 124.9, 125)] == [None, None, "timeout"]


def test_the_answering_pong_starts_a_new_interval():
    keepalive = Keepalive(interval=20, timeout=5, now=0)
    keepalive.ping_sent(now=20)
    keepalive.pong_received(PING_PAYLOAD, now=22)
    assert not keepalive.waiting
    assert keepalive.next_event() == 42
    assert keepalive.due(41) is None and keepalive.due(42) == "ping"


@pytest.mark.parametrize("payload", [b"", b"someone else's ping", PING_PAYLOAD + b"!"])
def test_a_pong_that_answers_another_ping_does_not_count(payload):
    keepalive = Keepalive(interval=20, timeout=5, now=0)
    keepalive.ping_sent(now=20)
    keepalive.pong_received(payload, now=21)
    assert keepalive.waiting
    assert keepalive.due(25) == "timeout"


def test_a_pong_before_any_ping_changes_nothing():
    keepalive = Keepalive(interval=20, timeout=5, now=0)
    keepalive.pong_received(PING_PAYLOAD, now=10)  # a heartbeat (§5.5.3), not an answer
    assert keepalive.next_event() == 20


def test_without_a_timeout_it_pings_every_interval_and_never_gives_up():
    keepalive = Keepalive(interval=10, timeout=None, now=0)
    moments = []
    for now in range(0, 1000):
        if keepalive.due(now) == "ping":
            keepalive.ping_sent(now)
            moments.append(now)
        assert keepalive.due(now) != "timeout"
    assert moments[:3] == [10, 20, 30] and len(moments) == 99


@pytest.mark.parametrize("interval, timeout", [(0, 5), (-1, 5), (20, 0), (20, -3)])
def test_limits_must_be_positive(interval, timeout):
    with pytest.raises(ValueError):
        Keepalive(interval=interval, timeout=timeout, now=0)
