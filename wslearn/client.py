"""A blocking WebSocket client: the sans-I/O core with a socket around it, and nothing else.

    with wslearn.client.connect("ws://127.0.0.1:8765/") as ws:
        ws.send("Hello")
        print(ws.recv())               # "Hello", from an echo server

Everything RFC 6455 says is decided by the same core the server uses; this module only
moves bytes between it and one TCP socket:

* the opening handshake (§4.1): :func:`~wslearn.handshake.client_request` writes the
  request, :func:`~wslearn.http11.parse_response` reads the answer as it arrives,
  :func:`~wslearn.handshake.check_response` decides whether it accepts *our* request;
* the open connection: :class:`~wslearn.connection.Connection` in the ``"client"`` role,
  which masks every frame it makes with a fresh random key (§5.3) and refuses masked
  frames from the server (§5.1, close code 1002);
* the close (§7.1): send a Close, wait for the server's, let the server end TCP first.

There is no background thread. :meth:`ClientConnection.recv` reads from the socket, feeds
the core, and writes out whatever the core queued (a Pong for each Ping, the Close that
answers the server's) before it returns: a client that calls ``recv()`` is a client that
answers. Every wait has a bound (``open_timeout``, ``close_timeout``, ``recv(timeout=)``), so
a server that says nothing cannot hang the program. A :class:`ClientConnection` belongs to
the thread that uses it, like a file.
"""

from __future__ import annotations

import socket
import urllib.parse
from typing import Iterable, Iterator, Optional, Sequence, Tuple, Union

from .connection import DEFAULT_MAX_SIZE, Binary, Close, Connection, Failed, State, Text
from .deadline import Deadline
from .errors import ConnectionClosed, InvalidResponse
from .handshake import check_response, client_request
from .http11 import Response, parse_response
from .opcodes import CloseCode
from .permessage_deflate import DeflateParameters, PerMessageDeflate, check_deflate_answer

__all__ = ["connect", "ClientConnection", "DEFLATE_OFFER", "deflate_offer", "split_ws_url"]

Message = Union[str, bytes]

#: What ``compression="deflate"`` offers (RFC 7692 §7.1): context takeover both ways, and
#: ``client_max_window_bits``, which lets a server that saves memory ask us for a smaller window.
DEFLATE_OFFER = DeflateParameters(client_max_window_bits=15)

#: Bytes asked of the socket per read: a read returns what has arrived, up to this.
READ_SIZE = 65536


def connect(
    url: str,
    *,
    subprotocols: Sequence[str] = (),
    origin: Optional[str] = None,
    extra_headers: Iterable[Tuple[str, str]] = (),
    max_size: Optional[int] = DEFAULT_MAX_SIZE,
    open_timeout: float = 10.0,
    close_timeout: float = 3.0,
    compression: Optional[str] = None,
) -> ClientConnection:
    """Open a WebSocket connection to ``url`` (``ws://host[:port]/path?query``); return it.

    The opening handshake follows RFC 6455 §4.1: a TCP connection, one HTTP/1.1 ``GET`` with
    a new random ``Sec-WebSocket-Key``, then the server's answer, read until its blank line.
    The connection is open only if that answer is ``101`` *and* its ``Sec-WebSocket-Accept``
    is the one our key calls for, its subprotocol is one we offered (``subprotocols``, in
    order of preference) and its extensions are ones we offered (``compression="deflate"``
    offers permessage-deflate, RFC 7692). Anything else raises
    :class:`~wslearn.errors.InvalidResponse` (with the server's ``status``): §4.1 says the
    client "MUST _Fail the WebSocket Connection_".

    ``open_timeout`` bounds the whole handshake, TCP connection included: a server that never
    answers raises :class:`TimeoutError` after that many seconds. The head of the answer is
    bounded too (line length and header count, :mod:`wslearn.http11`). ``max_size`` limits one
    received message (close code 1009 beyond it; ``None``: no limit); ``close_timeout`` bounds
    the closing handshake. ``origin`` sends an ``Origin`` header (browsers always do; a program
    need not); ``extra_headers`` are more ``(name, value)`` pairs for the request.
    """
    host, port, host_header, resource = split_ws_url(url)
    offer = deflate_offer(compression)
    deadline = Deadline(open_timeout)
    request, key = client_request(
        host_header,
        resource,
        origin=origin,
        subprotocols=subprotocols,
        extra_headers=extra_headers,
        deflate=offer,
    )
    try:
        sock = socket.create_connection((host, port), timeout=max(deadline.remaining(), 0.001))
    except socket.timeout:
        raise TimeoutError(f"no TCP connection to {host}:{port} within {open_timeout} s") from None
    try:
        sock.sendall(request)
        response, rest = _read_response(sock, deadline, open_timeout)
        subprotocol = check_response(response, key, subprotocols=subprotocols, deflate=offer)
        agreed = None
        if offer is not None:
            # check_response has checked the answer already: this only reads what was agreed.
            answer = response.headers.get_all("Sec-WebSocket-Extensions")
            agreed = check_deflate_answer(answer, offer)
    except BaseException:
        sock.close()  # a handshake that failed leaves no socket open
        raise
    codec = PerMessageDeflate("client", agreed) if agreed is not None else None
    protocol = Connection("client", max_size=max_size, deflate=codec)
    protocol.feed_data(rest)  # frames the server sent right behind its 101
    return ClientConnection(
        sock, protocol, response, subprotocol, close_timeout=close_timeout, deflate=agreed
    )


