"""Checks for the exercises of notebooks 05 (a live server) and 06 (talking back and closing).

Notebook 05:

* :func:`check_decode_frame` — one whole masked client frame in, ``(opcode, payload)`` out;
  run on the frames a real Chromium sent (``wslearn/data/chromium_frames.json``) and on random ones;
* :func:`check_shout` — a handler for :func:`wslearn.serve` that answers text in upper case and
  binary reversed, run against a real server on 127.0.0.1 with a ``websockets`` client.

Notebook 06:

* :func:`check_close_payload` — build a Close payload, refusing codes and reasons the RFC forbids;
* :func:`check_parse_close` — read a Close payload back (1005 for an empty one);
* :func:`check_pong_for` — the server's Pong for a client's Ping frame (§5.5.2, §5.5.3).

Each check compares with the library (:func:`~wslearn.parse_frame_header`, :func:`~wslearn.unmask`,
:class:`~wslearn.Close`, :class:`~wslearn.Frame`) and
explains a wrong answer in words, without printing the expected bytes.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from ..close import Close
from ..course_data import chromium_capture
from ..errors import ProtocolError
from ..frames import Frame, parse_frame_header
from ..masking import unmask
from ..opcodes import Opcode, close_code_is_valid
from . import (
    Case,
    CheckResult,
    ExerciseFailed,
    bytes_judge,
    describe_bytes,
    fixed_rng,
    not_bytes,
    run_cases,
)

__all__ = [
    "check_decode_frame",
    "check_shout",
    "check_close_payload",
    "check_parse_close",
    "check_pong_for",
]

RFC_KEY = bytes.fromhex("37fa213d")
_WAIT = 2.0  # seconds: the longest a check waits for one answer from the live server


def _filler(n: int) -> bytes:
    """The text the test page sends for its sized messages: abcdefghij repeated."""
    return (b"abcdefghij" * (n // 10 + 1))[:n]


def chromium_wire_frames() -> List[Tuple[str, bytes, int, bytes]]:
    """Rebuild each recorded Chromium frame whole: ``(what, wire bytes, opcode, payload)``.

    The file keeps only the first 64 payload bytes; the rest of each payload is known (the test
    page's filler text, bytes 0..255), so it is put back and masked with the frame's own key.
    """
    data = chromium_capture()
    contents = {
        0: "Hello".encode(),
        1: "Hello, 你好, 👋".encode(),
        2: _filler(125),
        3: _filler(126),
        4: _filler(65536),
        5: _filler(70000),
        6: bytes(range(256)),
        7: struct.pack("!H", 1000) + b"bye",
    }
    done: Dict[int, int] = {}
    out = []
    for f in data["frames"]:
        start = done.get(f["message"], 0)
        payload = contents[f["message"]][start : start + f["length"]]
        done[f["message"]] = start + f["length"]
        header = bytes.fromhex(f["header_hex"])
        key = bytes.fromhex(f["mask_hex"])
        wire = header + unmask(payload, key)
        assert payload[:64] == bytes.fromhex(f["payload_preview_hex"])
        assert wire[len(header) : len(header) + 64] == bytes.fromhex(f["wire_preview_hex"])
        out.append((f["what"], wire, f["opcode"], payload))
    return out


# --------------------------------------------------------------------------
# Notebook 05: decode_frame
# --------------------------------------------------------------------------


_LENGTH_CASES = {
    "7-bit": "Payload len is below 126, so no extended length follows",
    "16-bit": "Payload len says 126, so the real length is in the next 2 bytes",
    "64-bit": "Payload len says 127, so the real length is in the next 8 bytes",
}


def _misplaced_header(wire: bytes, got: bytes, header_size: int) -> Optional[Tuple[int, int]]:
    """Where a learner read the key and the payload, when ``got`` is right for another header size.

    Tries every header size a frame can have (6, 8 or 14 bytes with a key): if ``got`` is the
    stretch of ``wire`` starting at ``start``, unmasked with the 4 bytes at ``key_at``, and that is
    not where this frame's key and payload are, returns ``(key_at, start)``.
    """
    if not got:
        return None
    for key_at in (2, 4, 10):
        for start in (6, 8, 14):
            if (key_at, start) == (header_size - 4, header_size):
                continue
            stretch = wire[start : start + len(got)]
            if len(stretch) == len(got) and unmask(stretch, wire[key_at : key_at + 4]) == got:
                return key_at, start
    return None


def _judge_decode(wire: bytes, opcode: int, payload: bytes) -> Callable[[Any], Optional[str]]:
    header = parse_frame_header(wire)
    assert header is not None and header.mask is not None
    masked = wire[header.header_size :]
    size = header.header_size

    def judge(result: Any) -> Optional[str]:
        if not isinstance(result, tuple) or len(result) != 2:
            return f"your function returned {result!r:.80}; return a pair (opcode, payload)"
        got_opcode, got = result
        if got_opcode != opcode:
            if got_opcode == wire[0]:
                return (
                    f"your opcode was 0x{got_opcode:X}, the whole first byte: the opcode is only "
                    "its low four bits (FIN and the RSV bits sit above them)"
                )
            return f"your opcode was {got_opcode!r}, which is not what the first byte says"
        if isinstance(got, str):
            return (
                "your payload was a str; return the payload as bytes, even for a text frame "
                "(decoding UTF-8 is the next step, not this one)"
            )
        problem = not_bytes(got, "your payload")
        if problem:
            return problem
        got = bytes(got)
        if got == payload:
            return None
        if got == masked:
            return (
                "your payload is still masked: unmask it with the 4-byte key that comes right "
                "before the payload (§5.3)"
            )
        misplaced = _misplaced_header(wire, got, size)
        if misplaced:
            key_at, start = misplaced
            return (
                f"you read the key from bytes {key_at}–{key_at + 3} and the payload from byte "
                f"{start}, but this frame's header is {size} bytes long: it uses the "
                f"{header.length_case} length case ({_LENGTH_CASES[header.length_case]}), so "
                f"the key is bytes {size - 4}–{size - 1} and the payload starts at byte {size}"
            )
        if len(got) != len(payload):
            return (
                f"your payload has {len(got)} bytes, but this frame carries {header.length}: "
                f"for the {header.length_case} length case, check where the length is read and "
                "where the masking key starts"
            )
        if got == unmask(masked, wire[2:6]):
            return (
                "your payload was unmasked with bytes 2-5, but for this length case the key "
                "starts after the extended length field"
            )
        return (
            f"your payload has the right length ({len(got)} bytes) but different bytes: "
            "check the key (the 4 bytes before the payload) and that byte i of the payload is "
            "XORed with byte i MOD 4 of the key (§5.3)"
        )

    return judge


def _decode_cases() -> Iterator[Case]:
    hint = (
        "RFC 6455 §5.2: the opcode is the low four bits of the first byte; the 7-bit Payload "
        "len of the second byte is the length only up to 125, while 126 and 127 say that the "
        "real length follows in 2 or 8 more bytes (big-endian). The 4-byte masking key comes "
        "after the length, and then the payload, unmasked as in §5.3 (notebooks 03 and 04)."
    )
    yield Case(
        'the RFC\'s masked "Hello" (§5.7)',
        (bytes.fromhex("818537fa213d7f9f4d5158"),),
        _judge_decode(bytes.fromhex("818537fa213d7f9f4d5158"), 1, b"Hello"),
        hint,
    )
    for what, wire, opcode, payload in chromium_wire_frames():
        yield Case(
            f"Chromium's frame for {what} ({describe_bytes(wire, 10)})",
            (wire,),
            _judge_decode(wire, opcode, payload),
            hint,
        )
    rng = fixed_rng()
    for n in (0, 1, 3, 4, 7, 125, 126, 127, 1000, 65535, 65536, 70001):
        opcode = rng.choice([Opcode.TEXT, Opcode.BINARY, Opcode.CONT])
        key = bytes(rng.getrandbits(8) for _ in range(4))
        payload = rng.randbytes(n)
        wire = Frame(opcode, payload, fin=rng.random() < 0.8).serialize(key)
        yield Case(
            f"a random {n}-byte {opcode.name} frame ({describe_bytes(wire, 10)})",
            (wire,),
            _judge_decode(wire, int(opcode), payload),
            hint,
        )
    for opcode, payload in (
        (Opcode.PING, b"are you there?"),
        (Opcode.PONG, b""),
        (Opcode.CLOSE, b"\x03\xe9"),
    ):
        wire = Frame(opcode, payload).serialize(bytes.fromhex("00ff0080"))
        yield Case(
            f"a masked {opcode.name} frame ({describe_bytes(wire, 10)})",
            (wire,),
            _judge_decode(wire, int(opcode), payload),
            hint,
        )


def check_decode_frame(function: Callable) -> CheckResult:
    """Check ``decode_frame(data) -> (opcode, payload)`` for one whole masked client frame."""
    return run_cases("decode_frame", function, _decode_cases())


# --------------------------------------------------------------------------
# Notebook 05: shout, a handler for the live server
# --------------------------------------------------------------------------


class _NoReply:
    def __repr__(self) -> str:
        return "no reply"


_NO_REPLY = _NoReply()


def _shout_expected(message: Any) -> Any:
    return message.upper() if isinstance(message, str) else bytes(reversed(message))


def _judge_shout(message: Any) -> Callable[[Any], Optional[str]]:
    expected = _shout_expected(message)
    kind = "text" if isinstance(message, str) else "binary"

    def judge(result: Any) -> Optional[str]:
        if result is _NO_REPLY:
            return (
                f"no message came back within {_WAIT:g} s: a handler answers by calling "
                "connection.send(...); what it returns is thrown away"
            )
        if isinstance(message, str) and isinstance(result, bytes):
            return (
                "the answer to a text message arrived as a binary frame (opcode 2): send a str "
                "to answer with a text frame (opcode 1)"
            )
        if isinstance(message, bytes) and isinstance(result, str):
            return (
                "the answer to a binary message arrived as a text frame (opcode 1): send bytes "
                "to answer with a binary frame (opcode 2)"
            )
        if result == expected:
            return None
        if result == message:
            return f"the {kind} message came back unchanged, as the echo server would send it"
        if isinstance(message, bytes) and result == message.upper():
            return (
                "the binary message came back upper-cased: binary messages are bytes, not "
                "text, and this exercise reverses them"
            )
        return f"the answer to the {kind} message was {result!r:.60}, which is not the rule"

    return judge


def _about_message(message: Any) -> str:
    if isinstance(message, str):
        return f"the text message {message!r}"
    return f"the binary message {describe_bytes(message)}"


def check_shout(function: Callable) -> CheckResult:
    """Check a handler ``shout(connection, message)``: text → upper case, binary → reversed.

    Starts ``wslearn.serve(port=0, handler=function)`` on 127.0.0.1, sends each message from a
    ``websockets`` client (a fresh connection each, every wait bounded), and stops the server.
    """
    if not callable(function):
        raise ExerciseFailed("shout", f"expected a function, got {type(function).__name__}.")
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from ..serving import serve

    server = serve(
        port=0, handler=function, handshake_timeout=_WAIT, close_timeout=1.0, show_errors=False
    )

    def roundtrip(message: Any) -> Any:
        before = len(server.errors)
        try:
            with connect(server.url, open_timeout=_WAIT, close_timeout=1.0, compression=None) as ws:
                ws.send(message)
                try:
                    reply = ws.recv(timeout=_WAIT)
                except TimeoutError:
                    reply = _NO_REPLY
        except ConnectionClosed:
            reply = _NO_REPLY
        if len(server.errors) > before:
            raise server.errors[before][1]  # the handler raised: report it as the learner's error
        return reply

    messages: List[Any] = [
        "hello",
        "Hello, WebSocket!",
        "",
        "grüße, ñandú",
        "Hello, 你好, 👋",
        b"binary\x00data",
        b"\x01\x02\x03",
        b"",
        bytes(range(256)),
        "x" * 70000,
        bytes(range(200)) * 400,
    ]
    cases = (
        Case(
            _about_message(m),
            (m,),
            _judge_shout(m),
            "A text message reaches the handler as a str and a binary one as bytes. Answer "
            "with connection.send(...) and keep the type: it chooses the frame's opcode (§5.6).",
        )
        for m in messages
    )
    try:
        return run_cases("shout", roundtrip, cases)
    finally:
        server.stop()


# --------------------------------------------------------------------------
# Notebook 06: close_payload, parse_close, pong_for
# --------------------------------------------------------------------------


class _Raised:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"{type(self.error).__name__}: {self.error}"


def _catching(function: Callable, *errors: type) -> Callable:
    """Call ``function``; turn the expected errors into a :class:`_Raised` result for the judge."""

    def call(*args: Any) -> Any:
        try:
            return function(*args)
        except NotImplementedError:
            raise
        except errors as error:
            return _Raised(error)

    return call


def _judge_close_payload(code: int, reason: str) -> Callable[[Any], Optional[str]]:
    size = len(reason.encode("utf-8"))
    allowed = close_code_is_valid(code) and size <= 123

    def judge(result: Any) -> Optional[str]:
        if not allowed:
            if isinstance(result, _Raised):
                return None
            if not close_code_is_valid(code):
                why = {
                    1005: "1005 only reports 'the Close frame had no code'; it is never sent",
                    1006: "1006 only reports 'the connection dropped without a Close frame'",
                    1015: "1015 only reports a failed TLS handshake; it is never sent",
                    1004: "1004 is reserved",
                }.get(code, f"{code} is outside the codes that may be sent (§7.4)")
                return f"your function returned {result!r:.60}, but {why}: raise ValueError"
            return (
                f"your function returned a payload, but this reason is {size} bytes of UTF-8 "
                f"({len(reason)} characters) and only 123 fit (125 minus 2 for the code): "
                "raise ValueError"
            )
        if isinstance(result, _Raised):
            return (
                f"your function raised {result!r}, but code {code} with a {size}-byte reason may "
                "be sent"
                + (" (the limit counts UTF-8 bytes, not characters)" if size != len(reason) else "")
            )
        problem = not_bytes(result)
        if problem:
            return problem
        result = bytes(result)
        expected = Close(code, reason).serialize()
        if result == expected:
            return None
        if result[:2] == struct.pack("<H", code):
            return "the code's two bytes are in the wrong order: network byte order is big-endian"
        if len(result) == len(expected) + 2 and result[:4] == struct.pack("!I", code):
            return "the code takes exactly 2 bytes, not 4"
        if result[2:] != reason.encode("utf-8"):
            return "after the 2-byte code comes the reason, encoded as UTF-8, and nothing else"
        return f"your payload {describe_bytes(result)} does not start with the code as 2 bytes"

    return judge


def check_close_payload(function: Callable) -> CheckResult:
    """Check ``close_payload(code, reason) -> bytes`` (§5.5.1, §7.4)."""
    hint = (
        "RFC 6455 §5.5.1: a Close payload is the code as a 2-byte unsigned integer in network "
        "byte order (big-endian), then the reason in UTF-8. §7.4 says which codes may be sent "
        "(wslearn.close_code_is_valid knows them), and a control frame carries at most 125 "
        "bytes (§5.5), so the reason is limited in bytes, not in characters."
    )
    cases = [
        (1000, ""),
        (1000, "bye"),
        (1001, "going away"),
        (1002, "protocol error"),
        (1011, "handler error"),
        (3000, ""),
        (4999, "app-specific"),
        (4000, "你好, 👋"),
        (1000, "a" * 123),
        (1000, "é" * 61),  # 122 bytes
        (1000, "a" * 124),
        (1000, "é" * 62),  # 62 characters but 124 bytes
        (1000, "👋" * 31),  # 31 characters but 124 bytes
        (1005, ""),
        (1006, ""),
        (1015, ""),
        (1004, ""),
        (999, ""),
        (0, ""),
        (1016, ""),
        (2999, ""),
        (5000, ""),
    ]
    return run_cases(
        "close_payload",
        _catching(function, ValueError),
        (
            Case(
                f"code {code} and a reason of {len(r)} characters ({len(r.encode())} bytes)"
                if len(r) > 20
                else f"code {code} and reason {r!r}",
                (code, r),
                _judge_close_payload(code, r),
                hint,
            )
            for code, r in cases
        ),
    )


def _judge_parse_close(payload: bytes) -> Callable[[Any], Optional[str]]:
    def judge(result: Any) -> Optional[str]:
        if len(payload) == 1:
            if isinstance(result, _Raised):
                return None
            return (
                f"your function returned {result!r:.60}, but a 1-byte payload is broken: the code "
                "takes 2 bytes, so raise ValueError"
            )
        if isinstance(result, _Raised):
            return f"your function raised {result!r}, but this is a valid Close payload"
        if not isinstance(result, tuple) or len(result) != 2:
            return f"your function returned {result!r:.60}; return a pair (code, reason)"
        code, reason = result
        expected = Close.parse(payload)
        expected_code, expected_reason = expected.code, expected.reason
        if not payload and code != 1005:
            return (
                f"for an empty payload your code was {code!r}: an empty Close payload means "
                "'no code given', which is reported as 1005 (§7.1.5)"
            )
        if code != expected_code:
            if payload and code == int.from_bytes(payload[:2], "little"):
                return "you read the code least significant byte first; it is big-endian"
            return f"your code was {code!r}, which is not what the first two bytes say"
        if isinstance(reason, (bytes, bytearray)):
            return "your reason is bytes; decode it from UTF-8 to a str"
        if reason != expected_reason:
            return (
                f"your reason was {reason!r:.60}: it is everything after the 2-byte code, as UTF-8"
            )
        return None

    return judge


def check_parse_close(function: Callable) -> CheckResult:
    """Check ``parse_close(payload) -> (code, reason)`` (§5.5.1, §7.1.5)."""
    hint = (
        "RFC 6455 §5.5.1: a Close payload is either empty, which §7.1.5 reports as code 1005 "
        "with an empty reason, or a 2-byte big-endian code followed by a reason in UTF-8; a "
        "payload too short to hold the code is broken. Notebook 03 read big-endian lengths "
        "from bytes the same way."
    )
    payloads = [
        b"",
        b"\x03\xe8",
        b"\x03\xe8bye",
        struct.pack("!H", 1001) + b"server stopping",
        struct.pack("!H", 4000) + "你好, 👋".encode(),
        struct.pack("!H", 3000),
        struct.pack("!H", 1011) + b"x" * 123,
        b"\x03",
        b"\xe8",
    ]
    return run_cases(
        "parse_close",
        _catching(function, ValueError, ProtocolError),
        (
            Case(f"the payload {describe_bytes(p)}", (p,), _judge_parse_close(p), hint)
            for p in payloads
        ),
    )


def _judge_pong(ping: bytes) -> Callable[[Any], Optional[str]]:
    header = parse_frame_header(ping)
    assert header is not None and header.mask is not None
    body = ping[header.header_size :]
    payload = unmask(body, header.mask)
    expected = Frame(Opcode.PONG, payload).serialize()

    def explain(result: bytes) -> str:
        if len(result) < 2:
            return f"your frame {describe_bytes(result)} is shorter than a frame header"
        if result[0] & 0x0F == Opcode.PING:
            return "your frame is a PING (opcode 0x9); the answer is a PONG (opcode 0xA)"
        if result[0] != 0x8A:
            return (
                f"your first byte is 0x{result[0]:02x}: a Pong has FIN=1, no RSV bits and "
                "opcode 0xA"
            )
        if result[1] & 0x80:
            return "your Pong has the MASK bit set: a server never masks what it sends (§5.1)"
        if result[2:] == body and body != payload:
            return (
                "your Pong carries the Ping's payload still masked: unmask it first, "
                "then send it as it is"
            )
        if result[1] != len(payload):
            return f"your length byte says {result[1]}, but the Ping carried {len(payload)} bytes"
        return (
            "your Pong's payload is not the Ping's payload: §5.5.3 says the Pong echoes "
            "the Application data of the Ping exactly"
        )

    return bytes_judge(expected, explain)


def check_pong_for(function: Callable) -> CheckResult:
    """Check ``pong_for(ping_frame) -> bytes``: the server's Pong for a client's masked Ping."""
    hint = (
        "RFC 6455 §5.5.3: the Pong carries exactly the Ping's Application data, so unmask the "
        "Ping's payload first (§5.3). A server never masks (§5.1), so the Pong has MASK=0 and "
        "no key; its first byte holds FIN=1 and opcode 0xA, and a control frame's payload "
        "always fits the 7-bit length (§5.5)."
    )
    rng = fixed_rng()
    pings = [
        ('the RFC\'s "Hello" ping, masked', Frame(Opcode.PING, b"Hello").serialize(RFC_KEY)),
        ("an empty ping", Frame(Opcode.PING, b"").serialize(bytes.fromhex("a1b2c3d4"))),
        (
            "a ping with a 1-byte payload",
            Frame(Opcode.PING, b"\x00").serialize(bytes.fromhex("ff00ff00")),
        ),
    ]
    for n in (4, 8, 13, 64, 124, 125):
        key = bytes(rng.getrandbits(8) for _ in range(4))
        pings.append(
            (f"a ping with {n} random bytes", Frame(Opcode.PING, rng.randbytes(n)).serialize(key))
        )
    return run_cases(
        "pong_for",
        function,
        (
            Case(f"{about} ({describe_bytes(p, 10)})", (p,), _judge_pong(p), hint)
            for about, p in pings
        ),
    )
