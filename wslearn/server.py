"""The live server: a thin ring of sockets and threads around the sans-I/O core.

``wslearn.serve()`` starts a WebSocket server in background threads of the
current process (in a notebook: the kernel) and returns at once::

    server = wslearn.serve(port=8080)        # echo server on ws://127.0.0.1:8080/
    server.recorder.frames()                 # every frame seen so far
    server.stop()                            # Close 1001 to everyone, threads joined

Everything the protocol says is decided by :mod:`wslearn.handshake` and
:class:`wslearn.connection.Connection`; this module only moves bytes:

* one thread accepts connections; each connection gets a thread that reads
  with ``recv()`` — whatever size arrives — and feeds the bytes to its
  :class:`~wslearn.connection.Connection`;
* every write goes out whole with ``sendall()`` under the connection's lock,
  so two threads sending at once never interleave their bytes;
* time limits keep slow or silent peers from holding a thread forever: the
  handshake must complete within ``handshake_timeout`` seconds, and a Close we
  sent must be answered within ``close_timeout``;
* a plain ``GET /`` (no ``Upgrade``) gets a small test page to try it from a browser.

Starting a server on a port this process already serves stops the old one
first, so re-running a notebook cell never fails with "address already in use".
"""

from __future__ import annotations

import atexit
import errno
import itertools
import selectors
import socket
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple, Union

from .connection import DEFAULT_MAX_SIZE, Binary, Connection, Failed, State, Text
from .errors import ConnectionClosed, HandshakeError
from .frames import Close, Frame
from .handshake import (
    accept_response,
    http_response,
    parse_request,
    reject_response,
    validate_request,
)
from .opcodes import CloseCode, Opcode
from .recording import ConnectionRecord, FrameRecord, Recorder, proxy_evidence, redact_request

__all__ = ["serve", "Server", "ServerConnection", "format_frame", "running_servers"]

Message = Union[str, bytes]
Handler = Callable[["ServerConnection", Message], Any]

_STATIC = Path(__file__).parent / "static"
_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


def static_file(path: str) -> Optional[Path]:
    """The file of ``wslearn/static/`` that a plain HTTP GET of ``path`` asks for, if any.

    ``/`` is the test page (``index.html``); ``/name.js`` and ``/name.css`` are the files it
    loads. Only a plain name in that folder, with one of those suffixes, is ever served.
    """
    name = path.lstrip("/") or "index.html"
    if "/" in name or "\\" in name or name.startswith("."):
        return None
    file = _STATIC / name
    if file.suffix not in _CONTENT_TYPES or not file.is_file():
        return None
    return file


_MAX_READS_RECORDED = 10_000

# Servers started by this process, by (host, port): re-running a cell replaces the old one.
_servers: Dict[Tuple[str, int], "Server"] = {}
_servers_lock = threading.Lock()


def running_servers() -> List["Server"]:
    """The servers this process is running now."""
    with _servers_lock:
        return [s for s in _servers.values() if s.running]


def _stop_all() -> None:
    for server in running_servers():
        server.stop()


atexit.register(_stop_all)


def format_frame(record: FrameRecord) -> str:
    """One readable line per frame, as the command line prints them."""
    arrow = "->" if record.direction == "in" else "<-"
    key = f" key={record.mask.hex()}" if record.mask is not None else ""
    preview = record.payload_preview
    if record.opcode == Opcode.TEXT:
        try:
            shown = repr(preview.decode("utf-8"))
        except UnicodeDecodeError:
            shown = preview[:32].hex(" ")
    elif record.opcode == Opcode.CLOSE and not record.truncated:
        shown = Close.describe(preview)
    else:
        shown = preview[:32].hex(" ")
    if len(shown) > 60:
        shown = shown[:57] + "..."
    more = f" (+{record.length - len(preview)} B)" if record.truncated else ""
    return (
        f"#{record.connection} {arrow} {record.opcode_name:<6} fin={int(record.fin)} "
        f"masked={int(record.masked)}{key} len={record.length} ({record.length_case}) {shown}{more}"
    )


