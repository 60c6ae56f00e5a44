"""A deliberately plain WebSocket client on a raw socket, for tests that must misbehave.

Real client libraries refuse to send broken frames; these helpers send exactly the bytes a
test asks for, and read back what the server answers: an HTTP status line and headers, or
frames (the server's frames are unmasked, so :meth:`wslearn.Frame.parse` reads them).

Every socket has a timeout and every loop a bound in count and in time.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from typing import List, Optional, Tuple

import wslearn

TIMEOUT = 5.0


def open_socket(
    port: int, timeout: float = TIMEOUT, receive_buffer: Optional[int] = None
) -> socket.socket:
    """A TCP connection to 127.0.0.1:``port`` with a timeout on every operation.

    ``receive_buffer`` shrinks the kernel's receive buffer (set before connecting, so the
    window is small from the start): a peer that does not read then fills up quickly.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(timeout)
    try:
        sock.connect(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def request(
    path: str = "/",
    *,
    method: str = "GET",
    headers: Optional[List[Tuple[str, str]]] = None,
    upgrade: bool = True,
) -> bytes:
    """A request head; by default a valid WebSocket handshake, which ``headers`` can override.

    A header given with the value ``None`` is left out.
    """
    base: List[Tuple[str, Optional[str]]] = [("Host", "127.0.0.1")]
    if upgrade:
        base += [
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ]
    overrides = dict(headers or [])
    lines = [f"{method} {path} HTTP/1.1"]
    for name, value in base:
        value = overrides.pop(name, value)
        if value is not None:
            lines.append(f"{name}: {value}")
    lines += [f"{name}: {value}" for name, value in overrides.items() if value is not None]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_until_eof(sock: socket.socket, limit: int = 1 << 20, seconds: float = TIMEOUT) -> bytes:
    """Everything the peer sends until it closes TCP (``recv`` returns b"").

    Raises ``socket.timeout`` if the peer keeps the connection open longer than the
    socket's timeout, and AssertionError past ``limit`` bytes or ``seconds``.
    """
    data = b""
    deadline = time.monotonic() + seconds
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
        assert len(data) <= limit, "the peer sent more than expected"
        assert time.monotonic() < deadline, "the peer kept sending"


def http_answer(raw: bytes) -> Tuple[int, "wslearn.Headers", bytes]:
    """``(status, headers, body)`` of a whole HTTP response."""
    response = wslearn.parse_response(raw)
    assert response is not None, f"not a complete HTTP response: {raw[:200]!r}"
    return response.status, response.headers, raw[len(response.raw) :]


def exchange_http(port: int, data: bytes) -> Tuple[int, "wslearn.Headers", bytes]:
    """Send ``data``, read the answer until the server closes TCP, return it parsed."""
    with open_socket(port) as sock:
        sock.sendall(data)
        raw = read_until_eof(sock)
    return http_answer(raw)


def handshake(
    port: int, path: str = "/", timeout: float = TIMEOUT, receive_buffer: Optional[int] = None
) -> socket.socket:
    """Open a WebSocket connection the way the RFC describes it; return the raw socket."""
    sock = open_socket(port, timeout, receive_buffer)
    data, key = wslearn.client_request(f"127.0.0.1:{port}", path)
    sock.sendall(data)
    buffer = b""
    deadline = time.monotonic() + timeout
    while True:
        response = wslearn.parse_response(buffer)
        if response is not None:
            break
        assert time.monotonic() < deadline, "no handshake answer in time"
        chunk = sock.recv(4096)
        assert chunk, f"server closed during the handshake: {buffer!r}"
        buffer += chunk
    wslearn.check_response(response, key)
    assert buffer == response.raw, "frames before the first message?"
    return sock


def frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv1: bool = False,
    masked: bool = True,
    length: Optional[int] = None,
) -> bytes:
    """Any frame at all, right or wrong; ``length`` overrides the announced length."""
    mask = os.urandom(4) if masked else None
    header = wslearn.encode_frame_header(
        opcode,
        len(payload) if length is None else length,
        fin=fin,
        rsv1=rsv1,
        mask=mask,
    )
    if mask is not None:
        payload = wslearn.mask(payload, mask)
    return header + payload


def close_frame(code: int, reason: bytes = b"", **kwargs) -> bytes:
    """A Close frame with any code at all, valid or not."""
    return frame(0x8, struct.pack("!H", code) + reason, **kwargs)


def read_frames(
    sock: socket.socket, seconds: float = TIMEOUT
) -> Tuple[List["wslearn.Frame"], bool]:
    """Read frames until the server closes TCP; return ``(frames, closed)``.

    ``closed`` is True when ``recv`` returned b"" (the server closed TCP), False when the
    socket's timeout ran out first.
    """
    buffer = b""
    frames: List[wslearn.Frame] = []
    deadline = time.monotonic() + seconds
    closed = False
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            closed = True
            break
        buffer += chunk
        while True:
            parsed = wslearn.Frame.parse(buffer)
            if parsed is None:
                break
            found, used = parsed
            frames.append(found)
            buffer = buffer[used:]
    return frames, closed


def read_frame(sock: socket.socket, seconds: float = TIMEOUT) -> "wslearn.Frame":
    """Read exactly one frame (and no more) from the server."""
    buffer = b""
    deadline = time.monotonic() + seconds
    while True:
        parsed = wslearn.Frame.parse(buffer)
        if parsed is not None:
            found, used = parsed
            assert used == len(buffer), "more than one frame arrived"
            return found
        assert time.monotonic() < deadline, "no whole frame in time"
        chunk = sock.recv(65536)
        assert chunk, f"server closed TCP before a whole frame arrived: {buffer!r}"
        buffer += chunk


def close_code_of(found: "wslearn.Frame") -> int:
    """The code in a Close frame sent by the server."""
    assert found.opcode == wslearn.Opcode.CLOSE, f"expected a Close frame, got {found}"
    return wslearn.Close.parse(found.payload).code


def connect_ws(url: str, **kwargs):
    """A well-behaved peer: the websockets library's sync client, with every wait bounded.

    ``proxy=None``: always straight to 127.0.0.1, whatever the environment says.
    """
    from websockets.sync.client import connect

    options = dict(proxy=None, open_timeout=5, close_timeout=5, ping_interval=None)
    options.update(kwargs)
    return connect(url, **options)


def assert_echoes(url: str, text: str = "still here", **kwargs) -> None:
    """A healthy client is still served: it connects and gets its text back."""
    with connect_ws(url, **kwargs) as ws:
        ws.send(text)
        assert ws.recv(timeout=5) == text


def wait_until(predicate, seconds: float = 5.0, step: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``seconds`` have passed; return its last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return bool(value)
        time.sleep(step)
