"""The learner's server: an echo server on a raw socket, built only from their pieces.

Notebook 12 shows this glue, and every step of it calls one of the learner's functions from
notebooks 01-07 (:mod:`wslearn.capstone.pieces`), or the library's stand-in for a piece they
have not solved:

1. read until the request head is complete; ``status_for`` says 101 or the refusal,
   ``parse_headers`` gives the key, ``build_101`` the answer;
2. then, in a loop: ``split_frames`` cuts the whole frames from the bytes received, and the
   header of a frame still arriving is read with ``payload_length``, so a message over 1 MiB
   is refused before it is all in (1009); a client frame must be masked (``read_mask_key``,
   1002); ``decode_frame`` gives its opcode and payload; ``is_control`` sorts it:
   a Ping gets ``pong_for``'s Pong, a Close is read with ``parse_close`` and answered with
   ``close_payload``; data frames are put together with ``assemble`` (text must be UTF-8:
   1007), and the message goes back, framed with ``encode_header``.

The server is bounded: a handshake has :data:`HANDSHAKE_SECONDS` and :data:`MAX_HEAD`
bytes, a message :data:`MAX_SIZE` bytes, the closing :data:`CLOSE_SECONDS`. A bad peer ends its
own connection only; a program of another user of this machine gets 403
(:mod:`wslearn.peer_user`). A piece that raises fails that connection with 1011 (or an HTTP 500
during the handshake), and the error is kept in :attr:`LearnerServer.errors`. Frames in and
out, and each connection (its times, its request with secrets redacted, how it closed) are kept
in a :class:`~wslearn.recording.Recorder`, which the course's views can show.
"""

from __future__ import annotations

import functools
import socket
import threading
import time
from http import HTTPStatus
from typing import Any, Dict, List, Optional

from ..errors import HandshakeError, ProtocolError
from ..frame_recording import wait_for_frames
from ..frames import Frame, parse_frame_header
from ..http11 import parse_request
from ..opcodes import Opcode
from ..peer_user import another_users
from ..recording import ConnectionRecord, FrameRecord, Recorder
from ..server_handshake import note_request
from .pieces import PieceError, Pieces

__all__ = ["LearnerServer", "serve_pieces", "MAX_SIZE"]

#: The largest message echoed (1 MiB, like ``wslearn.serve``); above it: Close 1009.
MAX_SIZE = 2**20
#: The largest request head read; a longer one is refused (431).
MAX_HEAD = 16 * 1024
#: Seconds a client has to send its whole request head.
HANDSHAKE_SECONDS = 5.0
#: Seconds the server waits, after its last Close, for the client to close TCP.
CLOSE_SECONDS = 1.0
#: Seconds one send may take before the client is given up on.
SEND_SECONDS = 5.0
#: How often a waiting connection looks whether the server is stopping.
POLL_SECONDS = 0.1
#: The opcodes RFC 6455 defines (§5.2): the others are reserved.
KNOWN_OPCODES = {0x0, 0x1, 0x2, 0x8, 0x9, 0xA}


class Fail(Exception):
    """The client broke a rule: the connection is failed with this close ``code`` (§7.1.7)."""

    def __init__(self, code: int, why: str) -> None:
        super().__init__(f"{code}: {why}")
        self.code = code


class Gone(Exception):
    """The client went away, took too long, or the server is stopping."""


