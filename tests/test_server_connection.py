"""``ServerConnection`` on its own: one socket, the hooks a server would give it, no ``Server``.

The connection lives its whole life (handshake, read loop, close) and tells its owner only
through the hooks it was given: these tests are that owner.
"""

from __future__ import annotations

import gc
import socket
import threading
import time
import weakref
from typing import Callable, List, Tuple

import pytest
from helpers import rawclient as rc

import wslearn
from wslearn.outbox import linger_close
from wslearn.recording import ConnectionRecord, FrameRecord
from wslearn.server_connection import ConnectionSettings, ServerConnection

pytestmark = pytest.mark.timeout(30)


class Owner:
    """What a server would do with the hooks: remember every call."""

    def __init__(self, serving: bool = True) -> None:
        self.serving = serving
        self.events: List[str] = []
        self.frames: List[FrameRecord] = []

    def on_frame(self, record: FrameRecord) -> None:
        self.frames.append(record)

    def on_message(self, conn: ServerConnection, message) -> None:
        self.events.append(f"message {message!r}")
        conn.send(message)

    def on_open(self, conn: ServerConnection) -> bool:
        self.events.append("open")
        return self.serving

    def on_close(self, conn: ServerConnection) -> None:
        self.events.append("close")


def start(owner: Owner, handshake_timeout: float = 5.0, close_timeout: float = 1.0):
    """A ServerConnection on one end of a socket pair, running in its thread; the other end."""
    server_end, client_end = socket.socketpair()
    client_end.settimeout(5)
    record = ConnectionRecord(id=1, peer="socketpair", opened=time.time())
    settings = ConnectionSettings(
        max_size=2**20,
        origins=None,
        subprotocols=(),
        handshake_timeout=handshake_timeout,
        close_timeout=close_timeout,
        preview_bytes=256,
    )
    conn = ServerConnection(
        server_end,
        record,
        settings,
        server=None,  # type: ignore[arg-type]  # only handlers use it
        on_frame=owner.on_frame,
        on_message=owner.on_message,
        on_open=owner.on_open,
        on_close=owner.on_close,
    )
    thread = threading.Thread(target=conn.run, daemon=True)
    thread.start()
    return conn, client_end, thread


def in_order(*times) -> bool:
    """Every time was recorded, and they come in this order."""
    return None not in times and list(times) == sorted(times)


def one_life(client_part: Callable[[socket.socket], None]) -> Tuple[ConnectionRecord, Owner]:
    """A connection's whole life, with ``client_part`` as the client; then the client's
    socket closes (its FIN) and the connection's thread ends."""
    owner = Owner()
    conn, client, thread = start(owner)
    with client:
        client_part(client)
    thread.join(5)
    assert not thread.is_alive()
    return conn.record, owner


def opening(record: ConnectionRecord, owner: Owner) -> list:
    """The times before the end: the accept, the request, the answer, then every frame's."""
    return [record.opened, record.request_at, record.answered_at, *(f.time for f in owner.frames)]


def read_head(sock: socket.socket) -> bytes:
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        assert byte, head
        head += byte
    return head


def test_a_connection_lives_handshake_messages_and_close_and_tells_its_owner():
    owner = Owner()
    conn, client, thread = start(owner)
    with client:
        client.sendall(rc.request())
        assert read_head(client).startswith(b"HTTP/1.1 101 ")
        client.sendall(rc.frame(0x1, b"hello"))
        echoed = rc.read_frame(client)
        assert (echoed.opcode, echoed.payload) == (wslearn.Opcode.TEXT, b"hello")
        client.sendall(rc.close_frame(1000, b"bye"))
        frames, closed = rc.read_frames(client)
        assert closed and [rc.close_code_of(f) for f in frames] == [1000]
    thread.join(5)
    assert not thread.is_alive()
    assert owner.events == ["open", "message 'hello'", "close"]
    assert [(f.direction, f.opcode_name) for f in owner.frames] == [
        ("in", "TEXT"),
        ("out", "TEXT"),
        ("in", "CLOSE"),
        ("out", "CLOSE"),
    ]
    record = conn.record
    assert (record.status, record.close_code, record.close_reason) == (101, 1000, "bye")
    assert record.closed is not None and record.reads
    # The server's FIN after its Close reply, the client's (its socket closed) after that.
    end = [record.fin_sent, record.peer_fin, record.closed]
    assert in_order(*opening(record, owner), *end), record


@pytest.mark.parametrize(
    "head, status",
    [(rc.request(headers=[("Sec-WebSocket-Version", "8")]), 426), (b"HELLO THERE\r\n\r\n", 400)],
    ids=["wrong version", "no request at all"],
)
def test_a_refused_handshake_notes_the_request_the_answer_and_both_fins(head, status):
    answers = []

    def refused(client: socket.socket) -> None:
        client.sendall(head)
        answers.append(rc.http_answer(rc.read_until_eof(client))[0])  # our FIN: the end

    record, owner = one_life(refused)  # the server's drain sees the client's FIN
    assert answers == [status] == [record.status] and owner.events == [] == owner.frames
    # A head that is no request is not kept; when it was judged is.
    assert record.request_raw.startswith(b"GET / HTTP/1.1") == (status == 426)
    end = [record.fin_sent, record.peer_fin, record.closed]
    assert in_order(*opening(record, owner), *end), record


