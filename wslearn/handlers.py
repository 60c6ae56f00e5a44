"""The server's built-in handlers: what it does with each whole message it receives.

A handler is any function ``handler(connection, message)``: ``message`` is a ``str`` for a
text message and ``bytes`` for a binary one, and ``connection.send(...)`` answers. The
server calls it in the connection's own thread, once per message, in order.
"""

from __future__ import annotations

import traceback
from typing import Any, Callable, Dict, Tuple, Union

from .errors import ConnectionClosed
from .opcodes import CloseCode
from .server_connection import Message, ServerConnection

__all__ = ["BUILTIN_HANDLERS", "Handler", "broadcast", "call_handler", "echo", "find_handler"]

Handler = Callable[[ServerConnection, Message], Any]


def echo(connection: ServerConnection, message: Message) -> None:
    """Send each message back to its sender."""
    connection.send(message)


def broadcast(connection: ServerConnection, message: Message) -> None:
    """Send each message to every open connection (a tiny chat)."""
    for other in connection.server.connections:
        try:
            # timeout=0: a peer that is far behind in its reading is closed, not waited
            # for, so one slow reader cannot hold up the message for everyone else.
            other.send(message, timeout=0)
        except (OSError, ConnectionClosed):
            pass  # that one is closing; the others still get the message


#: The handlers known by name, for ``serve(handler="echo")`` and ``--handler echo``.
BUILTIN_HANDLERS: Dict[str, Handler] = {"echo": echo, "broadcast": broadcast}


def find_handler(handler: Union[str, Handler]) -> Tuple[str, Handler]:
    """The name and the function of ``handler``: a name of BUILTIN_HANDLERS or a callable."""
    names = ", ".join(repr(name) for name in BUILTIN_HANDLERS)
    if isinstance(handler, str):
        if handler not in BUILTIN_HANDLERS:
            raise ValueError(f"handler is {names} or a function(connection, message)")
        return handler, BUILTIN_HANDLERS[handler]
    if callable(handler):
        return getattr(handler, "__name__", "custom"), handler
    raise TypeError(f"handler must be {names} or a callable")


def call_handler(
    handler: Handler,
    connection: ServerConnection,
    message: Message,
    *,
    on_error: Callable[[ServerConnection, BaseException, str], None],
) -> None:
    """Call ``handler`` with one whole message; if it raises, report it and close with 1011.

    ``on_error(connection, error, traceback_text)`` hears of the handler's own bugs; a peer
    that went away while the handler answered is no bug, and nothing is reported.
    """
    try:
        handler(connection, message)
    except (ConnectionClosed, ConnectionError):
        pass  # the peer went away while the handler answered: nothing to report
    except Exception as error:  # the handler's own bug (FileNotFoundError included)
        on_error(connection, error, traceback.format_exc())
        try:
            connection.close(
                CloseCode.INTERNAL_ERROR, f"handler error: {type(error).__name__}"[:123]
            )
        except (OSError, ConnectionClosed):
            pass
