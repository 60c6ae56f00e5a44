"""Measure wslearn beside websockets and wsproto, in one run, and print ratios.

    python -m benchmarks.run            # full run (a few minutes)
    python -m benchmarks.run --quick    # every section, small and short (about 20 s)
    python -m benchmarks.run --only unmask,parse

Sections, one module each, run in this order:

* ``unmask`` (``unmask.py``): throughput of each way to XOR a payload with its 4-byte
  key (RFC 6455 §5.3), at 125 B, 4 KiB, 64 KiB, 1 MiB and 16 MiB, with a memory-copy
  ceiling;
* ``parse`` (``parse.py``): frames per second for streams of masked client frames fed
  in 64 KiB chunks, wslearn's ``FrameReader`` beside websockets' and wsproto's parsers;
* ``echo`` (``echo.py``): messages per second, p50/p99 round-trip latency and the
  server's CPU time per message over loopback against wslearn's real server
  (``python -m wslearn serve``) and websockets' threaded and asyncio servers, each in its
  own process, driven by the same client (``servers.py``), in rounds whose order flips
  every round (``python -m benchmarks.echo`` runs this section alone, for two servers or
  two source trees of wslearn, as many rounds as asked);
* ``memory`` (``memory.py``): peak resident memory of each server process while it
  echoes one 16 MiB message.

Each section module has ``bench(settings) -> dict`` and ``print_result(result)``;
what they share (settings, medians, timing, tables, the machine) is in ``common.py``.
Every figure is the median of several repeats, and every ratio is computed from
measurements taken in the same run, round by round, so that a busy machine slows
both sides of a ratio alike. A full run writes ``unmask_throughput.json`` and
``unmask_throughput.png`` beside this file (``--no-plot`` skips them).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Dict, List, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if not __package__:  # python benchmarks/run.py, from anywhere
    # Import this folder as the package ``benchmarks``, not its files as top-level modules.
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p).resolve() != HERE]

import wslearn  # noqa: E402
from benchmarks import echo, memory, parse, unmask  # noqa: E402
from benchmarks.common import Settings, machine  # noqa: E402

#: Section name -> its module, in the order they run.
SECTIONS: Dict[str, ModuleType] = {
    "unmask": unmask,
    "parse": parse,
    "echo": echo,
    "memory": memory,
}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="every section, small and short")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--no-plot", action="store_true", help="don't write the unmask plot/JSON")
    parser.add_argument("--json", metavar="PATH", help="also write every result to this file")
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    settings = Settings(args.quick)
    info = machine()
    print(
        f"# wslearn {getattr(wslearn, '__version__', '')} benchmarks"
        + (" (quick)" if args.quick else "")
    )
    print(", ".join(f"{k}: {v}" for k, v in info.items()))
    everything: dict = {"machine": info, "quick": args.quick}
    started = time.perf_counter()
    for name, module in SECTIONS.items():
        if name not in sections:
            continue
        everything[name] = result = module.bench(settings)
        module.print_result(result)
        if name == "unmask" and not args.quick and not args.no_plot:
            unmask.plot(
                result, HERE / "unmask_throughput.png", HERE / "unmask_throughput.json", info
            )
            print("\n(wrote benchmarks/unmask_throughput.png and .json)")
    print(
        f"\ndone in {time.perf_counter() - started:.1f} s; "
        f"load average now {os.getloadavg()[0]:.2f}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(everything, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
