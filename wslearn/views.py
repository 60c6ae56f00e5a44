"""Looking at recorded frames: tables, bit diagrams, a live view and plain words.

A running server keeps every frame it sends and receives in a
:class:`~wslearn.recording.Recorder`. This module turns those records into
things a learner can read:

* :func:`frames_table` — one row per frame, every header field of RFC 6455 §5.2
  in its own column (an HTML table in a notebook, fixed-width text elsewhere);
* :func:`bit_diagram` — the header drawn bit by bit, as the diagram of §5.2
  draws it, with the value of every field written on it;
* :class:`LiveView` — a widget that shows new frames while the server runs;
* :func:`describe_frame` — the same fields spelled out in sentences.

It only reads records; it never touches a socket. matplotlib and ipywidgets
are imported inside the functions that need them, so ``import wslearn`` stays
quick and works where neither is installed.
"""

from __future__ import annotations

import codecs
import dataclasses
import functools
import html
import io
import threading
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .frames import Close, Frame, FrameHeader, encode_frame_header, parse_frame_header
from .opcodes import Opcode
from .recording import FrameRecord, Recorder

__all__ = [
    "COLUMNS",
    "Field",
    "FramesTable",
    "LiveView",
    "bit_diagram",
    "describe_frame",
    "frames_table",
    "header_fields",
]

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

#: All three RSV bits: records may come from a connection where an extension
#: (permessage-deflate sets RSV1) was negotiated, so the views accept them.
_ANY_RSV = 0x70

FrameLike = Union[FrameRecord, FrameHeader, Frame, bytes, bytearray, memoryview]


# --------------------------------------------------------------------------
# Small helpers shared by the views
# --------------------------------------------------------------------------


def _opcode_text(opcode: int) -> str:
    """``"TEXT 0x1"``: the name a learner reads and the number on the wire."""
    try:
        name = Opcode(opcode).name
    except ValueError:
        name = "reserved"
    return f"{name} 0x{opcode:X}"


def _quote(text: str) -> str:
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


def _decode_text(data: bytes, complete: bool) -> Optional[str]:
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


def _more(n: int) -> str:
    return f"… ({n} more byte{'s' if n != 1 else ''})"


def _preview(
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
        decoded = _decode_text(data, complete=missing == 0)
        if decoded is not None:
            shown = _quote(decoded)
    if shown is None:
        shown = data.hex(" ") if data else "(empty)"
    if missing > 0:
        shown += " " + _more(missing)
    return shown


def _source_frames(source: Any) -> Tuple[List[FrameRecord], Optional[int]]:
    """Accept a list of records, a :class:`Recorder`, or anything with ``.recorder``.

    Returns the records (oldest first) and the recorder's count of dropped
    frames (``None`` when ``source`` was a plain list).
    """
    recorder = getattr(source, "recorder", source)
    if isinstance(recorder, Recorder):
        return recorder.frames(), recorder.dropped_frames
    return list(source), None


# --------------------------------------------------------------------------
# 1. The table
# --------------------------------------------------------------------------


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
    records, recorder_dropped = _source_frames(frames)
    if dropped is None:
        dropped = recorder_dropped or 0
    if columns is None:
        columns = COLUMNS
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown column(s) {unknown}; choose from {list(COLUMNS)}")

    # A CONT frame carries no type of its own: it continues the message that the
    # last TEXT or BINARY frame with FIN=0 began on the same connection and
    # direction (§5.4). Follow that through *all* frames, shown or not.
    kinds: List[int] = []
    open_message: Dict[Tuple[int, str], int] = {}
    for record in records:
        key = (record.connection, record.direction)
        kind = open_message.get(key, -1) if record.opcode == Opcode.CONT else record.opcode
        kinds.append(kind)
        if record.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
            if record.fin:
                open_message.pop(key, None)
            else:
                open_message[key] = kind

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
            "opcode": _opcode_text(r.opcode),
            "MASK": str(int(r.masked)),
            "mask key": r.mask.hex(" ") if r.mask else "",
            "length": str(r.length),
            "length case": r.length_case,
            "header": r.header.hex(" "),
            "payload": _preview(
                r.opcode,
                r.payload_preview,
                r.length,
                text=kinds[index] == Opcode.TEXT,
                max_bytes=preview_bytes,
            ),
        }
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


