"""Checks for notebooks 07 (streams, fragments, UTF-8) and 08 (from toy to real).

* :func:`check_split_frames` — whole frames out of a byte stream, whatever the chunking
* :func:`check_assemble` — messages out of frames: fragments and control frames in between (§5.4)
* :func:`check_utf8_safe_cut` — where a fragment's text can be cut without splitting a character
* :func:`check_origin_allowed` — an ``Origin`` allow-list (§10.2)
* :func:`check_read_exactly` — a ``recv()`` loop that reads exactly ``n`` bytes
"""

from __future__ import annotations

import random
from typing import Any, Callable, List, Optional

from ..frames import Frame
from ..opcodes import Opcode
from . import Case, CheckResult, describe_bytes, run_cases

__all__ = [
    "check_split_frames",
    "check_assemble",
    "check_utf8_safe_cut",
    "check_origin_allowed",
    "check_read_exactly",
]

KEY = bytes.fromhex("37fa213d")  # the masking key of RFC 6455 §5.7


def _text(data: str, *, fin: bool = True, mask: Optional[bytes] = None) -> bytes:
    return Frame(Opcode.TEXT, data.encode("utf-8"), fin=fin).serialize(mask)


# --------------------------------------------------------------------------- split_frames


def _split_judge(expected: List[bytes], rest: bytes) -> Callable[[Any], Optional[str]]:
    def judge(result: Any) -> Optional[str]:
        if not isinstance(result, tuple) or len(result) != 2:
            return f"your function returned {result!r}; it should return a pair (frames, rest)."
        frames, left = result
        if not isinstance(frames, list) or not all(
            isinstance(f, (bytes, bytearray)) for f in frames
        ):
            return "the first item should be a list of bytes objects, one per whole frame."
        if not isinstance(left, (bytes, bytearray)):
            return f"rest should be bytes, but it is a {type(left).__name__}."
        frames = [bytes(f) for f in frames]
        if len(frames) != len(expected):
            return (
                f"you found {len(frames)} whole frame(s), but the stream holds "
                f"{len(expected)} whole frame(s)."
            )
        for i, (got, want) in enumerate(zip(frames, expected), 1):
            if got != want:
                return (
                    f"frame {i} came back as {describe_bytes(got)}; it should be exactly the "
                    f"frame's bytes, header and payload, and it is {len(want)} bytes long."
                )
        if bytes(left) != rest:
            return (
                f"rest is {describe_bytes(left)}, but {len(rest)} byte(s) of an unfinished "
                "frame should be kept for the next recv()."
            )
        return None

    return judge


def _feed_in_chunks(function: Callable, stream: bytes, sizes: List[int]) -> tuple:
    """Drive ``function`` like a read loop: buffer += chunk; frames, buffer = f(buffer)."""
    buffer, found, pos, i = b"", [], 0, 0
    while pos < len(stream):
        size = sizes[i % len(sizes)]
        buffer += stream[pos : pos + size]
        pos, i = pos + size, i + 1
        result = function(buffer)
        if not isinstance(result, tuple) or len(result) != 2:
            return result
        frames, buffer = result
        found += [bytes(f) for f in frames]
        buffer = bytes(buffer)
    return found, buffer


