"""The deliberately broken toy server of notebook 08 really fails the way the notebook says.

Every socket has a timeout; every server is stopped.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

import wslearn
from wslearn.bad_examples.toy_server import serve_toy

KEY = bytes.fromhex("37fa213d")
HANDSHAKE = (
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "{key_name}: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


@pytest.fixture
def toy():
    server = serve_toy(0)
    try:
        yield server
    finally:
        server.stop()


def connect(port: int, key_name: str = "Sec-WebSocket-Key") -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    sock.sendall(HANDSHAKE.format(key_name=key_name).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1024)
        if not chunk:
            break
        head += chunk
    return sock, head


def read_for(sock: socket.socket, seconds: float = 0.5) -> bytes:
    """Everything that arrives within ``seconds`` (the toy never says when it is done)."""
    data, deadline = b"", time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data


def client() -> wslearn.Connection:
    return wslearn.Connection("client", mask_key=lambda: KEY)


def test_the_toy_answers_the_handshake_with_the_obsolete_location_header(toy) -> None:
    sock, head = connect(toy.port)
    with sock:
        assert head.startswith(b"HTTP/1.1 101")
        assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head
        assert b"WebSocket-Location:" in head


def test_the_toy_echoes_a_short_message_so_the_demo_works(toy) -> None:
    sock, _ = connect(toy.port)
    with sock:
        c = client()
        c.send_text("Hello")
        sock.sendall(c.data_to_send())
        assert read_for(sock) == bytes.fromhex("81 05") + b"Hello"


def test_the_toy_garbles_a_126_byte_message(toy) -> None:
    sock, _ = connect(toy.port)
    with sock:
        c = client()
        c.send_text("x" * 126)
        sock.sendall(c.data_to_send())
        reply = read_for(sock)
    assert reply[:2] == bytes.fromhex("81 7e")  # "a 16-bit length follows", but none does
    reader = wslearn.FrameReader()
    reader.feed(reply)
    frames = list(reader)
    assert not any(f.payload == b"x" * 126 for f in frames)


def test_the_toy_loses_the_second_of_two_messages_sent_together(toy) -> None:
    sock, _ = connect(toy.port)
    with sock:
        c = client()
        c.send_text("one")
        c.send_text("two")
        sock.sendall(c.data_to_send())  # both frames in one write
        reply = read_for(sock)
    assert reply == bytes.fromhex("81 03") + b"one"


def test_the_toy_echoes_a_ping_as_text_instead_of_a_pong(toy) -> None:
    sock, _ = connect(toy.port)
    with sock:
        c = client()
        c.send_ping(b"hi")
        sock.sendall(c.data_to_send())
        reply = read_for(sock)
    assert reply == bytes.fromhex("81 02") + b"hi"  # opcode 0x1 (text), not 0xA (Pong)


def test_the_toy_raises_key_error_on_a_re_cased_key_header(toy) -> None:
    sock, head = connect(toy.port, key_name="Sec-Websocket-Key")
    sock.close()
    assert head == b""  # no 101: the connection just closed
    deadline = time.monotonic() + 2
    while not toy.errors and time.monotonic() < deadline:
        time.sleep(0.01)
    assert any(isinstance(e, KeyError) for e in toy.errors)


def test_the_toy_stops_cleanly_with_a_client_still_connected() -> None:
    before = threading.active_count()
    toy = serve_toy(0)
    sock, _ = connect(toy.port)
    with sock:
        started = time.monotonic()
        toy.stop()
        assert time.monotonic() - started < 3
        assert read_for(sock, 1.0) == b""  # the toy hung up
    assert threading.active_count() <= before
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", toy.port), timeout=1).close()
