"""What the views read from a record: the header its reader kept, and the payload it saw."""

from __future__ import annotations

import pytest
from helpers.recorded_frames import KEY

from wslearn import Frame, Opcode, parse_frame_header
from wslearn.recording import FrameRecord
from wslearn.views import describe_frame, header_fields


def recorded(frame: Frame, mask=None, *, allowed_rsv=0) -> FrameRecord:
    """Record ``frame`` the way the live server does: from a reader that kept the header."""
    from wslearn import FrameReader

    reader = FrameReader(allowed_rsv=allowed_rsv, keep_wire=256)
    reader.feed(frame.serialize(mask))
    [parsed] = list(reader)
    direction = "out" if mask is None else "in"  # a server sends unmasked, a client masked
    return FrameRecord.from_frame(parsed, time=0.0, connection=1, direction=direction)


@pytest.mark.parametrize("size", [0, 5, 125, 126, 300, 65535, 65536, 70000])
@pytest.mark.parametrize("mask", [None, KEY], ids=["unmasked", "masked"])
def test_frame_header_of_a_record_is_its_header_bytes_parsed(size, mask):
    rec = recorded(Frame(Opcode.BINARY, bytes(size)), mask)
    header = rec.frame_header()
    assert header == parse_frame_header(rec.header)
    assert header.raw == rec.header and header.header_size == len(rec.header)
    assert (header.length, header.length_case, header.mask) == (size, rec.length_case, mask)
    # The views read the record through frame_header(): same fields as from the bytes.
    assert header_fields(rec) == header_fields(rec.header)
    assert describe_frame(rec).splitlines()[:6] == describe_frame(rec.header).splitlines()[:6]


def test_frame_header_keeps_the_rsv_bits_and_fragment_flags_of_a_record():
    rec = recorded(Frame(Opcode.TEXT, b"12345", fin=False, rsv1=True), KEY, allowed_rsv=0x40)
    header = rec.frame_header()
    assert header == parse_frame_header(rec.header, allowed_rsv=0x40)
    assert (header.fin, header.rsv1, header.rsv2, header.rsv3) == (False, True, False, False)
    cont = recorded(Frame(Opcode.CONT, b"x"), KEY)
    assert cont.frame_header() == parse_frame_header(cont.header)


@pytest.mark.parametrize("direction", ["in", "out"])
def test_frame_header_of_a_frame_built_in_python_is_the_header_a_server_sends(direction):
    frame = Frame(Opcode.PING, b"hi")  # never parsed: no header of its own
    rec = FrameRecord.from_frame(frame, time=0.0, connection=1, direction=direction)
    assert rec.header == bytes.fromhex("89 02")
    assert rec.frame_header() == parse_frame_header(rec.header) == frame.wire_header()
    assert rec.wire_preview == rec.payload_preview == b"hi"


def test_a_record_keeps_the_masked_bytes_it_was_given_and_unmasks_them():
    rec = recorded(Frame(Opcode.TEXT, b"Hello"), b"\x37\xfa\x21\x3d")  # RFC 6455 §5.7
    assert rec.wire_preview == bytes.fromhex("7f 9f 4d 51 58")
    assert rec.payload_preview == b"Hello"
