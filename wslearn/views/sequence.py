"""The life of one connection, drawn: from TCP connect to TCP close (a sequence diagram).

A server's :class:`~wslearn.recording.Recorder` keeps, for each connection, a
:class:`~wslearn.recording.ConnectionRecord` (the request, the status answered, and when each
step came: the accept, the request, the answer, each side's FIN, the socket's close) and a
:class:`~wslearn.recording.FrameRecord` per frame.
:func:`connection_events` puts them in one list, in order, as the two peers lived them:

1. **TCP connect** (the client's SYN; the time is when the server accepted it);
2. **the request**, ``GET / Upgrade: websocket`` (RFC 6455 §4.1), client to server;
3. **the answer**: ``101 Switching Protocols`` (§4.2.2), or the refusal (``426``, ``403`` ...);
4. **every frame**, in (client to server) and out: data frames with their length and the
   start of their text, Ping and Pong (§5.5.2-3), Close with its code (§5.5.1);
5. **TCP FIN**, each side's: the server closes TCP first once the closing handshake is done
   (§7.1.1), and the client answers with its own; the client's comes first if it left
   without a Close frame (then the code is 1006, §7.1.5).

:func:`sequence_diagram` draws that list: two lifelines, client and server, and one arrow
per event, top to bottom, evenly spaced so each label can be read. Times are written in the
margin, in milliseconds after the TCP connect. A long connection keeps its first and last
frames and says how many were left out between them.

**Times.** The server's recorder notes each of them: the accept, when the request was whole,
when the answer left, each frame, when the server sent its FIN and when the client's came
(a ``recv()`` that gave b""). A record made by other code may lack the request's and the
answer's: those events are then placed in order, at the earliest time they can have had
(the accept), marked ``inferred``, and drawn dashed. Without either FIN's time, one FIN is
drawn, at the time the server's socket closed (a little after the FIN), from the side that
closed first.

Pure functions of the records, like the other views; matplotlib is imported on first use.
"""

from __future__ import annotations

import dataclasses
import http
from typing import Any, List, Optional, Sequence, Tuple, Union

from ..close import Close
from ..opcodes import CloseCode, Opcode
from ..recording import ConnectionRecord, FrameRecord, Recorder
from .figures import new_figure
from .text import quote

__all__ = ["SequenceEvent", "connection_events", "elide", "sequence_diagram"]

#: Characters of a frame's text shown on its arrow (the label says how long the payload is).
PREVIEW_CHARACTERS = 24
#: Request headers worth a place on the request's arrow, in this order (§4.1).
KEY_HEADERS = (
    "Upgrade",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
)
#: The two lifelines, left to right.
COLUMNS = {"client": 0.0, "server": 1.0}
#: Where the times are written: left of the client's lifeline.
TIME_X = -0.12
#: How far down (in rows) an arrow's head is from its tail: a message takes time to cross.
SLOPE = 0.3


@dataclasses.dataclass(frozen=True)
class SequenceEvent:
    """One event of a connection's life: who sent what, and when.

    ``kind`` is ``"connect"``, ``"request"``, ``"response"``, ``"frame"``, ``"fin"`` (TCP
    close) or ``"elided"`` (frames left out of a drawing, see :func:`elide`). ``sender`` is
    ``"client"`` or ``"server"`` (``""`` for ``"elided"``). ``time`` is wall-clock time,
    like the recorder's; ``inferred`` says it was not recorded: the event is in its place,
    at the earliest time it can have had. ``frame`` is the record of a ``"frame"`` event,
    ``count`` the number of frames an ``"elided"`` event stands for.
    """

    kind: str
    sender: str
    label: str
    time: float
    inferred: bool = False
    frame: Optional[FrameRecord] = None
    count: int = 0

    @property
    def receiver(self) -> str:
        return {"client": "server", "server": "client"}.get(self.sender, "")


Source = Any  # a Server, a Recorder, or a ServerConnection (anything with .recorder / .record)


def _resolve(
    source: Source, connection: Union[int, ConnectionRecord, None]
) -> Tuple[Recorder, ConnectionRecord]:
    """The recorder behind ``source`` and the record of the connection asked for.

    ``connection`` ``None``: the connection ``source`` is, if it is one; else the first
    connection kept that has frames; else the first connection kept.
    """
    record = getattr(source, "record", None)
    if isinstance(record, ConnectionRecord):  # a ServerConnection: its server, itself
        source = source.server
        connection = record.id if connection is None else connection
    recorder = getattr(source, "recorder", source)
    if not isinstance(recorder, Recorder):
        raise TypeError(f"expected a Server, a Recorder or a ServerConnection, not {source!r}")
    if isinstance(connection, ConnectionRecord):
        connection = connection.id
    if connection is not None:
        return recorder, recorder.connection(connection)  # KeyError: never seen, or dropped
    records = recorder.connections()
    if not records:
        raise ValueError("no connection recorded yet")
    with_frames = {f.connection for f in recorder.frames()}
    return recorder, next((r for r in records if r.id in with_frames), records[0])


