"""Upgrade requests the handshake and HTTP tests share: the RFC's sample, Chromium's, variants.

``RFC_KEY`` is the key of RFC 6455 §1.3; ``CHROMIUM`` a request a real browser sent;
``request_with`` the RFC's sample request with headers changed; ``status_of`` the HTTP status a
server answers a request with, when it refuses it.
"""

import pytest

from wslearn import HandshakeError, parse_request, validate_request

RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="

# What Chromium 156 sent to a raw-socket server, byte for byte.
CHROMIUM = (
    "GET /chat HTTP/1.1\r\n"
    "Host: 127.0.0.1:8080\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: http://127.0.0.1:8080\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    f"Sec-WebSocket-Key: {RFC_KEY}\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n"
).encode()


def request_with(**changes):
    """The RFC's sample request with some headers replaced (None removes one)."""
    headers = {
        "Host": "server.example.com",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": RFC_KEY,
        "Origin": "http://example.com",
        "Sec-WebSocket-Version": "13",
    }
    line = changes.pop("request_line", "GET /chat HTTP/1.1")
    for name, value in changes.items():
        headers[name.replace("_", "-")] = value
    lines = [line] + [f"{k}: {v}" for k, v in headers.items() if v is not None]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_of(data, **kw):
    """The status of the :class:`HandshakeError` that reading or validating ``data`` raises."""
    with pytest.raises(HandshakeError) as info:
        request = parse_request(data)
        validate_request(request, **kw)
    return info.value.status
