"""The frames table: one row per recorded frame, one column per header field.

:func:`frames_table` lays the frames a server recorded side by side, every
header field of RFC 6455 §5.2 in its own column: FIN, the three RSV bits, the
opcode (name and hex), MASK and the masking key, the payload length with the
case that encoded it, the header's bytes in hex and the start of the payload.
In a notebook the :class:`FramesTable` shows as an HTML table (frames from the
client tinted blue, from the server green); elsewhere it prints as fixed-width
text.

With permessage-deflate (RFC 7692) a message crosses the wire compressed: RSV1 is
set on its first frame and the payload is DEFLATE data. That row shows both sizes
(``11 → 23 inflated`` in ``length``) and both contents (the wire bytes in hex, then
the inflated message) in ``payload``.
"""

from __future__ import annotations

import html
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..opcodes import Opcode
from ..recording import FrameRecord
from .sources import source_frames
from .text import opcode_text, payload_text

__all__ = ["COLUMNS", "FramesTable", "frames_table"]

#: The columns of :func:`frames_table`, in order; pass a subset as ``columns=``.
#: ``time (ms)`` counts milliseconds from the first frame given to :func:`frames_table`.
COLUMNS: Tuple[str, ...] = (
    "#",
    "time (ms)",
    "conn",
    "dir",
    "FIN",
    "RSV",
    "opcode",
    "MASK",
    "mask key",
    "length",
    "length case",
    "header",
    "payload",
)

#: Arrow and tooltip for each direction. The recorder belongs to the server, so
#: "in" is what the client sent and "out" what the server sent.
_DIRECTIONS = {
    "in": ("→ in", "client→server"),
    "out": ("← out", "server→client"),
}


class FramesTable:
    """Recorded frames as a table: HTML in a notebook, fixed-width text elsewhere.

    ``rows`` holds one ``dict`` per frame, column name → the text shown, so the
    table can be checked (or turned into a DataFrame) without parsing HTML.
    """

    def __init__(
        self,
        rows: List[Dict[str, str]],
        columns: Sequence[str],
        caption: str = "",
        titles: Optional[List[Dict[str, str]]] = None,
        directions: Optional[List[str]] = None,
    ) -> None:
        self.rows = rows
        self.columns = list(columns)
        self.caption = caption
        self._titles = titles or [{} for _ in rows]
        self._directions = directions or ["" for _ in rows]

    def __len__(self) -> int:
        return len(self.rows)

    # HTML for Jupyter. Only inline styles: notebook outputs get no stylesheet of
    # their own, and ``color: inherit`` keeps the text readable in dark themes.
    _TABLE = (
        "border-collapse: collapse; font-family: var(--jp-code-font-family, monospace); "
        "font-size: 12px; color: inherit; background: transparent; margin: 0.3em 0;"
    )
    _CELL = (
        "border: 1px solid rgba(128, 128, 128, 0.35); padding: 2px 6px; text-align: left; "
        "vertical-align: top; color: inherit; white-space: nowrap;"
    )
    _PAYLOAD = (
        "border: 1px solid rgba(128, 128, 128, 0.35); padding: 2px 6px; text-align: left; "
        "vertical-align: top; color: inherit; white-space: pre-wrap; overflow-wrap: anywhere; "
        "min-width: 16em; max-width: 40em;"
    )
    # Faint tints that show on both light and dark backgrounds.
    _ROW = {
        "in": "background: rgba(66, 133, 244, 0.10);",
        "out": "background: rgba(52, 168, 83, 0.10);",
        "": "background: transparent;",
    }

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = [f'<table style="{self._TABLE}">']
        if self.caption:
            parts.append(
                '<caption style="caption-side: top; text-align: left; color: inherit; '
                f'opacity: 0.8; padding: 2px 0;">{esc(self.caption)}</caption>'
            )
        parts.append("<thead><tr>")
        parts += [
            f'<th style="{self._CELL} font-weight: bold;">{esc(c)}</th>' for c in self.columns
        ]
        parts.append("</tr></thead><tbody>")
        for row, titles, direction in zip(self.rows, self._titles, self._directions):
            parts.append(f'<tr style="{self._ROW.get(direction, self._ROW[""])}">')
            for column in self.columns:
                style = self._PAYLOAD if column == "payload" else self._CELL
                title = titles.get(column)
                attr = f' title="{esc(title)}"' if title else ""
                parts.append(f'<td style="{style}"{attr}>{esc(row[column])}</td>')
            parts.append("</tr>")
        parts.append("</tbody></table>")
        return "".join(parts)

    def __str__(self) -> str:
        widths = {c: max([len(c)] + [len(r[c]) for r in self.rows]) for c in self.columns}
        lines = []
        if self.caption:
            lines.append(self.caption)
        lines.append("  ".join(c.ljust(widths[c]) for c in self.columns).rstrip())
        lines.append("  ".join("-" * widths[c] for c in self.columns))
        for row in self.rows:
            lines.append("  ".join(row[c].ljust(widths[c]) for c in self.columns).rstrip())
        return "\n".join(lines)

    __repr__ = __str__


