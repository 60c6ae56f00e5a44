"""``Deadline``: one time limit for a wait made of several steps, on a clock we move by hand."""

from __future__ import annotations

import socket

import pytest

import wslearn.deadline
from wslearn.deadline import Deadline


class FakeClock:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(wslearn.deadline.time, "monotonic", fake)
    return fake


def test_remaining_counts_down_from_the_given_seconds(clock):
    deadline = Deadline(5.0)
    assert deadline.remaining() == 5.0 and not deadline.expired
    clock.now += 2.0
    assert deadline.remaining() == 3.0 and not deadline.expired


def test_past_the_moment_it_is_expired_and_nothing_remains(clock):
    deadline = Deadline(1.5)
    clock.now += 1.5
    assert deadline.expired and deadline.remaining() == 0
    clock.now += 10
    assert deadline.remaining() == 0.0, "never negative: a socket timeout can be set to it"


def test_the_limit_holds_for_the_whole_wait_not_for_each_step(clock):
    deadline = Deadline(1.0)
    steps = 0
    while not deadline.expired:
        clock.now += 0.3  # each step waits a while
        steps += 1
    assert steps == 4


def test_a_deadline_of_zero_or_less_is_expired_at_once(clock):
    assert Deadline(0).expired
    assert Deadline(-1).remaining() == 0


def test_repr_says_the_limit_and_what_is_left(clock):
    deadline = Deadline(2.0)
    clock.now += 0.5
    assert repr(deadline) == "<Deadline of 2.0 s, 1.500 s left>"


def test_a_socket_read_waits_at_most_what_remains():
    left, right = socket.socketpair()
    with left, right:
        deadline = Deadline(0.05)
        left.settimeout(deadline.remaining())
        with pytest.raises(socket.timeout):
            left.recv(1)  # nothing comes: the read ends at the deadline, not never