class ServerConnection:
    """One accepted WebSocket connection, as a handler sees it.

    ``send()`` and ``close()`` are safe to call from any thread: each write goes
    out whole under this connection's lock.
    """

    def __init__(self, server: "Server", sock: socket.socket, record: ConnectionRecord) -> None:
        self.server = server
        self.id = record.id
        self.record = record
        self._sock = sock
        self._lock = threading.Lock()
        self._in_offset = 0
        self._out_offset = 0
        self._close_timer: Optional[threading.Timer] = None
        self.protocol = Connection(
            "server",
            max_size=server.max_size,
            frame_observer=self._observe,
            keep_wire=server.recorder.preview_bytes,
        )

    def __repr__(self) -> str:
        return f"<ServerConnection #{self.id} {self.record.peer} {self.state.value}>"

    @property
    def state(self) -> State:
        return self.protocol.state

    @property
    def open(self) -> bool:
        return self.protocol.state is State.OPEN

    def _observe(self, direction: str, frame: Frame) -> None:
        assert frame.header is not None
        size = frame.header.header_size + frame.header.length
        if direction == "in":
            offset, self._in_offset = self._in_offset, self._in_offset + size
        else:
            offset, self._out_offset = self._out_offset, self._out_offset + size
        record = FrameRecord.from_frame(
            frame,
            time=time.time(),
            connection=self.id,
            direction=direction,
            stream_offset=offset,
            preview_bytes=self.server.recorder.preview_bytes,
        )
        self.server.recorder.add_frame(record)
        if self.server.log is not None:
            self.server.log(format_frame(record))

    def _sendall(self, data: bytes) -> None:
        if data:
            self._sock.sendall(data)

    def send(self, message: Message) -> None:
        """Send a text (``str``) or binary (``bytes``) message as one frame."""
        with self._lock:
            if isinstance(message, str):
                self.protocol.send_text(message)
            else:
                self.protocol.send_binary(message)
            self._sendall(self.protocol.data_to_send())

    def ping(self, data: bytes = b"") -> None:
        """Send a Ping; the peer's Pong will show up in the recording."""
        with self._lock:
            self.protocol.send_ping(data)
            self._sendall(self.protocol.data_to_send())

    def close(self, code: int = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake; the connection's thread waits for the peer's Close."""
        with self._lock:
            if self.protocol.state is not State.OPEN:
                return
            self.protocol.close(code, reason)
            self._sendall(self.protocol.data_to_send())
        # §7.1.1: wait for the peer's Close, but not forever.
        timer = threading.Timer(self.server.close_timeout, self._close_timed_out)
        timer.daemon = True
        self._close_timer = timer
        timer.start()

    def _close_timed_out(self) -> None:
        if self.protocol.state is not State.CLOSED:
            self.record.error = "no Close frame came back in time"
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes the connection's recv()
            except OSError:
                pass

    def _feed(self, data: Optional[bytes]) -> list:
        """Feed received bytes (None: end of stream) and send the automatic replies."""
        with self._lock:
            if data is None:
                events = self.protocol.receive_eof()
            else:
                events = self.protocol.receive_data(data)
            self._sendall(self.protocol.data_to_send())
        return events


class Server:
    """A running WebSocket server; made by :func:`serve`.

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
        origins: Optional[Sequence[Optional[str]]] = None,
        subprotocols: Sequence[str] = (),
        handshake_timeout: float = 5.0,
        close_timeout: float = 3.0,
        max_frames: int = 10_000,
        preview_bytes: int = 256,
        log: Optional[Callable[[str], None]] = None,
        show_errors: bool = True,
    ) -> None:
        if isinstance(handler, str):
            if handler not in ("echo", "broadcast"):
                raise ValueError(
                    "handler is 'echo', 'broadcast' or a function(connection, message)"
                )
            self.handler_name = handler
            self._handler: Handler = self._echo if handler == "echo" else self._broadcast
        elif callable(handler):
            self.handler_name = getattr(handler, "__name__", "custom")
            self._handler = handler
        else:
            raise TypeError("handler must be 'echo', 'broadcast' or a callable")
        self.host = host
        self.port = port
        self.max_size = max_size
        self.origins = list(origins) if origins is not None else None
        self.subprotocols = list(subprotocols)
        self.handshake_timeout = handshake_timeout
        self.close_timeout = close_timeout
        self.recorder = Recorder(max_frames=max_frames, preview_bytes=preview_bytes)
        self.log = log
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
        return f"<wslearn Server {self.url} {state}, {len(self.connections)} open connection(s)>"

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
                raise OSError(
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
        return self

    def stop(self, code: int = CloseCode.GOING_AWAY, reason: str = "server stopping") -> None:
        """Close every connection with a Close frame (1001), then join all threads."""
        if not self.running:
            return
        self.running = False
        self._wake()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
        for conn in self.connections:
            try:
                conn.close(code, reason)
            except (OSError, ConnectionClosed):
                pass
        deadline = time.monotonic() + self.close_timeout
        for thread in self._thread_list():
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        with self._lock:
            leftovers = list(self._sockets)
        for sock in leftovers:  # peers that never answered our Close: cut them off
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._thread_list():
            thread.join(timeout=5)
        for sock in (self._wake_r, self._wake_w):
            sock.close()
        with _servers_lock:
            if _servers.get((self.host, self.port)) is self:
                del _servers[(self.host, self.port)]

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
        """Wait until ``count`` frames are recorded (at most ``timeout`` s); return them.

        A notebook cell that waits for a browser uses this: it reads the
        server's own recording, and returns what it has when time is up.
        """
        deadline = time.monotonic() + timeout
        while True:
            frames = self.recorder.frames(connection=connection, direction=direction)
            if len(frames) >= count or time.monotonic() >= deadline:
                return frames
            time.sleep(0.02)

    # ------------------------------------------------------------------ handlers

    @staticmethod
    def _echo(conn: ServerConnection, message: Message) -> None:
        conn.send(message)

    def _broadcast(self, conn: ServerConnection, message: Message) -> None:
        for other in self.connections:
            try:
                other.send(message)
            except (OSError, ConnectionClosed):
                pass  # that one is closing; the others still get the message

    # ------------------------------------------------------------------ threads

    def _accept_loop(self) -> None:
        assert self._listener is not None
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ)
        selector.register(self._wake_r, selectors.EVENT_READ)
        try:
            while self.running:
                for key, _ in selector.select():
                    if key.fileobj is self._wake_r or not self.running:
                        continue
                    try:
                        sock, address = self._listener.accept()
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        time.sleep(0.05)  # e.g. out of file descriptors: don't spin
                        continue
                    sock.setblocking(True)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    thread = threading.Thread(
                        target=self._run_connection,
                        args=(sock, address),
                        name=f"wslearn-conn-{self.port}",
                        daemon=True,
                    )
                    with self._lock:
                        self._sockets.add(sock)
                        self._threads.add(thread)
                    thread.start()
        finally:
            selector.close()
            self._listener.close()

    def _run_connection(self, sock: socket.socket, address: Any) -> None:
        record = ConnectionRecord(
            id=next(self._ids), peer=f"{address[0]}:{address[1]}", opened=time.time()
        )
        self.recorder.add_connection(record)
        conn: Optional[ServerConnection] = None
        try:
            rest = self._handshake(sock, record)
            if rest is not None:
                conn = ServerConnection(self, sock, record)
                with self._lock:
                    self._connections[record.id] = conn
                self._talk(conn, rest)
        except Exception as error:  # never let one connection kill the server
            record.error = f"{type(error).__name__}: {error}"
        finally:
            if conn is not None:
                with self._lock:
                    self._connections.pop(record.id, None)
                if conn._close_timer is not None:
                    conn._close_timer.cancel()
                record.close_code = conn.protocol.close_code
                record.close_reason = conn.protocol.close_reason
                # §7.1.1: the server closes TCP first. Half-close and read what is still
                # in flight, so the peer sees FIN after our Close frame, not a reset.
                _linger_close(sock, min(1.0, self.close_timeout))
            record.closed = time.time()
            self.recorder.touch()
            try:
                sock.close()
            finally:
                with self._lock:
                    self._sockets.discard(sock)
                    self._threads.discard(threading.current_thread())

    def _handshake(self, sock: socket.socket, record: ConnectionRecord) -> Optional[bytes]:
        """Read and answer the opening handshake; return leftover bytes, or None if refused."""
        deadline = time.monotonic() + self.handshake_timeout
        buffer = b""
        request = None
        while request is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                record.error = f"handshake not completed within {self.handshake_timeout} s"
                return None
            sock.settimeout(remaining)
            try:
                data = sock.recv(65536)
            except socket.timeout:
                record.error = f"handshake not completed within {self.handshake_timeout} s"
                return None
            if not data:
                record.error = "connection closed during the handshake"
                return None
            buffer += data
            try:
                request = parse_request(buffer)
            except HandshakeError as error:
                self._refuse(sock, record, error)
                return None
        record.request_raw, record.request_headers, record.target = redact_request(request)
        record.proxy_evidence = proxy_evidence(request)
        record.via_proxy = bool(record.proxy_evidence)
        if "Upgrade" not in request.headers:
            self._serve_page(sock, record, request.method, request.path)
            return None
        try:
            key, subprotocol = validate_request(
                request, origins=self.origins, subprotocols=self.subprotocols
            )
        except HandshakeError as error:
            self._refuse(sock, record, error)
            return None
        sock.sendall(accept_response(key, subprotocol))
        record.status = 101
        sock.settimeout(None)
        return buffer[len(request.raw) :]

    def _refuse(self, sock: socket.socket, record: ConnectionRecord, error: HandshakeError) -> None:
        record.status = error.status
        record.error = error.message
        sock.sendall(reject_response(error))
        _linger_close(sock)
        return None

    def _serve_page(
        self, sock: socket.socket, record: ConnectionRecord, method: str, path: str
    ) -> None:
        file = static_file(path)
        if method not in ("GET", "HEAD"):
            response = http_response(405, "only GET\n", headers=[("Allow", "GET")])
            record.status = 405
        elif file is not None:
            response = http_response(
                200,
                file.read_bytes(),
                content_type=_CONTENT_TYPES[file.suffix],
                headers=[("Cache-Control", "no-store")],
            )
            record.status = 200
        else:
            response = http_response(
                404, f"{path} not found: the test page is at /, WebSocket connects anywhere\n"
            )
            record.status = 404
        if method == "HEAD":
            response = response.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
        sock.sendall(response)
        _linger_close(sock)

    def _talk(self, conn: ServerConnection, data: bytes) -> None:
        """The read loop of one open connection."""
        sock = conn._sock
        record = conn.record
        protocol = conn.protocol
        while True:
            if data:
                if len(record.reads) < _MAX_READS_RECORDED:
                    record.reads.append(len(data))
                else:
                    record.reads_dropped += 1
                events = conn._feed(data)
            else:
                events = []
            for event in events:
                if isinstance(event, (Text, Binary)):
                    self._dispatch(conn, event.data)
                elif isinstance(event, Failed):
                    record.error = event.reason
            if protocol.state is State.CLOSED:
                return  # §7.1.1: the server closes the TCP connection first
            if not self.running and protocol.state is State.OPEN:
                conn.close(CloseCode.GOING_AWAY, "server stopping")
            try:
                data = sock.recv(65536)
            except socket.timeout:
                record.error = "no Close frame came back in time"
                return
            except OSError as error:
                record.error = f"{type(error).__name__}: {error}"
                return
            if not data:
                conn._feed(None)  # peer closed TCP: 1006 unless the handshake finished
                return

    def _dispatch(self, conn: ServerConnection, message: Message) -> None:
        try:
            self._handler(conn, message)
        except (ConnectionClosed, ConnectionError):
            pass  # the peer went away while the handler answered: nothing to report
        except Exception as error:  # the handler's own bug (FileNotFoundError included)
            text = traceback.format_exc()
            self.errors.append((conn.id, error, text))
            if self.show_errors:
                print(
                    f"wslearn: the handler raised on connection #{conn.id}; "
                    f"closing it with 1011:\n{text}",
                    file=sys.stderr,
                )
            try:
                conn.close(CloseCode.INTERNAL_ERROR, f"handler error: {type(error).__name__}"[:123])
            except (OSError, ConnectionClosed):
                pass


