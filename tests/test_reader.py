"""FrameReader: whole frames out of a byte stream, whatever the chunking."""

import pytest

from wslearn import Frame, FrameReader, LocalProtocolError, Opcode, ProtocolError, mask, masking

KEY = b"\x01\x02\x03\x04"


def _stream():
    frames = [
        Frame(Opcode.TEXT, b"first"),
        Frame(Opcode.BINARY, bytes(range(256)) * 300),  # 76800 bytes, 64-bit length
        Frame(Opcode.PING, b"are you there?"),
        Frame(Opcode.TEXT, "é".encode() * 100),  # 200 bytes, 16-bit length
    ]
    return frames, b"".join(f.serialize(KEY) for f in frames)


def test_one_byte_at_a_time():
    frames, wire = _stream()
    reader = FrameReader()
    got = []
    for i in range(len(wire)):
        reader.feed(wire[i : i + 1])
        got.extend(reader)
    assert got == frames
    assert reader.buffered == 0


def test_ten_frames_and_half_of_an_eleventh_in_one_chunk():
    wire = b"".join(Frame(Opcode.TEXT, b"message %d" % i).serialize(KEY) for i in range(11))
    cut = len(wire) - 5
    reader = FrameReader()
    reader.feed(wire[:cut])
    first = list(reader)
    assert [f.payload for f in first] == [b"message %d" % i for i in range(10)]
    last = len(Frame(Opcode.TEXT, b"message 10").serialize(KEY))
    assert reader.buffered == last - 5  # half a frame waits for the rest
    reader.feed(wire[cut:])
    assert [f.payload for f in reader] == [b"message 10"]
    assert reader.buffered == 0


def test_a_frame_split_across_reads_like_chromium_sends_70000_bytes():
    # Measured with Chromium: recv(65536) gave [65536, 4478] for one 70000-byte frame
    # (+14 header bytes).
    wire = Frame(Opcode.TEXT, b"x" * 70000).serialize(KEY)
    assert len(wire) == 70014
    reader = FrameReader(max_size=None)
    reader.feed(wire[:65536])
    assert reader.next_frame() is None
    assert reader.buffered == 65536
    reader.feed(wire[65536:])
    frame = reader.next_frame()
    assert frame.payload == b"x" * 70000
    assert frame.header.length_case == "64-bit"


def test_size_limit_is_checked_from_the_header_before_the_payload_arrives():
    reader = FrameReader(max_size=1000)
    reader.feed(bytes.fromhex("82 ff 00 00 00 00 00 10 00 00") + KEY)  # announces 1 MiB
    with pytest.raises(ProtocolError) as info:
        reader.next_frame()
    assert info.value.code == 1009
    assert reader.buffered == 14  # nothing of the payload was needed


def test_size_limit_does_not_apply_to_control_frames():
    reader = FrameReader(max_size=0)
    reader.feed(Frame(Opcode.PING, b"hello").serialize(KEY))
    assert reader.next_frame().payload == b"hello"


def test_unmasked_frame_refused_when_masking_expected():
    reader = FrameReader(expect_masked=True)
    reader.feed(Frame(Opcode.TEXT, b"hi").serialize())
    with pytest.raises(ProtocolError) as info:
        reader.next_frame()
    assert info.value.code == 1002 and "masked" in str(info.value)


def test_masked_frame_refused_when_unmasked_expected():
    reader = FrameReader(expect_masked=False)
    reader.feed(Frame(Opcode.TEXT, b"hi").serialize(KEY))
    with pytest.raises(ProtocolError) as info:
        reader.next_frame()
    assert info.value.code == 1002


def test_buffer_is_compacted_on_long_streams():
    wire = Frame(Opcode.BINARY, bytes(40000)).serialize(KEY)
    reader = FrameReader()
    for _ in range(10):
        reader.feed(wire + wire[:100])
        assert len(list(reader)) >= 1
        reader.feed(wire[100:])
        list(reader)
    assert reader.buffered == 0
    assert len(reader._buffer) < 3 * len(wire)


def test_the_reader_gives_the_max_size_it_was_given_and_takes_a_new_one():
    reader = FrameReader(max_size=10)
    assert reader.max_size == 10
    reader.max_size = 5
    reader.feed(Frame(Opcode.BINARY, bytes(6)).serialize(KEY))
    with pytest.raises(ProtocolError) as info:
        reader.next_frame()
    assert info.value.code == 1009 and "limit of 5" in str(info.value)
    assert not hasattr(reader, "message_size")  # the caller counts the message, not the reader


@pytest.mark.parametrize(
    "received, length, ok",
    [
        (0, 100, True),
        (0, 101, False),
        (40, 60, True),
        (41, 60, False),
        (100, 0, True),
        (101, 0, False),
    ],
)
def test_next_frame_limits_what_was_received_plus_this_frame(received, length, ok):
    reader = FrameReader(max_size=100)
    wire = Frame(Opcode.CONT, bytes(length)).serialize(KEY)
    reader.feed(wire)
    if ok:
        assert reader.next_frame(received=received).payload == bytes(length)
        return
    with pytest.raises(ProtocolError) as info:
        reader.next_frame(received=received)
    assert info.value.code == 1009
    assert not isinstance(info.value, LocalProtocolError)
    message = str(info.value)
    assert f"{received + length} " in message and "limit of 100" in message
    assert reader.buffered == len(wire)  # refused from the header: nothing consumed


