"""One file descriptor held back, so that a client can be told "busy" when none are left.

Every open connection costs the server process a file descriptor, and a process has a
limit (``ulimit -n``: often 1024, sometimes 256). At the limit ``accept()`` fails with
EMFILE: the waiting client is neither served nor refused, and waits in the kernel's queue
until it gives up. A server that keeps one descriptor in reserve can do better: close the
reserve, accept the client, answer ``503 Service Unavailable``, close it, and take the
reserve again.
"""

from __future__ import annotations

import os
import socket
import time
from typing import IO, Optional

from .http11 import http_response

__all__ = ["SpareDescriptor", "BUSY", "send_busy"]

#: What a client turned away reads.
BUSY = http_response(
    503,
    "the server has too many open connections; try again later\n",
    headers=[("Retry-After", "1")],
)


class SpareDescriptor:
    """A file descriptor kept open for :meth:`turn_away` to use."""

    def __init__(self) -> None:
        self._spare: Optional[IO[bytes]] = self._take()

    @staticmethod
    def _take() -> Optional[IO[bytes]]:
        try:
            return open(os.devnull, "rb")  # held open on purpose: that is the point
        except OSError:
            return None

    def turn_away(self, listener: socket.socket) -> bool:
        """Accept the next waiting client with the spare descriptor, answer 503, close it.

        Returns False if there was no spare to use (then wait a little before trying again).
        """
        if self._spare is None:
            self._spare = self._take()
            time.sleep(0.05)
            return False
        self._spare.close()
        try:
            sock, _ = listener.accept()
        except OSError:
            time.sleep(0.05)
            return False
        finally:
            self._spare = self._take()
        send_busy(sock)
        return True

    def close(self) -> None:
        if self._spare is not None:
            self._spare.close()
            self._spare = None


def send_busy(sock: socket.socket) -> None:
    """Answer an accepted client with :data:`BUSY` (503) and close it, in a second at most."""
    with sock:
        try:
            sock.settimeout(1.0)
            sock.sendall(BUSY)
            sock.shutdown(socket.SHUT_WR)  # FIN after the answer, so the client reads it whole
        except OSError:
            pass