def frames_table(
    frames: Any,
    *,
    limit: Optional[int] = 50,
    columns: Optional[Sequence[str]] = None,
    dropped: Optional[int] = None,
    preview_bytes: int = 32,
) -> FramesTable:
    """Tabulate recorded frames, one row per frame and one column per header field.

    ``frames`` is a list of :class:`~wslearn.recording.FrameRecord`, a
    :class:`~wslearn.recording.Recorder`, or a server (anything with a
    ``.recorder``). The last ``limit`` frames are shown (``None``: all).

    The columns follow RFC 6455 §5.2: FIN, the three RSV bits, the opcode (name
    and hex), MASK and the masking key, the payload length with the case that
    encoded it (7-bit, 16-bit after a 126, 64-bit after a 127), and the header's
    bytes in hex. ``time (ms)`` is in milliseconds since the first frame given;
    ``#`` counts frames from the first one recorded, dropped ones included, so
    numbers stay put while old frames scroll away.

    The payload column shows at most ``preview_bytes`` bytes: text for TEXT
    frames (and for the CONT frames that continue a text message, §5.4), code
    and reason for CLOSE (§5.5.1), hex otherwise.

    ``dropped`` is how many older frames the recorder had to drop; it is read
    from the Recorder when one is given.
    """
    records, recorder_dropped = source_frames(frames)
    if dropped is None:
        dropped = recorder_dropped or 0
    if columns is None:
        columns = COLUMNS
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown column(s) {unknown}; choose from {list(COLUMNS)}")

    # A CONT frame carries no type of its own: it continues the message that the
    # last TEXT or BINARY frame with FIN=0 began on the same connection and
    # direction (§5.4), compressed or not (RFC 7692 §6: RSV1 on the first frame
    # only). Follow that through *all* frames, shown or not.
    kinds: List[int] = []
    compressed: List[bool] = []
    open_message: Dict[Tuple[int, str], Tuple[int, bool]] = {}
    for record in records:
        key = (record.connection, record.direction)
        if record.opcode == Opcode.CONT:
            kind, deflated = open_message.get(key, (-1, False))
        else:
            kind, deflated = record.opcode, record.rsv1
        kinds.append(kind)
        compressed.append(deflated)
        if record.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
            if record.fin:
                open_message.pop(key, None)
            else:
                open_message[key] = (kind, deflated)

    start = 0 if limit is None else max(0, len(records) - limit)
    t0 = records[0].time if records else 0.0
    rows, titles, directions = [], [], []
    for index in range(start, len(records)):
        r = records[index]
        arrow, title = _DIRECTIONS.get(r.direction, (r.direction, ""))
        full = {
            "#": str(dropped + index + 1),
            "time (ms)": f"{(r.time - t0) * 1000:.1f}",
            "conn": str(r.connection),
            "dir": arrow,
            "FIN": str(int(r.fin)),
            "RSV": f"{int(r.rsv1)}{int(r.rsv2)}{int(r.rsv3)}",
            "opcode": opcode_text(r.opcode),
            "MASK": str(int(r.masked)),
            "mask key": r.mask.hex(" ") if r.mask else "",
            "length": str(r.length),
            "length case": r.length_case,
            "header": r.header.hex(" "),
            "payload": payload_text(
                r.opcode,
                r.payload_preview,
                r.length,
                text=kinds[index] == Opcode.TEXT and not compressed[index],
                max_bytes=preview_bytes,
            ),
        }
        if r.inflated is not None:  # the first frame of a compressed message
            full["length"], full["payload"] = _inflated_cells(
                r, full["payload"], kinds[index] == Opcode.TEXT, preview_bytes
            )
        if r.redacted:  # a secret (a token as the first message): nothing of it was kept
            full["payload"] = f"[redacted] ({r.length} bytes)"
        rows.append({c: full[c] for c in columns})
        titles.append({"dir": title} if title else {})
        directions.append(r.direction)

    notes = []
    shown = len(records) - start
    if shown < len(records):
        notes.append(f"showing the last {shown} of {len(records)} recorded frames")
    if dropped:
        notes.append(
            f"{dropped} older frame{'s were' if dropped != 1 else ' was'} dropped "
            "by the recorder (it keeps at most max_frames)"
        )
    if not records:
        notes.append("no frames recorded yet")
    caption = "; ".join(notes)
    return FramesTable(rows, columns, caption, titles, directions)


def _inflated_cells(
    record: FrameRecord, wire: str, text: bool, preview_bytes: int
) -> Tuple[str, str]:
    """``length`` and ``payload`` of a compressed message's first frame: wire, then inflated.

    The inflated message is known once its last frame came (or was sent); until then, or
    if it never came whole (it could not be inflated, or passed ``max_size``), it says so.
    """
    inflated = record.inflated
    if inflated is None or inflated.length is None:
        return f"{record.length} → ? inflated", f"{wire} ⇒ (not inflated)"
    message = payload_text(
        record.opcode, inflated.preview, inflated.length, text=text, max_bytes=preview_bytes
    )
    return f"{record.length} → {inflated.length} inflated", f"{wire} ⇒ inflated {message}"
