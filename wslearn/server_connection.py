"""One connection of the live server, from its first byte to its last.

:class:`~wslearn.server.Server` accepts a TCP connection and starts a thread for it; that
thread runs :meth:`ServerConnection.run`, the connection's whole life:

1. **the opening handshake** (§4.2): read until the HTTP request is whole, within
   ``handshake_timeout`` seconds, then answer ``101 Switching Protocols``, or refuse the
   request (400, 403, 426, ...), or, for a plain HTTP request without ``Upgrade``, answer
   with the test page (:mod:`wslearn.static_files`);
2. **the read loop**: ``recv()`` whatever size arrives, feed it to the sans-I/O
   :class:`~wslearn.connection.Connection`, send the replies it queued (Pongs, the Close
   reply), and hand each whole message to the server's handler;
3. **the close** (§7.1.1): once we sent a Close frame, the peer's must come back within
   ``close_timeout`` seconds (a timer cuts the socket otherwise); then the server closes
   TCP first, half-closing and draining so the peer reads our last bytes.

Every write goes out whole with ``sendall()`` under the connection's lock, so a handler
thread and the read loop sending at once never interleave their bytes.

A connection knows nothing of the server's other connections. What it needs comes at
construction: its :class:`ConnectionSettings`, where its frame records go, what to call
with each message, and what to tell once it is open.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Sequence, Union

from .connection import Binary, Connection, Failed, State, Text
from .deadline import Deadline
from .errors import HandshakeError
from .frames import Frame
from .handshake import accept_response, reject_response, validate_request
from .http11 import parse_request
from .opcodes import CloseCode
from .recording import ConnectionRecord, FrameRecord
from .redaction import proxy_evidence, redact_request
from .static_files import page_response

if TYPE_CHECKING:
    from .server import Server

__all__ = ["ConnectionSettings", "FrameRecording", "ServerConnection", "linger_close"]

Message = Union[str, bytes]

#: At most this many ``recv()`` sizes are kept per connection (then they are only counted).
MAX_READS_RECORDED = 10_000


@dataclasses.dataclass(frozen=True)
class ConnectionSettings:
    """The server's options that each of its connections follows (see :func:`wslearn.serve`)."""

    max_size: Optional[int]
    origins: Union[str, Sequence[Optional[str]], None]
    subprotocols: Sequence[str]
    handshake_timeout: float
    close_timeout: float
    preview_bytes: int


class FrameRecording:
    """Turns each frame that crosses the wire into a record, laid over the byte stream.

    A connection's frame observer: it numbers the bytes in each direction, so a record says
    where in the stream its frame started, and hands each record to ``on_frame``.
    """

    def __init__(
        self, connection_id: int, on_frame: Callable[[FrameRecord], None], preview_bytes: int
    ) -> None:
        self.connection_id = connection_id
        self.on_frame = on_frame
        self.preview_bytes = preview_bytes
        self.offsets = {"in": 0, "out": 0}  # bytes seen so far in each direction

    def __call__(self, direction: str, frame: Frame) -> None:
        assert frame.header is not None
        offset = self.offsets[direction]
        self.offsets[direction] += frame.header.header_size + frame.header.length
        self.on_frame(
            FrameRecord.from_frame(
                frame,
                time=time.time(),
                connection=self.connection_id,
                direction=direction,
                stream_offset=offset,
                preview_bytes=self.preview_bytes,
            )
        )