def check_split_frames(split_frames: Callable[[bytes], tuple]) -> CheckResult:
    """Check ``split_frames(stream) -> (frames, rest)`` on whole, partial and chunked streams."""
    hello = bytes.fromhex("81 05 48 65 6c 6c 6f")
    hello_masked = bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58")
    medium = _text("é" * 100, mask=KEY)  # 200 bytes: 16-bit length
    big = Frame(Opcode.BINARY, bytes(range(256)) * 274).serialize()  # 70144 bytes: 64-bit
    ping = Frame(Opcode.PING, b"hi").serialize(KEY)
    mixed = [hello_masked, medium, ping, _text("", mask=KEY), big, hello]
    stream = b"".join(mixed)
    ten = [_text(f"message {i}", mask=KEY) for i in range(11)]
    ten_half = b"".join(ten[:10]) + ten[10][:8]
    length_hint = (
        "after the first 2 bytes, a length of 126 means the real length is in the next "
        "2 bytes, 127 in the next 8 (RFC 6455 §5.2)."
    )
    mask_hint = (
        "when the MASK bit is set, 4 bytes of masking key sit between length and payload "
        "(RFC 6455 §5.2)."
    )
    partial_hint = "return no frame until all of its bytes are there, and keep those bytes as rest."
    cases = [
        Case("the empty stream", (b"",), _split_judge([], b""), partial_hint),
        Case("one unmasked frame (81 05 'Hello')", (hello,), _split_judge([hello], b"")),
        Case(
            "one masked frame (RFC 6455 §5.7)",
            (hello_masked,),
            _split_judge([hello_masked], b""),
            mask_hint,
        ),
        Case("two frames in one stream", (hello + hello,), _split_judge([hello, hello], b"")),
        Case(
            "a single byte (81) — the header isn't complete yet",
            (b"\x81",),
            _split_judge([], b"\x81"),
            partial_hint,
        ),
        Case(
            "a header cut inside its 16-bit length (81 fe 00)",
            (medium[:3],),
            _split_judge([], medium[:3]),
            partial_hint,
        ),
        Case(
            "a whole 200-byte masked frame (16-bit length)",
            (medium,),
            _split_judge([medium], b""),
            length_hint,
        ),
        Case(
            "a whole 70144-byte frame (64-bit length)",
            (big,),
            _split_judge([big], b""),
            length_hint,
        ),
        Case(
            "a frame whose payload has not all arrived",
            (hello_masked + medium[:100],),
            _split_judge([hello_masked], medium[:100]),
            partial_hint,
        ),
        Case(
            "ten and a half frames in one read",
            (ten_half,),
            _split_judge(ten[:10], ten[10][:8]),
            partial_hint,
        ),
    ]
    # A read loop calls split_frames once per chunk with all that is left over: small chunks
    # go through the frames without the big one (a 70 KB frame in 1-byte chunks would be
    # 70 000 calls), and the big one's header is cut byte by byte on its own.
    small = [frame for frame in mixed if frame is not big]
    small_stream = b"".join(small)
    for sizes in ([1], [2], [3], [7], [5, 1, 300, 2]):
        fed = f"in chunks of {sizes[0]} byte(s)" if len(sizes) == 1 else "in uneven chunks"
        cases.append(
            Case(
                f"five frames fed {fed}, each call given what was left over plus the new chunk",
                (split_frames, small_stream, sizes),
                _split_judge(small, b""),
                partial_hint,
            )
        )
    for sizes in ([1024], [65536]):
        cases.append(
            Case(
                f"six frames, a 70144-byte one among them, fed in chunks of {sizes[0]} bytes",
                (split_frames, stream, sizes),
                _split_judge(mixed, b""),
                partial_hint,
            )
        )
    before_big = len(b"".join(mixed[: mixed.index(big)]))
    cases.append(
        Case(
            "a 70144-byte frame whose 10-byte header arrives one byte at a time",
            (split_frames, stream, [before_big] + [1] * 10 + [len(stream)]),
            _split_judge(mixed, b""),
            length_hint,
        )
    )
    rng = random.Random(6455)
    sizes = [rng.randint(1, 40) for _ in range(50)]
    cases.append(
        Case(
            "five frames fed in random small chunks",
            (split_frames, small_stream, sizes),
            _split_judge(small, b""),
            partial_hint,
        )
    )

    def call(*args: Any) -> Any:
        if len(args) == 1:
            return split_frames(*args)
        return _feed_in_chunks(*args)

    if not callable(split_frames):
        return run_cases("split_frames", split_frames, cases)
    return run_cases("split_frames", call, cases)


# --------------------------------------------------------------------------- assemble


