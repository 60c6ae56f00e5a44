"""The words and numbers the views write: opcode names, quoted text, payload previews.

Every view of a frame (the table, the bit diagram's title, the sentences of
:func:`~wslearn.views.describe.describe_frame`) shows a payload the same way: quoted
text for TEXT frames, ``code "reason"`` for CLOSE (RFC 6455 §5.5.1), hex for the
rest, and ``… (N more bytes)`` where only the start of the payload was kept.
These helpers do that once, for all of them.
"""

from __future__ import annotations

import codecs
from typing import Optional

from ..close import Close
from ..opcodes import Opcode

__all__ = ["decode_text", "more_bytes", "opcode_text", "payload_text", "quote"]


def opcode_text(opcode: int) -> str:
    """``"TEXT 0x1"``: the name a learner reads and the number on the wire."""
    try:
        name = Opcode(opcode).name
    except ValueError:
        name = "reserved"
    return f"{name} 0x{opcode:X}"


def quote(text: str) -> str:
    """Put ``text`` in double quotes, escaping what would break a one-line cell."""
    out = []
    for ch in text:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif not ch.isprintable():
            out.append(repr(ch)[1:-1])
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def decode_text(data: bytes, complete: bool) -> Optional[str]:
    """Decode UTF-8, or return ``None`` if ``data`` is not UTF-8.

    When ``data`` is only the start of a payload (``complete`` false), the cut
    may fall inside a multi-byte character; an incremental decoder keeps such
    an unfinished last character back instead of calling it an error.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        return decoder.decode(data, final=complete)
    except UnicodeDecodeError:
        return None


def more_bytes(n: int) -> str:
    """``… (3 more bytes)``: what ends a payload shown only in part."""
    return f"… ({n} more byte{'s' if n != 1 else ''})"


def payload_text(
    opcode: int, preview: bytes, length: int, *, text: bool, max_bytes: Optional[int] = None
) -> str:
    """Show a payload: quoted text, ``code "reason"`` for Close, hex for the rest.

    ``preview`` is the start of the (unmasked) payload, ``length`` the payload's
    true length; when fewer bytes are shown than the frame carried, the text
    ends with ``… (N more bytes)``.
    """
    if opcode == Opcode.CLOSE and len(preview) == length:
        return Close.describe(preview)  # at most 125 bytes (§5.5): always shown whole
    data = preview if max_bytes is None else preview[:max_bytes]
    missing = length - len(data)
    shown: Optional[str] = None
    if text or opcode == Opcode.CLOSE:
        decoded = decode_text(data, complete=missing == 0)
        if decoded is not None:
            shown = quote(decoded)
    if shown is None:
        shown = data.hex(" ") if data else "(empty)"
    if missing > 0:
        shown += " " + more_bytes(missing)
    return shown
