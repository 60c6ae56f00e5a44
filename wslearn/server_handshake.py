"""The server's side of the opening handshake (RFC 6455 §4.2), on one connected socket.

:func:`opening_handshake` is the first part of a
:class:`~wslearn.server_connection.ServerConnection`'s life: read until the HTTP request is
whole, within ``handshake_timeout`` seconds, then answer ``101 Switching Protocols``, or
refuse the request (400, 403, 426, ...), or, for a plain HTTP request without ``Upgrade``,
answer with the test page (:mod:`wslearn.static_files`). What to answer is decided by the
sans-I/O :mod:`wslearn.http11` and :mod:`wslearn.handshake`; this module only reads, sends,
and takes notes.

A refusal or a page is the connection's last answer: the server then closes TCP first
(:func:`close_first`). Each step goes into the connection's
:class:`~wslearn.recording.ConnectionRecord`: the (redacted) request, the status, and the
times a sequence diagram draws (:mod:`wslearn.views.sequence`): when the request was whole,
when the answer left, when each side's FIN went.
"""

from __future__ import annotations

import socket
import time
from typing import Optional, Tuple

from .deadline import Deadline
from .errors import HandshakeError
from .handshake import accept_response, reject_response, validate_request
from .http11 import Request, parse_request
from .outbox import linger_close
from .peer_user import another_users
from .permessage_deflate import PerMessageDeflate
from .recording import ConnectionRecord
from .redaction import proxy_evidence, redact_request
from .server_settings import ConnectionSettings
from .static_files import page_response

__all__ = ["Upgraded", "close_first", "note_request", "opening_handshake"]

#: What a 101 leaves the connection: the bytes read after the request head (the client's
#: first frames may come in the same ``recv()``), and the permessage-deflate codec agreed
#: with the client (RFC 7692), or None: plain frames.
Upgraded = Tuple[bytes, Optional[PerMessageDeflate]]


def opening_handshake(
    sock: socket.socket, record: ConnectionRecord, settings: ConnectionSettings
) -> Optional[Upgraded]:
    """Read and answer the opening handshake on ``sock``: what the 101 leaves, or None if
    the connection ended here (refused, a page served, the peer left or was too slow)."""
    stranger = another_users(sock) if settings.same_user_only else None
    if stranger is not None:  # another learner's program, on a shared host: not even read
        refuse(sock, record, HandshakeError(403, stranger))
        return None
    read = read_request(sock, record, settings.handshake_timeout)
    if read is None:
        return None
    request, buffer = read
    note_request(record, request)
    if "Upgrade" not in request.headers:
        record.status, response = page_response(request.method, request.path)
        answer_and_close(sock, record, response)
        return None
    try:
        key, subprotocol = validate_request(
            request, origins=settings.origins, subprotocols=settings.subprotocols
        )
    except HandshakeError as error:
        refuse(sock, record, error)
        return None
    # RFC 7692 §5: the first permessage-deflate offer the server accepts, if it is on.
    agreed, codec = settings.compression.accept(request.headers.get_all("Sec-WebSocket-Extensions"))
    record.deflate = agreed
    sock.sendall(accept_response(key, subprotocol, deflate=agreed))
    record.status, record.answered_at = 101, time.time()
    sock.settimeout(None)
    return buffer[len(request.raw) :], codec


def note_request(record: ConnectionRecord, request: Request) -> None:
    """Keep ``request`` in the connection's record, secrets redacted, and whether it came
    through jupyter-server-proxy."""
    record.keep_request(*redact_request(request))
    record.proxy_evidence = proxy_evidence(request)
    record.via_proxy = bool(record.proxy_evidence)


def read_request(
    sock: socket.socket, record: ConnectionRecord, timeout: float
) -> Optional[Tuple[Request, bytes]]:
    """Read until the request head is whole, ``timeout`` seconds at most; the request and
    every byte read, or None if none came whole (a head that cannot be one is refused)."""
    too_slow = f"handshake not completed within {timeout} s"
    deadline = Deadline(timeout)
    buffer = b""
    while True:
        remaining = deadline.remaining()
        if remaining == 0:
            record.error = too_slow
            return None
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            record.error = too_slow
            return None
        if not data:
            record.peer_fin = time.time()  # the peer's FIN: it left before its request
            record.error = "connection closed during the handshake"
            return None
        buffer += data
        try:
            request = parse_request(buffer)  # None while the head is not whole
        except HandshakeError as error:
            record.request_at = time.time()  # judged: these bytes can be no request
            refuse(sock, record, error)
            return None
        if request is not None:
            record.request_at = time.time()
            return request, buffer


def refuse(sock: socket.socket, record: ConnectionRecord, error: HandshakeError) -> None:
    """Answer with the HTTP status ``error`` carries, and close."""
    record.status = error.status
    record.error = error.message
    answer_and_close(sock, record, reject_response(error))


def answer_and_close(sock: socket.socket, record: ConnectionRecord, response: bytes) -> None:
    """Send ``response``, the connection's last bytes, then close TCP first."""
    sock.sendall(response)
    record.answered_at = time.time()
    close_first(sock, record)


def close_first(sock: socket.socket, record: ConnectionRecord, seconds: float = 1.0) -> None:
    """The server closes TCP first (§7.1.1): its FIN, then it reads what the peer still
    sends until the peer's FIN, ``seconds`` at most (:func:`~wslearn.outbox.linger_close`).

    Both times go into ``record`` (``fin_sent``, ``peer_fin``), unless this side had shut
    the socket down already (``fin_sent`` is set then): after that a ``recv()`` gives b""
    whether the peer sent its FIN or not.
    """
    if record.fin_sent is not None:
        linger_close(sock, seconds)
        return
    record.fin_sent = time.time()
    end = linger_close(sock, seconds)
    if record.peer_fin is None:
        record.peer_fin = end
