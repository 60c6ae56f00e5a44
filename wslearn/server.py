"""The live server: a thin ring of sockets and threads around the sans-I/O core.

``wslearn.serve()`` starts a WebSocket server in background threads of the current process
(in a notebook: the kernel) and returns at once::

    server = wslearn.serve(port=8080)        # echo server on ws://127.0.0.1:8080/
    server.recorder.frames()                 # every frame seen so far
    server.stop()                            # Close 1001 to everyone, threads joined

Everything the protocol says is decided by :mod:`wslearn.handshake` and
:class:`wslearn.connection.Connection`; the server only moves bytes, in two parts:

* :class:`Server` (this module) listens: one thread accepts connections and starts a thread
  for each; it keeps the registry of open connections, finds the handler
  (:data:`BUILTIN_HANDLERS` or your function) and stops everything, in bounded time;
* :class:`~wslearn.server_connection.ServerConnection` lives one connection: the handshake
  (or the test page, for a plain ``GET /``), the read loop that feeds whatever ``recv()``
  returned to its :class:`~wslearn.connection.Connection`, and the close.

:func:`~wslearn.serving.serve` starts one (or replaces the one this process started for the
same port), on a free port when another program holds the one asked for.
"""

from __future__ import annotations

import errno
import itertools
import selectors
import socket
import sys
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple, Union

from .connection import DEFAULT_MAX_SIZE
from .deadline import Deadline
from .errors import ConnectionClosed
from .frame_log import FrameLog
from .frame_recording import wait_for_frames
from .handlers import BUILTIN_HANDLERS, Handler, call_handler, find_handler
from .handshake import LOCAL
from .keepalive import DEFAULT_PING_INTERVAL, DEFAULT_PING_TIMEOUT
from .opcodes import CloseCode
from .outbox import DEFAULT_WRITE_LIMIT, DEFAULT_WRITE_TIMEOUT
from .recording import ConnectionRecord, FrameRecord, Recorder
from .server_connection import Message, ServerConnection
from .server_registry import forget, running_servers
from .server_settings import (
    DEFAULT_COMPRESSION_LEVEL,
    DEFAULT_MEM_LEVEL,
    DEFAULT_WINDOW_BITS,
    CompressionSettings,
    ConnectionSettings,
)
from .spare_descriptor import SpareDescriptor, send_busy
from .static_files import static_file

__all__ = [
    "PortInUse",
    "BUILTIN_HANDLERS",
    "Server",
    "ServerConnection",
    "running_servers",
    "static_file",
]


class PortInUse(OSError):
    """The port asked for is held by another program (another learner's, on a shared host)."""


