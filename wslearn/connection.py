"""A WebSocket connection without I/O: feed it bytes, get events; ask it to send, collect bytes.

:class:`Connection` holds everything RFC 6455 says about an *open* connection
(after the handshake), for either role:

* it reassembles fragmented messages (§5.4), with control frames allowed in
  between fragments;
* it checks that text is UTF-8, fragment by fragment, and fails at the first
  bad byte (§8.1, close code 1007);
* it enforces a maximum message size (close code 1009) — 1 MiB by default;
* it enforces the masking rule of its role (§5.1, close code 1002);
* it answers each Ping with a Pong carrying the same bytes (§5.5.2, §5.5.3);
* it runs the closing handshake (§5.5.1, §7) and refuses anything after it;
* with permessage-deflate (RFC 7692), it compresses what it sends, inflates what it receives.

It never touches a socket. Bytes go in through one door and out through one door:
the caller passes what it read to :meth:`Connection.receive_data`, and writes out
whatever :meth:`Connection.data_to_send` returns — the messages it asked for with
the ``send_*`` methods and the Pongs and Close replies the connection made by
itself, all in the order they were made. That is how the live server, the tests
and a notebook cell can all drive the very same code.

    >>> server = Connection("server")
    >>> server.receive_data(bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58"))
    [Text(data='Hello')]
    >>> server.send_text("Hello")
    >>> server.data_to_send().hex(" ")
    '81 05 48 65 6c 6c 6f'
"""

from __future__ import annotations

import codecs
import enum
import io
import os
from typing import Callable, List, Optional

from .bytes_like import BytesLike
from .close import Close
from .errors import ConnectionClosed, LocalProtocolError, ProtocolError
from .events import Binary, Event, Failed, Ping, Pong, Text
from .frames import RSV1, Frame
from .opcodes import CloseCode, Opcode
from .permessage_deflate import PerMessageDeflate
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
]

#: 1 MiB: enough for any lesson, small enough that one peer can't exhaust memory.
DEFAULT_MAX_SIZE = 2**20

#: Empty fragments one message may hold: they count nothing against ``max_size``.
MAX_EMPTY_FRAGMENTS = 1000


class State(enum.Enum):
    """Where a connection is in its life (RFC 6455 §4, §7)."""

    OPEN = "open"  #: messages flow both ways
    CLOSING = "closing"  #: we sent a Close frame and wait for the peer's
    CLOSED = "closed"  #: both Close frames exchanged, or the connection failed


def _random_mask() -> bytes:
    # §5.3: the key must be unpredictable, so it comes from a strong source of entropy.
    return os.urandom(4)


