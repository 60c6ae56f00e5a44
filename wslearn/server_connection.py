"""One connection of the live server, from its first byte to its last.

:class:`~wslearn.server.Server` accepts a TCP connection and starts a thread for it; that
thread runs :meth:`ServerConnection.run`, the connection's whole life:

1. **the opening handshake** (§4.2): read until the HTTP request is whole, within
   ``handshake_timeout`` seconds, then answer ``101 Switching Protocols``, or refuse the
   request (400, 403, 426, ...), or, for a plain HTTP request without ``Upgrade``, answer
   with the test page (:mod:`wslearn.static_files`): :mod:`wslearn.server_handshake`;
2. **the read loop**: ``recv()`` whatever size arrives, feed it to the sans-I/O
   :class:`~wslearn.connection.Connection`, send the replies it queued (Pongs, the Close
   reply), and hand each whole message to the server's handler (meanwhile the server's
   keepalive thread Pings the peer now and then, see :meth:`ServerConnection.keep_alive`);
3. **the close** (§7.1.1): once we sent a Close frame, the peer's must come back within
   ``close_timeout`` seconds (a timer cuts the socket otherwise); then the server closes
   TCP first, half-closing and draining so the peer reads our last bytes
   (:func:`~wslearn.server_handshake.close_first`). The record notes when each side's
   FIN went (``fin_sent``, ``peer_fin``), as the handshake noted its own steps.
   With compression on (:mod:`wslearn.server_settings`), the handshake also answers the
   client's permessage-deflate offer (RFC 7692).

Every byte leaves through the connection's :class:`~wslearn.outbox.Outbox`, under the
connection's lock, so a handler thread and the read loop sending at once never interleave
their bytes, and no thread ever waits on the socket while holding that lock: a peer that
does not read costs only its own connection (closed with 1008 once it is ``write_limit``
bytes behind for ``write_timeout`` seconds).

A connection knows nothing of the server's other connections. What it needs comes at
construction: its :class:`ConnectionSettings`, where its frame records go, what to call
with each message, and what to tell once it is open.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Tuple, Union

from .connection import Binary, Connection, Event, Failed, Pong, State, Text
from .errors import ConnectionClosed
from .frame_recording import FrameRecording
from .keepalive import PING_PAYLOAD, Keepalive
from .opcodes import CloseCode
from .outbox import Outbox, unsent_in_kernel
from .permessage_deflate import PerMessageDeflate
from .recording import ConnectionRecord, FrameRecord
from .server_handshake import close_first, opening_handshake
from .server_settings import ConnectionSettings

if TYPE_CHECKING:
    from .server import Server

__all__ = ["ConnectionSettings", "FrameRecording", "Message", "ServerConnection"]

Message = Union[str, bytes]

#: At most this many ``recv()`` sizes are kept per connection (then they are only counted).
MAX_READS_RECORDED = 1000


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
        self._outbox = Outbox(sock, self._lock, write_timeout=settings.write_timeout)
        self._keepalive: Optional[Keepalive] = None  # set once the connection is open
        self._close_timer: Optional[threading.Timer] = None
        #: The close code and reason, if the server gave up on the peer (see _abandon).
        self._abandoned: Optional[Tuple[int, str]] = None
        # Not a method of this object: the Connection holds its observer, and a bound
        # method would tie the two in a cycle that only the garbage collector frees.
        self._recording = FrameRecording(
            record.id,
            on_frame,
            settings.preview_bytes,
            secret_first_message=settings.secret_first_message,
        )
        self.protocol = self._protocol(None)

    def _protocol(self, deflate: Optional[PerMessageDeflate]) -> Connection:
        """The sans-I/O connection, with the permessage-deflate codec if one was agreed."""
        return Connection(
            "server",
            max_size=self.settings.max_size,
            frame_observer=self._recording,
            keep_wire=self.settings.preview_bytes,
            deflate=deflate,
        )

    def __repr__(self) -> str:
        return f"<ServerConnection #{self.id} {self.record.peer} {self.state.value}>"

    @property
    def state(self) -> State:
        return self.protocol.state

    @property
    def open(self) -> bool:
        return self.protocol.state is State.OPEN

    @property
    def backlog(self) -> int:
        """Bytes sent to this peer that wait in the server's memory: the kernel did not
        take them yet (:class:`~wslearn.outbox.Outbox`; at most about ``write_limit``)."""
        return self._outbox.backlog

    @property
    def send_queue(self) -> Optional[int]:
        """Bytes the kernel took for this peer that the peer has not acknowledged yet
        (Linux's ``SIOCOUTQ``): what waits in the socket's send buffer. None where the
        kernel cannot say (not Linux, or the socket is closed)."""
        return unsent_in_kernel(self._sock)

    @property
    def send_buffer(self) -> Optional[int]:
        """The kernel's send buffer for this peer (``SO_SNDBUF``), as the kernel reports it;
        None once the socket is closed.

        Linux sizes it by itself (up to ``net.ipv4.tcp_wmem``'s maximum: some 4 MB) and
        reports twice what was set (its bookkeeping). Setting it fixes the size, and so
        bounds what a slow reader holds in the kernel, but turns that auto-sizing off:
        :mod:`wslearn.outbox` says why the server does not do so by itself.
        """
        try:
            return self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        except OSError:
            return None

    @send_buffer.setter
    def send_buffer(self, size: int) -> None:
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)

    # ------------------------------------------------------------------ sending

    def send(self, message: Message, *, timeout: Optional[float] = None) -> None:
        """Send a text (``str``) or binary (``bytes``) message as one frame.

        It never waits on the socket. If the peer is already more than ``write_limit``
        bytes behind, it waits for the peer to read, ``timeout`` seconds at most (default
        ``write_timeout``); a peer that has not caught up by then is closed with 1008 and
        :class:`~wslearn.errors.ConnectionClosed` is raised. ``timeout=0`` never waits:
        the broadcast handler sends so, and a slow reader cannot hold up the others.
        """
        wait = self.settings.write_timeout if timeout is None else timeout
        with self._lock:
            if self._outbox.wait_for_room(self.settings.write_limit, wait):
                if self._outbox.closed:
                    raise ConnectionClosed(f"connection #{self.id} is closed")
                if isinstance(message, str):
                    self.protocol.send_text(message)
                else:
                    self.protocol.send_binary(message)
                self._recording.message("out", message)
                self._outbox.put(self.protocol.data_to_send(), wait=wait > 0)
                if self._outbox.stuck is None:
                    return
                behind = self._outbox.dropped  # it gave up while writing, and dropped these
            else:
                behind = self._outbox.backlog
        self._abandon(CloseCode.POLICY_VIOLATION, f"peer too slow: {behind} bytes unread")
        raise ConnectionClosed(
            f"connection #{self.id} closed: its peer left {behind} bytes unread for {wait:g} s"
        )

    def ping(self, data: bytes = b"") -> None:
        """Send a Ping; the peer's Pong will show up in the recording."""
        with self._lock:
            self.protocol.send_ping(data)
            self._outbox.put(self.protocol.data_to_send(), wait=False)

    def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake; the connection's thread waits for the peer's Close."""
        with self._lock:
            if self.protocol.state is not State.OPEN:
                return
            self.protocol.close(code, reason)
            self._outbox.put(self.protocol.data_to_send(), wait=False)
        # §7.1.1: wait for the peer's Close, but not forever.
        timer = threading.Timer(self.settings.close_timeout, self._close_timed_out)
        timer.daemon = True
        self._close_timer = timer
        timer.start()

    def _abandon(self, code: int, reason: str) -> None:
        """Give up on a peer that does not read or answer: a last Close if it fits, then cut.

        Such a peer would not read a closing handshake either, so none is waited for.
        """
        with self._lock:
            if self._abandoned is None:
                self._abandoned = (code, reason)
            if self.protocol.state is State.OPEN:
                self.protocol.close(code, reason)
                self._outbox.put(self.protocol.data_to_send(), wait=False)  # now, or never
            self._outbox.close()
        self._cut_off()

    def _close_timed_out(self) -> None:
        if self.protocol.state is not State.CLOSED:
            self.record.error = "no Close frame came back in time"
            self._cut_off()

    def _cut_off(self) -> None:
        """Shut the socket down both ways: it wakes the connection's ``recv()``, with b"",
        and sends our FIN (noted: that b"" is then this side's doing, not the peer's FIN)."""
        if self.record.fin_sent is None:
            self.record.fin_sent = time.time()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
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
                self._record_end()
                # §7.1.1: the server closes TCP first: our last bytes out, then half-close
                # and read what is still in flight, so the peer sees FIN after our Close
                # frame, not a reset.
                linger = min(1.0, self.settings.close_timeout)
                with self._lock:
                    self._outbox.flush(linger)
                close_first(self._sock, self.record, linger)
                with self._lock:
                    self._outbox.close()
            self.record.closed = time.time()
            self._sock.close()

    def _record_end(self) -> None:
        if self._abandoned is None and self._outbox.stuck is not None:
            self._abandoned = (CloseCode.POLICY_VIOLATION, self._outbox.stuck)
            self.record.fin_sent = self.record.fin_sent or time.time()  # the outbox cut it off
        if self._abandoned is not None:
            self.record.close_code, self.record.close_reason = self._abandoned
            self.record.error = self._abandoned[1]
        else:
            self.record.close_code = self.protocol.close_code
            self.record.close_reason = self.protocol.close_reason

    def _handshake(self) -> Optional[bytes]:
        """Read and answer the opening handshake; return leftover bytes, or None if refused."""
        upgraded = opening_handshake(self._sock, self.record, self.settings)
        if upgraded is None:
            return None
        rest, codec = upgraded
        if codec is not None:  # permessage-deflate was agreed: frames go through its codec
            self.protocol = self._protocol(codec)
        return rest

    def _read_loop(self, data: bytes, serving: bool) -> None:
        """Feed what arrives to the protocol until the connection is closed."""
        record, settings = self.record, self.settings
        if settings.ping_interval is not None:
            self._keepalive = Keepalive(
                settings.ping_interval, settings.ping_timeout, now=time.monotonic()
            )
        while True:
            if data:
                if len(record.reads) < MAX_READS_RECORDED:
                    record.reads.append(len(data))
                else:
                    record.reads_dropped += 1
                with self._lock:
                    self.protocol.feed_data(data)
            # One event at a time, each answered before the next frame is read: an echo
            # leaves before the Close that a later frame in the same read may cause.
            for event in self._events():
                if isinstance(event, (Text, Binary)):
                    self._recording.message("in", event.data)
                    self._on_message(self, event.data)
                elif isinstance(event, Pong) and self._keepalive is not None:
                    with self._lock:
                        self._keepalive.pong_received(event.data, time.monotonic())
                elif isinstance(event, Failed):
                    record.error = event.reason
            if self.protocol.state is State.CLOSED:
                return  # §7.1.1: the server closes the TCP connection first
            if not serving and self.protocol.state is State.OPEN:
                self.close(CloseCode.GOING_AWAY, "server stopping")
            if not self._peer_keeps_up():
                return
            try:
                data = self._sock.recv(65536)
            except OSError as error:
                record.error = f"{type(error).__name__}: {error}"
                return
            if not data:
                if record.fin_sent is None and self._outbox.stuck is None:  # not our cut-off
                    record.peer_fin = time.time()  # the peer's FIN
                with self._lock:  # peer closed TCP: 1006 unless the handshake finished
                    self.protocol.receive_eof()
                return

    def _peer_keeps_up(self) -> bool:
        """Stop reading from a peer that does not read our replies (its Pongs, its echoes).

        Reading on would make more replies for it, without end; waiting is back-pressure
        that costs nobody else. A peer that has not caught up within ``write_timeout``
        is closed.
        """
        if self._outbox.backlog <= self.settings.write_limit:
            return True  # the usual case, without taking the lock
        with self._lock:
            if self._outbox.wait_for_room(self.settings.write_limit, self.settings.write_timeout):
                return True
            behind = self._outbox.backlog
        self._abandon(CloseCode.POLICY_VIOLATION, f"peer too slow: {behind} bytes unread")
        return False

    def keep_alive(self, now: float) -> None:
        """Ping the peer if it has been quiet long enough; give up if its Pong did not come.

        The server's keepalive thread calls this now and then for every open connection,
        with ``now`` from ``time.monotonic()``; the rule itself is :class:`Keepalive`'s.
        """
        keepalive = self._keepalive
        if keepalive is None or self.protocol.state is not State.OPEN:
            return  # not open yet, or closing: the close timer watches the peer then
        with self._lock:
            due = keepalive.due(now)
            if due == "ping" and self.protocol.state is State.OPEN:
                self.protocol.send_ping(PING_PAYLOAD)
                self._outbox.put(self.protocol.data_to_send(), wait=False)
                keepalive.ping_sent(now)
        if due == "timeout":
            timeout = keepalive.timeout
            self._abandon(CloseCode.INTERNAL_ERROR, f"keepalive: no Pong within {timeout:g} s")

    def _events(self) -> Iterator[Event]:
        """The events in what was received, one at a time (see _next_event)."""
        while True:
            event = self._next_event()
            if event is None:
                return
            yield event
            if not self.protocol.buffered:
                return  # nothing more to read: no need to ask

    def _next_event(self) -> Optional[Event]:
        """The next event in what was received, after sending the replies it made (a Pong,
        a Close); None when the bytes received so far hold no more."""
        with self._lock:
            event = self.protocol.next_event()
            replies = self.protocol.data_to_send()
            if replies:
                self._outbox.put(replies)
        return event
