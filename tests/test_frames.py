"""The frame format of RFC 6455 §5.2, checked on the examples of §5.7 and on every rule."""

import dataclasses
import struct

import pytest

import wslearn.frames
from wslearn import (
    Frame,
    FrameHeader,
    LocalProtocolError,
    Opcode,
    ProtocolError,
    encode_frame_header,
    length_case,
    mask,
    parse_frame_header,
)

# RFC 6455 §5.7, byte for byte.
RFC_EXAMPLES = {
    "unmasked Hello": ("81 05 48 65 6c 6c 6f", Opcode.TEXT, True, b"Hello", None),
    "masked Hello": ("81 85 37 fa 21 3d 7f 9f 4d 51 58", Opcode.TEXT, True, b"Hello", "37fa213d"),
    "fragment Hel": ("01 03 48 65 6c", Opcode.TEXT, False, b"Hel", None),
    "fragment lo": ("80 02 6c 6f", Opcode.CONT, True, b"lo", None),
    "unmasked ping": ("89 05 48 65 6c 6c 6f", Opcode.PING, True, b"Hello", None),
    "masked pong": ("8a 85 37 fa 21 3d 7f 9f 4d 51 58", Opcode.PONG, True, b"Hello", "37fa213d"),
}


@pytest.mark.parametrize("name", RFC_EXAMPLES)
def test_rfc_5_7_examples_parse(name):
    wire, opcode, fin, payload, key = RFC_EXAMPLES[name]
    frame, used = Frame.parse(bytes.fromhex(wire))
    assert used == len(bytes.fromhex(wire))
    assert (frame.opcode, frame.fin, frame.payload) == (opcode, fin, payload)
    assert frame.header.mask == (bytes.fromhex(key) if key else None)


@pytest.mark.parametrize("name", RFC_EXAMPLES)
def test_rfc_5_7_examples_serialize_to_the_same_bytes(name):
    wire, opcode, fin, payload, key = RFC_EXAMPLES[name]
    frame = Frame(opcode, payload, fin=fin)
    assert frame.serialize(bytes.fromhex(key) if key else None) == bytes.fromhex(wire)


def test_rfc_5_7_256_byte_binary_uses_16_bit_length():
    data = Frame(Opcode.BINARY, bytes(256)).serialize()
    assert data[:4] == bytes.fromhex("82 7e 01 00")
    header = parse_frame_header(data)
    assert (header.length, header.length_case, header.header_size) == (256, "16-bit", 4)


def test_rfc_5_7_64kib_binary_uses_64_bit_length():
    data = Frame(Opcode.BINARY, bytes(65536)).serialize()
    assert data[:10] == bytes.fromhex("82 7f 00 00 00 00 00 01 00 00")
    header = parse_frame_header(data)
    assert (header.length, header.length_case, header.header_size) == (65536, "64-bit", 10)


@pytest.mark.parametrize(
    "length, case, size",
    [
        (0, "7-bit", 2),
        (125, "7-bit", 2),
        (126, "16-bit", 4),
        (65535, "16-bit", 4),
        (65536, "64-bit", 10),
        (70000, "64-bit", 10),
    ],
)
def test_length_boundaries_pick_the_minimal_encoding(length, case, size):
    assert length_case(length) == case
    head = encode_frame_header(Opcode.TEXT, length)
    assert len(head) == size
    assert parse_frame_header(head).length == length
    masked = encode_frame_header(Opcode.TEXT, length, mask=b"abcd")
    header = parse_frame_header(masked)
    assert (header.header_size, header.mask, header.masked) == (size + 4, b"abcd", True)


def test_chromium_70000_byte_header_parses():
    # What Debian's Chromium sent for a 70000-byte text message (mask key appended).
    head = bytes.fromhex("81 ff 00 00 00 00 00 01 11 70") + b"\x01\x02\x03\x04"
    header = parse_frame_header(head)
    assert (header.fin, header.opcode, header.masked, header.length) == (
        True,
        Opcode.TEXT,
        True,
        70000,
    )
    assert header.raw == head


def test_header_fields_and_raw_bytes():
    header = parse_frame_header(bytes.fromhex("41 05 48 65 6c 6c 6f"), allowed_rsv=0x40)
    assert (
        header.fin is False
        and header.rsv1 is True
        and header.rsv2 is False
        and header.rsv3 is False
    )
    assert header.raw == b"\x41\x05"


@pytest.mark.parametrize(
    "prefix",
    [
        "",
        "81",
        "81 7e",
        "81 7e 00",
        "81 7f 00 00 00 00 00 01 00",
        "81 85 37 fa 21",
        "81 fe 00 c8 01 02",
    ],
)
def test_incomplete_header_returns_none(prefix):
    assert parse_frame_header(bytes.fromhex(prefix)) is None


