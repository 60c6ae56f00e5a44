"""The data the course ships: what a real Chromium sent to ``wslearn.serve()``.

On Binder or JupyterHub the browser's frames reach the kernel through a proxy
that re-sends them, so a learner there never sees a browser's own bytes. The
course therefore ships one recording of a browser talking directly:
``wslearn/data/chromium_frames.json``, written by
``tests/helpers/capture_browser_frames.py``. It holds

* ``about``, ``browser``, ``user_agent``, ``captured``: what the file is, which browser, when;
* ``request``: the handshake as the server recorded it (already redacted);
* ``messages``: the eight messages the page sent, in words;
* ``frames``: each frame's header bytes, masking key, fields,
  the first 64 payload bytes as they crossed the wire (masked) and unmasked,
  and where the frame started in the byte stream;
* ``reads``: the sizes of the server's ``recv()`` results;
* the closing handshake: ``close_event``, ``server_close_frame_hex``, ...

Notebooks and checks load it with :func:`chromium_capture`, never by building
the path themselves, and :func:`records_from_capture` turns its frames into the
recorder's :class:`~wslearn.recording.FrameRecord` objects, so the views show
them exactly like frames recorded live.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List

from .frames import FrameHeader, parse_frame_header
from .recording import FrameRecord

__all__ = ["CHROMIUM_CAPTURE", "CHROMIUM_CAPTURE_DEFLATE", "chromium_capture"]
__all__ += ["records_from_capture"]

#: Frames a real Chromium sent to ``wslearn.serve()`` (``tests/helpers/capture_browser_frames.py``).
CHROMIUM_CAPTURE = Path(__file__).parent / "data" / "chromium_frames.json"
#: The same messages, sent to ``wslearn.serve(compression="deflate")``: permessage-deflate on.
CHROMIUM_CAPTURE_DEFLATE = Path(__file__).parent / "data" / "chromium_frames_deflate.json"


def chromium_capture(compressed: bool = False) -> Dict[str, Any]:
    """The shipped Chromium capture: browser, redacted handshake, recv sizes, every frame.

    ``compressed``: the capture with permessage-deflate agreed, whose frames also hold RSV1,
    their whole (compressed) payload and what each message inflated to, and which holds the
    server's answer to the offer (``extensions_answer``).
    """
    path = CHROMIUM_CAPTURE_DEFLATE if compressed else CHROMIUM_CAPTURE
    return json.loads(path.read_text(encoding="utf-8"))


def records_from_capture(capture: Dict[str, Any]) -> List[FrameRecord]:
    """The capture's inbound frames as :class:`FrameRecord` objects, for the views.

    The capture keeps no clock and one connection, so every record has ``time=0.0``
    and ``connection=1``; a browser masks every frame and sets no RSV bit.
    """
    return [
        FrameRecord(
            time=0.0,
            connection=1,
            direction="in",
            head=_parsed_header(f["header_hex"]),
            wire_preview=bytes.fromhex(f["wire_preview_hex"]),
            payload_preview=bytes.fromhex(f["payload_preview_hex"]),
            stream_offset=f["stream_offset"],
        )
        for f in capture["frames"]
    ]


def _parsed_header(header_hex: str) -> FrameHeader:
    """A saved header's bytes, parsed: the record keeps the header as the reader made it."""
    header = parse_frame_header(bytes.fromhex(header_hex))
    if header is None:
        raise ValueError(f"not a whole frame header: {header_hex}")
    return header
