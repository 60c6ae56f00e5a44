"""FrameReader: whole frames out of a byte stream, whatever the chunking."""

import pytest

from wslearn import Frame, FrameReader, Opcode, ProtocolError

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
