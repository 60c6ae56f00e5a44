"""Frames: the unit a WebSocket message travels in (RFC 6455 §5.2).

A frame is a 2- to 14-byte header followed by the payload::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-------+-+-------------+-------------------------------+
    |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
    |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
    |N|V|V|V|       |S|             |   (if payload len==126/127)   |
    | |1|2|3|       |K|             |                               |
    +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
    |     Extended payload length continued, if payload len == 127  |
    + - - - - - - - - - - - - - - - +-------------------------------+
    |                               |Masking-key, if MASK set to 1  |
    +-------------------------------+-------------------------------+
    | Masking-key (continued)       |          Payload Data         |
    +-------------------------------- - - - - - - - - - - - - - - - +

The 7-bit length field has three cases: 0–125 is the length itself; 126 means
"the real length is in the next 2 bytes"; 127 means "in the next 8 bytes".

This module holds :func:`parse_frame_header`, which reads those fields and
enforces every rule that can be checked from the header alone; :class:`Frame`,
whose :meth:`Frame.serialize` and :meth:`Frame.parse` are a round-tripping pair
(a Close frame's payload is read by :mod:`wslearn.close`). It knows nothing about
sockets or about which side is the client: rules that depend on the role live
in :mod:`wslearn.connection`.
"""

from __future__ import annotations

import dataclasses
import struct
from typing import NamedTuple, Optional, Tuple

from .bytes_like import BytesLike
from .errors import LocalProtocolError, ProtocolError
from .masking import unmask_fast
from .opcodes import Opcode

__all__ = [
    "FrameHeader",
    "Frame",
    "parse_frame_header",
    "encode_frame_header",
    "length_case",
]

#: The largest payload a control frame may carry (RFC 6455 §5.5).
MAX_CONTROL_PAYLOAD = 125

_RSV_BITS = {"rsv1": 0x40, "rsv2": 0x20, "rsv3": 0x10}


def length_case(length: int) -> str:
    """Name the payload-length encoding a sender must use for ``length`` bytes (§5.2).

    ``"7-bit"`` for 0–125, ``"16-bit"`` for 126–65535, ``"64-bit"`` above.
    """
    if length <= 125:
        return "7-bit"
    if length <= 0xFFFF:
        return "16-bit"
    return "64-bit"


class FrameHeader(NamedTuple):
    """Every field of one frame header, as read from the wire.

    ``length_case`` names which of the three length encodings was used and
    ``header_size`` how many bytes the header took (2, 4 or 10, plus 4 for a mask).
    ``raw`` holds those header bytes exactly as they arrived.

    A named tuple: made once per frame, it is immutable, and cheap to make.
    """

    fin: bool
    rsv1: bool
    rsv2: bool
    rsv3: bool
    opcode: Opcode
    masked: bool
    mask: Optional[bytes]
    length: int
    length_case: str
    header_size: int
    raw: bytes = b""

    def __repr__(self) -> str:
        # Every field but ``raw``: the bytes the other fields were read from.
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields[:-1])
        return f"FrameHeader({fields})"


# Byte 0 of a header: FIN, RSV1, RSV2, RSV3, then the 4-bit opcode (the §5.2 diagram above).
FIN = 0b1000_0000
RSV1 = 0b0100_0000
RSV2 = 0b0010_0000
RSV3 = 0b0001_0000
OPCODE = 0b0000_1111
# Byte 1: MASK, then the 7-bit payload length.
MASK = 0b1000_0000
PAYLOAD_LEN = 0b0111_1111

#: Every opcode RFC 6455 defines, by its 4-bit value; the other values are reserved (§5.2).
OPCODES = {opcode.value: opcode for opcode in Opcode}


