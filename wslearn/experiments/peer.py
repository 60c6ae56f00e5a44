"""The experiments' client: a WebSocket peer on a bare socket that does only what it is told.

A real client answers every Ping and reads everything the moment it arrives; that is
exactly what these experiments must be able to *not* do. :class:`RawPeer` does the opening
handshake with the library's own client side (:func:`~wslearn.handshake.client_request`,
:func:`~wslearn.handshake.check_response`), then reads, parses and answers only when its
caller says so. Between two calls it is silent: its kernel still takes bytes off the wire
(into the socket's receive buffer, until that is full), but no Pong or read leaves it.

It also asks the kernel how many bytes wait in its receive buffer (``SIOCINQ``, Linux's;
elsewhere ``None``). What waits on the server's side, the server's connection says itself
(:attr:`~wslearn.server_connection.ServerConnection.backlog` and ``send_queue``).
"""

from __future__ import annotations

import os
import socket
from typing import List, Optional

from ..deadline import Deadline
from ..frames import Frame
from ..handshake import check_response, client_request
from ..http11 import parse_response
from ..opcodes import Opcode
from ..outbox import SIOCINQ, kernel_queue

__all__ = ["RawPeer"]


class RawPeer:
    """A client connected to ``ws://127.0.0.1:port/``, handshake done, that waits for orders.

    ``receive_buffer`` sets ``SO_RCVBUF`` before connecting, so that TCP's window is small
    from the first byte: a peer that reads slowly then fills up after a few kilobytes.
    Every wait is bounded by ``timeout`` seconds.
    """

    def __init__(
        self, port: int, *, receive_buffer: Optional[int] = None, timeout: float = 5.0
    ) -> None:
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        #: Bytes received after the handshake and not yet parsed into frames.
        self.buffer = bytearray()
        #: Bytes read from the socket since the handshake (what the program took).
        self.bytes_read = 0
        try:
            if receive_buffer is not None:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            self.sock.settimeout(timeout)
            self.sock.connect(("127.0.0.1", port))
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._handshake(port)
        except BaseException:
            self.sock.close()
            raise

    def _handshake(self, port: int) -> None:
        request, key = client_request(f"127.0.0.1:{port}")
        self.sock.sendall(request)
        deadline = Deadline(self.timeout)
        head = b""
        while (response := parse_response(head)) is None:
            if deadline.expired:
                raise TimeoutError("no answer to the handshake in time")
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError(f"the server closed during the handshake: {head!r}")
            head += chunk
        check_response(response, key)
        rest = head[len(response.raw) :]  # frames that came in the same read
        self.buffer += rest
        self.bytes_read += len(rest)

    @property
    def queued(self) -> Optional[int]:
        """Bytes that arrived in this socket's kernel buffer and were not read yet."""
        return kernel_queue(self.sock, SIOCINQ)

    def send(self, opcode: Opcode, payload: bytes = b"") -> None:
        """Send one frame, masked with a fresh key as a client must (RFC 6455 §5.3)."""
        self.sock.sendall(Frame(opcode, payload).serialize(os.urandom(4)))

    def read(self, limit: int, timeout: float) -> int:
        """Read at most ``limit`` bytes, waiting ``timeout`` s at most for the first ones.

        Returns how many came: 0 if none came in time; -1 once the server has closed TCP.
        """
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(limit)
        except (socket.timeout, BlockingIOError):
            return 0
        except ConnectionError:  # a reset: the server cut the connection
            return -1
        finally:
            self.sock.settimeout(self.timeout)
        if not chunk:
            return -1
        self.buffer += chunk
        self.bytes_read += len(chunk)
        return len(chunk)

    def frames(self) -> List[Frame]:
        """The whole frames in what was read so far (they leave the buffer)."""
        found = []
        while (parsed := Frame.parse(self.buffer)) is not None:
            frame, used = parsed
            found.append(frame)
            del self.buffer[:used]
        return found

    def next_frame(self, timeout: float) -> Optional[Frame]:
        """Read until one whole frame is here, ``timeout`` s at most; None if none came.

        Frames after it stay in the buffer, for the next call.
        """
        deadline = Deadline(timeout)
        while True:
            parsed = Frame.parse(self.buffer)
            if parsed is not None:
                frame, used = parsed
                del self.buffer[:used]
                return frame
            if deadline.expired or self.read(65536, deadline.remaining()) < 0:
                return None

    def drain(self, timeout: float) -> bool:
        """Read everything until the server closes TCP (True), or ``timeout`` s (False)."""
        deadline = Deadline(timeout)
        while not deadline.expired:
            if self.read(1 << 20, deadline.remaining()) < 0:
                return True
        return False

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RawPeer":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
