"""The experiments' timelines draw what the runs hold: a point per event or sample, labelled.

The runs here are made by hand (no network), so every count below is known in advance.
"""

from __future__ import annotations

from typing import List, Optional

import matplotlib
import pytest

from wslearn.experiments import BackpressureRun, KeepaliveRun, Sample, TimelineEvent
from wslearn.views.timeline import plot_backlog, plot_keepalive

matplotlib.use("Agg")


def keepalive_run(closed_at: Optional[float] = 2.1) -> KeepaliveRun:
    events = [
        TimelineEvent(0.0, "client", "TEXT", "sent 'hello'"),
        TimelineEvent(0.0, "server", "TEXT", "received b'hello'"),
        TimelineEvent(0.5, "server", "PING", "sent b'keepalive'"),
        TimelineEvent(0.5, "client", "PONG", "answered Ping 1"),
        TimelineEvent(0.5, "server", "PONG", "received b'keepalive'"),
        TimelineEvent(0.6, "client", "silent", "stops reading and answering"),
        TimelineEvent(1.1, "server", "PING", "sent b'keepalive'"),
    ]
    if closed_at is not None:
        events.append(TimelineEvent(closed_at, "server", "CLOSE", "sent 1011"))
    return KeepaliveRun(
        ping_interval=0.5, ping_timeout=0.5, pings=[0.5, 1.1], pongs=[0.5], silent_at=0.6,
        closed_at=closed_at, close_code=1011 if closed_at else None,
        close_reason="keepalive: no Pong within 0.5 s" if closed_at else "",
        client_saw=[], client_eof=True, events=events, frames=[],
    )  # fmt: skip


def labels(ax) -> List[str]:
    return ax.get_legend_handles_labels()[1]


def test_plot_keepalive_draws_one_marker_per_event_with_a_label_per_kind() -> None:
    run = keepalive_run()
    fig = plot_keepalive(run)
    ax = fig.axes[0]
    assert labels(ax) == [
        "server: TEXT", "server: PING", "server: PONG", "server: CLOSE",
        "client: TEXT", "client: PONG", "client: silent", "client silent",
    ]  # fmt: skip
    points = {line.get_label(): list(line.get_xdata()) for line in ax.lines}
    assert points["server: PING"] == [0.5, 1.1]
    assert sum(len(x) for label, x in points.items() if ":" in label) == len(run.events)
    texts = [text.get_text() for text in ax.texts]
    assert texts == ["1011 keepalive: no Pong within 0.5 s"]
    assert "ping_interval=0.5 s" in ax.get_title(loc="left")
    assert fig._repr_png_().startswith(b"\x89PNG")


def test_plot_keepalive_without_a_close_draws_no_close_line() -> None:
    ax = plot_keepalive(keepalive_run(closed_at=None)).axes[0]
    assert not ax.texts
    assert "server: CLOSE" not in labels(ax)


def backpressure_run(n: int, stops: Optional[float], closed_at: Optional[float]) -> BackpressureRun:
    samples = [
        Sample(time=i * 0.1, handed=20000 * (i + 1), sent=20000 * i,
               server_queue=None if i == 0 else 30000, client_queue=5000, read=9000 * i)
        for i in range(n)
    ]  # fmt: skip
    return BackpressureRun(
        message_size=16384, read_rate=262144, write_limit=32768, write_timeout=1.0,
        receive_buffer=8192, send_buffer=16384, stops_reading_at=stops, waits=True,
        samples=samples, send_waits=[0.05] * n, messages_sent=n, closed_at=closed_at,
        close_code=1008 if closed_at else None, close_reason="",
    )  # fmt: skip


@pytest.mark.parametrize("n", [1, 7])
def test_plot_backlog_draws_a_point_per_sample_on_each_curve(n: int) -> None:
    run = backpressure_run(n, stops=0.3, closed_at=0.55)
    fig = plot_backlog(run)
    top, bottom = fig.axes
    assert labels(top) == [
        "server memory (outbox)", "server kernel (SIOCOUTQ)", "client kernel (SIOCINQ)",
        "write_limit (32768 B)",
    ]  # fmt: skip
    curves = {line.get_label(): line for line in top.lines}
    assert len(curves["client kernel (SIOCINQ)"].get_xdata()) == n
    # The first sample did not know the server's queue: it is left out, not drawn as 0.
    assert len(curves["server kernel (SIOCOUTQ)"].get_xdata()) == n - 1
    assert len(curves["server memory (outbox)"].get_xdata()) == n - 1
    assert list(curves["write_limit (32768 B)"].get_ydata()) == [32.0, 32.0]
    assert labels(bottom) == ["handed to send()", "read by the client (256 KiB/s)"]
    assert all(len(line.get_xdata()) == n for line in bottom.lines if line.get_label()[0] != "_")
    assert [t.get_text() for t in top.texts] == ["reader stops", "close 1008"]
    assert "sends wait" in top.get_title(loc="left")


def test_plot_backlog_marks_nothing_when_the_reader_neither_stopped_nor_was_closed() -> None:
    top, _ = plot_backlog(backpressure_run(3, stops=None, closed_at=None)).axes
    assert not top.texts
