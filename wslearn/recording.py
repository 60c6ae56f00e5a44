"""What the live server saw: every handshake and every frame, kept for inspection.

A :class:`Recorder` holds :class:`ConnectionRecord` and :class:`FrameRecord`
objects in bounded deques: when ``max_frames`` is reached the oldest frame is
dropped and counted in :attr:`Recorder.dropped_frames`, so a long-running
server never grows without limit. Payloads are kept as a capped *preview*
(``preview_bytes``, 256 by default); lengths always stay exact.

Secrets never reach a record. Behind jupyter-server-proxy (Binder, JupyterHub)
the request that reaches the kernel carries the learner's Jupyter token in the
query string and the Jupyter cookies; :func:`redact_request` replaces them
before anything is stored, shown or logged.

This module stores and redacts; it has no sockets and starts no threads (a lock
lets the server's threads share it).
"""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from collections import deque
from pathlib import Path
from typing import Any, Deque, Dict, List, Optional, Tuple

from .frames import Frame, FrameHeader
from .handshake import Headers, Request
from .opcodes import Opcode

__all__ = [
    "FrameRecord",
    "ConnectionRecord",
    "Recorder",
    "redact_request",
    "proxy_evidence",
    "REDACTED",
    "CHROMIUM_CAPTURE",
    "chromium_capture",
    "records_from_capture",
]

#: Frames a real Chromium sent to ``wslearn.serve()`` (``tests/helpers/capture_browser_frames.py``).
CHROMIUM_CAPTURE = Path(__file__).parent / "data" / "chromium_frames.json"


def chromium_capture() -> Dict[str, Any]:
    """The shipped Chromium capture: browser, redacted handshake, recv sizes, every frame."""
    return json.loads(CHROMIUM_CAPTURE.read_text(encoding="utf-8"))


def records_from_capture(capture: Dict[str, Any]) -> List["FrameRecord"]:
    """The capture's inbound frames as :class:`FrameRecord` objects, for the views."""
    return [
        FrameRecord(
            time=0.0,
            connection=1,
            direction="in",
            header=bytes.fromhex(f["header_hex"]),
            fin=f["fin"],
            rsv1=False,
            rsv2=False,
            rsv3=False,
            opcode=f["opcode"],
            masked=True,
            mask=bytes.fromhex(f["mask_hex"]),
            length=f["length"],
            length_case=f["length_case"],
            wire_preview=bytes.fromhex(f["wire_preview_hex"]),
            payload_preview=bytes.fromhex(f["payload_preview_hex"]),
            stream_offset=f["stream_offset"],
        )
        for f in capture["frames"]
    ]


REDACTED = "[redacted]"

#: Header whose whole value is a credential.
_SECRET_HEADERS = {"cookie", "authorization", "proxy-authorization", "x-xsrftoken"}
#: Query parameters that carry a credential (Jupyter's ``token``, and the like).
_SECRET_PARAMS = re.compile(
    r"(?i)((?:^|[?&;])(?:token|access_token|_xsrf|auth|password|api_key)=)[^&;#\s]*"
)


def _redact_target(target: str) -> str:
    return _SECRET_PARAMS.sub(lambda m: m.group(1) + REDACTED, target)


def redact_request(request: Request) -> Tuple[bytes, Headers, str]:
    """Return ``(raw, headers, target)`` with tokens and cookies replaced by ``[redacted]``."""
    target = _redact_target(request.target)
    items = []
    for name, value in request.headers:
        if name.lower() in _SECRET_HEADERS:
            value = REDACTED
        elif name.lower() in ("referer", "origin"):
            value = _redact_target(value)
        items.append((name, value))
    headers = Headers(items)
    lines = [f"{request.method} {target} {request.version}"]
    lines += [f"{name}: {value}" for name, value in items]
    raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    return raw, headers, target


def proxy_evidence(request: Request) -> List[str]:
    """Signs that this handshake was sent by jupyter-server-proxy rather than by the browser.

    The proxy opens its own WebSocket to the kernel's server: it re-cases header
    names (``Sec-Websocket-Key``), forwards the Jupyter token, and the
    in-notebook widget marks its URL with ``via=jupyter-proxy``.
    """
    evidence = []
    if re.search(r"(?:^|[?&])via=jupyter-proxy(?:&|$)", request.target):
        evidence.append("the widget connected through <base url>proxy/<port>/")
    names = [name for name, _ in request.headers]
    if "Sec-Websocket-Key" in names:
        evidence.append("header names re-cased (Sec-Websocket-Key), as tornado does")
    # Not the cookies: browsers send cookies per host, not per port (RFC 6265 §8.5), so a
    # page at 127.0.0.1:8888 sends its Jupyter cookies on a direct connection too.
    if re.search(r"(?:^|[?&])token=", request.target):
        evidence.append("Jupyter token forwarded in the query string")
    return evidence


@dataclasses.dataclass
class ConnectionRecord:
    """One TCP connection: who, the (redacted) handshake, how bytes arrived, how it ended."""

    id: int
    peer: str
    opened: float
    request_raw: bytes = b""
    request_headers: Headers = dataclasses.field(default_factory=Headers)
    target: str = ""
    status: Optional[int] = None  #: 101 if upgraded, else the HTTP status sent
    via_proxy: bool = False
    proxy_evidence: List[str] = dataclasses.field(default_factory=list)
    #: Sizes of the successive ``recv()`` results after the handshake (capped list).
    reads: List[int] = dataclasses.field(default_factory=list)
    reads_dropped: int = 0
    closed: Optional[float] = None
    close_code: Optional[int] = None
    close_reason: str = ""
    error: str = ""

    @property
    def user_agent(self) -> str:
        return self.request_headers.get("User-Agent", "") or ""


