"""``Outbox``: bytes leave in order, no thread waits on the socket while holding the lock,
and a peer that reads nothing is given up on after ``write_timeout``."""

from __future__ import annotations

import socket
import sys
import threading
import time

import pytest
from helpers import rawclient as rc

from wslearn.outbox import Outbox

pytestmark = pytest.mark.timeout(30)


def make_pair(buffer: int = 4096):
    """A socket with a small send buffer, its peer, and an outbox for it."""
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffer)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer)
    lock = threading.Lock()
    return ours, theirs, lock, Outbox(ours, lock, write_timeout=1.0)


def read_exactly(sock: socket.socket, count: int, seconds: float = 10) -> bytes:
    sock.settimeout(seconds)
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(65536)
        assert chunk, f"EOF after {len(data)} of {count} bytes"
        data += chunk
    return bytes(data)


def test_what_fits_is_written_at_once_and_nothing_waits():
    ours, theirs, lock, outbox = make_pair()
    with ours, theirs:
        with lock:
            outbox.put(b"hello")
            assert outbox.backlog == 0
        assert read_exactly(theirs, 5) == b"hello"


def test_put_without_waiting_returns_at_once_and_a_reading_peer_gets_every_byte_in_order():
    ours, theirs, lock, outbox = make_pair()
    pieces = [bytes([i]) * 10_000 for i in range(50)]  # 500 kB: far more than the buffers
    with ours, theirs:
        started = time.monotonic()
        with lock:
            for piece in pieces:
                outbox.put(piece, wait=False)
            assert outbox.backlog > 0  # the rest waits for the peer, in the outbox
        assert time.monotonic() - started < 5  # put() did not wait for a reader (liveness)
        assert read_exactly(theirs, 500_000) == b"".join(pieces)
        with lock:
            assert outbox.flush(5) and outbox.backlog == 0


def test_wait_for_room_releases_the_lock_and_returns_once_the_peer_reads():
    ours, theirs, lock, outbox = make_pair()
    with ours, theirs:
        with lock:
            outbox.put(b"x" * 200_000, wait=False)
        reader = threading.Thread(target=read_exactly, args=(theirs, 200_000))
        with lock:
            reader.start()  # the writer thread needs the lock while we wait: wait releases it
            assert outbox.wait_for_room(limit=0, timeout=10)
        reader.join(10)


def test_wait_for_room_is_false_when_the_peer_does_not_read_in_time():
    ours, theirs, lock, outbox = make_pair()
    with ours, theirs:
        with lock:
            outbox.put(b"x" * 200_000, wait=False)
            assert not outbox.wait_for_room(limit=1000, timeout=0.2)
            assert outbox.backlog > 1000


def test_a_peer_that_reads_nothing_is_given_up_after_write_timeout():
    ours, theirs, lock, outbox = make_pair()
    with ours, theirs:
        with lock:
            outbox.put(b"x" * 200_000, wait=False)
        # write_timeout is 1 s: the writer gives up, drops the bytes and shuts the socket.
        assert rc.wait_until(lambda: outbox.closed, seconds=10)
        assert outbox.stuck is not None and "read nothing for 1 s" in outbox.stuck
        assert outbox.backlog == 0
        with pytest.raises(OSError):
            ours.send(b"more")  # shut down for writing


def test_a_slow_but_steady_reader_is_not_given_up():
    # It reads a little every 0.2 s: each read is progress, so write_timeout (1 s) never ends.
    ours, theirs, lock, outbox = make_pair()
    with ours, theirs:
        with lock:
            outbox.put(b"y" * 100_000, wait=False)
        got = bytearray()
        theirs.settimeout(5)
        while len(got) < 100_000:
            time.sleep(0.2)
            got += theirs.recv(8192)
        assert outbox.stuck is None and not outbox.closed


def tcp_pair(send_buffer: int, receive_buffer: int):
    """Two ends of a loopback TCP connection: ours with ``send_buffer``, theirs small."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        theirs = socket.socket()
        theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        theirs.connect(listener.getsockname())
        ours, _ = listener.accept()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    return ours, theirs


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's SIOCOUTQ")
def test_a_steady_reader_behind_a_large_send_buffer_is_not_given_up():
    # A blocked send() wakes only once about a third of the send buffer is free: here some
    # 700 kB, which the reader (some 600 kB/s) frees in more than write_timeout (0.5 s).
    # The outbox must see the reads themselves, not only send() returning.
    ours, theirs = tcp_pair(send_buffer=2**20, receive_buffer=32768)
    lock = threading.Lock()
    outbox = Outbox(ours, lock, write_timeout=0.5)
    total = 3_000_000
    with ours, theirs:
        with lock:
            outbox.put(b"s" * total, wait=False)
        got = 0
        theirs.settimeout(5)
        while got < total and not outbox.closed:
            time.sleep(0.02)
            chunk = theirs.recv(16_000)  # 16 kB every 20 ms
            assert chunk, f"EOF after {got} bytes: {outbox.stuck}"
            got += len(chunk)
        assert outbox.stuck is None and got == total


def test_a_waiting_put_returns_once_its_bytes_are_out_and_lets_others_use_the_lock():
    ours, theirs, lock, outbox = make_pair()
    with ours, theirs:
        got = []
        reader = threading.Thread(target=lambda: got.append(read_exactly(theirs, 300_002)))
        reader.start()
        writer = threading.Thread(target=lambda: _put_locked(lock, outbox, b"w" * 300_000))
        writer.start()
        time.sleep(0.05)
        with lock:  # taken while the waiting put is writing: it waits with the lock released
            outbox.put(b"!!", wait=False)
        writer.join(10)
        reader.join(10)
        assert got == [b"w" * 300_000 + b"!!"]
        assert outbox.backlog == 0


def _put_locked(lock: threading.Lock, outbox: Outbox, data: bytes) -> None:
    with lock:
        outbox.put(data, wait=True)


def test_a_waiting_put_gives_up_on_a_peer_that_reads_nothing():
    ours, theirs, lock, outbox = make_pair()
    with ours, theirs:
        started = time.monotonic()
        with lock:
            outbox.put(b"z" * 300_000, wait=True)  # write_timeout: 1 s
        assert time.monotonic() - started < 1.0 + 4.0  # liveness: it did not wait forever
        assert outbox.stuck is not None and outbox.closed


def test_bytes_put_after_close_are_dropped():
    ours, theirs, lock, outbox = make_pair()
    with ours, theirs:
        with lock:
            outbox.close()
            outbox.put(b"late")
            assert outbox.backlog == 0
        theirs.settimeout(0.2)
        with pytest.raises(socket.timeout):
            theirs.recv(10)