def _messages_judge(expected: List[Any]) -> Callable[[Any], Optional[str]]:
    def judge(result: Any) -> Optional[str]:
        if not isinstance(result, list):
            return f"your function returned a {type(result).__name__}; it should return a list."
        if len(result) != len(expected):
            return (
                f"you returned {len(result)} message(s), but the frames hold "
                f"{len(expected)} message(s)."
            )
        for i, (got, want) in enumerate(zip(result, expected), 1):
            if isinstance(want, str) and not isinstance(got, str):
                return f"message {i} is text: return it as a str, not a {type(got).__name__}."
            if isinstance(want, bytes) and not isinstance(got, (bytes, bytearray)):
                return f"message {i} is binary: return it as bytes, not a {type(got).__name__}."
            if got != want:
                return f"message {i} came back as {got!r:.60}, which is not the message sent."
        return None

    return judge


def check_assemble(assemble: Callable[[List[Frame]], List[Any]]) -> CheckResult:
    """Check ``assemble(frames) -> messages`` (str for text, bytes for binary)."""
    T, B, C = Opcode.TEXT, Opcode.BINARY, Opcode.CONT
    ping, pong = Frame(Opcode.PING, b"ping!"), Frame(Opcode.PONG, b"pong!")
    frag_hint = (
        "a frame with FIN=0 starts a message; CONT frames go on with it until the one "
        "with FIN=1 (RFC 6455 §5.4)."
    )
    control_hint = (
        "Ping and Pong may arrive between the fragments of a message (RFC 6455 §5.4); "
        "they are not part of it."
    )
    utf8_hint = (
        "a character can be cut between two fragments: join the message's bytes and decode "
        "them once, when the last fragment is in (RFC 6455 §5.6)."
    )
    smile = "😀".encode("utf-8")
    cases = [
        Case("no frames at all", ([],), _messages_judge([])),
        Case("one text frame 'Hello'", ([Frame(T, b"Hello")],), _messages_judge(["Hello"])),
        Case("one binary frame", ([Frame(B, b"\x00\xff")],), _messages_judge([b"\x00\xff"])),
        Case("one empty text frame", ([Frame(T, b"")],), _messages_judge([""])),
        Case(
            "'Hel' (FIN=0) then CONT 'lo' (RFC 6455 §5.7)",
            ([Frame(T, b"Hel", fin=False), Frame(C, b"lo")],),
            _messages_judge(["Hello"]),
            frag_hint,
        ),
        Case(
            "three text messages, one frame each",
            ([Frame(T, b"a"), Frame(T, b"b"), Frame(T, b"c")],),
            _messages_judge(["a", "b", "c"]),
        ),
        Case(
            "'Hel' (FIN=0), a Ping, then CONT 'lo'",
            ([Frame(T, b"Hel", fin=False), ping, Frame(C, b"lo")],),
            _messages_judge(["Hello"]),
            control_hint,
        ),
        Case(
            "a Pong on its own between two messages",
            ([Frame(T, b"one"), pong, Frame(B, b"two")],),
            _messages_judge(["one", b"two"]),
            control_hint,
        ),
        Case(
            "a binary message in three fragments with a Ping and a Pong between them",
            (
                [
                    Frame(B, b"\x01", fin=False),
                    ping,
                    Frame(C, b"\x02", fin=False),
                    pong,
                    Frame(C, b"\x03"),
                ],
            ),
            _messages_judge([b"\x01\x02\x03"]),
            frag_hint,
        ),
        Case(
            "'café' cut inside the 'é' (c3 | a9) between two fragments",
            ([Frame(T, b"caf\xc3", fin=False), Frame(C, b"\xa9")],),
            _messages_judge(["café"]),
            utf8_hint,
        ),
        Case(
            "'😀' sent one byte per fragment",
            (
                [
                    Frame(T, smile[:1], fin=False),
                    Frame(C, smile[1:2], fin=False),
                    Frame(C, smile[2:3], fin=False),
                    Frame(C, smile[3:]),
                ],
            ),
            _messages_judge(["😀"]),
            utf8_hint,
        ),
        Case(
            "a fragmented text, then a fragmented binary, then a whole text",
            (
                [
                    Frame(T, b"ab", fin=False),
                    Frame(C, b"cd"),
                    Frame(B, b"\x00", fin=False),
                    ping,
                    Frame(C, b"\x01"),
                    Frame(T, "你好".encode()),
                ],
            ),
            _messages_judge(["abcd", b"\x00\x01", "你好"]),
            frag_hint,
        ),
        Case(
            "an empty final CONT frame",
            ([Frame(T, b"end", fin=False), Frame(C, b"")],),
            _messages_judge(["end"]),
            frag_hint,
        ),
    ]
    return run_cases("assemble", assemble, cases)


