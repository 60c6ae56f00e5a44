"""Start a server in the background, or start it again: what a notebook cell calls.

:func:`serve` makes a :class:`~wslearn.server.Server`, starts it, and keeps it in the
process's registry (:mod:`wslearn.server_registry`) under the port it was asked for. Running
the same cell again stops the server that cell started, then starts the new one on the same
port. On a shared host that port may be held by another program, another learner's server
among them: then the server listens on a free port instead, and says so
(``server.requested_port`` differs from ``server.port``); the widget and the notebooks find it
through the server object, never through a port number typed twice.
"""

from __future__ import annotations

import inspect
from typing import Any

from .server import PortInUse, Server
from .server_registry import remember, server_at

__all__ = ["serve"]


def serve(port: int = 8080, host: str = "127.0.0.1", **options: Any) -> Server:
    """Start a WebSocket server in background threads and return it at once.

    ``handler`` is ``"echo"`` (send every message back), ``"broadcast"`` (send
    every message to every open connection: a tiny chat) or your own function
    ``handler(connection, message)``; ``message`` is a ``str`` for text and
    ``bytes`` for binary, and ``connection.send(...)`` answers. If it raises,
    the error is printed and kept in ``server.errors``, that connection closes
    with 1011, and the server goes on.

    Binds 127.0.0.1 (this machine only) unless you pass ``host``; ``port=0``
    picks a free port, and so does a ``port`` another program holds (another
    learner's server, on a shared host): ``server.port`` says where it listens,
    ``server.requested_port`` what was asked. Starting again with a port this
    process asked for before stops that server first (never another program's).
    Only the programs of this server's own user may connect (``same_user_only``,
    :mod:`wslearn.peer_user`): others get 403. ``max_size`` limits one message (default
    1 MiB; ``None`` for no limit). ``origins`` says which pages may connect
    (others get 403): by default (``"local"``) pages of the server's own host and
    of this machine, and programs that send no ``Origin``; a list of ``Origin``
    values allows exactly those; ``None`` allows every page. ``log`` is called
    with one line per frame.
    ``show_errors=False`` keeps handler tracebacks out of the output (they
    are still in ``server.errors``).

    Limits that protect the server from its peers (websockets' defaults): a quiet
    peer gets a Ping after ``ping_interval`` seconds (20; ``None``: never) and is
    closed if its Pong takes over ``ping_timeout`` (20; ``None``: never closed); a
    send waits while the peer has more than ``write_limit`` bytes (64 KiB) unread,
    and a peer that reads nothing for ``write_timeout`` seconds (10) is closed with
    1008; ``max_connections`` (``None``: no cap) turns further clients away with 503.
    The other time limits (``handshake_timeout``, ``close_timeout``),
    ``subprotocols`` and the recording's bounds (``max_frames``, ``preview_bytes``)
    are :class:`Server`'s, like every option. ``compression="deflate"`` accepts a client's
    permessage-deflate offer (RFC 7692; off by default, see :mod:`wslearn.server_settings`
    for why, and for ``window_bits``, ``mem_level`` and ``compression_level``, which bound
    its memory: about 40 KiB per connection); ``max_size`` then limits inflated messages.
    """
    server = Server(host, port, **options)
    old = server_at(host, port) if port else None  # this process's own, from an earlier run
    if old is not None:
        old.stop()
    try:
        server.start()
    except PortInUse:
        if not port:
            raise
        server.port = 0  # held by another program (a learner's, on a shared host): any port
        server.start()
    remember(server)
    return server


def _serve_signature() -> inspect.Signature:
    """``serve``'s own ``port`` and ``host``, then every keyword option of :class:`Server`."""
    own = inspect.signature(serve)
    options = [
        parameter
        for parameter in inspect.signature(Server).parameters.values()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    return own.replace(parameters=[own.parameters["port"], own.parameters["host"], *options])


# help(serve) and inspect.signature(serve) show every option, though serve() takes **options.
serve.__signature__ = _serve_signature()  # type: ignore[attr-defined]
