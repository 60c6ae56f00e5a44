"""The course's one-page reference, ``notebooks/REFERENCE.md``, written from the library itself.

A page typed by hand drifts: a default changes in :mod:`wslearn.server`, and the page goes on
saying the old one. So every number on this page is read from the module that owns it, or found
by *asking* the library, as a learner would: header sizes are ``len(encode_frame_header(...))``;
each handshake status is what :func:`~wslearn.handshake.validate_request` answers a crafted
request; each close code for a broken rule is what a :class:`~wslearn.connection.Connection`
fails with when fed the broken frame; "may be sent" is :func:`~wslearn.opcodes.close_code_is_valid`;
the limits are the defaults of :class:`~wslearn.server.Server`. Only the words are written here,
and a probe that stops getting its answer stops the generator rather than print a wrong page::

    python -m wslearn.reference            # print the page
    python -m wslearn.reference --write    # write notebooks/REFERENCE.md
    python -m wslearn.reference --check    # exit 1 if notebooks/REFERENCE.md is not up to date
"""

from __future__ import annotations

import argparse
import inspect
import itertools
import sys
import textwrap
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from . import frames
from .close import Close
from .connection import DEFAULT_MAX_SIZE, MAX_EMPTY_FRAGMENTS, Connection
from .errors import HandshakeError
from .events import Failed
from .frames import MAX_CONTROL_PAYLOAD, OPCODES, Frame, encode_frame_header, length_case
from .handshake import GUID, accept_key, accept_response, client_request, validate_request
from .http11 import MAX_HEADERS, MAX_LINE, REASONS, parse_request, parse_response
from .opcodes import CloseCode, Opcode, close_code_is_valid

__all__ = ["PAGE", "reference_markdown", "main"]

#: Where the page lives in the course: beside the notebooks, which link to it as ``REFERENCE.md``.
PAGE = Path(__file__).resolve().parent.parent / "notebooks" / "REFERENCE.md"

#: The key of RFC 6455 §1.3 and the masking key of §5.7, so the page shows the RFC's bytes.
RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
RFC_MASK = bytes.fromhex("37fa213d")
KEYS = (None, RFC_MASK)  # a server's frames, then a client's
HOST, ORIGIN = "server.example.com", "http://example.com"

OPCODE_MEANINGS = {
    Opcode.CONT: "continues a fragmented message (§5.4)",
    Opcode.TEXT: "a text message, UTF-8 (else close {utf8})",
    Opcode.BINARY: "a binary message, any bytes",
    Opcode.CLOSE: "starts or answers the closing handshake (§5.5.1)",
    Opcode.PING: "asks for a Pong carrying the same payload (§5.5.2)",
    Opcode.PONG: "answers a Ping; sent alone, a heartbeat (§5.5.3)",
}

CLOSE_MEANINGS = {
    CloseCode.NORMAL_CLOSURE: "normal end: the purpose is fulfilled",
    CloseCode.GOING_AWAY: "server going down, or browser leaving the page",
    CloseCode.PROTOCOL_ERROR: "the peer broke a rule of the protocol",
    CloseCode.UNSUPPORTED_DATA: "a kind of data it cannot take (e.g. binary)",
    CloseCode.NO_STATUS_RCVD: "reported: the Close frame had no code",
    CloseCode.ABNORMAL_CLOSURE: "reported: TCP ended without a Close frame",
    CloseCode.INVALID_DATA: "data inconsistent with its type (text not UTF-8)",
    CloseCode.POLICY_VIOLATION: "a message breaks the endpoint's policy",
    CloseCode.MESSAGE_TOO_BIG: "a message too big to process",
    CloseCode.MANDATORY_EXTENSION: "client: the server did not agree to an extension it needs",
    CloseCode.INTERNAL_ERROR: "server: an unexpected condition",
    CloseCode.SERVICE_RESTART: "server restarting (IANA registry)",
    CloseCode.TRY_AGAIN_LATER: "server overloaded: try again later (IANA)",
    CloseCode.BAD_GATEWAY: "a gateway got a bad answer upstream (IANA)",
    CloseCode.TLS_HANDSHAKE: "reported: the TLS handshake failed",
}

#: The unregistered numbers, by range, as §7.4.2 and the IANA registry divide them.
CLOSE_RANGES = [
    (0, 999, "not used"),
    (1004, 1004, "reserved"),
    (1016, 2999, "reserved for RFC 6455, its extensions and future RFCs"),
    (3000, 3999, "libraries and frameworks (registered with IANA)"),
    (4000, 4999, "private use: free for applications"),
    (5000, 65535, "outside every range"),
]