def request_label(record: ConnectionRecord) -> str:
    """``GET / Upgrade: websocket, Sec-WebSocket-Version: 13``: the request line's method and
    target, then the headers that make it a WebSocket handshake (§4.1)."""
    first_line = record.request_raw.split(b"\r\n", 1)[0].decode("latin-1")
    words = first_line.split(" ")
    label = " ".join(words[:2]) if len(words) >= 2 else "(unreadable request)"
    headers = [
        f"{name}: {record.request_headers.get(name)}"
        for name in KEY_HEADERS
        if record.request_headers.get(name) is not None
    ]
    return label + (" " + ", ".join(headers) if headers else "")


def response_label(record: ConnectionRecord) -> str:
    """``101 Switching Protocols``, ``426 Upgrade Required`` ...: the status and its phrase."""
    status = record.status
    try:
        phrase = http.HTTPStatus(status).phrase if status is not None else ""
    except ValueError:
        phrase = ""
    label = f"{status} {phrase}".strip()
    if status == 101 and record.deflate is not None:
        label += " (permessage-deflate)"
    return label


def frame_label(frame: FrameRecord) -> str:
    """``TEXT 5 B "Hello"``, ``PING``, ``CLOSE 1000 "bye"``: what a learner needs of a frame."""
    try:
        name = Opcode(frame.opcode).name
    except ValueError:
        name = f"opcode 0x{frame.opcode:X}"
    preview = frame.payload_preview
    if frame.opcode == Opcode.CLOSE:
        whole = len(preview) == frame.length
        return "CLOSE " + (Close.describe(preview) if whole else f"{frame.length} B")
    if frame.opcode in (Opcode.PING, Opcode.PONG) and frame.length == 0:
        return name
    label = f"{name} {frame.length} B"
    if frame.redacted:
        label += " [redacted]"
    elif frame.compressed:
        label += " (compressed)"
    elif frame.opcode == Opcode.TEXT or (frame.opcode == Opcode.CONT and preview):
        text = preview.decode("utf-8", "replace")
        cut = len(text) > PREVIEW_CHARACTERS or len(preview) < frame.length
        label += " " + quote(text[:PREVIEW_CHARACTERS]) + ("…" if cut else "")
    if not frame.fin:
        label += " (not FIN)"
    return label


def _client_closed_first(record: ConnectionRecord) -> bool:
    """Did the client end TCP first? Yes if it left without a closing handshake (§7.1.5)."""
    if record.status is None:  # it left (or went quiet) before its request was whole
        return "closed during the handshake" in record.error
    return record.status == 101 and record.close_code == CloseCode.ABNORMAL_CLOSURE


def connection_events(
    source: Source, connection: Union[int, ConnectionRecord, None] = None
) -> List[SequenceEvent]:
    """The life of one connection, in order: TCP connect, request, answer, frames, TCP FINs.

    ``source`` is a server, its recorder, or a connection of it; ``connection`` a connection
    id (or record), by default the first connection kept that has frames (else the first
    one kept). Events the records cannot show are left out: no request if none came (or
    none came whole and none was judged), no FIN that was not seen. Frames come in the order
    the recorder got them; if the oldest were dropped (a full recorder), an ``"elided"``
    event says so.
    """
    recorder, record = _resolve(source, connection)
    frames = recorder.frames(connection=record.id)
    opened = record.opened
    events = [SequenceEvent("connect", "client", "TCP connect", opened)]
    if record.request_raw or record.request_at is not None:  # a head, even one refused as bad
        events.append(_timed("request", "client", request_label(record), record.request_at, opened))
    if record.status is not None:
        events.append(
            _timed("response", "server", response_label(record), record.answered_at, opened)
        )
    if frames and min(f.stream_offset for f in frames) > 0:
        # The recorder dropped this connection's first frames (its store is bounded).
        events.append(
            SequenceEvent("elided", "", "… earlier frames not kept …", frames[0].time, True)
        )
    for frame in frames:
        sender = "client" if frame.direction == "in" else "server"
        events.append(SequenceEvent("frame", sender, frame_label(frame), frame.time, frame=frame))
    return events + _fins(record)


def _timed(
    kind: str, sender: str, label: str, at: Optional[float], earliest: float
) -> SequenceEvent:
    """An event at ``at``, or, if that time was not recorded, ``inferred`` at ``earliest``."""
    if at is None:
        return SequenceEvent(kind, sender, label, earliest, inferred=True)
    return SequenceEvent(kind, sender, label, at)