# --------------------------------------------------------------------------- utf8_safe_cut


def _cut_judge(data: bytes, expected: int) -> Callable[[Any], Optional[str]]:
    def judge(result: Any) -> Optional[str]:
        if isinstance(result, bool) or not isinstance(result, int):
            return f"your function returned {result!r}; it should return an int."
        if not 0 <= result <= len(data):
            return f"you returned {result}, which is not a position in {len(data)} bytes."
        if result > expected:
            return (
                f"you returned {result}, but data[:{result}] ends in the middle of a "
                "character, so it does not decode yet."
            )
        if result < expected:
            return (
                f"you returned {result}, but data[:{result}] leaves out a character that "
                "has already arrived whole."
            )
        return None

    return judge


def _safe_cut(data: bytes) -> int:
    for cut in range(len(data), max(-1, len(data) - 4), -1):
        try:
            data[:cut].decode("utf-8")
            return cut
        except UnicodeDecodeError:
            continue
    raise ValueError("not a valid start of UTF-8")


def check_utf8_safe_cut(utf8_safe_cut: Callable[[bytes], int]) -> CheckResult:
    """Check ``utf8_safe_cut(data) -> int`` on text cut at every byte position."""
    hint = (
        "look at the last 1 to 3 bytes: a byte 10xxxxxx continues a character, and the "
        "first byte of a character says how many bytes it takes (110xxxxx: 2, 1110xxxx: 3, "
        "11110xxx: 4), as in the table of this notebook (RFC 3629 §3)."
    )
    cases = [Case("the empty bytes b''", (b"",), _cut_judge(b"", 0), hint)]
    for text in ["Hello", "é", "café", "你好", "😀", "a😀b€", "€😀"]:
        data = text.encode("utf-8")
        for cut in range(1, len(data) + 1):
            part = data[:cut]
            if cut == len(data):
                about = f"all of {text!r} ({part.hex(' ')})"
            elif cut == 1:
                about = f"only the first byte of {text!r} ({part.hex()})"
            else:
                about = f"the first {cut} bytes of {text!r} ({part.hex(' ')})"
            cases.append(
                Case(
                    about,
                    (part,),
                    _cut_judge(part, _safe_cut(part)),
                    hint,
                )
            )
    return run_cases("utf8_safe_cut", utf8_safe_cut, cases)


# --------------------------------------------------------------------------- origin_allowed


def _bool_judge(expected: bool, why: str) -> Callable[[Any], Optional[str]]:
    def judge(result: Any) -> Optional[str]:
        if not isinstance(result, bool):
            return f"your function returned {result!r}; it should return True or False"
        if result != expected:
            verdict = "allowed" if result else "refused"
            return f"you {verdict} it, but {why}"
        return None

    return judge


