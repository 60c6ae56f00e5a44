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
    """The server this process started when asked for ``host:port``, if any."""
    with _lock:
        return _servers.get((host, port))


def _address(server: "Server") -> Tuple[str, int]:
    """Where a server is filed: the port it was asked for (it may listen elsewhere, if
    another program held that one), or the one it got for ``port=0``."""
    return server.host, server.requested_port or server.port


def remember(server: "Server") -> None:
    with _lock:
        _servers[_address(server)] = server


def forget(server: "Server") -> None:
    with _lock:
        if _servers.get(_address(server)) is server:
            del _servers[_address(server)]


def _stop_all() -> None:
    for server in running_servers():
        server.stop()


atexit.register(_stop_all)
