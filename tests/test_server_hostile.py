"""The live server against hostile clients: raw sockets sending exactly the wrong bytes.

Each bad input names what it must get back (RFC 6455 §4.2.1, §5, §7.4): an HTTP status during
the handshake, a Close frame with a close code once the connection is open. After answering,
the server closes TCP (``recv`` returns b""), writes what went wrong into the connection's
record, and goes on serving a well-behaved client.
"""

from __future__ import annotations

import os
import socket
import time

import pytest
from helpers import rawclient as rc

import wslearn

pytestmark = pytest.mark.timeout(60)

GOOD_ORIGIN = "http://good.example"


@pytest.fixture
def server():
    with wslearn.serve(port=0, handshake_timeout=2.0, close_timeout=0.5) as running:
        yield running


def finished_record(server: wslearn.Server, index: int = 0) -> wslearn.ConnectionRecord:
    """The record of the ``index``-th connection, once its thread has finished with it."""
    assert rc.wait_until(lambda: len(server.recorder.connections()) > index)
    record = server.recorder.connections()[index]
    assert rc.wait_until(lambda: record.closed is not None), "connection thread still running"
    return record


# ---------------------------------------------------------------------- the opening handshake

TLS_CLIENT_HELLO = bytes.fromhex("16030100f4010000f00303") + os.urandom(32) + b"\x00" * 40


@pytest.mark.parametrize(
    "data, status",
    [
        pytest.param(rc.request(headers=[("Sec-WebSocket-Key", None)]), 400, id="missing-key"),
        pytest.param(
            rc.request(headers=[("Sec-WebSocket-Key", "not base64!!")]), 400, id="key-not-base64"
        ),
        pytest.param(
            rc.request(headers=[("Sec-WebSocket-Key", "c2hvcnQ=")]), 400, id="key-not-16-bytes"
        ),
        pytest.param(rc.request(headers=[("Host", None)]), 400, id="missing-host"),
        pytest.param(rc.request(method="POST"), 405, id="post-with-upgrade"),
        pytest.param(rc.request(headers=[("X-Big", "a" * 9000)]), 431, id="header-line-over-8192"),
        pytest.param(
            rc.request(headers=[(f"X-H{i}", "v") for i in range(130)]), 431, id="over-128-headers"
        ),
        pytest.param(rc.request().replace(b"HTTP/1.1", b"HTTP/1.0", 1), 400, id="http-1.0"),
        pytest.param(TLS_CLIENT_HELLO, 400, id="tls-client-hello"),
    ],
)
def test_bad_handshake_gets_its_status_then_tcp_close(server, data, status):
    got, _headers, _body = rc.exchange_http(server.port, data)  # reads until recv() == b""
    assert got == status
    record = finished_record(server)
    assert record.status == status
    assert record.error
    rc.assert_echoes(server.url)


def test_wrong_version_gets_426_naming_version_13(server):
    data = rc.request(headers=[("Sec-WebSocket-Version", "8")])
    status, headers, body = rc.exchange_http(server.port, data)
    assert status == 426
    assert headers.get("Sec-WebSocket-Version") == "13"
    assert b"13" in body
    rc.assert_echoes(server.url)


def test_tls_client_hello_is_told_it_is_not_http(server):
    _status, _headers, body = rc.exchange_http(server.port, TLS_CLIENT_HELLO)
    assert b"wss://" in body


def test_plain_get_of_another_path_is_404(server):
    status, _headers, _body = rc.exchange_http(server.port, rc.request("/chat", upgrade=False))
    assert status == 404
    rc.assert_echoes(server.url)


def test_plain_get_of_root_is_the_html_test_page(server):
    status, headers, body = rc.exchange_http(server.port, rc.request("/", upgrade=False))
    assert status == 200
    assert headers.get("Content-Type", "").startswith("text/html")
    assert body.lstrip().lower().startswith(b"<!doctype html>")
    assert int(headers["Content-Length"]) == len(body)
    rc.assert_echoes(server.url)


