"""What one connection still has to send: the door its bytes leave by, and a slow reader's limit.

``sock.sendall(data)`` returns once the kernel has taken every byte. The kernel takes
bytes only while its send buffer has room, and the buffer empties only as fast as the
peer reads. A peer that stops reading (a frozen tab, a client that only sends, an
attacker) fills it, and then ``sendall()`` waits: forever. Worse, it waits holding the
connection's lock, so every other thread that wants to send to that peer (a broadcast,
the server stopping) waits behind it. One slow reader stops everyone.

An :class:`Outbox` never waits on the socket. The socket is non-blocking once the
handshake is done; :meth:`Outbox.put` writes what the kernel takes *now* and keeps the
rest, in order; a writer thread, started only when something is left over (a peer that
reads keeps up, and none is needed), waits until the socket can take more and writes it.
What a slow reader costs is bounded and falls on that connection alone:

* a sender may wait (:meth:`wait_for_room`, with the lock released) until no more than a
  *high-water mark* of bytes is waiting, for a bounded time (websockets' ``write_limit``
  is the model);
* if the peer takes nothing at all for ``write_timeout`` seconds, the writer gives up:
  it says why in :attr:`Outbox.stuck` and shuts the socket down, which ends the
  connection (its record says 1008, with that reason).

Every method except the writer's own loop is called with the connection's lock held (the
lock is passed in): bytes are queued in the very order the protocol made them.
"""

from __future__ import annotations

import select
import socket
import threading
from collections import deque
from typing import Deque, Optional

from .deadline import Deadline

__all__ = ["Outbox", "linger_close", "wait_until_ready"]


class Outbox:
    """The unsent bytes of one non-blocking socket, written as fast as the peer reads them."""

    def __init__(
        self,
        sock: socket.socket,
        lock: threading.Lock,
        *,
        write_timeout: float,
    ) -> None:
        self._sock = sock
        # Notified whenever the backlog shrinks or the outbox closes: senders wait on it.
        self._room = threading.Condition(lock)
        self._chunks: Deque[memoryview] = deque()  # views, not copies, of what was put
        self._backlog = 0
        self._writer: Optional[threading.Thread] = None
        self.closed = False
        self.write_timeout = write_timeout
        #: Why the writer gave up on the peer, if it did.
        self.stuck: Optional[str] = None

    @property
    def backlog(self) -> int:
        """Bytes put but not yet taken by the kernel."""
        return self._backlog

    def put(self, data: bytes) -> None:
        """Send ``data`` after everything put before it; never waits for the peer.

        Bytes put after :meth:`close` are dropped: the connection is over.
        """
        if self.closed or not data:
            return
        self._chunks.append(memoryview(data))
        self._backlog += len(data)
        if self._writer is None:  # nobody is writing: write what the kernel takes now
            self._write_some()
            if self._backlog:
                self._start_writer()

    def wait_for_room(self, limit: int, timeout: float) -> bool:
        """Wait until at most ``limit`` bytes are unsent, ``timeout`` seconds at most.

        The lock is released while waiting, so the writer and other senders go on.
        Returns False if the peer still had not read enough when time was up.
        """
        return self._room.wait_for(lambda: self.closed or self._backlog <= limit, timeout)

    def flush(self, timeout: float) -> bool:
        """Wait until every byte is written (True), or ``timeout`` seconds, or the close."""
        return self._room.wait_for(lambda: self.closed or not self._backlog, timeout)

    def close(self) -> None:
        """Drop what is unsent and refuse more: the connection is ending."""
        self.closed = True
        self._chunks.clear()
        self._backlog = 0
        self._room.notify_all()

    def _write_some(self) -> None:
        """Write what the kernel takes now, without waiting."""
        while self._chunks:
            chunk = self._chunks[0]
            try:
                sent = self._sock.send(chunk)
            except (BlockingIOError, InterruptedError):
                break  # the kernel's buffer is full: the rest waits for the peer to read
            except OSError:
                self.close()  # the peer is gone (reset, or the socket was shut down)
                return
            self._backlog -= sent
            if sent < len(chunk):
                self._chunks[0] = chunk[sent:]  # a view of the rest: no copy
                break
            self._chunks.popleft()
        self._room.notify_all()

    def _start_writer(self) -> None:
        writer = threading.Thread(target=self._write_when_ready, name="wslearn-writer", daemon=True)
        self._writer = writer
        try:
            writer.start()
        except RuntimeError:  # no thread to be had: the bytes could never leave
            self._writer = None
            self.close()

    def _write_when_ready(self) -> None:
        """The writer thread: wait for room in the socket, write, until nothing is left."""
        patience = Deadline(self.write_timeout)  # renewed each time the peer takes bytes
        while True:
            with self._room:
                before = self._backlog
                if not self.closed:
                    self._write_some()
                if self.closed or not self._backlog:
                    self._writer = None
                    return
                if self._backlog < before:
                    patience = Deadline(self.write_timeout)
                if patience.expired:
                    self.stuck = f"peer too slow: read nothing for {self.write_timeout:g} s"
                    self._writer = None
                    self.close()
                    break
            wait_until_ready(self._sock, write=True, timeout=patience.remaining())
        try:
            self._sock.shutdown(socket.SHUT_RDWR)  # wakes the connection's own thread
        except OSError:
            pass


def wait_until_ready(sock: socket.socket, *, write: bool, timeout: Optional[float]) -> bool:
    """Wait until ``sock`` can be read (or written, if ``write``); False on timeout.

    ``None`` waits without a limit. A socket that was shut down or failed counts as ready:
    the read or write that follows says what happened.
    """
    if not hasattr(select, "poll"):  # Windows: select() works for sockets
        readers, writers, errors = select.select(
            [] if write else [sock], [sock] if write else [], [sock], timeout
        )
        return bool(readers or writers or errors)
    poller = select.poll()
    poller.register(sock, select.POLLOUT if write else select.POLLIN)
    milliseconds = None if timeout is None else max(0, int(timeout * 1000 + 0.999))
    return bool(poller.poll(milliseconds))


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