def _linger_close(sock: socket.socket, seconds: float = 1.0) -> None:
    """Half-close, then read and discard what the peer still sends, for ``seconds`` at most.

    Closing a socket that holds unread bytes makes the kernel send a reset, which
    can destroy our last answer (an HTTP error, a Close frame) before the peer
    reads it. Sending FIN first and draining avoids that; the deadline keeps a
    peer that never stops sending from holding the thread.
    """
    deadline = time.monotonic() + seconds
    try:
        sock.shutdown(socket.SHUT_WR)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            sock.settimeout(remaining)
            if not sock.recv(65536):
                return
    except OSError:
        pass


def serve(
    port: int = 8080,
    host: str = "127.0.0.1",
    *,
    handler: Union[str, Handler] = "echo",
    max_size: Optional[int] = DEFAULT_MAX_SIZE,
    origins: Optional[Sequence[Optional[str]]] = None,
    subprotocols: Sequence[str] = (),
    handshake_timeout: float = 5.0,
    close_timeout: float = 3.0,
    max_frames: int = 10_000,
    preview_bytes: int = 256,
    log: Optional[Callable[[str], None]] = None,
    show_errors: bool = True,
) -> Server:
    """Start a WebSocket server in background threads and return it at once.

    ``handler`` is ``"echo"`` (send every message back), ``"broadcast"`` (send
    every message to every open connection: a tiny chat) or your own function
    ``handler(connection, message)``; ``message`` is a ``str`` for text and
    ``bytes`` for binary, and ``connection.send(...)`` answers. If it raises,
    the error is printed and kept in ``server.errors``, that connection closes
    with 1011, and the server goes on.

    Binds 127.0.0.1 (this machine only) unless you pass ``host``; ``port=0``
    picks a free port. Starting again on a port this process already serves
    stops the old server first. ``max_size`` limits one message (default
    1 MiB; ``None`` for no limit); ``origins`` is an allow-list of ``Origin``
    values (others get 403). ``log`` is called with one line per frame.
    ``show_errors=False`` keeps handler tracebacks out of the output (they
    are still in ``server.errors``).
    """
    server = Server(
        host,
        port,
        handler=handler,
        max_size=max_size,
        origins=origins,
        subprotocols=subprotocols,
        handshake_timeout=handshake_timeout,
        close_timeout=close_timeout,
        max_frames=max_frames,
        preview_bytes=preview_bytes,
        log=log,
        show_errors=show_errors,
    )
    if port:
        with _servers_lock:
            old = _servers.get((host, port))
        if old is not None:
            old.stop()
    server.start()
    with _servers_lock:
        _servers[(host, server.port)] = server
    return server