def check_origin_allowed(origin_allowed: Callable[[Optional[str], list], bool]) -> CheckResult:
    """Check ``origin_allowed(origin, allowed) -> bool`` on look-alike and spoof-like origins."""
    jupyter = "http://localhost:8888"
    allowed = [jupyter, "https://course.example.org"]
    parse_hint = (
        "split an origin into scheme, host and port and compare all three; "
        "only the scheme and host ignore case"
    )
    same = "it is the same origin"
    cases = [
        Case("exactly an allowed origin", (jupyter, allowed), _bool_judge(True, same)),
        Case(
            "the second allowed origin",
            ("https://course.example.org", allowed),
            _bool_judge(True, same),
        ),
        Case(
            "'HTTP://LocalHost:8888' (different case)",
            ("HTTP://LocalHost:8888", allowed),
            _bool_judge(True, "scheme and host names are case-insensitive: " + same),
            parse_hint,
        ),
        Case(
            "'https://course.example.org.evil.example' (an allowed origin as a prefix)",
            ("https://course.example.org.evil.example", allowed),
            _bool_judge(False, "its host belongs to whoever owns evil.example"),
            "comparing the start of the string lets look-alike hosts in: " + parse_hint,
        ),
        Case(
            "'http://evil.example#http://localhost:8888' (an allowed origin at the end)",
            ("http://evil.example#http://localhost:8888", allowed),
            _bool_judge(False, "its host is evil.example"),
            parse_hint,
        ),
        Case(
            "'http://localhost:8889' (another port)",
            ("http://localhost:8889", allowed),
            _bool_judge(False, "another port is another origin (RFC 6454)"),
            parse_hint,
        ),
        Case(
            "'https://localhost:8888' (another scheme)",
            ("https://localhost:8888", allowed),
            _bool_judge(False, "another scheme is another origin (RFC 6454)"),
            parse_hint,
        ),
        Case(
            "'http://course.example.org' (https was allowed, not http)",
            ("http://course.example.org", allowed),
            _bool_judge(False, "another scheme is another origin (RFC 6454)"),
            parse_hint,
        ),
        Case(
            "'http://sub.localhost:8888' (a subdomain)",
            ("http://sub.localhost:8888", allowed),
            _bool_judge(False, "a subdomain is another host"),
            parse_hint,
        ),
        Case(
            "'https://course.example.org:443' (the default port written out)",
            ("https://course.example.org:443", allowed),
            _bool_judge(
                False,
                "ports are compared as written, and a browser never writes the default port in "
                "Origin (RFC 6454 §6.2): this value did not come from a browser's page",
            ),
            parse_hint,
        ),
        Case(
            "'null' (a sandboxed or file: page)",
            ("null", allowed + ["null"]),
            _bool_judge(
                False,
                "any page can send 'null' (sandboxed frames, file: pages), so it proves nothing "
                "even when listed",
            ),
            "the origin 'null' is never allowed, even when the list holds it: any page can get "
            "that origin (RFC 6454 §7)",
        ),
        Case(
            "no Origin header (None) and None not in the list",
            (None, allowed),
            _bool_judge(False, "only a list that contains None lets in clients without Origin"),
            "Origin is None when the header is missing",
        ),
        Case(
            "no Origin header (None) and None in the list",
            (None, allowed + [None]),
            _bool_judge(True, "the list says clients without Origin (not browsers) may connect"),
            "Origin is None when the header is missing",
        ),
        Case(
            "an allowed origin and an empty allow-list",
            (jupyter, []),
            _bool_judge(False, "an empty list allows nobody"),
        ),
        Case(
            "an origin with a trailing slash 'http://localhost:8888/'",
            ("http://localhost:8888/", allowed),
            _bool_judge(False, "a browser never sends a path in Origin: this one is not genuine"),
            parse_hint,
        ),
    ]
    return run_cases("origin_allowed", origin_allowed, cases)


# --------------------------------------------------------------------------- read_exactly


class _TooManyCalls(Exception):
    pass


