"""The library's version of each piece of the capstone server, with the exercise's signature.

When a learner has not solved an exercise of notebooks 01-07 (or its check fails), notebook 12
borrows that one piece from the library so that the rest of their server still runs. Each
function here answers its exercise exactly as the notebook states it, by calling the library
function that :data:`wslearn.checks.COVERS` names for that exercise, with as little glue as
possible, so a learner can open this file and see which part of ``wslearn`` stood in for them.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple, Union

from ..close import Close
from ..connection import Connection
from ..errors import HandshakeError
from ..events import Binary, Failed, Text
from ..frames import Frame, encode_frame_header, parse_frame_header
from ..handshake import accept_key, accept_response, validate_request
from ..http11 import Headers, parse_request
from ..opcodes import Opcode
from ..reader import FrameReader

__all__ = ["LIBRARY"]


def parse_headers(data: bytes) -> Dict[str, str]:
    """Notebook 01: header names (lower-cased) to values; repeats joined with ", "."""
    request = parse_request(data)
    if request is None:
        raise ValueError("the request head is not complete (no empty line yet)")
    headers: Dict[str, str] = {}
    for name, _ in request.headers:
        headers.setdefault(name.lower(), ", ".join(request.headers.get_all(name)))
    return headers


def has_token(value: str, token: str) -> bool:
    """Notebook 01: does the comma-separated list ``value`` hold ``token`` (any case)?"""
    return token.strip().lower() in Headers([("x", value)]).tokens("x")


def status_for(data: bytes) -> int:
    """Notebook 01: 101 for a valid handshake, else the status ``validate_request`` refuses with."""
    try:
        request = parse_request(data)
        if request is None:
            return 400
        validate_request(request)
    except HandshakeError as error:
        return error.status
    return 101


def payload_length(data: bytes) -> Optional[Tuple[int, int]]:
    """Notebook 03: (payload length, header size), or None while the header is incomplete."""
    header = parse_frame_header(data)
    return None if header is None else (header.length, header.header_size)


def encode_header(opcode: int, length: int, mask: Optional[bytes] = None) -> bytes:
    """Notebook 03: the header of a FIN=1 frame."""
    return encode_frame_header(opcode, length, mask=mask)


def is_control(opcode: int) -> bool:
    """Notebook 03: is this a control frame's opcode? 0x8 to 0xF are control opcodes (§5.2,
    §5.5), the reserved ones too, which ``Opcode.is_control`` does not know."""
    return 0x8 <= opcode <= 0xF


def read_mask_key(frame: bytes) -> Optional[bytes]:
    """Notebook 04: the frame's masking key, or None if MASK=0."""
    header = parse_frame_header(frame)
    return None if header is None else header.mask


def decode_frame(data: bytes) -> Tuple[int, bytes]:
    """Notebook 05: (opcode, unmasked payload) of one whole frame."""
    parsed = Frame.parse(data)
    if parsed is None:
        raise ValueError("not a whole frame")
    frame, _ = parsed
    return int(frame.opcode), frame.payload


def close_payload(code: int, reason: str = "") -> bytes:
    """Notebook 06: a Close frame's payload; ValueError for a code that may not be sent."""
    if code == 1005:  # Close(1005).serialize() is b"" (what a Close with no code sends)
        raise ValueError("close code 1005 is never sent (RFC 6455 §7.4.1)")
    return Close(code, reason).serialize()  # its LocalProtocolError is a ValueError


def parse_close(payload: bytes) -> Tuple[int, str]:
    """Notebook 06: (code, reason) of a Close frame's payload."""
    close = Close.parse(payload)
    return close.code, close.reason


def pong_for(ping_frame: bytes) -> bytes:
    """Notebook 06: the server's (unmasked) Pong answering a client's Ping frame."""
    parsed = Frame.parse(ping_frame)
    if parsed is None:
        raise ValueError("not a whole frame")
    return Frame(Opcode.PONG, parsed[0].payload).serialize()


def split_frames(stream: bytes) -> Tuple[List[bytes], bytes]:
    """Notebook 07: (whole frames' bytes, the rest), read by a :class:`FrameReader`."""
    reader = FrameReader(keep_wire=len(stream))  # keep each payload as it came (masked)
    reader.feed(stream)
    frames = []
    frame = reader.next_frame()
    while frame is not None:
        assert frame.header is not None  # a reader's frames always carry theirs
        frames.append(frame.header.raw + frame.wire_preview)
        frame = reader.next_frame()
    return frames, bytes(stream[len(stream) - reader.buffered :])


def assemble(frames: List[Frame]) -> List[Union[str, bytes]]:
    """Notebook 07: the messages the frames carry, put together by a :class:`Connection`."""
    connection = Connection("client", max_size=None)  # a client: fed the frames unmasked
    messages: List[Union[str, bytes]] = []
    for frame in frames:
        for event in connection.receive_data(frame.serialize()):
            if isinstance(event, (Text, Binary)):
                messages.append(event.data)
            elif isinstance(event, Failed):
                raise ValueError(f"the frames break a rule: {event.reason} ({event.code})")
    return messages


#: Each piece's library version and, in words, what it calls.
LIBRARY: Dict[str, Tuple[Any, str]] = {
    "parse_headers": (parse_headers, "wslearn.http11.parse_request(data).headers"),
    "has_token": (has_token, "wslearn.http11.Headers.tokens"),
    "status_for": (status_for, "wslearn.handshake.validate_request"),
    "accept_key": (accept_key, "wslearn.handshake.accept_key"),
    "build_101": (accept_response, "wslearn.handshake.accept_response"),
    "payload_length": (payload_length, "wslearn.frames.parse_frame_header"),
    "encode_header": (encode_header, "wslearn.frames.encode_frame_header"),
    "is_control": (is_control, "the range 0x8-0xF (as wslearn.Opcode.is_control)"),
    "read_mask_key": (read_mask_key, "wslearn.frames.parse_frame_header(frame).mask"),
    "decode_frame": (decode_frame, "wslearn.frames.Frame.parse"),
    "close_payload": (close_payload, "wslearn.close.Close.serialize"),
    "parse_close": (parse_close, "wslearn.close.Close.parse"),
    "pong_for": (pong_for, "wslearn.frames.Frame.parse, then Frame.serialize"),
    "split_frames": (split_frames, "wslearn.reader.FrameReader.next_frame"),
    "assemble": (assemble, "wslearn.connection.Connection"),
}
