"""What the live server saw: every handshake and every frame, kept for inspection.

The server hands the recorder two kinds of record:

* a :class:`ConnectionRecord` per TCP connection: the peer, the handshake (already redacted by
  :mod:`wslearn.redaction`), the sizes of the ``recv()`` results, when each step of its life
  came (accept, request, answer, the two FINs, close), how it ended;
* a :class:`FrameRecord` per frame, in or out: its header (the
  :class:`~wslearn.frames.FrameHeader` itself: every field and the bytes), and the
  start of the payload both as it crossed the wire (masked) and unmasked. With
  permessage-deflate (RFC 7692), the first frame of a compressed message (RSV1 set) also
  gets an :class:`InflatedMessage`: the message's length and first bytes once inflated,
  since its payload on the wire is DEFLATE data, not the message.

A :class:`Recorder` keeps them in bounded stores: when ``max_frames`` is reached the oldest
frame is dropped and counted in :attr:`Recorder.dropped_frames`, and past ``max_connections``
the oldest connection goes the same way (:attr:`Recorder.dropped_connections`), so a
long-running server never grows without limit. Payloads are kept as a capped *preview*
(``preview_bytes``, 256 by default); lengths always stay exact.

The bound is in bytes too, not only in records: whatever a peer sends, a frame's record
holds at most its header and three previews (wire, unmasked, inflated), and a connection's
record at most :data:`MAX_REQUEST_KEPT` bytes of each part of the request head.
:meth:`Recorder.held_bytes` counts what the records hold and :attr:`Recorder.byte_bound`
says, from the settings alone, how much that can ever be.

This module only stores: it has no sockets and starts no threads. The server's
threads write while a notebook cell reads, so every change and every read
happens under one lock, and readers get snapshots (lists they may keep).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import deque
from typing import Deque, Dict, List, Optional, Union

from .frames import Frame, FrameHeader
from .http11 import Headers
from .opcodes import Opcode
from .permessage_deflate import DeflateParameters

__all__ = ["FrameRecord", "ConnectionRecord", "InflatedMessage", "Recorder"]


#: At most this many bytes of a request head are kept in a connection's record.
MAX_REQUEST_KEPT = 8192
#: Longest frame header: 2 bytes, 8 of extended length, 4 of masking key (RFC 6455 §5.2).
MAX_FRAME_HEADER = 14
#: Longest close reason in UTF-8 bytes: a Close payload holds at most 125 bytes (§5.5),
#: 2 of them the code (§5.5.1).
MAX_CLOSE_REASON = 123
#: Most bytes one connection's record holds (see :meth:`ConnectionRecord.held_bytes`).
CONNECTION_BYTES_BOUND = 3 * MAX_REQUEST_KEPT + MAX_CLOSE_REASON


def frame_bytes_bound(preview_bytes: int, *, inflated: bool = False) -> int:
    """Most bytes one frame's record holds (see :meth:`FrameRecord.held_bytes`).

    The header, a copy of its masking key, and two previews of ``preview_bytes`` at most;
    ``inflated=True``: a compressed message's first frame, which keeps a third preview
    (the inflated message's, :class:`InflatedMessage`).
    """
    return MAX_FRAME_HEADER + 4 + (3 if inflated else 2) * preview_bytes


@dataclasses.dataclass
class InflatedMessage:
    """A compressed message as the application sees it: its length and a capped preview.

    On the wire, the payload of a compressed message's frames is DEFLATE data (RFC 7692
    §7.2); the message itself exists only once its last frame is inflated. So the record of
    its first frame (RSV1 set) gets one of these, empty, and the server fills it in when
    the whole message is known (:meth:`fill`). ``length`` stays ``None`` if the message
    never came whole (it failed to inflate, or passed ``max_size``).

    It is the one part of a :class:`FrameRecord` that changes after the record is made:
    ``preview`` is set before ``length``, so a reader that sees a length sees its preview.
    """

    preview_bytes: int
    length: Optional[int] = None
    preview: bytes = b""

    def fill(self, message: Union[str, bytes]) -> None:
        """Note the whole message (``str`` for text, kept as UTF-8 bytes)."""
        if isinstance(message, str):
            # Only the start is encoded for the preview: a character is 4 bytes at most.
            preview = message[: self.preview_bytes].encode("utf-8")[: self.preview_bytes]
            # Its length in UTF-8 bytes, without a copy when it is ASCII.
            length = len(message) if message.isascii() else len(message.encode("utf-8"))
        else:
            preview, length = bytes(message[: self.preview_bytes]), len(message)
        self.preview = preview
        self.length = length

    def cap(self, preview_bytes: int) -> None:
        """Keep at most ``preview_bytes`` of the preview, now and once filled."""
        if preview_bytes < self.preview_bytes:
            self.preview_bytes = preview_bytes
            self.preview = self.preview[:preview_bytes]


@dataclasses.dataclass
class ConnectionRecord:
    """One TCP connection: who, the (redacted) handshake, how bytes arrived, how it ended.

    Its times (``time.time()``; None until it happens, or if it never does), in order:
    ``opened`` (accepted), ``request_at`` (the head whole, or judged bad), ``answered_at``
    (the 101 or the refusal sent), the frames, ``fin_sent`` (the server's FIN) and
    ``peer_fin`` (a ``recv()`` gave b"") in either order, ``closed`` (the socket closed).
    """

    id: int
    peer: str
    opened: float
    request_at: Optional[float] = None
    answered_at: Optional[float] = None
    request_raw: bytes = b""
    request_headers: Headers = dataclasses.field(default_factory=Headers)
    target: str = ""
    #: Bytes of the request head not kept (see :meth:`keep_request`).
    request_dropped: int = 0
    status: Optional[int] = None  #: 101 if upgraded, else the HTTP status sent
    via_proxy: bool = False
    proxy_evidence: List[str] = dataclasses.field(default_factory=list)
    #: Sizes of the successive ``recv()`` results after the handshake (capped list).
    reads: List[int] = dataclasses.field(default_factory=list)
    reads_dropped: int = 0
    fin_sent: Optional[float] = None
    peer_fin: Optional[float] = None
    closed: Optional[float] = None
    close_code: Optional[int] = None
    close_reason: str = ""
    error: str = ""
    #: The permessage-deflate parameters of the 101 (RFC 7692), or None: plain frames.
    deflate: Optional[DeflateParameters] = None

    @property
    def user_agent(self) -> str:
        return self.request_headers.get("User-Agent", "") or ""

    def held_bytes(self) -> int:
        """Bytes of what the peer sent that this record holds: head, headers, target, reason.

        Each of the first three is cut to :data:`MAX_REQUEST_KEPT` by :meth:`keep_request`
        and the reason is at most :data:`MAX_CLOSE_REASON`, so this never passes
        :data:`CONNECTION_BYTES_BOUND`. The other fields are numbers and the server's own
        short texts; ``reads`` is a list of numbers that the server caps in count.
        """
        headers = sum(len(name) + len(value) + 4 for name, value in self.request_headers)
        reason = len(self.close_reason.encode("utf-8"))
        return len(self.request_raw) + headers + len(self.target) + reason

    def keep_request(self, raw: bytes, headers: Headers, target: str) -> None:
        """Keep a (redacted) request head, at most :data:`MAX_REQUEST_KEPT` bytes of it.

        A browser's head is about 500 bytes; a peer may send a megabyte, and the recorder
        keeps up to ``max_connections`` records. The head is cut, and its headers kept
        while they fit, so a record's size is bounded whatever the peer sends; what was
        left out is counted in :attr:`request_dropped`.
        """
        self.request_raw = raw[:MAX_REQUEST_KEPT]
        self.request_dropped = len(raw) - len(self.request_raw)
        kept, size = [], 0
        for name, value in headers:
            size += len(name) + len(value) + 4  # "name: value\r\n"
            if size > MAX_REQUEST_KEPT:
                break
            kept.append((name, value))
        self.request_headers = Headers(kept)
        self.target = target[:MAX_REQUEST_KEPT]


@dataclasses.dataclass(frozen=True)
class FrameRecord:
    """One frame, in (``"in"``: from the peer) or out (``"out"``), with every header field;
    ``time`` is wall-clock time (``time.time()``), like :attr:`ConnectionRecord.opened`.

    ``head`` is the frame's :class:`~wslearn.frames.FrameHeader`: the very object the
    reader parsed (or the connection sent with), kept as it is. A record is made for every
    frame the server sees, so it keeps that one small object rather than copying its eleven
    fields; the same fields are read through it, as ``record.fin``, ``record.length``,
    ``record.mask`` ... (the properties below), and ``record.header`` is its bytes.

    ``wire_preview`` is the start of the payload exactly as it crossed the wire
    (still masked if it was), ``payload_preview`` the same bytes unmasked. Both
    hold at most ``preview_bytes``; ``length`` is always the exact length.
    ``stream_offset`` says where the frame started in the connection's byte
    stream after the handshake, so it can be laid over :attr:`ConnectionRecord.reads`.

    ``inflated`` is set on the first frame of a compressed message (RSV1, RFC 7692 §6):
    the inflated message's length and preview (:class:`InflatedMessage`), next to the
    compressed bytes of ``payload_preview``. ``None`` for every other frame.

    ``redacted``: a secret payload (a token sent as a connection's first message, see
    :mod:`wslearn.frame_recording`): no preview kept, inflated or not; lengths stay exact.
    """

    time: float
    connection: int
    direction: str
    head: FrameHeader
    wire_preview: bytes
    payload_preview: bytes
    stream_offset: int
    inflated: Optional[InflatedMessage] = None
    redacted: bool = False

    # The header's fields, read through ``head``.

    @property
    def header(self) -> bytes:
        """The header's bytes, exactly as they crossed the wire (2 to 14 bytes)."""
        return self.head.raw

    @property
    def fin(self) -> bool:
        return self.head.fin

    @property
    def rsv1(self) -> bool:
        return self.head.rsv1

    @property
    def rsv2(self) -> bool:
        return self.head.rsv2

    @property
    def rsv3(self) -> bool:
        return self.head.rsv3

    @property
    def opcode(self) -> int:
        """The opcode as a plain number (``opcode_name`` names it)."""
        return int(self.head.opcode)

    @property
    def opcode_name(self) -> str:
        return Opcode(self.head.opcode).name

    @property
    def masked(self) -> bool:
        return self.head.masked

    @property
    def mask(self) -> Optional[bytes]:
        return self.head.mask

    @property
    def length(self) -> int:
        """The payload's exact length, however much of it the previews keep."""
        return self.head.length

    @property
    def length_case(self) -> str:
        return self.head.length_case

    @property
    def truncated(self) -> bool:
        return len(self.payload_preview) < self.head.length

    @property
    def compressed(self) -> bool:
        """The first frame of a compressed message (RSV1 with permessage-deflate)."""
        return self.inflated is not None

    def held_bytes(self) -> int:
        """Bytes this record holds: the header, its masking key, and the previews.

        ``head`` holds the header's bytes and a copy of its key; the rest of it is numbers
        and flags. For an unmasked frame the two previews are one object, counted twice
        here: the count may only overstate what is held, never hide it. A compressed
        message's first frame also holds the inflated message's preview.
        """
        head = self.head
        mask = len(head.mask) if head.mask is not None else 0
        inflated = len(self.inflated.preview) if self.inflated is not None else 0
        previews = len(self.wire_preview) + len(self.payload_preview) + inflated
        return len(head.raw) + mask + previews

    def cut(self, preview_bytes: int) -> "FrameRecord":
        """This record with its previews at most ``preview_bytes`` long (itself if they are)."""
        if self.inflated is not None:
            self.inflated.cap(preview_bytes)  # shared with the server, which fills it later
        if max(len(self.wire_preview), len(self.payload_preview)) <= preview_bytes:
            return self
        return dataclasses.replace(
            self,
            wire_preview=self.wire_preview[:preview_bytes],
            payload_preview=self.payload_preview[:preview_bytes],
        )

    def frame_header(self) -> FrameHeader:
        """The recorded header as a :class:`~wslearn.frames.FrameHeader` (``head`` itself)."""
        return self.head

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
        inflated: Optional[InflatedMessage] = None,
        redacted: bool = False,
    ) -> "FrameRecord":
        """Record ``frame`` from the header and wire bytes its reader or Connection kept.

        ``frame.wire_preview`` holds the payload's first bytes as they crossed the wire
        (:class:`~wslearn.connection.Connection`'s ``keep_wire``); for an unmasked frame
        they are the payload itself. A frame built in Python (no header yet) is recorded
        as a server would send it. ``inflated``: for a compressed message's first frame,
        where its inflated message will be noted (see :class:`InflatedMessage`).
        """
        head = frame.header if frame.header is not None else frame.wire_header()
        # bytes(): a copy of its own. A slice of a memoryview would keep the whole
        # payload it views alive for as long as the record lives.
        preview = bytes(frame.payload[:preview_bytes])
        wire = bytes(frame.wire_preview[:preview_bytes]) if head.masked else preview
        return cls(
            time=time,
            connection=connection,
            direction=direction,
            head=head,
            wire_preview=wire,
            payload_preview=preview,
            stream_offset=stream_offset,
            inflated=inflated,
            redacted=redacted,
        )