class FakeRecv:
    """A stand-in for ``sock.recv``: returns the stream in small random chunks, never more
    than asked; ``b''`` once it is used up (the peer closed)."""

    def __init__(self, stream: bytes, seed: int = 0, max_chunk: int = 7) -> None:
        self.stream = stream
        self.pos = 0
        self.calls = 0
        self.eof_calls = 0
        self.bad_size: Optional[Any] = None
        self._rng = random.Random(seed)
        self._max = max_chunk

    def __call__(self, bufsize: int) -> bytes:
        self.calls += 1
        if isinstance(bufsize, bool) or not isinstance(bufsize, int) or bufsize <= 0:
            self.bad_size = bufsize
            raise ValueError(f"recv() was called with {bufsize!r}; it needs a positive int")
        if self.pos >= len(self.stream):
            self.eof_calls += 1
            if self.eof_calls > 3:
                raise _TooManyCalls()
            return b""
        size = min(bufsize, self._rng.randint(1, self._max))
        chunk = self.stream[self.pos : self.pos + size]
        self.pos += len(chunk)
        return chunk


def check_read_exactly(read_exactly: Callable[[Callable[[int], bytes], int], bytes]) -> CheckResult:
    """Check ``read_exactly(recv, n) -> bytes`` with a recv that returns small random chunks."""
    loop_hint = "recv(k) may return fewer than k bytes: keep calling it until you have n"
    over_hint = (
        "ask recv() only for the bytes still missing, never more: the rest is the next frame's"
    )
    eof_hint = "recv() returns b'' when the peer has closed: stop and raise EOFError then"
    data = bytes(range(256)) * 40

    def run(n: int, stream: bytes, seed: int) -> Any:
        fake = FakeRecv(stream, seed)
        try:
            result = read_exactly(fake, n)
        except _TooManyCalls:
            return ("loop", fake)
        except EOFError:
            return ("eof", fake)
        return ("ok", fake, result)

    def judge_read(n: int, stream: bytes) -> Callable[[Any], Optional[str]]:
        def judge(outcome: Any) -> Optional[str]:
            kind, fake = outcome[0], outcome[1]
            if kind == "loop":
                return "your function kept calling recv() after it returned b'' (the peer closed)"
            if kind == "eof":
                return "you raised EOFError, but all the bytes asked for were there to read"
            result = outcome[2]
            if not isinstance(result, (bytes, bytearray)):
                return f"your function returned {type(result).__name__}; it should return bytes"
            if fake.pos > n:
                return (
                    f"recv() handed out {fake.pos} bytes in total, more than the {n} asked for: "
                    "the extra bytes are lost for whoever reads next; ask recv() only for the "
                    "bytes still missing"
                )
            if len(result) != n:
                return f"you returned {len(result)} bytes instead of {n}"
            if bytes(result) != stream[:n]:
                return (
                    "you returned the right number of bytes, but not the bytes received, in order"
                )
            return None

        return judge

    def judge_eof(outcome: Any) -> Optional[str]:
        kind = outcome[0]
        if kind == "loop":
            return "your function kept calling recv() after it returned b'' (the peer closed)"
        if kind == "ok":
            return (
                f"the peer closed after 10 bytes, and your function returned "
                f"{describe_bytes(outcome[2])} instead of raising EOFError"
            )
        return None

    cases = []
    for n, seed in [(2, 1), (4, 2), (8, 3), (126, 4), (1000, 5), (10_000, 6)]:
        cases.append(
            Case(
                f"n={n}, with recv() returning 1 to 7 bytes at a time",
                (n, data, seed),
                judge_read(n, data),
                loop_hint,
            )
        )
    for n, seed in [(5, 7), (300, 8)]:
        cases.append(
            Case(
                f"n={n}, with more bytes waiting after those (the next frame)",
                (n, data, seed),
                judge_read(n, data),
                over_hint,
            )
        )
    cases.append(Case("n=0", (0, data, 9), judge_read(0, data)))
    cases.append(
        Case("n=20, but the peer closes after 10 bytes", (20, data[:10], 10), judge_eof, eof_hint)
    )
    if not callable(read_exactly):
        return run_cases("read_exactly", read_exactly, cases)
    return run_cases("read_exactly", run, cases)
