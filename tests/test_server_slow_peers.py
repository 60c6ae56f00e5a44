"""A slow peer harms only itself: what the server records about it, and a stop that ends.

The server in the test's own process (``wslearn.serve``), so the records can be read;
``tests/test_cli_slow_peers.py`` plays the same peers against the CLI server.
"""

from __future__ import annotations

import socket
import sys
import threading
import time

import pytest
from helpers import rawclient as rc

import wslearn
from wslearn.outbox import SIOCINQ, kernel_queue

pytestmark = pytest.mark.timeout(60)

MARGIN = 4.0  # liveness room on a loaded machine, on top of each time limit
SMALL_BUFFER = 4096


def send_without_reading(sock: socket.socket, data: bytes, seconds: float) -> None:
    """Send ``data`` until it is all out, the server cuts us off, or ``seconds`` pass."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + seconds
    view = memoryview(data)
    while view and time.monotonic() < deadline:
        try:
            view = view[sock.send(view) :]
        except socket.timeout:
            continue
        except OSError:
            return


def record_of(server: wslearn.Server, index: int = 0) -> wslearn.ConnectionRecord:
    assert rc.wait_until(lambda: len(server.recorder.connections()) > index)
    record = server.recorder.connections()[index]
    assert rc.wait_until(lambda: record.closed is not None, seconds=20), "still open"
    return record


def test_an_echo_peer_that_reads_nothing_is_closed_with_1008_after_write_timeout():
    with wslearn.serve(port=0, write_timeout=0.5, write_limit=2**16) as server:
        slow = rc.handshake(server.port, receive_buffer=SMALL_BUFFER)
        with slow:
            message = rc.frame(0x2, b"e" * 65536)
            send_without_reading(slow, message * 100, seconds=0.5 + MARGIN)
            record = record_of(server)
        assert record.close_code == 1008
        assert "peer too slow" in record.error
        rc.assert_echoes(server.url)


def test_a_peer_that_floods_pings_and_reads_no_pong_is_stopped_with_1008():
    # Each Ping makes a Pong for the peer. The server stops reading a peer whose replies
    # pile up past write_limit, and closes it once write_timeout has passed. So it reads
    # no more Pings than the Pongs that fit in the kernel's send buffer (at most tcp_wmem's
    # maximum) and in write_limit, plus one recv() (64 KiB) of Pings: far fewer than sent.
    write_limit = 2**14
    kernel_buffer = int(open("/proc/sys/net/ipv4/tcp_wmem").read().split()[2])
    sent = 200_000  # 26 MB of Pings
    with wslearn.serve(port=0, write_timeout=0.5, write_limit=write_limit) as server:
        slow = rc.handshake(server.port, receive_buffer=SMALL_BUFFER)
        with slow:
            ping = rc.frame(0x9, b"p" * 125)  # the largest Ping: 131 bytes in, 127 out
            send_without_reading(slow, ping * sent, seconds=0.5 + MARGIN)
            record = record_of(server)
        assert record.close_code == 1008
        assert record.reads_dropped == 0
        pings_read = sum(record.reads) // len(ping)  # (the recorder keeps only 10,000 frames)
        assert pings_read <= (kernel_buffer + write_limit + 65536) // 127 + 65536 // 131 + 2
        assert pings_read < sent // 4


def test_broadcast_closes_a_peer_that_is_far_behind_and_records_why():
    with wslearn.serve(port=0, handler="broadcast", write_limit=2**16) as server:
        slow = rc.handshake(server.port, receive_buffer=SMALL_BUFFER)
        with slow, rc.connect_ws(server.url, max_size=None) as sender:
            for _ in range(100):
                sender.send(b"b" * 65536)
                sender.recv(timeout=10)
            record = record_of(server)
        assert record.close_code == 1008 and "peer too slow" in record.error


def test_stop_ends_within_close_timeout_while_a_handler_waits_on_a_slow_peer():
    # The handler answers each message with 1 MB; the peer reads none of it, so the
    # handler's send() waits for room (write_timeout is long: 60 s). stop() must not.
    def flood_back(connection, message):
        connection.send(b"r" * 1_000_000)

    close_timeout = 1.0
    server = wslearn.serve(
        port=0, handler=flood_back, close_timeout=close_timeout, write_timeout=60
    )
    slow = rc.handshake(server.port, receive_buffer=SMALL_BUFFER)
    try:
        for _ in range(5):
            slow.sendall(rc.frame(0x1, b"more"))
        time.sleep(0.5)  # the handler is waiting for the peer to read by now
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < close_timeout + MARGIN
        assert not server.connections
        assert not [t for t in threading.enumerate() if t.name.startswith("wslearn-")]
    finally:
        server.stop()
        slow.close()


def test_a_silent_peer_is_recorded_as_closed_by_the_keepalive():
    with wslearn.serve(port=0, ping_interval=0.2, ping_timeout=0.3) as server:
        with rc.handshake(server.port):
            record = record_of(server)
        assert record.close_code == 1011
        assert "no Pong within 0.3 s" in record.error
        pings = server.recorder.frames(direction="out")
        assert [f.opcode_name for f in pings][:1] == ["PING"]


def test_a_connection_tells_what_waits_in_the_servers_memory_and_in_its_kernel():
    # The handler queues 2 MB without waiting for a peer that reads nothing, with a small
    # kernel send buffer: most of it must wait in the server's memory (backlog), the rest
    # in the kernel (send_queue), and both empty once the peer reads it all.
    size = 2_000_000
    ready = threading.Event()

    def flood_once(connection, message):
        connection.send_buffer = 16384
        connection.send(b"q" * size, timeout=0)  # never waits: what is left stays queued
        ready.set()

    with wslearn.serve(port=0, handler=flood_once, write_limit=2**22, write_timeout=30) as server:
        with rc.handshake(server.port, receive_buffer=SMALL_BUFFER) as peer:
            peer.sendall(rc.frame(0x1, b"go"))
            assert ready.wait(10)
            [conn] = server.connections
            assert 16384 <= conn.send_buffer  # (Linux reports twice what was set)
            assert 0 < conn.backlog < size
            if sys.platform.startswith("linux"):  # SIOCOUTQ and SIOCINQ are Linux's
                # Every byte of the frame (10 bytes of header, then the payload) is in one
                # of three places: the server's memory, its kernel, or the peer's kernel.
                def where() -> tuple:
                    unread = kernel_queue(peer, SIOCINQ)
                    return conn.backlog, conn.send_queue, unread

                assert rc.wait_until(lambda: sum(where()) == size + 10), where()
                assert all(count > 0 for count in where())
            got = 0
            peer.settimeout(10)
            while got < size + 10:  # the frame: a 10-byte header, then the payload
                chunk = peer.recv(1 << 20)
                assert chunk, f"EOF after {got} bytes"
                got += len(chunk)
            assert rc.wait_until(lambda: conn.backlog == 0 and conn.send_queue in (0, None))
    assert conn.send_queue is None and conn.send_buffer is None  # its socket is closed