def _table(head: Sequence[str], rows: Iterable[Sequence[object]]) -> List[str]:
    """A Markdown table, one line per row."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _number(n: int) -> str:
    """``65,535``, and the 64-bit limit as a power of two."""
    return "2⁶³ − 1" if n == 2**63 - 1 else f"{n:,}"


def _amount(value: object, unit: str = "s") -> str:
    """A default as a reader wants it: ``1 MiB``, ``64 KiB``, ``20 s``, ``none``."""
    if isinstance(value, int) and unit == "bytes":
        size, name = (2**20, "MiB") if value % 2**20 == 0 else (2**10, "KiB")
        return f"{value // size} {name}" if value % size == 0 else f"{value:,} bytes"
    return "none" if value is None else f"{value:g} {unit}"


def _failure(role: str, data: bytes, max_size: Optional[int] = DEFAULT_MAX_SIZE) -> int:
    """The close code a ``role`` connection fails with when ``data`` arrives (a probe)."""
    connection = Connection(role, max_size=max_size)
    for event in connection.receive_data(data):
        if isinstance(event, Failed):
            return event.code
    raise RuntimeError(f"a {role} accepted {data[:16].hex(' ')}...: the probe is out of date")


def _masked(frame: Frame) -> bytes:
    """A frame as a client sends it, masked with §5.7's key."""
    return frame.serialize(mask=RFC_MASK)


def _diagram() -> List[str]:
    """The §5.2 diagram, as :mod:`wslearn.frames` documents it (the indented block after ``::``)."""
    doc = frames.__doc__
    if not doc or "::\n" not in doc:
        raise RuntimeError("wslearn.frames has no header diagram (docstrings stripped by -OO?)")
    block = doc.split("::\n", 1)[1].strip("\n").split("\n\n")[0]
    return ["```text", *textwrap.dedent(block).splitlines(), "```"]


def _runs(numbers: Sequence[int]) -> List[List[int]]:
    """Runs of consecutive numbers: ``[3, 4, 5, 11]`` → ``[[3, 4, 5], [11]]``."""
    groups = itertools.groupby(enumerate(numbers), key=lambda pair: pair[1] - pair[0])
    return [[n for _, n in group] for _, group in groups]


def _frame_section() -> List[str]:
    """The §5.2 diagram, the bits of the first two bytes, and the opcodes."""
    bits = ", ".join(
        f"`{name}` 0x{getattr(frames, name):02X}" for name in ("FIN", "RSV1", "RSV2", "RSV3")
    )
    reserved = [value for value in range(16) if value not in OPCODES]
    reserved_text = ", ".join(f"0x{run[0]:X}–0x{run[-1]:X}" for run in _runs(reserved))
    reserved_code = _failure("server", encode_frame_header(reserved[0], 0, mask=RFC_MASK))
    lines = ["## Frame header (§5.2)", "", *_diagram(), ""]
    lines.append(
        f"Byte 0: {bits}, opcode 0x{frames.OPCODE:02X}. Byte 1: `MASK` 0x{frames.MASK:02X}, "
        f"payload length 0x{frames.PAYLOAD_LEN:02X}. An RSV bit is 0 unless a negotiated "
        "extension gives it a meaning (permessage-deflate: RSV1)."
    )
    lines += ["", "### Opcodes (§5.2, §11.8)", ""]
    utf8 = _failure("server", _masked(Frame(Opcode.TEXT, b"\xff")))
    kinds = {True: "control", False: "data"}
    rows = [
        (f"0x{op:X}", op.name, kinds[op.is_control], OPCODE_MEANINGS[op].format(utf8=utf8))
        for op in Opcode
    ]
    rows.append(
        (reserved_text, "—", "reserved", f"never valid: the receiver fails with {reserved_code}")
    )
    lines += _table(("Opcode", "Name", "Kind", "Meaning"), rows)
    lines += [
        "",
        f"Control frames: FIN = 1 and at most {MAX_CONTROL_PAYLOAD} payload bytes; they may "
        "come between the fragments of a message (§5.5).",
    ]
    return lines


