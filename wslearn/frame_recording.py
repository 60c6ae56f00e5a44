"""The glue between a live connection and its recording: each frame, as it crosses, a record.

A :class:`~wslearn.connection.Connection` calls its frame observer with every frame it reads
or sends; :class:`FrameRecording` is the server's observer. It numbers the bytes in each
direction, so a record says where in the stream its frame started (laid over the
``recv()`` sizes of :class:`~wslearn.recording.ConnectionRecord`), notes a compressed
message once it is whole (:class:`~wslearn.recording.InflatedMessage`), and hands each
:class:`~wslearn.recording.FrameRecord` to the server, which keeps it and logs it.

**A secret first message.** A handler that reads a credential from each connection's first
message (:func:`wslearn.auth.first_message_auth`) says so with ``secret_first_message =
True``; the server then asks for ``secret_first_message=True`` here. Every frame of the
first data message that comes in is recorded without its payload: both previews (and the
inflated one, if it was compressed) are left empty and the record is marked ``redacted``,
while its header and lengths stay exact. The record is made redacted, not blanked later: the
token is never in the recorder, nor in the log line made from the record (``[redacted]``),
as :mod:`wslearn.redaction` does for a handshake's cookies and query tokens.

No sockets or threads here: it is called from the connection's threads, with bytes in hand.
:func:`wait_for_frames` is how a notebook cell waits for a browser: it polls a recorder.
"""

from __future__ import annotations

import time
from typing import Callable, Dict, List, Optional, Union

from .deadline import Deadline
from .frames import Frame
from .opcodes import Opcode
from .recording import FrameRecord, InflatedMessage, Recorder

__all__ = ["FrameRecording", "wait_for_frames"]


class FrameRecording:
    """Turns each frame that crosses the wire into a record, laid over the byte stream.

    A connection's frame observer: it numbers the bytes in each direction, so a record says
    where in the stream its frame started, and hands each record to ``on_frame``.
    ``secret_first_message``: the first incoming data message is recorded redacted (see
    the module's docstring).
    """

    def __init__(
        self,
        connection_id: int,
        on_frame: Callable[[FrameRecord], None],
        preview_bytes: int,
        *,
        secret_first_message: bool = False,
    ) -> None:
        self.connection_id = connection_id
        self.on_frame = on_frame
        self.preview_bytes = preview_bytes
        self.offsets = {"in": 0, "out": 0}  # bytes seen so far in each direction
        # Per direction: the compressed message whose frames are crossing now, if any.
        self.compressed: Dict[str, Optional[InflatedMessage]] = {"in": None, "out": None}
        #: True until the first incoming data message starts: that one is secret.
        self.secret_ahead = secret_first_message
        #: True while the frames of that secret message are crossing (until its FIN).
        self.redacting = False

    def __call__(self, direction: str, frame: Frame) -> None:
        assert frame.header is not None
        offset = self.offsets[direction]
        self.offsets[direction] += frame.header.header_size + frame.header.length
        starts = frame.opcode in (Opcode.TEXT, Opcode.BINARY)  # a message's first frame
        if direction == "in" and starts and self.secret_ahead:
            self.secret_ahead, self.redacting = False, True
        # Its frames: the first and its continuations (a Ping may come between them).
        redacted = direction == "in" and self.redacting and not frame.opcode.is_control
        preview_bytes = 0 if redacted else self.preview_bytes
        if starts:  # RFC 7692 §6: RSV1 here says "compressed"; the message is noted once whole
            self.compressed[direction] = InflatedMessage(preview_bytes) if frame.rsv1 else None
        if redacted and frame.fin:
            self.redacting = False
        self.on_frame(
            FrameRecord.from_frame(
                frame,
                time=time.time(),
                connection=self.connection_id,
                direction=direction,
                stream_offset=offset,
                preview_bytes=preview_bytes,
                inflated=self.compressed[direction] if starts else None,
                redacted=redacted,
            )
        )

    def message(self, direction: str, message: Union[str, bytes]) -> None:
        """A whole message went ``direction`` (a Text or Binary event, or what was sent): if
        it crossed compressed, the record of its first frame gets it, inflated."""
        inflated = self.compressed[direction]
        if inflated is not None:
            self.compressed[direction] = None
            inflated.fill(message)


def wait_for_frames(
    recorder: Recorder,
    count: int = 1,
    timeout: float = 5.0,
    *,
    direction: Optional[str] = "in",
    connection: Optional[int] = None,
) -> List[FrameRecord]:
    """Wait until ``recorder`` holds ``count`` frames (at most ``timeout`` s); return them.

    A notebook cell that waits for a browser uses this: it reads the server's own
    recording, and returns what it has when time is up.
    """
    deadline = Deadline(timeout)
    while True:
        frames = recorder.frames(connection=connection, direction=direction)
        if len(frames) >= count or deadline.expired:
            return frames
        time.sleep(0.02)
