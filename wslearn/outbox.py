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

Every method is called with the connection's lock held (the lock is passed in), so
bytes are queued in the very order the protocol made them. The socket stays in blocking
mode: a write that must not wait says so (``MSG_DONTWAIT``), and a write that may wait does
so in the kernel, for ``write_timeout`` seconds at most (the socket's ``SO_SNDTIMEO``).
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
from collections import deque
from typing import Deque, Optional

from .deadline import Deadline

__all__ = ["DEFAULT_WRITE_LIMIT", "DEFAULT_WRITE_TIMEOUT", "Outbox", "linger_close"]

#: A sender waits while more than this many bytes are unsent (websockets' ``write_limit``
#: is 32 KiB above the kernel's buffers; the same order of size).
DEFAULT_WRITE_LIMIT = 2**16
#: A peer that takes nothing for this many seconds is given up on.
DEFAULT_WRITE_TIMEOUT = 10.0

#: Send only what the kernel takes now. (Windows has no such flag: there a write waits as
#: ``sendall()`` does, and a slow reader holds up whoever sends to it.)
DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)


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
        if sys.platform != "win32":  # a write that waits, waits write_timeout at most
            seconds, fraction = divmod(write_timeout, 1.0)
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

        Each write waits for room in the kernel for ``write_timeout`` seconds at most; a
        peer that takes nothing for that long is given up on.
        """
        self._writing = True  # from now on only this thread writes: other puts just queue
        try:
            while self._chunks and not self.closed:
                chunk = self._chunks[0]
                self._lock.release()  # wait for the peer, not for the lock's holders
                try:
                    sent = self._sock.send(chunk)
                except (BlockingIOError, InterruptedError):
                    sent = 0  # write_timeout passed, and the peer took nothing
                except OSError:
                    sent = -1  # the peer is gone (reset, or the socket was shut down)
                finally:
                    self._lock.acquire()
                if self.closed:
                    return
                if sent == 0:
                    self._give_up()
                    return
                if sent < 0:
                    self.close()
                    return
                self._taken(chunk, sent)
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
