"""Checks for notebook 11 (your own client).

* :func:`check_client_frame` — a client's frame: FIN, opcode, MASK bit, length, key, masked payload
* :func:`check_accept_is_valid` — does a server's answer accept *our* handshake? (§4.1)

The judges build the expected frame with the library's own header encoder and unmasking
loop (:func:`~wslearn.frames.encode_frame_header`, :func:`~wslearn.masking.unmask_reference`),
and read a learner's frame back with :func:`~wslearn.frames.parse_frame_header`, so that a
wrong answer is described field by field.
"""

from __future__ import annotations

import base64
from typing import Any, Callable, Iterator, Optional

from ..errors import ProtocolError
from ..frames import encode_frame_header, parse_frame_header
from ..handshake import accept_key
from ..masking import unmask_reference
from ..opcodes import Opcode
from . import Case, CheckResult, bytes_judge, describe_bytes, fixed_rng, run_cases

__all__ = ["check_client_frame", "check_accept_is_valid"]

MASK_HINT = (
    "a client masks every frame (RFC 6455 §5.3): set the MASK bit (0x80 of the second byte), "
    "put the 4-byte key right after the length, then XOR payload byte i with key[i % 4]"
)
LENGTH_HINT = (
    "the length takes the shortest form (§5.2): up to 125 in the second byte, up to 65535 "
    "as 126 and two bytes, above that 127 and eight bytes, all in network byte order"
)

# --------------------------------------------------------------------------- client_frame


def _frame_judge(opcode: int, payload: bytes, key: bytes) -> Callable[[Any], Optional[str]]:
    header = encode_frame_header(opcode, len(payload), mask=key)
    expected = header + unmask_reference(payload, key)

    def explain(result: bytes) -> str:
        try:
            got = parse_frame_header(result)
        except ProtocolError as error:
            return f"your frame {describe_bytes(result)} does not parse: {error}"
        if got is None:
            return f"your frame {describe_bytes(result)} is shorter than its own header says"
        if not got.fin:
            return "FIN is clear: one whole message in one frame has FIN set (0x80 of byte 0)"
        if got.opcode != opcode:
            return f"the opcode is {int(got.opcode):#x}, not {opcode:#x}"
        if not got.masked:
            return "the MASK bit is clear: a client MUST mask every frame it sends (§5.1)"
        if got.length != len(payload):
            return f"the header says {got.length} payload bytes, not {len(payload)}"
        if result[: len(header)] != header:
            return f"the header is {describe_bytes(result[: len(header)])}: check its fields"
        if got.mask != key:
            return f"the masking key in the header is {got.mask.hex(' ')}, not the key given"
        if len(result) != len(expected):
            return f"the frame is {len(result)} bytes; header and payload make {len(expected)}"
        first = next(i for i, (a, b) in enumerate(zip(result, expected)) if a != b)
        return f"the header is right, but the payload differs from byte {first - len(header)}"

    return bytes_judge(expected, explain)


def _client_frame_cases() -> Iterator[Case]:
    rng = fixed_rng()
    key = bytes.fromhex("37 fa 21 3d")
    yield Case(
        "RFC 6455 §5.7's masked 'Hello' (key 37 fa 21 3d)",
        (Opcode.TEXT, b"Hello", key),
        _frame_judge(Opcode.TEXT, b"Hello", key),
        MASK_HINT,
    )
    yield Case(
        "an empty text message",
        (Opcode.TEXT, b"", key),
        _frame_judge(Opcode.TEXT, b"", key),
        "an empty payload still has a MASK bit and a key (§5.3)",
    )
    for size in (125, 126, 65535, 65536, 70000):
        payload = bytes(rng.getrandbits(8) for _ in range(size))
        key = bytes(rng.getrandbits(8) for _ in range(4))
        yield Case(
            f"a {size}-byte binary message",
            (Opcode.BINARY, payload, key),
            _frame_judge(Opcode.BINARY, payload, key),
            LENGTH_HINT,
        )
    for opcode, payload in ((Opcode.PING, b"are you there?"), (Opcode.CLOSE, b"\x03\xe8bye")):
        key = bytes(rng.getrandbits(8) for _ in range(4))
        yield Case(
            f"a {opcode.name} frame carrying {payload!r}",
            (opcode, payload, key),
            _frame_judge(opcode, payload, key),
            "control frames are masked by a client too, with their own key",
        )
    zero = b"\x00\x00\x00\x00"
    yield Case(
        "the key 00 00 00 00 (allowed, if unwise: the payload goes as it is)",
        (Opcode.TEXT, b"plain", zero),
        _frame_judge(Opcode.TEXT, b"plain", zero),
        "the key is in the header even when it changes nothing",
    )


