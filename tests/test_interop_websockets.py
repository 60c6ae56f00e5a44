"""wslearn against the ``websockets`` library, byte for byte, without any network.

``websockets`` has a sans-I/O layer too: :class:`websockets.frames.Frame` parses and
serializes single frames, and :class:`websockets.client.ClientProtocol` /
:class:`websockets.server.ServerProtocol` are whole connections that take bytes with
``receive_data`` and hand out bytes with ``data_to_send``. So the two libraries can talk
to each other in memory: whatever one side writes, the test passes to the other side.

Every test here runs both ways: bytes made by ``websockets`` read by wslearn, and
bytes made by wslearn read by ``websockets``.
"""

from __future__ import annotations

import struct

import pytest
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosedOK
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Close as WsClose
from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode as WsOpcode
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse
from websockets.protocol import State as WsState
from websockets.server import ServerProtocol
from websockets.streams import StreamReader
from websockets.uri import parse_uri

import wslearn
from wslearn import (
    Binary,
    Close,
    Connection,
    Failed,
    Frame,
    FrameReader,
    HandshakeError,
    InvalidResponse,
    Opcode,
    Ping,
    Pong,
    State,
    Text,
    length_case,
)

URI = "ws://example.com/chat"
ORIGIN = "http://example.com"
KEY = b"\x12\x34\x56\x78"

SIZES = [0, 125, 126, 65535, 65536, 70000]
EMOJI_TEXT = "你好，世界！WebSocket 🚀🎉 ok"


# ---------------------------------------------------------------------- helpers


def ws_parse(data: bytes, *, mask: bool, max_size: int | None = None) -> WsFrame:
    """Parse exactly one frame with websockets' generator-based reader.

    Checks on the way that websockets asks for more bytes when the last one is
    missing (the frame is not shorter than announced) and uses every byte once it
    is there (the frame is not longer than announced).
    """
    reader = StreamReader()
    parser = WsFrame.parse(reader.read_exact, mask=mask, max_size=max_size, extensions=None)
    reader.feed_data(data[:-1])  # a frame is at least 2 bytes long
    try:
        next(parser)
    except StopIteration:
        pytest.fail("websockets read a whole frame without the last byte")
    reader.feed_data(data[-1:])
    try:
        next(parser)
    except StopIteration as stop:
        frame = stop.value
    else:
        pytest.fail("websockets still waits for bytes after the whole frame was fed")
    assert len(reader.buffer) == 0, "websockets left bytes of the frame unread"
    return frame


def ws_parse_stream(data: bytes, *, mask: bool) -> list:
    """Parse every frame of ``data`` with websockets."""
    reader = StreamReader()
    reader.feed_data(data)
    frames = []
    while len(reader.buffer):
        parser = WsFrame.parse(reader.read_exact, mask=mask, max_size=None, extensions=None)
        try:
            next(parser)
        except StopIteration as stop:
            frames.append(stop.value)
        else:
            pytest.fail("the stream ends in the middle of a frame")
    return frames


def ws_client(**kwargs) -> ClientProtocol:
    """A websockets client past its handshake."""
    return ClientProtocol(parse_uri(URI), state=WsState.OPEN, **kwargs)


def ws_server(**kwargs) -> ServerProtocol:
    """A websockets server past its handshake."""
    return ServerProtocol(state=WsState.OPEN, **kwargs)


def out(protocol) -> bytes:
    """Everything a websockets protocol wants to write, end-of-stream markers dropped."""
    return b"".join(protocol.data_to_send())


def out_with_eof(protocol):
    """``(bytes, eof)``: what a websockets protocol writes and whether it half-closes TCP."""
    writes = protocol.data_to_send()
    return b"".join(writes), b"" in writes