def _fins(record: ConnectionRecord) -> List[SequenceEvent]:
    """Each side's FIN whose time was recorded, in order; else one, when the socket closed."""
    sides = [(record.fin_sent, "server"), (record.peer_fin, "client")]
    fins = sorted((when, sender) for when, sender in sides if when is not None)
    if not fins and record.closed is not None:  # a record without them
        fins = [(record.closed, "client" if _client_closed_first(record) else "server")]
    return [SequenceEvent("fin", sender, "TCP FIN", when) for when, sender in fins]


def elide(events: Sequence[SequenceEvent], max_frames: int) -> List[SequenceEvent]:
    """Keep at most ``max_frames`` frame events: the first half and the last, and between
    them one ``"elided"`` event (``… 120 frames …``) that counts the others."""
    frame_rows = [i for i, event in enumerate(events) if event.kind == "frame"]
    if len(frame_rows) <= max_frames:
        return list(events)
    head = max_frames - max_frames // 2
    first_out = frame_rows[head]
    last_out = frame_rows[len(frame_rows) - (max_frames - head) - 1]
    left_out = len(frame_rows) - max_frames
    gap = SequenceEvent(
        "elided", "", f"… {left_out} frames …", events[first_out].time, count=left_out
    )
    return list(events[:first_out]) + [gap] + list(events[last_out + 1 :])


def _colour(event: SequenceEvent) -> str:
    """Handshake purple, data blue, Ping/Pong green, Close red, TCP grey."""
    if event.kind in ("request", "response"):
        refused = event.kind == "response" and not event.label.startswith("101")
        return "tab:red" if refused else "tab:purple"
    if event.frame is None:
        return "0.35"
    opcode = event.frame.opcode
    if opcode == Opcode.CLOSE:
        return "tab:red"
    if opcode in (Opcode.PING, Opcode.PONG):
        return "tab:green"
    return "tab:blue"


def _clip(label: str, limit: int = 60) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def sequence_diagram(
    source: Source,
    connection: Union[int, ConnectionRecord, None] = None,
    *,
    max_frames: int = 40,
    title: Optional[str] = None,
) -> Any:
    """Draw one connection's life (:func:`connection_events`) as a sequence diagram.

    Two lifelines, client left and server right; one arrow per event, top to bottom, each
    a little sloped (a message takes time to cross) and labelled; at the left, the time in
    ms after the TCP connect. Events whose time was not recorded are dashed, their time
    written ``(not recorded)``. Past ``max_frames`` frames, the middle ones are left out
    (:func:`elide`). Returns the matplotlib Figure.
    """
    recorder, record = _resolve(source, connection)
    events = connection_events(recorder, record)
    shown = elide(events, max_frames)
    start = events[0].time
    rows = len(shown)
    figure = new_figure(figsize=(8.0, 0.5 * rows + 1.3))
    axes = figure.add_axes((0.01, 0.01, 0.98, 0.9))
    for name, x in COLUMNS.items():
        axes.plot([x, x], [-0.5, rows], color="0.8", zorder=0)
        axes.text(x, -0.8, name, ha="center", weight="bold")
    axes.text(TIME_X, -0.8, "ms", ha="right", color="0.4", fontsize=8)
    for row, event in enumerate(shown):
        if event.kind == "elided":
            axes.plot([-0.05, 1.05], [row + SLOPE / 2] * 2, color="0.6", linestyle=":")
            axes.text(0.5, row + SLOPE / 2 - 0.1, event.label, ha="center", color="0.4",
                      fontsize=8, style="italic")  # fmt: skip
            continue
        x1, x2 = COLUMNS[event.sender], COLUMNS[event.receiver]
        colour = _colour(event)
        style = "--" if event.inferred else "-"
        arrow = {"arrowstyle": "->", "color": colour, "linestyle": style, "shrinkA": 0}
        axes.annotate("", xy=(x2, row + SLOPE), xytext=(x1, row), arrowprops=arrow)
        axes.text(0.5, row + SLOPE / 2 - 0.12, _clip(event.label), ha="center", va="bottom",
                  fontsize=7.5, color=colour)  # fmt: skip
        when = "(not recorded)" if event.inferred else f"{(event.time - start) * 1000:.2f}"
        axes.text(TIME_X, row + 0.05, when, ha="right", va="center", fontsize=7, color="0.4")
    if any(event.inferred for event in shown):
        axes.text(0.5, rows + 0.1, "dashed: a time the recorder does not keep (drawn in order)",
                  ha="center", va="top", fontsize=7, color="0.4")  # fmt: skip
    axes.set_ylim(rows + 0.6, -1.2)
    axes.set_xlim(-0.45, 1.25)
    axes.axis("off")
    if title is None:
        frames = sum(1 for e in events if e.kind == "frame")
        title = f"connection #{record.id} from {record.peer}: status {record.status}, "
        title += f"{frames} frames"
    figure.suptitle(title, fontsize=10)
    return figure
