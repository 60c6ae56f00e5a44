"""The ``unmask`` benchmark: every way to XOR a payload with its 4-byte key (RFC 6455 §5.3).

Throughput in bytes of payload per second at 125 B, 4 KiB, 64 KiB, 1 MiB and 16 MiB:
the per-byte loop of §5.3, wslearn's plain and fast functions, websockets' C and
pure-Python ``apply_mask``, wsproto's masker, the receive path of each reader (a
payload already in the reader's own buffer), and two plain copies: the ceiling for
any function that returns a new ``bytes`` object. A full run also draws the figures
(:func:`plot`) into ``unmask_throughput.png`` and ``unmask_throughput.json``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import websockets.utils
import wsproto.frame_protocol

from benchmarks.common import (
    KiB,
    MiB,
    Settings,
    fmt_rate,
    median,
    table,
    time_calls,
    websockets_c_mask,
)
from wslearn import speedups
from wslearn.masking import unmask, unmask_fast, unmask_in_place, unmask_reference

SIZES = [125, 4 * KiB, 64 * KiB, MiB, 16 * MiB]
SIZE_NAMES = {125: "125 B", 4 * KiB: "4 KiB", 64 * KiB: "64 KiB", MiB: "1 MiB", 16 * MiB: "16 MiB"}
KEY = bytes.fromhex("37fa213d")


def _per_byte(data: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


def _wsproto(data: bytes, key: bytes) -> bytes:
    return wsproto.frame_protocol.XorMaskerSimple(key).process(data)


def _wslearn_receive(buffer: bytearray, key: bytes) -> bytes:
    # What FrameReader does with a long payload: unmask it where it lies, copy it out once.
    with memoryview(buffer) as payload:
        unmask_in_place(payload, key)
        return bytes(payload)


def _websockets_receive(buffer: bytearray, key: bytes) -> bytes:
    # What websockets' StreamReader.read_exact + Frame.parse do: slice the buffer, mask the slice.
    assert websockets_c_mask is not None
    return websockets_c_mask(buffer[:], key)


#: Strategies that read a buffer the reader owns (a fresh bytearray of the payload each round).
RECEIVE_PATHS = ("wslearn receive path (in place + copy)", "websockets receive path (slice + C)")


def unmask_strategies() -> Dict[str, Tuple[Callable[[bytes, bytes], object], int]]:
    """name -> (function, largest size it is run at)."""
    strategies: Dict[str, Tuple[Callable[[bytes, bytes], object], int]] = {
        "per-byte loop": (_per_byte, 4 * KiB),
        "wslearn unmask (big-int XOR)": (unmask, 16 * MiB),
        "wslearn speedups (numpy)": (speedups.unmask, 16 * MiB),
        "wslearn unmask_fast": (unmask_fast, 16 * MiB),
        "websockets pure Python": (websockets.utils.apply_mask, 16 * MiB),
        "wsproto XorMaskerSimple": (_wsproto, 16 * MiB),
    }
    if websockets_c_mask is not None:
        strategies["websockets C"] = (websockets_c_mask, 16 * MiB)
        strategies[RECEIVE_PATHS[0]] = (_wslearn_receive, 16 * MiB)  # type: ignore[dict-item]
        strategies[RECEIVE_PATHS[1]] = (_websockets_receive, 16 * MiB)  # type: ignore[dict-item]
    strategies["copy: bytes(bytearray)"] = (lambda data, key: bytes(data), 16 * MiB)
    strategies["copy: memoryview.tobytes()"] = (lambda data, key: data.tobytes(), 16 * MiB)
    return strategies


def bench(settings: Settings) -> dict:
    """Throughput of every strategy at every size, and the two ratios printed under them."""
    strategies = unmask_strategies()
    rng = random.Random(6455)
    results: Dict[str, Dict[int, float]] = {name: {} for name in strategies}
    ratios: Dict[int, List[float]] = {n: [] for n in SIZES}
    receive_ratios: Dict[int, List[float]] = {n: [] for n in SIZES}
    for n in SIZES:
        data = rng.randbytes(n)
        sources = {
            "copy: bytes(bytearray)": bytearray(data),
            "copy: memoryview.tobytes()": memoryview(data),
        }
        expected = unmask_reference(data[:4096], KEY)
        rounds: Dict[str, List[float]] = {name: [] for name in strategies}
        for _ in range(settings.repeats):
            for name, (fn, largest) in strategies.items():
                if n > largest:
                    continue
                arg = bytearray(data) if name in RECEIVE_PATHS else sources.get(name, data)
                result = fn(arg, KEY)
                if not name.startswith("copy") and bytes(result[:4096]) != expected:
                    raise AssertionError(f"{name} gives a wrong result at {n} bytes")
                del result
                # (Timed calls on a receive path unmask the buffer again and again: the
                # bytes change, the work does not. The result was checked just above.)
                seconds = time_calls(lambda fn=fn, arg=arg: fn(arg, KEY), settings.unmask_seconds)
                rounds[name].append(n / seconds)
            if websockets_c_mask is not None:
                ratios[n].append(rounds["wslearn unmask_fast"][-1] / rounds["websockets C"][-1])
                receive_ratios[n].append(
                    rounds[RECEIVE_PATHS[0]][-1] / rounds[RECEIVE_PATHS[1]][-1]
                )
        for name, values in rounds.items():
            if values:
                results[name][n] = median(values)
    return {
        "throughput": {name: {str(n): v for n, v in by.items()} for name, by in results.items()},
        "ratio_wslearn_to_c": {str(n): median(v) for n, v in ratios.items()},
        "ratio_receive_paths": {str(n): median(v) for n, v in receive_ratios.items()},
    }


def print_result(result: dict) -> None:
    """The section's title and its table: a row a strategy, a column a size, then the ratios."""
    print("\n## unmask: throughput (median of repeats; bytes of payload per second)\n")
    rows = []
    for name, by in result["throughput"].items():
        rows.append([name] + [fmt_rate(by[str(n)]) if str(n) in by else "-" for n in SIZES])
    ratio = result["ratio_wslearn_to_c"]
    rows.append(
        ["wslearn unmask_fast / websockets C"]
        + [f"{ratio[str(n)]:.0%}" if ratio.get(str(n)) else "-" for n in SIZES]
    )
    receive = result.get("ratio_receive_paths", {})
    rows.append(
        ["wslearn receive path / websockets receive path"]
        + [f"{receive[str(n)]:.0%}" if receive.get(str(n)) else "-" for n in SIZES]
    )
    print(table(["strategy"] + [SIZE_NAMES[n] for n in SIZES], rows))


def plot(result: dict, path_png: Path, path_json: Path, info: dict) -> None:
    """Write the result (with the machine) to ``path_json`` and its figure to ``path_png``."""
    path_json.write_text(
        json.dumps({"machine": info, "sizes": SIZES, **result}, indent=2) + "\n", encoding="utf-8"
    )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5.5))
    for name, by in result["throughput"].items():
        sizes = [n for n in SIZES if str(n) in by]
        style = "--" if name.startswith("copy") else "-"
        ax.plot(sizes, [by[str(n)] / 1e9 for n in sizes], style, marker="o", label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(SIZES, [SIZE_NAMES[n] for n in SIZES])
    ax.set_xlabel("payload size")
    ax.set_ylabel("GB/s (log scale)")
    ax.set_title(f"Unmasking throughput (RFC 6455 §5.3), Python {info['python']}, {info['cpu']}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path_png, dpi=110)
    plt.close(fig)