# --------------------------------------------------------------------------
# 2. The bit diagram
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Field:
    """One field of a frame header: where it sits and what it holds.

    ``start_bit`` counts from the first bit of the header (bit 0 is the most
    significant bit of byte 0, as in the RFC's diagram), ``n_bits`` is its width,
    ``value`` the unsigned number those bits spell, ``label`` the words drawn on it.
    """

    name: str
    start_bit: int
    n_bits: int
    value: int
    label: str

    @property
    def end_bit(self) -> int:
        """The first bit after this field."""
        return self.start_bit + self.n_bits


def _header_of(frame: FrameLike) -> FrameHeader:
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
        header = parse_frame_header(frame, allowed_rsv=_ANY_RSV)
        if header is None:
            raise ValueError(f"{len(frame)} bytes are not a whole frame header yet")
        return header
    raise TypeError(
        f"expected a FrameRecord, FrameHeader, Frame or bytes, not {type(frame).__name__}"
    )


def header_fields(frame: FrameLike) -> List[Field]:
    """The fields of a frame header in wire order, with their bit positions (§5.2).

    Always FIN, RSV1, RSV2, RSV3, opcode (4 bits), MASK, Payload len (7 bits);
    then the extended payload length (16 bits after a 126, 64 after a 127) and
    the masking key (32 bits, only when MASK=1). The widths add up to
    ``header_size * 8``.

    >>> [f.label for f in header_fields(bytes.fromhex("81 05"))][4:]
    ['opcode 0x1 TEXT', 'MASK', 'Payload len 5']
    """
    h = _header_of(frame)
    raw = h.raw
    b0, b1 = raw[0], raw[1]
    seven = b1 & 0x7F
    opcode = b0 & 0x0F
    if seven == 126:
        len_label = "Payload len 126\n→ 16-bit follows"
    elif seven == 127:
        len_label = "Payload len 127\n→ 64-bit follows"
    else:
        len_label = f"Payload len {seven}"
    fields = [
        Field("FIN", 0, 1, b0 >> 7, "FIN"),
        Field("RSV1", 1, 1, (b0 >> 6) & 1, "RSV1"),
        Field("RSV2", 2, 1, (b0 >> 5) & 1, "RSV2"),
        Field("RSV3", 3, 1, (b0 >> 4) & 1, "RSV3"),
        Field("opcode", 4, 4, opcode, f"opcode 0x{opcode:X} {Opcode(opcode).name}"),
        Field("MASK", 8, 1, b1 >> 7, "MASK"),
        Field("Payload len", 9, 7, seven, len_label),
    ]
    bit = 16
    if seven >= 126:
        n = 16 if seven == 126 else 64
        fields.append(
            Field(
                "Extended payload length",
                bit,
                n,
                h.length,
                f"extended payload length ({n}-bit) = {h.length}",
            )
        )
        bit += n
    if h.mask is not None:
        fields.append(
            Field(
                "Masking-key",
                bit,
                32,
                int.from_bytes(h.mask, "big"),
                f"masking key {h.mask.hex(' ')}",
            )
        )
    return fields


#: One colour per field; light enough for black text, distinct side by side.
_FIELD_COLOURS = {
    "FIN": "#4e79a7",
    "RSV1": "#b07aa1",
    "RSV2": "#9d7660",
    "RSV3": "#d37295",
    "opcode": "#f28e2b",
    "MASK": "#e15759",
    "Payload len": "#76b7b2",
    "Extended payload length": "#59a14f",
    "Masking-key": "#edc948",
}

