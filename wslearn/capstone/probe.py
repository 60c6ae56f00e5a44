"""A bounded raw-socket client for checking a server that may be broken, or hostile.

The conformance run (:mod:`wslearn.capstone.conformance`) talks to a server nobody vouches
for: the learner's own, assembled in notebook 12. It may answer garbage, close at once,
never answer, or announce a gigabyte. So every wait here has a bound:

* in time: each read and write waits only for what is left of the case's :class:`Deadline`;
* in memory: an HTTP head is read up to :data:`HEAD_LIMIT` bytes, a frame up to the payload
  size the case expects (a frame that announces more is refused from its header alone);

and everything that comes is noted, in short, in :attr:`Probe.seen`, so a failed case can say
what the server did. The server's misbehaviour never raises anything but :class:`Broken`,
which the runner turns into a failed case.

The bytes themselves are built and read by the library's sans-I/O core
(:func:`~wslearn.http11.parse_response`, :func:`~wslearn.frames.parse_frame_header`,
:class:`~wslearn.frames.Frame`), so the checker reads the wire as the course teaches it.
"""

from __future__ import annotations

import selectors
import socket
from typing import List, Optional

from ..close import Close
from ..deadline import Deadline
from ..errors import InvalidResponse, ProtocolError
from ..frames import Frame, parse_frame_header
from ..http11 import Response, parse_response
from ..opcodes import Opcode
from .topics import (
    FRAME_HEADER,
    NO_DATA_AFTER_CLOSE,
    NOTEBOOK_HEADER,
    NOTEBOOK_TALKING_BACK,
    SERVER_DOES_NOT_MASK,
    TCP_CLOSED_AFTER_CLOSE,
)

__all__ = ["Broken", "Probe", "HEAD_LIMIT", "describe_bytes", "describe_frame"]

#: The most bytes read while waiting for an HTTP response head (wslearn's own server sends
#: about 130; a head this long is not an answer to a WebSocket handshake).
HEAD_LIMIT = 16 * 1024
#: The most bytes asked of one ``recv()``.
CHUNK = 65536


class Broken(Exception):
    """The server under test did not do what the case expects: a failed case, never a crash.

    ``what`` says what was seen (or not seen); ``rule`` and ``notebook``, when given, replace
    the case's own: a length case that fails at the handshake points at the handshake.
    """

    def __init__(self, what: str, rule: Optional[str] = None, notebook: Optional[str] = None):
        super().__init__(what)
        self.what = what
        self.rule = rule
        self.notebook = notebook


def describe_bytes(data: bytes, limit: int = 12) -> str:
    """Bytes as hex, shortened: ``81 05 48 65 … (7 B)``."""
    shown = data[:limit].hex(" ")
    return f"{shown}{' …' if len(data) > limit else ''} ({len(data)} B)" if data else "0 B"


def describe_frame(frame: Frame) -> str:
    """One frame in a few words: ``TEXT fin=1 125 B [81 7d]``, a Close with its code."""
    header = frame.header
    raw = f" [{header.raw[:10].hex(' ')}]" if header is not None else ""
    if frame.opcode == Opcode.CLOSE:
        return f"CLOSE {Close.describe(frame.payload)}{raw}"
    text = f"{frame.opcode.name} fin={int(frame.fin)} {len(frame.payload)} B{raw}"
    if frame.opcode.is_control and frame.payload:
        text += f" {frame.payload[:20]!r}"
    return text