class Client:
    """One TCP connection: its socket, a number, and bounded reads and writes."""

    def __init__(
        self, sock: socket.socket, number: int, peer: str, server: "LearnerServer"
    ) -> None:
        self.sock = sock
        self.number = number
        self.server = server
        self.upgraded = False
        #: What the course's views show of this connection (its times, request and close).
        self.record = ConnectionRecord(id=number, peer=peer, opened=time.time())
        server.recorder.add_connection(self.record)

    def recv(self, deadline: Optional[float] = None) -> bytes:
        """What arrived next (b"" when the client closed), waiting until ``deadline`` at most."""
        while True:
            if self.server.stopping.is_set():
                raise Gone("the server is stopping")
            if deadline is not None and time.monotonic() > deadline:
                raise Gone("the client took too long")
            try:
                self.sock.settimeout(POLL_SECONDS)
                data = self.sock.recv(65536)
                if not data and self.record.peer_fin is None:
                    self.record.peer_fin = time.time()
                return data
            except socket.timeout:
                continue
            except OSError as error:
                raise Gone(str(error)) from None

    def answer(self, status: int, response: bytes) -> None:
        """Send the handshake's answer, and note its status and time in the record."""
        self.send(response)
        self.record.status, self.record.answered_at = status, time.time()

    def keep_request(self, head: bytes) -> None:
        """Keep the request head in the record, secrets redacted, as ``wslearn.serve``
        does (read with the library's parser: the record is for the course's views)."""
        self.record.request_at = time.time()
        try:
            request = parse_request(head)
        except HandshakeError:  # not HTTP: the pieces answer it, and the record has no head
            return
        if request is not None:
            note_request(self.record, request)

    def send(self, data: bytes) -> None:
        """Send all of ``data`` (a frame, once upgraded: it is recorded)."""
        try:
            self.sock.settimeout(SEND_SECONDS)
            self.sock.sendall(data)
        except OSError as error:
            raise Gone(str(error)) from None
        if self.upgraded:
            self.server.record(self.number, data, "out")