def test_parse_returns_none_until_the_whole_payload_is_there():
    wire = bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58")
    for cut in range(len(wire)):
        assert Frame.parse(wire[:cut]) is None
    assert Frame.parse(wire + b"extra")[1] == len(wire)


def _code(data, **kw):
    with pytest.raises(ProtocolError) as info:
        parse_frame_header(bytes.fromhex(data), **kw)
    return info.value.code, str(info.value)


@pytest.mark.parametrize("byte0", ["c1", "a1", "91"])
def test_rsv_bit_without_extension_is_protocol_error(byte0):
    code, message = _code(byte0 + " 00")
    assert code == 1002 and "reserved bit RSV" in message


def test_rsv_bit_allowed_by_negotiated_extension():
    assert parse_frame_header(bytes.fromhex("c1 00"), allowed_rsv=0x40).rsv1


@pytest.mark.parametrize("opcode", [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF])
def test_reserved_opcode_is_protocol_error(opcode):
    code, message = _code(f"{0x80 | opcode:02x} 00")
    assert code == 1002 and f"0x{opcode:X}" in message


@pytest.mark.parametrize("opcode", [8, 9, 10])
def test_fragmented_control_frame_is_protocol_error(opcode):
    code, message = _code(f"0{opcode:x} 00")
    assert code == 1002 and "fragmented" in message


@pytest.mark.parametrize("length_byte", ["7e", "7f"])
def test_control_frame_over_125_bytes_is_protocol_error(length_byte):
    # Refused from the first two bytes, before the extended length arrives.
    code, message = _code("89 " + length_byte)
    assert code == 1002 and "125" in message


def test_non_minimal_16_bit_length_is_protocol_error():
    code, message = _code("81 7e 00 7d")
    assert code == 1002 and "minimal" in message


def test_non_minimal_64_bit_length_is_protocol_error():
    code, message = _code("82 7f 00 00 00 00 00 00 ff ff")
    assert code == 1002 and "minimal" in message


def test_64_bit_length_with_top_bit_set_is_protocol_error():
    code, message = _code("82 7f 80 00 00 00 00 00 00 00")
    assert code == 1002 and "most significant bit" in message


@pytest.mark.parametrize(
    "frame",
    [
        Frame(Opcode.PING, bytes(126)),
        Frame(Opcode.CLOSE, bytes(126)),
        Frame(Opcode.PONG, bytes(70000)),
        Frame(Opcode.CLOSE, b"", fin=False),
        Frame(Opcode.PING, b"x", fin=False),
        Frame(3, b""),
        Frame(0xF, b"x"),
    ],
)
@pytest.mark.parametrize("key", [None, b"\x01\x02\x03\x04"])
def test_serializing_a_frame_the_rfc_forbids_is_a_local_error(frame, key):
    # Our own frame: the mistake is in the calling code, not the peer's.
    for attempt in (frame.check, lambda: frame.to_wire(key), lambda: frame.serialize(key)):
        with pytest.raises(LocalProtocolError) as info:
            attempt()
        assert not isinstance(info.value, ProtocolError)
        assert isinstance(info.value, ValueError)


def test_control_frames_at_the_limit_serialize():
    for opcode in (Opcode.CLOSE, Opcode.PING, Opcode.PONG):
        Frame(opcode, bytes(125)).check()
        assert Frame(opcode, bytes(125)).serialize()[:2] == bytes([0x80 | opcode, 125])


def test_encode_frame_header_rejects_bad_arguments():
    with pytest.raises(ValueError):
        encode_frame_header(Opcode.TEXT, -1)
    with pytest.raises(ValueError):
        encode_frame_header(Opcode.TEXT, 1 << 63)
    with pytest.raises(ValueError):
        encode_frame_header(Opcode.TEXT, 1, mask=b"abc")


def test_rsv_bits_serialize_and_parse():
    frame = Frame(Opcode.BINARY, b"x", rsv1=True, rsv2=True, rsv3=True)
    parsed, _ = Frame.parse(frame.serialize(), allowed_rsv=0x70)
    assert (parsed.rsv1, parsed.rsv2, parsed.rsv3) == (True, True, True)
    assert parsed == frame


def test_masked_frame_payload_is_xored_on_the_wire():
    data = Frame(Opcode.BINARY, b"\x00\x00\x00\x00\x00").serialize(b"\x01\x02\x03\x04")
    assert data[-5:] == b"\x01\x02\x03\x04\x01"
    assert struct.unpack("!B", data[1:2])[0] & 0x80


