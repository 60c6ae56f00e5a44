"""What every benchmark shares: how long to measure, medians, timing, tables, the machine.

Each benchmark module (``unmask``, ``parse``, ``echo``, ``memory``) takes a
:class:`Settings`, measures, and prints its result with :func:`table`; the runner
(``run.py``) prints :func:`machine` first, so every table can be read with the
machine, the versions and the load it was measured under.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import numpy as np
import websockets
import wsproto

try:  # websockets picks its C speed-up like this (websockets/frames.py)
    from websockets.speedups import apply_mask as websockets_c_mask
except ImportError:  # pragma: no cover - a build without the C extension
    websockets_c_mask = None

#: This folder (the committed results are written here) and the repository's root.
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

KiB, MiB = 1024, 2**20


class Settings:
    """How long to measure: ``quick`` keeps every section but shrinks it."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.repeats = 3 if quick else 7
        self.unmask_seconds = 0.004 if quick else 0.05  # per strategy, size and repeat
        self.parse_repeats = 3 if quick else 7
        self.parse_scale = 0.1 if quick else 1.0
        self.echo_seconds = 0.25 if quick else 1.0  # per server, case and repeat
        self.echo_repeats = 1 if quick else 5
        self.memory_size = 4 * MiB if quick else 16 * MiB


def median(values: Sequence[float]) -> float:
    """The median, or NaN when nothing was measured."""
    return statistics.median(values) if values else float("nan")


def fmt_rate(bytes_per_s: float) -> str:
    """Bytes per second as ``MB/s`` or ``GB/s`` (powers of ten)."""
    if bytes_per_s >= 1e9:
        return f"{bytes_per_s / 1e9:.2f} GB/s"
    return f"{bytes_per_s / 1e6:.1f} MB/s"


def fmt_count(per_s: float) -> str:
    """A count per second, shortened with ``k`` or ``M``."""
    if per_s >= 1e6:
        return f"{per_s / 1e6:.2f} M"
    if per_s >= 1e3:
        return f"{per_s / 1e3:.1f} k"
    return f"{per_s:.1f}"


def table(headers: List[str], rows: List[List[str]]) -> str:
    """A Markdown table, readable in a terminal too."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    return "\n".join(out + [line(r) for r in rows])


def time_calls(fn: Callable[[], object], seconds: float) -> float:
    """Seconds per call of ``fn``: enough calls to fill about ``seconds``."""
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    number = max(1, min(1_000_000, int(seconds / max(once, 1e-7))))
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def machine() -> Dict[str, str]:
    """CPUs, CPU model, versions of Python and of the libraries measured, load average."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "websockets": websockets.__version__,
        "wsproto": getattr(wsproto, "__version__", "?"),
        "load average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
