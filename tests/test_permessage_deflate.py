"""permessage-deflate's codec (RFC 7692 §7.2) alone and inside a Connection.

RFC 7692 §7.2.3's examples, round trips over the parameters (context takeover on and off, window
bits 8, 9, 15 and unset), RSV1's rules (1002), the size limit on the inflated message (1009, a
"zip bomb" that must not cost its inflated size in memory) and UTF-8 on the inflated text (1007).
"""

from __future__ import annotations

import os
import random
import tracemalloc
import zlib

import pytest

from wslearn import (
    Binary,
    Close,
    Connection,
    DeflateParameters,
    Failed,
    Frame,
    FrameReader,
    LocalProtocolError,
    Opcode,
    PerMessageDeflate,
    Ping,
    ProtocolError,
    Text,
)
from wslearn import permessage_deflate as pmd

P = DeflateParameters
MASK = b"\x37\xfa\x21\x3d"


def from_client(opcode, payload, *, fin=True, rsv1=False) -> bytes:
    """A frame as a client sends it (masked)."""
    return Frame(opcode, payload, fin=fin, rsv1=rsv1).serialize(mask=MASK)


def compressed(data: bytes, bits: int = 15) -> bytes:
    """``data`` compressed as a fresh sender would: raw DEFLATE, sync flush, tail removed."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -bits)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def pair(agreed: DeflateParameters = DeflateParameters()):  # noqa: B008 (frozen)
    """A server and a client Connection that negotiated ``agreed``."""
    server = Connection("server", deflate=PerMessageDeflate("server", agreed))
    client = Connection("client", deflate=PerMessageDeflate("client", agreed))
    return server, client


def only(events):
    [event] = events
    return event


# ---------------------------------------------------------------------- RFC 7692 §7.2.3


def test_rfc_hello_compressed():  # §7.2.3.1
    assert PerMessageDeflate("server").compress(b"Hello") == bytes.fromhex("f2 48 cd c9 c9 07 00")
    client = PerMessageDeflate("client")
    payload = bytes.fromhex("f2 48 cd c9 c9 07 00")
    assert client.decompress(payload, first=True, last=True, max_length=None) == b"Hello"


def test_rfc_hello_in_two_fragments():  # §7.2.3.1, the same bytes in two frames
    client = Connection("client", deflate=PerMessageDeflate("client"))
    wire = bytes.fromhex("41 03 f2 48 cd") + bytes.fromhex("80 04 c9 c9 07 00")
    assert client.receive_data(wire) == [Text("Hello")]


def test_rfc_sharing_the_window():  # §7.2.3.2: the second "Hello" refers to the first
    server = PerMessageDeflate("server")
    assert server.compress(b"Hello").hex(" ") == "f2 48 cd c9 c9 07 00"
    assert server.compress(b"Hello").hex(" ") == "f2 00 11 00 00"
    client = Connection("client", deflate=PerMessageDeflate("client"))
    wire = bytes.fromhex("c1 07 f2 48 cd c9 c9 07 00 c1 05 f2 00 11 00 00")
    assert client.receive_data(wire) == [Text("Hello"), Text("Hello")]


def test_rfc_no_compression_block():  # §7.2.3.3: DEFLATE's "stored" block
    client = Connection("client", deflate=PerMessageDeflate("client"))
    wire = bytes.fromhex("c1 0b 00 05 00 fa ff 48 65 6c 6c 6f 00")
    assert client.receive_data(wire) == [Text("Hello")]


def test_rfc_bfinal_block_then_another_message():  # §7.2.3.4: the stream ends; a new one follows
    client = Connection("client", deflate=PerMessageDeflate("client"))
    ended = bytes.fromhex("c1 08 f3 48 cd c9 c9 07 00 00")  # BFINAL=1, then the added tail
    wire = ended + bytes.fromhex("c1 07 f2 48 cd c9 c9 07 00")
    assert client.receive_data(wire) == [Text("Hello"), Text("Hello")]


def test_rfc_empty_message():  # §7.2.3.6: an empty message compresses to a single 0x00 or 02 00
    server, client = pair()
    server.send_text("")
    wire = server.data_to_send()
    assert wire[0] == 0xC1
    assert client.receive_data(wire) == [Text("")]
    assert client.receive_data(bytes.fromhex("c1 01 00")) == [Text("")]


# ---------------------------------------------------------------------- round trips

BITS = [None, 9, 10, 15]
MESSAGES = [b"", b"a", b"Hello", "h\u00e9llo w\u00f6rld \U0001f680".encode() * 50, os.urandom(3000)]


@pytest.mark.parametrize("server_bits", BITS)
@pytest.mark.parametrize("client_bits", BITS)
@pytest.mark.parametrize("server_ncct", [False, True])
@pytest.mark.parametrize("client_ncct", [False, True])
def test_round_trip_both_ways(server_bits, client_bits, server_ncct, client_ncct):
    agreed = P(server_ncct, client_ncct, server_bits, client_bits)
    server, client = pair(agreed)
    for message in MESSAGES + MESSAGES:  # twice: the second time, a kept window helps
        client.send_binary(message)
        server.send_binary(message)
        assert server.receive_data(client.data_to_send()) == [Binary(message)]
        assert client.receive_data(server.data_to_send()) == [Binary(message)]


@pytest.mark.parametrize("role", ["server", "client"])
@pytest.mark.parametrize("no_context_takeover", [False, True])
def test_context_takeover(role, no_context_takeover):
    flag = "server_no_context_takeover" if role == "server" else "client_no_context_takeover"
    codec = PerMessageDeflate(role, P(**{flag: no_context_takeover}))
    message = b'{"type": "chat", "user": "ada", "text": "hello everyone, how are you?"}'
    first, second = codec.compress(message), codec.compress(message)
    if no_context_takeover:
        assert second == first  # each message on its own
    else:
        assert len(second) < len(first) / 4  # the second refers to the first


def test_window_bits_are_honoured_when_compressing():
    # 600 random bytes twice: the copy is 600 bytes back, within a 1024-byte window but not a
    # 512-byte one (zlib reaches back 262 bytes less than its window).
    block = random.Random(7).randbytes(600)
    sizes = {}
    for bits in (9, 10, 15):
        codec = PerMessageDeflate("server", P(server_max_window_bits=bits))
        sizes[bits] = len(codec.compress(block + block))
    assert sizes[9] > 1150
    assert sizes[10] < 700 and sizes[15] < 700


@pytest.mark.parametrize("bits", [8, 9, 15])
def test_window_bits_are_honoured_when_inflating(bits):
    # The inflater keeps only the agreed window between messages: a peer that refers to an
    # earlier message further back than that breaks the agreement, 1002.
    agreed = P(server_max_window_bits=bits)
    client = Connection("client", deflate=PerMessageDeflate("client", agreed))
    sender = zlib.compressobj(9, zlib.DEFLATED, -15)  # a sender that ignores the agreement

    def message(data: bytes) -> bytes:
        payload = sender.compress(data) + sender.flush(zlib.Z_SYNC_FLUSH)
        return Frame(Opcode.BINARY, payload[:-4], rsv1=True).serialize()

    near = b"abc" * 300  # repeats 3 bytes back: fine for any window
    assert client.receive_data(message(near)) == [Binary(near)]
    block = random.Random(1).randbytes(2**bits + 10)
    assert client.receive_data(message(block)) == [Binary(block)]
    event = only(client.receive_data(message(block)))  # refers 2**bits + 10 bytes back
    if bits == 15:
        assert event == Binary(block)
    else:
        assert isinstance(event, Failed) and event.code == 1002


def test_an_8_bit_window_is_refused_for_compressing_only():
    with pytest.raises(ValueError, match="zlib"):
        PerMessageDeflate("server", P(server_max_window_bits=8))
    with pytest.raises(ValueError, match="zlib"):
        PerMessageDeflate("client", P(client_max_window_bits=8))
    PerMessageDeflate("server", P(client_max_window_bits=8))  # inflating with 8 is fine
    PerMessageDeflate("client", P(server_max_window_bits=8))


def test_fragmented_compressed_message_with_a_ping_in_between():
    server = Connection("server", deflate=PerMessageDeflate("server"))
    payload = compressed("fragmented \u2713 text".encode() * 20)
    third = len(payload) // 3
    wire = (
        from_client(Opcode.TEXT, payload[:third], fin=False, rsv1=True)
        + from_client(Opcode.PING, b"hi")
        + from_client(Opcode.CONT, payload[third : 2 * third], fin=False)
        + from_client(Opcode.CONT, payload[2 * third :])
    )
    assert server.receive_data(wire) == [Ping(b"hi"), Text("fragmented \u2713 text" * 20)]


def test_uncompressed_messages_are_allowed_too():  # RFC 7692 §6: RSV1 unset, not compressed
    server = Connection("server", deflate=PerMessageDeflate("server"))
    wire = (
        from_client(Opcode.TEXT, b"plain")
        + from_client(Opcode.TEXT, compressed(b"squeezed"), rsv1=True)
        + from_client(Opcode.BINARY, b"in ", fin=False)
        + from_client(Opcode.CONT, b"parts")
    )
    assert server.receive_data(wire) == [Text("plain"), Text("squeezed"), Binary(b"in parts")]


def test_sent_messages_have_rsv1_on_their_one_frame_and_control_frames_do_not():
    seen = []
    server = Connection(
        "server", deflate=PerMessageDeflate("server"), frame_observer=lambda d, f: seen.append(f)
    )
    server.send_text("Hello")
    server.send_ping(b"p")
    server.close(1000, "bye")
    assert server.data_to_send()[:9] == bytes.fromhex("c1 07 f2 48 cd c9 c9 07 00")
    assert [(f.opcode, f.rsv1) for f in seen] == [
        (Opcode.TEXT, True),
        (Opcode.PING, False),
        (Opcode.CLOSE, False),
    ]


def test_send_frame_sends_frames_as_they_are():
    server, client = pair()
    server.send_frame(Frame(Opcode.TEXT, b"as ", fin=False))
    server.send_frame(Frame(Opcode.CONT, b"is"))
    assert client.receive_data(server.data_to_send()) == [Text("as is")]


def test_a_refused_message_leaves_the_compressor_as_it_was():
    # Context takeover: had the refused message gone into the compressor, the peer's window
    # would miss it and the next message would not inflate.
    server, client = pair()
    server.send_frame(Frame(Opcode.TEXT, b"unfinished", fin=False))
    with pytest.raises(LocalProtocolError):
        server.send_text("not now")
    server.send_frame(Frame(Opcode.CONT, b"!"))
    server.send_text("not now")
    assert client.receive_data(server.data_to_send()) == [Text("unfinished!"), Text("not now")]


def test_codec_and_connection_roles_must_match():
    with pytest.raises(ValueError):
        Connection("server", deflate=PerMessageDeflate("client"))
    with pytest.raises(ValueError):
        PerMessageDeflate("peer")


# ---------------------------------------------------------------------- RSV1 → 1002


def failed_code(connection: Connection, wire: bytes) -> int:
    """Feed ``wire``; check the connection failed and sent a Close with the code it reports."""
    events = connection.receive_data(wire)
    assert isinstance(events[-1], Failed), events
    reader = FrameReader()
    reader.feed(connection.data_to_send())
    last = list(reader)[-1]
    assert last.opcode is Opcode.CLOSE
    assert Close.parse(last.payload).code == events[-1].code
    return events[-1].code


def deflate_server() -> Connection:
    return Connection("server", deflate=PerMessageDeflate("server"))


@pytest.mark.parametrize(
    "wire",
    [
        from_client(Opcode.PING, b"", rsv1=True),
        from_client(Opcode.PONG, b"", rsv1=True),
        from_client(Opcode.CLOSE, b"\x03\xe8", rsv1=True),
        # RSV1 on a continuation frame (RFC 7692 §6.1): of a compressed message, or not.
        from_client(Opcode.TEXT, compressed(b"ab")[:1], fin=False, rsv1=True)
        + from_client(Opcode.CONT, compressed(b"ab")[1:], rsv1=True),
        from_client(Opcode.TEXT, b"a", fin=False) + from_client(Opcode.CONT, b"b", rsv1=True),
    ],
    ids=["ping", "pong", "close", "cont-of-compressed", "cont-of-plain"],
)
def test_rsv1_where_it_may_not_be_is_1002(wire):
    assert failed_code(deflate_server(), wire) == 1002


def test_rsv1_without_the_extension_is_1002():
    server = Connection("server")
    event = only(server.receive_data(from_client(Opcode.TEXT, compressed(b"x"), rsv1=True)))
    assert isinstance(event, Failed) and event.code == 1002 and "RSV1" in event.reason


@pytest.mark.parametrize("bit", [0x20, 0x10])
def test_rsv2_and_rsv3_stay_errors_with_the_extension(bit):
    wire = bytearray(from_client(Opcode.TEXT, b"x"))
    wire[0] |= bit
    assert failed_code(deflate_server(), bytes(wire)) == 1002


def test_data_that_does_not_inflate_is_1002():
    wire = from_client(Opcode.BINARY, b"\xff\xff\xff\xff", rsv1=True)
    assert failed_code(deflate_server(), wire) == 1002


# ---------------------------------------------------------------------- UTF-8 → 1007


def test_inflated_text_that_is_not_utf8_is_1007():
    wire = from_client(Opcode.TEXT, compressed(b"ok \xff not"), rsv1=True)
    assert failed_code(deflate_server(), wire) == 1007


def test_bad_utf8_fails_at_its_fragment_before_the_message_ends():
    sender = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = sender.compress(b"caf\xc3\xa9 " * 50 + b"\xc0\xaf") + sender.flush(zlib.Z_SYNC_FLUSH)
    server = deflate_server()
    assert failed_code(server, from_client(Opcode.TEXT, first, fin=False, rsv1=True)) == 1007


def test_a_compressed_text_frame_arriving_byte_by_byte_is_not_checked_as_utf8():
    # Compressed bytes are not text: only the inflated message is checked.
    text = "caf\u00e9 \U0001f680 " * 100
    wire = from_client(Opcode.TEXT, compressed(text.encode()), rsv1=True)
    server = deflate_server()
    events = []
    for i in range(len(wire)):
        events += server.receive_data(wire[i : i + 1])
    assert events == [Text(text)]


# ---------------------------------------------------------------------- size limit → 1009


def test_the_limit_applies_to_the_inflated_message():
    big = b"a" * 50_000
    wire = from_client(Opcode.BINARY, compressed(big), rsv1=True)
    assert len(wire) < 1000
    server = Connection("server", deflate=PerMessageDeflate("server"), max_size=50_000)
    assert server.receive_data(wire) == [Binary(big)]  # exactly the limit: accepted
    server = Connection("server", deflate=PerMessageDeflate("server"), max_size=49_999)
    assert failed_code(server, wire) == 1009


def test_the_limit_covers_every_fragment_of_the_message():
    server = Connection("server", deflate=PerMessageDeflate("server"), max_size=60_000)
    sender = zlib.compressobj(9, zlib.DEFLATED, -15)
    part = sender.compress(b"b" * 40_000) + sender.flush(zlib.Z_SYNC_FLUSH)
    rest = sender.compress(b"b" * 40_000) + sender.flush(zlib.Z_SYNC_FLUSH)
    events = server.receive_data(from_client(Opcode.BINARY, part, fin=False, rsv1=True))
    assert events == []
    assert failed_code(server, from_client(Opcode.CONT, rest[:-4])) == 1009


class CountingInflater:
    """Wraps a zlib inflater: counts the bytes it makes, and the most it was asked for."""

    made = 0
    asked = []

    def __init__(self, inflater):
        self._inflater = inflater

    def decompress(self, data, max_length=0):
        CountingInflater.asked.append(max_length)
        out = self._inflater.decompress(data, max_length)
        CountingInflater.made += len(out)
        return out

    def __getattr__(self, name):
        return getattr(self._inflater, name)


@pytest.fixture
def counting(monkeypatch):
    CountingInflater.made, CountingInflater.asked = 0, []
    real = zlib.decompressobj
    monkeypatch.setattr(pmd.zlib, "decompressobj", lambda *a: CountingInflater(real(*a)))
    return CountingInflater


BOMB_SIZE = 1_000_000  # bytes of zeros: they deflate about 1000 to 1


def bomb() -> bytes:
    payload = compressed(bytes(BOMB_SIZE))
    wire = from_client(Opcode.BINARY, payload, rsv1=True)
    assert len(payload) <= 1024, len(payload)  # a frame of at most 1 KiB
    return wire


@pytest.mark.parametrize("max_size", [1024, 65536, 2**19])
def test_zip_bomb_is_closed_with_1009_without_inflating_it(counting, max_size):
    server = Connection("server", deflate=PerMessageDeflate("server"), max_size=max_size)
    assert failed_code(server, bomb()) == 1009
    # zlib was never asked for more than one byte past the limit, and made no more.
    assert counting.made == max_size + 1
    assert max(counting.asked) <= max_size + 1


@pytest.mark.parametrize("max_size", [65536, 2**19])
def test_zip_bomb_costs_no_more_memory_than_the_limit(max_size):
    wire = bomb()
    server = Connection("server", deflate=PerMessageDeflate("server"), max_size=max_size)
    tracemalloc.start()
    try:
        events = server.receive_data(wire)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(events[0], Failed) and events[0].code == 1009
    # The limit, plus a margin: one piece being inflated (32 KiB), zlib's own state (a 32 KiB
    # window and ~7 KiB), the frame itself (1 KiB, and its unread tail): 46 KiB measured.
    assert peak < max_size + 64 * 1024, peak


def test_the_memory_measure_sees_a_bomb_that_is_inflated():
    # Without a limit, the same frame inflates whole: the measure above would catch it.
    server = Connection("server", deflate=PerMessageDeflate("server"), max_size=None)
    wire = bomb()
    tracemalloc.start()
    try:
        events = server.receive_data(wire)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert events == [Binary(bytes(BOMB_SIZE))]
    assert peak >= BOMB_SIZE


def test_codec_limit_alone():
    codec = PerMessageDeflate("server")
    payload = compressed(b"z" * 1000)
    assert codec.decompress(payload, first=True, last=True, max_length=1000) == b"z" * 1000
    with pytest.raises(ProtocolError) as caught:
        codec.decompress(payload, first=True, last=True, max_length=999)
    assert caught.value.code == 1009
    with pytest.raises(ProtocolError) as caught:
        PerMessageDeflate("server").decompress(payload, first=True, last=True, max_length=0)
    assert caught.value.code == 1009


def test_fragments_that_inflate_to_nothing_count_as_empty():
    # An empty stored block (00 00 00 ff ff) inflates to nothing: a message of such fragments
    # would never grow, and never end.
    server = deflate_server()
    wire = from_client(Opcode.BINARY, b"\x00\x00\x00\xff\xff", fin=False, rsv1=True)
    wire += from_client(Opcode.CONT, b"\x00\x00\x00\xff\xff", fin=False) * 1000
    assert failed_code(server, wire) == 1008