def payload_for(kind: str, size: int):
    """``(wslearn opcode, payload bytes, event wslearn should report)`` of a message kind."""
    if kind == "text":
        text = ("abcdefghij" * (size // 10 + 1))[:size]
        return Opcode.TEXT, text.encode(), Text(text)
    if kind == "binary":
        data = bytes((i * 7 + 3) % 256 for i in range(size))
        return Opcode.BINARY, data, Binary(data)
    if kind == "emoji":
        text = EMOJI_TEXT * max(1, size // len(EMOJI_TEXT.encode()))
        return Opcode.TEXT, text.encode(), Text(text)
    assert kind == "empty"
    return Opcode.TEXT, b"", Text("")


KINDS = (
    [("text", s) for s in SIZES]
    + [("binary", s) for s in SIZES]
    + [
        ("empty", 0),
        ("emoji", 40),
        ("emoji", 70000),
    ]
)
KIND_IDS = [f"{kind}-{size}" for kind, size in KINDS]


def ws_messages(frames: list) -> list:
    """Assemble websockets frames into ``(opcode, payload)`` messages, as an application would."""
    messages, parts, opcode = [], [], None
    for frame in frames:
        if frame.opcode in (WsOpcode.TEXT, WsOpcode.BINARY):
            opcode, parts = frame.opcode, [frame.data]
        elif frame.opcode is WsOpcode.CONT:
            parts.append(frame.data)
        else:
            continue
        if frame.fin:
            messages.append((opcode, b"".join(parts)))
    return messages


def expected_header_size(length: int, masked: bool) -> int:
    base = 2 if length <= 125 else 4 if length <= 65535 else 10
    return base + (4 if masked else 0)


# ---------------------------------------------------------------------- single frames


@pytest.mark.parametrize("kind, size", KINDS, ids=KIND_IDS)
def test_websockets_client_frames_parse_in_wslearn(kind, size):
    opcode, payload, _ = payload_for(kind, size)
    data = WsFrame(WsOpcode(int(opcode)), payload).serialize(mask=True)
    frame, used = Frame.parse(data)
    assert used == len(data)
    assert (frame.opcode, frame.fin, frame.payload) == (opcode, True, payload)
    header = frame.header
    assert header.masked and header.mask == data[header.header_size - 4 : header.header_size]
    assert header.length == len(payload)
    assert header.length_case == length_case(len(payload))
    assert header.header_size == expected_header_size(len(payload), masked=True)
    # With the same key, wslearn writes exactly the bytes websockets wrote.
    assert Frame(opcode, payload).serialize(header.mask) == data


@pytest.mark.parametrize("kind, size", KINDS, ids=KIND_IDS)
def test_websockets_server_frames_parse_in_wslearn(kind, size):
    opcode, payload, _ = payload_for(kind, size)
    data = WsFrame(WsOpcode(int(opcode)), payload).serialize(mask=False)
    frame, used = Frame.parse(data)
    assert used == len(data)
    assert (frame.opcode, frame.fin, frame.payload) == (opcode, True, payload)
    assert not frame.header.masked and frame.header.mask is None
    assert frame.header.header_size == expected_header_size(len(payload), masked=False)
    assert Frame(opcode, payload).serialize() == data


@pytest.mark.parametrize("kind, size", KINDS, ids=KIND_IDS)
def test_wslearn_masked_frames_parse_in_websockets(kind, size):
    opcode, payload, _ = payload_for(kind, size)
    data = Frame(opcode, payload).serialize(KEY)
    frame = ws_parse(data, mask=True)
    assert (int(frame.opcode), frame.fin, bytes(frame.data)) == (int(opcode), True, payload)
    assert not (frame.rsv1 or frame.rsv2 or frame.rsv3)


@pytest.mark.parametrize("kind, size", KINDS, ids=KIND_IDS)
def test_wslearn_unmasked_frames_parse_in_websockets(kind, size):
    opcode, payload, _ = payload_for(kind, size)
    data = Frame(opcode, payload).serialize()
    frame = ws_parse(data, mask=False)
    assert (int(frame.opcode), frame.fin, bytes(frame.data)) == (int(opcode), True, payload)


@pytest.mark.parametrize("opcode", [Opcode.PING, Opcode.PONG, Opcode.CLOSE])
@pytest.mark.parametrize("size", [0, 2, 125])
def test_control_frames_are_identical_in_both_libraries(opcode, size):
    payload = struct.pack("!H", 1000) + b"r" * (size - 2) if opcode is Opcode.CLOSE else b"p" * size
    if opcode is Opcode.CLOSE and size == 0:
        payload = b""
    ws_bytes = WsFrame(WsOpcode(int(opcode)), payload).serialize(mask=False)
    assert Frame(opcode, payload).serialize() == ws_bytes
    frame = ws_parse(Frame(opcode, payload).serialize(KEY), mask=True)
    assert (int(frame.opcode), bytes(frame.data)) == (int(opcode), payload)


@pytest.mark.parametrize("kind, size", KINDS, ids=KIND_IDS)
def test_websockets_client_messages_arrive_at_wslearn_server(kind, size):
    _, payload, event = payload_for(kind, size)
    client = ws_client()
    if isinstance(event, Text):
        client.send_text(payload)
    else:
        client.send_binary(payload)
    server = Connection("server")
    assert server.receive_data(out(client)) == [event]
    assert server.state is State.OPEN
    assert server.data_to_send() == b""


@pytest.mark.parametrize("kind, size", KINDS, ids=KIND_IDS)
def test_websockets_server_messages_arrive_at_wslearn_client(kind, size):
    _, payload, event = payload_for(kind, size)
    server = ws_server()
    if isinstance(event, Text):
        server.send_text(payload)
    else:
        server.send_binary(payload)
    client = Connection("client")
    assert client.receive_data(out(server)) == [event]
    assert client.state is State.OPEN


@pytest.mark.parametrize("kind, size", KINDS, ids=KIND_IDS)
def test_wslearn_client_messages_arrive_at_websockets_server(kind, size):
    opcode, payload, event = payload_for(kind, size)
    client = Connection("client")
    if opcode is Opcode.TEXT:
        client.send_text(event.data)
    else:
        client.send_binary(payload)
    data = client.data_to_send()
    server = ws_server()
    server.receive_data(data)
    frames = server.events_received()
    assert [(f.opcode, f.fin, bytes(f.data)) for f in frames] == [
        (WsOpcode(int(opcode)), True, payload)
    ]
    assert server.state is WsState.OPEN and server.parser_exc is None
    assert out(server) == b""


@pytest.mark.parametrize("kind, size", KINDS, ids=KIND_IDS)
def test_wslearn_server_messages_arrive_at_websockets_client(kind, size):
    opcode, payload, event = payload_for(kind, size)
    server = Connection("server")
    if opcode is Opcode.TEXT:
        server.send_text(event.data)
    else:
        server.send_binary(payload)
    data = server.data_to_send()
    client = ws_client()
    client.receive_data(data)
    frames = client.events_received()
    assert [(f.opcode, f.fin, bytes(f.data)) for f in frames] == [
        (WsOpcode(int(opcode)), True, payload)
    ]
    assert client.state is WsState.OPEN and client.parser_exc is None


# ---------------------------------------------------------------------- fragmentation

# "€" is 3 bytes and "🚀" 4: the cuts below fall inside both characters.
FRAGMENTED_TEXT = "price: 5€, launch 🚀 now"
_ENCODED = FRAGMENTED_TEXT.encode()
_EURO = _ENCODED.index("€".encode())
_ROCKET = _ENCODED.index("🚀".encode())
TEXT_PIECES = [_ENCODED[: _EURO + 1], _ENCODED[_EURO + 1 : _ROCKET + 2], _ENCODED[_ROCKET + 2 :]]


def test_websockets_fragmented_text_with_ping_is_assembled_by_wslearn_and_ponged():
    client = ws_client()
    client.send_text(TEXT_PIECES[0], fin=False)
    client.send_ping(b"between")
    client.send_continuation(TEXT_PIECES[1], fin=False)
    client.send_continuation(TEXT_PIECES[2], fin=True)
    server = Connection("server")
    assert server.receive_data(out(client)) == [Ping(b"between"), Text(FRAGMENTED_TEXT)]
    pong = server.data_to_send()
    client.receive_data(pong)
    frames = client.events_received()
    assert [(f.opcode, bytes(f.data)) for f in frames] == [(WsOpcode.PONG, b"between")]
    assert client.state is WsState.OPEN


def test_websockets_fragmented_binary_fed_frame_by_frame_to_wslearn_client():
    server = ws_server()
    parts = [bytes(range(100)), bytes(70000), b"", b"end"]
    server.send_binary(parts[0], fin=False)
    server.send_continuation(parts[1], fin=False)
    server.send_ping(b"p1")
    server.send_continuation(parts[2], fin=False)
    server.send_ping(b"p2")
    server.send_continuation(parts[3], fin=True)
    client = Connection("client")
    events = []
    for chunk in server.data_to_send():  # one write per frame
        events += client.receive_data(chunk)
    assert events == [Ping(b"p1"), Ping(b"p2"), Binary(b"".join(parts))]
    # Both Pongs are masked, as a client must (websockets refuses unmasked ones).
    server.receive_data(client.data_to_send())
    assert [(f.opcode, bytes(f.data)) for f in server.events_received()] == [
        (WsOpcode.PONG, b"p1"),
        (WsOpcode.PONG, b"p2"),
    ]
    assert server.state is WsState.OPEN


def test_wslearn_fragmented_text_with_ping_is_read_by_websockets_which_pongs():
    server = Connection("server")
    server.send_frame(Frame(Opcode.TEXT, TEXT_PIECES[0], fin=False))
    server.send_ping(b"mid")
    server.send_frame(Frame(Opcode.CONT, TEXT_PIECES[1], fin=False))
    server.send_frame(Frame(Opcode.CONT, TEXT_PIECES[2], fin=True))
    wire = server.data_to_send()
    client = ws_client()
    client.receive_data(wire)
    frames = client.events_received()
    assert [(f.opcode, f.fin) for f in frames] == [
        (WsOpcode.TEXT, False),
        (WsOpcode.PING, True),
        (WsOpcode.CONT, False),
        (WsOpcode.CONT, True),
    ]
    assert ws_messages(frames) == [(WsOpcode.TEXT, FRAGMENTED_TEXT.encode())]
    assert server.receive_data(out(client)) == [Pong(b"mid")]


def test_wslearn_client_fragmented_binary_is_read_by_websockets_server():
    client = Connection("client")
    client.send_frame(Frame(Opcode.BINARY, b"a" * 200, fin=False))
    client.send_ping(b"?")
    client.send_frame(Frame(Opcode.CONT, b"b" * 70000, fin=True))
    wire = client.data_to_send()
    server = ws_server()
    server.receive_data(wire)
    frames = server.events_received()
    assert ws_messages(frames) == [(WsOpcode.BINARY, b"a" * 200 + b"b" * 70000)]
    assert client.receive_data(out(server)) == [Pong(b"?")]


# ---------------------------------------------------------------------- closing handshake


@pytest.mark.parametrize("code, reason", [(1000, "bye"), (4001, "custom"), (1001, "")])
def test_websockets_client_closes_wslearn_server(code, reason):
    client = ws_client()
    client.send_close(code, reason)
    assert client.state is WsState.CLOSING
    server = Connection("server")
    assert server.receive_data(out(client)) == [Close(code, reason)]
    assert server.state is State.CLOSED
    assert (server.close_code, server.close_reason) == (code, reason)
    client.receive_data(server.data_to_send())
    frames = client.events_received()
    assert [f.opcode for f in frames] == [WsOpcode.CLOSE]
    assert client.close_rcvd.code == code  # wslearn echoes the code (§5.5.1)
    # The server closes TCP after the closing handshake; a client waits for that.
    client.receive_eof()
    assert client.state is WsState.CLOSED
    assert client.close_code == code
    assert client.close_sent == WsClose(code, reason)


@pytest.mark.parametrize("code, reason", [(1000, "bye"), (4001, "custom"), (3000, "héllo 👋")])
def test_wslearn_server_closes_websockets_client(code, reason):
    server = Connection("server")
    client = ws_client()
    server.close(code, reason)
    client.receive_data(server.data_to_send())
    assert server.state is State.CLOSING
    frames = client.events_received()
    assert [f.opcode for f in frames] == [WsOpcode.CLOSE]
    assert client.close_rcvd == WsClose(code, reason)
    # websockets echoes the Close frame as it came, reason included.
    assert server.receive_data(out(client)) == [Close(code, reason)]
    assert server.state is State.CLOSED
    client.receive_eof()
    assert client.state is WsState.CLOSED
    assert (client.close_code, client.close_reason) == (code, reason)


@pytest.mark.parametrize("code, reason", [(1000, "bye"), (4001, "custom")])
def test_wslearn_client_closes_websockets_server(code, reason):
    client = Connection("client")
    server = ws_server()
    client.close(code, reason)
    server.receive_data(client.data_to_send())
    assert [f.opcode for f in server.events_received()] == [WsOpcode.CLOSE]
    assert server.close_rcvd == WsClose(code, reason)
    reply, eof = out_with_eof(server)
    assert eof, "a websockets server closes TCP right after echoing the Close frame"
    assert client.receive_data(reply) == [Close(code, reason)]
    assert client.state is State.CLOSED
    server.receive_eof()
    assert server.state is WsState.CLOSED
    assert (server.close_code, server.close_reason) == (code, reason)


@pytest.mark.parametrize("code, reason", [(1000, "bye"), (4001, "custom")])
def test_websockets_server_closes_wslearn_client(code, reason):
    server = ws_server()
    server.send_close(code, reason)
    client = Connection("client")
    assert client.receive_data(out(server)) == [Close(code, reason)]
    assert client.state is State.CLOSED
    server.receive_data(client.data_to_send())
    assert [f.opcode for f in server.events_received()] == [WsOpcode.CLOSE]
    assert server.close_rcvd.code == code
    reply, eof = out_with_eof(server)
    assert eof and reply == b""
    assert server.state is WsState.CLOSING  # until TCP ends
    server.receive_eof()
    assert server.state is WsState.CLOSED and server.close_code == code


def test_websockets_close_without_code_is_reported_as_1005_by_wslearn():
    client = ws_client()
    client.send_close()
    server = Connection("server")
    assert server.receive_data(out(client)) == [Close(1005, "")]
    reply = server.data_to_send()
    client.receive_data(reply)
    client.receive_eof()
    assert client.close_code == 1005  # an empty Close frame answered by an empty one


def test_wslearn_close_without_code_is_reported_as_1005_by_websockets():
    client = Connection("client")
    client.close(code=None)
    server = ws_server()
    server.receive_data(client.data_to_send())
    [frame] = server.events_received()
    assert (frame.opcode, bytes(frame.data)) == (WsOpcode.CLOSE, b"")  # no code on the wire
    assert server.close_rcvd == WsClose(1005, "")
    reply, eof = out_with_eof(server)
    assert eof
    assert client.receive_data(reply) == [Close(1005)]
    assert client.state is State.CLOSED


@pytest.mark.parametrize(
    "code, reason", [(1000, ""), (1000, "bye"), (1011, "oops"), (4999, "é" * 61), (3000, "🚀")]
)
def test_close_payloads_are_identical_in_both_libraries(code, reason):
    payload = Close(code, reason).serialize()
    assert payload == WsClose(code, reason).serialize()
    assert WsClose.parse(payload) == WsClose(code, reason)
    assert Close.parse(WsClose(code, reason).serialize()) == Close(code, reason)
    assert str(Close(code, reason)) == Close.describe(payload)


def test_wslearn_pong_leaves_before_a_message_sent_after_the_ping():
    # One outlet: the automatic Pong is queued when the Ping is read, so it goes out first.
    server = ws_server()
    server.send_ping(b"first")
    client = Connection("client")
    assert client.receive_data(out(server)) == [Ping(b"first")]
    client.send_text("second")
    server.receive_data(client.data_to_send())
    frames = server.events_received()
    assert [(f.opcode, bytes(f.data)) for f in frames] == [
        (WsOpcode.PONG, b"first"),
        (WsOpcode.TEXT, b"second"),
    ]
    assert client.data_to_send() == b""  # the queue was emptied


# ---------------------------------------------------------------------- opening handshake


def test_websockets_client_request_is_valid_for_wslearn_and_its_101_opens_websockets():
    client = ClientProtocol(parse_uri(URI + "?room=1"), origin=ORIGIN, subprotocols=["chat"])
    client.send_request(client.connect())
    request_bytes = out(client)
    request = wslearn.parse_request(request_bytes)
    assert request is not None and request.raw == request_bytes
    assert (request.method, request.target, request.path) == ("GET", "/chat?room=1", "/chat")
    assert request.headers["host"] == "example.com"
    key, subprotocol = wslearn.validate_request(
        request, origins=[ORIGIN], subprotocols=["other", "chat"]
    )
    assert key == client.key
    assert subprotocol == "chat"
    client.receive_data(wslearn.accept_response(key, subprotocol))
    [response] = client.events_received()
    assert isinstance(response, WsResponse) and response.status_code == 101
    assert client.handshake_exc is None
    assert client.state is WsState.OPEN
    assert client.subprotocol == "chat"


def test_websockets_client_refuses_wslearn_101_for_another_key():
    client = ClientProtocol(parse_uri(URI))
    client.send_request(client.connect())
    out(client)
    other_key = "dGhlIHNhbXBsZSBub25jZQ=="
    assert other_key != client.key
    client.receive_data(wslearn.accept_response(other_key))
    assert client.handshake_exc is not None
    assert client.state is not WsState.OPEN


def test_websockets_client_reads_wslearn_rejection():
    client = ClientProtocol(parse_uri(URI))
    request = client.connect()
    del request.headers["Sec-WebSocket-Version"]
    request.headers["Sec-WebSocket-Version"] = "8"
    client.send_request(request)
    with pytest.raises(HandshakeError) as info:
        wslearn.validate_request(wslearn.parse_request(out(client)))
    assert info.value.status == 426
    client.receive_data(wslearn.reject_response(info.value))
    client.receive_eof()
    [response] = client.events_received()
    assert response.status_code == 426
    assert response.headers["Sec-WebSocket-Version"] == "13"
    assert client.handshake_exc is not None and client.state is not WsState.OPEN


def test_wslearn_client_request_is_accepted_by_websockets_server_and_its_101_checks_out():
    request_bytes, key = wslearn.client_request(
        "example.com", "/chat", origin=ORIGIN, subprotocols=["chat", "superchat"]
    )
    server = ServerProtocol(origins=[ORIGIN], subprotocols=["superchat"])
    server.receive_data(request_bytes)
    [request] = server.events_received()
    assert isinstance(request, WsRequest)
    assert request.path == "/chat"
    assert request.headers["Sec-WebSocket-Key"] == key
    response = server.accept(request)
    assert response.status_code == 101, response.body
    server.send_response(response)
    assert server.state is WsState.OPEN
    assert server.handshake_exc is None
    response_bytes = out(server)
    parsed = wslearn.parse_response(response_bytes)
    assert parsed is not None and parsed.raw == response_bytes
    assert parsed.status == 101
    assert wslearn.check_response(parsed, key, subprotocols=["chat", "superchat"]) == "superchat"


def test_wslearn_refuses_websockets_101_made_for_another_key():
    request_bytes, _ = wslearn.client_request("example.com", "/")
    server = ServerProtocol()
    server.receive_data(request_bytes)
    [request] = server.events_received()
    server.send_response(server.accept(request))
    parsed = wslearn.parse_response(out(server))
    with pytest.raises(InvalidResponse) as info:
        wslearn.check_response(parsed, "dGhlIHNhbXBsZSBub25jZQ==")
    assert info.value.status == 101
    assert not isinstance(info.value, HandshakeError)  # the client refuses; no HTTP status to send


def test_websockets_server_rejects_wslearn_request_from_a_foreign_origin():
    request_bytes, key = wslearn.client_request("example.com", "/", origin="http://evil.example")
    server = ServerProtocol(origins=[ORIGIN])
    server.receive_data(request_bytes)
    [request] = server.events_received()
    response = server.accept(request)
    server.send_response(response)
    parsed = wslearn.parse_response(out(server))
    assert parsed.status == 403
    with pytest.raises(InvalidResponse) as info:
        wslearn.check_response(parsed, key)
    assert info.value.status == 403


def test_first_frame_in_the_same_read_as_websockets_101_goes_to_the_connection():
    request_bytes, key = wslearn.client_request("example.com", "/")
    server = ServerProtocol()
    server.receive_data(request_bytes)
    [request] = server.events_received()
    server.send_response(server.accept(request))
    server.send_text("welcome 👋".encode())
    both = out(server)  # the response and the first frame, as one recv() might see them
    response = wslearn.parse_response(both)
    wslearn.check_response(response, key)
    client = Connection("client")
    assert client.receive_data(both[len(response.raw) :]) == [Text("welcome 👋")]


# ---------------------------------------------------------------------- whole conversations


def test_wslearn_client_converses_with_websockets_server():
    # Opening handshake.
    request_bytes, key = wslearn.client_request("example.com", "/echo")
    server = ServerProtocol()
    server.receive_data(request_bytes)
    [request] = server.events_received()
    server.send_response(server.accept(request))
    response = wslearn.parse_response(out(server))
    assert wslearn.check_response(response, key) is None
    client = Connection("client")

    # Text there and back.
    client.send_text("hello 世界")
    server.receive_data(client.data_to_send())
    [frame] = server.events_received()
    assert (frame.opcode, frame.data.decode()) == (WsOpcode.TEXT, "hello 世界")
    server.send_text(frame.data)
    assert client.receive_data(out(server)) == [Text("hello 世界")]

    # A big binary message, delivered to websockets in awkward pieces.
    blob = bytes(range(256)) * 300
    client.send_binary(blob)
    wire = client.data_to_send()
    for start in range(0, len(wire), 4093):
        server.receive_data(wire[start : start + 4093])
    assert ws_messages(server.events_received()) == [(WsOpcode.BINARY, blob)]

    # websockets pings, wslearn pongs by itself.
    server.send_ping(b"heartbeat")
    assert client.receive_data(out(server)) == [Ping(b"heartbeat")]
    server.receive_data(client.data_to_send())
    assert [(f.opcode, bytes(f.data)) for f in server.events_received()] == [
        (WsOpcode.PONG, b"heartbeat")
    ]

    # A fragmented message from wslearn.
    client.send_frame(Frame(Opcode.TEXT, "frag".encode(), fin=False))
    client.send_frame(Frame(Opcode.CONT, "ment ✓".encode(), fin=True))
    server.receive_data(client.data_to_send())
    assert ws_messages(server.events_received()) == [(WsOpcode.TEXT, "fragment ✓".encode())]

    # wslearn closes; websockets echoes and ends TCP; both are closed.
    client.close(1000, "bye")
    server.receive_data(client.data_to_send())
    assert client.state is State.CLOSING
    reply, eof = out_with_eof(server)
    assert eof
    assert client.receive_data(reply) == [Close(1000, "bye")]
    assert client.state is State.CLOSED
    server.receive_eof()
    assert server.state is WsState.CLOSED
    assert (server.close_code, server.close_reason) == (1000, "bye")
    assert isinstance(server.close_exc, ConnectionClosedOK)


def test_websockets_client_converses_with_wslearn_server():
    # Opening handshake.
    client = ClientProtocol(parse_uri("ws://localhost:8765/echo"))
    client.send_request(client.connect())
    request = wslearn.parse_request(out(client))
    key, _ = wslearn.validate_request(request)
    client.receive_data(wslearn.accept_response(key))
    [_response] = client.events_received()
    assert client.state is WsState.OPEN
    server = Connection("server")

    # Echo a few messages through wslearn.
    messages = ["hi", "", "é" * 100, "🚀" * 20000]
    for text in messages:
        client.send_text(text.encode())
    for event in server.receive_data(out(client)):
        assert isinstance(event, Text)
        server.send_text(event.data)
    client.receive_data(server.data_to_send())
    assert ws_messages(client.events_received()) == [
        (WsOpcode.TEXT, text.encode()) for text in messages
    ]

    # wslearn pings, websockets pongs.
    server.send_ping(b"1234")
    client.receive_data(server.data_to_send())
    assert [f.opcode for f in client.events_received()] == [WsOpcode.PING]
    assert server.receive_data(out(client)) == [Pong(b"1234")]

    # websockets closes with 4001; wslearn echoes; wslearn's side ends TCP.
    client.send_close(4001, "custom")
    assert server.receive_data(out(client)) == [Close(4001, "custom")]
    assert server.state is State.CLOSED
    client.receive_data(server.data_to_send())
    assert client.state is WsState.CLOSING
    client.receive_eof()
    assert client.state is WsState.CLOSED
    assert client.close_code == 4001
    assert client.close_sent == WsClose(4001, "custom")


# ---------------------------------------------------------------------- errors


def _failed_close_code(connection: Connection) -> int:
    """The code of the Close frame a failed wslearn connection queued, read by websockets."""
    mask = connection.role == "client"
    [frame] = ws_parse_stream(connection.data_to_send(), mask=mask)
    assert frame.opcode is WsOpcode.CLOSE
    return WsClose.parse(bytes(frame.data)).code


def test_wslearn_server_fails_1002_on_unmasked_websockets_frame():
    data = WsFrame(WsOpcode.TEXT, b"no mask").serialize(mask=False)
    server = Connection("server")
    [event] = server.receive_data(data)
    assert isinstance(event, Failed) and event.code == 1002
    assert server.state is State.CLOSED
    assert _failed_close_code(server) == 1002


def test_wslearn_client_fails_1002_on_masked_websockets_frame():
    data = WsFrame(WsOpcode.BINARY, b"masked").serialize(mask=True)
    client = Connection("client")
    [event] = client.receive_data(data)
    assert isinstance(event, Failed) and event.code == 1002
    assert _failed_close_code(client) == 1002


def test_wslearn_fails_1002_on_websockets_compressed_frame_never_negotiated():
    # permessage-deflate sets RSV1; wslearn negotiated no extension, so RSV1 is illegal.
    deflate = PerMessageDeflate(False, False, 15, 15)
    data = WsFrame(WsOpcode.TEXT, b"squeeze me " * 20).serialize(mask=True, extensions=[deflate])
    assert data[0] & 0x40, "websockets set RSV1 on the compressed frame"
    server = Connection("server")
    [event] = server.receive_data(data)
    assert isinstance(event, Failed) and event.code == 1002
    assert "RSV1" in event.reason
    assert _failed_close_code(server) == 1002
    # The same bytes are fine for a reader told that RSV1 is in use.
    reader = FrameReader(allowed_rsv=0x40)
    reader.feed(data)
    [frame] = list(reader)
    assert frame.rsv1


def test_wslearn_fails_1007_on_websockets_text_frame_that_is_not_utf8():
    client = ws_client()
    client.send_text(b"caf\xc3", fin=False)  # websockets does not check what it sends
    client.send_continuation(b"(", fin=True)  # "\xc3(" can never be UTF-8
    server = Connection("server")
    [event] = server.receive_data(out(client))
    assert isinstance(event, Failed) and event.code == 1007
    assert _failed_close_code(server) == 1007


def test_websockets_server_fails_1002_on_unmasked_wslearn_client_frame():
    data = Frame(Opcode.TEXT, b"hello").serialize()  # a "client" frame without a mask
    server = ws_server()
    server.receive_data(data)
    assert server.events_received() == []
    assert server.close_sent is not None and server.close_sent.code == 1002
    assert server.state is WsState.CLOSING
    # The wslearn client reads websockets' verdict.
    reply, eof = out_with_eof(server)
    assert eof
    client = Connection("client")
    [event] = client.receive_data(reply)
    assert isinstance(event, Close) and event.code == 1002


def test_websockets_client_fails_1002_on_masked_wslearn_server_frame():
    client = ws_client()
    client.receive_data(Frame(Opcode.TEXT, b"hello").serialize(KEY))
    assert client.events_received() == []
    assert client.close_sent is not None and client.close_sent.code == 1002
    server = Connection("server")
    [event] = server.receive_data(out(client))
    assert isinstance(event, Close) and event.code == 1002


def _masked(opcode, payload=b"", fin=True):
    return Frame(opcode, payload, fin=fin).serialize(KEY)


# Frames a client must never send, each built from raw header fields where
# Frame.serialize would refuse to build them.
BROKEN_CLIENT_FRAMES = {
    "ping with 126 bytes": wslearn.encode_frame_header(Opcode.PING, 126, mask=KEY) + bytes(126),
    "fragmented ping": wslearn.encode_frame_header(Opcode.PING, 1, fin=False, mask=KEY) + b"x",
    "reserved opcode 0x3": wslearn.encode_frame_header(0x3, 0, mask=KEY),
    "close code 1005 on the wire": _masked(Opcode.CLOSE, struct.pack("!H", 1005)),
    "one-byte close payload": _masked(Opcode.CLOSE, b"\x03"),
    "continuation without a start": _masked(Opcode.CONT, b"x"),
    "text while a message is open": _masked(Opcode.TEXT, b"a", fin=False) + _masked(Opcode.TEXT),
}


@pytest.mark.parametrize("name", BROKEN_CLIENT_FRAMES)
def test_both_libraries_fail_a_broken_client_frame_with_1002(name):
    raw = BROKEN_CLIENT_FRAMES[name]
    server = Connection("server")
    events = server.receive_data(raw)
    assert isinstance(events[-1], Failed) and events[-1].code == 1002, events
    assert _failed_close_code(server) == 1002
    ws = ws_server()
    ws.receive_data(raw)
    assert ws.close_sent is not None and ws.close_sent.code == 1002


def test_both_libraries_fail_a_message_over_max_size_with_1009():
    data_ws = WsFrame(WsOpcode.BINARY, bytes(1001)).serialize(mask=True)
    server = Connection("server", max_size=1000)
    [event] = server.receive_data(data_ws)
    assert isinstance(event, Failed) and event.code == 1009
    # A fragmented message over the limit in total, each fragment under it.
    ws = ws_server(max_size=1000)
    client = Connection("client")
    client.send_frame(Frame(Opcode.BINARY, bytes(600), fin=False))
    client.send_frame(Frame(Opcode.CONT, bytes(600), fin=True))
    ws.receive_data(client.data_to_send())
    assert ws.close_sent is not None and ws.close_sent.code == 1009
    server = Connection("server", max_size=1000)
    ws_peer = ws_client()
    ws_peer.send_binary(bytes(600), fin=False)
    ws_peer.send_continuation(bytes(600), fin=True)
    [event] = server.receive_data(out(ws_peer))
    assert isinstance(event, Failed) and event.code == 1009


def test_frames_after_close_are_ignored_by_both():
    client = Connection("client")
    client.close(1000, "bye")
    after = client.data_to_send()
    # A careless peer keeps talking after its Close: both libraries drop the rest.
    server_ws = ws_server()
    server_ws.receive_data(after + Frame(Opcode.TEXT, b"late").serialize(KEY))
    assert [f.opcode for f in server_ws.events_received()] == [WsOpcode.CLOSE]
    ws_peer = ws_client()
    ws_peer.send_close(1000, "bye")
    late = WsFrame(WsOpcode.TEXT, b"late").serialize(mask=True)
    server = Connection("server")
    assert server.receive_data(out(ws_peer) + late) == [Close(1000, "bye")]
    assert server.receive_data(late) == []
