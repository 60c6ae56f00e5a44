"""The opening handshake: an HTTP/1.1 Upgrade request and its 101 answer (RFC 6455 §4).

A WebSocket connection starts as plain HTTP on a TCP socket. The client asks::

    GET /chat HTTP/1.1
    Host: server.example.com
    Upgrade: websocket
    Connection: Upgrade
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==
    Sec-WebSocket-Version: 13

and the server, if it agrees, answers ``101 Switching Protocols`` with
``Sec-WebSocket-Accept`` computed from the key (:func:`accept_key`). From then
on both sides speak frames.

This module parses a request head from a buffer (telling *incomplete* from
*malformed*), validates it, and builds the answer — a 101, or a refusal with
the HTTP status that says what was wrong. It also does the client's half:
build a request, check the server's response. No sockets here.

Header names are case-insensitive (RFC 7230 §3.2): ``Sec-WebSocket-Key`` and
``sec-websocket-key`` are the same header, and a proxy may re-case them.
``Connection`` and ``Upgrade`` hold comma-separated token lists: Firefox sends
``Connection: keep-alive, Upgrade``, which a plain string comparison rejects.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import os
import re
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from .bytes_like import BytesLike
from .errors import HandshakeError, InvalidResponse

__all__ = [
    "GUID",
    "accept_key",
    "Headers",
    "Request",
    "Response",
    "parse_request",
    "validate_request",
    "accept_response",
    "reject_response",
    "http_response",
    "client_request",
    "parse_response",
    "check_response",
    "MAX_LINE",
    "MAX_HEADERS",
    "REASONS",
]

#: The fixed GUID of RFC 6455 §1.3, appended to every key before hashing.
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

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


def accept_key(key: str) -> str:
    """Compute ``Sec-WebSocket-Accept`` from the client's ``Sec-WebSocket-Key`` (§1.3, §4.2.2).

    Append the GUID to the key (as text, exactly as received), hash with
    **SHA-1** (a plain hash — not an HMAC, and no secret involved), and
    base64-encode the 20-byte digest. It proves the server read *this*
    handshake and understands WebSocket; it is not a security feature.

    >>> accept_key("dGhlIHNhbXBsZSBub25jZQ==")
    's3pPLMBiTxaQ9kYGzzhZRbK+xOo='
    """
    digest = hashlib.sha1((key + GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


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


def _single(headers: Headers, name: str) -> Optional[str]:
    values = headers.get_all(name)
    if len(values) > 1:
        raise HandshakeError(400, f"{name} sent {len(values)} times; it must appear once")
    return values[0] if values else None


def validate_request(
    request: Request,
    *,
    origins: Optional[Sequence[Optional[str]]] = None,
    subprotocols: Sequence[str] = (),
) -> Tuple[str, Optional[str]]:
    """Check a request against RFC 6455 §4.2.1; return ``(key, subprotocol)``.

    Raises :class:`HandshakeError` with the status a server must answer:

    * 405 if the method is not GET;
    * 426 Upgrade Required if ``Upgrade`` does not name ``websocket``, or
      ``Sec-WebSocket-Version`` is not 13. RFC 6455 §4.4 asks for the version
      answer; RFC 6455 §4.2.1 only says "an appropriate error code (such as 400)"
      for the rest, and 426 is the HTTP status for "switch protocols first" (RFC 7231
      §6.5.15), so both answers carry ``Upgrade: websocket`` and
      ``Sec-WebSocket-Version: 13``;
    * 400 if ``Host`` is missing, ``Connection`` lacks the ``upgrade`` token, or
      ``Sec-WebSocket-Key`` is not the base64 encoding of exactly 16 bytes;
    * 403 if ``origins`` is given and the ``Origin`` header is not in it (a browser
      always sends Origin; put ``None`` in the list to allow clients that don't).

    ``subprotocol`` is the first protocol the client offers that is also in
    ``subprotocols`` (§4.2.2), or ``None``.
    """
    headers = request.headers
    if request.method != "GET":
        raise HandshakeError(
            405, f"method {request.method}: a WebSocket handshake uses GET", (("Allow", "GET"),)
        )
    if "websocket" not in headers.tokens("Upgrade"):
        raise HandshakeError(
            426,
            "this is a WebSocket endpoint: send 'Upgrade: websocket' (RFC 6455 §4.2.1)",
            (("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")),
        )
    if "upgrade" not in headers.tokens("Connection"):
        raise HandshakeError(400, "the Connection header must contain the token 'Upgrade'")
    if not _single(headers, "Host"):
        raise HandshakeError(400, "missing Host header (RFC 6455 §4.1)")
    version = _single(headers, "Sec-WebSocket-Version")
    if version != "13":
        raise HandshakeError(
            426,
            f"Sec-WebSocket-Version {version!r} is not supported; use 13 (RFC 6455 §4.4)",
            # RFC 7231 §6.5.15: a 426 response MUST say which protocol to upgrade to.
            (("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")),
        )
    key = _single(headers, "Sec-WebSocket-Key")
    if key is None:
        raise HandshakeError(400, "missing Sec-WebSocket-Key header")
    try:
        raw_key = base64.b64decode(key.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise HandshakeError(400, f"Sec-WebSocket-Key {key!r} is not base64") from None
    if len(raw_key) != 16:
        raise HandshakeError(
            400, f"Sec-WebSocket-Key decodes to {len(raw_key)} bytes; it must be 16 (RFC 6455 §4.1)"
        )
    if origins is not None:
        origin = _single(headers, "Origin")
        allowed = {o.lower() if o is not None else None for o in origins}
        if (origin.lower() if origin is not None else None) not in allowed:
            raise HandshakeError(403, f"origin {origin!r} is not allowed to connect")
    offered = [t.strip() for v in headers.get_all("Sec-WebSocket-Protocol") for t in v.split(",")]
    chosen = next((p for p in offered if p in subprotocols), None)
    return key, chosen


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


def reject_response(error: HandshakeError) -> bytes:
    """The HTTP answer that refuses a handshake: status, extra headers, plain-text reason."""
    return http_response(error.status, error.message + "\n", headers=error.headers)


def accept_response(key: str, subprotocol: Optional[str] = None) -> bytes:
    """The ``101 Switching Protocols`` answer for a valid request with this key (§4.2.2).

    (The 2010 drafts also had ``WebSocket-Origin`` and ``WebSocket-Location``
    headers; RFC 6455 has neither, and browsers ignore them.)
    """
    lines = [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {accept_key(key)}",
    ]
    if subprotocol is not None:
        lines.append(f"Sec-WebSocket-Protocol: {subprotocol}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


# ---------------------------------------------------------------------- client side


def client_request(
    host: str,
    path: str = "/",
    *,
    origin: Optional[str] = None,
    key: Optional[str] = None,
    subprotocols: Sequence[str] = (),
    extra_headers: Iterable[Tuple[str, str]] = (),
) -> Tuple[bytes, str]:
    """Build a client's opening handshake; return ``(request_bytes, key)`` (§4.1).

    The key is 16 random bytes, base64-encoded, new for every connection. Keep
    it: :func:`check_response` needs it to verify the server's answer.
    """
    if key is None:
        key = base64.b64encode(os.urandom(16)).decode("ascii")
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if origin is not None:
        lines.append(f"Origin: {origin}")
    if subprotocols:
        lines.append(f"Sec-WebSocket-Protocol: {', '.join(subprotocols)}")
    lines += [f"{name}: {value}" for name, value in extra_headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), key


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


def check_response(
    response: Response, key: str, *, subprotocols: Sequence[str] = ()
) -> Optional[str]:
    """Check the server's answer to our handshake (§4.1, client steps 1–6).

    Returns the subprotocol the server chose (or ``None``). Raises
    :class:`~wslearn.errors.InvalidResponse` (carrying the server's status) if the
    server refused, or if its 101 is not a valid WebSocket acceptance of *our* key.
    """
    headers = response.headers
    if response.status != 101:
        raise InvalidResponse(
            f"server answered {response.status} {response.reason}, not 101", response.status
        )
    if "websocket" not in headers.tokens("Upgrade"):
        raise InvalidResponse("101 response without 'Upgrade: websocket'", 101)
    if "upgrade" not in headers.tokens("Connection"):
        raise InvalidResponse("101 response without 'Connection: Upgrade'", 101)
    expected = accept_key(key)
    got = headers.get("Sec-WebSocket-Accept")
    if got != expected:
        raise InvalidResponse(
            f"Sec-WebSocket-Accept is {got!r}, expected {expected!r} for our key", 101
        )
    if headers.get_all("Sec-WebSocket-Extensions"):
        raise InvalidResponse("server accepted an extension that we did not offer", 101)
    chosen = headers.get("Sec-WebSocket-Protocol")
    if chosen is not None and chosen not in subprotocols:
        raise InvalidResponse(f"server chose subprotocol {chosen!r} that we did not offer", 101)
    return chosen