def check_client_frame(client_frame: Callable[[int, bytes, bytes], bytes]) -> CheckResult:
    """Check ``client_frame(opcode, payload, key) -> bytes``: one whole frame, masked."""
    return run_cases("client_frame", client_frame, _client_frame_cases())


# ---------------------------------------------------------------------- accept_is_valid

KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 §1.3


def _response(*lines: str) -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _bool_judge(want: bool, why: str) -> Callable[[Any], Optional[str]]:
    def judge(result: Any) -> Optional[str]:
        if not isinstance(result, bool):
            return f"your function returned {result!r}; return True or False"
        if result == want:
            return None
        return f"your function returned {result}, but {why}"

    return judge


def _accept_cases() -> Iterator[Case]:
    good = accept_key(KEY)
    other_key = base64.b64encode(bytes(range(16))).decode()
    status = "HTTP/1.1 101 Switching Protocols"
    upgrade, connection = "Upgrade: websocket", "Connection: Upgrade"
    accept = f"Sec-WebSocket-Accept: {good}"
    status_hint = "the status line comes first: only 101 switches protocols (§4.1, step 1)"
    accept_hint = (
        "Sec-WebSocket-Accept must be base64(SHA-1(key + the GUID)) of the key *we* sent "
        "(§4.1, step 4): compute it and compare"
    )
    header_hint = (
        "header names are case-insensitive, and Upgrade and Connection are lists of tokens, "
        "compared without regard to case (§4.1, steps 2 and 3)"
    )
    cases = [
        ("RFC 6455 §1.3's answer", True, (status, upgrade, connection, accept), status_hint,
         "it is the RFC's own answer to the key"),
        ("an answer with extra headers and a subprotocol", True,
         (status, "Server: demo", upgrade, connection, accept, "Sec-WebSocket-Protocol: chat"),
         header_hint, "extra headers do not matter"),
        ("an answer with lower-case names and 'Connection: keep-alive, Upgrade'", True,
         (status, "upgrade: WebSocket", "connection: keep-alive, Upgrade",
          f"sec-websocket-accept: {good}"), header_hint,
         "names and tokens are compared without regard to case"),
        ("an answer with status 200", False, ("HTTP/1.1 200 OK", upgrade, connection, accept),
         status_hint, "200 is not 101: the server did not switch protocols"),
        ("a 403 Forbidden", False, ("HTTP/1.1 403 Forbidden", "Content-Length: 0"),
         status_hint, "the server refused"),
        ("a 101 whose Sec-WebSocket-Accept is for another key", False,
         (status, upgrade, connection, f"Sec-WebSocket-Accept: {accept_key(other_key)}"),
         accept_hint, "the accept value answers another key than ours"),
        ("a 101 that echoes the key back as it is", False,
         (status, upgrade, connection, f"Sec-WebSocket-Accept: {KEY}"), accept_hint,
         "the key itself is not the accept value"),
        ("a 101 without Sec-WebSocket-Accept", False, (status, upgrade, connection),
         accept_hint, "without the accept value nothing proves the server read our key"),
        ("a 101 without Upgrade", False, (status, connection, accept), header_hint,
         "the Upgrade header must say websocket"),
        ("a 101 with 'Connection: close'", False,
         (status, upgrade, "Connection: close", accept), header_hint,
         "Connection must contain the token Upgrade"),
    ]  # fmt: skip
    for about, want, lines, hint, why in cases:
        yield Case(about, (_response(*lines), KEY), _bool_judge(want, why), hint)


def check_accept_is_valid(accept_is_valid: Callable[[bytes, str], bool]) -> CheckResult:
    """Check ``accept_is_valid(response_head, key) -> bool``: a client reading the 101."""
    return run_cases("accept_is_valid", accept_is_valid, _accept_cases())
