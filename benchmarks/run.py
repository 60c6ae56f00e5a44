"""Measure wslearn beside websockets and wsproto, in one run, and print ratios.

    python -m benchmarks.run            # full run (a few minutes)
    python -m benchmarks.run --quick    # every section, small and short (about 20 s)
    python -m benchmarks.run --only unmask,parse

Sections:

* ``unmask``: throughput of each way to XOR a payload with its 4-byte key (RFC 6455
  §5.3), at 125 B, 4 KiB, 64 KiB, 1 MiB and 16 MiB, with a memory-copy ceiling;
* ``parse``: frames per second for streams of masked client frames fed in 64 KiB
  chunks, wslearn's ``FrameReader`` beside websockets' and wsproto's parsers;
* ``echo``: messages per second and p50/p99 round-trip latency over loopback against
  wslearn's real server (``python -m wslearn serve``) and websockets' threaded and
  asyncio servers, each in its own process, driven by the same client;
* ``memory``: peak resident memory of each server process while it echoes one
  16 MiB message.

Every figure is the median of several repeats, and every ratio is computed from
measurements taken in the same run, round by round, so that a busy machine slows
both sides of a ratio alike. A full run writes ``unmask_throughput.json`` and
``unmask_throughput.png`` beside this file (``--no-plot`` skips them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import selectors
import socket
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # python benchmarks/run.py from anywhere
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import websockets  # noqa: E402
import websockets.frames  # noqa: E402
import websockets.streams  # noqa: E402
import websockets.utils  # noqa: E402
import wsproto  # noqa: E402
import wsproto.frame_protocol  # noqa: E402

import wslearn  # noqa: E402
import wslearn.reader  # noqa: E402
from wslearn import speedups  # noqa: E402
from wslearn.connection import Binary, Connection  # noqa: E402
from wslearn.handshake import check_response, client_request, parse_response  # noqa: E402
from wslearn.masking import unmask, unmask_fast, unmask_in_place, unmask_reference  # noqa: E402
from wslearn.reader import FrameReader  # noqa: E402

try:  # websockets picks its C speed-up like this (websockets/frames.py)
    from websockets.speedups import apply_mask as websockets_c_mask
except ImportError:  # pragma: no cover - a build without the C extension
    websockets_c_mask = None

KiB, MiB = 1024, 2**20
SIZES = [125, 4 * KiB, 64 * KiB, MiB, 16 * MiB]
SIZE_NAMES = {125: "125 B", 4 * KiB: "4 KiB", 64 * KiB: "64 KiB", MiB: "1 MiB", 16 * MiB: "16 MiB"}
KEY = bytes.fromhex("37fa213d")


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


# --------------------------------------------------------------------------- helpers


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def fmt_rate(bytes_per_s: float) -> str:
    if bytes_per_s >= 1e9:
        return f"{bytes_per_s / 1e9:.2f} GB/s"
    return f"{bytes_per_s / 1e6:.1f} MB/s"


def fmt_count(per_s: float) -> str:
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


# --------------------------------------------------------------------------- unmask


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


def bench_unmask(settings: Settings) -> dict:
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


def print_unmask(result: dict) -> None:
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


def plot_unmask(result: dict, path_png: Path, path_json: Path, info: dict) -> None:
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


# --------------------------------------------------------------------------- parse


def masked_frame(payload: bytes, opcode: int = 0x2, key: Optional[bytes] = None) -> bytes:
    key = key if key is not None else os.urandom(4)
    n = len(payload)
    if n <= 125:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n <= 0xFFFF:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + key + websockets.utils.apply_mask(payload, key)


def make_streams(scale: float) -> Dict[str, Tuple[bytes, int]]:
    """name -> (stream of masked client frames, number of frames)."""
    rng = random.Random(1)
    streams = {}

    def build(sizes: List[int], pings: int = 0) -> Tuple[bytes, int]:
        frames = [masked_frame(rng.randbytes(n)) for n in sizes]
        for _ in range(pings):
            frames.insert(rng.randrange(len(frames)), masked_frame(b"ping", opcode=0x9))
        return b"".join(frames), len(frames)

    streams["small (32 B)"] = build([32] * max(200, int(20000 * scale)))
    streams["medium (4 KiB)"] = build([4 * KiB] * max(20, int(1000 * scale)))
    streams["large (1 MiB)"] = build([MiB] * max(2, int(16 * scale)))
    # Mixed: mostly small messages, some medium and large ones, the odd Ping, as a chat
    # or a game sends them: every length encoding (7-bit, 16-bit, 64-bit) appears.
    mixed = []
    for _ in range(max(100, int(4000 * scale))):
        r = rng.random()
        if r < 0.70:
            mixed.append(rng.randrange(1, 126))
        elif r < 0.95:
            mixed.append(rng.randrange(126, 8 * KiB))
        elif r < 0.995:
            mixed.append(rng.randrange(8 * KiB, 64 * KiB))
        else:
            mixed.append(rng.randrange(64 * KiB, 1 * MiB))
    streams["mixed"] = build(mixed, pings=len(mixed) // 100)
    return streams


def chunked(stream: bytes, size: int = 64 * KiB) -> List[bytes]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def parse_wslearn(chunks: List[bytes]) -> int:
    reader = FrameReader(None, expect_masked=True)
    count = 0
    for chunk in chunks:
        reader.feed(chunk)
        for _ in reader:
            count += 1
    return count


def parse_wslearn_with_c_mask(chunks: List[bytes]) -> int:
    """An experiment, not a way to run wslearn: its reader with websockets' C mask swapped in.

    Beside the plain row it says how much of the gap to websockets is the mask itself.
    """
    assert websockets_c_mask is not None
    c_mask = websockets_c_mask

    def c_in_place(payload: memoryview, key: bytes) -> None:
        payload[:] = c_mask(payload, key)

    saved = wslearn.reader.unmask, wslearn.reader.unmask_in_place
    wslearn.reader.unmask, wslearn.reader.unmask_in_place = c_mask, c_in_place
    try:
        return parse_wslearn(chunks)
    finally:
        wslearn.reader.unmask, wslearn.reader.unmask_in_place = saved


#: The experiment's row, and the ratio printed for it.
WITH_C_MASK = "(experiment) wslearn FrameReader, websockets' C mask swapped in"


def _websockets_parser(apply_mask: Callable) -> Callable[[List[bytes]], int]:
    def parse(chunks: List[bytes]) -> int:
        saved = websockets.frames.apply_mask
        websockets.frames.apply_mask = apply_mask
        try:
            reader = websockets.streams.StreamReader()
            frames: List[object] = []

            def loop():
                while True:
                    frame = yield from websockets.frames.Frame.parse(
                        reader.read_exact, mask=True, max_size=None
                    )
                    frames.append(frame)

            parser = loop()
            next(parser)
            for chunk in chunks:
                reader.feed_data(chunk)
                next(parser)
            return len(frames)
        finally:
            websockets.frames.apply_mask = saved

    return parse


def parse_wsproto(chunks: List[bytes]) -> int:
    protocol = wsproto.frame_protocol.FrameProtocol(client=False, extensions=[])
    count = 0
    for chunk in chunks:
        protocol.receive_bytes(chunk)
        for frame in protocol.received_frames():
            if frame.frame_finished:  # wsproto hands out large payloads in pieces
                count += 1
    return count


def bench_parse(settings: Settings) -> dict:
    parsers: Dict[str, Callable[[List[bytes]], int]] = {"wslearn FrameReader": parse_wslearn}
    if websockets_c_mask is not None:
        parsers["websockets Frame.parse (C mask)"] = _websockets_parser(websockets_c_mask)
    parsers["websockets Frame.parse (pure Python)"] = _websockets_parser(
        websockets.utils.apply_mask
    )
    parsers["wsproto FrameProtocol"] = parse_wsproto
    if websockets_c_mask is not None:
        parsers[WITH_C_MASK] = parse_wslearn_with_c_mask
    results: Dict[str, Dict[str, float]] = {name: {} for name in parsers}
    ratios: Dict[str, Dict[str, float]] = {name: {} for name in parsers}
    for stream_name, (stream, count) in make_streams(settings.parse_scale).items():
        chunks = chunked(stream)
        rounds: Dict[str, List[float]] = {name: [] for name in parsers}
        for _ in range(settings.parse_repeats):
            for name, parse in parsers.items():
                start = time.perf_counter()
                got = parse(chunks)
                seconds = time.perf_counter() - start
                if got != count:
                    raise AssertionError(f"{name} parsed {got} frames of {count} ({stream_name})")
                rounds[name].append(count / seconds)
        for name in parsers:
            results[name][stream_name] = median(rounds[name])
            ratios[name][stream_name] = median(
                [a / b for a, b in zip(rounds["wslearn FrameReader"], rounds[name])]
            )
        if WITH_C_MASK in parsers and websockets_c_mask is not None:
            c_name = "websockets Frame.parse (C mask)"
            ratios.setdefault("experiment / websockets C", {})[stream_name] = median(
                [a / b for a, b in zip(rounds[WITH_C_MASK], rounds[c_name])]
            )
    return {"frames_per_s": results, "wslearn_ratio": ratios}


def print_parse(result: dict) -> None:
    print("\n## parse: frames per second, masked client frames fed in 64 KiB chunks\n")
    names = list(next(iter(result["frames_per_s"].values())).keys())
    rows = [
        [parser] + [fmt_count(by[s]) for s in names]
        for parser, by in result["frames_per_s"].items()
    ]
    for parser, by in result["wslearn_ratio"].items():
        if parser == "experiment / websockets C":
            label = "(experiment) / websockets Frame.parse (C mask)"
        elif parser in ("wslearn FrameReader", WITH_C_MASK):
            continue
        else:
            label = f"wslearn / {parser}"
        rows.append([label] + [f"{by[s]:.2f}x" for s in names])
    print(table(["parser"] + names, rows))


# --------------------------------------------------------------------------- servers


class ServerProcess:
    """A server in its own process on 127.0.0.1; ``stop()`` ends it (always called)."""

    def __init__(self, name: str, argv: List[str]) -> None:
        self.name = name
        self.process = subprocess.Popen(
            argv,
            cwd=str(ROOT),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        deadline = time.monotonic() + 15
        line = ""
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        try:
            while "ws://" not in line:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{name}: server did not start (last line {line!r})")
                if selector.select(timeout=0.5):
                    line = self.process.stdout.readline()
        finally:
            selector.close()
        url = line[line.index("ws://") :].split()[0]
        self.port = int(url.rsplit(":", 1)[1].strip("/"))

    def peak_rss(self) -> Tuple[int, int]:
        """(VmHWM, VmRSS) of the server process in bytes, from /proc."""
        fields = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                fields[key] = int(value.split()[0]) * 1024
        return fields["VmHWM"], fields["VmRSS"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process.stdout is not None:
            self.process.stdout.close()


def start_servers(max_size: str = "16MiB") -> List[ServerProcess]:
    python = sys.executable
    servers: List[ServerProcess] = []
    specs = [
        (
            "wslearn",
            [python, "-m", "wslearn", "serve", "--quiet", "--port", "0", "--max-size", max_size],
        ),
        ("websockets threaded", [python, str(HERE / "peer_server.py"), "threaded"]),
        ("websockets asyncio", [python, str(HERE / "peer_server.py"), "asyncio"]),
    ]
    try:
        for name, argv in specs:
            servers.append(ServerProcess(name, argv))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


class Client:
    """One WebSocket client connection: a raw socket driven by wslearn's sans-I/O Connection.

    The same client drives every server, so a ratio compares servers, not clients.
    """

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request, key = client_request(f"127.0.0.1:{port}")
        self.sock.sendall(request)
        buffer = b""
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError("handshake took too long")
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed during the handshake")
            buffer += data
            response = parse_response(buffer)
            if response is not None:
                break
        check_response(response, key)
        self.protocol = Connection("client", max_size=None)
        self.leftover = buffer[len(response.raw) :]

    def close(self) -> None:
        try:
            self.protocol.close(1000)
            self.sock.sendall(self.protocol.data_to_send())
            self.sock.settimeout(2)
            while self.sock.recv(65536):
                pass
        except OSError:
            pass
        finally:
            self.sock.close()


def echo_round(
    port: int, connections: int, size: int, seconds: float, timeout: float = 30.0
) -> Tuple[float, List[float]]:
    """Closed loop: each connection sends one message, waits for its echo, sends again.

    Returns (messages echoed per second, round-trip latencies in seconds).
    """
    clients = [Client(port) for _ in range(connections)]
    payload = os.urandom(size)
    selector = selectors.DefaultSelector()
    latencies: List[float] = []
    sent_at: Dict[int, float] = {}
    try:
        for i, client in enumerate(clients):
            client.sock.setblocking(False)
            selector.register(client.sock, selectors.EVENT_READ, i)
        start = time.perf_counter()
        stop_at = start + seconds
        hard_stop = time.monotonic() + timeout
        for i, client in enumerate(clients):
            sent_at[i] = time.perf_counter()
            client.protocol.send_binary(payload)
            _send_all(client.sock, client.protocol.data_to_send(), hard_stop)
        done = 0
        active = connections
        while active:
            if time.monotonic() > hard_stop:
                raise TimeoutError("echo round took too long")
            for key, _ in selector.select(timeout=1.0):
                i = key.data
                client = clients[i]
                try:
                    data = client.sock.recv(262144)
                except BlockingIOError:
                    continue
                if not data:
                    raise ConnectionError("server closed the connection")
                for event in client.protocol.receive_data(data):
                    if not isinstance(event, Binary):
                        continue
                    now = time.perf_counter()
                    latencies.append(now - sent_at[i])
                    done += 1
                    if now < stop_at:
                        sent_at[i] = now
                        client.protocol.send_binary(payload)
                        _send_all(client.sock, client.protocol.data_to_send(), hard_stop)
                    else:
                        selector.unregister(client.sock)
                        active -= 1
        elapsed = time.perf_counter() - start
    finally:
        selector.close()
        for client in clients:
            client.sock.setblocking(True)
            client.close()
    return done / elapsed, latencies


def _send_all(sock: socket.socket, data: bytes, hard_stop: float) -> None:
    view = memoryview(data)
    while view:
        try:
            sent = sock.send(view)
            view = view[sent:]
        except BlockingIOError:
            if time.monotonic() > hard_stop:
                raise TimeoutError("send took too long") from None
            selectors.select.select([], [sock], [], 0.5)


ECHO_CASES = [(1, 32), (8, 32), (1, MiB), (8, MiB)]


def bench_echo(settings: Settings) -> dict:
    servers = start_servers()
    try:
        results: Dict[str, Dict[str, dict]] = {s.name: {} for s in servers}
        ratios: Dict[str, Dict[str, float]] = {s.name: {} for s in servers}
        for connections, size in ECHO_CASES:
            case = f"{connections} conn x {'32 B' if size == 32 else '1 MiB'}"
            seconds = settings.echo_seconds * (1.5 if size > KiB else 1)
            rates: Dict[str, List[float]] = {s.name: [] for s in servers}
            lat: Dict[str, List[float]] = {s.name: [] for s in servers}
            for server in servers:  # warm up: threads, allocator, caches
                echo_round(server.port, connections, size, 0.05)
            for _ in range(settings.echo_repeats):
                for server in servers:
                    rate, latencies = echo_round(server.port, connections, size, seconds)
                    rates[server.name].append(rate)
                    lat[server.name].extend(latencies)
            for server in servers:
                values = sorted(lat[server.name])
                results[server.name][case] = {
                    "messages_per_s": median(rates[server.name]),
                    "p50_ms": values[len(values) // 2] * 1e3,
                    "p99_ms": values[min(len(values) - 1, int(len(values) * 0.99))] * 1e3,
                }
                ratios[server.name][case] = median(
                    [a / b for a, b in zip(rates["wslearn"], rates[server.name])]
                )
        return {"echo": results, "wslearn_ratio": ratios}
    finally:
        for server in servers:
            server.stop()


def print_echo(result: dict) -> None:
    print("\n## echo over loopback: messages/s (p50 / p99 round trip), one client process\n")
    cases = list(next(iter(result["echo"].values())).keys())
    rows = []
    for name, by in result["echo"].items():
        rows.append(
            [name]
            + [
                f"{fmt_count(by[c]['messages_per_s'])}/s "
                f"({by[c]['p50_ms']:.2f} / {by[c]['p99_ms']:.2f} ms)"
                for c in cases
            ]
        )
    for name, by in result["wslearn_ratio"].items():
        if name != "wslearn":
            rows.append([f"wslearn / {name}"] + [f"{by[c]:.2f}x" for c in cases])
    print(table(["server"] + cases, rows))


# --------------------------------------------------------------------------- memory


def bench_memory(settings: Settings) -> dict:
    size = settings.memory_size
    results = {}
    for server in start_servers():
        try:
            client = Client(server.port)
            try:
                client.protocol.send_binary(b"warm up")
                client.sock.sendall(client.protocol.data_to_send())
                _receive_message(client, 10.0)
                time.sleep(0.1)
                before, _ = server.peak_rss()
                payload = os.urandom(size)
                client.protocol.send_binary(payload)
                data = client.protocol.data_to_send()
                start = time.perf_counter()
                client.sock.sendall(data)
                del data
                echoed = _receive_message(client, 60.0)
                seconds = time.perf_counter() - start
                if echoed != payload:
                    raise AssertionError(f"{server.name} echoed different bytes")
                del echoed, payload
                peak, _ = server.peak_rss()
            finally:
                client.close()
            results[server.name] = {
                "payload": size,
                "idle_peak_rss": before,
                "peak_rss": peak,
                "growth": peak - before,
                "growth_per_payload": (peak - before) / size,
                "seconds": seconds,
            }
        finally:
            server.stop()
    return results


def _receive_message(client: Client, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    data = client.leftover
    client.leftover = b""
    while True:
        if data:
            for event in client.protocol.receive_data(data):
                if isinstance(event, Binary):
                    return event.data
        if time.monotonic() > deadline:
            raise TimeoutError("no echo in time")
        client.sock.settimeout(max(0.1, deadline - time.monotonic()))
        data = client.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("server closed the connection")


def print_memory(result: dict) -> None:
    size = next(iter(result.values()))["payload"]
    print(f"\n## memory: server peak RSS (VmHWM) while echoing one {size // MiB} MiB message\n")
    rows = [
        [
            name,
            f"{r['idle_peak_rss'] / MiB:.1f} MiB",
            f"{r['peak_rss'] / MiB:.1f} MiB",
            f"{r['growth'] / MiB:.1f} MiB",
            f"{r['growth_per_payload']:.2f}x",
            f"{r['seconds'] * 1e3:.0f} ms",
        ]
        for name, r in result.items()
    ]
    print(
        table(
            ["server", "peak before", "peak after", "growth", "growth / payload", "round trip"],
            rows,
        )
    )


# --------------------------------------------------------------------------- main


SECTIONS = ["unmask", "parse", "echo", "memory"]


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
    if "unmask" in sections:
        everything["unmask"] = result = bench_unmask(settings)
        print_unmask(result)
        if not args.quick and not args.no_plot:
            plot_unmask(
                result, HERE / "unmask_throughput.png", HERE / "unmask_throughput.json", info
            )
            print("\n(wrote benchmarks/unmask_throughput.png and .json)")
    if "parse" in sections:
        everything["parse"] = result = bench_parse(settings)
        print_parse(result)
    if "echo" in sections:
        everything["echo"] = result = bench_echo(settings)
        print_echo(result)
    if "memory" in sections:
        everything["memory"] = result = bench_memory(settings)
        print_memory(result)
    print(
        f"\ndone in {time.perf_counter() - started:.1f} s; "
        f"load average now {os.getloadavg()[0]:.2f}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(everything, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
