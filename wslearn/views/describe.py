"""In words: a frame header spelled out field by field, one sentence each.

:func:`describe_frame` says what each field of RFC 6455 §5.2 holds and what
that means: FIN (last frame or more to come), RSV (an extension or none), the
opcode and the kind of frame it makes, MASK (and whether the right side
masked), the payload length with the case that encoded it, the header's bytes,
and a preview of the payload when the frame carries one. It accepts what
:func:`~wslearn.views.bits.bit_diagram` accepts.
"""

from __future__ import annotations

from typing import Optional

from ..frames import Frame, FrameHeader
from ..masking import unmask
from ..opcodes import Opcode
from ..recording import FrameRecord
from .sources import FrameLike, header_of
from .text import payload_text

__all__ = ["describe_frame"]


def describe_frame(frame: FrameLike, *, message_opcode: Optional[int] = None) -> str:
    """Spell out a frame header field by field, one line each (RFC 6455 §5.2).

    Accepts what :func:`~wslearn.views.bits.bit_diagram` accepts. For a
    :class:`~wslearn.recording.FrameRecord` or a whole :class:`Frame` (or bytes
    holding the payload too) a last line previews the payload.

    A CONT frame (opcode 0) does not say whether its message is text or binary:
    only the message's first frame does. Pass that frame's opcode as
    ``message_opcode`` to show a continued text message's payload as text;
    without it the payload is shown as hex, with a line saying why.

    >>> print(describe_frame(bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58")))
    FIN=1: this is the last (or only) frame of the message
    RSV=000: no extension in use
    opcode=0x1: TEXT (data frame: the payload is UTF-8 text)
    MASK=1: masked with key 37 fa 21 3d (client → server)
    length=5 (7-bit case: the length fits in the 7-bit Payload len field)
    header: 6 bytes: 81 85 37 fa 21 3d
    payload: "Hello"
    """
    h = header_of(frame)
    lines = []
    if h.fin:
        lines.append("FIN=1: this is the last (or only) frame of the message")
    else:
        lines.append("FIN=0: more frames of this message follow (§5.4 fragmentation)")

    rsv = f"{int(h.rsv1)}{int(h.rsv2)}{int(h.rsv3)}"
    if rsv == "000":
        lines.append("RSV=000: no extension in use")
    else:
        meaning = " (RSV1 is permessage-deflate's 'compressed' flag, RFC 7692)" if h.rsv1 else ""
        lines.append(
            f"RSV={rsv}: set by a negotiated extension{meaning}; without one, "
            "the peer must fail the connection (§5.2)"
        )

    kinds = {
        Opcode.CONT: "continuation frame: more of the message a TEXT or BINARY frame began",
        Opcode.TEXT: "data frame: the payload is UTF-8 text",
        Opcode.BINARY: "data frame: the payload is arbitrary bytes",
        Opcode.CLOSE: "control frame: starts or answers the closing handshake (§5.5.1)",
        Opcode.PING: "control frame: the peer must answer with a PONG (§5.5.2)",
        Opcode.PONG: "control frame: the answer to a PING (§5.5.3)",
    }
    lines.append(f"opcode=0x{int(h.opcode):X}: {h.opcode.name} ({kinds[h.opcode]})")

    direction = getattr(frame, "direction", None)
    if h.mask is not None:
        note = "client → server"
        if direction == "out":
            note = "sent by the server, which must not mask (§5.1)"
        lines.append(f"MASK=1: masked with key {h.mask.hex(' ')} ({note})")
    else:
        note = "server → client"
        if direction == "in":
            note = "sent by a client, which must mask every frame (§5.1)"
        lines.append(f"MASK=0: not masked ({note})")

    cases = {
        "7-bit": "the length fits in the 7-bit Payload len field",
        "16-bit": "Payload len says 126, the real length is in the next 2 bytes",
        "64-bit": "Payload len says 127, the real length is in the next 8 bytes",
    }
    lines.append(f"length={h.length} ({h.length_case} case: {cases[h.length_case]})")
    lines.append(f"header: {h.header_size} bytes: {h.raw.hex(' ')}")

    payload = _payload_of(frame, h)
    if payload is not None:
        text = h.opcode == Opcode.TEXT
        if h.opcode == Opcode.CONT:
            if message_opcode is None:
                lines.append(
                    "continuation: shown as hex; the first frame of the message says "
                    "whether it is text"
                )
            else:
                text = Opcode(message_opcode) == Opcode.TEXT
        lines.append(
            "payload: " + payload_text(int(h.opcode), payload, h.length, text=text, max_bytes=64)
        )
    return "\n".join(lines)


def _payload_of(frame: FrameLike, h: FrameHeader) -> Optional[bytes]:
    """The (unmasked) start of the payload, when ``frame`` carries one."""
    if isinstance(frame, FrameRecord):
        return frame.payload_preview
    if isinstance(frame, Frame):
        return frame.payload
    if isinstance(frame, (bytes, bytearray, memoryview)):
        body = bytes(frame[h.header_size : h.header_size + h.length])
        if not body and h.length:
            return None
        return unmask(body, h.mask) if h.mask is not None else body
    return None