def test_post_without_upgrade_is_405(server):
    status, headers, _body = rc.exchange_http(
        server.port, rc.request("/", method="POST", upgrade=False)
    )
    assert status == 405
    assert headers.get("Allow") == "GET"


def test_request_with_128_headers_in_one_piece_is_accepted(server):
    data = rc.request(headers=[(f"X-H{i}", "v") for i in range(123)])  # 5 + 123 = 128
    with rc.open_socket(server.port) as sock:
        sock.sendall(data)
        assert sock.recv(12) == b"HTTP/1.1 101"


def test_request_with_128_headers_is_accepted_whatever_the_chunking(server):
    # While the blank line is still on its way, the empty text after the last CRLF is not
    # a header: counting it would refuse 128 headers (431) only when they arrive in two reads.
    data = rc.request(headers=[(f"X-H{i}", "v") for i in range(123)])  # 5 + 123 = 128
    with rc.open_socket(server.port) as sock:
        sock.sendall(data[:-2])  # every header line with its CRLF; the blank line comes later
        time.sleep(0.3)
        sock.sendall(data[-2:])
        assert sock.recv(12) == b"HTTP/1.1 101"


def test_origin_not_in_the_allow_list_gets_403_and_an_allowed_one_101():
    with wslearn.serve(
        port=0, origins=[GOOD_ORIGIN], handshake_timeout=2.0, close_timeout=0.5
    ) as server:
        status, _h, _b = rc.exchange_http(
            server.port, rc.request(headers=[("Origin", "http://evil.example")])
        )
        assert status == 403
        status, _h, _b = rc.exchange_http(server.port, rc.request())  # no Origin at all
        assert status == 403
        with rc.open_socket(server.port) as sock:
            sock.sendall(rc.request(headers=[("Origin", GOOD_ORIGIN)]))
            assert sock.recv(12) == b"HTTP/1.1 101"
        rc.assert_echoes(server.url, origin=GOOD_ORIGIN)


