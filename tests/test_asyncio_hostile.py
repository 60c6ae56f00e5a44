"""The asyncio server against hostile clients: raw sockets sending exactly the wrong bytes.

The same bad inputs as tests/test_server_hostile.py and test_server_slow_peers.py, with the
same answers: an HTTP status during the handshake, a Close frame with its close code after.
The server runs on its own event loop in a thread (:class:`ServerInThread`), so the blocking
raw-socket helpers of ``helpers.rawclient`` play the peer; every test ends by closing the
server and checking that no task is left on its loop.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from typing import Any, Coroutine, List

import pytest
from helpers import rawclient as rc

import wslearn
import wslearn.asyncio as wa
from wslearn.asyncio import ServerConnection

pytestmark = pytest.mark.timeout(60)

MARGIN = 2.0  # room for a loaded machine, on top of each time limit
SMALL_BUFFER = 4096


class ServerInThread:
    """An asyncio server on a loop of its own, in a thread: the test's thread stays blocking."""

    def __init__(self, handler: Any = wa.echo, **options: Any) -> None:
        options.setdefault("handshake_timeout", 2.0)
        options.setdefault("close_timeout", 0.5)
        self.connections: List[ServerConnection] = []  # every connection opened, kept
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def keeping(connection: ServerConnection) -> None:
            self.connections.append(connection)
            await handler(connection)

        self.server: wa.Server = self.call(wa.serve(keeping, **options))
        self.port, self.url = self.server.port, self.server.url

    def call(self, coroutine: Coroutine[Any, Any, Any], seconds: float = 20) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(seconds)

    def ended(self, index: int = 0) -> ServerConnection:
        """The ``index``-th connection, once it has ended (its TCP connection closed)."""
        assert rc.wait_until(lambda: len(self.connections) > index)
        connection = self.connections[index]
        self.call(connection.wait_closed())
        return connection

    def stop(self) -> float:
        """Close the server; return how long it took. No task may be left on the loop."""

        async def close() -> List[asyncio.Task]:
            await self.server.close()
            return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

        started = time.monotonic()
        try:
            assert self.call(close()) == []
        finally:
            took = time.monotonic() - started
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
            self.loop.close()
        return took


@pytest.fixture
def server():
    running = ServerInThread()
    yield running
    running.stop()


# ---------------------------------------------------------------------- the opening handshake

TLS_CLIENT_HELLO = bytes.fromhex("16030100f4010000f00303") + os.urandom(32) + b"\x00" * 40


@pytest.mark.parametrize(
    "data, status",
    [
        pytest.param(rc.request(headers=[("Sec-WebSocket-Key", None)]), 400, id="missing-key"),
        pytest.param(
            rc.request(headers=[("Sec-WebSocket-Key", "c2hvcnQ=")]), 400, id="key-not-16-bytes"
        ),
        pytest.param(rc.request(headers=[("Host", None)]), 400, id="missing-host"),
        pytest.param(rc.request(method="POST"), 405, id="post"),
        pytest.param(rc.request(upgrade=False), 426, id="plain-get"),
        pytest.param(rc.request(headers=[("X-Big", "a" * 9000)]), 431, id="header-line-over-8192"),
        pytest.param(rc.request().replace(b"HTTP/1.1", b"HTTP/1.0", 1), 400, id="http-1.0"),
        pytest.param(TLS_CLIENT_HELLO, 400, id="tls-client-hello"),
        pytest.param(rc.request(headers=[("Origin", "http://evil.example")]), 403, id="origin"),
    ],
)
def test_bad_handshake_gets_its_status_then_tcp_close(server, data, status):
    got, _headers, _body = rc.exchange_http(server.port, data)  # reads until recv() == b""
    assert got == status
    rc.assert_echoes(server.url)


def test_wrong_version_gets_426_naming_version_13(server):
    data = rc.request(headers=[("Sec-WebSocket-Version", "8")])
    status, headers, _body = rc.exchange_http(server.port, data)
    assert (status, headers.get("Sec-WebSocket-Version")) == (426, "13")


def test_local_origins_are_let_in_by_default(server):
    rc.assert_echoes(server.url, origin="http://localhost:8888")
    rc.assert_echoes(server.url, origin=f"http://127.0.0.1:{server.port}")


def test_over_max_connections_gets_503_and_a_freed_place_is_given_again():
    running = ServerInThread(max_connections=1)
    try:
        with rc.handshake(running.port):
            status, headers, _body = rc.exchange_http(running.port, rc.request())
            assert (status, headers.get("Retry-After")) == (503, "1")
        running.ended(0)
        rc.assert_echoes(running.url)
    finally:
        running.stop()


