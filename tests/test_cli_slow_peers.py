"""The CLI server against peers that do not read, do not answer, or come too many.

Each test runs ``python -m wslearn serve`` in its own process and plays the bad peer with a
raw socket. The bounds are liveness deadlines (something that must happen, with a generous
margin), never speed figures.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from helpers import rawclient as rc

import wslearn

pytestmark = pytest.mark.timeout(90)

#: Generous room for a loaded 2-core machine on top of every time limit the server is given.
MARGIN = 4.0
SMALL_BUFFER = 4096  # the slow peer's receive buffer: it fills after a few messages


def flood_without_reading(sock: socket.socket, stop: threading.Event, size: int = 65536) -> None:
    """Send binary messages of ``size`` bytes until ``stop``; never read a byte."""
    message = rc.frame(0x2, b"m" * size)
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            sock.sendall(message)
        except socket.timeout:
            continue  # the server stopped reading us: that is the point
        except OSError:
            return  # the server cut us off


def read_to_eof(sock: socket.socket, seconds: float) -> bool:
    """Read and drop everything until the server closes TCP; False if it never does."""
    sock.settimeout(seconds)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if not sock.recv(1 << 20):
                return True
    except ConnectionResetError:
        return True  # cut off with a reset: closed all the same
    except socket.timeout:
        pass
    return False


def test_broadcast_reaches_the_peers_that_read_while_one_peer_reads_nothing(foreground):
    # Before: the sender's thread blocked in sendall() to the slow peer while holding its
    # lock; within 3 s nobody got anything any more.
    server = foreground("--quiet", "--handler", "broadcast", "--write-limit", "64KiB")
    slow = rc.handshake(server.port, receive_buffer=SMALL_BUFFER)  # reads nothing, ever
    count, size = 100, 65536  # 6.5 MB to the slow peer: far more than the buffers hold
    try:
        with (
            rc.connect_ws(server.url, max_size=None) as sender,
            rc.connect_ws(server.url, max_size=None) as listener,
        ):
            for i in range(count):
                message = bytes([i % 256]) * size
                sender.send(message)
                # Every peer that reads gets every message, in order; the sender is a peer
                # too and gets its own message back.
                assert listener.recv(timeout=10) == message
                assert sender.recv(timeout=10) == message
        # The slow peer was closed rather than waited for: the server ended its TCP connection.
        assert read_to_eof(slow, seconds=10)
        rc.assert_echoes(server.url)  # and a newcomer is served (broadcast includes itself)
    finally:
        slow.close()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "ctrl-c"])
@pytest.mark.parametrize("handler", ["echo", "broadcast"])
def test_stopping_is_bounded_while_a_peer_reads_nothing(foreground, handler, how):
    # Before: stop() waited forever for the lock held by a send blocked on the slow peer,
    # and the CLI ignored SIGTERM until it was killed.
    close_timeout = 1.0
    server = foreground("--quiet", "--handler", handler, "--close-timeout", str(close_timeout))
    slow = rc.handshake(server.port, receive_buffer=SMALL_BUFFER)
    stop = threading.Event()
    flooder = threading.Thread(target=flood_without_reading, args=(slow, stop), daemon=True)
    flooder.start()
    try:
        time.sleep(1.5)  # the server's sends to it are stuck by now
        started = time.monotonic()
        server.process.send_signal(how)
        assert server.exit_code(close_timeout + MARGIN + 5) == 0
        assert time.monotonic() - started < close_timeout + MARGIN
    finally:
        stop.set()
        flooder.join(5)
        slow.close()


def test_a_peer_that_sends_but_never_reads_is_closed_and_others_are_served(foreground):
    server = foreground("--quiet", "--write-timeout", "1")
    slow = rc.handshake(server.port, receive_buffer=SMALL_BUFFER)
    stop = threading.Event()
    flooder = threading.Thread(target=flood_without_reading, args=(slow, stop), daemon=True)
    flooder.start()
    try:
        rc.assert_echoes(server.url)  # served while the slow peer's echoes are stuck
        # write_timeout (1 s) after it stops reading, the server gives up on it.
        flooder.join(1.0 + MARGIN + 5)
        assert not flooder.is_alive(), "the server never cut off the peer that does not read"
        rc.assert_echoes(server.url)
    finally:
        stop.set()
        flooder.join(5)
        slow.close()


def test_a_silent_peer_is_pinged_then_closed_after_the_ping_timeout(foreground):
    interval, timeout = 0.5, 0.5
    server = foreground("--quiet", "--ping-interval", str(interval), "--ping-timeout", str(timeout))
    with rc.handshake(server.port) as silent:  # answers nothing, not even a Ping
        started = time.monotonic()
        frames, closed = rc.read_frames(silent, seconds=interval + timeout + MARGIN)
        assert closed, "the server kept a peer that stopped answering"
        assert time.monotonic() - started < interval + timeout + MARGIN
    assert [f.opcode for f in frames] == [wslearn.Opcode.PING, wslearn.Opcode.CLOSE]
    assert frames[0].payload == b"keepalive"
    assert rc.close_code_of(frames[1]) == 1011


def test_a_peer_that_answers_the_pings_stays_open(foreground):
    server = foreground("--quiet", "--ping-interval", "0.3", "--ping-timeout", "0.5")
    with rc.connect_ws(server.url) as ws:  # websockets answers every Ping by itself
        time.sleep(2.0)  # six intervals: six Pings answered
        ws.send("still open")
        assert ws.recv(timeout=5) == "still open"


def test_ping_interval_none_sends_no_ping(foreground):
    server = foreground("--quiet", "--ping-interval", "none")
    with rc.handshake(server.port) as quiet:
        frames, closed = rc.read_frames(quiet, seconds=1.5)
    assert frames == [] and not closed


def test_max_connections_turns_the_next_client_away_with_503_then_serves_again(foreground):
    server = foreground("--quiet", "--max-connections", "2")
    first, second = rc.handshake(server.port), rc.handshake(server.port)
    try:
        status, headers, body = rc.exchange_http(server.port, rc.request())
        assert status == 503 and headers.get("Retry-After") == "1"
        assert b"too many open connections" in body
    finally:
        second.close()
    try:
        assert rc.wait_until(lambda: _echoes(server.url), seconds=10)
    finally:
        first.close()


def _echoes(url: str) -> bool:
    try:
        rc.assert_echoes(url)
    except (OSError, AssertionError, wslearn.ConnectionClosed):
        return False
    except Exception:  # the websockets client refusing a 503 answer
        return False
    return True


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan"])
def test_time_limits_must_be_seconds_or_none(value):
    from wslearn.serve_command import parse_seconds

    with pytest.raises(argparse.ArgumentTypeError):
        parse_seconds(value)
    assert parse_seconds("none") is None and parse_seconds("0.25") == 0.25


@pytest.mark.parametrize("option", ["--write-timeout", "--close-timeout", "--handshake-timeout"])
@pytest.mark.parametrize("value", ["0", "-2", "none"])
def test_limits_that_cannot_be_turned_off_refuse_zero_and_none(option, value):
    done = subprocess.run(
        [sys.executable, "-m", "wslearn", "serve", "--port", "0", option, value],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert option in done.stderr and "Traceback" not in done.stderr