@dataclasses.dataclass(frozen=True)
class FrameRecord:
    """One frame, in (``"in"``: from the peer) or out (``"out"``), with every header field.

    ``time`` is wall-clock time (``time.time()``), like :attr:`ConnectionRecord.opened`.

    ``wire_preview`` is the start of the payload exactly as it crossed the wire
    (still masked if it was), ``payload_preview`` the same bytes unmasked. Both
    hold at most ``preview_bytes``; ``length`` is always the exact length.
    ``stream_offset`` says where the frame started in the connection's byte
    stream after the handshake, so it can be laid over :attr:`ConnectionRecord.reads`.
    """

    time: float
    connection: int
    direction: str
    header: bytes
    fin: bool
    rsv1: bool
    rsv2: bool
    rsv3: bool
    opcode: int
    masked: bool
    mask: Optional[bytes]
    length: int
    length_case: str
    wire_preview: bytes
    payload_preview: bytes
    stream_offset: int

    @property
    def opcode_name(self) -> str:
        return Opcode(self.opcode).name

    @property
    def truncated(self) -> bool:
        return len(self.payload_preview) < self.length

    def frame_header(self) -> FrameHeader:
        """The recorded header as a :class:`~wslearn.frames.FrameHeader`, field by field."""
        return FrameHeader(
            fin=self.fin,
            rsv1=self.rsv1,
            rsv2=self.rsv2,
            rsv3=self.rsv3,
            opcode=Opcode(self.opcode),
            masked=self.masked,
            mask=self.mask,
            length=self.length,
            length_case=self.length_case,
            header_size=len(self.header),
            raw=self.header,
        )

    @classmethod
    def from_frame(
        cls,
        frame: Frame,
        *,
        time: float,
        connection: int,
        direction: str,
        stream_offset: int = 0,
        preview_bytes: int = 256,
    ) -> "FrameRecord":
        """Record ``frame`` from the header and wire bytes its reader or Connection kept.

        ``frame.wire_preview`` holds the payload's first bytes as they crossed the wire
        (:class:`~wslearn.connection.Connection`'s ``keep_wire``); for an unmasked frame
        they are the payload itself. A frame built in Python (no header yet) is recorded
        as a server would send it.
        """
        header = frame.header if frame.header is not None else frame.wire_header()
        preview = frame.payload[:preview_bytes]
        wire = frame.wire_preview[:preview_bytes] if header.masked else preview
        return cls(
            time=time,
            connection=connection,
            direction=direction,
            header=header.raw,
            fin=header.fin,
            rsv1=header.rsv1,
            rsv2=header.rsv2,
            rsv3=header.rsv3,
            opcode=int(header.opcode),
            masked=header.masked,
            mask=header.mask,
            length=header.length,
            length_case=header.length_case,
            wire_preview=wire,
            payload_preview=preview,
            stream_offset=stream_offset,
        )


class Recorder:
    """Bounded store of connections and frames, shared by the server's threads.

    Each change happens under a lock, so the server's threads can record while
    a notebook cell reads; readers take a snapshot with :meth:`frames` /
    :meth:`connections`.
    """

    def __init__(
        self, max_frames: int = 10_000, max_connections: int = 1_000, preview_bytes: int = 256
    ) -> None:
        self.max_frames = max_frames
        self.preview_bytes = preview_bytes
        self._frames: Deque[FrameRecord] = deque(maxlen=max_frames)
        self._connections: Dict[int, ConnectionRecord] = {}
        self._order: Deque[int] = deque()
        self.max_connections = max_connections
        self.dropped_frames = 0
        self.dropped_connections = 0
        #: Incremented on every change, so a live view knows when to redraw.
        self.version = 0
        self._lock = threading.Lock()

    def add_frame(self, record: FrameRecord) -> None:
        with self._lock:
            if len(self._frames) == self._frames.maxlen:
                self.dropped_frames += 1
            self._frames.append(record)
            self.version += 1

    def add_connection(self, record: ConnectionRecord) -> None:
        with self._lock:
            self._connections[record.id] = record
            self._order.append(record.id)
            while len(self._order) > self.max_connections:
                del self._connections[self._order.popleft()]
                self.dropped_connections += 1
            self.version += 1

    def touch(self) -> None:
        """Note that a connection record changed (e.g. it closed)."""
        with self._lock:
            self.version += 1

    def frames(
        self, connection: Optional[int] = None, direction: Optional[str] = None
    ) -> List[FrameRecord]:
        """A snapshot of the recorded frames, oldest first, optionally filtered."""
        with self._lock:
            frames = list(self._frames)
        return [
            f
            for f in frames
            if (connection is None or f.connection == connection)
            and (direction is None or f.direction == direction)
        ]

    def connections(self) -> List[ConnectionRecord]:
        """A snapshot of the recorded connections, oldest first."""
        with self._lock:
            records = dict(self._connections)
            order = list(self._order)
        return [records[i] for i in order if i in records]

    def connection(self, id: int) -> ConnectionRecord:
        """The record of connection ``id`` (``KeyError`` if it was never seen or was dropped)."""
        with self._lock:
            return self._connections[id]

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._connections.clear()
            self._order.clear()
            self.dropped_frames = self.dropped_connections = 0
            self.version += 1
