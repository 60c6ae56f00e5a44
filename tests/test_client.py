"""The threaded client, ``wslearn.client``, against real servers over 127.0.0.1.

Three kinds of server: wslearn's own (``wslearn.serve``, threads of this process), websockets 17's
threaded server (another implementation, with its own fragments, Pings and permessage-deflate),
and a raw socket that answers with bytes written by hand (a wrong accept key, a subprotocol we
never offered, a masked frame, silence), for what no well-behaved server would do. Every wait is
bounded; every server and thread a test starts is gone when it ends.
"""

from __future__ import annotations

import base64
import contextlib
import socket
import threading
import time
from typing import Callable, Iterator, List, Optional

import pytest
from websockets.sync.server import ServerConnection as WsConnection
from websockets.sync.server import serve as ws_serve

import wslearn
from wslearn import Connection, ConnectionClosed, InvalidResponse, accept_key
from wslearn.client import ClientConnection, connect
from wslearn.http11 import Request, parse_request

pytestmark = pytest.mark.timeout(60)

SIZES = [0, 1, 125, 126, 65535, 65536, 70000]


@pytest.fixture(autouse=True)
def no_thread_left() -> Iterator[None]:
    """Each test ends the threads it started (servers, handlers), within a few seconds."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not left:
            return
        time.sleep(0.05)
    pytest.fail(f"threads left running: {left}")


@pytest.fixture
def echo_server() -> Iterator[wslearn.Server]:
    server = wslearn.serve(port=0, show_errors=False)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def websockets_server(handler: Callable[[WsConnection], None], **options: object) -> Iterator[str]:
    """websockets' threaded server in a thread of this process; yields its URL."""
    server = ws_serve(handler, "127.0.0.1", 0, **options)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    try:
        yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}/"
    finally:
        server.shutdown()
        thread.join(10)


def ws_echo(ws: WsConnection) -> None:
    for message in ws:
        ws.send(message)


class RawServer:
    """One TCP connection served by ``script(sock, request)`` in a thread: bytes by hand.

    The script runs once the client's request head has arrived; what it returns is kept in
    ``result``, what it raised in ``error``.
    """

    def __init__(self, script: Callable[[socket.socket, Request], object]) -> None:
        self.script = script
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self.listener.getsockname()[1]}/chat"
        self.result: object = None
        self.error: Optional[BaseException] = None
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self) -> None:
        try:
            self.listener.settimeout(10)
            sock, _ = self.listener.accept()
            with sock:
                sock.settimeout(10)
                head = b""
                while (request := parse_request(head)) is None:
                    data = sock.recv(65536)
                    assert data, "the client closed before its request was whole"
                    head += data
                self.result = self.script(sock, request)
        except BaseException as error:  # reported by the test, not lost in the thread
            self.error = error

    def __enter__(self) -> RawServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.thread.join(15)
        self.listener.close()
        assert not self.thread.is_alive()


