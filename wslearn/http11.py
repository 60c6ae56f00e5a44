"""HTTP/1.1 heads: the part of HTTP a WebSocket handshake needs (RFC 7230).

The opening handshake (:mod:`wslearn.handshake`) is an HTTP request and its answer, so
both sides first read an HTTP *head*: a request line or status line, header lines, a
blank line::

    GET /chat HTTP/1.1\r\n
    Host: server.example.com\r\n
    Upgrade: websocket\r\n
    \r\n

This module reads a head from a buffer, telling *incomplete* (return ``None``: read more)
from *malformed* (raise, with the HTTP status to answer), within limits on line length
and header count so that a peer cannot fill memory by never ending its head. It also
writes the simple responses a server sends. No sockets here.

Header names are case-insensitive (RFC 7230 §3.2): ``Sec-WebSocket-Key`` and
``sec-websocket-key`` are the same header, and a proxy may re-case them.
``Connection`` and ``Upgrade`` hold comma-separated token lists: Firefox sends
``Connection: keep-alive, Upgrade``, which a plain string comparison rejects.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from .bytes_like import BytesLike
from .errors import HandshakeError, InvalidResponse

__all__ = [
    "Headers",
    "Request",
    "Response",
    "parse_request",
    "parse_response",
    "http_response",
    "MAX_LINE",
    "MAX_HEADERS",
    "REASONS",
]

#: Longest request line or header line accepted, in bytes (without CRLF).
MAX_LINE = 8192
#: Most header lines accepted in one request.
MAX_HEADERS = 128

#: Reason phrases for the statuses this module produces.
REASONS = {
    101: "Switching Protocols",
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    426: "Upgrade Required",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

# RFC 7230 §3.2.6: a header name is a "token".
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Field values: visible characters, spaces, tabs and obs-text; no other control bytes.
_BAD_VALUE_BYTE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_REQUEST_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP/(\d)\.(\d)")
_STATUS_LINE = re.compile(rb"HTTP/(\d)\.(\d) (\d{3})(?: (.*))?")


class Headers:
    """HTTP header fields: kept in order, looked up case-insensitively.

    >>> h = Headers([("Connection", "keep-alive, Upgrade")])
    >>> h["connection"], h.tokens("CONNECTION")
    ('keep-alive, Upgrade', ['keep-alive', 'upgrade'])
    """

    def __init__(self, items: Iterable[Tuple[str, str]] = ()) -> None:
        self._items: List[Tuple[str, str]] = list(items)

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """The value of the first header called ``name`` (any case), or ``default``."""
        lower = name.lower()
        for key, value in self._items:
            if key.lower() == lower:
                return value
        return default

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def get_all(self, name: str) -> List[str]:
        """Every value of headers called ``name``, in order (a header may repeat)."""
        lower = name.lower()
        return [value for key, value in self._items if key.lower() == lower]

    def tokens(self, name: str) -> List[str]:
        """The comma-separated tokens of every ``name`` header, lower-cased (RFC 7230 §7)."""
        return [
            token.strip().lower()
            for value in self.get_all(name)
            for token in value.split(",")
            if token.strip()
        ]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[Tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def items(self) -> List[Tuple[str, str]]:
        """All ``(name, value)`` pairs with the names as they were sent."""
        return list(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclasses.dataclass(frozen=True)
class Request:
    """A parsed HTTP request head. ``raw`` holds its bytes, up to the blank line."""

    method: str
    target: str
    version: str
    headers: Headers
    raw: bytes = dataclasses.field(repr=False, default=b"")

    @property
    def path(self) -> str:
        """The target without its query string."""
        return self.target.split("?", 1)[0]


@dataclasses.dataclass(frozen=True)
class Response:
    """A parsed HTTP response head."""

    status: int
    reason: str
    headers: Headers
    raw: bytes = dataclasses.field(repr=False, default=b"")


def _split_head(data: bytes, first_line_check) -> Optional[Tuple[List[bytes], bytes]]:
    """Find the end of an HTTP head; return its lines, or None if it hasn't all arrived.

    Enforces the line and header-count limits on what has arrived so far, so a
    peer that never ends its head is refused long before it fills memory.
    """
    end = data.find(b"\r\n\r\n")
    head = data if end < 0 else data[:end]
    lines = head.split(b"\r\n")
    if end < 0 and lines[-1].endswith(b"\r"):
        lines[-1] = lines[-1][:-1]  # the line's LF is still on its way
    if lines and lines[0] and first_line_check is not None:
        first_line_check(lines[0], complete=end >= 0 or len(lines) > 1)
    for number, line in enumerate(lines):
        if len(line) > MAX_LINE:
            what = "first line" if number == 0 else f"header line {number}"
            raise HandshakeError(431, f"{what} is longer than {MAX_LINE} bytes")
    headers = len(lines) - 1
    if end < 0 and lines[-1] == b"":
        headers -= 1  # after a CRLF: the next line (a header, or the blank line) hasn't begun
    if headers > MAX_HEADERS:
        raise HandshakeError(431, f"more than {MAX_HEADERS} header lines")
    if end < 0:
        return None
    return lines, data[: end + 4]


def _parse_header_lines(lines: Sequence[bytes]) -> Headers:
    items = []
    for line in lines:
        if line[:1] in (b" ", b"\t"):
            raise HandshakeError(
                400, "header line starts with whitespace (obsolete line folding, RFC 7230 §3.2.4)"
            )
        name, colon, value = line.partition(b":")
        if not colon:
            raise HandshakeError(400, f"header line without a colon: {line[:60]!r}")
        if not _TOKEN.fullmatch(name):
            raise HandshakeError(400, f"invalid header name {name[:60]!r}")
        value = value.strip(b" \t")
        if _BAD_VALUE_BYTE.search(value):
            raise HandshakeError(400, f"control character in the value of {name.decode()}")
        items.append((name.decode("ascii"), value.decode("latin-1")))
    return Headers(items)


def _check_request_line(line: bytes, complete: bool) -> None:
    if not complete:
        # Fail early on bytes that can never start an HTTP request line, e.g. a
        # TLS ClientHello sent to a plain ws:// port.
        if re.search(rb"[^\x21-\x7e ]", line):
            raise HandshakeError(
                400, "this is not an HTTP request (is the client using wss:// on a ws:// port?)"
            )
        return
    if not _REQUEST_LINE.fullmatch(line):
        raise HandshakeError(400, f"malformed request line {line[:80]!r}")


def parse_request(data: BytesLike) -> Optional[Request]:
    """Parse an HTTP request head from the start of ``data``.

    Returns ``None`` while the head is *incomplete* (no blank line yet, every
    limit still respected): read more and call again. Raises
    :class:`HandshakeError` when it is *malformed* (400) or too large (431):
    no amount of further reading would fix it. On success ``len(request.raw)``
    bytes were used; anything after them belongs to the WebSocket stream.
    """
    split = _split_head(bytes(data), _check_request_line)
    if split is None:
        return None
    lines, raw = split
    match = _REQUEST_LINE.fullmatch(lines[0])
    if match is None:  # e.g. an empty first line
        raise HandshakeError(400, f"malformed request line {lines[0][:80]!r}")
    method, target, major, minor = match.groups()
    if (int(major), int(minor)) < (1, 1):
        raise HandshakeError(
            400, f"HTTP/{major.decode()}.{minor.decode()}: WebSocket needs HTTP/1.1 (RFC 6455 §4.1)"
        )
    return Request(
        method=method.decode("ascii"),
        target=target.decode("latin-1"),
        version=f"HTTP/{major.decode()}.{minor.decode()}",
        headers=_parse_header_lines(lines[1:]),
        raw=raw,
    )


def parse_response(data: BytesLike) -> Optional[Response]:
    """Parse an HTTP response head; ``None`` while incomplete (like :func:`parse_request`).

    A client reads it, so what is wrong with it raises :class:`InvalidResponse`.
    """

    def check_status_line(line: bytes, complete: bool) -> None:
        if complete and not _STATUS_LINE.fullmatch(line):
            raise InvalidResponse(f"malformed status line {line[:80]!r}")

    try:
        split = _split_head(bytes(data), check_status_line)
        if split is None:
            return None
        lines, raw = split
        headers = _parse_header_lines(lines[1:])
    except HandshakeError as error:  # the limits and header rules shared with requests
        raise InvalidResponse(error.message) from None
    match = _STATUS_LINE.fullmatch(lines[0])
    if match is None:
        raise InvalidResponse(f"malformed status line {lines[0][:80]!r}")
    reason = (match.group(4) or b"").decode("latin-1")
    return Response(int(match.group(3)), reason, headers, raw)


def http_response(
    status: int,
    body: Union[bytes, str] = b"",
    *,
    content_type: str = "text/plain; charset=utf-8",
    headers: Iterable[Tuple[str, str]] = (),
) -> bytes:
    """Build a complete HTTP/1.1 response that closes the connection after the body."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = list(headers)
    # RFC 7230 §6.7: whoever sends Upgrade also names it in Connection.
    upgrade = any(name.lower() == "upgrade" for name, _ in headers)
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines += [
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Connection: Upgrade, close" if upgrade else "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
