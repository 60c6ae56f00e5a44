"""One open WebSocket connection on asyncio streams: the same sans-I/O core, driven by tasks.

The threaded server (:mod:`wslearn.server_connection`) gives each connection a thread that
blocks in ``recv()``. Here a connection is a few *tasks* on one event loop, and every wait is
an ``await`` that lets the other connections run meanwhile:

* the **reader task** reads whatever arrives (``await reader.read(65536)``: one read is not
  one frame), feeds it to the core :class:`~wslearn.connection.Connection` and acts on each
  event it returns: a message goes to the inbox that :meth:`AsyncConnection.recv` empties, a
  Pong answers our Ping, a Close or a protocol error ends the connection;
* the **keepalive task** Pings a quiet peer and gives up on one whose Pong does not come
  (§5.5.2; the rule is :class:`~wslearn.keepalive.Keepalive`'s, the clock ``loop.time()``);
* your code calls ``await send(...)``, ``await recv()``, ``async for``, ``await close()``.

The core is the very object the threaded server uses, unchanged: bytes in through
``feed_data()``, events out of ``next_event()``, bytes out of ``data_to_send()``. What this
module adds is *waiting*, and a limit on every wait, so that a peer cannot hold us forever:

* **back-pressure, both ways.** A sender waits (``await writer.drain()``) while more than
  ``write_limit`` bytes are unsent: a slow reader slows its sender down instead of filling
  our memory, and one that takes nothing for ``write_timeout`` seconds is closed with 1008.
  The reader task stops reading while ``max_queue`` messages wait unread in the inbox: TCP's
  own flow control then tells the peer to wait.
* **the closing handshake** (§7.1.1): after our Close frame, the peer's must come back
  within ``close_timeout`` seconds; then the server closes TCP first and the client waits
  for that, both for a bounded time.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import os
from typing import AsyncIterator, Callable, Deque, Dict, Optional, Tuple, TypeVar, Union

from ..connection import Binary, Connection, Event, Failed, Pong, State, Text
from ..errors import ConnectionClosed
from ..http11 import Request, Response
from ..keepalive import DEFAULT_PING_INTERVAL, DEFAULT_PING_TIMEOUT, PING_PAYLOAD, Keepalive
from ..opcodes import CloseCode
from ..outbox import DEFAULT_WRITE_LIMIT, DEFAULT_WRITE_TIMEOUT

__all__ = ["AsyncConnection", "Limits", "Message", "close_tcp", "read_head", "DEFAULT_MAX_QUEUE"]

Message = Union[str, bytes]
#: An HTTP head: the request a server reads, or the response a client reads.
Head = TypeVar("Head", Request, Response)

#: Bytes asked of the stream per read: a read returns what has arrived, up to this.
READ_SIZE = 65536
#: Messages received but not yet read by the application before the reader stops reading
#: (websockets' ``max_queue``): at most ``max_queue × max_size`` bytes wait in memory.
DEFAULT_MAX_QUEUE = 16


@dataclasses.dataclass(frozen=True)
class Limits:
    """How long, and for how much, one connection waits for its peer (server or client)."""

    #: After our Close frame, the peer's must come within this many seconds (§7.1.1).
    close_timeout: float = 3.0
    #: Ping a quiet peer after this many seconds (None: never)...
    ping_interval: Optional[float] = DEFAULT_PING_INTERVAL
    #: ...and give up on it (1011) if its Pong takes longer than this (None: never give up).
    ping_timeout: Optional[float] = DEFAULT_PING_TIMEOUT
    #: A sender waits while more than this many bytes are unsent...
    write_limit: int = DEFAULT_WRITE_LIMIT
    #: ...and a peer that takes none of them for this many seconds is closed with 1008.
    write_timeout: float = DEFAULT_WRITE_TIMEOUT
    #: Unread messages held before the reader stops reading from the peer.
    max_queue: int = DEFAULT_MAX_QUEUE


async def read_head(
    reader: asyncio.StreamReader, parse: Callable[[bytes], Optional[Head]]
) -> Tuple[Head, bytes]:
    """Read an HTTP head (a request or a response, by ``parse``); return it and what follows.

    One read is not one head: it may come in pieces, and frames may follow it in the same
    read. ``parse`` returns None while the head is incomplete and raises when it is malformed
    or over :mod:`wslearn.http11`'s limits, so memory is bounded; the caller bounds the time.
    """
    buffer = b""
    while True:
        data = await reader.read(READ_SIZE)
        if not data:
            raise EOFError(f"the peer closed the connection after {len(buffer)} bytes of its head")
        buffer += data
        head = parse(buffer)
        if head is not None:
            return head, buffer[len(head.raw) :]


async def close_tcp(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, first: bool, linger: float
) -> None:
    """End a TCP connection gracefully, in ``linger`` seconds (twice at most), then for sure.

    ``first=True`` (a server, §7.1.1: "the server SHOULD close the TCP connection first")
    half-closes at once; either side then reads and discards what still arrives until the
    peer's FIN. Closing a socket that holds unread bytes makes the kernel send a reset,
    which can destroy our last answer (an HTTP refusal, a Close frame) before the peer reads
    it. A peer that neither closes nor reads is cut off (``abort()``) once time is up.
    """
    try:
        if first and writer.can_write_eof() and not writer.is_closing():
            writer.write_eof()  # FIN, once every byte written so far has left
        await asyncio.wait_for(_discard_until_eof(reader), linger)
    except (asyncio.TimeoutError, OSError):
        pass  # the peer kept the connection open, or reset it: close anyway
    writer.close()  # sends what is still buffered, then closes...
    try:
        await asyncio.wait_for(writer.wait_closed(), linger)
    except (asyncio.TimeoutError, OSError):
        writer.transport.abort()  # ...unless the peer takes none of it: then drop it


async def _discard_until_eof(reader: asyncio.StreamReader) -> None:
    while await reader.read(READ_SIZE):
        pass


class AsyncConnection:
    """An open WebSocket connection (either role) on an asyncio stream pair.

    Made once the opening handshake succeeded, with the core ``protocol`` for this role and
    the bytes that came right behind the handshake (``data``); it starts its tasks at once.
    :class:`~wslearn.asyncio.ServerConnection` and :class:`~wslearn.asyncio.ClientConnection`
    add what their role knows (the request, the response).
    """

    def __init__(
        self,
        protocol: Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        limits: Limits = Limits(),
        data: bytes = b"",
    ) -> None:
        self.protocol = protocol
        self.limits = limits
        self.subprotocol: Optional[str] = None
        #: What went wrong, if anything (a protocol error, a slow or silent peer).
        self.error = ""
        self._reader = reader
        self._writer = writer
        # write() never waits: bytes the kernel does not take stay in the transport's buffer.
        # Over this mark, drain() waits until the buffer is back under a quarter of it.
        writer.transport.set_write_buffer_limits(high=limits.write_limit)
        self._loop = asyncio.get_running_loop()
        self._inbox: Deque[Message] = collections.deque()
        self._arrived = asyncio.Event()  # a message arrived, or the connection ended
        self._room = asyncio.Event()  # the inbox has room: the reader may read on
        self._room.set()
        self._ended = False
        # Python before 3.10 allows one drain() at a time on a stream: take turns.
        self._drain_lock = asyncio.Lock()
        self._pings: Dict[bytes, Tuple[asyncio.Future[float], float]] = {}
        self._abandoned: Optional[Tuple[int, str]] = None
        self._keepalive: Optional[Keepalive] = None
        self._keeping_alive: Optional[asyncio.Task[None]] = None
        if limits.ping_interval is not None:
            self._keepalive = Keepalive(
                limits.ping_interval, limits.ping_timeout, now=self._loop.time()
            )
            self._keeping_alive = self._loop.create_task(self._keep_alive(self._keepalive))
        self._reading = self._loop.create_task(self._read_loop(data))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.protocol.role} {self.state.value}>"

    @property
    def state(self) -> State:
        """OPEN, CLOSING (our Close sent, the peer's awaited) or CLOSED (§7)."""
        return self.protocol.state

    @property
    def close_code(self) -> Optional[int]:
        """How it ended: the peer's Close code, the code of the protocol error we closed
        with, 1006 if TCP ended without Close frames, or the code we gave up on the peer
        with (1008: it did not read; 1011: no Pong). None while open."""
        return self._abandoned[0] if self._abandoned else self.protocol.close_code

    @property
    def close_reason(self) -> str:
        return self._abandoned[1] if self._abandoned else self.protocol.close_reason

    # ------------------------------------------------------------------ sending

    async def send(self, message: Message) -> None:
        """Send a text (``str``) or binary (``bytes``) message, as one frame.

        Returns once the bytes are handed to the transport, or, when the peer is more than
        ``write_limit`` bytes behind, once it has caught up: that wait is the back-pressure.
        Raises :class:`~wslearn.errors.ConnectionClosed` once the connection is closing, or
        once the peer was given up on for reading nothing in ``write_timeout`` seconds.
        """
        if isinstance(message, str):
            self.protocol.send_text(message)
        else:
            self.protocol.send_binary(message)
        self._transmit()
        if not await self._drain():
            raise ConnectionClosed(f"closed: {self.error}")

    async def ping(self, data: Optional[bytes] = None) -> asyncio.Future[float]:
        """Send a Ping (§5.5.2); return a future that gives the round trip time in seconds
        once its Pong (the same bytes, §5.5.3) is back: ``await (await conn.ping())``.

        ``data`` defaults to 4 random bytes, so each Ping's Pong is told apart. If the
        connection ends first, the future is cancelled.
        """
        payload = os.urandom(4) if data is None else bytes(data)
        self.protocol.send_ping(payload)
        waiter: asyncio.Future[float] = self._loop.create_future()
        self._pings[payload] = (waiter, self._loop.time())
        self._transmit()
        await self._drain()
        return waiter

    def _transmit(self) -> None:
        """Write what the core has queued: messages, Pongs, Close frames, in its order.

        The one door out: nothing else writes to the stream once it is open. Nothing is
        awaited between ``data_to_send()`` and ``write()``, so no other task can slip its
        bytes in between, and frames never interleave.
        """
        data = self.protocol.data_to_send()
        if data and not self._writer.is_closing():
            self._writer.write(data)

    async def _drain(self) -> bool:
        """Wait while more than ``write_limit`` bytes are unsent; False if the peer is given up.

        A peer that reads slowly is waited for as long as it makes progress; one that takes
        none of our bytes for ``write_timeout`` seconds is closed with 1008 (policy violation).
        """
        transport = self._writer.transport
        while transport.get_write_buffer_size() > self.limits.write_limit:
            before = transport.get_write_buffer_size()
            try:
                await asyncio.wait_for(self._drain_once(), self.limits.write_timeout)
            except asyncio.TimeoutError:
                if transport.get_write_buffer_size() >= before:  # no progress at all
                    reason = f"peer too slow: {before} bytes unread"
                    self._abandon(CloseCode.POLICY_VIOLATION, reason)
                    return False
            except OSError:  # the connection is lost: the reader task ends it
                return False
        return True

    async def _drain_once(self) -> None:
        async with self._drain_lock:
            await self._writer.drain()

    # ------------------------------------------------------------------ receiving

    async def recv(self) -> Message:
        """The next message: a ``str`` for text, ``bytes`` for binary, however fragmented.

        Raises :class:`~wslearn.errors.ConnectionClosed` once the connection has ended and
        every message that came before the end has been read.
        """
        while not self._inbox:
            if self._ended:
                raise ConnectionClosed(f"the connection is closed (code {self.close_code})")
            self._arrived.clear()
            await self._arrived.wait()
        message = self._inbox.popleft()
        self._room.set()
        return message

    async def __aiter__(self) -> AsyncIterator[Message]:
        """``async for message in connection``: every message, until the connection closes."""
        try:
            while True:
                yield await self.recv()
        except ConnectionClosed:
            return

    async def _read_loop(self, data: bytes) -> None:
        """The reader task: the connection's whole life after the handshake, then TCP's end."""
        try:
            while await self._handle(data):
                data = await self._reader.read(READ_SIZE)
                if not data:
                    self.protocol.receive_eof()  # 1006, unless the Close frames were exchanged
                    break
        except OSError as error:  # e.g. reset by the peer
            self.error = self.error or f"{type(error).__name__}: {error}"
            self.protocol.receive_eof()
        finally:
            self._end()
            # §7.1.1: the server closes TCP first; the client gives it close_timeout to.
            first = self.protocol.role == "server"
            linger = min(1.0, self.limits.close_timeout) if first else self.limits.close_timeout
            await close_tcp(self._reader, self._writer, first=first, linger=linger)

    async def _handle(self, data: bytes) -> bool:
        """Feed what was read to the core and act on each event; False when it is over."""
        self.protocol.feed_data(data)
        while True:
            event = self.protocol.next_event()
            self._transmit()  # its reply (a Pong, a Close), if it made one
            if event is None:
                break
            await self._on_event(event)
        if not await self._drain():  # replies pile up unread: stop reading from this peer
            return False
        return self.protocol.state is not State.CLOSED

    async def _on_event(self, event: Event) -> None:
        if isinstance(event, (Text, Binary)):
            await self._deliver(event.data)
        elif isinstance(event, Pong):
            now = self._loop.time()
            if self._keepalive is not None:
                self._keepalive.pong_received(event.data, now)
            waiter, sent = self._pings.pop(event.data, (None, now))
            if waiter is not None and not waiter.done():
                waiter.set_result(now - sent)
        elif isinstance(event, Failed):
            self.error = event.reason  # the core has queued the Close with the error's code

    async def _deliver(self, message: Message) -> None:
        """Put a message in the inbox; while it is full, read no more (back-pressure)."""
        if self.protocol.state is not State.OPEN and len(self._inbox) >= self.limits.max_queue:
            return  # after our Close, with nobody reading: dropped, to reach the peer's Close
        self._inbox.append(message)
        self._arrived.set()
        if len(self._inbox) >= self.limits.max_queue and self.protocol.state is State.OPEN:
            self._room.clear()
            await self._room.wait()  # recv() or close() sets it
        # Let the application see this message before the next frame is read: if that frame
        # breaks a rule, the answer to this message still leaves before our Close (the order
        # a peer sees from a threaded server, and what Autobahn's cases 3.* and 4.* check).
        await asyncio.sleep(0)

    def _end(self) -> None:
        """The connection is over: wake whoever waits, stop the keepalive."""
        self._ended = True
        self._arrived.set()
        self._room.set()
        if self._keeping_alive is not None:
            self._keeping_alive.cancel()
        for waiter, _sent in self._pings.values():
            waiter.cancel()
        self._pings.clear()

    # ------------------------------------------------------------------ keepalive and closing

    async def _keep_alive(self, keepalive: Keepalive) -> None:
        """The keepalive task: Ping when due, give up (1011) if the Pong is late (§5.5.2)."""
        while self.protocol.state is State.OPEN:
            await asyncio.sleep(max(0.0, keepalive.next_event() - self._loop.time()))
            now = self._loop.time()
            due = keepalive.due(now)
            if due == "ping" and self.protocol.state is State.OPEN:
                self.protocol.send_ping(PING_PAYLOAD)
                self._transmit()
                keepalive.ping_sent(now)
            elif due == "timeout":
                reason = f"keepalive: no Pong within {keepalive.timeout:g} s"
                self._abandon(CloseCode.INTERNAL_ERROR, reason)

    async def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Close: send a Close frame (§5.5.1) and wait until the connection has ended.

        The peer's Close must come back within ``close_timeout`` seconds; if it does not,
        TCP is cut (§7.1.1). Calling it again, or on a closed connection, just waits.
        """
        self.start_closing(code, reason)
        try:
            await asyncio.wait_for(asyncio.shield(self._reading), self.limits.close_timeout)
        except asyncio.TimeoutError:
            self.error = self.error or "no Close frame came back in time"
            self.abort()
            await self._reading

    def start_closing(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Send our Close frame now, without waiting (a server stopping does this for all)."""
        if self.protocol.state is State.OPEN:
            self.protocol.close(code, reason)
            self._transmit()
            self._room.set()  # read on, even if the inbox is full: the peer's Close is coming

    async def wait_closed(self) -> None:
        """Wait until the connection has ended and its TCP connection is closed."""
        await asyncio.shield(self._reading)

    def abort(self) -> None:
        """Cut TCP now, without a closing handshake (the reader task then ends at once)."""
        self._writer.transport.abort()

    def _abandon(self, code: int, reason: str) -> None:
        """Give up on a peer that does not read or answer: a last Close if it fits, then cut.

        Such a peer would not read a closing handshake either, so none is waited for.
        """
        if self._abandoned is None:
            self._abandoned = (code, reason)
            self.error = reason
        self.start_closing(code, reason)  # leaves at once if the kernel has room, else never
        self.abort()

    async def __aenter__(self) -> AsyncConnection:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