class Server:
    """A running WebSocket server; made by :func:`~wslearn.serving.serve`.

    ``url`` is the ``ws://`` address, ``http_url`` the test page. ``recorder``
    holds what was seen, ``errors`` what went wrong in handlers.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8080,
        *,
        handler: Union[str, Handler] = "echo",
        max_size: Optional[int] = DEFAULT_MAX_SIZE,
        origins: Union[str, Sequence[Optional[str]], None] = LOCAL,
        subprotocols: Sequence[str] = (),
        handshake_timeout: float = 5.0,
        close_timeout: float = 3.0,
        ping_interval: Optional[float] = DEFAULT_PING_INTERVAL,
        ping_timeout: Optional[float] = DEFAULT_PING_TIMEOUT,
        write_limit: int = DEFAULT_WRITE_LIMIT,
        write_timeout: float = DEFAULT_WRITE_TIMEOUT,
        max_connections: Optional[int] = None,
        max_frames: int = 10_000,
        preview_bytes: int = 256,
        log: Optional[Callable[[str], None]] = None,
        show_errors: bool = True,
        compression: Optional[str] = None,
        window_bits: int = DEFAULT_WINDOW_BITS,
        mem_level: int = DEFAULT_MEM_LEVEL,
        compression_level: int = DEFAULT_COMPRESSION_LEVEL,
        same_user_only: bool = True,
    ) -> None:
        #: permessage-deflate: whether, and within what limits (checked there).
        self.compression = CompressionSettings(
            compression, window_bits, mem_level, compression_level
        )
        self.handler_name, self._handler = find_handler(handler)
        self.host = host
        self.port = self.requested_port = port  # port: where it listens once started
        self.same_user_only = same_user_only
        self.max_size = max_size
        self.origins = origins if origins is None or isinstance(origins, str) else list(origins)
        self.subprotocols = list(subprotocols)
        self.handshake_timeout = handshake_timeout
        self.close_timeout = close_timeout
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.write_limit = write_limit
        self.write_timeout = write_timeout
        self.max_connections = max_connections
        self.recorder = Recorder(max_frames=max_frames, preview_bytes=preview_bytes)
        self.log = log
        # One line per frame, within a budget that follows the traffic (see FrameLog).
        self._frame_log = FrameLog(log) if log is not None else None
        self.show_errors = show_errors
        #: ``(connection id, exception, traceback text)`` for each handler that raised.
        self.errors: List[Tuple[int, BaseException, str]] = []
        self.running = False
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._connections: Dict[int, ServerConnection] = {}
        self._sockets: Set[socket.socket] = set()
        self._threads: Set[threading.Thread] = set()
        self._listener: Optional[socket.socket] = None
        self._accept_thread: Optional[threading.Thread] = None
        self._keepalive_thread: Optional[threading.Thread] = None
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()

    # ------------------------------------------------------------------ life cycle

    @property
    def url(self) -> str:
        return f"ws://{self._url_host}:{self.port}/"

    @property
    def http_url(self) -> str:
        return f"http://{self._url_host}:{self.port}/"

    @property
    def _url_host(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"[{host}]" if ":" in host else host

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        moved = self.requested_port and self.requested_port != self.port
        taken = f" (port {self.requested_port} is another program's)" if moved else ""
        return (
            f"<wslearn Server {self.url}{taken} {state}, "
            f"{len(self.connections)} open connection(s)>"
        )

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> "Server":
        """Bind, listen and start accepting (``serve()`` calls this for you)."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        # Lets a new server bind while old connections on this port sit in TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.host, self.port))
        except OSError as error:
            listener.close()
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(
                    error.errno,
                    f"port {self.port} is already used by another program (not by a wslearn "
                    "server of this kernel): stop that program, or choose another port "
                    "(port=0 picks a free one)",
                ) from None
            raise
        listener.listen(512)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self.running = True
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"wslearn-accept-{self.port}", daemon=True
        )
        self._accept_thread.start()
        if self.ping_interval is not None:
            self._keepalive_thread = threading.Thread(
                target=self._keepalive_loop, name=f"wslearn-keepalive-{self.port}", daemon=True
            )
            self._keepalive_thread.start()
        return self

    def stop(self, code: int = CloseCode.GOING_AWAY, reason: str = "server stopping") -> None:
        """Close every connection with a Close frame (1001), then join all threads."""
        if not self.running:
            return
        self.running = False
        self._stopping.set()
        self._wake()
        for helper in (self._accept_thread, self._keepalive_thread):
            if helper is not None:
                helper.join(timeout=5)
        for conn in self.connections:
            try:
                conn.close(code, reason)
            except (OSError, ConnectionClosed):
                pass
        deadline = Deadline(self.close_timeout)
        for thread in self._thread_list():
            thread.join(timeout=deadline.remaining())
        with self._lock:
            leftovers = list(self._sockets)
        for sock in leftovers:  # peers that never answered our Close: cut them off
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._thread_list():
            thread.join(timeout=5)
        if self._frame_log is not None:
            self._frame_log.flush()  # the frames left out since the last line, if any
        for sock in (self._wake_r, self._wake_w):
            sock.close()
        forget(self)

    def _thread_list(self) -> List[threading.Thread]:
        with self._lock:
            return list(self._threads)

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    @property
    def connections(self) -> List[ServerConnection]:
        """The connections open now (handshake done, not yet closed)."""
        with self._lock:
            return list(self._connections.values())

    def wait_for_frames(
        self,
        count: int = 1,
        timeout: float = 5.0,
        *,
        direction: Optional[str] = "in",
        connection: Optional[int] = None,
    ) -> List[FrameRecord]:
        """Wait until ``count`` frames are recorded (at most ``timeout`` s); return them
        (:func:`~wslearn.frame_recording.wait_for_frames`)."""
        return wait_for_frames(
            self.recorder, count, timeout, direction=direction, connection=connection
        )

    def _keepalive_loop(self) -> None:
        """Now and then, let every open connection Ping its peer if that is due."""
        assert self.ping_interval is not None
        # Often enough that a Ping or a give-up comes at most a quarter of a limit late.
        tick = min(self.ping_interval, self.ping_timeout or self.ping_interval, 4.0) / 4
        while not self._stopping.wait(tick):
            now = time.monotonic()
            for conn in self.connections:
                conn.keep_alive(now)

    # ------------------------------------------------------------------ listening

    def _accept_loop(self) -> None:
        assert self._listener is not None
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ)
        selector.register(self._wake_r, selectors.EVENT_READ)
        spare = SpareDescriptor()
        try:
            while self.running:
                for key, _ in selector.select():
                    if key.fileobj is self._wake_r or not self.running:
                        continue
                    try:
                        sock, address = self._listener.accept()
                        opened = time.time()  # the record's TCP connect, not the thread's start
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError as error:
                        if error.errno in (errno.EMFILE, errno.ENFILE):  # out of descriptors
                            spare.turn_away(self._listener)  # the client reads 503
                        else:
                            time.sleep(0.05)  # don't spin
                        continue
                    with self._lock:
                        full = self.max_connections is not None and (
                            len(self._sockets) >= self.max_connections
                        )
                    if full:  # max_connections sockets, open or in their handshake
                        send_busy(sock)  # the client reads 503, and may come back later
                        continue
                    sock.setblocking(True)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    thread = threading.Thread(
                        target=self._run_connection,
                        args=(sock, address, opened),
                        name=f"wslearn-conn-{self.port}",
                        daemon=True,
                    )
                    with self._lock:
                        self._sockets.add(sock)
                        self._threads.add(thread)
                    try:
                        thread.start()
                    except RuntimeError:  # no thread to be had: turn this client away
                        with self._lock:
                            self._sockets.discard(sock)
                            self._threads.discard(thread)
                        sock.close()
        finally:
            spare.close()
            selector.close()
            self._listener.close()

    def _run_connection(self, sock: socket.socket, address: Any, opened: float) -> None:
        """One connection's thread: it lives its life, the server keeps the books."""
        peer = f"{address[0]}:{address[1]}"
        record = ConnectionRecord(id=next(self._ids), peer=peer, opened=opened)
        self.recorder.add_connection(record)
        conn = ServerConnection(
            sock,
            record,
            self._connection_settings(),
            server=self,
            on_frame=self._record_frame,
            on_message=self._dispatch,
            on_open=self._add_connection,
            on_close=self._remove_connection,
        )
        try:
            conn.run()
        finally:
            self.recorder.touch()
            with self._lock:
                self._sockets.discard(sock)
                self._threads.discard(threading.current_thread())

    def _connection_settings(self) -> ConnectionSettings:
        """This server's options as they are now; a new connection follows them."""
        return ConnectionSettings(
            max_size=self.max_size,
            origins=self.origins,
            subprotocols=self.subprotocols,
            handshake_timeout=self.handshake_timeout,
            close_timeout=self.close_timeout,
            preview_bytes=self.recorder.preview_bytes,
            write_limit=self.write_limit,
            write_timeout=self.write_timeout,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            compression=self.compression,
            secret_first_message=getattr(self._handler, "secret_first_message", False) is True,
            same_user_only=self.same_user_only,
        )

    def _add_connection(self, conn: ServerConnection) -> bool:
        """Register a connection whose handshake succeeded; False if the server is stopping."""
        with self._lock:
            self._connections[conn.id] = conn
            return self.running

    def _remove_connection(self, conn: ServerConnection) -> None:
        with self._lock:
            self._connections.pop(conn.id, None)

    def _record_frame(self, record: FrameRecord) -> None:
        self.recorder.add_frame(record)
        if self._frame_log is not None:
            self._frame_log(record)

    def _dispatch(self, conn: ServerConnection, message: Message) -> None:
        """Call the handler with one whole message; its own errors close that connection."""
        call_handler(self._handler, conn, message, on_error=self._handler_failed)

    def _handler_failed(self, conn: ServerConnection, error: BaseException, text: str) -> None:
        self.errors.append((conn.id, error, text))
        if self.show_errors:
            print(
                f"wslearn: the handler raised on connection #{conn.id}; "
                f"closing it with 1011:\n{text}",
                file=sys.stderr,
            )