class LearnerServer:
    """An echo server on ``127.0.0.1:port`` (0: any free port) built from ``pieces``;
    it runs in threads until :meth:`stop` (or the end of a ``with`` block)."""

    def __init__(self, pieces: Pieces, port: int = 0, *, max_size: int = MAX_SIZE) -> None:
        self.pieces = pieces
        self.max_size = max_size
        self.recorder = Recorder()
        #: What the pieces raised: one PieceError per connection it ended.
        self.errors: List[PieceError] = []
        #: One line per connection: how it went.
        self.log: List[str] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._clients: Dict[int, socket.socket] = {}
        self._threads: List[threading.Thread] = []
        self._listener = socket.create_server(("127.0.0.1", port))
        self._listener.settimeout(POLL_SECONDS)
        self.port: int = self._listener.getsockname()[1]
        self._accepter = threading.Thread(
            target=self._accept, name=f"wslearn-capstone-{self.port}", daemon=True
        )
        self._accepter.start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def running(self) -> bool:
        return not self.stopping.is_set()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LearnerServer {self.url} {state}, {len(self.errors)} piece error(s)>"

    def wait_for_frames(
        self, count: int = 1, timeout: float = 5.0, *, direction: Optional[str] = "in"
    ) -> List[FrameRecord]:
        """Wait until ``count`` frames are recorded (at most ``timeout`` s); return them."""
        return wait_for_frames(self.recorder, count, timeout, direction=direction)

    def __enter__(self) -> "LearnerServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---------------------------------------------------------------- the glue: handshake

    def handshake(self, client: Client) -> Optional[bytes]:
        """Answer the opening handshake; the bytes after the head, or None if refused."""
        pieces = self.pieces
        deadline = time.monotonic() + HANDSHAKE_SECONDS
        head = b""
        while b"\r\n\r\n" not in head:  # one recv() may hold part of the head, or more
            if len(head) > MAX_HEAD:
                client.send(refusal(431))
                return None
            data = client.recv(deadline)
            if not data:
                return None
            head += data
        end = head.index(b"\r\n\r\n") + 4
        head, rest = head[:end], head[end:]
        client.keep_request(head)  # for the course's views, secrets left out
        status = pieces.status_for(head)  # 101, or the status that refuses the request
        if status != 101:
            client.answer(status, refusal(status))
            self.log.append(f"#{client.number}: refused with {status}")
            return None
        key = pieces.parse_headers(head)["sec-websocket-key"]
        client.answer(101, pieces.build_101(key))
        client.upgraded = True
        return rest

    # ---------------------------------------------------------------- the glue: frames

    def talk(self, client: Client, buffer: bytes) -> None:
        """Read frames and answer them until a Close, or until the client goes."""
        pieces = self.pieces
        message: List[Frame] = []  # the frames of a message in fragments, so far
        while True:
            frames, buffer = pieces.split_frames(buffer)
            for raw in frames:
                if self.frame(client, raw, message) == "closed":
                    return
            # A frame still arriving: refuse it by its header, before it is all in (§10.4).
            pending = pieces.payload_length(buffer)
            if pending is not None:
                length, _ = pending
                if pieces.is_control(buffer[0] & 0x0F) and length > 125:
                    raise Fail(1002, "a control frame of more than 125 bytes (§5.5)")
                if sum(len(frame.payload) for frame in message) + length > self.max_size:
                    raise Fail(1009, f"a message over {self.max_size} bytes (§10.4)")
            data = client.recv()
            if not data:
                return  # TCP closed without a Close frame (1006)
            buffer += data

    def frame(self, client: Client, raw: bytes, message: List[Frame]) -> str:
        """Handle one whole frame; "closed" once the closing handshake is done."""
        pieces = self.pieces
        self.record(client.number, raw, "in")
        if pieces.read_mask_key(raw) is None:
            raise Fail(1002, "an unmasked frame from the client (§5.1)")
        if raw[0] & 0x70:
            raise Fail(1002, "an RSV bit set, with no extension negotiated (§5.2)")
        opcode, payload = pieces.decode_frame(raw)
        fin = bool(raw[0] & 0x80)
        if opcode not in KNOWN_OPCODES:
            raise Fail(1002, f"the reserved opcode {opcode:#x} (§5.2)")
        if pieces.is_control(opcode):
            if not fin or len(payload) > 125:
                raise Fail(1002, "a fragmented or long control frame (§5.5)")
            if opcode == Opcode.PING:
                client.send(pieces.pong_for(raw))  # even between fragments (§5.5.2)
            elif opcode == Opcode.CLOSE:
                self.answer_close(client, payload)
                return "closed"
            return "on"
        if (opcode == Opcode.CONT) != bool(message):
            raise Fail(1002, "a continuation with no message begun, or a message cut (§5.4)")
        message.append(Frame(Opcode(opcode), bytes(payload), fin))
        if sum(len(frame.payload) for frame in message) > self.max_size:
            raise Fail(1009, f"a message over {self.max_size} bytes (§10.4)")
        if fin:
            data = b"".join(frame.payload for frame in message)
            if message[0].opcode == Opcode.TEXT and not is_utf8(data):
                raise Fail(1007, "a text message that is not UTF-8 (§8.1)")
            messages = pieces.assemble(message)
            message.clear()
            if len(messages) != 1:
                error = ValueError(f"{len(messages)} messages from the frames of one")
                raise PieceError("assemble", error)
            echo = messages[0]
            data = echo.encode("utf-8") if isinstance(echo, str) else bytes(echo)
            kind = Opcode.TEXT if isinstance(echo, str) else Opcode.BINARY
            client.send(pieces.encode_header(kind, len(data)) + data)
        return "on"

    def answer_close(self, client: Client, payload: bytes) -> None:
        """Answer the client's Close with the same code (§5.5.1), then close TCP first."""
        pieces = self.pieces
        try:
            code, _ = pieces.parse_close(payload)
            answer = b"" if code == 1005 else pieces.close_payload(code)  # 1005: no code came
        except PieceError as error:  # the exercises raise ValueError for a broken payload
            if not isinstance(error.error, ValueError):
                raise
            utf8 = isinstance(error.error, UnicodeDecodeError)
            raise Fail(
                1007 if utf8 else 1002, f"a Close that breaks a rule: {error.error}"
            ) from None
        client.send(pieces.encode_header(Opcode.CLOSE, len(answer)) + answer)
        client.record.close_code = code
        self.log.append(f"#{client.number}: closed by the client ({code})")
        close_first(client)

    def fail(self, client: Client, code: int, why: str) -> None:
        """Fail the connection (§7.1.7): a Close with ``code``, then close TCP."""
        self.log.append(f"#{client.number}: failed with {code}: {why}")
        client.record.close_code, client.record.error = code, why
        try:
            payload = self.pieces.close_payload(code)
            client.send(self.pieces.encode_header(Opcode.CLOSE, len(payload)) + payload)
        except (PieceError, ProtocolError, Gone):
            pass  # the Close could not be made or sent: closing TCP still ends it
        close_first(client)

    # ---------------------------------------------------------------- threads and records

    def _accept(self) -> None:
        number = 0
        while not self.stopping.is_set():
            try:
                sock, address = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            number += 1
            thread = threading.Thread(
                target=self._serve,
                args=(sock, number, f"{address[0]}:{address[1]}"),
                name=f"wslearn-capstone-{number}",
            )
            with self._lock:
                self._clients[number] = sock
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _serve(self, sock: socket.socket, number: int, peer: str) -> None:
        client = Client(sock, number, peer, self)
        stranger = another_users(sock)  # another learner's page or program, on a shared host
        try:
            if stranger is not None:
                client.record.error = stranger
                client.answer(403, refusal(403))
                return
            rest = self.handshake(client)
            if rest is not None:
                self.talk(client, rest)
        except Fail as failed:
            self.fail(client, failed.code, str(failed).split(": ", 1)[1])
        except PieceError as error:
            self.errors.append(error)
            if client.upgraded:
                self.fail(client, 1011, str(error))
            else:
                with_gone(lambda: client.send(refusal(500)))
        except ProtocolError as error:  # a borrowed piece saw a broken frame
            self.fail(client, int(error.code), str(error))
        except (Gone, KeyError, TypeError, ValueError, IndexError) as error:
            self.log.append(f"#{number}: ended: {error!r}")
        finally:
            sock.close()
            if client.record.status == 101 and client.record.close_code is None:
                client.record.close_code = 1006  # TCP ended without a Close (§7.1.5)
            client.record.closed = time.time()
            with self._lock:
                self._clients.pop(number, None)

    def record(self, number: int, raw: bytes, direction: str) -> None:
        """Keep a frame (its header and a preview of its payload) for the course's views."""
        try:
            header = parse_frame_header(raw)
        except ProtocolError:
            return  # a frame that breaks a rule: the log says what happened
        if header is None:
            return
        start, preview = header.header_size, self.recorder.preview_bytes
        frame = Frame.from_header(header, raw[start : start + header.length])
        frame.wire_preview = raw[start : start + preview]
        record = FrameRecord.from_frame(
            frame, time=time.time(), connection=number, direction=direction,
            preview_bytes=preview,
        )  # fmt: skip
        self.recorder.add_frame(record)

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop accepting, end every connection, join the threads; True if all ended in time."""
        self.stopping.set()
        deadline = time.monotonic() + timeout
        self._accepter.join(max(0.0, deadline - time.monotonic()))
        self._listener.close()
        with self._lock:
            socks, threads = list(self._clients.values()), list(self._threads)
        for sock in socks:  # a waiting recv() returns at once
            with_gone(functools.partial(sock.shutdown, socket.SHUT_RDWR))
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not self._accepter.is_alive() and not any(t.is_alive() for t in threads)


def serve_pieces(pieces: Pieces, port: int = 0, **options: Any) -> LearnerServer:
    """Start a :class:`LearnerServer` built from ``pieces``; stop it with ``stop()``."""
    return LearnerServer(pieces, port, **options)


def refusal(status: int) -> bytes:
    """An HTTP error answer. Every refusal names the version spoken (§4.4 asks it of 426)."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    return (
        f"HTTP/1.1 {status} {reason}\r\nSec-WebSocket-Version: 13\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n"
    ).encode("ascii")


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def close_first(client: Client) -> None:
    """Close TCP first (§7.1.1): our FIN, then read until the client's, for a while at most."""
    if not with_gone(lambda: client.sock.shutdown(socket.SHUT_WR)):
        return
    client.record.fin_sent = time.time()
    deadline = time.monotonic() + CLOSE_SECONDS
    try:
        while client.recv(deadline):
            pass
    except Gone:
        pass


def with_gone(action: Any) -> bool:
    """Do a socket ``action`` that may fail once the client is gone; True if it worked."""
    try:
        action()
    except OSError:
        return False
    return True