def split_ws_url(url: str) -> Tuple[str, int, str, str]:
    """``ws://host:port/path?q`` -> ``(host, port, Host header, "/path?q")`` (RFC 6455 §3).

    The ``Host`` header (RFC 7230 §5.4) names the port only when it is not 80, the default,
    and puts an IPv6 address in brackets. Both clients, threaded and asyncio, start here.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "wss":
        raise ValueError("wss:// (WebSocket over TLS) is not supported by this client: use ws://")
    if parts.scheme != "ws":
        raise ValueError(f"a WebSocket URL starts with ws://, not {url!r}")
    if not parts.hostname:
        raise ValueError(f"no host in {url!r}")
    if parts.fragment:  # §3: "Fragment identifiers are meaningless in the context of WebSocket"
        raise ValueError(f"a WebSocket URL has no #fragment: {url!r}")
    port = parts.port or 80
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.hostname, port, host if port == 80 else f"{host}:{port}", resource


def deflate_offer(compression: Optional[str]) -> Optional[DeflateParameters]:
    """What a client offers for ``compression`` (``None`` or ``"deflate"``): nothing, or
    :data:`DEFLATE_OFFER`."""
    if compression is None:
        return None
    if compression != "deflate":
        raise ValueError(f"compression is None or 'deflate', not {compression!r}")
    return DEFLATE_OFFER


def _read_response(
    sock: socket.socket, deadline: Deadline, open_timeout: float
) -> Tuple[Response, bytes]:
    """Read the server's answer up to its blank line; return it and the bytes after it.

    One ``recv()`` is not one response: the head may come in pieces, and frames may follow
    it in the same read. parse_response tells "not all here yet" (``None``) from "malformed
    or too large" (it raises), so this loop reads until one or the other, or the deadline.
    """
    buffer = b""
    while True:
        remaining = deadline.remaining()
        if remaining == 0:
            raise TimeoutError(f"no complete answer to the opening handshake in {open_timeout} s")
        sock.settimeout(remaining)
        try:
            data = sock.recv(READ_SIZE)
        except socket.timeout:
            continue  # the deadline says what to do
        if not data:
            raise InvalidResponse(
                f"the server closed the connection after {len(buffer)} bytes of its answer"
            )
        buffer += data
        response = parse_response(buffer)
        if response is not None:
            return response, buffer[len(response.raw) :]


class ClientConnection:
    """An open WebSocket connection, client side; made by :func:`connect`.

    ``response`` is the server's parsed ``101`` (:class:`~wslearn.http11.Response`),
    ``subprotocol`` what it chose (or ``None``), ``deflate`` the permessage-deflate parameters
    agreed (or ``None``), ``protocol`` the sans-I/O :class:`~wslearn.connection.Connection`
    that does the work (its ``state`` says where the connection is).
    """

    def __init__(
        self,
        sock: socket.socket,
        protocol: Connection,
        response: Response,
        subprotocol: Optional[str],
        *,
        close_timeout: float = 3.0,
        deflate: Optional[DeflateParameters] = None,
    ) -> None:
        self._sock = sock
        self._socket_closed = False
        self.protocol = protocol
        self.response = response
        self.subprotocol = subprotocol
        self.deflate = deflate
        self.close_timeout = close_timeout

    def __repr__(self) -> str:
        return f"<ClientConnection {self.protocol.state.value}>"

    @property
    def close_code(self) -> Optional[int]:
        """The code of the server's Close frame (or of our failure), once closed; 1006 if the
        connection ended without one (§7.1.5); ``None`` while it is open."""
        if self.protocol.close_code is not None:
            return self.protocol.close_code
        return int(CloseCode.ABNORMAL_CLOSURE) if self._socket_closed else None

    @property
    def close_reason(self) -> str:
        """The reason that came with :attr:`close_code` ("" if none)."""
        return self.protocol.close_reason

    # ------------------------------------------------------------------ sending

    def send(self, message: Message) -> None:
        """Send a text (``str``) or binary (``bytes``) message, as one frame masked with a new key.

        §5.3: a client masks every frame with 4 unpredictable bytes. Not for secrecy (the key
        travels in the frame), but so that a script in a browser cannot choose the bytes on the
        wire and make a caching proxy read them as an HTTP request of its own choosing.
        Raises :class:`~wslearn.errors.ConnectionClosed` once the connection is closing.
        """
        if isinstance(message, str):
            self.protocol.send_text(message)
        elif isinstance(message, (bytes, bytearray, memoryview)):
            self.protocol.send_binary(message)
        else:
            raise TypeError(f"send() takes str or bytes, not {type(message).__name__}")
        self._write(None)

    def ping(self, data: bytes = b"") -> None:
        """Send a Ping (§5.5.2); the server's Pong is read, and dropped, by a later ``recv()``."""
        self.protocol.send_ping(data)
        self._write(None)

    def _write(self, deadline: Optional[Deadline]) -> None:
        """Write out everything the core queued, in order: the core's one outlet.

        With a ``deadline``, a server that reads nothing cannot hold us past it.
        """
        data = self.protocol.data_to_send()
        if not data or self._socket_closed:
            return
        self._sock.settimeout(None if deadline is None else max(deadline.remaining(), 0.001))
        try:
            self._sock.sendall(data)
        except OSError as error:  # reset, broken pipe, or the deadline passed
            self.protocol.receive_eof()
            self._close_socket()
            raise ConnectionClosed(f"the connection was lost while sending: {error}") from None

    # ------------------------------------------------------------------ receiving

    def recv(self, timeout: Optional[float] = None) -> Message:
        """The next message: ``str`` for text, ``bytes`` for binary, however it was fragmented.

        Reads the socket only when the bytes already received hold no whole message, and
        answers what it reads: a Pong for each Ping (§5.5.3), a Close for the server's Close
        (§5.5.1), a Close with the error's code when the server breaks a rule (1002, 1007,
        1009, ...). Raises :class:`TimeoutError` if no message came within ``timeout``
        seconds (``None``: wait as long as it takes; the connection stays usable), and
        :class:`~wslearn.errors.ConnectionClosed` once the connection is closed
        (:attr:`close_code` says how).
        """
        deadline = None if timeout is None else Deadline(timeout)
        while True:
            # One event at a time, its replies written before the next frame is read, so
            # that whatever the caller sends back leaves before a later frame's Close.
            event = self.protocol.next_event()
            self._write(deadline)
            if isinstance(event, (Text, Binary)):
                return event.data
            if isinstance(event, (Close, Failed)) or self.protocol.state is State.CLOSED:
                self._finish(Deadline(self.close_timeout))
                raise self._closed_error()
            if event is not None:
                continue  # a Ping (answered) or a Pong: read on
            if self._socket_closed:
                raise self._closed_error()
            data = self._read(deadline)
            if data is None:
                raise TimeoutError(f"no message within {timeout} s")
            self._feed(data)

    def _read(self, deadline: Optional[Deadline]) -> Optional[bytes]:
        """What the socket has (``b""`` once the server ended TCP), or ``None`` past the
        deadline."""
        remaining = None if deadline is None else deadline.remaining()
        if remaining == 0:
            return None
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv(READ_SIZE)
        except socket.timeout:
            return None
        except OSError:  # e.g. a reset: the connection is gone, as after an EOF
            return b""

    def _feed(self, data: bytes) -> None:
        if data:
            self.protocol.feed_data(data)
        else:  # TCP ended: 1006 unless the closing handshake was done (§7.1.5)
            self.protocol.receive_eof()
            self._close_socket()

    def _closed_error(self) -> ConnectionClosed:
        reason = f" {self.close_reason!r}" if self.close_reason else ""
        return ConnectionClosed(f"the connection is closed (code {self.close_code}{reason})")

    def __iter__(self) -> Iterator[Message]:
        """Each message, until the connection closes (then the loop just ends)."""
        while True:
            try:
                yield self.recv()
            except ConnectionClosed:
                return

    # ------------------------------------------------------------------ closing

    def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Run the closing handshake (§7.1.2), within ``close_timeout`` seconds in all.

        Send a Close frame with ``code`` and ``reason``, then read until the server's Close
        comes back (messages that arrive meanwhile are dropped: we said we are done), then
        wait for the server to end TCP: §7.1.1 wants the *server* to close first, so that
        the TIME_WAIT state stays on its side. Whatever does not happen in time is cut short.
        Closing a closed connection does nothing.
        """
        deadline = Deadline(self.close_timeout)
        if self.protocol.state is State.OPEN and not self._socket_closed:
            self.protocol.close(code, reason)
            try:
                self._write(deadline)
            except ConnectionClosed:
                return  # the socket is gone: nothing more to wait for
        while self.protocol.state is not State.CLOSED and not self._socket_closed:
            if self.protocol.next_event() is None:  # messages, Pings, Pongs: dropped
                data = self._read(deadline)
                if data is None:
                    break  # no Close came back in time
                self._feed(data)
        self._finish(deadline)

    def _finish(self, deadline: Deadline) -> None:
        """Wait (until ``deadline``) for the server to end TCP, then close our socket."""
        while not self._socket_closed:
            data = self._read(deadline)
            if not data:  # EOF, or the deadline passed
                break
        self._close_socket()

    def _close_socket(self) -> None:
        if not self._socket_closed:
            self._socket_closed = True
            self._sock.close()

    def __enter__(self) -> ClientConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
