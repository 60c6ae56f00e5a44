"""Properties that must hold for *every* input, checked with hypothesis.

Example-based tests show that wslearn handles the cases someone thought of. These
let hypothesis look for the ones nobody did: payload lengths on either side of the
125/126 and 65535/65536 boundaries, masking keys and offsets that start mid-key,
and above all the ways TCP can cut a byte stream into reads.
"""

from __future__ import annotations

import base64
import random
import struct
from typing import NamedTuple

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from websockets.frames import Frame as WsFrame
from websockets.frames import Opcode as WsOpcode

from wslearn import (
    Binary,
    Close,
    CloseCode,
    Connection,
    Failed,
    Frame,
    FrameReader,
    HandshakeError,
    InvalidResponse,
    LocalProtocolError,
    Opcode,
    Ping,
    Pong,
    ProtocolError,
    State,
    Text,
    accept_response,
    close_code_is_valid,
    length_case,
    masking,
    parse_frame_header,
    parse_request,
    parse_response,
    unmask,
    unmask_reference,
    validate_request,
)
from wslearn.http11 import MAX_HEADERS, MAX_LINE

CHEAP = settings(deadline=None, max_examples=200)
BIG = settings(
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DATA_OPCODES = [Opcode.CONT, Opcode.TEXT, Opcode.BINARY]
CONTROL_OPCODES = [Opcode.CLOSE, Opcode.PING, Opcode.PONG]


# ---------------------------------------------------------------------- strategies


def _random_bytes(length: int, seed: int) -> bytes:
    # Long payloads come from a seeded generator: hypothesis still picks (and
    # shrinks) the length and the seed, without drawing 70 000 bytes one by one.
    return random.Random(seed).randbytes(length)


seeds = st.integers(0, 2**32 - 1)

#: Lengths within a few bytes of where the length encoding changes (§5.2).
boundary_lengths = st.builds(
    lambda base, delta: base + delta,
    st.sampled_from([125, 126, 65535, 65536]),
    st.integers(-3, 3),
)
big_payloads = st.builds(
    _random_bytes,
    st.one_of(boundary_lengths, st.integers(0, 70000)),
    seeds,
)
small_payloads = st.binary(max_size=300) | st.builds(_random_bytes, st.integers(120, 131), seeds)
control_payloads = st.binary(max_size=125) | st.builds(_random_bytes, st.integers(120, 125), seeds)
masks = st.none() | st.binary(min_size=4, max_size=4)
keys = st.binary(min_size=4, max_size=4)


def data_frames(payloads):
    return st.builds(Frame, st.sampled_from(DATA_OPCODES), payloads, fin=st.booleans())


control_frames = st.builds(Frame, st.sampled_from(CONTROL_OPCODES), control_payloads)


def expected_header_size(length: int, masked: bool) -> int:
    """Header size from the §5.2 diagram: 2 bytes, +2 or +8 for the length, +4 for a key."""
    if length <= 125:
        size = 2
    elif length < 2**16:
        size = 4
    else:
        size = 10
    return size + (4 if masked else 0)


# ---------------------------------------------------------------------- frames


def check_round_trip(frame: Frame, key, *, allowed_rsv: int = 0) -> None:
    data = frame.serialize(key)
    n = len(frame.payload)
    parsed = Frame.parse(data, allowed_rsv=allowed_rsv)
    assert parsed is not None
    got, used = parsed
    assert used == len(data)
    assert got == frame
    header = got.header
    assert (header.opcode, header.fin, header.length) == (frame.opcode, frame.fin, n)
    assert header.masked == (key is not None) and header.mask == key
    assert header.length_case == length_case(n)
    assert header.header_size == expected_header_size(n, key is not None)
    assert header.raw == data[: header.header_size]
    assert len(data) == header.header_size + n
    # What travels after the header is the payload, XOR-ed with the key if there is one.
    on_wire = data[header.header_size :]
    if key is None:
        assert on_wire == frame.payload
    else:
        assert unmask(on_wire, key) == frame.payload
    # One byte short is "not yet", at every point of the header and at the end.
    for cut in range(header.header_size):
        assert Frame.parse(data[:cut], allowed_rsv=allowed_rsv) is None
    assert Frame.parse(data[:-1], allowed_rsv=allowed_rsv) is None
    # Bytes after the frame belong to the next frame and are not used.
    assert Frame.parse(data + b"\x81\x00", allowed_rsv=allowed_rsv)[1] == len(data)


@CHEAP
@given(frame=data_frames(small_payloads) | control_frames, key=masks)
def test_serialize_then_parse_gives_back_any_small_frame(frame, key):
    check_round_trip(frame, key)


@BIG
@given(frame=data_frames(big_payloads), key=masks)
def test_serialize_then_parse_gives_back_frames_near_length_boundaries(frame, key):
    check_round_trip(frame, key)


@CHEAP
@given(frame=data_frames(small_payloads) | data_frames(big_payloads) | control_frames)
def test_unmasked_frames_are_byte_identical_to_websockets(frame):
    ws = WsFrame(WsOpcode(int(frame.opcode)), frame.payload, frame.fin).serialize(mask=False)
    assert frame.serialize() == ws


@CHEAP
@given(
    frame=st.builds(
        Frame,
        st.sampled_from(DATA_OPCODES),
        small_payloads,
        fin=st.booleans(),
        rsv1=st.booleans(),
        rsv2=st.booleans(),
        rsv3=st.booleans(),
    ),
    key=masks,
)
def test_rsv_bits_round_trip_when_allowed_and_fail_1002_when_not(frame, key):
    check_round_trip(frame, key, allowed_rsv=0x70)
    data = frame.serialize(key)
    if frame.rsv1 or frame.rsv2 or frame.rsv3:
        with pytest.raises(ProtocolError) as info:
            Frame.parse(data)
        assert info.value.code == 1002
    else:
        assert Frame.parse(data)[0] == frame


@CHEAP
@given(opcode=st.sampled_from(CONTROL_OPCODES), length=st.integers(126, 300), key=masks)
def test_control_frames_over_125_bytes_are_refused_from_the_first_two_bytes(opcode, length, key):
    # Sending one is our mistake (LocalProtocolError); receiving one is the peer's (1002).
    with pytest.raises(LocalProtocolError) as local:
        Frame(opcode, bytes(length)).serialize(key)
    assert not isinstance(local.value, ProtocolError)
    # Build the header by hand, as a broken peer would, and parse only its first 2 bytes.
    second = (0x80 if key else 0) | (126 if length <= 0xFFFF else 127)
    with pytest.raises(ProtocolError) as info:
        parse_frame_header(bytes([0x80 | opcode, second]))
    assert info.value.code == 1002


# ---------------------------------------------------------------------- masking

masking_data = st.one_of(
    st.binary(max_size=64),
    st.builds(
        _random_bytes,
        st.one_of(
            st.integers(0, 20000),
            st.builds(lambda d: 2048 + d, st.integers(-9, 9)),  # around the numpy threshold
        ),
        seeds,
    ),
)


@CHEAP
@given(data=masking_data, key=keys)
def test_unmask_twice_gives_back_the_input(data, key):
    assert unmask(unmask(data, key), key) == data


@CHEAP
@given(data=masking_data, key=keys, offset=st.integers(0, 2**20))
def test_unmask_equals_the_per_byte_reference(data, key, offset):
    fast = unmask(data, key, offset)
    assert isinstance(fast, bytes)
    assert fast == unmask_reference(data, key, offset)


@CHEAP
@given(data=masking_data, key=keys, split=st.data())
def test_unmask_resumes_mid_payload_at_any_split(data, key, split):
    i = split.draw(st.integers(0, len(data)), label="split")
    assert unmask(data[:i], key) + unmask(data[i:], key, offset=i) == unmask(data, key)


@CHEAP
@given(
    data=masking_data,
    key=keys,
    wrap=st.sampled_from(["bytearray", "memoryview", "unaligned memoryview"]),
)
def test_unmask_accepts_any_bytes_like_buffer(data, key, wrap):
    if wrap == "bytearray":
        buffer = bytearray(data)
    elif wrap == "memoryview":
        buffer = memoryview(data)
    else:
        # A slice starting at an odd address, like a payload inside a receive buffer.
        buffer = memoryview(b"\x00\x00\x00" + data)[3:]
    assert unmask(buffer, key) == unmask_reference(data, key)


# ---------------------------------------------------------------------- any chunking

#: Text that is often multi-byte in UTF-8: 2-byte é, 3-byte €/中, 4-byte 🚀.
texts = st.lists(st.sampled_from("aé€中🚀") | st.characters(codec="utf-8"), max_size=40).map(
    "".join
)


@st.composite
def client_messages(draw):
    """One message as a client sends it: frames, and the events a server must report."""
    if draw(st.booleans()):
        text = draw(texts)
        opcode, payload, event = Opcode.TEXT, text.encode(), Text(text)
    else:
        payload = draw(st.binary(max_size=200))
        opcode, event = Opcode.BINARY, Binary(payload)
    # Cut anywhere, including inside a multi-byte character, and into empty pieces.
    cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=4)))
    bounds = [0, *cuts, len(payload)]
    pieces = [payload[a:b] for a, b in zip(bounds, bounds[1:])]
    frames, events = [], []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        frames.append(Frame(opcode if i == 0 else Opcode.CONT, piece, fin=last))
        if not last and draw(st.booleans()):
            # A control frame in the middle of the message (§5.4).
            if draw(st.booleans()):
                ping = draw(st.binary(max_size=125))
                frames.append(Frame(Opcode.PING, ping))
                events.append(Ping(ping))
            else:
                pong = draw(st.binary(max_size=20))
                frames.append(Frame(Opcode.PONG, pong))
                events.append(Pong(pong))
    events.append(event)
    return frames, events