class Recorder:
    """Bounded store of connections and frames, shared by the server's threads.

    Each change happens under a lock, so the server's threads can record while
    a notebook cell reads; readers take a snapshot with :meth:`frames` /
    :meth:`connections`.

    Its memory is bounded by its settings: at most ``max_frames`` frame records of at
    most :func:`frame_bytes_bound` bytes each (counting the inflated preview a compressed
    message's first frame may hold), and ``max_connections`` connection
    records of at most :data:`CONNECTION_BYTES_BOUND` bytes each; :attr:`byte_bound` is
    that sum and :meth:`held_bytes` what is held now. (Each record also costs Python a few
    hundred bytes of object overhead, which the record counts bound as well.)
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

    @property
    def byte_bound(self) -> int:
        """Most bytes :meth:`held_bytes` can ever be, from the settings alone."""
        return (
            self.max_frames * frame_bytes_bound(self.preview_bytes, inflated=True)
            + self.max_connections * CONNECTION_BYTES_BOUND
        )

    def held_bytes(self) -> int:
        """Bytes the kept records hold: frame headers and previews, request heads, reasons."""
        with self._lock:
            frames = list(self._frames)
            connections = list(self._connections.values())
        return sum(f.held_bytes() for f in frames) + sum(c.held_bytes() for c in connections)

    def add_frame(self, record: FrameRecord) -> None:
        """Keep ``record``; if the store is full, the oldest frame goes and is counted.

        A record made with longer previews than this recorder's ``preview_bytes`` is kept
        cut to them, so :attr:`byte_bound` holds whoever made the record.
        """
        limit = self.preview_bytes
        if (
            len(record.payload_preview) > limit
            or len(record.wire_preview) > limit
            or (record.inflated is not None and record.inflated.preview_bytes > limit)
        ):
            record = record.cut(limit)  # made with other settings (the usual record fits)
        with self._lock:
            if len(self._frames) == self._frames.maxlen:
                self.dropped_frames += 1
            self._frames.append(record)
            self.version += 1

    def add_connection(self, record: ConnectionRecord) -> None:
        """Keep ``record`` under its ``id``; past ``max_connections`` the oldest goes."""
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
        """Forget every record and reset the drop counts (``version`` still goes up)."""
        with self._lock:
            self._frames.clear()
            self._connections.clear()
            self._order.clear()
            self.dropped_frames = self.dropped_connections = 0
            self.version += 1
