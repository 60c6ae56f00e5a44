"""The bit diagram: a frame header drawn bit by bit, as RFC 6455 §5.2 draws it.

The RFC pictures a frame header as rows of 32 bits, each field a box over its
bits: FIN, RSV1–3, the opcode, MASK, the 7-bit Payload len, then the extended
payload length and the masking key when the frame has them.
:func:`bit_diagram` draws a real header that way, with every bit's 0 or 1, each
field's value written on it and each byte's hex value underneath, so the
picture can be matched with a hex dump. :func:`header_fields` gives the same
fields as data (:class:`Field`: name, first bit, width, value, label).

RSV1 set means a compressed message with permessage-deflate (RFC 7692 §6): the
title says so, and for a recorded frame the payload box gives both sizes, the
DEFLATE bytes on the wire and the message they inflate to.

matplotlib is imported inside :func:`bit_diagram`, on first use.
"""

from __future__ import annotations

import dataclasses
from typing import Any, List, Optional

from ..frames import FrameHeader
from ..opcodes import Opcode
from ..recording import FrameRecord
from .figures import new_figure
from .sources import FrameLike, header_of

__all__ = ["Field", "bit_diagram", "header_fields"]


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


def header_fields(frame: FrameLike) -> List[Field]:
    """The fields of a frame header in wire order, with their bit positions (§5.2).

    Always FIN, RSV1, RSV2, RSV3, opcode (4 bits), MASK, Payload len (7 bits);
    then the extended payload length (16 bits after a 126, 64 after a 127) and
    the masking key (32 bits, only when MASK=1). The widths add up to
    ``header_size * 8``.

    >>> [f.label for f in header_fields(bytes.fromhex("81 05"))][4:]
    ['opcode 0x1 TEXT', 'MASK', 'Payload len 5']
    """
    h = header_of(frame)
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


def _title(h: FrameHeader) -> str:
    name = h.opcode.name
    parts = [f"{name} frame" + ("" if h.fin else " (FIN=0: more fragments follow)")]
    parts.append(f"{h.length}-byte payload ({h.length_case} length)")
    parts.append("masked" if h.masked else "unmasked")
    if h.rsv1 and not h.opcode.is_control:
        parts.append("RSV1: compressed (permessage-deflate)")
    return ", ".join(parts)


def inflated_length(frame: FrameLike) -> Optional[int]:
    """The inflated message's length, for a recorded first frame of a compressed message."""
    if isinstance(frame, FrameRecord) and frame.inflated is not None:
        return frame.inflated.length
    return None


def _row_top(row: int) -> float:
    """Where the 32-bit row number ``row`` starts, from the top of the drawing."""
    return _TOP + row * _ROW_H


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
    h = header_of(frame)
    n_rows = (len(h.raw) * 8 + 31) // 32
    height = _TOP + n_rows * _ROW_H

    if ax is None:
        fig_h = 0.55 + 0.27 * height
        fig = new_figure(figsize=(10, fig_h))
        ax = fig.add_axes((0.01, 0.0, 0.98, 1 - 0.45 / fig_h))
    else:
        fig = ax.figure
    ax.set_xlim(-3.2, 32.3)
    ax.set_ylim(height, 0)
    ax.axis("off")
    ax.set_title(title if title is not None else _title(h), fontsize=11, loc="left")

    _draw_rulers(ax, h.raw)
    _draw_bits(ax, h.raw)
    _draw_fields(ax, header_fields(h))
    _draw_payload_start(ax, h, inflated_length(frame))
    return fig


def _draw_rulers(ax: Any, raw: bytes) -> None:
    """The bit numbers 0–31 on top, and which bytes each row holds on the left."""
    for b in range(32):
        ax.text(b + 0.5, _TOP - 0.2, str(b), ha="center", va="bottom", fontsize=6.5, color="0.35")
    for row in range((len(raw) * 8 + 31) // 32):
        y = _row_top(row)
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


def _draw_bits(ax: Any, raw: bytes) -> None:
    """The bits themselves (a 1 in bold), and each byte's value underneath."""
    from matplotlib.patches import Rectangle

    for i in range(len(raw) * 8):
        row, col = divmod(i, 32)
        y = _row_top(row) + _BAND
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
        y = _row_top(row) + _BAND
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


def _draw_fields(ax: Any, fields: List[Field]) -> None:
    """A coloured band over each field's bits, with its label.

    The band is split where a field runs on into the next row (the 64-bit
    length and the key often do); the later pieces say "(continued)".
    """
    from matplotlib.patches import Rectangle

    for f in fields:
        colour = _FIELD_COLOURS[f.name]
        start, end = f.start_bit, f.end_bit
        first_piece = True
        while start < end:
            row, col = divmod(start, 32)
            width = min(end - start, 32 - col)
            y = _row_top(row)
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


def _payload_label(h: FrameHeader, inflated: Optional[int]) -> str:
    """What the payload box says: its size, and for a compressed message both sizes."""
    if not h.length:
        return "no payload: the frame ends here"
    if inflated is not None:
        return f"Payload Data ({h.length} bytes compressed → {inflated} inflated) …"
    if h.rsv1 and not h.opcode.is_control:
        return f"Payload Data ({h.length} bytes, compressed) …"
    return f"Payload Data ({h.length} bytes) …"


def _draw_payload_start(ax: Any, h: FrameHeader, inflated: Optional[int] = None) -> None:
    """Where the header ends, the payload begins (§5.2: "Payload Data")."""
    from matplotlib.patches import Rectangle

    row, col = divmod(len(h.raw) * 8, 32)
    if not col:
        return  # the header fills its last row: nothing to draw beside it
    y = _row_top(row)
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
        _payload_label(h, inflated),
        ha="center",
        va="center",
        fontsize=7.5,
        color="0.3",
        style="italic",
    )