def parse_frame_header(
    data: BytesLike, start: int = 0, *, allowed_rsv: int = 0
) -> Optional[FrameHeader]:
    """Read the frame header that starts at ``data[start]`` (the start of ``data`` by default).

    Returns ``None`` when ``data`` is too short to hold the whole header yet (the
    rest is still on its way), and a :class:`FrameHeader` otherwise; the payload
    itself starts ``header.header_size`` bytes after ``start``. A reader whose
    buffer holds many frames passes ``start`` instead of slicing the buffer.

    Raises :class:`~wslearn.errors.ProtocolError` (close code 1002) as soon as the
    bytes seen already break a rule, without waiting for the rest:

    * an RSV bit is set that no negotiated extension gave a meaning (§5.2);
      ``allowed_rsv`` is a bit mask (0x40, 0x20, 0x10) of the bits an extension uses;
    * the opcode is one of the reserved values 0x3–0x7, 0xB–0xF (§5.2);
    * a control frame is fragmented (FIN = 0) or longer than 125 bytes (§5.5);
    * the length is not in its shortest form: 126 announcing fewer than 126 bytes,
      127 announcing fewer than 65536 (§5.2, "the minimal number of bytes MUST be used");
    * a 64-bit length has its most significant bit set (§5.2).

    >>> header = parse_frame_header(bytes.fromhex("81 85 37 fa 21 3d"))  # §5.7: "Hello", masked
    >>> header.fin, header.opcode.name, header.masked, header.mask.hex(" "), header.length
    (True, 'TEXT', True, '37 fa 21 3d', 5)
    """
    available = len(data) - start
    if available < 2:
        return None
    first, second = data[start], data[start + 1]

    fin = bool(first & FIN)
    rsv1, rsv2, rsv3 = bool(first & RSV1), bool(first & RSV2), bool(first & RSV3)
    unexpected = first & (RSV1 | RSV2 | RSV3) & ~allowed_rsv
    if unexpected:
        names = [name.upper() for name, bit in _RSV_BITS.items() if unexpected & bit]
        raise ProtocolError(
            f"reserved bit {', '.join(names)} is set, but no extension was negotiated "
            "that gives it a meaning (RFC 6455 §5.2)"
        )
    opcode = OPCODES.get(first & OPCODE)
    if opcode is None:
        raise ProtocolError(
            f"opcode 0x{first & OPCODE:X} is reserved; only 0x0-0x2 and 0x8-0xA exist "
            "(RFC 6455 §5.2)"
        )

    masked = bool(second & MASK)
    length = second & PAYLOAD_LEN
    if opcode.is_control:  # §5.5
        if not fin:
            raise ProtocolError(
                f"{opcode.name} frame with FIN=0: control frames must not be fragmented "
                "(RFC 6455 §5.5)"
            )
        if length > MAX_CONTROL_PAYLOAD:
            raise ProtocolError(
                f"{opcode.name} frame announces more than 125 bytes: control frames carry "
                "at most 125 (RFC 6455 §5.5)"
            )

    # The three length cases of §5.2.
    if length <= 125:
        case, size = "7-bit", 2
    elif length == 126:
        case, size = "16-bit", 4
        if available < size:
            return None
        (length,) = struct.unpack_from("!H", data, start + 2)
        if length <= 125:
            raise ProtocolError(
                f"length {length} sent in the 16-bit form; lengths under 126 must use the "
                "7-bit field (RFC 6455 §5.2: the minimal number of bytes MUST be used)"
            )
    else:
        case, size = "64-bit", 10
        if available < size:
            return None
        (length,) = struct.unpack_from("!Q", data, start + 2)
        if length >= 1 << 63:
            raise ProtocolError(
                "64-bit length with its most significant bit set (RFC 6455 §5.2: "
                "the most significant bit MUST be 0)"
            )
        if length <= 0xFFFF:
            raise ProtocolError(
                f"length {length} sent in the 64-bit form; lengths under 65536 must use a "
                "shorter field (RFC 6455 §5.2: the minimal number of bytes MUST be used)"
            )

    if masked:  # the 4-byte masking key follows the length (§5.3)
        size += 4
    if available < size:
        return None
    raw = bytes(data[start : start + size])
    mask = raw[-4:] if masked else None
    return FrameHeader(fin, rsv1, rsv2, rsv3, opcode, masked, mask, length, case, size, raw)


def encode_frame_header(
    opcode: int,
    length: int,
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask: Optional[bytes] = None,
) -> bytes:
    """Build the header bytes for a frame of ``length`` payload bytes.

    Always uses the shortest length form, as RFC 6455 §5.2 requires. With
    ``mask`` (4 bytes) the MASK bit is set and the key follows the length.
    """
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0)
    b0 |= (0x10 if rsv3 else 0) | (opcode & 0x0F)
    m = 0x80 if mask is not None else 0
    if length < 0:
        raise ValueError("a payload length cannot be negative")
    if length <= 125:
        head = struct.pack("!BB", b0, m | length)
    elif length <= 0xFFFF:
        head = struct.pack("!BBH", b0, m | 126, length)
    elif length < 1 << 63:
        head = struct.pack("!BBQ", b0, m | 127, length)
    else:
        raise ValueError("a payload length must be below 2**63 (RFC 6455 §5.2)")
    if mask is not None:
        if len(mask) != 4:
            raise ValueError(f"a masking key is exactly 4 bytes, got {len(mask)}")
        head += mask
    return head


