"""A WebSocket connection without I/O: feed it bytes, get events; ask it to send, get bytes.

:class:`Connection` holds everything RFC 6455 says about an *open* connection
(after the handshake), for either role:

* it reassembles fragmented messages (§5.4), with control frames allowed in
  between fragments;
* it checks that text is UTF-8, fragment by fragment, and fails at the first
  bad byte (§8.1, close code 1007);
* it enforces a maximum message size (close code 1009) — 1 MiB by default;
* it enforces the masking rule of its role (§5.1, close code 1002);
* it answers each Ping with a Pong carrying the same bytes (§5.5.2, §5.5.3);
* it runs the closing handshake (§5.5.1, §7) and refuses anything after it.

It never touches a socket: the caller reads bytes from wherever they come from
and passes them to :meth:`Connection.receive_data`, then writes out whatever
:meth:`Connection.data_to_send` returns (the automatic Pongs and Close replies)
and whatever the ``send_*`` methods return. That is how the live server, the
tests and a notebook cell can all drive the very same code.

    >>> server = Connection("server")
    >>> server.receive_data(bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58"))
    [Text(data='Hello')]
    >>> server.send_text("Hello").hex(" ")
    '81 05 48 65 6c 6c 6f'
"""

from __future__ import annotations

import codecs
import dataclasses
import enum
import os
import struct
from typing import Callable, List, Optional, Union

from .errors import ConnectionClosed, ProtocolError
from .frames import Frame, parse_frame_header
from .opcodes import Opcode, close_code_is_valid
from .reader import FrameReader

__all__ = [
    "Connection",
    "State",
    "Event",
    "Text",
    "Binary",
    "Ping",
    "Pong",
    "Close",
    "Failed",
    "DEFAULT_MAX_SIZE",
    "parse_close_payload",
    "close_payload",
]

#: 1 MiB: enough for any lesson, small enough that one peer can't exhaust memory.
DEFAULT_MAX_SIZE = 2**20

BytesLike = Union[bytes, bytearray, memoryview]


class State(enum.Enum):
    """Where a connection is in its life (RFC 6455 §4, §7)."""

    OPEN = "open"  #: messages flow both ways
    CLOSING = "closing"  #: we sent a Close frame and wait for the peer's
    CLOSED = "closed"  #: both Close frames exchanged, or the connection failed


@dataclasses.dataclass(frozen=True)
class Text:
    """A whole text message (opcode 0x1 and its continuations), decoded from UTF-8."""

    data: str


@dataclasses.dataclass(frozen=True)
class Binary:
    """A whole binary message (opcode 0x2 and its continuations)."""

    data: bytes


@dataclasses.dataclass(frozen=True)
class Ping:
    """A Ping from the peer; the connection has already queued the Pong (§5.5.2)."""

    data: bytes


@dataclasses.dataclass(frozen=True)
class Pong:
    """A Pong from the peer, answering a Ping or sent on its own as a heartbeat (§5.5.3)."""

    data: bytes


@dataclasses.dataclass(frozen=True)
class Close:
    """The peer closed (or the TCP connection ended).

    ``code`` is what the peer sent, 1005 if its Close frame had no code, or 1006
    if the TCP connection ended without any Close frame (§7.1.5).
    """

    code: int
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class Failed:
    """The peer broke a rule: we sent a Close frame with ``code`` and the connection is over."""

    code: int
    reason: str


Event = Union[Text, Binary, Ping, Pong, Close, Failed]


def parse_close_payload(payload: bytes) -> tuple:
    """Return ``(code, reason)`` from a Close frame's payload (RFC 6455 §5.5.1).

    An empty payload means "no code given": 1005 is reported. A 1-byte payload,
    a code that may not be sent (see :func:`~wslearn.opcodes.close_code_is_valid`)
    or a reason that isn't UTF-8 raises :class:`ProtocolError` (1002 or 1007).
    """
    if len(payload) == 0:
        return 1005, ""
    if len(payload) == 1:
        raise ProtocolError(
            "Close frame with a 1-byte payload: the code takes 2 bytes (RFC 6455 §5.5.1)"
        )
    (code,) = struct.unpack("!H", payload[:2])
    if not close_code_is_valid(code):
        raise ProtocolError(f"close code {code} may not be sent on the wire (RFC 6455 §7.4)")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(
            "close reason is not valid UTF-8 (RFC 6455 §5.5.1)", code=1007
        ) from None
    return code, reason


