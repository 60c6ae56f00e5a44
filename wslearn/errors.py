"""Errors that say what went wrong and what the peer must be told.

Every error in wslearn carries the number the protocol uses to report it:

* :class:`HandshakeError` carries an HTTP **status** (400, 403, 405, 426, 431),
  because during the opening handshake the server still speaks HTTP (RFC 6455 §4.2.1).
* :class:`ProtocolError` carries a WebSocket **close code** (1002, 1007, 1009, …),
  because once the connection is open, errors are reported in a Close frame (RFC 6455 §7.4).

This module knows nothing about sockets: it only names the failures.
"""

from __future__ import annotations

__all__ = ["WebSocketError", "HandshakeError", "ProtocolError", "ConnectionClosed"]


class WebSocketError(Exception):
    """Base class of every error raised by wslearn."""


class HandshakeError(WebSocketError):
    """The opening handshake failed; the server answers with ``status``.

    ``headers`` are extra response headers the client needs in order to retry,
    e.g. ``Sec-WebSocket-Version: 13`` with a 426 (RFC 6455 §4.4).
    """

    def __init__(self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = tuple(headers)

    def __str__(self) -> str:
        if self.status == 101:  # a client refusing the server's 101 answer
            return f"invalid 101 response: {self.message}"
        return f"HTTP {self.status}: {self.message}"


class ProtocolError(WebSocketError):
    """The peer broke a framing rule; the connection closes with ``code``.

    The default code 1002 means "protocol error" (RFC 6455 §7.4.1). Others:
    1007 for text that is not UTF-8, 1009 for a message that is too big.
    """

    def __init__(self, message: str, code: int = 1002):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"close code {self.code}: {self.message}"


class ConnectionClosed(WebSocketError):
    """Something was asked of a connection that is already closing or closed."""
