"""What one connection still has to send: the door its bytes leave by, and a slow reader's limit.

``sock.sendall(data)`` returns once the kernel has taken every byte. The kernel takes
bytes only while its send buffer has room, and the buffer empties only as fast as the
peer reads. A peer that stops reading (a frozen tab, a client that only sends, an
attacker) fills it, and then ``sendall()`` waits: forever. Worse, it waits holding the
connection's lock, so every other thread that wants to send to that peer (a broadcast,
the server stopping) waits behind it. One slow reader stops everyone.

An :class:`Outbox` never waits on the socket while it holds the lock. Each write asks
the kernel for no more than it takes *now* (``MSG_DONTWAIT``); what it does not take
stays in the outbox, in order, and is written when the socket has room again, by one
thread at a time:

* a sender that may wait (``put(data, wait=True)``: the connection's own thread, which
  should slow down to its peer's pace) writes until its bytes are out, with the lock
  released while the kernel takes them, so others can still queue bytes, close, or stop
  (only the thread that writes the backlog out ever writes: bytes keep their order);
* a sender that must not wait (``wait=False``: a broadcast to many peers, a Ping, a
  Close) leaves the rest to a writer thread, started only then.

What a slow reader costs is bounded, and falls on that connection alone: a peer that
takes nothing at all for ``write_timeout`` seconds is given up on. The outbox says why in
:attr:`Outbox.stuck`, drops what is unsent and shuts the socket down, which ends the
connection (its record says 1008, with that reason).

**What counts as "takes nothing".** A blocked ``send()`` is a poor witness: Linux wakes it
only once about a third of the send buffer is free, and on loopback it grows that buffer to
some 3 MB by itself. A reader steadily taking 256 KiB/s frees a third of it in about 4 s, so
a ``send()`` that waits ``write_timeout=1`` s times out while the peer reads all along: it
was closed with 1008 (``wslearn.experiments.backpressure.slow_reader(send_buffer=None)``,
after 1.02 s). So a write waits in slices (a tenth of ``write_timeout``,
:data:`PROGRESS_CHECKS`) and, between two, asks the kernel how many bytes it still holds
unsent (Linux's ``SIOCOUTQ``, :func:`unsent_in_kernel`): a count that went down means the
peer took bytes, and the ``write_timeout`` clock starts again. Only a peer that takes no
byte for ``write_timeout`` seconds is given up on (a slice late at most). Where the kernel
cannot say, one wait lasts ``write_timeout``, as a blocked ``send()`` tells no more.
The same run with this rule: the reader read its 1 MB in 4 s and closed normally (1000).

Capping each socket's send buffer (``SO_SNDBUF``) would wake ``send()`` sooner, but does not
fix the judgement (a reader slower than a third of the cap per ``write_timeout`` would still
look stuck), and it turns off the kernel's auto-sizing, which a connection over a real
network needs to fill its bandwidth times its round trip. The kernel bounds that buffer
itself (``net.ipv4.tcp_wmem``; and ``tcp_mem`` for all sockets); a server that wants a
smaller bound per peer sets one (``ServerConnection.send_buffer``).

Every method is called with the connection's lock held (the lock is passed in), so
bytes are queued in the very order the protocol made them. The socket stays in blocking
mode: a write that must not wait says so (``MSG_DONTWAIT``), and a write that may wait does
so in the kernel, one slice at a time (the socket's ``SO_SNDTIMEO``).
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time
from collections import deque
from typing import Deque, Optional

from .deadline import Deadline

__all__ = [
    "DEFAULT_WRITE_LIMIT",
    "DEFAULT_WRITE_TIMEOUT",
    "PROGRESS_CHECKS",
    "SIOCINQ",
    "SIOCOUTQ",
    "Outbox",
    "kernel_queue",
    "linger_close",
    "unsent_in_kernel",
]

#: A sender waits while more than this many bytes are unsent (websockets' ``write_limit``
#: is 32 KiB above the kernel's buffers; the same order of size).
DEFAULT_WRITE_LIMIT = 2**16
#: A peer that takes nothing for this many seconds is given up on.
DEFAULT_WRITE_TIMEOUT = 10.0

#: Send only what the kernel takes now. (Windows has no such flag: there a write waits as
#: ``sendall()`` does, and a slow reader holds up whoever sends to it.)
DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
#: A write that waits looks this many times per ``write_timeout`` whether the peer took bytes.
PROGRESS_CHECKS = 10

#: Linux ``ioctl`` requests: bytes in a socket's send buffer not yet acknowledged by the
#: peer (``SIOCOUTQ``, the same number as ``TIOCOUTQ``), and bytes in its receive buffer
#: not yet read by the program (``SIOCINQ``, the same number as ``FIONREAD``).
SIOCOUTQ = 0x5411
SIOCINQ = 0x541B


def kernel_queue(sock: socket.socket, request: int) -> Optional[int]:
    """What the kernel answers ``request`` (:data:`SIOCOUTQ` or :data:`SIOCINQ`) for ``sock``;
    None where it cannot say (not Linux, or the socket is closed)."""
    if not sys.platform.startswith("linux") or sock.fileno() < 0:
        return None
    import fcntl  # here, not at the top: Windows has no fcntl module

    try:
        answer = fcntl.ioctl(sock.fileno(), request, struct.pack("i", 0))
    except OSError:
        return None
    return int(struct.unpack("i", answer)[0])


def unsent_in_kernel(sock: socket.socket) -> Optional[int]:
    """Bytes ``sock``'s kernel took from ``send()`` that the peer has not acknowledged yet.

    TCP acknowledges what lands in the peer's receive buffer; once that is full, only the
    peer's reads make room, so the count goes down exactly as fast as the peer reads.
    None where the kernel cannot say.
    """
    return kernel_queue(sock, SIOCOUTQ)


class Outbox:
    """The unsent bytes of one socket, written as fast as the peer reads them."""

    def __init__(self, sock: socket.socket, lock: threading.Lock, *, write_timeout: float) -> None:
        self._sock = sock
        self._lock = lock
        # Notified whenever the backlog shrinks or the outbox closes: senders wait on it.
        self._room = threading.Condition(lock)
        self._chunks: Deque[memoryview] = deque()  # views, not copies, of what was put
        self._backlog = 0
        self._writing = False  # True while a thread writes the backlog out
        self._waiting = 0  # threads waiting for room (or for the flush)
        self.closed = False
        self.write_timeout = write_timeout
        #: Why the peer was given up on, if it was.
        self.stuck: Optional[str] = None
        #: Bytes put that never reached the kernel: the backlog dropped by :meth:`close`.
        self.dropped = 0
        # Where the kernel tells what the peer took, a write waits a slice at a time and
        # looks; elsewhere it waits write_timeout at once (see the module's docstring).
        self._measures = unsent_in_kernel(sock) is not None
        wait = write_timeout / PROGRESS_CHECKS if self._measures else write_timeout
        if sys.platform != "win32":  # a write that waits, waits this long at most
            seconds, fraction = divmod(wait, 1.0)
            timeval = struct.pack("ll", int(seconds), int(fraction * 1e6))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)

    @property
    def backlog(self) -> int:
        """Bytes put but not yet taken by the kernel."""
        return self._backlog

    def put(self, data: bytes, *, wait: bool = True) -> None:
        """Send ``data`` after everything put before it.

        ``wait=True``: return once the kernel has taken it all, or once the peer is given
        up on. ``wait=False``: return at once; a writer thread writes what is left.
        Bytes put after :meth:`close` are dropped: the connection is over.
        """
        if self.closed or not data:
            return
        if self._writing:  # the thread writing now writes these bytes too, in their turn
            self._queue(memoryview(data))
            return
        # Not writing means nothing waits before these bytes: try the kernel at once.
        sent = self._send_now(data)
        if sent is None or sent == len(data):
            return  # the usual case: it took everything (or the peer is gone)
        self._queue(memoryview(data)[sent:])
        if wait:
            self._write_all()
        else:
            self._start_writer()

    def wait_for_room(self, limit: int, timeout: float) -> bool:
        """Wait until at most ``limit`` bytes are unsent, ``timeout`` seconds at most.

        The lock is released while waiting, so the writer and other senders go on.
        Returns False if the peer still had not read enough when time was up.
        """
        if self.closed or self._backlog <= limit:
            return True  # the usual case: no need to wait
        self._waiting += 1
        try:
            return self._room.wait_for(lambda: self.closed or self._backlog <= limit, timeout)
        finally:
            self._waiting -= 1

    def flush(self, timeout: float) -> bool:
        """Wait until every byte is written (True), or ``timeout`` seconds, or the close."""
        self._waiting += 1
        try:
            return self._room.wait_for(lambda: self.closed or not self._backlog, timeout)
        finally:
            self._waiting -= 1

    def close(self) -> None:
        """Drop what is unsent and refuse more: the connection is ending."""
        self.closed = True
        self.dropped += self._backlog
        self._chunks.clear()
        self._backlog = 0
        self._room.notify_all()

    def _queue(self, rest: memoryview) -> None:
        self._chunks.append(rest)
        self._backlog += len(rest)

    def _taken(self, chunk: memoryview, sent: int) -> None:
        """The kernel took ``sent`` bytes of the first chunk: drop them, tell the waiters."""
        self._backlog -= sent
        if sent < len(chunk):
            self._chunks[0] = chunk[sent:]  # a view of the rest: no copy
        else:
            self._chunks.popleft()
        if self._waiting:
            self._room.notify_all()

    def _send_now(self, data: "bytes | memoryview") -> Optional[int]:
        """Bytes the kernel took of ``data`` now (0 when its buffer is full), without waiting;
        None if the peer is gone (reset, or the socket was shut down): the outbox closes."""
        try:
            return self._sock.send(data, DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError:
            self.close()
            return None

    def _write_all(self) -> None:
        """Write until nothing is left, the lock released while the kernel takes the bytes.

        Each write waits for room in the kernel one slice at most; a peer that takes
        nothing for ``write_timeout`` seconds, slice after slice, is given up on.
        """
        self._writing = True  # from now on only this thread writes: other puts just queue
        progress = time.monotonic()  # when the peer last took bytes
        unsent = unsent_in_kernel(self._sock)
        try:
            while self._chunks and not self.closed:
                chunk = self._chunks[0]
                self._lock.release()  # wait for the peer, not for the lock's holders
                try:
                    sent = self._sock.send(chunk)
                except (BlockingIOError, InterruptedError):
                    sent = 0  # a slice passed, and the kernel took nothing
                except OSError:
                    sent = -1  # the peer is gone (reset, or the socket was shut down)
                finally:
                    self._lock.acquire()
                if self.closed:
                    return
                if sent < 0:
                    self.close()
                    return
                if sent > 0:
                    self._taken(chunk, sent)
                    progress, unsent = time.monotonic(), unsent_in_kernel(self._sock)
                    continue
                # The kernel took nothing for a slice: did the peer read meanwhile?
                before, unsent = unsent, unsent_in_kernel(self._sock)
                if before is not None and unsent is not None and unsent < before:
                    progress = time.monotonic()
                elif not self._measures or time.monotonic() - progress >= self.write_timeout:
                    self._give_up()
                    return
        finally:
            self._writing = False

    def _give_up(self) -> None:
        self.stuck = f"peer too slow: read nothing for {self.write_timeout:g} s"
        self.close()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the connection's own thread
        except OSError:
            pass

    def _start_writer(self) -> None:
        self._writing = True  # from now on, until the writer has finished
        writer = threading.Thread(target=self._writer, name="wslearn-writer", daemon=True)
        try:
            writer.start()
        except RuntimeError:  # no thread to be had: the bytes could never leave
            self._writing = False
            self._give_up()

    def _writer(self) -> None:
        """The writer thread: what a sender that could not wait left behind."""
        with self._lock:
            self._writing = False
            if self._backlog:
                self._write_all()


def linger_close(sock: socket.socket, seconds: float = 1.0) -> Optional[float]:
    """Half-close, then read and discard what the peer still sends, for ``seconds`` at most.

    Closing a socket that holds unread bytes makes the kernel send a reset, which
    can destroy our last answer (an HTTP error, a Close frame) before the peer
    reads it. Sending FIN first and draining avoids that; the deadline keeps a
    peer that never stops sending from holding the thread.

    Returns when the drain reached the end of the stream (``time.time()``, when ``recv()``
    gave b""): the peer's FIN, unless this socket's reading side was already shut down
    here. None if the time was up first, or the peer reset the connection.
    """
    deadline = Deadline(seconds)
    try:
        sock.shutdown(socket.SHUT_WR)
        while True:
            remaining = deadline.remaining()
            if remaining == 0:
                return None
            sock.settimeout(remaining)
            if not sock.recv(65536):
                return time.time()
    except OSError:
        return None
