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

This module computes that key, validates a request against §4.2.1 and builds the
answer — a 101, or a refusal with the HTTP status that says what was wrong. It also
does the client's half: build a request, check the server's response. Reading the
HTTP heads themselves is :mod:`wslearn.http11`'s job. No sockets here.

Extensions are negotiated here too, when asked: the server answers a permessage-deflate
offer in its 101 (``accept_response(key, deflate=...)``, with the parameters
:func:`~wslearn.permessage_deflate.negotiate_deflate` chose), and a client offers it
(``client_request(..., deflate=...)``) and checks the answer
(``check_response(..., deflate=...)``). Without them, no extension is offered or accepted.

Subprotocols (``Sec-WebSocket-Protocol``, §1.9, §11.3.4) are the application's language on top
of WebSocket (``"chat.v1"``, ``"graphql-ws"``...): the client offers a list, the server picks
one (:func:`select_subprotocol`) or none, and the client checks the pick (:func:`check_response`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import os
import re
import urllib.parse
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from .errors import HandshakeError, InvalidResponse
from .extensions import NegotiationError
from .http11 import Headers, Request, Response, http_response
from .permessage_deflate import DeflateParameters, check_deflate_answer

__all__ = [
    "GUID",
    "accept_key",
    "LOCAL",
    "origin_is_local",
    "validate_request",
    "select_subprotocol",
    "parse_subprotocols",
    "check_subprotocols",
    "accept_response",
    "reject_response",
    "client_request",
    "check_response",
]

#: The fixed GUID of RFC 6455 §1.3, appended to every key before hashing.
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


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


def _single(headers: Headers, name: str) -> Optional[str]:
    values = headers.get_all(name)
    if len(values) > 1:
        raise HandshakeError(400, f"{name} sent {len(values)} times; it must appear once")
    return values[0] if values else None


#: The default ``origins`` of the server: pages of its own host, and of this machine.
LOCAL = "local"


def origin_is_local(origin: str, host: str) -> bool:
    """The default Origin policy: does the page come from this server's host, or this machine?

    Browsers do not apply the same-origin policy to WebSockets: any page the learner has
    open could connect to a server on 127.0.0.1 (cross-site WebSocket hijacking, §10.2).
    The kernel cannot know its public address, so the policy reads the request alone.
    It accepts an ``Origin`` whose host is the ``Host`` header's host (the server's own
    test page; a page behind jupyter-server-proxy, where both are the Jupyter server's),
    or a loopback host (``localhost``, ``127.0.0.0/8``, ``[::1]``: the notebook's page on
    a laptop). It cannot tell two learners on one shared host apart: they share its origin.

    >>> origin_is_local("http://localhost:8888", "127.0.0.1:9000")
    True
    >>> origin_is_local("https://evil.example", "127.0.0.1:9000")
    False
    """
    origin_host = urllib.parse.urlsplit(origin).hostname
    if origin_host is None:  # e.g. "null", from a sandboxed frame or a file
        return False
    if origin_host == urllib.parse.urlsplit("//" + host).hostname:
        return True
    if origin_host == "localhost":
        return True
    try:
        return ipaddress.ip_address(origin_host).is_loopback
    except ValueError:  # a name, not an address
        return False


def validate_request(
    request: Request,
    *,
    origins: Union[str, Sequence[Optional[str]], None] = None,
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
    * 403 if ``origins`` is a list and the ``Origin`` header is not in it (a browser
      always sends Origin; put ``None`` in the list to allow clients that don't), or if
      ``origins`` is :data:`LOCAL` and the Origin is not local (:func:`origin_is_local`;
      a request without Origin, from a program rather than a page, is let in).
      ``None`` checks no Origin at all.

    ``subprotocol`` is the first protocol the client offers that is also in
    ``subprotocols`` (§4.2.2), or ``None``: :func:`select_subprotocol`, whose rules these are
    (a malformed or repeated-value offer is a 400 too).
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
    origin = _single(headers, "Origin")
    if isinstance(origins, str):
        if origins != LOCAL:
            raise ValueError(f"origins is a list of origins, {LOCAL!r} or None, not {origins!r}")
        if origin is not None and not origin_is_local(origin, _single(headers, "Host") or ""):
            raise HandshakeError(
                403,
                f"origin {origin!r} is neither this server's host nor this machine: refused, "
                "as a page elsewhere must not reach this server (RFC 6455 §10.2). To let it in, "
                "list it: serve(origins=[...]) or --origin URL",
            )
    elif origins is not None:
        allowed = {o.lower() if o is not None else None for o in origins}
        if (origin.lower() if origin is not None else None) not in allowed:
            raise HandshakeError(403, f"origin {origin!r} is not allowed to connect")
    chosen = select_subprotocol(headers.get_all("Sec-WebSocket-Protocol"), subprotocols)
    return key, chosen


# ---------------------------------------------------------------------- subprotocols

#: A ``token`` (RFC 7230 §3.2.6), as §4.1 asks of a subprotocol: characters in U+0021..U+007E,
#: none of the separators of RFC 2616 (``( ) < > @ , ; : \ " / [ ] ? = { }``, space and tab).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def parse_subprotocols(values: Sequence[str]) -> List[str]:
    """The subprotocols a client offers: every ``Sec-WebSocket-Protocol`` value, in order.

    ``values`` are the header's values as received (``headers.get_all(...)``). The header may
    appear several times (§11.3.4); like any HTTP list header, that means the same as one header
    with the values joined by commas (RFC 7230 §3.2.2), and a recipient ignores empty elements
    (``"chat, , superchat"``, ``"chat,"``: RFC 7230 §7).

    Raises :class:`HandshakeError` 400 if the offer breaks §4.1's rule, which says what a client
    MUST send ("one or more comma-separated ... non-empty strings with characters in the range
    U+0021 to U+007E not including separator characters ..., and MUST all be unique"):

    * an element that is not a token (``"a b"``, ``"chat/1"``, ``'"chat"'``, non-ASCII), or a
      header with no element at all (``""``, ``","``);
    * the same subprotocol offered twice (compared exactly, case included).

    Refused, not skipped: §4.2.1 answers a request that does not match the handshake's
    description with an error such as 400, and skipping could hide a client's mistake (``"chat
    superchat"`` meant as two). Browsers never send these: ``new WebSocket(url, protocols)``
    throws ``SyntaxError`` first. ``websockets`` 17 also answers 400 for a malformed header and
    ignores empty elements; it lets duplicates through.

    >>> parse_subprotocols(["chat.v2, chat.v1", "chat.v0"])
    ['chat.v2', 'chat.v1', 'chat.v0']
    """
    offered: List[str] = []
    for value in values:
        elements = [element.strip(" \t") for element in value.split(",")]
        tokens = [element for element in elements if element]
        if not tokens:
            raise HandshakeError(400, f"Sec-WebSocket-Protocol {value!r} names no subprotocol")
        for token in tokens:
            if not _TOKEN.fullmatch(token):
                raise HandshakeError(
                    400,
                    f"Sec-WebSocket-Protocol: {token!r} is not a token; a subprotocol is made "
                    "of visible ASCII characters other than separators (RFC 6455 §4.1)",
                )
            if token in offered:
                raise HandshakeError(
                    400, f"subprotocol {token!r} offered twice; they must be unique (RFC 6455 §4.1)"
                )
            offered.append(token)
    return offered


def select_subprotocol(offered: Sequence[str], supported: Sequence[str]) -> Optional[str]:
    """The subprotocol a server agrees to: the first one the client offers that it supports.

    ``offered``: the request's ``Sec-WebSocket-Protocol`` values as received, read with
    :func:`parse_subprotocols` (400 for a malformed offer). ``supported``: what the server speaks.

    * **Order**: the client lists its subprotocols "ordered by preference" (§4.1 and §11.3.4),
      so the client's order decides. ``websockets`` 17 walks its own (the server's) list instead:
      offered ``chat.v2, chat.v1`` and supporting ``["chat.v1", "chat.v2"]``, wslearn picks
      ``chat.v2`` where ``websockets`` picks ``chat.v1``. Both pick "one of the values ... the
      server is willing to use" (§4.2.2): the RFC allows either.
    * **No match** (or nothing offered): ``None``, and the 101 carries no
      ``Sec-WebSocket-Protocol`` ("it MUST NOT send back a |Sec-WebSocket-Protocol| header
      field", §4.2.2 /subprotocol/): an RFC 6455 client (:func:`check_response`,
      ``websockets``) learns that none was agreed. ``websockets`` 17 answers 400 instead when
      it supports some and none is offered. A browser that offered some fails the connection
      on such a 101 (WHATWG standard; Chromium: close 1006, "Sent non-empty
      'Sec-WebSocket-Protocol' header but no response was received",
      ``wslearn/data/chromium_subprotocols.json``); one that offered none opens, protocol ``""``.
    * **The answer is one value**, exactly as the client spelled it (§4.2.2: "a single value
      representing the subprotocol"), compared exactly (case-sensitively), like ``websockets``.

    >>> select_subprotocol(["chat.v2, chat.v1"], ["chat.v1", "chat.v2"])
    'chat.v2'
    >>> select_subprotocol(["chat.v2"], ["chat.v1"]) is None
    True
    """
    for subprotocol in parse_subprotocols(offered):
        if subprotocol in supported:
            return subprotocol
    return None


def check_subprotocols(subprotocols: Iterable[str]) -> List[str]:
    """Check a client's offer before it is sent: a list of unique tokens (§4.1).

    Raises :class:`ValueError`, as ``new WebSocket(url, protocols)`` throws ``SyntaxError``;
    also for a single string, which would be read as the offer ``c, h, a, t``.
    """
    if isinstance(subprotocols, (str, bytes)):
        raise ValueError(f"subprotocols is a list of names, not {subprotocols!r}: use [...]")
    offered = list(subprotocols)
    for subprotocol in offered:
        if not isinstance(subprotocol, str) or not _TOKEN.fullmatch(subprotocol):
            raise ValueError(
                f"subprotocol {subprotocol!r} is not a token: visible ASCII characters, "
                'no separators such as space , ; / = " (RFC 6455 §4.1)'
            )
    if len(set(offered)) != len(offered):
        raise ValueError(f"subprotocols {offered!r} name one twice; they must be unique (§4.1)")
    return offered


def reject_response(error: HandshakeError) -> bytes:
    """The HTTP answer that refuses a handshake: status, extra headers, plain-text reason."""
    return http_response(error.status, error.message + "\n", headers=error.headers)


def accept_response(
    key: str, subprotocol: Optional[str] = None, *, deflate: Optional[DeflateParameters] = None
) -> bytes:
    """The ``101 Switching Protocols`` answer for a valid request with this key (§4.2.2).

    ``deflate``: the permessage-deflate parameters the server accepted (RFC 7692 §5), from
    :func:`~wslearn.permessage_deflate.negotiate_deflate`; they go in
    ``Sec-WebSocket-Extensions``. ``None`` (the default) accepts no extension.

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
    if deflate is not None:
        lines.append(f"Sec-WebSocket-Extensions: {deflate.header()}")
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
    deflate: Optional[DeflateParameters] = None,
) -> Tuple[bytes, str]:
    """Build a client's opening handshake; return ``(request_bytes, key)`` (§4.1).

    The key is 16 random bytes, base64-encoded, new for every connection. Keep
    it: :func:`check_response` needs it to verify the server's answer. ``deflate``
    offers permessage-deflate with these parameters (RFC 7692 §5); pass the same to
    :func:`check_response`. ``subprotocols`` are offered in order of preference, in one
    header; they must be unique tokens (:func:`check_subprotocols` raises ``ValueError``).
    """
    offered = check_subprotocols(subprotocols)
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
    if offered:
        lines.append(f"Sec-WebSocket-Protocol: {', '.join(offered)}")
    if deflate is not None:
        lines.append(f"Sec-WebSocket-Extensions: {deflate.header()}")
    lines += [f"{name}: {value}" for name, value in extra_headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"), key


def check_response(
    response: Response,
    key: str,
    *,
    subprotocols: Sequence[str] = (),
    deflate: Optional[DeflateParameters] = None,
) -> Optional[str]:
    """Check the server's answer to our handshake (§4.1, client steps 1–6).

    Returns the subprotocol the server chose (or ``None``). Raises
    :class:`~wslearn.errors.InvalidResponse` (carrying the server's status) if the
    server refused, or if its 101 is not a valid WebSocket acceptance of *our* key.
    ``deflate`` is the permessage-deflate offer we made, if any: the answer must fit it
    (RFC 7692 §7). What was agreed is
    ``check_deflate_answer(response.headers.get_all("Sec-WebSocket-Extensions"), deflate)``.
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
    answer = headers.get_all("Sec-WebSocket-Extensions")
    if answer and deflate is None:
        raise InvalidResponse("server accepted an extension that we did not offer", 101)
    if deflate is not None:
        try:
            check_deflate_answer(answer, deflate)
        except NegotiationError as error:
            raise InvalidResponse(str(error), 101) from None
    return _check_subprotocol_answer(headers.get_all("Sec-WebSocket-Protocol"), subprotocols)


def _check_subprotocol_answer(answer: Sequence[str], offered: Sequence[str]) -> Optional[str]:
    """The subprotocol of a 101, if it is one we offered; else the connection fails.

    §4.1, client step 6: a subprotocol "that was not present in the client's handshake" fails
    the connection; so do two headers (§11.3.4: "MUST NOT appear more than once in an HTTP
    response") and a list (§4.2.2: "a single value"). No answer at all is fine here (§4.2.2).
    """
    if not answer:
        return None
    if len(answer) > 1:
        raise InvalidResponse(
            f"server sent Sec-WebSocket-Protocol {len(answer)} times: {answer!r}; "
            "it must appear once (RFC 6455 §11.3.4)",
            101,
        )
    (chosen,) = answer
    if "," in chosen:
        raise InvalidResponse(
            f"server chose several subprotocols, {chosen!r}; it must choose one (RFC 6455 §4.2.2)",
            101,
        )
    if chosen not in offered:
        raise InvalidResponse(f"server chose subprotocol {chosen!r} that we did not offer", 101)
    return chosen
