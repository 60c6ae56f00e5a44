"""An asyncio WebSocket server: the core of :mod:`wslearn.server`, on one event loop.

In a notebook cell (Jupyter's kernel already runs an event loop, so top-level ``await`` works)::

    async def echo(connection):
        async for message in connection:
            await connection.send(message)

    server = await wslearn.asyncio.serve(echo, port=8765)
    ...
    await server.close()           # Close 1001 to everyone, in close_timeout seconds at most

Each TCP connection gets one task (``asyncio.start_server`` makes it), which lives it:

1. **the opening handshake** (§4.2): read the request within ``handshake_timeout`` seconds
   (:func:`~wslearn.asyncio.connection.read_head`, bounded in size by :mod:`wslearn.http11`),
   check it with :func:`~wslearn.handshake.validate_request`, and answer ``101``, or refuse
   with the status the core names (400, 403, 405, 426, 431; 503 past ``max_connections``);
2. **the handler**, ``await handler(connection)``, your code: it reads with ``recv()`` or
   ``async for`` and answers with ``send()``. When it returns, the connection closes (1000);
   if it raises, the error is kept in ``server.errors``, the connection closes with 1011,
   and the server goes on;
3. **the close**, bounded by ``close_timeout`` (see :mod:`wslearn.asyncio.connection`).

The options are :class:`wslearn.Server`'s, with the same defaults, so the two servers can be
compared side by side; what differs is only how they wait (tasks, not threads).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import traceback
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Tuple, Union

from ..connection import DEFAULT_MAX_SIZE, Connection
from ..errors import ConnectionClosed, HandshakeError
from ..handshake import LOCAL, accept_response, reject_response, validate_request
from ..http11 import Request, parse_request
from ..keepalive import DEFAULT_PING_INTERVAL, DEFAULT_PING_TIMEOUT
from ..opcodes import CloseCode
from ..outbox import DEFAULT_WRITE_LIMIT, DEFAULT_WRITE_TIMEOUT
from ..peer_user import another_users
from ..server_settings import (
    DEFAULT_COMPRESSION_LEVEL,
    DEFAULT_MEM_LEVEL,
    DEFAULT_WINDOW_BITS,
    CompressionSettings,
)
from ..spare_descriptor import BUSY
from .connection import DEFAULT_MAX_QUEUE, AsyncConnection, Limits, close_tcp, read_head

__all__ = ["Handler", "Server", "ServerConnection", "echo", "serve"]


class ServerConnection(AsyncConnection):
    """One client of a :class:`Server`, as its handler sees it.

    ``request`` is the client's HTTP request (path, headers: ``request.headers["Origin"]``),
    ``subprotocol`` the one agreed (§4.2.2) or None, ``server`` the server (its other
    ``connections`` are there), ``id`` a number unique in this server.
    """

    def __init__(
        self,
        protocol: Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        limits: Limits,
        data: bytes,
        *,
        server: Server,
        id: int,
        request: Request,
    ) -> None:
        super().__init__(protocol, reader, writer, limits, data)
        self.server = server
        self.id = id
        self.request = request
        self.remote_address = writer.get_extra_info("peername")

    def __repr__(self) -> str:
        return f"<ServerConnection #{self.id} {self.request.path} {self.state.value}>"


Handler = Callable[[ServerConnection], Awaitable[Any]]


async def echo(connection: ServerConnection) -> None:
    """A handler that sends every message back to its sender."""
    async for message in connection:
        await connection.send(message)


class Server:
    """A running asyncio WebSocket server; :func:`serve` makes and starts it.

    ``url`` is its ``ws://`` address, ``connections`` the open ones, ``errors`` the
    ``(connection id, exception, traceback text)`` of each handler that raised.
    """

    def __init__(
        self,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_size: Optional[int] = DEFAULT_MAX_SIZE,
        origins: Union[str, Sequence[Optional[str]], None] = LOCAL,
        subprotocols: Sequence[str] = (),
        handshake_timeout: float = 5.0,
        close_timeout: float = 3.0,
        ping_interval: Optional[float] = DEFAULT_PING_INTERVAL,
        ping_timeout: Optional[float] = DEFAULT_PING_TIMEOUT,
        write_limit: int = DEFAULT_WRITE_LIMIT,
        write_timeout: float = DEFAULT_WRITE_TIMEOUT,
        max_queue: int = DEFAULT_MAX_QUEUE,
        max_connections: Optional[int] = None,
        show_errors: bool = True,
        compression: Optional[str] = None,
        window_bits: int = DEFAULT_WINDOW_BITS,
        mem_level: int = DEFAULT_MEM_LEVEL,
        compression_level: int = DEFAULT_COMPRESSION_LEVEL,
        same_user_only: bool = True,
    ) -> None:
        self.handler = handler
        self.same_user_only = same_user_only
        self.host = host
        self.port = port
        self.max_size = max_size
        self.origins = origins if origins is None or isinstance(origins, str) else list(origins)
        self.subprotocols = list(subprotocols)
        self.handshake_timeout = handshake_timeout
        self.max_connections = max_connections
        self.show_errors = show_errors
        #: permessage-deflate (RFC 7692): off unless ``compression="deflate"``.
        self.compression = CompressionSettings(
            compression, window_bits, mem_level, compression_level
        )
        self.limits = Limits(
            close_timeout, ping_interval, ping_timeout, write_limit, write_timeout, max_queue
        )
        self.errors: List[Tuple[int, BaseException, str]] = []
        self._ids = itertools.count(1)
        # One task per TCP connection, with its WebSocket connection once the handshake is done.
        self._tasks: Dict[asyncio.Task[Any], Optional[ServerConnection]] = {}
        self._listener: Optional[asyncio.AbstractServer] = None
        self._closing: Optional[asyncio.Task[None]] = None
        self._closed: Optional[asyncio.Future[None]] = None  # done once close() has finished

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"ws://[{host}]:{self.port}/" if ":" in host else f"ws://{host}:{self.port}/"

    @property
    def connections(self) -> List[ServerConnection]:
        """The connections open now (handshake done, not yet closed)."""
        return [conn for conn in self._tasks.values() if conn is not None]

    def __repr__(self) -> str:
        state = "running" if self._closing is None else "closing or closed"
        return f"<wslearn.asyncio Server {self.url} {state}, {len(self.connections)} open>"

    async def start(self) -> Server:
        """Listen (``serve()`` calls this for you); ``port=0`` picks a free port."""
        self._listener = await asyncio.start_server(self._serve_one, self.host, self.port)
        self.port = self._listener.sockets[0].getsockname()[1]
        self._closed = asyncio.get_running_loop().create_future()
        return self

    async def __aenter__(self) -> Server:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ------------------------------------------------------------------ one connection

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One TCP connection's task: the server keeps the books, :meth:`_live` does the work."""
        task = asyncio.current_task()
        assert task is not None
        self._tasks[task] = None
        try:
            await self._live(task, reader, writer)
        finally:
            del self._tasks[task]

    async def _live(
        self, task: asyncio.Task[Any], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """A connection's life: a 503 when full, else the handshake, the handler, the close."""
        full = self.max_connections is not None and len(self._tasks) > self.max_connections
        if full or self._closing is not None:
            writer.write(BUSY)  # 503: the client may come back later
            await close_tcp(reader, writer, first=True, linger=1.0)
            return
        conn = None
        try:
            conn = await self._handshake(reader, writer)
            if conn is not None:
                self._tasks[task] = conn
                await self._call_handler(conn)
        finally:
            if conn is not None:
                await conn.close()  # 1000 once the handler is done (no-op if closed already)
            elif not writer.is_closing():
                writer.transport.abort()  # cancelled in its handshake by close()

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> Optional[ServerConnection]:
        """Read and answer the opening handshake (§4.2); the connection, or None if refused."""
        try:
            request, rest = await asyncio.wait_for(
                read_head(reader, parse_request), self.handshake_timeout
            )
            sock = writer.get_extra_info("socket")
            stranger = None
            if self.same_user_only and sock is not None:  # reads a file: not in the loop
                stranger = await asyncio.get_running_loop().run_in_executor(
                    None, another_users, sock
                )
            if stranger is not None:  # another learner's page or program, on a shared host
                raise HandshakeError(403, stranger)
            key, subprotocol = validate_request(
                request, origins=self.origins, subprotocols=self.subprotocols
            )
        except HandshakeError as error:  # the status the core names: 400, 403, 405, 426, 431
            writer.write(reject_response(error))
            await close_tcp(reader, writer, first=True, linger=1.0)
            return None
        except (asyncio.TimeoutError, EOFError, OSError):  # too slow, gone, or reset
            await close_tcp(reader, writer, first=True, linger=0.1)
            return None
        # RFC 7692 §5: the first permessage-deflate offer the server accepts, if it is on.
        agreed, codec = self.compression.accept(request.headers.get_all("Sec-WebSocket-Extensions"))
        writer.write(accept_response(key, subprotocol, deflate=agreed))
        protocol = Connection("server", max_size=self.max_size, deflate=codec)
        conn = ServerConnection(
            protocol, reader, writer, self.limits, rest, server=self, id=next(self._ids),
            request=request,
        )  # fmt: skip
        conn.subprotocol = subprotocol
        return conn

    async def _call_handler(self, conn: ServerConnection) -> None:
        """Run the handler; if it raises, keep the error and close that connection with 1011."""
        try:
            await self.handler(conn)
        except (ConnectionClosed, ConnectionError):
            pass  # the peer went away while the handler answered: nothing to report
        except Exception as error:  # the handler's own bug
            text = traceback.format_exc()
            self.errors.append((conn.id, error, text))
            if self.show_errors:
                print(
                    f"wslearn.asyncio: the handler raised on connection #{conn.id}; "
                    f"closing it with 1011:\n{text}",
                    file=sys.stderr,
                )
            await conn.close(CloseCode.INTERNAL_ERROR, f"handler error: {type(error).__name__}")

    # ------------------------------------------------------------------ stopping

    def close(
        self, code: int = CloseCode.GOING_AWAY, reason: str = "server stopping"
    ) -> asyncio.Task[None]:
        """Stop: no new connections, a Close (1001) to every open one, all ended in bounded time.

        Returns the task doing it: ``await server.close()`` waits for it, as does
        :meth:`wait_closed`. It takes ``close_timeout`` seconds at most for the peers'
        Close frames, then cuts the connections of the peers that did not answer.
        """
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._close(code, reason))
        return self._closing

    async def wait_closed(self) -> None:
        """Wait until :meth:`close` has finished (called here or by another task)."""
        assert self._closed is not None, "the server was never started"
        await asyncio.shield(self._closed)

    async def _close(self, code: int, reason: str) -> None:
        if self._listener is not None:
            self._listener.close()  # accept no more connections
        for task, conn in list(self._tasks.items()):
            if conn is None:
                task.cancel()  # still in its handshake: nothing to say to it yet
            else:
                conn.start_closing(code, reason)
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self.limits.close_timeout)
        for task, conn in list(self._tasks.items()):  # peers that did not answer: cut them off
            if conn is not None:
                conn.abort()
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self.limits.close_timeout)
        if self._listener is not None:
            await self._listener.wait_closed()
        if self._closed is not None:
            self._closed.set_result(None)


async def serve(handler: Handler, host: str = "127.0.0.1", port: int = 0, **options: Any) -> Server:
    """Start an asyncio WebSocket server on the running event loop and return it.

    ``handler`` is ``async def handler(connection)``, called once per connection (``echo``
    sends every message back). ``port=0`` picks a free port (``server.port``). The options
    are :class:`wslearn.Server`'s, with its defaults: ``max_size`` (1 MiB, then 1009),
    ``origins`` (``"local"``: pages of this machine and programs; a list; or None for all),
    ``subprotocols``, ``handshake_timeout`` (5 s), ``close_timeout`` (3 s), ``ping_interval``
    and ``ping_timeout`` (20 s each), ``write_limit`` (64 KiB) and ``write_timeout`` (10 s),
    ``max_connections`` (None: no cap, else 503), ``compression="deflate"`` (off by default)
    with ``window_bits``, ``mem_level`` and ``compression_level``, ``same_user_only`` (only
    this user's pages and programs; others get 403); and ``max_queue`` (16 unread messages
    before the server stops reading from that peer).
    """
    return await Server(handler, host, port, **options).start()
