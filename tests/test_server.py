"""The live server against a real peer: the websockets library's client, over 127.0.0.1."""

import socket
import threading

import pytest
from websockets.exceptions import ConnectionClosed, ConnectionClosedError, ConnectionClosedOK
from websockets.sync.client import connect

import wslearn
from wslearn.recording import REDACTED

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