class Stream(NamedTuple):
    """Frames a client sends, the events a server must report, and the bytes on the wire."""

    frames: list
    events: list
    wire: bytes
    keys: list

    def __repr__(self) -> str:
        if len(self.wire) < 4096:
            return f"Stream(frames={self.frames!r}, keys={self.keys!r})"
        # A failing example with a 70 000-byte payload would print megabytes.
        shapes = [(f.opcode.name, f.fin, len(f.payload)) for f in self.frames]
        return f"Stream(<{len(self.wire)} bytes> frames (opcode, fin, length)={shapes!r})"


@st.composite
def client_streams(draw, big: bool = False):
    """Several masked client messages, some fragmented, as one byte stream."""
    messages = draw(st.lists(client_messages(), max_size=5))
    if big:
        # One long message in two fragments, the first past the 64-bit-length boundary.
        blob = draw(big_payloads)
        first = draw(st.integers(65536, 70000))
        blob = blob + bytes(max(0, first - len(blob)))
        big_message = (
            [Frame(Opcode.BINARY, blob[:first], fin=False), Frame(Opcode.CONT, blob[first:])],
            [Binary(blob)],
        )
        messages.insert(draw(st.integers(0, len(messages))), big_message)
    frames, events = [], []
    for message_frames, message_events in messages:
        frames += message_frames
        events += message_events
    if draw(st.booleans()):
        code = draw(st.sampled_from([1000, 1001, 1011, 3000, 4001, 4999]))
        reason = draw(st.text(max_size=25))
        frames.append(Frame(Opcode.CLOSE, struct.pack("!H", code) + reason.encode()))
        events.append(Close(code, reason))
        # A careless client keeps talking after its Close; the server must ignore it.
        frames.append(Frame(Opcode.TEXT, b"too late"))
    frame_keys = draw(st.lists(keys, min_size=len(frames), max_size=len(frames)))
    wire = b"".join(frame.serialize(key) for frame, key in zip(frames, frame_keys))
    return Stream(frames, events, wire, frame_keys)