def test_a_client_that_leaves_without_a_close_frame_sends_its_fin_first():
    def echo_then_leave(client: socket.socket) -> None:
        client.sendall(rc.request())
        read_head(client)
        client.sendall(rc.frame(0x1, b"bye"))
        assert rc.read_frame(client).payload == b"bye"

    record, owner = one_life(echo_then_leave)  # the read loop sees the client's FIN
    assert record.close_code == 1006 and len(owner.frames) == 2  # the message and its echo
    end = [record.peer_fin, record.fin_sent, record.closed]
    assert in_order(*opening(record, owner), *end), record


def test_a_client_that_leaves_during_the_handshake_is_noted_as_its_fin():
    record, _ = one_life(lambda client: client.sendall(rc.request()[:10]))
    assert record.error == "connection closed during the handshake"
    assert (record.request_at, record.answered_at, record.fin_sent) == (None, None, None)
    assert in_order(record.opened, record.peer_fin, record.closed)


def test_a_plain_get_gets_the_page_and_never_opens():
    owner = Owner()
    conn, client, thread = start(owner)
    with client:
        client.sendall(rc.request(upgrade=False))
        status, _, body = rc.http_answer(rc.read_until_eof(client))
    thread.join(5)
    assert status == 200 and b"<html" in body.lower()
    assert owner.events == [] and conn.record.status == 200


def test_a_silent_client_is_dropped_when_the_handshake_time_is_up():
    owner = Owner()
    conn, client, thread = start(owner, handshake_timeout=0.2)
    with client:
        thread.join(5)
        assert not thread.is_alive()
        assert client.recv(1) == b""
    assert conn.record.error == "handshake not completed within 0.2 s"
    assert owner.events == []


def test_a_connection_that_opens_while_its_server_stops_says_1001_at_once():
    owner = Owner(serving=False)
    conn, client, thread = start(owner)
    with client:
        client.sendall(rc.request())
        read_head(client)
        assert rc.close_code_of(rc.read_frame(client)) == 1001
        client.sendall(rc.close_frame(1001))
        assert rc.read_frames(client)[1], "the server closes TCP after the closing handshake"
    thread.join(5)
    assert owner.events == ["open", "close"]


def test_no_close_frame_back_in_time_cuts_the_connection():
    owner = Owner()
    conn, client, thread = start(owner, close_timeout=0.2)
    with client:
        client.sendall(rc.request())
        read_head(client)
        conn.close(1000, "done")
        thread.join(5)  # the client never answers the Close
        assert not thread.is_alive()
    assert conn.record.error == "no Close frame came back in time"
    assert owner.events == ["open", "close"]
    # The server cut the socket (its FIN); the b"" its recv() then got was its own doing,
    # not the client's FIN, which never came (the client's socket was still open).
    record = conn.record
    assert record.peer_fin is None
    assert in_order(record.answered_at, record.fin_sent, record.closed)


def test_linger_close_half_closes_and_drains_what_the_peer_still_sends():
    left, right = socket.socketpair()
    with left, right:
        right.sendall(b"unread bytes")
        right.shutdown(socket.SHUT_WR)
        before = time.time()
        seen = linger_close(left, seconds=2.0)
        assert right.recv(10) == b"", "our side sent FIN"
        assert seen is not None and before <= seen <= time.time(), "when the peer's FIN came"


def test_linger_close_says_none_when_the_peer_never_ends():
    left, right = socket.socketpair()
    with left, right:
        assert linger_close(left, seconds=0.1) is None
        assert right.recv(10) == b"", "our side sent FIN all the same"


@pytest.mark.parametrize("who_closes", ["client", "server"])
def test_a_closed_connection_is_freed_without_the_garbage_collector(who_closes: str) -> None:
    # Nothing of a connection may sit in a reference cycle: its buffers (here a 256 KiB
    # message) must go when it closes, not at the next full collection.
    gc.collect()
    gc.disable()
    try:
        with wslearn.serve(port=0, log=None) as server:
            sock = rc.handshake(server.port)
            assert rc.wait_until(lambda: len(server.connections) == 1)
            connection = weakref.ref(server.connections[0])
            protocol = weakref.ref(server.connections[0].protocol)
            sock.sendall(rc.frame(0x2, bytes(256 * 1024)))
            assert rc.read_frame(sock).payload == bytes(256 * 1024)
            if who_closes == "server":  # the server waits for the answer with a timer
                server.connections[0].close(1000, "bye")
                assert rc.close_code_of(rc.read_frame(sock)) == 1000
                sock.sendall(rc.close_frame(1000))
            else:
                sock.sendall(rc.close_frame(1000))
                assert rc.close_code_of(rc.read_frame(sock)) == 1000
            sock.close()
            assert rc.wait_until(lambda: not server.connections, seconds=10)
            freed = rc.wait_until(lambda: connection() is None and protocol() is None, 10)
            assert freed, gc.get_referrers(connection()) if connection() else "protocol kept"
    finally:
        gc.enable()
