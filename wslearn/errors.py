"""Errors that say whose fault it is, and what the peer must be told.

A peer's mistake and our own are different things, so they are different exceptions
(as in h11 and wsproto):

* :class:`HandshakeError` — a client's upgrade request broke a rule. It carries the
  HTTP **status** the server answers with (400, 403, 405, 426, 431), because during the
  opening handshake the server still speaks HTTP (RFC 6455 §4.2.1).
* :class:`InvalidResponse` — the other way round: as a client, we refuse the server's
  answer to our request (§4.1: "the client MUST _Fail the WebSocket Connection_").
* :class:`ProtocolError` — the peer broke a rule of the open connection. It carries the
  **close code** to send in the Close frame (1002, 1007, 1009, …; §7.4).
* :class:`LocalProtocolError` — *our own* code asked for something the protocol forbids
  (a fragmented Ping, a CONT frame with no message to continue). Nothing goes on the wire;
  the fix is in the calling code. :class:`ConnectionClosed` is one case of it: sending on a
  connection that is already closing or closed.

This module knows nothing about sockets: it only names the failures.
"""

from __future__ import annotations

from typing import Optional

from .opcodes import CloseCode

__all__ = [
    "WebSocketError",
    "HandshakeError",
    "InvalidResponse",
    "ProtocolError",
    "LocalProtocolError",
    "ConnectionClosed",
]


class WebSocketError(Exception):
    """Base class of every error raised by wslearn."""


class HandshakeError(WebSocketError):
    """The client's opening handshake broke a rule; the server answers with ``status``.

    ``headers`` are extra response headers the client needs in order to retry,
    e.g. ``Sec-WebSocket-Version: 13`` with a 426 (RFC 6455 §4.4).
    """

    def __init__(self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = tuple(headers)

    def __str__(self) -> str:
        return f"HTTP {self.status}: {self.message}"


class InvalidResponse(WebSocketError):
    """As a client, we refuse the server's answer to our upgrade request (RFC 6455 §4.1).

    ``status`` is the status the server sent: 101 with something wrong in it, or a
    refusal such as 403; ``None`` if the response could not even be read.
    """

    def __init__(self, message: str, status: Optional[int] = None):
        super().__init__(message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        if self.status is None:
            return f"invalid response to our handshake: {self.message}"
        return f"invalid response to our handshake (HTTP {self.status}): {self.message}"


class ProtocolError(WebSocketError):
    """The peer broke a rule of the open connection; it is closed with ``code``.

    The default, 1002 (``CloseCode.PROTOCOL_ERROR``), means "protocol error"
    (RFC 6455 §7.4.1). Others: 1007 for text that is not UTF-8, 1009 for a message
    that is too big.
    """

    def __init__(self, message: str, code: int = CloseCode.PROTOCOL_ERROR):
        super().__init__(message)
        self.code = int(code)  # a plain number, as it travels in the Close frame
        self.message = message

    def __str__(self) -> str:
        return f"close code {self.code}: {self.message}"


class LocalProtocolError(WebSocketError, ValueError):
    """Our own code asked for a frame or a step the protocol forbids; nothing was sent.

    Also a :class:`ValueError`: the arguments were the problem, not the peer.
    """


class ConnectionClosed(LocalProtocolError):
    """Something was asked of a connection that is already closing or closed."""