@pytest.mark.parametrize("piece", ["half", "byte-by-byte"])
def test_a_handshake_that_never_ends_is_cut_off_at_handshake_timeout(piece):
    running = ServerInThread(handshake_timeout=0.5)
    try:
        data = rc.request()
        with rc.open_socket(running.port, timeout=0.1) as sock:
            started = time.monotonic()
            ended = False
            for i in range(40):  # byte-by-byte: one every 0.1 s, never a whole request
                try:
                    if piece == "byte-by-byte" or i == 0:
                        sock.send(data[i : i + 1] if piece == "byte-by-byte" else data[:50])
                    ended = sock.recv(1024) == b""
                except socket.timeout:
                    continue
                except OSError:  # reset: closed while we were still sending
                    ended = True
                if ended:
                    break
            took = time.monotonic() - started
        assert ended, "the server let an unfinished handshake go on for 4 s"
        assert 0.4 < took < 0.5 + MARGIN
        rc.assert_echoes(running.url)
    finally:
        running.stop()


# ---------------------------------------------------------------------- frames after the handshake


@pytest.mark.parametrize(
    "data, code, error_words",
    [
        pytest.param(rc.frame(0x1, b"hi", masked=False), 1002, "masked", id="unmasked"),
        pytest.param(rc.frame(0x3, b"hi"), 1002, "0x3", id="opcode-0x3"),
        pytest.param(rc.frame(0x9, b"p", fin=False), 1002, "fragmented", id="fragmented-ping"),
        pytest.param(rc.frame(0x1, b"\xff"), 1007, "UTF-8", id="text-not-utf8"),
        pytest.param(
            rc.frame(0x1, b"caf\xc3", fin=False) + rc.frame(0x0, b"\x28"),
            1007,
            "UTF-8",
            id="utf8-broken-across-fragments",
        ),
        pytest.param(rc.frame(0x2, b"", length=2**40), 1009, "over the limit", id="length-2**40"),
        pytest.param(rc.frame(0x2, b"x" * 1001), 1009, "over the limit", id="1001-bytes"),
    ],
)
def test_bad_frame_gets_its_close_code_then_tcp_close(data, code, error_words):
    running = ServerInThread(max_size=1000)
    try:
        with rc.handshake(running.port) as sock:
            sock.sendall(data)
            frames, closed = rc.read_frames(sock)
        assert [rc.close_code_of(f) for f in frames] == [code]
        assert closed, "the server did not close TCP after its Close frame"
        connection = running.ended()
        assert connection.close_code == code
        assert error_words in connection.error
        rc.assert_echoes(running.url)
    finally:
        running.stop()


def test_ping_between_fragments_is_answered_and_the_message_assembled(server):
    with rc.handshake(server.port) as sock:
        sock.sendall(rc.frame(0x1, b"Hel", fin=False) + rc.frame(0x9, b"beat"))
        pong = rc.read_frame(sock)
        sock.sendall(rc.frame(0x0, b"lo"))
        echo = rc.read_frame(sock)
    assert (pong.opcode, pong.payload) == (0xA, b"beat")
    assert (echo.opcode, echo.payload) == (0x1, b"Hello")


def test_frame_in_the_same_packet_as_the_handshake_is_not_lost(server):
    with rc.open_socket(server.port) as sock:
        sock.sendall(rc.request() + rc.frame(0x1, b"right behind"))
        buffer = b""
        while not buffer.endswith(b"right behind"):
            chunk = sock.recv(4096)
            assert chunk, f"closed before the echo: {buffer!r}"
            buffer += chunk
    response = wslearn.parse_response(buffer)
    assert response is not None and response.status == 101
    found, _used = wslearn.Frame.parse(buffer[len(response.raw) :])
    assert found.payload == b"right behind"


def test_client_close_gets_its_code_echoed_and_the_server_closes_tcp(server):
    with rc.handshake(server.port) as sock:
        sock.sendall(rc.close_frame(4001, b"bye"))
        frames, closed = rc.read_frames(sock)
    assert [(rc.close_code_of(f), f.payload[2:]) for f in frames] == [(4001, b"bye")]
    assert closed
    assert server.ended().close_code == 4001


# ---------------------------------------------------------------------- peers that do not keep up


