"""A client that reads slower than the server writes: where the bytes wait, and for how long.

A server can produce messages faster than a peer reads them: a phone on a bad network, a
frozen browser tab, a client that only sends. The bytes have to wait somewhere, and each
place has a limit:

1. the client's kernel receive buffer (``SO_RCVBUF``): TCP's window tells the server how
   much more the client can take; when it is full, the window is zero;
2. the server's kernel send buffer: bytes handed to ``send()`` that the peer has not
   acknowledged yet (Linux grows it by itself, up to ``net.ipv4.tcp_wmem``'s maximum);
3. the server's own memory: bytes a program has queued but the kernel did not take yet.
   Here that is the connection's :class:`~wslearn.outbox.Outbox`.

Without a limit on the third, a fast sender and a slow reader make a server's memory grow
until it dies. ``wslearn`` bounds it (:mod:`wslearn.outbox`): a handler's ``send()``
*waits* while the kernel takes the message (back-pressure: the producer slows down to the
reader's pace), so a connection holds at most one message unsent; a sender that must not
wait (``timeout=0``, the broadcast) may leave up to ``write_limit`` bytes, no more; and a
peer that takes nothing at all for ``write_timeout`` seconds is closed with 1008.

:func:`slow_reader` runs it for real, in a few seconds: a server whose handler streams
messages, and a client (:class:`~wslearn.experiments.peer.RawPeer`) with a small receive
buffer that reads at ``read_rate`` bytes per second, and maybe stops reading altogether.
Every ``tick`` the client notes where the bytes are (a :class:`Sample`): read by the
client, waiting in its kernel (``SIOCINQ``), and what the server's connection says of its
side: waiting in the server's kernel (:attr:`ServerConnection.send_queue`, Linux's
``SIOCOUTQ``) and in the server's memory (:attr:`ServerConnection.backlog`).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import List, Optional

from ..deadline import Deadline
from ..errors import ConnectionClosed
from ..frames import encode_frame_header
from ..opcodes import Opcode
from ..server_connection import Message, ServerConnection
from ..serving import serve
from .peer import RawPeer

__all__ = ["BackpressureRun", "Sample", "slow_reader"]


@dataclasses.dataclass(frozen=True)
class Sample:
    """Where the stream's bytes were, ``time`` seconds after the handler began to send.

    All counts are of bytes on the wire (frame headers included). ``handed``: what the
    handler had handed to ``send()``; ``sent``: the part whose ``send()`` had returned;
    ``server_queue``: in the server's kernel send buffer; ``client_queue``: in the client's
    kernel receive buffer; ``read``: what the client had read. The queues are ``None``
    where the kernel does not say (not Linux). ``outbox``: in the server's memory, as the
    connection counts it (:attr:`ServerConnection.backlog`; ``None`` if not asked).
    """

    time: float
    handed: int
    sent: int
    server_queue: Optional[int]
    client_queue: Optional[int]
    read: int
    outbox: Optional[int] = None

    @property
    def backlog(self) -> Optional[int]:
        """Bytes in the server's memory: handed to ``send()``, in no kernel buffer yet.

        The connection's own count (``outbox``) where it was asked; else it is what the
        other counts leave: on loopback no byte is ever on a wire between the two kernels,
        so what was handed is read, or in one of the two buffers, or in the server's
        :class:`~wslearn.outbox.Outbox`.
        """
        if self.outbox is not None:
            return self.outbox
        if self.server_queue is None or self.client_queue is None:
            return None
        return max(0, self.handed - self.read - self.client_queue - self.server_queue)


@dataclasses.dataclass
class BackpressureRun:
    """What :func:`slow_reader` saw: its settings, the samples, and how it ended.

    ``send_waits`` is how long each of the handler's ``send()`` calls took, in order;
    ``messages_sent`` how many returned. ``close_code`` and ``close_reason`` are the
    server's record of the end (1000 when the client closed, 1008 when the server gave up
    on it), ``closed_at`` when that was, in the samples' time.
    """

    message_size: int
    read_rate: float
    write_limit: int
    write_timeout: float
    receive_buffer: Optional[int]
    send_buffer: Optional[int]
    stops_reading_at: Optional[float]
    waits: bool
    samples: List[Sample]
    send_waits: List[float]
    messages_sent: int
    closed_at: Optional[float]
    close_code: Optional[int]
    close_reason: str

    @property
    def frame_size(self) -> int:
        """One message's bytes on the wire: its header, then its payload."""
        return len(encode_frame_header(Opcode.BINARY, self.message_size)) + self.message_size

    @property
    def max_backlog(self) -> Optional[int]:
        """The most bytes the server's memory held for this peer at any sample."""
        values = [s.backlog for s in self.samples if s.backlog is not None]
        return max(values) if values else None

    @property
    def max_server_queue(self) -> Optional[int]:
        values = [s.server_queue for s in self.samples if s.server_queue is not None]
        return max(values) if values else None

    @property
    def max_client_queue(self) -> Optional[int]:
        values = [s.client_queue for s in self.samples if s.client_queue is not None]
        return max(values) if values else None

    def summary(self) -> str:
        """The run in a few lines of words."""
        last = self.samples[-1] if self.samples else None
        waits = sorted(self.send_waits)
        median = waits[len(waits) // 2] if waits else 0.0
        lines = [
            f"{self.messages_sent} message(s) of {self.message_size} B sent; the client read "
            f"{last.read if last else 0} B at {self.read_rate:g} B/s"
            + (f", then stopped at {self.stops_reading_at:g} s" if self.stops_reading_at else ""),
            f"a send() took {median * 1000:.0f} ms (median), {max(waits, default=0) * 1000:.0f}"
            " ms at most" + (": the handler waits for the reader" if self.waits else ""),
            f"most bytes waiting: server memory {self.max_backlog} B (write_limit "
            f"{self.write_limit} B), server kernel {self.max_server_queue} B, "
            f"client kernel {self.max_client_queue} B",
        ]
        if self.close_code is not None and self.closed_at is not None:
            lines.append(
                f"closed at {self.closed_at:.2f} s: {self.close_code} {self.close_reason!r}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<BackpressureRun\n{self.summary()}>"


class Stream:
    """The server's handler: on ``"start"``, send messages until told to stop, then ``"done"``.

    It counts, for the samples, the bytes it handed to ``send()`` and the bytes whose
    ``send()`` returned, and times each ``send()``. It runs in the connection's thread, and
    keeps the connection, whose figures the samples read. ``send_buffer``: the connection's
    kernel send buffer is set to it before the first send (``None``: Linux sizes it).
    """

    def __init__(
        self,
        message_size: int,
        messages: int,
        *,
        waits: bool = True,
        send_buffer: Optional[int] = None,
    ) -> None:
        self.payload = bytes(message_size)
        self.send_buffer = send_buffer
        self.connection: Optional[ServerConnection] = None  # set on "start"
        self.timeout = None if waits else 0.0  # 0: never wait, as the broadcast sends
        self.frame_size = len(encode_frame_header(Opcode.BINARY, message_size)) + message_size
        self.messages = messages
        self.handed = 0
        self.sent = 0
        self.waits: List[float] = []
        self.started: Optional[float] = None  # time.monotonic() of the first send
        self.started_wall = 0.0  # the same moment on the recorder's clock (time.time())
        self.stop = threading.Event()
        self.finished = threading.Event()

    def __call__(self, connection: ServerConnection, message: Message) -> None:
        if message != "start":
            return
        if self.send_buffer is not None:
            connection.send_buffer = self.send_buffer
        self.connection = connection
        self.started_wall, self.started = time.time(), time.monotonic()
        try:
            for _ in range(self.messages):
                if self.stop.is_set():
                    break
                self.handed += self.frame_size
                began = time.monotonic()
                connection.send(self.payload, timeout=self.timeout)  # waits for the reader
                self.waits.append(time.monotonic() - began)
                self.sent += self.frame_size
            self.handed += 2 + len("done")
            connection.send("done", timeout=self.timeout)
        except ConnectionClosed:
            pass  # the server gave up on the peer: the run notes how, from the record
        finally:
            self.finished.set()


def slow_reader(
    message_size: int = 16384,
    messages: int = 10_000,
    read_rate: float = 256 * 1024,
    write_limit: int = 32768,
    write_timeout: float = 1.0,
    duration: float = 2.0,
    *,
    stops_reading_at: Optional[float] = None,
    receive_buffer: Optional[int] = 8192,
    send_buffer: Optional[int] = 16384,
    waits: bool = True,
    tick: float = 0.02,
) -> BackpressureRun:
    """Stream ``messages`` binary messages of ``message_size`` bytes to a slow reader.

    The client reads ``read_rate`` bytes per second, through a receive buffer of
    ``receive_buffer`` bytes (``SO_RCVBUF``, set before connecting), for ``duration``
    seconds; then it lets the server finish its message, reads the rest at full speed and
    closes (1000). With ``stops_reading_at`` it stops reading at that second instead, and
    the run waits for the server to give up on it (``write_timeout``: 1008), at most
    ``2 * write_timeout + 1`` seconds more. Every ``tick`` seconds it takes a
    :class:`Sample`. The server's ``write_limit`` and ``write_timeout`` are passed on;
    ``waits=False`` makes the handler send as the broadcast does (``timeout=0``: never
    wait, close the peer once it is ``write_limit`` bytes behind).

    ``send_buffer`` sets the server socket's ``SO_SNDBUF``
    (:attr:`ServerConnection.send_buffer`) before the first send; ``None`` leaves it to
    Linux, which on loopback grows it to about 3 MB: the kernel then takes seconds of a slow
    reader's bytes at once, and wakes a waiting ``send()`` only once a third of its buffer
    is free again (the server looks at what the peer read meanwhile, so a reader that keeps
    reading is not closed: see :mod:`wslearn.outbox`). A small buffer keeps the whole story
    within a few seconds and a few kilobytes.
    With the defaults a run takes about 2 s, and every thread and socket is gone when it
    returns.
    """
    stream = Stream(message_size, messages, waits=waits, send_buffer=send_buffer)
    with serve(
        port=0,
        handler=stream,
        ping_interval=None,
        write_limit=write_limit,
        write_timeout=write_timeout,
        show_errors=False,
    ) as server:
        with RawPeer(server.port, receive_buffer=receive_buffer) as peer:
            record = server.recorder.connections()[-1]
            peer.send(Opcode.TEXT, b"start")
            samples = read_slowly(
                peer, stream, read_rate, duration, stops_reading_at, write_timeout, tick
            )
            stream.stop.set()
            finish(peer)  # the rest at full speed, then a Close (unless TCP is closed)
            peer.drain(write_timeout + 1)
    closed_at = None
    if record.closed is not None and stream.started is not None:
        closed_at = record.closed - stream.started_wall
    return BackpressureRun(
        message_size=message_size,
        read_rate=read_rate,
        write_limit=write_limit,
        write_timeout=write_timeout,
        receive_buffer=receive_buffer,
        send_buffer=send_buffer,
        stops_reading_at=stops_reading_at,
        waits=waits,
        samples=samples,
        send_waits=list(stream.waits),
        messages_sent=len(stream.waits),
        closed_at=closed_at,
        close_code=record.close_code,
        close_reason=record.close_reason,
    )


def read_slowly(
    peer: RawPeer,
    stream: Stream,
    read_rate: float,
    duration: float,
    stops_reading_at: Optional[float],
    write_timeout: float,
    tick: float,
) -> List[Sample]:
    """The client's loop: read at ``read_rate`` (until ``stops_reading_at``), sample, repeat."""
    waited = Deadline(5.0)
    while stream.started is None and not waited.expired:
        time.sleep(0.005)  # the handler has not begun yet
    began = stream.started if stream.started is not None else time.monotonic()
    end = duration
    if stops_reading_at is not None:
        end = max(duration, stops_reading_at + 2 * write_timeout + 1)
    samples: List[Sample] = []
    closed = False
    while True:
        now = time.monotonic() - began
        # Once the handler is done (the server gave up on us), its bytes are dropped: what
        # it handed no longer tells where bytes wait, so sampling ends there.
        if now >= end or stream.finished.is_set():
            return samples
        reading = stops_reading_at is None or now < stops_reading_at
        while reading and not closed and peer.bytes_read < read_rate * now:
            got = peer.read(int(read_rate * now) - peer.bytes_read + 1, timeout=0.001)
            closed = got < 0
            if got == 0:
                break
        peer.frames()  # keep the parse buffer small
        connection = stream.connection
        samples.append(
            Sample(
                time=now,
                handed=stream.handed,
                sent=stream.sent,
                server_queue=connection.send_queue if connection is not None else None,
                client_queue=peer.queued,
                read=peer.bytes_read,
                outbox=connection.backlog if connection is not None else None,
            )
        )
        time.sleep(tick)


def finish(peer: RawPeer) -> None:
    """Read at full speed until the handler's ``"done"``, then close the WebSocket (1000).

    If the server closed TCP first (it gave up on us), there is nothing to close.
    """
    deadline = Deadline(5.0)
    while not deadline.expired:
        if any(frame.opcode == Opcode.TEXT for frame in peer.frames()):
            break
        if peer.read(1 << 20, deadline.remaining()) < 0:
            return
    peer.send(Opcode.CLOSE, (1000).to_bytes(2, "big"))