def chunked(wire: bytes, cuts) -> list:
    bounds = [0, *sorted(cuts), len(wire)]
    return [wire[a:b] for a, b in zip(bounds, bounds[1:])]


def _crlf_positions(wire: bytes) -> list:
    return [i for i in range(len(wire) - 1) if wire[i : i + 2] == b"\r\n"]


def chunks_of(data, wire: bytes, *, line_ends: bool = False, always=()) -> list:
    """Chunk boundaries chosen by hypothesis: anywhere, and sometimes a run of 1-byte chunks.

    With ``line_ends`` (for HTTP heads) also right before, inside and after some CRLFs,
    among them the last ones, where "incomplete" turns into "complete". ``always``
    are cuts made in every example.
    """
    cuts = data.draw(st.lists(st.integers(0, len(wire)), max_size=40), label="cuts")
    cuts += [cut for cut in always if 0 <= cut <= len(wire)]
    if data.draw(st.booleans(), label="some 1-byte chunks"):
        start = data.draw(st.integers(0, len(wire)), label="1-byte run")
        cuts += range(start, min(len(wire), start + 20))
    if line_ends:
        ends = _crlf_positions(wire)
        picked = data.draw(st.lists(st.sampled_from(ends), max_size=6), label="CRLF cuts")
        if data.draw(st.booleans(), label="cuts at the last CRLFs"):
            picked += ends[-3:]
        cuts += [at + d for at in picked for d in (0, 1, 2)]
    return chunked(wire, cuts)


