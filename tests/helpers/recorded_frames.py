"""Recorded frames for the view tests: records made from real bytes, and broken Close payloads.

``record`` serializes a frame, parses the bytes back (so the record has the header a reader
saw) and records it; ``sample_frames`` is a small session (a masked "Hello", a 200-byte binary
frame from the server, a 70000-byte text frame, a Close); ``CLOSE_PAYLOADS`` pairs Close
payloads, broken ones included, with what :meth:`wslearn.Close.describe` says of them.
"""

from __future__ import annotations

import struct
from typing import List, Optional

from wslearn import Frame, Opcode
from wslearn.recording import FrameRecord

KEY = b"\x01\x02\x03\x04"


def record(
    frame: Frame, *, mask: Optional[bytes] = None, t: float = 0.0, conn: int = 1, direction="in"
) -> FrameRecord:
    """Serialize ``frame``, parse the bytes back (so it has a header) and record it."""
    parsed, used = Frame.parse(frame.serialize(mask))
    return FrameRecord.from_frame(parsed, time=t, connection=conn, direction=direction)


def close(code: int, reason: str) -> Frame:
    return Frame(Opcode.CLOSE, struct.pack("!H", code) + reason.encode())


def sample_frames() -> List[FrameRecord]:
    return [
        record(Frame(Opcode.TEXT, b"Hello"), mask=b"\x37\xfa\x21\x3d", t=10.0),
        record(Frame(Opcode.BINARY, bytes(range(200))), t=10.0125, direction="out"),
        record(Frame(Opcode.TEXT, b"x" * 70000), mask=KEY, t=10.02),
        record(close(1000, "bye"), mask=KEY, t=10.03),
    ]


# A view of recorded frames must show broken Close frames too: they are the interesting ones.
CLOSE_PAYLOADS = [
    (b"", "(no code)"),
    (b"\x03\xe8", "1000"),
    (b"\x03\xe8bye", '1000 "bye"'),
    (struct.pack("!H", 4000) + "再见 👋".encode(), '4000 "再见 👋"'),
    (b"\x03", "03 (1 byte: too short for a code)"),
    (b"\x03\xe8\xff\xfe", "1000 ff fe (reason is not UTF-8)"),
    (b"\x03\xe7x", '999 "x" (code 999 may not be sent)'),
    (struct.pack("!H", 5000), "5000 (code 5000 may not be sent)"),
]
CLOSE_IDS = ["empty", "code", "code-reason", "utf8", "1-byte", "not-utf8", "999", "5000"]
