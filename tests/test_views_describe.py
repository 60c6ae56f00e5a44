"""describe_frame: a frame header spelled out field by field."""

from __future__ import annotations

import pytest
from helpers.recorded_frames import CLOSE_IDS, CLOSE_PAYLOADS, KEY, record

from wslearn import Frame, Opcode
from wslearn.views import describe_frame


@pytest.mark.parametrize("payload, shown", CLOSE_PAYLOADS, ids=CLOSE_IDS)
def test_describe_frame_shows_a_close_payload_with_close_describe(payload, shown):
    wire = Frame(Opcode.CLOSE, payload).serialize(KEY)
    parsed, _ = Frame.parse(wire)
    for frame in (wire, parsed, record(Frame(Opcode.CLOSE, payload), mask=KEY)):
        text = describe_frame(frame)
        assert text.splitlines()[-1] == f"payload: {shown}", text
        assert text.splitlines()[2].startswith("opcode=0x8: CLOSE")


def test_describe_frame_spells_out_each_field():
    text = describe_frame(bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58"))
    lines = text.splitlines()
    assert lines[0] == "FIN=1: this is the last (or only) frame of the message"
    assert lines[2].startswith("opcode=0x1: TEXT")
    assert lines[3] == "MASK=1: masked with key 37 fa 21 3d (client → server)"
    assert lines[4].startswith("length=5 (7-bit case")
    assert lines[-1] == 'payload: "Hello"'


def test_describe_frame_explains_long_lengths_and_fragments():
    text = describe_frame(record(Frame(Opcode.BINARY, bytes(300), fin=False), direction="out"))
    assert "FIN=0" in text
    assert "length=300 (16-bit case" in text and "126" in text
    assert "MASK=0: not masked (server → client)" in text


def test_describe_frame_flags_a_masked_frame_from_the_server():
    text = describe_frame(record(Frame(Opcode.TEXT, b"hi"), mask=KEY, direction="out"))
    assert "must not mask" in text


def test_describe_frame_says_a_continuation_cannot_know_its_type():
    cont = record(Frame(Opcode.CONT, b"lo, world"), mask=KEY)
    alone = describe_frame(cont)
    assert (
        "continuation: shown as hex; the first frame of the message says whether it is text"
        in alone
    )
    assert alone.splitlines()[-1] == "payload: " + b"lo, world".hex(" ")
    as_text = describe_frame(cont, message_opcode=Opcode.TEXT)
    assert as_text.splitlines()[-1] == 'payload: "lo, world"'
    assert "shown as hex" not in as_text
    as_binary = describe_frame(cont, message_opcode=Opcode.BINARY)
    assert as_binary.splitlines()[-1] == "payload: " + b"lo, world".hex(" ")