def close_payload(code: Optional[int] = 1000, reason: str = "") -> bytes:
    """Build a Close frame's payload: 2-byte code, then the reason in UTF-8 (§5.5.1).

    ``code=None`` gives an empty payload (no code, no reason). The whole control
    frame payload is limited to 125 bytes, so the reason to 123 bytes of UTF-8.
    """
    if code is None:
        if reason:
            raise ValueError("a close reason needs a close code before it")
        return b""
    if not close_code_is_valid(code):
        raise ValueError(f"close code {code} may not be sent (RFC 6455 §7.4)")
    data = reason.encode("utf-8")
    if len(data) > 123:
        raise ValueError(f"close reason is {len(data)} bytes of UTF-8; at most 123 fit")
    return struct.pack("!H", code) + data


def _random_mask() -> bytes:
    # §5.3: the key must be unpredictable, so it comes from a strong source of entropy.
    return os.urandom(4)


class Connection:
    """One side of an open WebSocket connection, as a small state machine.

    ``role`` is ``"server"`` (incoming frames must be masked, outgoing are not) or
    ``"client"`` (the other way round). ``max_size`` limits the size of one whole
    message in bytes (``None`` for no limit). ``mask_key`` makes the 4-byte keys of
    a client's frames (a fresh random one per frame unless a test fixes it).
    ``frame_observer``, if given, is called as ``frame_observer(direction, frame)``
    for every frame received (``"in"``) or produced (``"out"``), which is how the
    live server records traffic.
    """

    def __init__(
        self,
        role: str = "server",
        *,
        max_size: Optional[int] = DEFAULT_MAX_SIZE,
        mask_key: Callable[[], bytes] = _random_mask,
        frame_observer: Optional[Callable[[str, Frame], None]] = None,
    ) -> None:
        if role not in ("server", "client"):
            raise ValueError("role is 'server' or 'client'")
        self.role = role
        self.max_size = max_size
        self.state = State.OPEN
        #: Code and reason of the Close frame received, once there is one.
        self.close_code: Optional[int] = None
        self.close_reason: str = ""
        self._mask_key = mask_key
        self._observer = frame_observer
        self._reader = FrameReader(max_size, expect_masked=(role == "server"))
        self._outgoing = bytearray()
        # The message being assembled from fragments (§5.4).
        self._opcode: Optional[Opcode] = None
        self._parts: List[bytes] = []
        self._size = 0
        self._decoder: Optional[codecs.IncrementalDecoder] = None
        self._text_parts: List[str] = []
        # Outgoing fragmentation: are we in the middle of a message we send?
        self._sending_fragmented = False

    # ------------------------------------------------------------------ receiving

    def receive_data(self, data: BytesLike) -> List[Event]:
        """Feed bytes from the peer; return the events they complete, in order.

        Bytes that arrive after the connection is closed are ignored (§1.4: after
        the Close frames, no more data is processed).
        """
        events: List[Event] = []
        if self.state is State.CLOSED:
            return events
        reader = self._reader
        reader.feed(data)
        try:
            while self.state is not State.CLOSED:
                reader.message_size = self._size
                frame = reader.next_frame()
                if frame is None:
                    break
                if self._observer is not None:
                    self._observer("in", frame)
                self._handle(frame, events)
        except ProtocolError as error:
            self._fail(error, events)
        return events

    def receive_eof(self) -> List[Event]:
        """Tell the connection the peer closed TCP; reports 1006 unless already closed (§7.1.5)."""
        if self.state is State.CLOSED:
            return []
        self.state = State.CLOSED
        self.close_code = 1006
        return [Close(1006, "")]

    def data_to_send(self) -> bytes:
        """Bytes the connection produced by itself (Pongs, Close replies); empties the queue."""
        data = bytes(self._outgoing)
        self._outgoing.clear()
        return data

    def _handle(self, frame: Frame, events: List[Event]) -> None:
        opcode = frame.opcode
        if opcode is Opcode.PING:
            events.append(Ping(frame.payload))
            if self.state is State.OPEN:
                self._outgoing += self._serialize(Frame(Opcode.PONG, frame.payload))
        elif opcode is Opcode.PONG:
            events.append(Pong(frame.payload))
        elif opcode is Opcode.CLOSE:
            code, reason = parse_close_payload(frame.payload)
            self.close_code, self.close_reason = code, reason
            if self.state is State.OPEN:
                # §5.5.1: answer with a Close frame, typically echoing the code. We echo
                # the reason too, so the peer's close event shows what it sent.
                self._outgoing += self._serialize(Frame(Opcode.CLOSE, frame.payload))
            self.state = State.CLOSED
            events.append(Close(code, reason))
        else:
            self._handle_data(frame, events)

    def _handle_data(self, frame: Frame, events: List[Event]) -> None:
        if frame.opcode is Opcode.CONT:
            if self._opcode is None:
                raise ProtocolError(
                    "continuation frame, but no fragmented message was started (RFC 6455 §5.4)"
                )
        else:
            if self._opcode is not None:
                raise ProtocolError(
                    f"new {frame.opcode.name} message started before the previous message's "
                    "final fragment (RFC 6455 §5.4)"
                )
            self._opcode = frame.opcode
            if frame.opcode is Opcode.TEXT:
                self._decoder = codecs.getincrementaldecoder("utf-8")()
        payload = frame.payload
        self._size += len(payload)
        if self._decoder is not None:
            try:
                # The decoder keeps an incomplete character for the next fragment
                # and raises at the first byte that can never become valid UTF-8.
                self._text_parts.append(self._decoder.decode(payload, final=frame.fin))
            except UnicodeDecodeError as error:
                raise ProtocolError(
                    f"text message is not valid UTF-8 ({error.reason}) (RFC 6455 §8.1)",
                    code=1007,
                ) from None
        else:
            self._parts.append(payload)
        if frame.fin:
            if self._decoder is not None:
                events.append(Text("".join(self._text_parts)))
            else:
                events.append(Binary(b"".join(self._parts)))
            self._opcode = None
            self._decoder = None
            self._parts = []
            self._text_parts = []
            self._size = 0

    def _fail(self, error: ProtocolError, events: List[Event]) -> None:
        """_Fail the WebSocket Connection_ (§7.1.7): send Close with the error's code, stop."""
        if self.state is State.OPEN:
            reason = error.message.encode("utf-8")[:123].decode("utf-8", "ignore")
            self._outgoing += self._serialize(
                Frame(Opcode.CLOSE, close_payload(error.code, reason))
            )
        self.state = State.CLOSED
        self.close_code = error.code
        events.append(Failed(error.code, error.message))

    # ------------------------------------------------------------------ sending

    def _serialize(self, frame: Frame) -> bytes:
        data = frame.serialize(self._mask_key() if self.role == "client" else None)
        if self._observer is not None:
            header = parse_frame_header(data)  # the header exactly as it goes on the wire
            self._observer(
                "out",
                Frame(
                    frame.opcode,
                    frame.payload,
                    frame.fin,
                    frame.rsv1,
                    frame.rsv2,
                    frame.rsv3,
                    header,
                ),
            )
        return data

    def _check_can_send(self) -> None:
        if self.state is not State.OPEN:
            raise ConnectionClosed(
                f"the connection is {self.state.value}: "
                "no more messages may be sent (RFC 6455 §5.5.1)"
            )

    def send_text(self, text: str) -> bytes:
        """Return the bytes of a text message (one frame, FIN set)."""
        return self.send_frame(Frame(Opcode.TEXT, text.encode("utf-8")))

    def send_binary(self, data: BytesLike) -> bytes:
        """Return the bytes of a binary message (one frame, FIN set)."""
        return self.send_frame(Frame(Opcode.BINARY, bytes(data)))

    def send_ping(self, data: BytesLike = b"") -> bytes:
        """Return the bytes of a Ping (at most 125 bytes of payload, §5.5)."""
        return self.send_frame(Frame(Opcode.PING, bytes(data)))

    def send_pong(self, data: BytesLike = b"") -> bytes:
        """Return the bytes of an unsolicited Pong, a one-way heartbeat (§5.5.3)."""
        return self.send_frame(Frame(Opcode.PONG, bytes(data)))

    def send_frame(self, frame: Frame) -> bytes:
        """Return the bytes of any single frame, e.g. one fragment of a message.

        Checks that fragments follow §5.4: a message starts with TEXT or BINARY,
        goes on with CONT frames and ends with FIN set; control frames may sit in
        between. Masks the frame if this side is the client.
        """
        self._check_can_send()
        if frame.opcode is Opcode.CLOSE:
            raise ValueError("use close() to send a Close frame: it also changes the state")
        if not Opcode(frame.opcode).is_control:
            if frame.opcode is Opcode.CONT and not self._sending_fragmented:
                raise ValueError("a CONT frame can only follow a TEXT or BINARY frame with FIN=0")
            if frame.opcode is not Opcode.CONT and self._sending_fragmented:
                raise ValueError("finish the fragmented message (CONT frames) before a new one")
            self._sending_fragmented = not frame.fin
        return self._serialize(frame)

    def close(self, code: Optional[int] = 1000, reason: str = "") -> bytes:
        """Start the closing handshake: return the Close frame's bytes (§5.5.1, §7.1.2).

        After this, no data may be sent; received messages still arrive until the
        peer's Close frame, which moves the connection to ``CLOSED``.
        """
        self._check_can_send()
        data = self._serialize(Frame(Opcode.CLOSE, close_payload(code, reason)))
        self.state = State.CLOSING
        return data
