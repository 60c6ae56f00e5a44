"""The asyncio I/O ring: a WebSocket server and client on one event loop, around the same core.

The protocol core (:mod:`wslearn.connection`, :mod:`wslearn.handshake`, :mod:`wslearn.http11`,
:mod:`wslearn.keepalive`, ...) takes bytes and returns events; it does not know whether a
thread or a task feeds it. :func:`wslearn.serve` feeds it from threads; this package feeds
the very same objects from asyncio tasks, unchanged: that is what sans-I/O buys.

* :func:`serve` / :class:`Server` / :class:`ServerConnection` (:mod:`.server`);
* :func:`connect` / :class:`ClientConnection` (:mod:`.client`);
* :class:`AsyncConnection` (:mod:`.connection`), what both roles share: the reader task,
  back-pressure, keepalive and the closing handshake.

Inside this package ``import asyncio`` is the standard library's (imports are absolute).
Nothing here calls ``asyncio.run()``: in Jupyter the kernel's loop is already running, and a
cell awaits directly (``server = await wslearn.asyncio.serve(handler)``).
"""

from .client import ClientConnection, connect
from .connection import AsyncConnection, Limits
from .server import Server, ServerConnection, echo, serve

__all__ = [
    "AsyncConnection",
    "ClientConnection",
    "Limits",
    "Server",
    "ServerConnection",
    "connect",
    "echo",
    "serve",
]