class Probe:
    """One TCP connection to 127.0.0.1:``port``, every operation bounded by ``deadline``.

    ``path`` is the request target the cases ask for (the server's URL path).
    """

    def __init__(self, port: int, deadline: Deadline, path: str = "/") -> None:
        self.port = port
        self.path = path
        self.deadline = deadline
        #: What happened, in order, in short: the "what was seen" of a case.
        self.seen: List[str] = []
        self._buffer = bytearray()
        self._sock: Optional[socket.socket] = None

    def __enter__(self) -> "Probe":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def note(self, text: str) -> None:
        self.seen.append(text)

    # ------------------------------------------------------------------ raw bytes

    def connect(self) -> None:
        try:
            self._sock = socket.create_connection(
                ("127.0.0.1", self.port), timeout=max(self.deadline.remaining(), 0.001)
            )
        except OSError as error:
            raise Broken(f"could not connect to 127.0.0.1:{self.port}: {error}") from None
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _socket(self) -> socket.socket:
        if self._sock is None:
            self.connect()
        assert self._sock is not None
        remaining = self.deadline.remaining()
        if remaining == 0:
            raise Broken(f"the case's {self.deadline.seconds:g} s were used up")
        self._sock.settimeout(remaining)
        return self._sock

    def send(self, data: bytes) -> None:
        """Send all of ``data`` within the deadline (a server that stops reading fails)."""
        sock = self._socket()
        try:
            sock.sendall(data)
        except socket.timeout:
            raise Broken(f"the server stopped reading: {len(data)} B not sent in time") from None
        except OSError as error:
            raise Broken(f"TCP closed while {len(data)} B were being sent ({error})") from None

    def send_watching(self, data: bytes) -> int:
        """Send ``data`` until the server says something (or hangs up); return the bytes sent.

        A server may close as soon as a frame's header announces too much (§10.4): it then
        reads no further, and a plain ``sendall`` would wait, or fail, before we see why.
        """
        sock, view, sent = self._socket(), memoryview(data), 0
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
            while sent < len(data):
                events = selector.select(self.deadline.remaining())
                if not events:
                    raise Broken(f"the server stopped reading after {sent} of {len(data)} B")
                if any(mask & selectors.EVENT_READ for _, mask in events):
                    break  # it answered, or closed: read that before sending more
                try:
                    sent += sock.send(view[sent : sent + CHUNK])
                except BlockingIOError:
                    continue
                except OSError:
                    break  # closed while we sent: what it said before is still to be read
        if sent < len(data):
            self.note(f"the server spoke after {sent} of {len(data)} B had been sent")
        return sent

    def _receive(self, limit: int) -> bytes:
        """At most ``limit`` bytes; ``b""`` once TCP is closed (a reset counts as closed)."""
        sock = self._socket()
        try:
            return sock.recv(min(CHUNK, max(limit, 1)))
        except socket.timeout:
            seconds = self.deadline.seconds
            raise Broken(f"then nothing until the case's {seconds:g} s ran out") from None
        except OSError:  # ECONNRESET: closed without the orderly end
            return b""

    def _closed(self, waiting_for: str) -> Broken:
        left = bytes(self._buffer)
        after = f", after {describe_bytes(left)} that are not {waiting_for}" if left else ""
        return Broken(f"TCP closed while waiting for {waiting_for}{after}")

    # ------------------------------------------------------------------ HTTP and frames

    def read_response(self) -> Response:
        """Read and parse the server's HTTP response head (§4.2.2); what follows stays here."""
        while True:
            try:
                response = parse_response(self._buffer)
            except InvalidResponse as error:
                raise Broken(
                    f"not an HTTP response ({error}): {describe_bytes(bytes(self._buffer))}"
                ) from None
            if response is not None:
                del self._buffer[: len(response.raw)]
                self.note(f"HTTP {response.status} {response.reason}".rstrip())
                return response
            if len(self._buffer) > HEAD_LIMIT:
                raise Broken(f"no end of the HTTP head within {HEAD_LIMIT} B")
            data = self._receive(HEAD_LIMIT + 1 - len(self._buffer))
            if not data:
                raise self._closed("an HTTP response")
            self._buffer += data

    def read_frame(self, max_payload: int) -> Frame:
        """Read one whole frame whose payload is at most ``max_payload`` bytes.

        A frame that announces more is refused from its header, before its payload is read:
        memory stays bounded whatever the server sends.
        """
        while True:
            try:
                header = parse_frame_header(self._buffer)
            except ProtocolError as error:
                raise Broken(
                    f"a broken frame header {describe_bytes(bytes(self._buffer))}: {error}",
                    rule=FRAME_HEADER,
                    notebook=NOTEBOOK_HEADER,
                ) from None
            need = 14
            if header is not None:
                if header.length > max_payload:
                    raise Broken(
                        f"{header.opcode.name} frame [{header.raw[:10].hex(' ')}] announcing "
                        f"{header.length} B (the case expected at most {max_payload})"
                    )
                need = header.header_size + header.length
                if len(self._buffer) >= need:
                    return self._take_frame(need)
            data = self._receive(need - len(self._buffer))
            if not data:
                raise self._closed("a frame")
            self._buffer += data

    def _take_frame(self, size: int) -> Frame:
        header = parse_frame_header(self._buffer)
        assert header is not None
        frame = Frame.from_header(header, bytes(self._buffer[header.header_size : size]))
        del self._buffer[:size]
        self.note(describe_frame(frame))
        if header.masked:
            raise Broken(
                f"the server masked its {frame.opcode.name} frame",
                rule=SERVER_DOES_NOT_MASK,
                notebook=NOTEBOOK_TALKING_BACK,
            )
        return frame

    def expect_tcp_close(self) -> None:
        """After the Close frames: the server must close TCP, and send nothing more (§7.1.1)."""
        if not self._buffer:
            try:
                data = self._receive(CHUNK)
            except Broken:
                raise Broken(
                    f"TCP still open {self.deadline.seconds:g} s after the Close frames",
                    rule=TCP_CLOSED_AFTER_CLOSE,
                    notebook=NOTEBOOK_TALKING_BACK,
                ) from None
            self._buffer += data
        if self._buffer:
            raise Broken(
                f"bytes after the Close frame: {describe_bytes(bytes(self._buffer))}",
                rule=NO_DATA_AFTER_CLOSE,
                notebook=NOTEBOOK_TALKING_BACK,
            )
        self.note("TCP closed")
