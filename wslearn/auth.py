"""Authentication on a live server: the first message must be a valid token.

**Why not a header?** Outside a browser, a client sends ``Authorization: Bearer ...`` with
its upgrade request and the server checks it in the handshake. A page cannot: the browser's
``new WebSocket(url, protocols)`` lets it choose only the URL and the subprotocols; the
browser writes every other header itself, cookies included (WHATWG WebSockets standard).
That leaves three places for a credential, each with its risk:

1. **a cookie**, sent by the browser with the handshake. But the browser sends it whichever
   page opens the WebSocket, and the same-origin policy does not apply to WebSocket: a page
   of any site could connect with the learner's cookie (cross-site WebSocket hijacking). A
   server that trusts cookies must check ``Origin`` against an allow-list
   (RFC 6455 §10.2; ``serve(origins=[...])``).
2. **a token in the first message** (this module): nothing in the URL or the headers, so
   nothing in the access logs of a server or a proxy. The connection is open, but useless,
   until the token comes; a client that sends anything else first is closed with **1008**,
   "policy violation" (§7.4.1).
3. **a short-lived token in the query string** (``ws://host/?ticket=...``): simple, checked
   in the handshake. But URLs end up in access logs, proxy logs, browser history and
   ``Referer`` headers, so such a token must expire within seconds and be good only once.

**Keep tokens out of logs and recordings.** wslearn's own recorder keeps the start of every
payload (``preview_bytes``, 256 by default) and ``log=print`` prints it. So the wrapper says
that its first message is a secret (``secret_first_message = True``), and the server records
each connection's first incoming message without its payload: its frames are marked
``redacted``, with their lengths but no preview, and the log shows ``[redacted]``
(:mod:`wslearn.frame_recording`), as :mod:`wslearn.redaction` does for a handshake's
credentials (behind jupyter-server-proxy, the learner's own Jupyter token and cookies).
Another server, or a log written elsewhere, may not know this: make tokens that expire
within a minute.

The tokens themselves are :mod:`wslearn.tokens` (sans-I/O); this module is the live part,
which reads a clock. Example, with a fresh secret and a token good for 60 seconds::

    secret = secrets.token_bytes(32)
    server = wslearn.serve(port=0, handler=first_message_auth("echo", secret))
    token = make_token(secret, "ada", now=time.time(), ttl=60)
    # a client sends the token first, then its messages; the echo handler answers those
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Dict, Optional, Union

from .handlers import Handler, find_handler
from .opcodes import CloseCode
from .server_connection import Message, ServerConnection
from .tokens import ExpiredToken, TokenError, check_token

__all__ = ["FirstMessageAuth", "first_message_auth"]


class FirstMessageAuth:
    """A handler that lets a connection in once its first message is a valid token.

    Made by :func:`first_message_auth`. The first message of each connection is checked with
    :func:`~wslearn.tokens.check_token` at ``clock()``; a valid one is not passed on, and
    its subject is kept for that connection (:meth:`subject`); every later message goes to
    the wrapped ``handler``. A connection whose first message is not a valid token text is
    closed with 1008. The reason says only "invalid token" or "token expired" (so a client
    knows to fetch a new one), never the token.

    Subjects are kept by connection id and dropped lazily: the server tells handlers of no
    closed connection, so each new authentication forgets the ids no longer open.
    """

    #: Asks the server to keep each connection's first message out of its recording and log
    #: (see the module's note on recordings).
    secret_first_message = True

    def __init__(
        self, handler: Handler, secret: bytes, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.handler = handler
        self.secret = secret
        self.clock = clock
        self.__name__ = f"first_message_auth({getattr(handler, '__name__', 'custom')})"
        self._subjects: Dict[int, str] = {}
        self._lock = threading.Lock()

    def __call__(self, connection: ServerConnection, message: Message) -> None:
        with self._lock:
            known = connection.id in self._subjects
        if known:
            self.handler(connection, message)
            return
        if not isinstance(message, str):
            connection.close(CloseCode.POLICY_VIOLATION, "authenticate first: a token as text")
            return
        try:
            subject = check_token(message, self.secret, now=self.clock())
        except ExpiredToken:
            connection.close(CloseCode.POLICY_VIOLATION, "token expired")
            return
        except TokenError:
            connection.close(CloseCode.POLICY_VIOLATION, "invalid token")
            return
        open_ids = {other.id for other in connection.server.connections}
        with self._lock:
            self._subjects = {
                conn: name for conn, name in self._subjects.items() if conn in open_ids
            }
            self._subjects[connection.id] = subject

    def subjects(self) -> Dict[int, str]:
        """Who each authenticated connection is, by connection id (closed ones may linger)."""
        with self._lock:
            return dict(self._subjects)

    def subject(self, connection: ServerConnection) -> Optional[str]:
        """Who ``connection`` authenticated as, or None if it has not (yet)."""
        with self._lock:
            return self._subjects.get(connection.id)


def first_message_auth(
    handler: Union[str, Handler], secret: bytes, *, clock: Callable[[], float] = time.time
) -> FirstMessageAuth:
    """Wrap ``handler`` (a function or a built-in name such as ``"echo"``) so that each
    connection must send a token made with ``secret`` as its first message.

    ``clock`` gives the time the tokens' expiry is checked against (``time.time``; a test
    passes its own). Use it as ``wslearn.serve(handler=first_message_auth(...))``.
    """
    _, function = find_handler(handler)
    return FirstMessageAuth(function, secret, clock=clock)
