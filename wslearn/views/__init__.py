"""Looking at recorded frames: tables, bit diagrams, a live view, plain words and log lines.

A running server keeps every frame it sends and receives in a
:class:`~wslearn.recording.Recorder`. This package turns those records into
things a learner can read, one module per view:

* :mod:`~wslearn.views.table` — :func:`frames_table`: one row per frame, every
  header field of RFC 6455 §5.2 in its own column (an HTML table in a notebook,
  fixed-width text elsewhere);
* :mod:`~wslearn.views.bits` — :func:`bit_diagram`: the header drawn bit by bit,
  as the diagram of §5.2 draws it, with the value of every field written on it;
* :mod:`~wslearn.views.live` — :class:`LiveView`: a widget that shows new frames
  while the server runs;
* :mod:`~wslearn.views.describe` — :func:`describe_frame`: the same fields
  spelled out in sentences;
* :mod:`~wslearn.views.line` — :func:`format_frame`: one line per frame, the
  command line's log.

They share :mod:`~wslearn.views.sources` (what a view accepts: records, a
recorder, a server, a header, a frame or bytes) and :mod:`~wslearn.views.text`
(opcode names, quoted text, payload previews).

The views only read records; they never touch a socket. Each module is imported
the first time one of its names is asked for (``wslearn.views.frames_table``
imports :mod:`~wslearn.views.table`), so the server, which only needs its log
line, never loads the others. matplotlib, ipywidgets and IPython are imported
inside the functions that need them, so the package works where none of them
is installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names

if TYPE_CHECKING:  # what the names are, for type checkers; at run time see __getattr__
    from .benchmark import plot_concurrency
    from .bits import Field, bit_diagram, header_fields
    from .describe import describe_frame
    from .flow import plot_flow
    from .line import format_frame
    from .live import LiveView
    from .sequence import SequenceEvent, connection_events, sequence_diagram
    from .table import COLUMNS, FramesTable, frames_table
    from .timeline import plot_backlog, plot_keepalive

#: Which module of this package defines each public name.
_HOMES = {
    "COLUMNS": "table",
    "FramesTable": "table",
    "frames_table": "table",
    "Field": "bits",
    "bit_diagram": "bits",
    "header_fields": "bits",
    "LiveView": "live",
    "describe_frame": "describe",
    "format_frame": "line",
    "plot_backlog": "timeline",
    "plot_concurrency": "benchmark",
    "plot_flow": "flow",
    "plot_keepalive": "timeline",
    "SequenceEvent": "sequence",
    "connection_events": "sequence",
    "sequence_diagram": "sequence",
}

__all__ = [
    "SequenceEvent",
    "connection_events",
    "sequence_diagram",
    "COLUMNS",
    "Field",
    "FramesTable",
    "LiveView",
    "bit_diagram",
    "describe_frame",
    "format_frame",
    "frames_table",
    "plot_backlog",
    "plot_concurrency",
    "plot_flow",
    "plot_keepalive",
    "header_fields",
]


__getattr__, __dir__ = lazy_names(__name__, _HOMES, globals())
