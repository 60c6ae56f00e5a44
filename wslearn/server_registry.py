"""The servers this process runs, by address: so that re-running a notebook cell just works.

A notebook cell that starts a server on port 8765 is often run twice. The second run must
not fail with "address already in use" because the first server still listens in the
kernel: :func:`wslearn.serve` looks the address up here and stops the old server first.
At exit, every server still running is stopped, closing its connections with 1001.
"""

from __future__ import annotations

import atexit
import threading
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

if TYPE_CHECKING:
    from .server import Server

__all__ = ["forget", "remember", "running_servers", "server_at"]

_servers: Dict[Tuple[str, int], "Server"] = {}
_lock = threading.Lock()


def running_servers() -> List["Server"]:
    """The servers this process is running now."""
    with _lock:
        return [s for s in _servers.values() if s.running]


def server_at(host: str, port: int) -> Optional["Server"]:
    """The server this process started at ``host:port``, if any."""
    with _lock:
        return _servers.get((host, port))


def remember(server: "Server") -> None:
    with _lock:
        _servers[(server.host, server.port)] = server


def forget(server: "Server") -> None:
    with _lock:
        if _servers.get((server.host, server.port)) is server:
            del _servers[(server.host, server.port)]


def _stop_all() -> None:
    for server in running_servers():
        server.stop()


atexit.register(_stop_all)