def feed_connection(chunks) -> tuple:
    server = Connection("server")
    events, sent = [], b""
    for chunk in chunks:
        events += server.receive_data(chunk)
        sent += server.data_to_send()
    return events, sent, server


def check_server_replies(sent: bytes, events: list) -> None:
    """The server sent one Pong per Ping with the same bytes, then echoed the Close code."""
    reader = FrameReader(expect_masked=False)
    reader.feed(sent)
    replies = list(reader)
    assert reader.buffered == 0
    pongs = [Frame(Opcode.PONG, e.data) for e in events if isinstance(e, Ping)]
    closes = [e for e in events if isinstance(e, Close)]
    assert replies[: len(pongs)] == pongs
    if closes:
        # §5.5.1: the reply "typically echos the status code"; echoing the reason is optional.
        [reply] = replies[len(pongs) :]
        assert reply.opcode is Opcode.CLOSE
        code = struct.pack("!H", closes[0].code)
        assert reply.payload in (code, code + closes[0].reason.encode())
    else:
        assert len(replies) == len(pongs)


def check_connection_chunking(stream, data) -> None:
    frames, expected_events, wire, _ = stream
    whole_events, whole_sent, whole = feed_connection([wire])
    assert whole_events == expected_events
    check_server_replies(whole_sent, whole_events)
    events, sent, server = feed_connection(chunks_of(data, wire))
    assert events == whole_events
    assert sent == whole_sent
    assert server.state is whole.state
    assert server.state is (
        State.CLOSED if any(isinstance(e, Close) for e in events) else State.OPEN
    )


def check_reader_chunking(stream, data) -> None:
    frames, _, wire, frame_keys = stream
    reader = FrameReader(expect_masked=True)
    got = []
    for chunk in chunks_of(data, wire):
        reader.feed(chunk)
        got += list(reader)
    assert got == frames
    assert [frame.header.mask for frame in got] == frame_keys
    assert reader.buffered == 0


@CHEAP
@given(stream=client_streams(), data=st.data())
def test_server_connection_events_do_not_depend_on_chunking(stream, data):
    check_connection_chunking(stream, data)


@CHEAP
@given(stream=client_streams())
def test_server_connection_fed_one_byte_at_a_time_reports_the_same_events(stream):
    frames, expected_events, wire, _ = stream
    events, sent, _ = feed_connection([wire[i : i + 1] for i in range(len(wire))])
    assert events == expected_events
    assert sent == feed_connection([wire])[1]


@CHEAP
@given(stream=client_streams(), data=st.data())
def test_frame_reader_frames_do_not_depend_on_chunking(stream, data):
    check_reader_chunking(stream, data)


@BIG
@given(stream=client_streams(big=True), data=st.data())
def test_chunking_of_a_stream_with_a_64_bit_length_frame(stream, data):
    check_connection_chunking(stream, data)
    check_reader_chunking(stream, data)


# ---------------------------------------------------------------------- handshake

_PATH_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=:@/?"
_TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~"
# Visible ASCII, inner spaces and tabs, and Latin-1 letters ("obs-text", RFC 7230 §3.2.6).
_VALUE_CHARS = (
    st.characters(min_codepoint=0x20, max_codepoint=0x7E)
    | st.characters(min_codepoint=0xA0, max_codepoint=0xFF)
    | st.just("\t")
)

header_values = st.text(_VALUE_CHARS, max_size=30).map(lambda v: v.strip(" \t"))
recase = st.sampled_from([str, str.lower, str.upper, str.swapcase])


