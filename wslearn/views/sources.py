"""What the views accept: a recorder, a server, records, headers, frames or raw bytes.

The table and the live view read a list of
:class:`~wslearn.recording.FrameRecord` from a :class:`~wslearn.recording.Recorder`
or from a server's ``.recorder``; the bit diagram and the sentences draw one
header, whatever it came as. These helpers turn each of those into what the
views need, so each view accepts the same things.
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple, Union

from ..frames import Frame, FrameHeader, encode_frame_header, parse_frame_header
from ..recording import FrameRecord, Recorder

__all__ = ["ANY_RSV", "FrameLike", "header_of", "source_frames"]


#: All three RSV bits: records may come from a connection where an extension
#: (permessage-deflate sets RSV1) was negotiated, so the views accept them.
ANY_RSV = 0x70

FrameLike = Union[FrameRecord, FrameHeader, Frame, bytes, bytearray, memoryview]


def source_frames(source: Any) -> Tuple[List[FrameRecord], Optional[int]]:
    """Accept a list of records, a :class:`Recorder`, or anything with ``.recorder``.

    Returns the records (oldest first) and the recorder's count of dropped
    frames (``None`` when ``source`` was a plain list).
    """
    recorder = getattr(source, "recorder", source)
    if isinstance(recorder, Recorder):
        return recorder.frames(), recorder.dropped_frames
    return list(source), None


def header_of(frame: FrameLike) -> FrameHeader:
    """The header of any of the things the views accept, as it was (or will be) on the wire.

    A recorded frame brings the header its reader kept; bytes are parsed with
    :func:`~wslearn.frames.parse_frame_header`, so a header drawn or described here
    is exactly what the parser saw.
    """
    if isinstance(frame, FrameRecord):
        return frame.frame_header()
    if isinstance(frame, FrameHeader):
        if frame.raw:
            return frame
        # A header written out by hand: give it the bytes its fields stand for.
        raw = encode_frame_header(
            frame.opcode,
            frame.length,
            fin=frame.fin,
            rsv1=frame.rsv1,
            rsv2=frame.rsv2,
            rsv3=frame.rsv3,
            mask=frame.mask,
        )
        return frame._replace(raw=raw, header_size=len(raw))
    if isinstance(frame, Frame):
        # A frame built in Python and not sent yet is drawn as a server would send it.
        return frame.header if frame.header is not None else frame.wire_header()
    if isinstance(frame, (bytes, bytearray, memoryview)):
        header = parse_frame_header(frame, allowed_rsv=ANY_RSV)
        if header is None:
            raise ValueError(f"{len(frame)} bytes are not a whole frame header yet")
        return header
    raise TypeError(
        f"expected a FrameRecord, FrameHeader, Frame or bytes, not {type(frame).__name__}"
    )