def _length_section() -> List[str]:
    """The three cases, each sized by building a header (unmasked and masked) at both ends."""
    cases: Dict[str, List[int]] = {}
    for n in (0, 125, 126, 0xFFFF, 0x10000, 2**63 - 1):
        cases.setdefault(length_case(n), []).append(n)
    rows = []
    for name, (low, high) in cases.items():
        sizes = [{len(encode_frame_header(2, n, mask=key)) for n in (low, high)} for key in KEYS]
        if any(len(size) != 1 for size in sizes):
            raise RuntimeError(f"the {name} case has headers of different sizes: {sizes}")
        (plain,), (masked,) = sizes
        field = encode_frame_header(2, high)[1] & frames.PAYLOAD_LEN
        seven = "the length" if field == high else str(field)
        extended = "none" if plain == 2 else f"{(plain - 2) * 8}-bit"
        rows.append((f"{_number(low)}–{_number(high)}", name, seven, extended, plain, masked))
    long_form = _failure("server", bytes.fromhex("82fe0005") + RFC_MASK + b"hello")
    top_bit = _failure("server", bytes.fromhex("82ff80") + bytes(7) + RFC_MASK)
    hello = Frame(Opcode.TEXT, b"Hello")
    lines = ["## Payload length: three cases (§5.2)", ""]
    head = ("Payload bytes", "Case", "7-bit field", "Extended length", "Header", "Masked")
    lines += _table(head, rows)
    lines += [
        "",
        f"The shortest form MUST be used (else {long_form}), and a 64-bit length's top bit "
        f"MUST be 0 (else {top_bit}).",
        f'§5.7, `"Hello"` from a server: `{hello.serialize().hex(" ")}`; from a client, key '
        f"`{RFC_MASK.hex(' ')}`: `{_masked(hello).hex(' ')}`.",
    ]
    return lines


def _masking_section() -> List[str]:
    """Who masks, what breaking the rule costs, and what masking is for."""
    plain = Frame(Opcode.TEXT, b"Hi").serialize()
    unmasked_code = _failure("server", plain)
    masked_code = _failure("client", _masked(Frame(Opcode.TEXT, b"Hi")))
    return [
        "## Masking (§5.1, §5.3)",
        "",
        "- Client → server: every frame masked (`MASK` = 1), with a fresh, unpredictable "
        f"4-byte key each time. A server receiving an unmasked frame fails with {unmasked_code}.",
        "- Server → client: never masked. A client receiving a masked frame fails with "
        f"{masked_code}.",
        "- `masked[i] = payload[i] XOR key[i % 4]`; the same XOR unmasks. Not encryption: the key "
        "travels in the frame. It keeps a page's bytes from looking like HTTP to a proxy (§10.3).",
    ]


# ---------------------------------------------------------------------- handshake


def _request(
    method: str = "GET", drop: str = "", change: Tuple[str, str] = ("", ""), extra: str = ""
) -> bytes:
    """The §1.3 request from a page at ``ORIGIN``, one header dropped or changed, lines added."""
    request, _ = client_request(HOST, "/chat", key=RFC_KEY, origin=ORIGIN)
    lines = request.decode("latin-1").split("\r\n")[:-2]
    lines[0] = lines[0].replace("GET", method, 1)
    lines = [line for line in lines if not (drop and line.startswith(drop + ":"))]
    name, value = change
    lines = [f"{name}: {value}" if name and line.startswith(name + ":") else line for line in lines]
    return ("\r\n".join(lines) + extra + "\r\n\r\n").encode("latin-1")


def _status(data: bytes, *, check_origin: bool = True) -> int:
    """The status a server allowing pages of ``ORIGIN`` (or all) answers ``data`` with (a probe)."""
    try:
        request = parse_request(data)
        if request is None:
            raise RuntimeError("the probe request is incomplete")
        validate_request(request, origins=[ORIGIN] if check_origin else None)
    except HandshakeError as error:
        return error.status
    return 101


FOREIGN = ("Origin", "https://evil.example")
LONG_LINE = "\r\nX: " + "a" * MAX_LINE
MANY_HEADERS = "\r\nX: 1" * MAX_HEADERS

#: Each way to get a refusal: what is wrong, and how :func:`_request` makes the request.
REFUSALS: List[Tuple[str, Dict[str, Any]]] = [
    ("method is not GET", {"method": "POST"}),
    ("no `Host`", {"drop": "Host"}),
    ("`Connection` lacks `Upgrade`", {"change": ("Connection", "keep-alive")}),
    ("`Sec-WebSocket-Key` is not 16 bytes in base64", {"change": ("Sec-WebSocket-Key", "c2g=")}),
    ("`Origin` not allowed", {"change": FOREIGN}),
    ("no `Upgrade: websocket`", {"drop": "Upgrade"}),
    ("`Sec-WebSocket-Version` is not 13", {"change": ("Sec-WebSocket-Version", "8")}),
    (f"a line over {MAX_LINE:,} bytes", {"extra": LONG_LINE}),
    (f"over {MAX_HEADERS} header lines", {"extra": MANY_HEADERS}),
]


