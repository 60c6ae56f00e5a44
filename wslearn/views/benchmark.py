"""A recorded benchmark, drawn: threads against asyncio against websockets, as connections grow.

``python -m benchmarks.concurrency`` measures three echo servers (wslearn's threaded one,
wslearn's asyncio one, websockets' asyncio one), each in its own process, at 1 to 1000
connections, and saves what it measured; notebook 11 draws the copy the course ships with
:func:`plot_concurrency`, and the benchmark draws its own PNG with the same function.
"""

from __future__ import annotations

from typing import Any, Mapping

from .figures import new_figure

__all__ = ["plot_concurrency"]


def plot_concurrency(results: Mapping[str, Any], memory_from: int = 100) -> Any:
    """Three panels: messages/s, server CPU per message, memory per connection.

    ``results`` is what ``python -m benchmarks.concurrency`` measured: the JSON it wrote
    (``benchmarks/concurrency.json``), or the copy the course ships
    (:func:`wslearn.course_data.concurrency_benchmark`). The first two panels put the
    connections on a log scale; the third shows memory per connection from ``memory_from``
    connections up.
    Messages per second follow the machine's load; CPU time per message much less so (a busy
    machine makes a server wait, not work). Only matplotlib is used, through its object
    interface (no ``pyplot``): the figure can be saved from a script or be a notebook cell's value.
    """
    figures = results["figures"]
    figure = new_figure(figsize=(14, 4.4), layout="constrained")
    rate_axes, cpu_axes, memory_axes = figure.subplots(1, 3, width_ratios=[5, 4, 4])
    for name, by in figures.items():
        counts = sorted(by, key=int)
        rates = [by[c]["messages_per_s"] for c in counts]
        low = [rate - min(by[c]["rates"]) for rate, c in zip(rates, counts)]
        high = [max(by[c]["rates"]) - rate for rate, c in zip(rates, counts)]
        places = [int(c) for c in counts]
        rate_axes.errorbar(places, rates, yerr=[low, high], marker="o", capsize=3, label=name)
        cpu = [by[c]["server_cpu_us_per_message"] for c in counts]
        cpu_axes.plot(places, cpu, marker="o", label=name)
    for axes in (rate_axes, cpu_axes):
        axes.set_xscale("log")
        axes.set_xlabel("connections (each a closed loop of 32-byte echoes)")
        axes.grid(True, which="both", alpha=0.3)
        axes.set_ylim(bottom=0)
    rate_axes.set_ylabel("messages echoed per second")
    rate_axes.set_title("Throughput (median; bars: lowest to highest round)")
    rate_axes.legend()
    cpu_axes.set_ylabel("server CPU time per message (µs)")
    cpu_axes.set_title("Server CPU per message (median)")

    memory_counts = sorted(
        {c for by in figures.values() for c in by if int(c) >= memory_from}, key=int
    )
    width = 0.8 / max(1, len(figures))
    for index, (name, by) in enumerate(figures.items()):
        values = [by[c]["memory_per_connection_kib"] if c in by else 0.0 for c in memory_counts]
        offset = (index - (len(figures) - 1) / 2) * width
        positions = [i + offset for i in range(len(memory_counts))]
        bars = memory_axes.bar(positions, values, width, label=name)
        memory_axes.bar_label(bars, fmt="%.0f", fontsize=8)
    memory_axes.set_xticks(range(len(memory_counts)), [f"{c} connections" for c in memory_counts])
    memory_axes.set_ylabel("KiB of resident memory per connection")
    memory_axes.set_title("Memory per open connection")
    if not memory_counts:
        memory_axes.text(0.5, 0.5, f"measured from {memory_from} connections up", ha="center")
    info = results.get("machine", {})
    figure.suptitle(
        f"Echo servers on {info.get('cpus', '?')} CPUs, Python {info.get('python', '?')}, "
        f"websockets {info.get('websockets', '?')}, {str(results.get('date', ''))[:10]}",
        fontsize=10,
    )
    return figure