def test_a_peer_that_never_reads_costs_at_most_write_limit_and_is_closed_with_1008():
    # The handler sends 64 KiB messages as fast as send() lets it; the peer reads nothing.
    # send() waits (drain) once write_limit bytes are unsent, so what the server holds is
    # bounded: the kernel's buffers, write_limit and one message. After write_timeout
    # seconds without progress the peer is given up on: 1008.
    sent = []

    async def flood(connection: ServerConnection) -> None:
        if connection.id > 1:  # the healthy client of the end
            await connection.send("served")
            return
        await connection.recv()  # the peer's go: its handshake has been read whole
        while True:
            await connection.send(b"r" * 65536)
            sent.append(65536)

    write_limit = 2**16
    kernel = int(open("/proc/sys/net/ipv4/tcp_wmem").read().split()[2])  # send buffer at most
    kernel += int(open("/proc/sys/net/ipv4/tcp_rmem").read().split()[2])  # and the peer's
    running = ServerInThread(flood, write_limit=write_limit, write_timeout=0.5)
    try:
        with rc.handshake(running.port, receive_buffer=SMALL_BUFFER) as sock:
            sock.sendall(rc.frame(0x1, b"go"))
            started = time.monotonic()
            connection = running.ended()
            took = time.monotonic() - started
        assert connection.close_code == 1008
        assert "peer too slow" in connection.error
        assert took < 0.5 + MARGIN
        assert sum(sent) <= kernel + write_limit + 2 * 65536
        with rc.connect_ws(running.url) as healthy:  # a client that reads is served
            assert healthy.recv(timeout=5) == "served"
    finally:
        running.stop()


def test_a_peer_that_floods_pings_and_reads_no_pong_is_closed_with_1008():
    running = ServerInThread(write_limit=2**14, write_timeout=0.5)
    try:
        with rc.handshake(running.port, receive_buffer=SMALL_BUFFER) as sock:
            sock.settimeout(0.2)
            ping = rc.frame(0x9, b"p" * 125)
            deadline = time.monotonic() + 0.5 + MARGIN
            while time.monotonic() < deadline:  # until the server stops reading, or cuts us
                try:
                    sock.send(ping * 100)
                except socket.timeout:
                    continue
                except OSError:
                    break
            connection = running.ended()
        assert connection.close_code == 1008 and "peer too slow" in connection.error
    finally:
        running.stop()


def test_a_silent_peer_is_closed_by_the_keepalive_with_1011():
    running = ServerInThread(ping_interval=0.2, ping_timeout=0.3)
    try:
        with rc.handshake(running.port) as sock:
            ping = rc.read_frame(sock)
            assert (ping.opcode, ping.payload) == (0x9, b"keepalive")
            connection = running.ended()
        assert connection.close_code == 1011
        assert "no Pong within 0.3 s" in connection.error
    finally:
        running.stop()


def test_a_peer_that_answers_pings_is_kept():
    running = ServerInThread(ping_interval=0.1, ping_timeout=0.3)
    try:
        with rc.handshake(running.port) as sock:
            for _ in range(5):  # 0.5 s: past ping_timeout, were the Pongs not counted
                ping = rc.read_frame(sock)
                assert ping.opcode == 0x9
                sock.sendall(rc.frame(0xA, ping.payload))
            sock.sendall(rc.frame(0x1, b"alive"))
            assert rc.read_frame(sock).payload == b"alive"
    finally:
        running.stop()


def test_close_with_a_silent_client_sends_1001_and_returns_after_close_timeout():
    running = ServerInThread(close_timeout=0.5)
    with rc.handshake(running.port) as sock:
        assert rc.wait_until(lambda: len(running.connections) == 1)
        took = running.stop()  # the client never answers the Close
        frames, closed = rc.read_frames(sock)
    assert [rc.close_code_of(f) for f in frames] == [1001]
    assert closed
    assert took < 0.5 + MARGIN


def test_close_while_a_handler_waits_on_a_peer_that_never_reads():
    async def flood(connection: ServerConnection) -> None:
        await connection.recv()
        while True:
            await connection.send(b"r" * 1_000_000)

    running = ServerInThread(flood, close_timeout=0.5, write_timeout=60)
    with rc.handshake(running.port, receive_buffer=SMALL_BUFFER) as sock:
        sock.sendall(rc.frame(0x1, b"go"))
        time.sleep(0.3)  # the handler waits in send() by now
        took = running.stop()
    assert took < 0.5 + MARGIN


def test_close_with_a_client_in_its_handshake_is_not_held_up_by_it():
    running = ServerInThread(handshake_timeout=30, close_timeout=0.5)
    with rc.open_socket(running.port) as sock:
        sock.sendall(rc.request()[:20])
        time.sleep(0.1)
        took = running.stop()
        assert sock.recv(1024) == b""
    assert took < 0.5 + MARGIN
