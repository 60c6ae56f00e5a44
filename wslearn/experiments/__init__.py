"""Live experiments: what happens to a WebSocket when its peer misbehaves, measured.

Each runs a real :func:`wslearn.serve` server in this process against a client on a bare
socket (:class:`~wslearn.experiments.peer.RawPeer`) over 127.0.0.1, for a few seconds,
and returns plain data that a notebook prints or draws (:mod:`wslearn.views.timeline`):

* :mod:`~wslearn.experiments.keepalive` — :func:`silent_peer`: a peer that stops
  answering; the server's Pings, the missing Pong, and the close (1011);
* :mod:`~wslearn.experiments.backpressure` — :func:`slow_reader`: a peer that reads
  slower than the server writes, or stops reading; where the bytes wait, and the close
  (1008) when it reads nothing for ``write_timeout`` seconds.

Both end by themselves within a bound, and leave no thread or socket behind.
"""

from __future__ import annotations

from .backpressure import BackpressureRun, Sample, slow_reader
from .keepalive import KeepaliveRun, TimelineEvent, silent_peer

__all__ = [
    "BackpressureRun",
    "KeepaliveRun",
    "Sample",
    "TimelineEvent",
    "silent_peer",
    "slow_reader",
]