def required_headers() -> List[Tuple[str, str, int]]:
    """``(name, value, status)`` of each header of the §1.3 request that a server requires.

    Found by asking: a header is required if the request without it is refused (``status``),
    with no Origin policy in the way.
    """
    if _status(_request()) != 101:
        raise RuntimeError("the §1.3 request is refused: the probes are out of date")
    request = parse_request(_request())
    if request is None:
        raise RuntimeError("the §1.3 request is incomplete")
    found = []
    for name, value in request.headers:
        status = _status(_request(drop=name), check_origin=False)
        if status != 101:
            found.append((name, value, status))
    return found


def _handshake_section() -> List[str]:
    """The request's required headers, the 101 for the §1.3 key, and every refusal."""
    rows = [(f"`{name}`", f"`{value}`", status) for name, value, status in required_headers()]
    rows.append(
        ("`Origin` (browsers)", "a page the server allows", _status(_request(change=FOREIGN)))
    )
    lines = ["## Opening handshake (§4)", ""]
    lines += ["`GET /chat HTTP/1.1`, then these headers (§4.1, §4.2.1):", ""]
    lines += _table(("Header", "Value (§1.3)", "Missing or wrong"), rows)
    lines += [
        "",
        "Optional: `Sec-WebSocket-Protocol` (subprotocols, by preference), "
        "`Sec-WebSocket-Extensions`. The server's answer (§4.2.2):",
        "",
        "```http",
        *accept_response(RFC_KEY).decode("ascii").strip().split("\r\n"),
        "```",
        "",
        f'`Sec-WebSocket-Accept` = base64(SHA-1(key + `"{GUID}"`)): '
        f"`{accept_key(RFC_KEY)}`. A plain hash, no secret: proof the server read this request.",
        "",
    ]
    return lines + _status_table()


def _status_table() -> List[str]:
    """Every status the server answers with, each with the probes that got it."""
    whens: Dict[int, List[str]] = {101: ["a valid request"]}
    for what, how in REFUSALS:
        whens.setdefault(_status(_request(**how)), []).append(what)
    whens.setdefault(_busy_status(), []).append("`max_connections` already open")
    rows = [(status, REASONS[status], "; ".join(whens[status])) for status in sorted(whens)]
    return _table(("Status", "Reason", "Sent when"), rows)


# ---------------------------------------------------------------------- close


def _close_section() -> List[str]:
    """Every registered code, every other range, and what a broken Close payload gets."""
    rows: List[Tuple[int, str, str, str, str]] = []
    for code in CloseCode:
        sent = "may be sent" if close_code_is_valid(code) else "**never**"
        rows.append((code, str(int(code)), code.name, sent, CLOSE_MEANINGS[code]))
    for low, high, meaning in CLOSE_RANGES:
        valid = {close_code_is_valid(n) for n in range(low, high + 1)}
        if len(valid) != 1:
            raise RuntimeError(f"close codes {low}–{high} are not all alike: update CLOSE_RANGES")
        span = str(low) if low == high else f"{low}–{high}"
        rows.append((low, span, "—", "may be sent" if valid.pop() else "never", meaning))
    rows.sort()
    lines = ["## Close codes (§7.4)", ""]
    lines += _table(("Code", "Name", "On the wire", "Meaning"), [row[1:] for row in rows])
    probes = [_failure("server", _masked(Frame(Opcode.CLOSE, payload)))
              for payload in (b"\x03", b"\x03\xed", b"\x03\xe8\xff")]  # fmt: skip
    lines += [
        "",
        f"A Close payload is empty (reported as {Close.parse(b'').code}), or a 2-byte code then "
        f"a UTF-8 reason of at most {MAX_CONTROL_PAYLOAD - 2} bytes. A 1-byte payload fails "
        f"with {probes[0]}, a code that may not be sent with {probes[1]}, a reason that is not "
        f"UTF-8 with {probes[2]}. Each side sends one Close and answers the other's; then the "
        "server closes TCP (§7.1.1).",
    ]
    return lines


