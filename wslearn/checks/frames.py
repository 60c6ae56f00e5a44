"""Checks for the exercises of notebooks 03 (the frame header) and 04 (unmasking).

Notebook 03, RFC 6455 §5.2:

* :func:`check_payload_length` — read the payload length and the header size, or say "not yet";
* :func:`check_encode_header` — build a header with the shortest length encoding;
* :func:`check_is_control` — tell control opcodes from data opcodes (§5.5).

Notebook 04, RFC 6455 §5.3:

* :func:`check_unmask_loop` — XOR each byte with the key byte ``i % 4``;
* :func:`check_unmask_from` — the same, for a piece that starts in the middle of the payload;
* :func:`check_read_mask_key` — find the masking key, wherever the length case puts it.

Every case is compared with the library's own function (:func:`~wslearn.encode_frame_header`,
:func:`~wslearn.parse_frame_header`, :func:`~wslearn.unmask_reference`); a wrong answer is
explained in words, never by showing the expected bytes. Hints name the rule and its RFC section,
never the code that solves the exercise.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Iterator, List, Optional

from ..frames import encode_frame_header, length_case, parse_frame_header
from ..masking import unmask_reference
from ..opcodes import Opcode
from . import Case, CheckResult, bytes_judge, describe_bytes, fixed_rng, not_bytes, run_cases

__all__ = [
    "check_payload_length",
    "check_encode_header",
    "check_is_control",
    "check_unmask_loop",
    "check_unmask_from",
    "check_read_mask_key",
]

#: The key of RFC 6455 §5.7's masked examples.
RFC_KEY = bytes.fromhex("37fa213d")

#: Keys used by the cases: the RFC's, one with zero bytes, one with high bits set everywhere.
KEYS = (RFC_KEY, bytes.fromhex("00ff0080"), bytes.fromhex("a1b2c3d4"))


_HEADER_BYTES = {"7-bit": 2, "16-bit": 4, "64-bit": 10}


def _payload(n: int, rng: random.Random) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(n)) if n < 5000 else rng.randbytes(n)


def _about_frame(data: bytes) -> str:
    """ "a masked frame with a 200-byte payload (16-bit length case)"."""
    header = parse_frame_header(data)
    assert header is not None
    masked = "a masked" if header.masked else "an unmasked"
    return (
        f"{masked} frame with a {header.length}-byte payload "
        f"({header.length_case} length case), whose bytes start {describe_bytes(data[:14], 14)}"
    )


# --------------------------------------------------------------------------
# Notebook 03: the frame header
# --------------------------------------------------------------------------


def _judge_payload_length(data: bytes) -> Callable[[Any], Optional[str]]:
    header = parse_frame_header(data)

    def judge(result: Any) -> Optional[str]:
        if header is None:
            if result is None:
                return None
            return (
                f"your function returned {result!r}, but these {len(data)} bytes do not hold the "
                "whole header yet: the rest is still on its way, so the answer is None"
            )
        if result is None:
            return (
                f"your function returned None, but these {len(data)} bytes already hold the "
                "whole header"
            )
        if not isinstance(result, tuple) or len(result) != 2:
            return f"your function returned {result!r}; return a pair (length, header_size)"
        length, size = result
        seven = data[1] & 0x7F
        if length != header.length:
            if seven >= 126 and length == seven:
                return (
                    f"your length was {length}, the value of the 7-bit field itself; "
                    f"{seven} is not a length but a signal that a longer length field follows"
                )
            width = _HEADER_BYTES[header.length_case] - 2
            field = bytes(data[2 : 2 + width])
            if width and length == int.from_bytes(field, "little"):
                return (
                    f"your length was {length}: you read the extended length field "
                    "least significant byte first, but the network byte order is big-endian"
                )
            return f"your length was {length}, which is not what this header announces"
        if size != header.header_size:
            if header.masked and size == header.header_size - 4:
                return (
                    f"your header_size was {size}: it leaves out the 4-byte masking key, "
                    "which is part of the header (the payload starts after it)"
                )
            width = _HEADER_BYTES[header.length_case] - 2
            if width and size in (header.header_size - width, header.header_size - width - 4):
                return (
                    f"your header_size was {size}: it leaves out the {width}-byte extended "
                    "length field, which is part of the header"
                )
            return (
                f"your header_size was {size}, but the payload does not start there: "
                "count every byte before it"
            )
        return None

    return judge


def _payload_length_cases() -> Iterator[Case]:
    hint = (
        "RFC 6455 §5.2: the 7-bit Payload len field (the low 7 bits of the second byte) is the "
        "length itself up to 125; 126 says the length is in the next 2 bytes, 127 in the next 8, "
        "most significant byte first; when the MASK bit is set, the 4 key bytes belong to the "
        "header too. While the data is shorter than the whole header, the answer is None."
    )
    frames: List[bytes] = [
        bytes.fromhex("8105") + b"Hello",  # RFC §5.7 unmasked
        bytes.fromhex("818537fa213d7f9f4d5158"),  # RFC §5.7 masked
        bytes.fromhex("0103") + b"Hel",  # RFC §5.7 first fragment
        bytes.fromhex("8900"),  # an empty ping
    ]
    for n in (0, 22, 125, 200, 126, 256, 65535, 70000, 65536):
        for key in (None, RFC_KEY):
            frames.append(encode_frame_header(Opcode.BINARY, n, mask=key))
    # A 16-bit length whose two bytes differ, and a 64-bit one beyond 32 bits: byte order shows.
    frames.append(encode_frame_header(Opcode.TEXT, 0x1234, mask=KEYS[2]))
    frames.append(encode_frame_header(Opcode.BINARY, 0x0102030405, mask=None))
    for data in frames:
        yield Case(_about_frame(data), (data,), _judge_payload_length(data), hint)
    # Incomplete headers: every proper prefix of a few real ones.
    for full in (
        bytes.fromhex("818537fa213d"),
        bytes.fromhex("81fe00c8") + RFC_KEY,
        bytes.fromhex("81ff0000000000011170") + RFC_KEY,
        bytes.fromhex("827e0100"),
    ):
        for cut in range(len(full)):
            data = full[:cut]
            if cut == 0:
                about = "no bytes at all (b'')"
            elif cut == 1:
                about = f"only the first byte of a header ({data.hex()})"
            else:
                about = f"the first {cut} bytes of a {len(full)}-byte header ({data.hex(' ')})"
            yield Case(
                about,
                (data,),
                _judge_payload_length(data),
                hint,
            )
    # Any bytes-like object will do, as from a bytearray receive buffer.
    data = bytearray(bytes.fromhex("81fe00c8") + RFC_KEY + bytes(200))
    yield Case("a header in a bytearray", (data,), _judge_payload_length(bytes(data)), hint)


def check_payload_length(function: Callable) -> CheckResult:
    """Check ``payload_length(data) -> (length, header_size)``, or ``None`` if incomplete."""
    return run_cases("payload_length", function, _payload_length_cases())


def _judge_encode_header(opcode: int, length: int, mask: Optional[bytes]) -> Callable:
    expected = encode_frame_header(opcode, length, mask=mask)
    case = length_case(length)

    def explain(result: bytes) -> str:
        if len(result) != len(expected):
            need = f"the {case} length case needs {_HEADER_BYTES[case]}"
            if mask is not None:
                need += ", plus 4 for the masking key"
            return f"your header was {len(result)} bytes; {need}"
        b0 = result[0]
        if not b0 & 0x80:
            return (
                "the FIN bit (the top bit of the first byte) is 0; this frame is the whole message"
            )
        if b0 & 0x70:
            return "an RSV bit is set in the first byte; no extension is in use, so they stay 0"
        if b0 & 0x0F != opcode:
            return (
                f"the opcode bits (the low 4 bits of the first byte) hold 0x{b0 & 0x0F:X}, "
                f"not the opcode you were given (0x{opcode:X})"
            )
        b1 = result[1]
        if bool(b1 & 0x80) != (mask is not None):
            if mask is not None:
                return "the MASK bit (the top bit of the second byte) is 0, but a key was given"
            return "the MASK bit (the top bit of the second byte) is 1, but no key was given"
        if b1 & 0x7F != expected[1] & 0x7F:
            if case == "7-bit":
                return f"the 7-bit Payload len field says {b1 & 0x7F}, not the payload's length"
            return (
                f"the 7-bit Payload len field says {b1 & 0x7F}; for the {case} length case it "
                "must hold the value that announces that case"
            )
        width = _HEADER_BYTES[case] - 2
        field = result[2 : 2 + width]
        if width and field != expected[2 : 2 + width]:
            if int.from_bytes(field, "little") == length:
                return (
                    "the extended length is written least significant byte first; the network "
                    "byte order is big-endian (most significant byte first)"
                )
            return f"the {8 * width}-bit extended length field does not hold {length}"
        return (
            "the last 4 bytes are not the masking key you were given; it goes right after "
            "the length, unchanged"
        )

    return bytes_judge(expected, explain)


def _encode_header_cases() -> Iterator[Case]:
    hint = (
        "RFC 6455 §5.2: a length of 0–125 goes in the 7-bit Payload len field itself; 126–65535 "
        "is announced by 126 and written in the next 2 bytes, anything larger by 127 and the "
        "next 8, in network byte order (most significant byte first). With a key, the MASK bit "
        "is 1 and the key follows the length. The table of the three length cases in this "
        "notebook shows every case."
    )
    cases = [
        (Opcode.TEXT, 5, None),  # RFC §5.7 "Hello" from a server
        (Opcode.TEXT, 5, RFC_KEY),  # ... and from a client
        (Opcode.PING, 0, None),
        (Opcode.CLOSE, 5, KEYS[1]),  # Chromium's close 1000 "bye"
        (Opcode.TEXT, 22, KEYS[2]),
        (Opcode.BINARY, 125, None),
        (Opcode.BINARY, 126, None),
        (Opcode.BINARY, 126, RFC_KEY),
        (Opcode.TEXT, 200, RFC_KEY),
        (Opcode.BINARY, 256, None),  # RFC §5.7
        (Opcode.BINARY, 0x1234, None),
        (Opcode.BINARY, 65535, KEYS[1]),
        (Opcode.BINARY, 65536, None),  # RFC §5.7
        (Opcode.TEXT, 70000, RFC_KEY),
        (Opcode.BINARY, 2**32 + 5, None),
        (Opcode.CONT, 1000, KEYS[2]),
    ]
    for opcode, length, key in cases:
        who = "with the key " + key.hex(" ") if key is not None else "without a key"
        about = f"a {length}-byte payload (opcode 0x{int(opcode):X}, {who})"
        kwargs = {"mask": key} if key is not None else {}
        yield Case(
            about, (int(opcode), length), _judge_encode_header(opcode, length, key), hint, kwargs
        )


def check_encode_header(function: Callable) -> CheckResult:
    """Check ``encode_header(opcode, length, mask=None) -> bytes`` (FIN=1, shortest length)."""
    return run_cases("encode_header", function, _encode_header_cases())


def _is_control_cases() -> Iterator[Case]:
    hint = (
        "RFC 6455 §5.2 splits the sixteen opcodes in two halves: look at the opcode's most "
        "significant bit, and remember that a reserved value belongs to a kind too (§5.5)."
    )
    for value in range(16):
        want = bool(value & 0x8)
        try:
            name = Opcode(value).name
        except ValueError:
            name = "reserved"

        def judge(
            result: Any, want: bool = want, value: int = value, name: str = name
        ) -> Optional[str]:
            if not isinstance(result, bool):
                return f"your function returned {result!r}; return True or False"
            if result == want:
                return None
            if name == "reserved":
                kind = "control" if want else "data"
                return (
                    f"your function returned {result}; 0x{value:X} is reserved, but reserved "
                    f"for a future {kind} frame (§5.2), so it still counts as {kind}"
                )
            return f"your function returned {result} for {name}"

        yield Case(f"opcode 0x{value:X} ({name})", (value,), judge, hint)
    yield Case(
        "Opcode.PING (an IntEnum)",
        (Opcode.PING,),
        lambda r: None if r is True else f"your function returned {r!r} for Opcode.PING",
        hint,
    )


def check_is_control(function: Callable) -> CheckResult:
    """Check ``is_control(opcode) -> bool`` on all sixteen opcodes."""
    return run_cases("is_control", function, _is_control_cases())


# --------------------------------------------------------------------------
# Notebook 04: unmasking
# --------------------------------------------------------------------------


def _judge_unmask(data: bytes, key: bytes, offset: int = 0) -> Callable[[Any], Optional[str]]:
    expected = unmask_reference(data, key, offset)

    def judge(result: Any) -> Optional[str]:
        problem = not_bytes(result)
        if problem:
            return problem
        result = bytes(result)
        if result == expected:
            return None
        if len(result) != len(data):
            return (
                f"your result has {len(result)} bytes; unmasking never changes the length, "
                f"so it must have {len(data)}"
            )
        if offset % 4 and result == unmask_reference(data, key, 0):
            return (
                f"your result is what a piece starting at payload byte 0 would give: the offset "
                f"{offset} made no difference, but this piece starts at key byte {offset % 4}"
            )
        if result == bytes(data):
            return "your result is the input unchanged; every byte must be XOR-ed with a key byte"
        first = next(i for i in range(len(data)) if result[i] != expected[i])
        if first >= 4 and result[:4] == expected[:4] and len(data) > 4:
            return (
                f"the first 4 bytes are right but byte {first} is wrong: the 4-byte key "
                "repeats over the whole payload"
            )
        return (
            f"byte {first} of your result is wrong (it pairs with key byte {(offset + first) % 4})"
        )

    return judge


def _unmask_loop_cases() -> Iterator[Case]:
    hint = (
        "RFC 6455 §5.3: every byte is XOR-ed with the key byte at the same position modulo 4, "
        "so the 4-byte key repeats over the whole payload; the result is bytes, as long as "
        "the input."
    )
    yield Case(
        "the masked 'Hello' of RFC 6455 §5.7 (7f 9f 4d 51 58, key 37 fa 21 3d)",
        (bytes.fromhex("7f9f4d5158"), RFC_KEY),
        _judge_unmask(bytes.fromhex("7f9f4d5158"), RFC_KEY),
        hint,
    )
    rng = fixed_rng()
    for n in (0, 1, 3, 4, 5, 8, 127, 1000, 4099):
        for key in KEYS:
            data = _payload(n, rng)
            about = f"a {n}-byte payload with the key {key.hex(' ')}"
            yield Case(about, (data, key), _judge_unmask(data, key), hint)
    data = bytearray(_payload(10, rng))
    yield Case(
        "a payload in a bytearray", (data, RFC_KEY), _judge_unmask(bytes(data), RFC_KEY), hint
    )


def check_unmask_loop(function: Callable) -> CheckResult:
    """Check ``unmask_loop(data, key) -> bytes`` against :func:`wslearn.unmask_reference`."""
    return run_cases("unmask_loop", function, _unmask_loop_cases())


def _unmask_from_cases() -> Iterator[Case]:
    hint = (
        "RFC 6455 §5.3 counts positions from the start of the whole payload: the piece's first "
        "byte is payload byte offset, so it pairs with the key byte at that position modulo 4, "
        "not with the first key byte."
    )
    rng = fixed_rng()
    for offset in range(9):
        for key in KEYS[:2]:
            data = _payload(11, rng)
            about = f"an 11-byte piece at offset {offset} with the key {key.hex(' ')}"
            yield Case(about, (data, key, offset), _judge_unmask(data, key, offset), hint)
    # A payload cut into pieces the way recv() cuts it: each piece must continue the last.
    payload = _payload(3000, rng)
    for cuts in ((5,), (1, 2, 3), (7, 1500, 2999), (4, 8, 13)):
        bounds = (0,) + cuts + (len(payload),)
        for start, end in zip(bounds, bounds[1:]):
            piece = payload[start:end]
            about = (
                f"bytes {start}–{end - 1} of a 3000-byte payload cut at {list(cuts)} "
                f"(offset={start})"
            )
            yield Case(about, (piece, KEYS[2], start), _judge_unmask(piece, KEYS[2], start), hint)
    big = _payload(100_000, rng)
    yield Case(
        "a 100000-byte piece at offset 70001",
        (big, RFC_KEY, 70001),
        _judge_unmask(big, RFC_KEY, 70001),
        hint,
    )


def check_unmask_from(function: Callable) -> CheckResult:
    """Check ``unmask_from(data, key, offset) -> bytes``: resuming in the middle of the key."""
    return run_cases("unmask_from", function, _unmask_from_cases())


def _judge_read_mask_key(frame: bytes) -> Callable[[Any], Optional[str]]:
    header = parse_frame_header(frame)
    assert header is not None

    def judge(result: Any) -> Optional[str]:
        if header.mask is None:
            if result is None:
                return None
            return (
                f"your function returned {result!r}, but the MASK bit is 0: this frame has no key, "
                "so the answer is None"
            )
        if result is None:
            return "your function returned None, but the MASK bit is 1: this frame has a key"
        problem = not_bytes(result)
        if problem:
            return problem
        result = bytes(result)
        if result == header.mask:
            return None
        if len(result) != 4:
            return f"your key has {len(result)} bytes; a masking key is always 4"
        if header.length_case != "7-bit" and result == frame[2:6]:
            return (
                "your key is bytes 2–5, but here they belong to the extended length field: "
                f"in the {header.length_case} length case the key comes later"
            )
        return "those 4 bytes are not where the key sits in this header"

    return judge


def _read_mask_key_cases() -> Iterator[Case]:
    hint = (
        "RFC 6455 §5.2: the key follows the length, so where it starts depends on the 7-bit "
        "field: right after the first 2 bytes for 0–125, after 2 more length bytes for 126, "
        "after 8 more for 127. With the MASK bit at 0 there is no key."
    )
    rng = fixed_rng()
    frames = [bytes.fromhex("818537fa213d7f9f4d5158"), bytes.fromhex("8105") + b"Hello"]
    for n, key in (
        (0, KEYS[1]),
        (22, KEYS[2]),
        (125, RFC_KEY),
        (126, KEYS[2]),
        (200, RFC_KEY),
        (65535, KEYS[1]),
        (65536, KEYS[2]),
        (70000, RFC_KEY),
        (300, None),
        (70000, None),
    ):
        frames.append(encode_frame_header(Opcode.TEXT, n, mask=key) + _payload(n, rng))
    for frame in frames:
        yield Case(_about_frame(frame), (frame,), _judge_read_mask_key(frame), hint)


def check_read_mask_key(function: Callable) -> CheckResult:
    """Check ``read_mask_key(frame) -> bytes`` (the 4-byte key), ``None`` if unmasked."""
    return run_cases("read_mask_key", function, _read_mask_key_cases())