def test_half_a_request_then_silence_is_cut_off_at_the_handshake_timeout():
    with wslearn.serve(port=0, handshake_timeout=0.5, close_timeout=0.5) as server:
        with rc.open_socket(server.port) as sock:
            data = rc.request()
            sock.sendall(data[: len(data) // 2])
            start = time.monotonic()
            assert sock.recv(1024) == b""  # closed by the server, not our 5 s timeout
            assert time.monotonic() - start < 2.0
        record = finished_record(server)
        assert "handshake" in record.error
        assert record.status is None
        rc.assert_echoes(server.url)


def test_slowloris_is_cut_off_at_the_handshake_deadline_not_per_read():
    # One byte every 0.2 s never lets a single recv() wait 0.5 s: only a deadline for the
    # whole handshake stops it.
    with wslearn.serve(port=0, handshake_timeout=0.5, close_timeout=0.5) as server:
        data = rc.request()
        with rc.open_socket(server.port, timeout=0.2) as sock:
            start = time.monotonic()
            cut_off_after = None
            for i in range(25):  # 25 × 0.2 s = 5 s at most
                try:
                    sock.send(data[i : i + 1])
                    if sock.recv(1024) == b"":
                        cut_off_after = time.monotonic() - start
                        break
                except socket.timeout:
                    continue
                except OSError:  # reset: the server closed while we were still sending
                    cut_off_after = time.monotonic() - start
                    break
        assert cut_off_after is not None, "the server let a 1-byte-per-0.2-s client go on for 5 s"
        assert cut_off_after < 2.0
        assert "handshake" in finished_record(server).error
        rc.assert_echoes(server.url)


def test_refused_client_that_keeps_sending_is_cut_off_in_bounded_time():
    # After an HTTP refusal the server drains what the client still sends; a timeout per
    # recv() alone would let a byte every 0.2 s hold the thread forever.
    with wslearn.serve(port=0, handshake_timeout=0.5, close_timeout=0.5) as server:
        with rc.open_socket(server.port) as sock:
            sock.sendall(rc.request(headers=[("Sec-WebSocket-Key", None)]))
            assert sock.recv(12) == b"HTTP/1.1 400"
            record = server.recorder.connections()[0]
            for _ in range(15):  # 15 × 0.2 s = 3 s
                if record.closed is not None:
                    break
                try:
                    sock.send(b"x")
                except OSError:
                    break
                time.sleep(0.2)
            assert record.closed is not None, "the server thread still serves a refused client"


# ---------------------------------------------------------------------- frames after the handshake

BAD_FRAMES = [
    pytest.param(rc.frame(0x1, b"hi", masked=False), 1002, "masked", id="unmasked"),
    pytest.param(rc.frame(0x1, b"hi", rsv1=True), 1002, "RSV1", id="rsv1"),
    pytest.param(rc.frame(0x3, b"hi"), 1002, "0x3", id="opcode-0x3"),
    pytest.param(rc.frame(0xB, b"hi"), 1002, "0xB", id="opcode-0xB"),
    pytest.param(rc.frame(0x9, b"p" * 126), 1002, "125", id="ping-126-bytes"),
    pytest.param(rc.frame(0x9, b"p", fin=False), 1002, "fragmented", id="fragmented-ping"),
    pytest.param(rc.frame(0x0, b"x"), 1002, "continuation", id="continuation-without-start"),
    pytest.param(
        rc.frame(0x1, b"a", fin=False) + rc.frame(0x1, b"b"),
        1002,
        "before",
        id="new-message-mid-fragments",
    ),
    pytest.param(
        b"\x81\xfe\x00\x05" + b"\x00" * 4 + b"hello", 1002, "minimal", id="length-not-minimal"
    ),
    pytest.param(rc.close_frame(1005), 1002, "1005", id="close-1005"),
    pytest.param(rc.close_frame(999), 1002, "999", id="close-999"),
    pytest.param(rc.close_frame(5000), 1002, "5000", id="close-5000"),
    pytest.param(rc.frame(0x8, b"\x03"), 1002, "1-byte", id="close-1-byte-payload"),
    pytest.param(rc.close_frame(1000, b"\xff\xfe"), 1007, "UTF-8", id="close-reason-not-utf8"),
    pytest.param(rc.frame(0x1, b"\xff"), 1007, "UTF-8", id="text-not-utf8"),
    pytest.param(rc.frame(0x2, b"", length=2**40), 1009, "over the limit", id="length-2**40"),
]


@pytest.mark.parametrize("data, code, error_words", BAD_FRAMES)
def test_bad_frame_gets_its_close_code_then_tcp_close(server, data, code, error_words):
    with rc.handshake(server.port) as sock:
        sock.sendall(data)
        frames, closed = rc.read_frames(sock)
    assert [rc.close_code_of(f) for f in frames] == [code]
    assert closed, "the server did not close TCP after its Close frame"
    record = finished_record(server)
    assert record.close_code == code
    assert error_words in record.error
    rc.assert_echoes(server.url)


def test_huge_announced_length_is_refused_before_any_payload_is_sent(server):
    with rc.handshake(server.port) as sock:
        header = rc.frame(0x2, b"", length=2**40)
        assert len(header) == 14  # 2 + 8-byte length + 4-byte mask, and not one payload byte
        sock.sendall(header)
        found = rc.read_frame(sock)
        assert rc.close_code_of(found) == 1009
        assert sock.recv(1024) == b""
    rc.assert_echoes(server.url)


def test_bad_utf8_split_across_fragments_fails_at_the_bad_fragment(server):
    with rc.handshake(server.port, timeout=0.5) as sock:
        # "caf" and the first byte of "é" (c3 a9): incomplete, but still valid so far.
        sock.sendall(rc.frame(0x1, b"caf\xc3", fin=False))
        with pytest.raises(socket.timeout):
            sock.recv(1024)  # nothing comes back: the first fragment is fine
        sock.sendall(rc.frame(0x0, b"\x28", fin=True))  # 0x28 cannot continue c3
        sock.settimeout(5)
        frames, closed = rc.read_frames(sock)
    assert [rc.close_code_of(f) for f in frames] == [1007]
    assert closed
    assert "UTF-8" in finished_record(server).error
    rc.assert_echoes(server.url)


def test_character_split_across_fragments_is_fine(server):
    with rc.handshake(server.port) as sock:
        sock.sendall(rc.frame(0x1, b"caf\xc3", fin=False) + rc.frame(0x0, b"\xa9", fin=True))
        found = rc.read_frame(sock)
    assert (found.opcode, found.payload) == (wslearn.Opcode.TEXT, "café".encode())


def test_frame_in_the_same_packet_as_the_handshake_is_not_lost(server):
    with rc.open_socket(server.port) as sock:
        sock.sendall(rc.request() + rc.frame(0x1, b"right behind"))
        buffer = b""
        for _ in range(20):
            if buffer.endswith(b"right behind"):
                break
            chunk = sock.recv(4096)
            assert chunk
            buffer += chunk
        response = wslearn.parse_response(buffer)
        assert response is not None and response.status == 101
        found, _used = wslearn.Frame.parse(buffer[len(response.raw) :])
        assert found.payload == b"right behind"


def test_ping_between_fragments_is_answered_and_the_message_still_assembled(server):
    with rc.handshake(server.port) as sock:
        sock.sendall(
            rc.frame(0x1, b"Hel", fin=False) + rc.frame(0x9, b"beat") + rc.frame(0x0, b"lo")
        )
        buffer = b""
        frames = []
        deadline = time.monotonic() + 5
        while len(frames) < 2 and time.monotonic() < deadline:
            parsed = wslearn.Frame.parse(buffer)
            if parsed is None:
                chunk = sock.recv(4096)
                assert chunk
                buffer += chunk
                continue
            found, used = parsed
            frames.append(found)
            buffer = buffer[used:]
    assert [(f.opcode, f.payload) for f in frames] == [
        (wslearn.Opcode.PONG, b"beat"),
        (wslearn.Opcode.TEXT, b"Hello"),
    ]


# ---------------------------------------------------------------------- closing


@pytest.mark.parametrize(
    "code, reason", [(1000, b"bye"), (4001, b""), (3000, "fin \u00e9".encode())]
)
def test_client_close_gets_its_code_echoed_and_the_server_closes_tcp(server, code, reason):
    with rc.handshake(server.port) as sock:
        sock.sendall(rc.close_frame(code, reason))
        frames, closed = rc.read_frames(sock)
    assert [rc.close_code_of(f) for f in frames] == [code]
    assert closed
    record = finished_record(server)
    assert (record.close_code, record.close_reason) == (code, reason.decode())
    assert record.error == ""
    rc.assert_echoes(server.url)


def test_empty_close_gets_an_empty_close_back(server):
    with rc.handshake(server.port) as sock:
        sock.sendall(rc.frame(0x8, b""))
        frames, closed = rc.read_frames(sock)
    assert [(f.opcode, f.payload) for f in frames] == [(wslearn.Opcode.CLOSE, b"")]
    assert closed
    assert finished_record(server).close_code == 1005


def test_stop_sends_1001_to_a_silent_client_and_returns_after_close_timeout():
    server = wslearn.serve(port=0, handshake_timeout=2.0, close_timeout=0.5)
    try:
        with rc.handshake(server.port) as sock:
            assert rc.wait_until(lambda: len(server.connections) == 1)
            start = time.monotonic()
            server.stop()  # the client never answers the Close
            took = time.monotonic() - start
            frames, closed = rc.read_frames(sock)
    finally:
        server.stop()
    assert [rc.close_code_of(f) for f in frames] == [1001]
    assert closed
    assert took < 2.0
    assert not server.running


def test_close_from_another_thread_is_bounded_by_close_timeout():
    # The connection's thread is already blocked in recv() when another thread (a notebook
    # cell) starts the close: the close_timeout must still apply to it.
    held = []

    def keep(conn, message):
        held.append(conn)

    with wslearn.serve(port=0, handler=keep, handshake_timeout=2.0, close_timeout=0.5) as server:
        with rc.handshake(server.port) as sock:
            sock.sendall(rc.frame(0x1, b"hold me"))
            assert rc.wait_until(lambda: held)
            held[0].close(1000, "bye")  # e.g. a notebook cell; the client stays silent
            sock.settimeout(3)
            frames, closed = rc.read_frames(sock, seconds=3)
            assert [rc.close_code_of(f) for f in frames] == [1000]
            assert closed, "no Close came back, yet the server kept the connection past 3 s"


def test_failed_connection_ends_with_fin_even_when_unread_bytes_remain(server):
    # Closing a socket that holds unread bytes makes the kernel send a reset, and a client
    # still busy sending (websockets) may then lose the Close frame; half-close and drain.
    with rc.handshake(server.port) as sock:
        # A frame over max_size, followed at once by part of its payload.
        data = rc.frame(0x2, b"\x00" * 200_000, length=2**40)[: 14 + 200_000]
        try:
            sock.sendall(data)
        except OSError:
            pass
        time.sleep(0.2)
        buffer = b""
        ending = None
        for _ in range(10):
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                ending = "reset"
                break
            if not chunk:
                ending = "fin"
                break
            buffer += chunk
        found, _used = wslearn.Frame.parse(buffer)
        assert rc.close_code_of(found) == 1009
        assert ending == "fin"


def test_connection_records_keep_each_error_text(server):
    for data in (rc.frame(0x1, b"x", masked=False), rc.frame(0x3, b"")):
        with rc.handshake(server.port) as sock:
            sock.sendall(data)
            rc.read_frames(sock)
    first, second = finished_record(server, 0), finished_record(server, 1)
    assert "unmasked frame from a client" in first.error
    assert "opcode 0x3 is reserved" in second.error
    assert (first.status, second.status) == (101, 101)


def test_plain_gets_with_megabyte_heads_leave_small_records() -> None:
    # 20 requests for the test page, each with a head of about 1 MB (128 header lines of
    # 7.9 KB, the most the server reads): each record keeps at most MAX_REQUEST_KEPT bytes.
    from wslearn.recording import MAX_REQUEST_KEPT

    with wslearn.serve(port=0, log=None) as server:
        for _ in range(20):
            data = rc.request(upgrade=False, headers=[(f"X-H{i}", "v" * 7900) for i in range(120)])
            status, _h, _b = rc.exchange_http(server.port, data)
            assert status == 200
        records = server.recorder.connections()
        assert len(records) == 20
        for record in records:
            assert len(record.request_raw) == MAX_REQUEST_KEPT and record.request_dropped > 900_000
            assert sum(len(n) + len(v) + 4 for n, v in record.request_headers) <= MAX_REQUEST_KEPT


@pytest.mark.parametrize(
    "after, code",
    [
        pytest.param(rc.frame(0x1, b"x", rsv1=True), 1002, id="rsv1-without-extension"),
        pytest.param(rc.frame(0x3, b""), 1002, id="reserved-opcode"),
        pytest.param(rc.close_frame(1000), 1000, id="close"),
    ],
)
def test_a_message_that_came_before_a_close_or_a_bad_frame_is_answered_first(server, after, code):
    # Both arrive in one write, so the server reads them together. It hands the message
    # to the handler before it looks at the next frame: the echo leaves before the Close.
    with rc.handshake(server.port) as sock:
        sock.sendall(rc.frame(0x1, b"Hello, world!") + after)
        frames, closed = rc.read_frames(sock)
    assert closed
    assert [f.opcode for f in frames] == [wslearn.Opcode.TEXT, wslearn.Opcode.CLOSE]
    assert frames[0].payload == b"Hello, world!"
    assert rc.close_code_of(frames[1]) == code
