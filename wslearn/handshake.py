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
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import os
import urllib.parse
from typing import Iterable, Optional, Sequence, Tuple, Union

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
    offered = [t.strip() for v in headers.get_all("Sec-WebSocket-Protocol") for t in v.split(",")]
    chosen = next((p for p in offered if p in subprotocols), None)
    return key, chosen


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
    :func:`check_response`.
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
    chosen = headers.get("Sec-WebSocket-Protocol")
    if chosen is not None and chosen not in subprotocols:
        raise InvalidResponse(f"server chose subprotocol {chosen!r} that we did not offer", 101)
    return chosen
