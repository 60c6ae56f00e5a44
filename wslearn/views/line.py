"""The log line: one readable line per frame, as the command line prints them.

``python -m wslearn serve`` prints every frame it sees, as it sees it, with
:func:`format_frame`::

    #1 -> TEXT   fin=1 masked=1 key=37fa213d len=5 (7-bit) 'Hello'
    #1 <- TEXT   fin=1 masked=0 len=5 (7-bit) 'Hello'

Connection number, direction (``->`` from the client, ``<-`` from the server),
opcode, FIN, MASK and the key, the payload length and its case (RFC 6455 §5.2),
then the start of the payload: text for TEXT, code and reason for CLOSE, hex
otherwise; ``[redacted]`` for a secret the server did not record (a token sent as
a connection's first message, :mod:`wslearn.frame_recording`). The server imports
this module for every frame it logs, so it needs nothing but the record.
"""

from __future__ import annotations

from ..close import Close
from ..opcodes import Opcode
from ..recording import FrameRecord
from ..redaction import REDACTED

__all__ = ["format_frame"]


def format_frame(record: FrameRecord) -> str:
    """One readable line per frame, as the command line prints them."""
    arrow = "->" if record.direction == "in" else "<-"
    key = f" key={record.mask.hex()}" if record.mask is not None else ""
    preview = record.payload_preview
    # RSV1 (permessage-deflate): the payload is DEFLATE data, not yet the message's text.
    compressed = " rsv1=1 (compressed)" if record.rsv1 else ""
    if record.redacted:  # nothing of the payload was kept: only its length is shown
        shown = REDACTED
    elif record.opcode == Opcode.TEXT and not record.rsv1:
        try:
            shown = repr(preview.decode("utf-8"))
        except UnicodeDecodeError:
            shown = preview[:32].hex(" ")
    elif record.opcode == Opcode.CLOSE and not record.truncated:
        shown = Close.describe(preview)
    else:
        shown = preview[:32].hex(" ")
    if len(shown) > 60:
        shown = shown[:57] + "..."
    more = ""
    if record.truncated and not record.redacted:
        more = f" (+{record.length - len(preview)} B)"
    return (
        f"#{record.connection} {arrow} {record.opcode_name:<6} fin={int(record.fin)}{compressed} "
        f"masked={int(record.masked)}{key} len={record.length} ({record.length_case}) {shown}{more}"
    )