class ServerConnection:
    """One accepted WebSocket connection, as a handler sees it.

    ``send()``, ``ping()`` and ``close()`` are safe to call from any thread: each write goes
    out whole under this connection's lock. ``server`` is the :class:`~wslearn.server.Server`
    that accepted it (a handler may reach the other connections through it); ``record`` is
    what the recorder keeps about it.

    The server passes ``on_frame`` (called with each frame's record, in or out),
    ``on_message`` (called with each whole message), ``on_open`` (called once the
    handshake succeeded; it answers False if the server is stopping, and the connection
    then closes with 1001 at once) and ``on_close`` (called once it is closed).
    """

    def __init__(
        self,
        sock: socket.socket,
        record: ConnectionRecord,
        settings: ConnectionSettings,
        *,
        server: Server,
        on_frame: Callable[[FrameRecord], None],
        on_message: Callable[[ServerConnection, Message], None],
        on_open: Callable[[ServerConnection], bool],
        on_close: Callable[[ServerConnection], None],
    ) -> None:
        self.server = server
        self.id = record.id
        self.record = record
        self.settings = settings
        self._sock = sock
        self._on_message = on_message
        self._on_open = on_open
        self._on_close = on_close
        self._lock = threading.Lock()
        self._close_timer: Optional[threading.Timer] = None
        self.protocol = Connection(
            "server",
            max_size=settings.max_size,
            # Not a method of this object: the Connection holds its observer, and a bound
            # method would tie the two in a cycle that only the garbage collector frees.
            frame_observer=FrameRecording(record.id, on_frame, settings.preview_bytes),
            keep_wire=settings.preview_bytes,
        )

    def __repr__(self) -> str:
        return f"<ServerConnection #{self.id} {self.record.peer} {self.state.value}>"

    @property
    def state(self) -> State:
        return self.protocol.state

    @property
    def open(self) -> bool:
        return self.protocol.state is State.OPEN

    # ------------------------------------------------------------------ sending

    def send(self, message: Message) -> None:
        """Send a text (``str``) or binary (``bytes``) message as one frame."""
        with self._lock:
            if isinstance(message, str):
                self.protocol.send_text(message)
            else:
                self.protocol.send_binary(message)
            self._sendall(self.protocol.data_to_send())

    def ping(self, data: bytes = b"") -> None:
        """Send a Ping; the peer's Pong will show up in the recording."""
        with self._lock:
            self.protocol.send_ping(data)
            self._sendall(self.protocol.data_to_send())

    def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake; the connection's thread waits for the peer's Close."""
        with self._lock:
            if self.protocol.state is not State.OPEN:
                return
            self.protocol.close(code, reason)
            self._sendall(self.protocol.data_to_send())
        # §7.1.1: wait for the peer's Close, but not forever.
        timer = threading.Timer(self.settings.close_timeout, self._close_timed_out)
        timer.daemon = True
        self._close_timer = timer
        timer.start()

    def _sendall(self, data: bytes) -> None:
        if data:
            self._sock.sendall(data)

    def _close_timed_out(self) -> None:
        if self.protocol.state is not State.CLOSED:
            self.record.error = "no Close frame came back in time"
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes the connection's recv()
            except OSError:
                pass

    # ------------------------------------------------------------------ the whole life

    def run(self) -> None:
        """The connection's life, in its own thread: handshake, read loop, close."""
        opened = False
        try:
            rest = self._handshake()
            if rest is not None:
                opened = True
                self._read_loop(rest, serving=self._on_open(self))
        except Exception as error:  # never let one connection kill the server
            self.record.error = f"{type(error).__name__}: {error}"
        finally:
            if opened:
                self._on_close(self)
                if self._close_timer is not None:
                    self._close_timer.cancel()
                    self._close_timer = None  # the timer holds a method of ours: let both go
                self.record.close_code = self.protocol.close_code
                self.record.close_reason = self.protocol.close_reason
                # §7.1.1: the server closes TCP first. Half-close and read what is still
                # in flight, so the peer sees FIN after our Close frame, not a reset.
                linger_close(self._sock, min(1.0, self.settings.close_timeout))
            self.record.closed = time.time()
            self._sock.close()

    def _handshake(self) -> Optional[bytes]:
        """Read and answer the opening handshake; return leftover bytes, or None if refused."""
        sock, record, settings = self._sock, self.record, self.settings
        too_slow = f"handshake not completed within {settings.handshake_timeout} s"
        deadline = Deadline(settings.handshake_timeout)
        buffer = b""
        request = None
        while request is None:
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
                record.error = "connection closed during the handshake"
                return None
            buffer += data
            try:
                request = parse_request(buffer)
            except HandshakeError as error:
                self._refuse(error)
                return None
        record.keep_request(*redact_request(request))
        record.proxy_evidence = proxy_evidence(request)
        record.via_proxy = bool(record.proxy_evidence)
        if "Upgrade" not in request.headers:
            record.status, response = page_response(request.method, request.path)
            self._answer_and_close(response)
            return None
        try:
            key, subprotocol = validate_request(
                request, origins=settings.origins, subprotocols=settings.subprotocols
            )
        except HandshakeError as error:
            self._refuse(error)
            return None
        sock.sendall(accept_response(key, subprotocol))
        record.status = 101
        sock.settimeout(None)
        return buffer[len(request.raw) :]

    def _refuse(self, error: HandshakeError) -> None:
        self.record.status = error.status
        self.record.error = error.message
        self._answer_and_close(reject_response(error))

    def _answer_and_close(self, response: bytes) -> None:
        self._sock.sendall(response)
        linger_close(self._sock)

    def _read_loop(self, data: bytes, serving: bool) -> None:
        """Feed what arrives to the protocol until the connection is closed."""
        record = self.record
        while True:
            if data:
                if len(record.reads) < MAX_READS_RECORDED:
                    record.reads.append(len(data))
                else:
                    record.reads_dropped += 1
                events = self._feed(data)
            else:
                events = []
            for event in events:
                if isinstance(event, (Text, Binary)):
                    self._on_message(self, event.data)
                elif isinstance(event, Failed):
                    record.error = event.reason
            if self.protocol.state is State.CLOSED:
                return  # §7.1.1: the server closes the TCP connection first
            if not serving and self.protocol.state is State.OPEN:
                self.close(CloseCode.GOING_AWAY, "server stopping")
            try:
                data = self._sock.recv(65536)
            except socket.timeout:
                record.error = "no Close frame came back in time"
                return
            except OSError as error:
                record.error = f"{type(error).__name__}: {error}"
                return
            if not data:
                self._feed(None)  # peer closed TCP: 1006 unless the handshake finished
                return

    def _feed(self, data: Optional[bytes]) -> List[Any]:
        """Feed received bytes (None: end of stream) and send the automatic replies."""
        with self._lock:
            if data is None:
                events = self.protocol.receive_eof()
            else:
                events = self.protocol.receive_data(data)
            self._sendall(self.protocol.data_to_send())
        return events


def linger_close(sock: socket.socket, seconds: float = 1.0) -> None:
    """Half-close, then read and discard what the peer still sends, for ``seconds`` at most.

    Closing a socket that holds unread bytes makes the kernel send a reset, which
    can destroy our last answer (an HTTP error, a Close frame) before the peer
    reads it. Sending FIN first and draining avoids that; the deadline keeps a
    peer that never stops sending from holding the thread.
    """
    deadline = Deadline(seconds)
    try:
        sock.shutdown(socket.SHUT_WR)
        while True:
            remaining = deadline.remaining()
            if remaining == 0:
                return
            sock.settimeout(remaining)
            if not sock.recv(65536):
                return
    except OSError:
        pass