#: What a field's second and later pieces say when it runs on into the next row.
_CONTINUED = {"Extended payload length": "extended payload length", "Masking-key": "masking key"}

# Layout in data units (one unit = one bit wide). Each 32-bit row is a band of
# field labels above a strip of bit cells, with the byte values underneath.
_BAND, _CELL_H, _BYTES_H, _GAP, _TOP = 1.15, 0.8, 0.5, 0.35, 0.7
_ROW_H = _BAND + _CELL_H + _BYTES_H + _GAP


@functools.lru_cache(maxsize=None)
def _diagram_figure_class() -> type:
    """A :class:`~matplotlib.figure.Figure` that shows itself as a PNG in Jupyter.

    A figure made without pyplot belongs to no backend: until something loads
    the inline backend (``%matplotlib inline`` or a pyplot call that makes a
    figure), IPython would print it as ``<Figure size … with 1 Axes>``. This
    subclass renders itself with ``_repr_png_`` in that case; where the inline
    backend is active, IPython's own figure formatter is used first.
    Built on first use so that importing this module does not import matplotlib.
    """
    from matplotlib.figure import Figure

    class BitDiagramFigure(Figure):
        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", bbox_inches="tight")
            return buffer.getvalue()

    return BitDiagramFigure


def _title(h: FrameHeader) -> str:
    name = h.opcode.name
    parts = [f"{name} frame" + ("" if h.fin else " (FIN=0: more fragments follow)")]
    parts.append(f"{h.length}-byte payload ({h.length_case} length)")
    parts.append("masked" if h.masked else "unmasked")
    return ", ".join(parts)


