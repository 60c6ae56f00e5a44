"""The live server against a real peer: the websockets library's client, over 127.0.0.1."""

import inspect
import pydoc
import re
import socket
import threading
import time
from pathlib import Path

import pytest
from helpers import rawclient as rc
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK
from websockets.sync.client import connect

import wslearn
from wslearn.redaction import REDACTED
from wslearn.server import static_file

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def server():
    with wslearn.serve(port=0, close_timeout=1.0) as running:
        yield running


@pytest.mark.parametrize(
    "message",
    ["hello", "", "你好, 世界 👋🏽", b"\x00\x01\xfe\xff", b"", "x" * 125, "y" * 126, b"z" * 65536],
)
def test_echoes_text_and_binary_messages(server, message):
    with connect(server.url) as ws:
        ws.send(message)
        assert ws.recv() == message


def test_fragmented_message_is_assembled_and_echoed_whole(server):
    with connect(server.url) as ws:
        # websockets sends one fragment per item, then an empty final fragment.
        ws.send(iter(["Hel", "lo ", "😀"]))
        assert ws.recv() == "Hello 😀"
    inbound = server.wait_for_frames(5)
    assert [(f.opcode, f.fin) for f in inbound[:4]] == [
        (1, False),
        (0, False),
        (0, False),
        (0, True),
    ]
    outbound = server.recorder.frames(direction="out")
    assert (outbound[0].opcode, outbound[0].fin, outbound[0].length) == (1, True, 10)


def test_ping_gets_a_pong(server):
    with connect(server.url) as ws:
        pong = ws.ping(b"are you there")
        assert pong.wait(5)
    kinds = [(f.direction, f.opcode_name, f.payload_preview) for f in server.recorder.frames()]
    assert ("in", "PING", b"are you there") in kinds
    assert ("out", "PONG", b"are you there") in kinds


def test_server_ping_is_answered_by_the_client(server):
    with connect(server.url) as ws:
        ws.send("hi")
        ws.recv()
        server.connections[0].ping(b"beat")
        pong = server.wait_for_frames(2)[1]
        assert (pong.opcode_name, pong.payload_preview) == ("PONG", b"beat")


@pytest.mark.parametrize("code, reason", [(1000, "bye"), (4001, "custom 再见"), (3000, "")])
def test_client_close_code_and_reason_are_recorded_and_echoed(server, code, reason):
    with connect(server.url) as ws:
        ws.send("x")
        ws.recv()
        ws.close(code, reason)
        assert ws.protocol.close_rcvd.code == code
    record = server.recorder.connections()[0]
    for _ in range(100):
        if record.closed:
            break
        threading.Event().wait(0.02)
    assert (record.close_code, record.close_reason) == (code, reason)


def test_server_stop_sends_1001_to_open_connections():
    server = wslearn.serve(port=0, close_timeout=1.0)
    with connect(server.url) as ws:
        server.stop()
        with pytest.raises(ConnectionClosedOK) as info:
            ws.recv(timeout=5)
        assert info.value.rcvd.code == 1001


def test_server_close_from_a_handler():
    def on_message(conn, message):
        conn.close(4000, "enough")

    with wslearn.serve(port=0, handler=on_message) as server:
        with connect(server.url) as ws:
            ws.send("please close")
            with pytest.raises(ConnectionClosed) as info:
                ws.recv(timeout=5)
            assert (info.value.rcvd.code, info.value.rcvd.reason) == (4000, "enough")


def test_message_over_max_size_gets_1009(server):
    with connect(server.url, max_size=None) as ws:
        ws.send(b"\x00" * (2**20 + 1))
        with pytest.raises(ConnectionClosedError) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd.code == 1009