def test_frame_built_with_a_plain_int_opcode_serializes_like_the_enum():
    assert Frame(1, b"Hello").serialize() == Frame(Opcode.TEXT, b"Hello").serialize()
    with pytest.raises(LocalProtocolError):
        Frame(9, bytes(126)).serialize()
    with pytest.raises(LocalProtocolError):
        Frame(3, b"").serialize()  # a reserved opcode cannot be sent
    assert Frame(1, b"Hello").wire_header().opcode is Opcode.TEXT


# ---------------------------------------------------------------- the header a frame is sent with


WIRE_CASES = [
    Frame(Opcode.TEXT, b"Hello"),
    Frame(Opcode.TEXT, b"Hel", fin=False),
    Frame(Opcode.CONT, b"lo"),
    Frame(Opcode.BINARY, b""),
    Frame(Opcode.BINARY, bytes(125)),
    Frame(Opcode.BINARY, bytes(126)),
    Frame(Opcode.BINARY, bytes(65535)),
    Frame(Opcode.BINARY, bytes(65536)),
    Frame(Opcode.PING, bytes(125)),
    Frame(Opcode.CLOSE, b"\x03\xe8"),
    Frame(Opcode.BINARY, b"x", rsv1=True, rsv3=True),
]


@pytest.mark.parametrize("frame", WIRE_CASES, ids=lambda f: f"{f.opcode.name}-{len(f.payload)}")
@pytest.mark.parametrize("key", [None, bytes.fromhex("37 fa 21 3d")])
def test_wire_header_is_what_parsing_the_serialized_frame_gives(frame, key):
    header = frame.wire_header(key)
    assert isinstance(header, FrameHeader)
    data = frame.serialize(key)
    parsed = parse_frame_header(data, allowed_rsv=0x70)
    assert header == parsed  # every field: a named tuple compares them all
    assert header.raw == parsed.raw == data[: header.header_size]
    assert header.length_case == length_case(len(frame.payload))
    assert header.mask == key and header.masked == (key is not None)


def test_wire_header_of_the_rfc_masked_hello():
    header = Frame(Opcode.TEXT, b"Hello").wire_header(bytes.fromhex("37 fa 21 3d"))
    assert header.raw == bytes.fromhex("81 85 37 fa 21 3d")
    assert (header.fin, header.opcode, header.masked, header.length) == (True, Opcode.TEXT, True, 5)
    assert (header.length_case, header.header_size) == ("7-bit", 6)


@pytest.mark.parametrize("length", [0, 5, 126, 70000])
def test_to_wire_gives_the_header_and_the_payload_as_sent(length):
    key = bytes.fromhex("37 fa 21 3d")
    payload = bytes(range(256)) * (length // 256) + bytes(range(length % 256))
    frame = Frame(Opcode.BINARY, payload)
    header, on_wire = frame.to_wire(key)
    assert header == frame.wire_header(key)
    assert type(on_wire) is bytes and on_wire == mask(payload, key)
    assert len(on_wire) == length and (length == 0 or on_wire != payload)
    assert header.raw + on_wire == frame.serialize(key)
    header, on_wire = frame.to_wire()
    assert on_wire == payload and not header.masked and header.mask is None
    assert header.raw + on_wire == frame.serialize()


def test_the_rfc_masked_hello_to_wire():
    header, on_wire = Frame(Opcode.TEXT, b"Hello").to_wire(bytes.fromhex("37 fa 21 3d"))
    assert on_wire == bytes.fromhex("7f 9f 4d 51 58")


def test_sending_builds_the_header_without_parsing_it_back(monkeypatch):
    def no_parsing(*args, **kwargs):
        raise AssertionError("parse_frame_header called while sending")

    monkeypatch.setattr(wslearn.frames, "parse_frame_header", no_parsing)
    frame = Frame(Opcode.TEXT, b"Hello")
    assert frame.wire_header().raw == bytes.fromhex("81 05")
    assert frame.serialize() == bytes.fromhex("81 05 48 65 6c 6c 6f")
    conn = wslearn.Connection("client", frame_observer=lambda d, f: None, keep_wire=8)
    conn.send_text("Hello")
    assert len(conn.data_to_send()) == 11


def test_a_frame_keeps_its_wire_preview_out_of_equality():
    frame = Frame(Opcode.TEXT, b"Hello")
    assert frame.wire_preview == b""
    with_preview = dataclasses.replace(frame, wire_preview=b"\x7f\x9f")
    assert with_preview == frame and with_preview.wire_preview == b"\x7f\x9f"
    assert "wire_preview" not in repr(with_preview)