@st.composite
def request_heads(draw):
    """``(head_bytes, target, header_items, key)`` for a valid handshake request."""
    target = "/" + draw(st.text(_PATH_CHARS, max_size=30))
    key = base64.b64encode(draw(st.binary(min_size=16, max_size=16))).decode()
    host = draw(st.from_regex(r"[a-z][a-z0-9-]{0,15}(\.[a-z]{2,6})?(:[0-9]{1,5})?", fullmatch=True))
    items = [
        (draw(recase)("Host"), host),
        (draw(recase)("Upgrade"), draw(st.sampled_from(["websocket", "WebSocket"]))),
        (draw(recase)("Connection"), draw(st.sampled_from(["Upgrade", "keep-alive, Upgrade"]))),
        (draw(recase)("Sec-WebSocket-Key"), key),
        (draw(recase)("Sec-WebSocket-Version"), "13"),
    ]
    extra_names = st.text(_TOKEN_CHARS, min_size=1, max_size=12).map(lambda n: "X-" + n)
    items += draw(st.lists(st.tuples(extra_names, header_values), max_size=5))
    items = draw(st.permutations(items))
    lines = [f"GET {target} HTTP/1.1"]
    for name, value in items:
        before = draw(st.sampled_from(["", " ", "  ", "\t", " \t"]))
        after = draw(st.sampled_from(["", " ", "\t"]))
        lines.append(f"{name}:{before}{value}{after}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head, target, items, key


@CHEAP
@given(request=request_heads(), data=st.data())
def test_request_head_in_any_chunks_is_none_until_the_last_byte(request, data):
    head, target, items, key = request
    after = data.draw(st.sampled_from([b"", b"\x81\x85"]), label="first frame bytes")
    wire = head + after
    buffer = b""
    result = None
    for chunk in chunks_of(data, wire, line_ends=True):
        buffer += chunk
        result = parse_request(buffer)
        if len(buffer) < len(head):
            assert result is None, f"a request out of {len(buffer)} of {len(head)} bytes"
        else:
            assert result is not None
    assert result is not None
    assert result.raw == head
    assert (result.method, result.target, result.version) == ("GET", target, "HTTP/1.1")
    assert result.headers.items() == items
    assert validate_request(result) == (key, None)


@CHEAP
@given(request=request_heads())
def test_every_proper_prefix_of_a_request_head_is_incomplete(request):
    head = request[0]
    for end in range(len(head)):
        assert parse_request(head[:end]) is None
    assert parse_request(head) is not None


@CHEAP
@given(key=st.binary(min_size=16, max_size=16), data=st.data())
def test_response_head_in_any_chunks_is_none_until_the_last_byte(key, data):
    text_key = base64.b64encode(key).decode()
    head = accept_response(text_key)
    buffer = b""
    for chunk in chunks_of(data, head, line_ends=True):
        buffer += chunk
        response = parse_response(buffer)
        assert (response is None) == (len(buffer) < len(head))
    assert response.status == 101 and response.raw == head


def _outcome(parse, buffer: bytes):
    """What a parser makes of ``buffer``: None, the parsed head, or the refusal's status.

    The server refuses a request with :class:`HandshakeError` (and an HTTP status); the
    client refuses a response with :class:`InvalidResponse` (``status`` None: unreadable).
    Any other exception escapes and fails the test.
    """
    refusal = InvalidResponse if parse is parse_response else HandshakeError
    try:
        return parse(buffer)
    except refusal as error:
        return ("refused", error.status)


def _heads_from_any_bytes():
    # Mostly bytes that look like the start of an HTTP head, so the parser gets past line one.
    pieces = st.sampled_from(
        [b"\r\n", b"\r\n\r\n", b"GET / HTTP/1.1", b"HTTP/1.1 101 OK", b"Host: x", b" ", b":"]
    )
    return st.lists(pieces | st.binary(max_size=8), max_size=8).map(b"".join)


@CHEAP
@example(data=b"\r\n\r\n")
@example(data=b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n")
@given(data=_heads_from_any_bytes() | st.binary(max_size=100))
def test_head_parsers_refuse_any_bytes_with_their_own_error_only(data):
    # The two examples: an empty first line used to escape as an AssertionError.
    _outcome(parse_request, data)  # anything but HandshakeError escapes and fails the test
    result = _outcome(parse_response, data)  # anything but InvalidResponse escapes
    if isinstance(result, tuple):
        assert result == ("refused", None)  # an unreadable response has no status


@CHEAP
@example(target=b"/caf\xc3\xa9", cuts=[9])
@given(
    target=st.binary(max_size=12).map(lambda t: b"/" + t.replace(b" ", b"").replace(b"\r", b"")),
    cuts=st.lists(st.integers(1, 60), max_size=6),
)
def test_request_line_outcome_does_not_depend_on_chunking(target, cuts):
    # The example: a raw "é" in the target used to be accepted in one read, refused in two.
    head = b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    whole = _outcome(parse_request, head)
    buffer = b""
    for chunk in chunked(head, [c for c in cuts if c < len(head)]):
        buffer += chunk
        result = _outcome(parse_request, buffer)
        if isinstance(result, tuple):
            # Refusing early is fine, as long as the whole head is refused the same way.
            assert result == whole
            return
        if len(buffer) < len(head):
            assert result is None
    assert result == whole


@settings(deadline=None, max_examples=60)
@given(
    extra_headers=st.sampled_from([MAX_HEADERS - 1, MAX_HEADERS, MAX_HEADERS + 1]),
    long_line=st.sampled_from([MAX_LINE - 1, MAX_LINE, MAX_LINE + 1]),
    data=st.data(),
)
def test_limits_on_header_count_and_line_length_do_not_depend_on_chunking(
    extra_headers, long_line, data
):
    base = [
        "GET / HTTP/1.1",
        "Host: x",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    ]
    # One long header line, then filler headers up to (or past) the header-count limit.
    lines = base + ["X-Long: " + "v" * (long_line - len("X-Long: "))]
    lines += [f"X-{i}: {i}" for i in range(extra_headers - len(lines) + 1)]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    count = len(lines) - 1
    whole = _outcome(parse_request, head)
    if count > MAX_HEADERS or long_line > MAX_LINE:
        assert whole == ("refused", 431)
    else:
        assert len(whole.headers) == count
    # The limits are checked on every prefix: cut around each line end, where counts change.
    around_line_ends = [at + d for at in _crlf_positions(head) for d in (0, 1, 2)]
    buffer = b""
    for chunk in chunks_of(data, head, always=around_line_ends):
        buffer += chunk
        result = _outcome(parse_request, buffer)
        if isinstance(result, tuple):
            assert result == whole  # refused early, for the reason the whole head is refused
            return
        assert (result is None) == (len(buffer) < len(head))
    assert result.raw == whole.raw


# ---------------------------------------------------------------------- the header as sent

any_frames = (
    st.builds(
        Frame,
        st.sampled_from(DATA_OPCODES),
        small_payloads | big_payloads,
        fin=st.booleans(),
        rsv1=st.booleans(),
        rsv2=st.booleans(),
        rsv3=st.booleans(),
    )
    | control_frames
)


@CHEAP
@example(frame=Frame(Opcode.TEXT, bytes(125)), key=None)
@example(frame=Frame(Opcode.TEXT, bytes(126)), key=b"\x00\x00\x00\x00")
@example(frame=Frame(Opcode.BINARY, bytes(65535)), key=None)
@example(frame=Frame(Opcode.BINARY, bytes(65536)), key=b"\xff\xff\xff\xff")
@given(frame=any_frames, key=masks)
def test_wire_header_equals_parsing_the_serialized_frame_field_by_field(frame, key):
    header = frame.wire_header(key)
    data = frame.serialize(key)
    parsed = parse_frame_header(data, allowed_rsv=0x70)
    for field in parsed._fields:  # raw included
        assert getattr(header, field) == getattr(parsed, field), field
    assert header.raw == data[: header.header_size]
    wire_header, payload = frame.to_wire(key)
    assert wire_header == header and header.raw + payload == data
    assert payload == (frame.payload if key is None else unmask(frame.payload, key))


# ---------------------------------------------------------------------- Close payloads

valid_close_codes = st.sampled_from(
    [code for code in CloseCode if close_code_is_valid(code)]
) | st.integers(3000, 4999)
close_reasons = st.text(max_size=123).filter(lambda r: len(r.encode("utf-8")) <= 123)


@CHEAP
@given(code=valid_close_codes, reason=close_reasons)
def test_close_serialize_then_parse_gives_it_back(code, reason):
    close = Close(code, reason)
    payload = close.serialize()
    assert len(payload) <= 125 and payload[:2] == struct.pack("!H", code)
    assert Close.parse(payload) == close
    assert Close.describe(payload) == str(close)
    # It fits a Close frame, and a peer's connection reports exactly it.
    server = Connection("server")
    frame = Frame(Opcode.CLOSE, payload).serialize(b"\x01\x02\x03\x04")
    assert server.receive_data(frame) == [close]


@CHEAP
@given(code=st.integers(0, 65535), reason=st.text(max_size=130))
def test_close_serialize_refuses_only_what_may_not_be_sent(code, reason):
    close = Close(code, reason)
    sendable = len(reason.encode("utf-8")) <= 123 and (
        close_code_is_valid(code) or (code == 1005 and not reason)
    )
    if sendable:
        assert Close.parse(close.serialize()) == close
    else:
        with pytest.raises(LocalProtocolError):
            close.serialize()


@CHEAP
@example(payload=b"")
@example(payload=b"\x03")
@example(payload=b"\x03\xed")
@example(payload=b"\x03\xe8\xff")
@example(payload=b"\x00\x00\xed\xa0\x80")
@given(payload=st.binary(max_size=125))
def test_close_parse_either_reads_or_raises_1002_or_1007_and_describe_never_raises(payload):
    text = Close.describe(payload)
    assert isinstance(text, str) and text
    try:
        close = Close.parse(payload)
    except ProtocolError as error:
        assert error.code in (1002, 1007)
        assert text.endswith(")")  # what breaks a rule is named, in parentheses
        if len(payload) == 1:
            assert error.code == 1002
        elif not close_code_is_valid(struct.unpack("!H", payload[:2])[0]):
            assert error.code == 1002
        else:
            assert error.code == 1007
        return
    assert text == str(close)
    assert close.serialize() == payload


# ---------------------------------------------------------------------- size limit


@st.composite
def limited_streams(draw):
    """Client messages without a Close, and a ``max_size`` that some of them may pass."""
    messages = draw(st.lists(client_messages(), min_size=1, max_size=5))
    frames = [frame for message_frames, _ in messages for frame in message_frames]
    events = [event for _, message_events in messages for event in message_events]
    max_size = draw(st.integers(0, 220))
    return frames, events, max_size


def expected_with_limit(frames, events, max_size):
    """The events a server reports: control frames and messages in order, until a message
    grows past ``max_size`` (counted over its fragments), which fails with 1009."""
    expected, pending = [], iter(events)
    size = 0
    for frame in frames:
        if frame.opcode.is_control:
            expected.append(next(pending))
            continue
        size += len(frame.payload)
        if size > max_size:
            return expected, True
        if frame.fin:
            expected.append(next(pending))
            size = 0
    return expected, False


@CHEAP
@given(stream=limited_streams(), data=st.data())
def test_size_limit_over_fragments_in_any_chunking(stream, data):
    frames, events, max_size = stream
    wire = b"".join(frame.serialize(b"\x0f\xf0\x55\xaa") for frame in frames)
    expected, fails = expected_with_limit(frames, events, max_size)
    for chunks in ([wire], chunks_of(data, wire)):
        server = Connection("server", max_size=max_size)
        got = []
        for chunk in chunks:
            got += server.receive_data(chunk)
        if fails:
            assert got[:-1] == expected
            assert isinstance(got[-1], Failed) and got[-1].code == 1009
            assert f"limit of {max_size}" in got[-1].reason
            assert server.state is State.CLOSED
        else:
            assert got == expected and server.state is State.OPEN
    # Lifting a limit after construction lets the whole stream through.
    relaxed = Connection("server", max_size=1)
    relaxed.max_size = None
    assert relaxed.receive_data(wire) == events


# ---------------------------------------------------------------------- kept wire bytes


@CHEAP
@given(stream=client_streams(), keep=st.integers(0, 140), numpy=st.booleans(), data=st.data())
def test_reader_keeps_the_wire_bytes_of_each_frame_whatever_the_chunking(stream, keep, numpy, data):
    frames, _, wire, _ = stream
    reader = FrameReader(expect_masked=True, keep_wire=keep)
    got = []
    saved = masking._speedups
    if not numpy:
        masking._speedups = None
    try:
        for chunk in chunks_of(data, wire):
            reader.feed(chunk)
            got += list(reader)
    finally:
        masking._speedups = saved
    assert got == frames
    at = 0
    for frame in got:
        header = frame.header
        assert wire[at : at + header.header_size] == header.raw
        start = at + header.header_size
        assert frame.wire_preview == wire[start : start + min(keep, header.length)]
        assert type(frame.payload) is bytes
        at = start + header.length
    assert at == len(wire)
