"""The log line: one readable line per frame, as the command line prints them."""

from __future__ import annotations

import pytest

import wslearn
from wslearn.views.line import format_frame


def close_record(payload: bytes, direction: str = "in", preview_bytes: int = 256):
    frame = wslearn.Frame(wslearn.Opcode.CLOSE, payload)
    return wslearn.FrameRecord.from_frame(
        frame, time=0.0, connection=3, direction=direction, preview_bytes=preview_bytes
    )


@pytest.mark.parametrize(
    "payload, shown",
    [
        (b"\x03\xe8bye", '1000 "bye"'),
        (b"\x03\xe9", "1001"),
        (b"", "(no code)"),
        (b"\x0f\xa1" + "再见".encode(), '4001 "再见"'),
        (b"\x03", "03 (1 byte: too short for a code)"),
        (b"\x03\xe8\xff", "1000 ff (reason is not UTF-8)"),
        (b"\x03\xe7x", '999 "x" (code 999 may not be sent)'),
    ],
)
def test_format_frame_shows_a_close_payload_as_close_describe_does(payload, shown):
    line = format_frame(close_record(payload, "out"))
    assert line.startswith("#3 <- CLOSE  fin=1 masked=0 ")
    assert line.endswith(f" ({wslearn.length_case(len(payload))}) {shown}")
    assert shown == wslearn.Close.describe(payload)
    assert "code=" not in line


def test_format_frame_shows_a_close_payload_it_did_not_keep_whole_as_hex():
    # A recorder that keeps fewer bytes than the payload has: describing the start would lie.
    payload = wslearn.Close(1000, "a reason that is longer than the preview").serialize()
    line = format_frame(close_record(payload, preview_bytes=4))
    assert line.endswith(f"03 e8 61 20 (+{len(payload) - 4} B)")


def test_format_frame_cuts_a_long_close_reason():
    line = format_frame(close_record(wslearn.Close(1000, "r" * 123).serialize()))
    assert line.endswith(' 1000 "' + "r" * 51 + "...")  # 60 characters at most


def test_format_frame_marks_a_compressed_frame_and_shows_its_payload_as_bytes():
    # RFC 7692 §7.2.3.1: "Hello", compressed, in one frame with RSV1 set.
    frame = wslearn.Frame(wslearn.Opcode.TEXT, bytes.fromhex("f2 48 cd c9 c9 07 00"), rsv1=True)
    record = wslearn.FrameRecord.from_frame(frame, time=0.0, connection=1, direction="out")
    line = format_frame(record)
    assert "fin=1 rsv1=1 (compressed)" in line
    assert line.endswith("f2 48 cd c9 c9 07 00")  # DEFLATE data, never decoded as text
    plain = wslearn.FrameRecord.from_frame(
        wslearn.Frame(wslearn.Opcode.TEXT, b"Hello"), time=0.0, connection=1, direction="out"
    )
    assert "rsv1" not in format_frame(plain) and format_frame(plain).endswith("'Hello'")


def test_format_frame_shows_a_redacted_payload_as_redacted_with_its_exact_length():
    frame = wslearn.Frame(wslearn.Opcode.TEXT, b"secret-token" * 30)  # 360 bytes
    record = wslearn.FrameRecord.from_frame(
        frame, time=0.0, connection=2, direction="in", preview_bytes=0, redacted=True
    )
    line = format_frame(record)
    assert line == "#2 -> TEXT   fin=1 masked=0 len=360 (16-bit) [redacted]"
    # Not redacted, an empty preview is only cut short: the line says how much is missing.
    cut = wslearn.FrameRecord.from_frame(
        frame, time=0.0, connection=2, direction="in", preview_bytes=0
    )
    assert format_frame(cut).endswith("len=360 (16-bit) '' (+360 B)")