class Connection:
    """One side of an open WebSocket connection, as a small state machine.

    ``role`` is ``"server"`` (incoming frames must be masked, outgoing are not) or
    ``"client"`` (the other way round). ``max_size`` limits the size of one whole
    message in bytes (``None`` for no limit); it can be changed at any time. ``mask_key``
    makes the 4-byte keys of a client's frames (a fresh random one per frame unless a
    test fixes it). ``frame_observer``, if given, is called as
    ``frame_observer(direction, frame)`` for every frame received (``"in"``) or sent
    (``"out"``), with ``frame.header`` as it was on the wire and up to ``keep_wire``
    payload bytes as they crossed it in ``frame.wire_preview``: that is how the live
    server records traffic.

    ``deflate`` (a :class:`~wslearn.permessage_deflate.PerMessageDeflate` for this role) turns
    on the permessage-deflate the handshake negotiated: :meth:`send_text` and :meth:`send_binary`
    compress, ``max_size`` limits the inflated message; the observer sees the wire's frames.
    """

    def __init__(
        self,
        role: str = "server",
        *,
        max_size: Optional[int] = DEFAULT_MAX_SIZE,
        mask_key: Callable[[], bytes] = _random_mask,
        frame_observer: Optional[Callable[[str, Frame], None]] = None,
        keep_wire: int = 0,
        deflate: Optional[PerMessageDeflate] = None,
    ) -> None:
        if role not in ("server", "client"):
            raise ValueError("role is 'server' or 'client'")
        if deflate is not None and deflate.role != role:
            raise ValueError(f"a {role}'s connection needs a PerMessageDeflate({role!r})")
        self.role = role
        self.state = State.OPEN
        #: What the peer's Close frame said (or 1006 if TCP ended first), once it came.
        self.close_code: Optional[int] = None
        self.close_reason: str = ""
        self._mask_key = mask_key
        self._observer = frame_observer
        self._keep_wire = keep_wire
        self._deflate = deflate
        self._reader = FrameReader(max_size, expect_masked=(role == "server"), keep_wire=keep_wire)
        if deflate is not None:  # RFC 7692 §6: it gives RSV1 a meaning; else RSV1 is an error
            self._reader.allowed_rsv = RSV1
        self._outgoing: List[bytes] = []  # the one queue of bytes to send, in order
        # The message being assembled from fragments (§5.4).
        self._opcode: Optional[Opcode] = None
        self._data = bytearray()  # a binary message's fragments so far
        self._text = io.StringIO()  # a text message's fragments so far, decoded
        self._size = 0  # the message's bytes so far (inflated, if it was compressed)
        self._empty_fragments = 0
        self._decoder: Optional[codecs.IncrementalDecoder] = None
        # The UTF-8 of a text frame still arriving, checked as it comes (see _check_text_so_far).
        self._checker: Optional[codecs.IncrementalDecoder] = None
        self._checked = 0
        # Outgoing fragmentation: are we in the middle of a message we send?
        self._sending_fragmented = False

    @property
    def max_size(self) -> Optional[int]:
        """The largest message accepted, in bytes (``None``: no limit); the reader applies it."""
        return self._reader.max_size

    @max_size.setter
    def max_size(self, value: Optional[int]) -> None:
        self._reader.max_size = value

    # ------------------------------------------------------------------ receiving

    def receive_data(self, data: BytesLike) -> List[Event]:
        """Feed bytes from the peer; return the events they complete, in order.

        Bytes that arrive after the connection is closed are ignored (§1.4: after
        the Close frames, no more data is processed).
        """
        self.feed_data(data)
        events: List[Event] = []
        while (event := self.next_event()) is not None:
            events.append(event)
        return events

    def feed_data(self, data: BytesLike) -> None:
        """Feed bytes from the peer, without reading them yet: :meth:`next_event` does.

        With the two apart, a server can answer each message before the next frame is
        even looked at: its answer then leaves before whatever that frame makes the
        connection send (a Close, or a Close for a protocol error).
        """
        if self.state is not State.CLOSED:
            self._reader.feed(data)

    @property
    def buffered(self) -> int:
        """Bytes fed but not yet read into events (part of a frame still arriving, or more)."""
        return self._reader.buffered

    def next_event(self) -> Optional[Event]:
        """The next event in the bytes fed so far, or None if they hold no more."""
        events: List[Event] = []  # one at most: each frame makes one event, or none
        try:
            while not events and self.state is not State.CLOSED:
                # The limit covers the whole message: pass what its earlier fragments used.
                frame = self._reader.next_frame(received=self._size)
                if frame is None:
                    self._check_text_so_far()
                    break
                self._checker, self._checked = None, 0
                if self._observer is not None:
                    self._observer("in", frame)
                self._handle(frame, events)
        except ProtocolError as error:
            self._fail(error, events)
        return events[0] if events else None

    def _check_text_so_far(self) -> None:
        """Check the UTF-8 of a text frame whose payload is still arriving (§8.1).

        Without this, invalid text would be found only once its whole frame had come:
        a peer could make us wait for, and buffer, up to ``max_size`` bytes of it. So the
        part that came is checked now, from where the previous check stopped, with a
        decoder that starts where the message's own decoder stands (a character may be
        split between fragments).
        """
        header = self._reader.pending_header
        if header is None:
            return
        if header.rsv1 or (self._deflate is not None and self._deflate.inflating):
            return  # compressed: its bytes are not text until inflated, once the frame is whole
        if header.opcode is not Opcode.TEXT and (
            header.opcode is not Opcode.CONT or self._decoder is None
        ):
            return  # not text
        part = self._reader.payload_so_far(self._checked)
        if not part:
            return
        if self._checker is None:
            self._checker = codecs.getincrementaldecoder("utf-8")()
            if self._decoder is not None:
                self._checker.setstate(self._decoder.getstate())
        try:
            self._checker.decode(part)
        except UnicodeDecodeError as error:
            raise _not_utf8(error) from None
        self._checked += len(part)

    def receive_eof(self) -> List[Event]:
        """Tell the connection the peer closed TCP; reports 1006 unless already closed (§7.1.5)."""
        if self.state is State.CLOSED:
            return []
        self.state = State.CLOSED
        self.close_code = int(CloseCode.ABNORMAL_CLOSURE)
        return [Close(self.close_code)]

    def data_to_send(self) -> bytes:
        """Every byte waiting to be sent, in order; empties the queue.

        Messages from ``send_*`` and :meth:`close`, and the Pongs and Close replies
        the connection made by itself, leave here and nowhere else.
        """
        data = b"".join(self._outgoing)
        self._outgoing.clear()
        return data

    def _handle(self, frame: Frame, events: List[Event]) -> None:
        opcode = frame.opcode
        if frame.rsv1 and opcode.is_control:  # (with permessage-deflate: else the reader refuses)
            raise ProtocolError(f"RSV1 set on a {opcode.name} frame (RFC 7692 §6.1)")
        if opcode is Opcode.PING:
            events.append(Ping(frame.payload))
            if self.state is State.OPEN:
                self._send(Frame(Opcode.PONG, frame.payload))  # §5.5.3: the same bytes back
        elif opcode is Opcode.PONG:
            events.append(Pong(frame.payload))
        elif opcode is Opcode.CLOSE:
            close = Close.parse(frame.payload)
            self.close_code, self.close_reason = close.code, close.reason
            if self.state is State.OPEN:
                # §5.5.1: answer with a Close frame, typically echoing the code. We echo
                # the reason too, so the peer's close event shows what it sent.
                self._send(Frame(Opcode.CLOSE, frame.payload))
            self.state = State.CLOSED
            events.append(close)
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
            if frame.fin:  # a whole message in one frame, the usual case: no assembly
                events.append(self._message(frame.opcode, self._payload(frame)))
                return
            self._opcode = frame.opcode
            if frame.opcode is Opcode.TEXT:
                self._decoder = codecs.getincrementaldecoder("utf-8")()
        payload = self._payload(frame)  # inflated, if compressed
        if not payload and not frame.fin:
            # Empty fragments cost nothing against max_size, so a message made of them
            # could go on forever: it may hold only so many.
            self._empty_fragments += 1
            if self._empty_fragments > MAX_EMPTY_FRAGMENTS:
                raise ProtocolError(
                    f"more than {MAX_EMPTY_FRAGMENTS} empty fragments in one message: "
                    "a message must come to an end",
                    code=CloseCode.POLICY_VIOLATION,
                )
        self._size += len(payload)
        # The pieces go into one growing buffer, not one object per fragment: a message of
        # a million 1-byte fragments costs a million bytes, not a million objects.
        if self._decoder is not None:
            try:
                # The decoder keeps an incomplete character for the next fragment
                # and raises at the first byte that can never become valid UTF-8.
                self._text.write(self._decoder.decode(payload, final=frame.fin))
            except UnicodeDecodeError as error:
                raise _not_utf8(error) from None
        else:
            self._data += payload
        if frame.fin:
            if self._decoder is not None:
                events.append(Text(self._text.getvalue()))
            else:
                events.append(Binary(bytes(self._data)))
            self._opcode = None
            self._decoder = None
            self._data = bytearray()
            self._text = io.StringIO()
            self._size = 0
            self._empty_fragments = 0

    def _payload(self, frame: Frame) -> bytes:
        """The frame's share of its message: its payload, inflated if the message is compressed."""
        if self._deflate is None:
            return frame.payload
        left = None if self.max_size is None else self.max_size - self._size  # inflate no more
        return self._deflate.inflate_frame(frame, max_length=left)

    @staticmethod
    def _message(opcode: Opcode, payload: bytes) -> Event:
        """The event for a message that came whole, in one frame."""
        if opcode is Opcode.TEXT:
            try:
                return Text(payload.decode("utf-8"))
            except UnicodeDecodeError as error:
                raise _not_utf8(error) from None
        return Binary(payload)

    def _fail(self, error: ProtocolError, events: List[Event]) -> None:
        """_Fail the WebSocket Connection_ (§7.1.7): send Close with the error's code, stop."""
        if self.state is State.OPEN:
            reason = error.message.encode("utf-8")[:123].decode("utf-8", "ignore")
            self._send(Frame(Opcode.CLOSE, Close(error.code, reason).serialize()))
        self.state = State.CLOSED
        self.close_code = error.code
        events.append(Failed(error.code, error.message))

    # ------------------------------------------------------------------ sending

    def _send(self, frame: Frame) -> None:
        """Queue ``frame`` for :meth:`data_to_send`, masked with a fresh key by a client.

        Raises :class:`~wslearn.errors.LocalProtocolError` if the frame may not be sent
        (:meth:`Frame.check`), before anything is queued.
        """
        mask = self._mask_key() if self.role == "client" else None
        header, payload = frame.to_wire(mask)  # the header is made here, once
        self._outgoing += (header.raw, payload)
        if self._observer is not None:
            # What was sent: the same frame, with its header and first wire bytes.
            sent = Frame(
                frame.opcode,
                frame.payload,
                frame.fin,
                frame.rsv1,
                frame.rsv2,
                frame.rsv3,
                header,
                payload[: self._keep_wire],
            )
            self._observer("out", sent)

    def _check_can_send(self) -> None:
        if self.state is not State.OPEN:
            raise ConnectionClosed(
                f"the connection is {self.state.value}: "
                "no more messages may be sent (RFC 6455 §5.5.1)"
            )

    def send_text(self, text: str) -> None:
        """Send a text message (one frame, FIN set; compressed if permessage-deflate is on)."""
        self._send_message(Opcode.TEXT, text.encode("utf-8"))

    def send_binary(self, data: BytesLike) -> None:
        """Send a binary message (one frame, FIN set; compressed if permessage-deflate is on)."""
        self._send_message(Opcode.BINARY, bytes(data))

    def _send_message(self, opcode: Opcode, data: bytes) -> None:
        frame = Frame(opcode, data)
        if self._deflate is not None:
            # Checked first: a message compressed must be sent, or the peer's window lacks it.
            self._check_can_send()
            self._check_order(frame)
            # RFC 7692 §6: RSV1 on the first (here the only) frame says "compressed".
            frame = Frame(opcode, self._deflate.compress(data), rsv1=True)
        self.send_frame(frame)

    def send_ping(self, data: BytesLike = b"") -> None:
        """Send a Ping (at most 125 bytes of payload, §5.5)."""
        self.send_frame(Frame(Opcode.PING, bytes(data)))

    def send_pong(self, data: BytesLike = b"") -> None:
        """Send an unsolicited Pong, a one-way heartbeat (§5.5.3)."""
        self.send_frame(Frame(Opcode.PONG, bytes(data)))

    def send_frame(self, frame: Frame) -> None:
        """Send any single frame, e.g. one fragment of a message.

        Checks that fragments follow §5.4: a message starts with TEXT or BINARY,
        goes on with CONT frames and ends with FIN set; control frames may sit in
        between. Raises :class:`~wslearn.errors.LocalProtocolError` if not.
        """
        self._check_can_send()
        if frame.opcode == Opcode.CLOSE:
            raise LocalProtocolError("use close() to send a Close frame: it changes the state")
        sending_fragmented = self._check_order(frame)
        self._send(frame)  # checks the frame itself: a bad one is our mistake, not the peer's
        self._sending_fragmented = sending_fragmented

    def _check_order(self, frame: Frame) -> bool:
        """Check ``frame`` may come next (§5.4); return whether a message is unfinished after it."""
        if frame.opcode not in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):  # a control frame
            return self._sending_fragmented
        if frame.opcode == Opcode.CONT and not self._sending_fragmented:
            raise LocalProtocolError(
                "a CONT frame can only follow a TEXT or BINARY frame with FIN=0 (RFC 6455 §5.4)"
            )
        if frame.opcode != Opcode.CONT and self._sending_fragmented:
            raise LocalProtocolError(
                "finish the fragmented message (CONT frames) before a new one (RFC 6455 §5.4)"
            )
        return not frame.fin

    def close(self, code: Optional[int] = CloseCode.NORMAL_CLOSURE, reason: str = "") -> None:
        """Start the closing handshake: send a Close frame (§5.5.1, §7.1.2).

        ``code=None`` sends a Close with no code at all. After this, no data may be sent;
        received messages still arrive until the peer's Close frame, which moves the
        connection to ``CLOSED``.
        """
        self._check_can_send()
        if code is None:
            code = CloseCode.NO_STATUS_RCVD  # reported as 1005, sent as an empty payload
        self._send(Frame(Opcode.CLOSE, Close(code, reason).serialize()))
        self.state = State.CLOSING


def _not_utf8(error: UnicodeDecodeError) -> ProtocolError:
    return ProtocolError(
        f"text message is not valid UTF-8 ({error.reason}) (RFC 6455 §8.1)",
        code=CloseCode.INVALID_DATA,
    )
