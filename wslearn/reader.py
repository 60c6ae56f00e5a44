"""An incremental frame reader: bytes in, whole frames out, whatever the chunking.

TCP delivers a *stream* of bytes, not messages. One ``recv()`` may return half a
frame header, or ten frames and the start of an eleventh; a 70 000-byte frame sent
by a browser typically arrives in two reads. Code that treats one ``recv(1024)``
as one frame works in a demo and breaks on the first large or quick message.

:class:`FrameReader` keeps what it was fed in a buffer and hands out a frame only
once all of its bytes are there::

    reader = FrameReader()
    reader.feed(chunk)            # any number of bytes, from any recv()
    for frame in reader:          # zero, one or many whole frames
        ...

It checks the announced payload length against ``max_size`` as soon as the
header is complete, *before* buffering the payload, so a peer that announces a
huge frame is refused at once (close code 1009) instead of filling memory.
"""

from __future__ import annotations

from typing import Iterator, Optional

from .bytes_like import BytesLike
from .errors import ProtocolError
from .frames import Frame, FrameHeader, parse_frame_header
from .masking import unmask, unmask_in_place
from .opcodes import CloseCode

__all__ = ["FrameReader"]

#: From this many payload bytes on, the reader unmasks a payload in place, in its own buffer.
IN_PLACE_FROM = 1024


class FrameReader:
    """Turn a byte stream fed in arbitrary chunks into whole :class:`Frame` objects.

    ``max_size`` limits a data message's payload (``None``: no limit): one frame's
    payload, or, for a message in fragments, all of them together (see
    :meth:`next_frame`). ``expect_masked`` enforces the masking rule of RFC 6455
    §5.1 (``True``: every frame must be masked, as a server requires; ``False``: none
    may be, as a client requires; ``None``: don't check). ``allowed_rsv`` is a bit
    mask of the RSV bits a negotiated extension gives a meaning. ``keep_wire`` keeps
    that many payload bytes of each frame as they arrived, still masked, in
    :attr:`Frame.wire_preview` (a recorder shows them).
    """

    def __init__(
        self,
        max_size: Optional[int] = None,
        *,
        expect_masked: Optional[bool] = None,
        allowed_rsv: int = 0,
        keep_wire: int = 0,
    ) -> None:
        self.max_size = max_size
        self.expect_masked = expect_masked
        self.allowed_rsv = allowed_rsv
        self.keep_wire = keep_wire
        self._buffer = bytearray()
        self._pos = 0  # bytes of _buffer already handed out as frames
        self._header: Optional[FrameHeader] = None  # parsed header of the frame at _pos

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a returned frame."""
        return len(self._buffer) - self._pos

    def feed(self, data: BytesLike) -> None:
        """Add bytes exactly as they came from the network."""
        self._buffer += data

    @property
    def pending_header(self) -> Optional[FrameHeader]:
        """The header of a frame whose payload is still arriving (None if there is none)."""
        return self._header

    def payload_so_far(self, offset: int = 0) -> bytes:
        """The payload of the frame still arriving, unmasked, from ``offset`` to what came.

        A text frame can be checked while it arrives (RFC 6455 §8.1): a connection reads
        from the offset it reached last time, so no byte is unmasked twice here.
        """
        header = self._header
        if header is None:
            return b""
        start = self._pos + header.header_size
        part = bytes(self._buffer[start + offset : start + header.length])
        if header.mask is None:
            return part
        turn = offset % 4  # the key goes on where the previous part stopped (§5.3)
        return unmask(part, header.mask[turn:] + header.mask[:turn])

    def next_frame(self, received: int = 0) -> Optional[Frame]:
        """Return the next whole frame, or ``None`` if its bytes haven't all arrived.

        ``received`` is how many bytes of the current message came in earlier
        fragments: ``max_size`` limits ``received`` plus this frame's payload.

        Raises :class:`~wslearn.errors.ProtocolError` with the close code the
        connection must use: 1002 for a broken header, 1009 for a message over
        ``max_size``, as soon as the header says so (before the payload arrives).
        """
        buf, pos = self._buffer, self._pos
        header = self._header
        if header is None:
            header = parse_frame_header(buf, pos, allowed_rsv=self.allowed_rsv)
            if header is None:
                return None
            self._check(header, received)
            # Kept while the payload arrives, so a long payload's header is read once.
            self._header = header
        start = pos + header.header_size
        end = start + header.length
        if len(buf) < end:
            return None
        self._header = None
        if header.length < IN_PLACE_FROM:
            # A short payload: copying it out, then unmasking the copy, is quickest.
            wire = bytes(buf[start:end])
            payload = wire if header.mask is None else unmask(wire, header.mask)
        else:
            # A long one is unmasked where it lies, in our own buffer, then copied out once.
            with memoryview(buf) as view, view[start:end] as in_buffer:
                wire = bytes(in_buffer[: self.keep_wire])
                if header.mask is not None:
                    unmask_in_place(in_buffer, header.mask)
                payload = bytes(in_buffer)
        frame = Frame(
            header.opcode,
            payload,
            header.fin,
            header.rsv1,
            header.rsv2,
            header.rsv3,
            header,
            wire[: self.keep_wire],
        )
        if end == len(buf):
            buf.clear()
            self._pos = 0
        else:
            self._pos = end
            if end > 65536 and end * 2 > len(buf):  # drop what was read, now and then
                del buf[:end]
                self._pos = 0
        return frame

    def _check(self, header: FrameHeader, received: int) -> None:
        """Apply the rules that depend on this reader's settings, before the payload arrives."""
        if self.expect_masked is not None and header.masked != self.expect_masked:
            if self.expect_masked:
                raise ProtocolError(
                    "unmasked frame from a client: every client-to-server frame must be "
                    "masked (RFC 6455 §5.1)"
                )
            raise ProtocolError(
                "masked frame from a server: a server must not mask its frames (RFC 6455 §5.1)"
            )
        if (
            self.max_size is not None
            and not header.opcode.is_control
            and received + header.length > self.max_size
        ):
            if received:
                what = (
                    f"a fragment of {header.length} bytes would bring the message to "
                    f"{received + header.length} bytes"
                )
            else:
                what = f"frame announces {header.length} payload bytes"
            raise ProtocolError(
                f"{what}, over the limit of {self.max_size} (refused before reading the payload)",
                code=CloseCode.MESSAGE_TOO_BIG,
            )

    def __iter__(self) -> Iterator[Frame]:
        """Yield every frame that is complete in the buffer."""
        while True:
            frame = self.next_frame()
            if frame is None:
                return
            yield frame