def test_next_frame_refuses_a_fragment_from_its_header_before_its_payload_arrives():
    reader = FrameReader(max_size=1000)
    wire = Frame(Opcode.CONT, bytes(600)).serialize(KEY)
    reader.feed(wire[:8])  # header only (2 + 2 + 4 bytes)
    with pytest.raises(ProtocolError) as info:
        reader.next_frame(received=600)
    assert info.value.code == 1009 and "1200 bytes" in str(info.value)


def test_next_frame_without_received_limits_each_frame_alone():
    # The reader does not add fragments up itself: the connection passes ``received``.
    reader = FrameReader(max_size=100)
    reader.feed(
        Frame(Opcode.BINARY, bytes(60), fin=False).serialize(KEY)
        + Frame(Opcode.CONT, bytes(60)).serialize(KEY)
    )
    assert [len(f.payload) for f in reader] == [60, 60]


def test_control_frames_ignore_received_and_the_limit():
    reader = FrameReader(max_size=10)
    reader.feed(Frame(Opcode.PING, bytes(125)).serialize(KEY))
    assert reader.next_frame(received=10**9).payload == bytes(125)


def test_no_limit_with_max_size_none_whatever_was_received():
    reader = FrameReader(max_size=None)
    reader.feed(Frame(Opcode.CONT, b"x").serialize(KEY))
    assert reader.next_frame(received=2**62).payload == b"x"


@pytest.mark.parametrize("speedups", [True, False], ids=["numpy", "plain"])
@pytest.mark.parametrize("length", [0, 5, 1023, 1024, 70000, 200000])
def test_payload_is_bytes_unmasked_and_its_own_copy(monkeypatch, speedups, length):
    if not speedups:
        monkeypatch.setattr(masking, "_speedups", None)
    payload = bytes(range(256)) * (length // 256) + bytes(length % 256)
    wire = Frame(Opcode.BINARY, payload).serialize(KEY)
    fed = bytearray(wire)
    reader = FrameReader()
    reader.feed(fed)
    frame = reader.next_frame()
    assert type(frame.payload) is bytes and frame.payload == payload
    assert fed == wire  # unmasked in the reader's own buffer, not in the caller's
    # Whatever the reader does to its buffer next, the frame's payload stays as it was.
    reader.feed(wire)
    assert reader.next_frame().payload == payload
    assert frame.payload == payload


@pytest.mark.parametrize("speedups", [True, False], ids=["numpy", "plain"])
def test_the_reader_keeps_working_after_large_frames_unmasked_in_place(monkeypatch, speedups):
    # After an in-place unmask the buffer is cleared, trimmed or grown: a view of it
    # still held would make that a BufferError.
    if not speedups:
        monkeypatch.setattr(masking, "_speedups", None)
    big = [bytes([i]) * n for i, n in enumerate([1024, 4097, 65537, 100000, 200003])]
    reader = FrameReader()
    for payload in big:
        wire = Frame(Opcode.BINARY, payload).serialize(mask(b"\x00\x00\x00\x01", KEY))
        small = Frame(Opcode.TEXT, b"after").serialize(KEY)
        # A big frame that ends the buffer (it is cleared) ...
        reader.feed(wire)
        assert reader.next_frame().payload == payload
        assert reader.buffered == 0
        # ... and one followed by half a frame (the buffer is trimmed, then grows again).
        reader.feed(wire + small[:3])
        assert reader.next_frame().payload == payload
        assert reader.next_frame() is None
        reader.feed(small[3:] + wire)
        assert [f.payload for f in reader] == [b"after", payload]
        assert reader.buffered == 0


@pytest.mark.parametrize("keep_wire", [0, 1, 4, 5, 256])
@pytest.mark.parametrize("length", [0, 3, 200, 70000])
def test_keep_wire_keeps_the_payload_start_as_it_arrived(keep_wire, length):
    payload = bytes(range(256)) * (length // 256) + bytes(range(length % 256))
    wire = Frame(Opcode.BINARY, payload).serialize(KEY)
    reader = FrameReader(keep_wire=keep_wire)
    reader.feed(wire)
    frame = reader.next_frame()
    size = frame.header.header_size
    assert frame.header.raw == wire[:size]
    assert frame.wire_preview == wire[size : size + keep_wire]  # still masked
    assert type(frame.wire_preview) is bytes
    assert frame.payload == payload


def test_keep_wire_of_an_unmasked_frame_is_the_payload_itself():
    reader = FrameReader(keep_wire=3)
    reader.feed(Frame(Opcode.TEXT, b"Hello").serialize())
    assert reader.next_frame().wire_preview == b"Hel"