def _limits_section() -> List[str]:
    """The limits of :class:`~wslearn.server.Server`, with their defaults and what they stop."""
    from .server import Server  # the server loads sockets and threads: only when asked

    default = {name: p.default for name, p in inspect.signature(Server).parameters.items()}
    empty = _masked(Frame(Opcode.CONT, fin=False))
    endless = _masked(Frame(Opcode.TEXT, fin=False)) + empty * MAX_EMPTY_FRAGMENTS
    big = _failure("server", _masked(Frame(Opcode.BINARY, b"12345")), max_size=4)
    rows = [
        ("`max_size`", _amount(default["max_size"], "bytes"), "one huge message", f"close {big}"),
        ("`MAX_EMPTY_FRAGMENTS`", f"{MAX_EMPTY_FRAGMENTS:,}", "a message of empty fragments",
         f"close {_failure('server', endless)}"),
        ("`MAX_LINE`", _amount(MAX_LINE, "bytes"), "an endless request line or header",
         _status(_request(extra=LONG_LINE))),
        ("`MAX_HEADERS`", MAX_HEADERS, "endless header lines",
         _status(_request(extra=MANY_HEADERS))),
        ("`handshake_timeout`", _amount(default["handshake_timeout"]), "a request never finished",
         "socket closed"),
        ("`ping_interval`, `ping_timeout`",
         f"{_amount(default['ping_interval'])}, {_amount(default['ping_timeout'])}",
         "a peer that vanished without a word", f"close {int(CloseCode.INTERNAL_ERROR)}"),
        ("`write_limit`, `write_timeout`",
         f"{_amount(default['write_limit'], 'bytes')}, {_amount(default['write_timeout'])}",
         "a peer that never reads", f"close {int(CloseCode.POLICY_VIOLATION)}"),
        ("`close_timeout`", _amount(default["close_timeout"]),
         "a peer that never answers the Close", "TCP cut"),
        ("`max_connections`", f"{_amount(default['max_connections'])} (no cap)",
         "running out of file descriptors", _busy_status()),
        ("`origins`", f"`{default['origins']}`", "pages of other sites (§10.2)",
         _status(_request(change=FOREIGN))),
    ]  # fmt: skip
    lines = ["## Limits a server should set", ""]
    lines += _table(("Limit", "wslearn default", "Stops", "Beyond it"), rows)
    lines += [
        "",
        "Lower-case names are options of `wslearn.serve(...)` (and `python -m wslearn serve`); "
        "upper-case ones are constants of `wslearn.connection` and `wslearn.http11`.",
    ]
    return lines


def _busy_status() -> int:
    """The status of the answer a server too busy to take one more client sends."""
    from .spare_descriptor import BUSY  # a socket helper: imported only when the page is made

    response = parse_response(BUSY)
    if response is None:
        raise RuntimeError("the server's busy answer is not a whole HTTP response")
    return response.status


def reference_markdown() -> str:
    """The whole page, as Markdown: the same text every time the library is the same."""
    lines = [
        "<!-- Generated by `python -m wslearn.reference --write` from the wslearn library: "
        "edit wslearn/reference.py, not this file. -->",
        "",
        "# WebSocket (RFC 6455) on one page",
        "",
        "[← Course index](00_index.ipynb) · Every number here is read from `wslearn` itself, "
        "or found by asking it (a crafted request, a broken frame); `python -m wslearn.reference "
        "--check` proves the page is up to date. Section numbers are RFC 6455's.",
        "",
    ]
    sections = [_frame_section, _length_section, _masking_section]
    for section in sections + [_handshake_section, _close_section, _limits_section]:
        lines += section() + [""]
    lines.append("[← Course index](00_index.ipynb)")
    return "\n".join(lines) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m wslearn.reference [--write | --check] [--path PATH]``."""
    parser = argparse.ArgumentParser(
        prog="python -m wslearn.reference",
        description="Print the course's one-page reference, or write or check the committed one.",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="write the page to --path")
    action.add_argument("--check", action="store_true", help="exit 1 if --path is out of date")
    parser.add_argument("--path", type=Path, default=PAGE, help=f"default {PAGE}")
    args = parser.parse_args(argv)
    text = reference_markdown()
    if args.write:
        args.path.write_text(text, encoding="utf-8")
        print(f"wrote {args.path}")
    elif args.check:
        old = args.path.read_text(encoding="utf-8") if args.path.exists() else None
        if old != text:
            print(f"{args.path} is out of date: python -m wslearn.reference --write")
            return 1
        print(f"{args.path} is up to date")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