@dataclasses.dataclass
class Frame:
    """One frame with its payload already unmasked.

    ``header`` is the :class:`FrameHeader` it was read from or sent with (``None`` for
    a frame built in Python that has not been sent). ``wire_preview`` is the start of
    the payload exactly as it crossed the wire (still masked, if it was), kept only
    when a reader or connection is asked to keep it (for recording); else empty.

    >>> Frame(Opcode.TEXT, b"Hello").serialize().hex(" ")        # RFC 6455 §5.7
    '81 05 48 65 6c 6c 6f'
    """

    opcode: Opcode
    payload: bytes = b""
    fin: bool = True
    rsv1: bool = False
    rsv2: bool = False
    rsv3: bool = False
    header: Optional[FrameHeader] = dataclasses.field(default=None, compare=False, repr=False)
    wire_preview: bytes = dataclasses.field(default=b"", compare=False, repr=False)

    def check(self) -> None:
        """Raise :class:`LocalProtocolError` if this frame may not be sent (§5.2, §5.5).

        It is our own frame, so breaking a rule is our mistake, not the peer's.
        """
        if self.opcode not in OPCODES:
            raise LocalProtocolError(f"opcode 0x{self.opcode:X} is reserved (RFC 6455 §5.2)")
        if self.opcode >= 0x8:  # a control frame (§5.5)
            if not self.fin:
                raise LocalProtocolError("control frames must not be fragmented (RFC 6455 §5.5)")
            if len(self.payload) > MAX_CONTROL_PAYLOAD:
                raise LocalProtocolError(
                    f"control frame payload of {len(self.payload)} bytes: at most 125 are "
                    "allowed (RFC 6455 §5.5)"
                )

    def wire_header(self, mask: Optional[bytes] = None) -> FrameHeader:
        """The header this frame is sent with, every field filled in.

        A client passes a fresh random 4-byte ``mask`` for every frame (§5.3);
        a server passes none (§5.1: a server MUST NOT mask).
        """
        length = len(self.payload)
        raw = encode_frame_header(
            self.opcode,
            length,
            fin=self.fin,
            rsv1=self.rsv1,
            rsv2=self.rsv2,
            rsv3=self.rsv3,
            mask=mask,
        )
        return FrameHeader(
            fin=self.fin,
            rsv1=self.rsv1,
            rsv2=self.rsv2,
            rsv3=self.rsv3,
            opcode=Opcode(self.opcode),
            masked=mask is not None,
            mask=mask,
            length=length,
            length_case=length_case(length),
            header_size=len(raw),
            raw=raw,
        )

    def to_wire(self, mask: Optional[bytes] = None) -> Tuple[FrameHeader, bytes]:
        """The header and the payload exactly as they go on the wire (masked with ``mask``).

        Raises :class:`LocalProtocolError` if the frame may not be sent (:meth:`check`).
        """
        self.check()
        header = self.wire_header(mask)
        if mask is None:
            return header, self.payload
        return header, unmask_fast(self.payload, mask)  # XOR with the key masks, too

    def serialize(self, mask: Optional[bytes] = None) -> bytes:
        """Return the frame's bytes: header, then payload (masked with ``mask`` if given)."""
        header, payload = self.to_wire(mask)
        return header.raw + payload

    @classmethod
    def parse(cls, data: BytesLike, *, allowed_rsv: int = 0) -> Optional[Tuple["Frame", int]]:
        """Parse one whole frame from the start of ``data``.

        Returns ``(frame, bytes_used)``, or ``None`` if ``data`` does not yet hold
        the whole frame. Raises :class:`ProtocolError` like :func:`parse_frame_header`.
        """
        header = parse_frame_header(data, allowed_rsv=allowed_rsv)
        if header is None:
            return None
        end = header.header_size + header.length
        if len(data) < end:
            return None
        return cls.from_header(header, data[header.header_size : end]), end

    @classmethod
    def from_header(cls, header: FrameHeader, payload: BytesLike) -> "Frame":
        """Build a frame from a parsed header and its payload bytes as they arrived."""
        if header.mask is not None:
            payload = unmask_fast(payload, header.mask)
        return cls(
            header.opcode,
            bytes(payload),
            header.fin,
            header.rsv1,
            header.rsv2,
            header.rsv3,
            header,
        )