def test_16_mib_message_echoed_byte_exact_with_raised_limit():
    payload = bytes(range(256)) * (16 * 2**20 // 256)
    with wslearn.serve(port=0, max_size=16 * 2**20) as server:
        with connect(server.url, max_size=None) as ws:
            ws.send(payload)
            assert ws.recv(timeout=30) == payload
        inbound = server.recorder.frames(direction="in")[0]
        assert inbound.length == 16 * 2**20 and inbound.length_case == "64-bit"
        assert len(inbound.payload_preview) == server.recorder.preview_bytes


def test_recording_has_every_header_field_and_the_wire_bytes(server):
    with connect(server.url) as ws:
        ws.send("Hello")
        ws.recv()
    frame = server.recorder.frames(direction="in")[0]
    assert frame.masked and len(frame.mask) == 4
    assert frame.header[:2] == b"\x81\x85" and frame.header[2:] == frame.mask
    assert frame.payload_preview == b"Hello"
    assert wslearn.unmask(frame.wire_preview, frame.mask) == b"Hello"
    assert frame.wire_preview != b"Hello" or frame.mask == b"\0\0\0\0"
    echo = server.recorder.frames(direction="out")[0]
    assert not echo.masked and echo.mask is None and echo.header == b"\x81\x05"


def test_reads_are_recorded_and_frames_laid_over_the_stream(server):
    with connect(server.url) as ws:
        for size in (10, 70000, 10):
            ws.send(b"a" * size)
            ws.recv()
    record = server.recorder.connections()[0]
    frames = server.recorder.frames(direction="in")
    ends = [f.stream_offset + len(f.header) + f.length for f in frames]
    assert [f.stream_offset for f in frames[1:]] == ends[:-1]
    assert sum(record.reads) == ends[-1]  # every byte read belongs to exactly one frame


def test_recording_is_bounded_and_counts_what_it_dropped():
    with wslearn.serve(port=0, max_frames=10) as server:
        with connect(server.url) as ws:
            for i in range(20):
                ws.send(str(i))
                ws.recv()
        frames = server.recorder.frames()
        assert len(frames) == 10
        assert server.recorder.dropped_frames >= 30
        assert frames[-1].opcode_name == "CLOSE"


def test_jupyter_token_and_cookies_are_redacted_everywhere(server):
    secret_token, secret_xsrf = "s3cr3t-t0ken-abc", "xsrf-2|deadbeef"
    lines = []
    server.log = lines.append
    url = server.url + f"?token={secret_token}&via=jupyter-proxy"
    with connect(
        url,
        additional_headers={
            "Cookie": f"username-127-0-0-1-8888=2|abc; _xsrf={secret_xsrf}",
            "Authorization": f"token {secret_token}",
        },
    ) as ws:
        ws.send("hi")
        ws.recv()
    record = server.recorder.connections()[0]
    everything = repr(record) + record.request_raw.decode() + "\n".join(lines)
    everything += repr(server.recorder.frames())
    assert secret_token not in everything and secret_xsrf not in everything
    assert f"token={REDACTED}" in record.target
    assert record.request_headers["Cookie"] == REDACTED
    assert record.via_proxy and record.proxy_evidence


def test_direct_connection_is_not_marked_as_proxied(server):
    with connect(server.url) as ws:
        ws.send("hi")
        ws.recv()
    record = server.recorder.connections()[0]
    assert not record.via_proxy and record.status == 101


def test_recased_header_names_like_tornado_mark_a_proxy_and_still_work(server):
    request, key = wslearn.client_request(f"127.0.0.1:{server.port}")
    request = request.replace(b"Sec-WebSocket-Key", b"Sec-Websocket-Key")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(4096)
        assert wslearn.check_response(wslearn.parse_response(data), key) is None
    assert server.recorder.connections()[0].via_proxy


def test_log_gets_one_line_per_frame():
    lines = []
    with wslearn.serve(port=0, log=lines.append) as server:
        with connect(server.url) as ws:
            ws.send("Hello")
            ws.recv()
    assert "-> TEXT" in lines[0] and "masked=1" in lines[0] and "'Hello'" in lines[0]
    assert "<- TEXT" in lines[1] and "masked=0" in lines[1]


def test_server_url_and_repr():
    with wslearn.serve(port=0) as server:
        assert server.url == f"ws://127.0.0.1:{server.port}/"
        assert server.http_url == f"http://127.0.0.1:{server.port}/"
        assert "running" in repr(server)
    assert "stopped" in repr(server)
    with pytest.raises(ValueError):
        wslearn.serve(port=0, handler="shout")


def test_wait_for_frames_returns_what_it_has_when_time_is_up(server):
    assert server.wait_for_frames(1, timeout=0.1) == []


def test_handler_raising_an_os_error_of_its_own_is_reported_not_swallowed():
    def on_message(conn, message):
        open("/nonexistent/wslearn-test-file")

    with wslearn.serve(port=0, handler=on_message, show_errors=False) as server:
        with connect(server.url) as ws:
            ws.send("hi")
            with pytest.raises(ConnectionClosed) as info:
                ws.recv(timeout=5)
        assert info.value.rcvd.code == 1011
        assert isinstance(server.errors[0][1], FileNotFoundError)


# ---------------------------------------------------------------- the recording is the wire
# A raw client on 127.0.0.1 builds every byte itself, so the test knows exactly what crossed the
# wire in each direction and can hold the server's recording against it.


def masked_frame(opcode: int, payload: bytes, mask: bytes, *, fin: bool = True):
    """``(header bytes, payload bytes as sent)`` of a client frame, built by hand (§5.2, §5.3)."""
    header = wslearn.encode_frame_header(opcode, len(payload), fin=fin, mask=mask)
    return header, bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class RawFrames:
    """Whole frames out of what the server sends, kept as the bytes that arrived."""

    def __init__(self, sock: socket.socket, seconds: float = 5.0) -> None:
        self.sock = sock
        self.seconds = seconds
        self.buffer = b""
        self.eof = False

    def next(self):
        """``(header bytes, payload bytes)`` of the next frame; fails after ``seconds``."""
        deadline = time.monotonic() + self.seconds
        while True:
            header = wslearn.parse_frame_header(self.buffer)
            if header is not None and len(self.buffer) >= header.header_size + header.length:
                end = header.header_size + header.length
                raw, self.buffer = self.buffer[:end], self.buffer[end:]
                return raw[: header.header_size], raw[header.header_size :]
            assert not self.eof, f"the server closed TCP inside a frame: {self.buffer[:40]!r}"
            assert time.monotonic() < deadline, "no whole frame in time"
            chunk = self.sock.recv(65536)
            self.eof = not chunk
            self.buffer += chunk

    def take(self, count: int):
        return [self.next() for _ in range(count)]

    def assert_eof(self) -> None:
        """The server closed TCP and sent nothing more."""
        deadline = time.monotonic() + self.seconds
        while not self.eof:
            assert time.monotonic() < deadline, "the server kept the connection open"
            chunk = self.sock.recv(65536)
            self.eof = not chunk
            self.buffer += chunk
        assert self.buffer == b"", f"bytes after the last frame: {self.buffer[:40]!r}"


PREVIEW = 64
ZERO = b"\x00\x00\x00\x00"
WIRE_MESSAGES = [  # what the raw client sends, one at a time, and the key it masks with
    (0x1, "Hello, wire 👋".encode(), b"\x37\xfa\x21\x3d"),
    (0x2, bytes(range(256)) + bytes(44), b"\xa5\x5a\x0f\xf0"),  # 300 bytes: 16-bit length
    (0x1, b"a zero key leaves the payload as it is", ZERO),
    (0x2, bytes((i * 7 + 3) % 256 for i in range(70000)), b"\x01\x80\xfe\x7f"),  # 64-bit length
    (0x9, b"ping!", b"\xde\xad\xbe\xef"),
    (0x8, wslearn.Close(1000, "bye").serialize(), b"\x10\x20\x30\x40"),
]


def test_recorded_frames_hold_the_header_and_payload_bytes_that_crossed_the_wire():
    with wslearn.serve(port=0, preview_bytes=PREVIEW, close_timeout=1.0) as server:
        sent, received = [], []
        with rc.handshake(server.port) as sock:
            frames = RawFrames(sock)
            for opcode, payload, mask in WIRE_MESSAGES:
                header, wire = masked_frame(opcode, payload, mask)
                sock.sendall(header + wire)
                sent.append((header, wire))
                received.append(frames.next())  # the echo, the Pong, the Close reply
            frames.assert_eof()
        inbound = server.recorder.frames(direction="in")
        outbound = server.recorder.frames(direction="out")

    assert len(inbound) == len(outbound) == len(WIRE_MESSAGES)
    offset = 0
    for rec, (header, wire), (opcode, payload, mask) in zip(inbound, sent, WIRE_MESSAGES):
        assert (rec.opcode, rec.length, rec.mask) == (opcode, len(payload), mask)
        assert rec.header == header  # the header bytes exactly as the client sent them
        assert rec.frame_header() == wslearn.parse_frame_header(rec.header)
        assert rec.wire_preview == wire[:PREVIEW]  # still masked, as it crossed the wire
        assert rec.payload_preview == payload[:PREVIEW]
        assert wslearn.unmask(rec.wire_preview, rec.mask) == rec.payload_preview
        if mask == ZERO:
            assert rec.wire_preview == rec.payload_preview
        else:
            assert rec.wire_preview != rec.payload_preview
        assert rec.stream_offset == offset
        offset += len(header) + len(wire)

    replies = [(o, p) for o, p, _ in WIRE_MESSAGES]
    replies[4] = (0xA, WIRE_MESSAGES[4][1])  # a Pong with the Ping's payload (§5.5.3)
    offset = 0
    for rec, (header, wire), (opcode, payload) in zip(outbound, received, replies):
        assert (rec.opcode, rec.length, rec.masked, rec.mask) == (opcode, len(payload), False, None)
        assert wire == payload  # a server never masks (§5.1)
        assert rec.header == header  # the header bytes exactly as the client received them
        assert rec.frame_header() == wslearn.parse_frame_header(rec.header)
        assert rec.wire_preview == rec.payload_preview == wire[:PREVIEW]
        assert rec.stream_offset == offset
        offset += len(header) + len(wire)
    assert [len(rec.header) for rec in outbound] == [2, 4, 2, 10, 2, 2]


def test_a_frame_that_fails_the_connection_is_recorded_as_it_arrived():
    with wslearn.serve(port=0, close_timeout=1.0) as server:
        with rc.handshake(server.port) as sock:
            # "\xc3(" can never be UTF-8: the server fails the connection with 1007.
            header, wire = masked_frame(0x1, b"caf\xc3(", b"\x0f\x0e\x0d\x0c")
            sock.sendall(header + wire)
            frames = RawFrames(sock)
            reply_header, reply = frames.next()
            frames.assert_eof()
        [rec] = server.recorder.frames(direction="in")
        [out] = server.recorder.frames(direction="out")
    assert (rec.header, rec.wire_preview, rec.payload_preview) == (header, wire, b"caf\xc3(")
    assert wslearn.Close.parse(reply).code == 1007
    assert (out.header, out.payload_preview, out.wire_preview) == (reply_header, reply, reply)


# ---------------------------------------------------------------- one outlet, in order

PING = masked_frame(0x9, b"are you there?", b"\x11\x22\x33\x44")
TEXT = masked_frame(0x1, b"and this is my message", b"\x55\x66\x77\x88")


@pytest.mark.parametrize("writes", ["one write", "two writes"])
def test_a_ping_then_a_message_get_the_pong_then_the_echo(server, writes):
    with rc.handshake(server.port) as sock:
        if writes == "one write":
            sock.sendall(b"".join(PING) + b"".join(TEXT))
        else:
            sock.sendall(b"".join(PING))
            sock.sendall(b"".join(TEXT))
        got = RawFrames(sock).take(2)
    assert got == [
        (bytes.fromhex("8a 0e"), b"are you there?"),
        (bytes.fromhex("81 16"), b"and this is my message"),
    ]
    out = server.wait_for_frames(2, direction="out")
    assert [(f.opcode_name, f.payload_preview) for f in out[:2]] == [
        ("PONG", b"are you there?"),
        ("TEXT", b"and this is my message"),
    ]


def test_pings_inside_a_fragmented_message_are_answered_in_order_before_its_echo(server):
    parts = [
        masked_frame(0x1, b"Hel", b"\x01\x02\x03\x04", fin=False),
        masked_frame(0x9, b"one", b"\x05\x06\x07\x08"),
        masked_frame(0x0, b"lo", b"\x09\x0a\x0b\x0c", fin=False),
        masked_frame(0x9, b"two", b"\x0d\x0e\x0f\x10"),
        masked_frame(0x0, b"!", b"\x11\x12\x13\x14"),
    ]
    with rc.handshake(server.port) as sock:
        sock.sendall(b"".join(header + wire for header, wire in parts))
        got = RawFrames(sock).take(3)
    assert [header[0] for header, _ in got] == [0x8A, 0x8A, 0x81]
    assert [payload for _, payload in got] == [b"one", b"two", b"Hello!"]


def test_the_server_module_offers_its_public_names():
    import wslearn.server_connection
    import wslearn.static_files

    assert static_file is wslearn.static_files.static_file
    assert wslearn.server.ServerConnection is wslearn.server_connection.ServerConnection
    for name in ("Server", "ServerConnection", "PortInUse", "running_servers", "static_file"):
        assert name in wslearn.server.__all__
    assert wslearn.serve is wslearn.serving.serve  # in a module of its own: start, or restart


def test_serve_shows_every_option_of_server_in_its_signature_and_help():
    serve_parameters = inspect.signature(wslearn.serve).parameters
    server_parameters = inspect.signature(wslearn.Server).parameters
    assert list(serve_parameters)[:2] == ["port", "host"]
    assert set(serve_parameters) == set(server_parameters)
    for name, parameter in server_parameters.items():
        assert serve_parameters[name].default == parameter.default, name
        assert serve_parameters[name].kind == parameter.kind or name in ("port", "host"), name
    assert inspect.signature(wslearn.serve).return_annotation in (wslearn.Server, "Server")
    text = pydoc.render_doc(wslearn.serve, renderer=pydoc.plaintext)
    for name in server_parameters:
        assert f"{name}:" in text, name
    assert "Start a WebSocket server in background threads" in text


def test_serve_passes_its_options_to_the_server_and_refuses_unknown_ones():
    with wslearn.serve(0, max_size=1000, subprotocols=["chat"], preview_bytes=8) as server:
        assert server.port != 0, "port comes first, as in serve(8080)"
        assert server.max_size == 1000 and server.subprotocols == ["chat"]
        assert server.recorder.preview_bytes == 8
    with pytest.raises(TypeError):
        wslearn.serve(port=0, max_sise=1000)


def test_handler_names_come_from_one_table():
    assert set(wslearn.server.BUILTIN_HANDLERS) == {"echo", "broadcast"}
    for name, function in wslearn.server.BUILTIN_HANDLERS.items():
        with wslearn.serve(port=0, handler=name) as server:
            assert server.handler_name == name and function.__doc__
    with pytest.raises(ValueError, match="'echo', 'broadcast' or a function"):
        wslearn.server.Server(port=0, handler="shout")
    with pytest.raises(TypeError):
        wslearn.server.Server(port=0, handler=42)


SERVER_MODULES = ["server.py", "server_connection.py", "static_files.py", "deadline.py"]


@pytest.mark.parametrize("name", SERVER_MODULES)
def test_server_and_connection_keep_out_of_each_others_private_fields(name):
    source = (Path(wslearn.__file__).parent / name).read_text(encoding="utf-8")
    reaches = re.findall(r"\b(?:conn|connection|other|server|self\.server)\._\w+", source)
    assert not reaches, f"{name} reads another object's private fields: {reaches}"


def test_http_get_of_a_path_outside_the_static_folder_is_404():
    with wslearn.serve(port=0, log=None) as server:
        for path in ("/../server.py", "/..%2f__init__.py", "/data/chromium_frames.json"):
            request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
            status, _, body = rc.exchange_http(server.port, request)
            assert status == 404, (path, body[:200])
        status, headers, body = rc.exchange_http(
            server.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        )
        assert (
            status == 200
            and body == (Path(wslearn.__file__).parent / "static/index.html").read_bytes()
        )