def answer_101(request: Request, *extra: str, accept: Optional[str] = None) -> bytes:
    key = request.headers["Sec-WebSocket-Key"]
    lines = [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {accept or accept_key(key)}",
        *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_until_eof(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


# ---------------------------------------------------------------------- against wslearn.serve


def test_echo_of_text_and_binary_in_each_length_case(echo_server: wslearn.Server) -> None:
    with connect(echo_server.url) as ws:
        assert ws.response.status == 101 and ws.subprotocol is None
        for size in SIZES:
            ws.send("é" * (size // 2))
            assert ws.recv(timeout=5) == "é" * (size // 2)
            ws.send(bytes(range(256)) * (size // 256) + b"\x00" * (size % 256))
            assert ws.recv(timeout=5) == bytes(range(256)) * (size // 256) + b"\x00" * (size % 256)
    assert ws.close_code == 1000


def test_every_frame_is_masked_with_a_fresh_key(echo_server: wslearn.Server) -> None:
    with connect(echo_server.url) as ws:
        for n in range(20):
            ws.send(f"message {n}")
            ws.recv(timeout=5)
        ws.ping(b"are you there")
    sent = [f for f in echo_server.recorder.frames() if f.direction == "in"]
    assert len(sent) == 22  # 20 messages, the Ping, the Close
    assert all(f.masked for f in sent)
    assert len({f.mask for f in sent}) == len(sent)  # §5.3: a new key for every frame
    assert sent[-2].opcode_name == "PING" and sent[-1].opcode_name == "CLOSE"


def test_close_codes_both_ways(echo_server: wslearn.Server) -> None:
    with connect(echo_server.url) as ws:
        ws.close(4000, "done here")
        assert ws.close_code == 4000 and ws.close_reason == "done here"  # the echoed Close
    record = echo_server.recorder.connections()[-1]
    assert (record.close_code, record.close_reason) == (4000, "done here")

    def closer(connection: wslearn.ServerConnection, message: object) -> None:
        connection.close(4001, f"asked by {message}")

    server = wslearn.serve(port=0, handler=closer, show_errors=False)
    try:
        ws = connect(server.url)
        ws.send("client")
        with pytest.raises(ConnectionClosed, match="4001"):
            ws.recv(timeout=5)
        assert (ws.close_code, ws.close_reason) == (4001, "asked by client")
        with pytest.raises(ConnectionClosed):
            ws.send("too late")
        ws.close()  # does nothing more: already closed
    finally:
        server.stop()


def test_iteration_yields_messages_until_the_close() -> None:
    def three_then_close(connection: wslearn.ServerConnection, message: object) -> None:
        for n in range(3):
            connection.send(f"{message} {n}")
        connection.close()

    server = wslearn.serve(port=0, handler=three_then_close, show_errors=False)
    try:
        with connect(server.url) as ws:
            ws.send("hello")
            assert list(ws) == ["hello 0", "hello 1", "hello 2"]
            assert ws.close_code == 1000
    finally:
        server.stop()


def test_subprotocol_agreed_or_refused() -> None:
    server = wslearn.serve(port=0, subprotocols=["chat.v2", "chat.v1"], show_errors=False)
    try:
        with connect(server.url, subprotocols=["chat.v1", "chat.v2"]) as ws:
            assert ws.subprotocol == "chat.v1"  # §4.2.2: the client's first that the server has
        with connect(server.url, subprotocols=["mqtt"]) as ws:
            assert ws.subprotocol is None  # refused: no header, the connection still opens
    finally:
        server.stop()


def test_a_refusal_raises_with_the_servers_status(echo_server: wslearn.Server) -> None:
    with pytest.raises(InvalidResponse) as refused:
        connect(echo_server.url, origin="https://evil.example")
    assert refused.value.status == 403


def test_recv_times_out_and_the_connection_goes_on(echo_server: wslearn.Server) -> None:
    with connect(echo_server.url) as ws:
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.2)
        ws.send("still here")
        assert ws.recv(timeout=5) == "still here"


def test_a_message_over_max_size_closes_with_1009(echo_server: wslearn.Server) -> None:
    with connect(echo_server.url, max_size=1000) as ws:
        ws.send("x" * 1000)
        assert ws.recv(timeout=5) == "x" * 1000
        ws.send("x" * 1001)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    assert ws.close_code == 1009


def test_urls_that_are_not_ws_are_refused() -> None:
    for url in ("wss://127.0.0.1/", "http://127.0.0.1/", "ws:///nohost", "ws://h/#frag"):
        with pytest.raises(ValueError):
            connect(url)
    with pytest.raises(ValueError, match="compression"):
        connect("ws://127.0.0.1:1/", compression="gzip")


# ---------------------------------------------------------------------- against websockets


def test_websockets_echo_in_each_length_case() -> None:
    with websockets_server(ws_echo, compression=None) as url:
        with connect(url) as ws:
            for size in SIZES:
                ws.send("a" * size)
                assert ws.recv(timeout=5) == "a" * size
                ws.send(b"\xff" * size)
                assert ws.recv(timeout=5) == b"\xff" * size


def test_fragmented_messages_and_pings_from_websockets() -> None:
    pongs: List[bool] = []

    def handler(ws: WsConnection) -> None:
        ws.send(["frag", "ment", "ed ✓"])  # an iterable: one fragment each (§5.4)
        ws.send([b"\x01", b"", b"\x02\x03"])
        pongs.append(ws.ping(b"ping!").wait(5))  # answered only if our recv() runs
        ws.send("after the ping")
        ws.recv()

    with websockets_server(handler, compression=None) as url:
        with connect(url) as ws:
            assert ws.recv(timeout=5) == "fragmented ✓"
            assert ws.recv(timeout=5) == b"\x01\x02\x03"
            assert ws.recv(timeout=10) == "after the ping"
            ws.send("bye")
    assert pongs == [True]


def test_close_codes_both_ways_with_websockets() -> None:
    codes: List[object] = []

    def handler(ws: WsConnection) -> None:
        message = ws.recv()
        if message == "close me":
            ws.close(4002, "as asked")
        else:
            with contextlib.suppress(Exception):
                ws.recv()
            codes.append((ws.close_code, ws.close_reason))

    with websockets_server(handler, compression=None) as url:
        with connect(url) as ws:
            ws.send("close me")
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
        assert (ws.close_code, ws.close_reason) == (4002, "as asked")
        with connect(url) as ws:
            ws.send("stay")
            ws.close(4003, "leaving")
    assert codes == [(4003, "leaving")]


def test_permessage_deflate_with_websockets() -> None:
    with websockets_server(ws_echo, compression="deflate") as url:
        with connect(url, compression="deflate") as ws:
            extensions = ws.response.headers.get("Sec-WebSocket-Extensions") or ""
            assert extensions.startswith("permessage-deflate")
            assert ws.deflate is not None
            for text in ["", "short", "a rather repetitive line. " * 5000, "é" * 70000]:
                ws.send(text)
                assert ws.recv(timeout=5) == text
            ws.send(bytes(200_000))
            assert ws.recv(timeout=5) == bytes(200_000)
        with connect(url) as ws:  # no offer, no compression
            assert ws.deflate is None and "Sec-WebSocket-Extensions" not in ws.response.headers


# ---------------------------------------------------------------------- bytes by hand


def test_the_request_follows_rfc_6455_section_4_1() -> None:
    def script(sock: socket.socket, request: Request) -> Request:
        sock.sendall(answer_101(request, "Sec-WebSocket-Protocol: b"))
        read_until_eof(sock)
        return request

    with RawServer(script) as server:
        with connect(
            server.url + "?room=1",
            subprotocols=["a", "b"],
            origin="http://127.0.0.1",
            extra_headers=[("X-Course", "wslearn")],
            close_timeout=0.5,  # this server never ends TCP itself: the client does
        ) as ws:
            assert ws.subprotocol == "b"
    assert server.error is None
    request = server.result
    assert isinstance(request, Request)
    headers = request.headers
    assert (request.method, request.target) == ("GET", "/chat?room=1")
    assert headers["Host"] == server.url.split("/")[2]
    assert headers.tokens("Upgrade") == ["websocket"]
    assert headers.tokens("Connection") == ["upgrade"]
    assert headers["Sec-WebSocket-Version"] == "13"
    assert len(base64.b64decode(headers["Sec-WebSocket-Key"])) == 16
    assert headers["Sec-WebSocket-Protocol"] == "a, b"
    assert headers["Origin"] == "http://127.0.0.1"
    assert headers["X-Course"] == "wslearn"


@pytest.mark.parametrize(
    "extra, accept, status, complaint",
    [
        (("Sec-WebSocket-Protocol: c",), None, 101, "did not offer"),
        ((), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", 101, "Sec-WebSocket-Accept"),
        (("Sec-WebSocket-Extensions: permessage-deflate",), None, 101, "extension"),
    ],
    ids=["subprotocol-not-offered", "wrong-accept", "extension-not-offered"],
)
def test_a_101_that_does_not_fit_our_request_is_refused(
    extra: tuple, accept: Optional[str], status: int, complaint: str
) -> None:
    def script(sock: socket.socket, request: Request) -> None:
        sock.sendall(answer_101(request, *extra, accept=accept))
        read_until_eof(sock)  # the client must hang up

    with RawServer(script) as server:
        with pytest.raises(InvalidResponse, match=complaint) as refused:
            connect(server.url, subprotocols=["a", "b"])
    assert refused.value.status == status
    assert server.error is None


def test_a_non_101_answer_raises_with_its_status() -> None:
    def script(sock: socket.socket, request: Request) -> None:
        sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!")
        read_until_eof(sock)

    with RawServer(script) as server:
        with pytest.raises(InvalidResponse, match="404") as refused:
            connect(server.url)
    assert refused.value.status == 404


def test_an_endless_response_head_is_refused() -> None:
    def script(sock: socket.socket, request: Request) -> None:
        with contextlib.suppress(OSError):
            sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\n")
            for n in range(100_000):  # headers without end: the client must give up first
                sock.sendall(f"X-Header-{n}: {'v' * 50}\r\n".encode())

    with RawServer(script) as server:
        with pytest.raises(InvalidResponse, match="header lines"):
            connect(server.url)


def test_a_server_that_never_answers_times_out() -> None:
    def script(sock: socket.socket, request: Request) -> bytes:
        return read_until_eof(sock)  # silence, until the client gives up

    with RawServer(script) as server:
        began = time.monotonic()
        with pytest.raises(TimeoutError, match="0.3 s"):
            connect(server.url, open_timeout=0.3)
        assert time.monotonic() - began < 5  # bounded by open_timeout, not by the server
    assert server.result == b""  # the client hung up without sending anything more


def test_a_masked_frame_from_the_server_fails_the_connection_with_1002() -> None:
    def script(sock: socket.socket, request: Request) -> bytes:
        masked = wslearn.Frame(wslearn.Opcode.TEXT, b"Hello").serialize(b"\x37\xfa\x21\x3d")
        sock.sendall(answer_101(request) + masked)
        return read_until_eof(sock)

    with RawServer(script) as server:
        ws = connect(server.url, close_timeout=0.5)
        with pytest.raises(ConnectionClosed, match="1002"):
            ws.recv(timeout=5)
        assert ws.close_code == 1002
    peer = Connection("server")
    events = peer.receive_data(server.result)  # type: ignore[arg-type]
    assert len(events) == 1 and isinstance(events[0], wslearn.Close)
    assert events[0].code == 1002  # §5.1: the client closes with a protocol error


def test_frames_right_behind_the_101_are_read_and_pings_answered() -> None:
    def script(sock: socket.socket, request: Request) -> bytes:
        frames = wslearn.Frame(wslearn.Opcode.PING, b"hi").serialize()
        frames += wslearn.Frame(wslearn.Opcode.TEXT, b"first").serialize()
        sock.sendall(answer_101(request) + frames)  # one write: one read, most likely
        return read_until_eof(sock)

    with RawServer(script) as server:
        with connect(server.url, close_timeout=0.5) as ws:
            assert ws.recv(timeout=5) == "first"
    peer = Connection("server")
    events = peer.receive_data(server.result)  # type: ignore[arg-type]
    assert events[0] == wslearn.Pong(b"hi")
    assert events[1] == wslearn.Close(1000)


def test_a_server_that_does_not_close_cannot_hold_close_or_recv() -> None:
    def script(sock: socket.socket, request: Request) -> bytes:
        sock.sendall(answer_101(request))
        return read_until_eof(sock)  # reads our Close, never answers it

    with RawServer(script) as server:
        ws = connect(server.url, close_timeout=0.3)
        began = time.monotonic()
        ws.close()
        assert time.monotonic() - began < 5
        assert ws.close_code == 1006  # no Close frame came back (§7.1.5)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=1)


def test_tcp_ending_without_a_close_is_1006() -> None:
    def script(sock: socket.socket, request: Request) -> None:
        sock.sendall(answer_101(request) + wslearn.Frame(wslearn.Opcode.TEXT, b"x").serialize())

    with RawServer(script) as server:
        ws = connect(server.url)
        assert ws.recv(timeout=5) == "x"
        with pytest.raises(ConnectionClosed, match="1006"):
            ws.recv(timeout=5)
        assert ws.close_code == 1006
        assert isinstance(ws, ClientConnection) and repr(ws) == "<ClientConnection closed>"
