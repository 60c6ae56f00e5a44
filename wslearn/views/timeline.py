"""Timelines of the live experiments: keepalive with a silent peer, a slow reader's bytes.

:func:`plot_keepalive` draws a :class:`~wslearn.experiments.keepalive.KeepaliveRun`: one
row for the server, one for the client, a mark for every Ping, Pong and message, the
stretch where the client was silent, and the moment the server gave up on it.

:func:`plot_backlog` draws a :class:`~wslearn.experiments.backpressure.BackpressureRun`:
above, where the unread bytes waited over time (the server's memory, its kernel, the
client's kernel) against ``write_limit``; below, what the handler handed to ``send()``
and what the client read, whose slopes are the two paces.

Both only read the runs' plain data. Like :func:`~wslearn.views.bits.bit_diagram`, they
build the figure without pyplot (it never piles up in pyplot's list of open figures) and
return it; a notebook shows it as the cell's value. matplotlib is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Tuple

from .figures import new_figure

if TYPE_CHECKING:
    from ..experiments.backpressure import BackpressureRun
    from ..experiments.keepalive import KeepaliveRun

__all__ = ["plot_backlog", "plot_keepalive"]

#: How each kind of event is drawn on the keepalive timeline: marker and colour.
STYLES: Dict[str, Tuple[str, str]] = {
    "PING": ("v", "tab:blue"),
    "PONG": ("^", "tab:green"),
    "TEXT": ("s", "0.45"),
    "CLOSE": ("X", "tab:red"),
    "silent": ("o", "tab:orange"),
    "closed": ("x", "tab:red"),
    "EOF": ("|", "tab:red"),
}
ROWS = {"server": 1.0, "client": 0.0}


def plot_keepalive(run: "KeepaliveRun") -> Any:
    """Draw a keepalive run: each side's events in time, the silence, and the close.

    One marker per event (legend: one entry per kind of event, server and client); the
    silent stretch is shaded from ``silent_at`` to the close, and the close is a red
    line labelled with its code and reason. Returns the Figure.
    """
    fig = new_figure(figsize=(10, 3.2))
    ax = fig.add_axes((0.08, 0.2, 0.7, 0.62))
    for side, y in ROWS.items():
        kinds: Dict[str, List[float]] = {}
        for event in run.events:
            if event.side == side:
                kinds.setdefault(event.what, []).append(event.time)
        for what, times in kinds.items():
            marker, colour = STYLES.get(what, ("o", "0.3"))
            ax.plot(
                times,
                [y] * len(times),
                linestyle="none",
                marker=marker,
                color=colour,
                markersize=9,
                label=f"{side}: {what}",
            )
    end = run.closed_at if run.closed_at is not None else max(e.time for e in run.events)
    ax.axvspan(run.silent_at, end, color="tab:orange", alpha=0.12, label="client silent")
    if run.closed_at is not None:
        ax.axvline(run.closed_at, color="tab:red", linewidth=1.2)
        ax.annotate(
            f"{run.close_code} {run.close_reason}",
            (run.closed_at, 0.5),
            xytext=(-6, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            fontsize=8,
            color="tab:red",
        )
    ax.set_yticks(list(ROWS.values()), list(ROWS))
    ax.set_ylim(-0.6, 1.6)
    ax.set_xlabel("seconds after the connection opened")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(
        f"keepalive: ping_interval={run.ping_interval:g} s, ping_timeout="
        f"{run.ping_timeout:g} s, the peer goes silent",
        fontsize=10,
        loc="left",
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    return fig


def plot_backlog(run: "BackpressureRun") -> Any:
    """Draw a slow-reader run: where the unread bytes waited, and the two paces.

    Above: the server's memory (its outbox), the server's kernel send buffer and the
    client's kernel receive buffer, one point per sample, with ``write_limit`` dashed.
    Below: bytes handed to ``send()`` and bytes read, cumulative. The moment the client
    stopped reading and the close (code and reason) are marked on both. Returns the Figure.
    """
    fig = new_figure(figsize=(10, 5.2))
    top = fig.add_axes((0.09, 0.55, 0.66, 0.36))
    bottom = fig.add_axes((0.09, 0.1, 0.66, 0.36), sharex=top)
    times = [s.time for s in run.samples]
    kib = 1 / 1024
    queues = [
        ("server memory (outbox)", [s.backlog for s in run.samples], "tab:red"),
        ("server kernel (SIOCOUTQ)", [s.server_queue for s in run.samples], "tab:blue"),
        ("client kernel (SIOCINQ)", [s.client_queue for s in run.samples], "tab:green"),
    ]
    for label, values, colour in queues:
        points = [(t, v * kib) for t, v in zip(times, values) if v is not None]
        top.plot(
            [t for t, _ in points],
            [v for _, v in points],
            marker=".",
            markersize=3,
            linewidth=1,
            color=colour,
            label=label,
        )
    top.axhline(
        run.write_limit * kib,
        color="tab:red",
        linestyle="--",
        linewidth=0.8,
        label=f"write_limit ({run.write_limit} B)",
    )
    top.set_ylabel("KiB waiting")
    bottom.plot(
        times, [s.handed * kib for s in run.samples], color="tab:purple", label="handed to send()"
    )
    bottom.plot(
        times,
        [s.read * kib for s in run.samples],
        color="tab:green",
        label=f"read by the client ({run.read_rate * kib:g} KiB/s)",
    )
    bottom.set_ylabel("KiB so far")
    bottom.set_xlabel("seconds after the first send")
    marks = [(run.stops_reading_at, "reader stops", "tab:orange")]
    marks.append((run.closed_at, f"close {run.close_code}", "0.2"))
    for when, text, colour in marks:
        if when is None:
            continue
        for ax in (top, bottom):
            ax.axvline(when, color=colour, linewidth=1)
        top.annotate(text, (when, 1.0), xycoords=("data", "axes fraction"), xytext=(3, 2),
                     textcoords="offset points", fontsize=8, color=colour)  # fmt: skip
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False)
    mode = "sends wait" if run.waits else "sends never wait (timeout=0)"
    top.set_title(
        f"slow reader: {run.message_size} B messages, {mode}, write_timeout="
        f"{run.write_timeout:g} s",
        fontsize=10,
        loc="left",
    )
    return fig