def bit_diagram(frame: FrameLike, *, ax: Any = None, title: Optional[str] = None) -> Any:
    """Draw a frame header bit by bit, like the diagram in RFC 6455 §5.2.

    ``frame`` is a :class:`~wslearn.recording.FrameRecord`, a
    :class:`~wslearn.frames.FrameHeader`, a :class:`~wslearn.frames.Frame`, or
    bytes that start with a frame header. Each row holds 32 bits (numbered 0–31
    on top, as in the RFC); every bit shows 0 or 1, and a coloured band over the
    bits names each field with its value (see :func:`header_fields`). Under each
    byte sits its hex value, so the picture can be matched with a hex dump.

    Returns a :class:`matplotlib.figure.Figure`. It is built without pyplot, so
    it never piles up in pyplot's list of open figures; a notebook shows it as
    the cell's value. Pass ``ax`` to draw into an existing Axes instead.
    """
    from matplotlib.patches import Rectangle

    h = _header_of(frame)
    fields = header_fields(h)
    raw = h.raw
    n_bits = len(raw) * 8
    n_rows = (n_bits + 31) // 32
    height = _TOP + n_rows * _ROW_H

    if ax is None:
        fig_h = 0.55 + 0.27 * height
        fig = _diagram_figure_class()(figsize=(10, fig_h))
        ax = fig.add_axes((0.01, 0.0, 0.98, 1 - 0.45 / fig_h))
    else:
        fig = ax.figure
    ax.set_xlim(-3.2, 32.3)
    ax.set_ylim(height, 0)
    ax.axis("off")
    ax.set_title(title if title is not None else _title(h), fontsize=11, loc="left")

    for b in range(32):
        ax.text(b + 0.5, _TOP - 0.2, str(b), ha="center", va="bottom", fontsize=6.5, color="0.35")

    def row_top(row: int) -> float:
        return _TOP + row * _ROW_H

    for row in range(n_rows):
        y = row_top(row)
        first = row * 4
        last = min(first + 4, len(raw)) - 1
        ax.text(
            -0.3,
            y + _BAND + _CELL_H / 2,
            f"bytes {first}–{last}" if last > first else f"byte {first}",
            ha="right",
            va="center",
            fontsize=7,
            color="0.35",
        )

    # The bits themselves, and each byte's value underneath.
    for i in range(n_bits):
        row, col = divmod(i, 32)
        y = row_top(row) + _BAND
        bit = (raw[i // 8] >> (7 - i % 8)) & 1
        ax.add_patch(
            Rectangle((col, y), 1, _CELL_H, facecolor="white", edgecolor="0.6", linewidth=0.6)
        )
        ax.text(
            col + 0.5,
            y + _CELL_H / 2,
            str(bit),
            ha="center",
            va="center",
            fontsize=8,
            fontweight="bold" if bit else "normal",
            color="black" if bit else "0.55",
        )
    for k, byte in enumerate(raw):
        row, col = divmod(k * 8, 32)
        y = row_top(row) + _BAND
        ax.plot([col, col], [y, y + _CELL_H], color="0.2", linewidth=1.4)
        ax.plot([col + 8, col + 8], [y, y + _CELL_H], color="0.2", linewidth=1.4)
        ax.text(
            col + 4,
            y + _CELL_H + 0.05,
            f"0x{byte:02x}",
            ha="center",
            va="top",
            fontsize=7,
            color="0.35",
        )

    # The fields: a coloured band over their bits, split where a field runs on
    # into the next row (the 64-bit length and the key often do).
    for f in fields:
        colour = _FIELD_COLOURS[f.name]
        start, end = f.start_bit, f.end_bit
        first_piece = True
        while start < end:
            row, col = divmod(start, 32)
            width = min(end - start, 32 - col)
            y = row_top(row)
            ax.add_patch(
                Rectangle(
                    (col, y + 0.05),
                    width,
                    _BAND - 0.1,
                    facecolor=colour,
                    alpha=0.35,
                    edgecolor=colour,
                    linewidth=1.0,
                )
            )
            ax.add_patch(
                Rectangle(
                    (col, y + _BAND), width, _CELL_H, facecolor=colour, alpha=0.12, edgecolor="none"
                )
            )
            label = f.label if first_piece else f"{_CONTINUED[f.name]} (continued)"
            size = 6 if width == 1 else 7.5
            ax.text(
                col + width / 2,
                y + _BAND / 2,
                label,
                ha="center",
                va="center",
                fontsize=size,
                color="black",
                linespacing=1.0,
            )
            first_piece = False
            start += width

    # Where the header ends, the payload begins (§5.2: "Payload Data").
    row, col = divmod(n_bits, 32)
    if col:
        y = row_top(row)
        ax.add_patch(
            Rectangle(
                (col, y + 0.05),
                32 - col,
                _BAND + _CELL_H - 0.05,
                facecolor="0.92",
                edgecolor="0.6",
                linestyle="--",
                linewidth=0.8,
            )
        )
        ax.text(
            col + (32 - col) / 2,
            y + (_BAND + _CELL_H) / 2,
            f"Payload Data ({h.length} bytes) …" if h.length else "no payload: the frame ends here",
            ha="center",
            va="center",
            fontsize=7.5,
            color="0.3",
            style="italic",
        )
    return fig


# --------------------------------------------------------------------------
# 3. The live view
# --------------------------------------------------------------------------


class LiveView:
    """A widget that shows a running server's frames as they arrive.

    ``source`` is a :class:`~wslearn.recording.Recorder` or a server (anything
    with ``.recorder``). The view holds a status line and a
    :func:`frames_table` of the last ``limit`` frames (its ``time (ms)`` column counts
    milliseconds from the first of the frames the recorder holds). A daemon thread checks
    ``recorder.version`` every ``interval`` seconds and redraws only when it
    changed, so an idle server costs nothing but a number comparison.

    Why a widget and not a loop of ``print``: a cell that loops blocks the
    kernel, so no other cell (the one that sends the next message) can run.
    The thread leaves the kernel free and updates the widget in place.

    The thread ends on :meth:`stop`, when the widget is closed, or when the
    source has a ``running`` attribute that becomes false (the server stopped).
    Display the view by making it a cell's value, or use :attr:`widget`.
    """

    def __init__(
        self, source: Any, *, limit: int = 20, interval: float = 0.25, start: bool = True
    ) -> None:
        import ipywidgets as widgets

        self.source = source
        self.recorder: Recorder = getattr(source, "recorder", source)
        if not isinstance(self.recorder, Recorder):
            raise TypeError("LiveView needs a Recorder or an object with a .recorder")
        self.limit = limit
        self.interval = interval
        self.status = widgets.HTML()
        self.table = widgets.HTML()
        self.widget = widgets.VBox([self.status, self.table])
        self._version: Optional[int] = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.thread: Optional[threading.Thread] = None
        if start:
            self.start()
        self.refresh()

    # -- what is shown -----------------------------------------------------

    def _status_text(self, frames: List[FrameRecord], note: str) -> str:
        connections = len({f.connection for f in frames})
        dropped = self.recorder.dropped_frames
        text = (
            f"{len(frames)} frame{'s' if len(frames) != 1 else ''} from {connections} "
            f"connection{'s' if connections != 1 else ''}, {dropped} dropped"
        )
        return text + (f" ({note})" if note else "")

    def _state(self) -> str:
        if self._stopping.is_set() or self.thread is None:
            return "not updating"
        return "live" if self.thread.is_alive() else "not updating"

    def refresh(self, note: Optional[str] = None) -> None:
        """Redraw now, from the recorder's current frames (safe from any thread)."""
        with self._lock:
            version = self.recorder.version  # read first: a change during the draw shows next time
            frames = self.recorder.frames()
            table = frames_table(frames, limit=self.limit, dropped=self.recorder.dropped_frames)
            self.table.value = table._repr_html_()
            status = self._status_text(frames, note if note is not None else self._state())
            style = "color: inherit; font-family: monospace;"
            self.status.value = f'<span style="{style}">{html.escape(status)}</span>'
            self._version = version

    # -- the thread --------------------------------------------------------

    def start(self) -> None:
        """Start the background refresh thread (done by the constructor by default)."""
        if self.thread is not None and self.thread.is_alive():
            return
        self._stopping.clear()
        self.thread = threading.Thread(target=self._run, name="wslearn-liveview", daemon=True)
        self.thread.start()

    def _should_end(self) -> Optional[str]:
        running = getattr(self.source, "running", True)
        if callable(running):  # a method rather than a flag or property
            running = running()
        if not running:
            return "server stopped"
        if getattr(self.widget, "comm", True) is None:  # ipywidgets sets comm to None on close
            return "widget closed"
        return None

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            reason = self._should_end()
            if reason:
                self._stopping.set()
                if reason != "widget closed":
                    self.refresh(note=reason)
                return
            if self.recorder.version != self._version:
                self.refresh(note="live")

    def stop(self, timeout: float = 2.0) -> None:
        """Stop updating and wait (at most ``timeout`` seconds) for the thread to end."""
        self._stopping.set()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if getattr(self.widget, "comm", None) is not None:
            self.refresh(note="stopped")

    def close(self) -> None:
        """Stop the thread and close the widget."""
        self.stop()
        self.widget.close()

    # -- display -----------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


# --------------------------------------------------------------------------
# 4. In words
# --------------------------------------------------------------------------


def describe_frame(frame: FrameLike, *, message_opcode: Optional[int] = None) -> str:
    """Spell out a frame header field by field, one line each (RFC 6455 §5.2).

    Accepts what :func:`bit_diagram` accepts. For a
    :class:`~wslearn.recording.FrameRecord` or a whole :class:`Frame` (or bytes
    holding the payload too) a last line previews the payload.

    A CONT frame (opcode 0) does not say whether its message is text or binary:
    only the message's first frame does. Pass that frame's opcode as
    ``message_opcode`` to show a continued text message's payload as text;
    without it the payload is shown as hex, with a line saying why.

    >>> print(describe_frame(bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58")))
    FIN=1: this is the last (or only) frame of the message
    RSV=000: no extension in use
    opcode=0x1: TEXT (data frame: the payload is UTF-8 text)
    MASK=1: masked with key 37 fa 21 3d (client → server)
    length=5 (7-bit case: the length fits in the 7-bit Payload len field)
    header: 6 bytes: 81 85 37 fa 21 3d
    payload: "Hello"
    """
    h = _header_of(frame)
    lines = []
    if h.fin:
        lines.append("FIN=1: this is the last (or only) frame of the message")
    else:
        lines.append("FIN=0: more frames of this message follow (§5.4 fragmentation)")

    rsv = f"{int(h.rsv1)}{int(h.rsv2)}{int(h.rsv3)}"
    if rsv == "000":
        lines.append("RSV=000: no extension in use")
    else:
        meaning = " (RSV1 is permessage-deflate's 'compressed' flag, RFC 7692)" if h.rsv1 else ""
        lines.append(
            f"RSV={rsv}: set by a negotiated extension{meaning}; without one, "
            "the peer must fail the connection (§5.2)"
        )

    kinds = {
        Opcode.CONT: "continuation frame: more of the message a TEXT or BINARY frame began",
        Opcode.TEXT: "data frame: the payload is UTF-8 text",
        Opcode.BINARY: "data frame: the payload is arbitrary bytes",
        Opcode.CLOSE: "control frame: starts or answers the closing handshake (§5.5.1)",
        Opcode.PING: "control frame: the peer must answer with a PONG (§5.5.2)",
        Opcode.PONG: "control frame: the answer to a PING (§5.5.3)",
    }
    lines.append(f"opcode=0x{int(h.opcode):X}: {h.opcode.name} ({kinds[h.opcode]})")

    direction = getattr(frame, "direction", None)
    if h.mask is not None:
        note = "client → server"
        if direction == "out":
            note = "sent by the server, which must not mask (§5.1)"
        lines.append(f"MASK=1: masked with key {h.mask.hex(' ')} ({note})")
    else:
        note = "server → client"
        if direction == "in":
            note = "sent by a client, which must mask every frame (§5.1)"
        lines.append(f"MASK=0: not masked ({note})")

    cases = {
        "7-bit": "the length fits in the 7-bit Payload len field",
        "16-bit": "Payload len says 126, the real length is in the next 2 bytes",
        "64-bit": "Payload len says 127, the real length is in the next 8 bytes",
    }
    lines.append(f"length={h.length} ({h.length_case} case: {cases[h.length_case]})")
    lines.append(f"header: {h.header_size} bytes: {h.raw.hex(' ')}")

    payload = _payload_of(frame, h)
    if payload is not None:
        text = h.opcode == Opcode.TEXT
        if h.opcode == Opcode.CONT:
            if message_opcode is None:
                lines.append(
                    "continuation: shown as hex; the first frame of the message says "
                    "whether it is text"
                )
            else:
                text = Opcode(message_opcode) == Opcode.TEXT
        lines.append(
            "payload: " + _preview(int(h.opcode), payload, h.length, text=text, max_bytes=64)
        )
    return "\n".join(lines)


def _payload_of(frame: FrameLike, h: FrameHeader) -> Optional[bytes]:
    """The (unmasked) start of the payload, when ``frame`` carries one."""
    if isinstance(frame, FrameRecord):
        return frame.payload_preview
    if isinstance(frame, Frame):
        return frame.payload
    if isinstance(frame, (bytes, bytearray, memoryview)):
        from .masking import unmask

        body = bytes(frame[h.header_size : h.header_size + h.length])
        if not body and h.length:
            return None
        return unmask(body, h.mask) if h.mask is not None else body
    return None
