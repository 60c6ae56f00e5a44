"""The ``echo`` benchmark: messages per second, round trips and server CPU over loopback.

Each server (:mod:`benchmarks.servers`) echoes binary messages for 1 and 8
connections, 32 B and 1 MiB messages, in a closed loop: each connection sends its
next message when the echo of the previous one is back. The load comes from this
process alone, all connections in one ``selectors`` loop, the same for every server.

The servers take turns, round after round, and the order of the turns flips every round
(A B, B A, A B, ...), so a burst of load from another program, or the machine warming up,
falls on both sides of a ratio. A ratio is the median of the per-round ratios, with their
spread (the quartiles; the JSON also keeps the extremes and every round), so a difference
can be told from noise.

Run alone, it compares two servers only, for as many rounds as asked::

    python -m benchmarks.echo --rounds 7                    # wslearn vs websockets threaded
    python -m benchmarks.echo --tree-a OLD --tree-b NEW     # two source trees of wslearn
    python -m benchmarks.echo --tree-a OLD                  # an older tree vs websockets
    python -m benchmarks.echo --cases 8x32 --rounds 9 --seconds 2

A tree is a folder holding a ``wslearn`` package (a checkout, or a copy of one); each tree's
server runs ``python -m wslearn serve`` from it, so an optimisation can be judged A/B in
one run.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from benchmarks.common import KiB, MiB, Settings, fmt_count, median, table
from benchmarks.servers import (
    Client,
    ServerProcess,
    ServerSpec,
    start,
    start_servers,
    websockets_server,
    wslearn_server,
)
from wslearn.connection import Binary


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
    """Send all of ``data`` on a non-blocking socket, waiting while its buffer is full."""
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


def case_name(connections: int, size: int) -> str:
    """``1 conn x 32 B``, ``8 conn x 1 MiB``: a case as the tables name it."""
    return f"{connections} conn x {fmt_size(size)}"


def fmt_size(size: int) -> str:
    """``32 B``, ``64 KiB``, ``1 MiB``: a message size as the tables write it."""
    if size >= MiB and size % MiB == 0:
        return f"{size // MiB} MiB"
    if size >= KiB and size % KiB == 0:
        return f"{size // KiB} KiB"
    return f"{size} B"


def parse_case(text: str) -> Tuple[int, int]:
    """``8x32``, ``1x1MiB``, ``8x64KiB``: connections x message size, for ``--cases``."""
    connections, _, size = text.strip().lower().partition("x")
    units = {"mib": MiB, "kib": KiB, "b": 1, "": 1}
    number = size.rstrip("kmib")
    unit = size[len(number) :]
    if not connections.isdigit() or not number.isdigit() or unit not in units:
        raise argparse.ArgumentTypeError(f"not a case: {text!r} (try 1x32, 8x32 or 8x1MiB)")
    if int(connections) < 1 or int(number) < 1:
        raise argparse.ArgumentTypeError(f"not a case: {text!r} (both numbers must be >= 1)")
    return int(connections), int(number) * units[unit]


class Turns:
    """What one server did in the rounds of one case: a rate and a CPU cost a round."""

    def __init__(self) -> None:
        self.rates: List[float] = []  #: messages echoed per second, a round each
        self.cpu_us: List[float] = []  #: the server's CPU microseconds per message, a round each
        self.latencies: List[float] = []  #: every round trip of every round, in seconds


def alternating_rounds(
    servers: Sequence[ServerProcess],
    connections: int,
    size: int,
    rounds: int,
    seconds: float,
) -> Dict[str, Turns]:
    """Every server once per round, the order flipped every round; after a short warm-up.

    Returns server name -> its :class:`Turns`, rounds in order. Besides the rate, each turn
    reads the server process's CPU time before and after: its CPU time per message is much
    less moved by other programs on the machine than its rate (a busy machine makes a server
    wait more, not work more).
    """
    for server in servers:  # warm up: threads, allocator, caches
        echo_round(server.port, connections, size, 0.05)
    turns: Dict[str, Turns] = {s.name: Turns() for s in servers}
    for number in range(rounds):
        order = servers if number % 2 == 0 else list(reversed(servers))
        for server in order:
            cpu_before = server.cpu_seconds()
            rate, latencies = echo_round(server.port, connections, size, seconds)
            cpu = server.cpu_seconds() - cpu_before
            turn = turns[server.name]
            turn.rates.append(rate)
            turn.cpu_us.append(cpu / max(1, len(latencies)) * 1e6)
            turn.latencies.extend(latencies)
    return turns


def ratio_summary(a: Sequence[float], b: Sequence[float]) -> dict:
    """The per-round ratios ``a / b``: their median and spread, and all of them.

    The spread is given twice: the middle half of the rounds (``q1`` to ``q3``, the quartiles)
    and the extremes (``low``, ``high``); on a busy machine one round can be far off.
    A round where either value is 0 gives no ratio (a turn too short for the CPU clock,
    which counts in ticks of 10 ms): it is left out and counted in ``unmeasured``.
    """
    ratios = [x / y for x, y in zip(a, b) if x > 0 and y > 0]
    nan = float("nan")
    if len(ratios) >= 2:
        q1, _, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    else:
        q1 = q3 = ratios[0] if ratios else nan
    return {
        "median": median(ratios),
        "q1": q1,
        "q3": q3,
        "low": min(ratios, default=nan),
        "high": max(ratios, default=nan),
        "rounds": ratios,
        "unmeasured": min(len(a), len(b)) - len(ratios),
    }


def compare_turns(a: Turns, b: Turns) -> dict:
    """a's ratio to b, round by round, both ways above 1 when a does better.

    ``rate``: a's messages per second over b's. ``cpu``: b's CPU time per message over
    a's (a server that spends less CPU per message is ahead).
    """
    return {"rate": ratio_summary(a.rates, b.rates), "cpu": ratio_summary(b.cpu_us, a.cpu_us)}


def fmt_ratio(summary: dict) -> str:
    """``1.05x (0.98-1.10)``: the median ratio, then the middle half of the rounds."""
    if not summary["rounds"]:
        return "-"
    return f"{summary['median']:.2f}x ({summary['q1']:.2f}-{summary['q3']:.2f})"


def server_figures(turns: Turns) -> dict:
    """A server's median rate and CPU per message, and its p50 / p99 round trip, in a case."""
    values = sorted(turns.latencies)
    return {
        "messages_per_s": median(turns.rates),
        "cpu_us_per_message": median(turns.cpu_us),
        "p50_ms": values[len(values) // 2] * 1e3,
        "p99_ms": values[min(len(values) - 1, int(len(values) * 0.99))] * 1e3,
    }


def bench(settings: Settings) -> dict:
    """Rate and latency of every server in every case, and wslearn's ratio to each."""
    servers = start_servers()
    try:
        results: Dict[str, Dict[str, dict]] = {s.name: {} for s in servers}
        ratios: Dict[str, Dict[str, dict]] = {s.name: {} for s in servers}
        for connections, size in ECHO_CASES:
            case = case_name(connections, size)
            seconds = settings.echo_seconds * (1.5 if size > KiB else 1)
            measured = alternating_rounds(
                servers, connections, size, settings.echo_repeats, seconds
            )
            ours = measured["wslearn"]
            for server in servers:
                results[server.name][case] = server_figures(measured[server.name])
                ratios[server.name][case] = compare_turns(ours, measured[server.name])
        return {"echo": results, "wslearn_ratio": ratios}
    finally:
        for server in servers:
            server.stop()


def print_result(result: dict) -> None:
    """The section's title and its table: a row a server, a column a case, then the ratios."""
    print("\n## echo over loopback: messages/s (p50 / p99 round trip), one client process\n")
    print_tables(result)
    print(f"\n{RATIO_NOTE}")


#: How to read the ratio rows.
RATIO_NOTE = (
    "(A / B: A's messages/s over B's; 'CPU': B's server CPU time per message over A's. "
    "Both are medians of the per-round ratios, the middle half of the rounds in brackets "
    "(quartiles); above 1 = A ahead.)"
)


def print_tables(result: dict) -> None:
    """A row a server (its rate, round trips, CPU per message), then the ratios, by case."""
    cases = list(next(iter(result["echo"].values())).keys())
    rows = []
    for name, by in result["echo"].items():
        rows.append(
            [name]
            + [
                f"{fmt_count(by[c]['messages_per_s'])}/s "
                f"({by[c]['p50_ms']:.2f} / {by[c]['p99_ms']:.2f} ms), "
                f"{by[c]['cpu_us_per_message']:.0f} µs CPU"
                for c in cases
            ]
        )
    first = next(iter(result["echo"]))
    for name, by in result["wslearn_ratio"].items():
        if name != first:
            rows.append([f"{first} / {name}"] + [fmt_ratio(by[c]["rate"]) for c in cases])
            rows.append([f"{first} / {name}, CPU"] + [fmt_ratio(by[c]["cpu"]) for c in cases])
    print(table(["server"] + cases, rows))


def compare(
    a: ServerSpec,
    b: ServerSpec,
    cases: Sequence[Tuple[int, int]],
    rounds: int,
    seconds: float,
) -> dict:
    """Two servers, ``rounds`` alternating rounds a case: figures of each, and a's ratio to b.

    Both servers run for the whole comparison; a 1 MiB case runs 1.5x ``seconds`` a turn
    (fewer, longer messages).
    """
    servers = start([a, b])
    try:
        results: Dict[str, Dict[str, dict]] = {s.name: {} for s in servers}
        ratio: Dict[str, dict] = {}
        for connections, size in cases:
            case = case_name(connections, size)
            turn = seconds * (1.5 if size > KiB else 1)
            measured = alternating_rounds(servers, connections, size, rounds, turn)
            for server in servers:
                results[server.name][case] = server_figures(measured[server.name])
            ratio[case] = compare_turns(measured[a.name], measured[b.name])
        return {"echo": results, "wslearn_ratio": {b.name: ratio}, "rounds": rounds}
    finally:
        for server in servers:
            server.stop()


def load_average() -> str:
    """The 1, 5 and 15-minute load averages: how busy the machine was around a run."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.echo",
        description="Echo throughput of two servers in alternating rounds, with the median "
        "ratio and its spread: wslearn against websockets' threaded server, or two source "
        "trees of wslearn (--tree-a, --tree-b).",
    )
    parser.add_argument("--rounds", type=int, default=7, help="rounds a case (default 7)")
    parser.add_argument(
        "--seconds", type=float, default=1.0, help="seconds a server's turn (default 1.0)"
    )
    parser.add_argument(
        "--cases",
        default="1x32,8x32,1x1MiB,8x1MiB",
        help="connections x message size, comma-separated (default 1x32,8x32,1x1MiB,8x1MiB)",
    )
    parser.add_argument(
        "--peer",
        choices=["threaded", "asyncio"],
        default="threaded",
        help="which websockets server wslearn is compared with (default threaded)",
    )
    parser.add_argument(
        "--tree-a", type=Path, help="run wslearn from this folder (one holding a wslearn package)"
    )
    parser.add_argument(
        "--tree-b", type=Path, help="and compare it with this one (A/B), not with websockets"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the result to this file")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.seconds <= 0:
        parser.error("--rounds must be 1 or more and --seconds above 0")
    if args.tree_b is not None and args.tree_a is None:
        parser.error("--tree-b needs --tree-a (--tree-a alone: that tree against websockets)")
    try:
        cases = [parse_case(text) for text in args.cases.split(",") if text.strip()]
        if args.tree_b is not None:
            a = wslearn_server("wslearn A", args.tree_a)
            b = wslearn_server("wslearn B", args.tree_b)
        else:  # this repository's wslearn, or --tree-a's, against websockets
            a, b = wslearn_server(tree=args.tree_a), websockets_server(args.peer)
    except (argparse.ArgumentTypeError, ValueError) as error:
        parser.error(str(error))
    if not cases:
        parser.error("no case given")
    print(f"# echo: {a.name} / {b.name}, {args.rounds} alternating rounds a case")
    start_load = load_average()
    print(f"cpus: {os.cpu_count()}, load average at the start: {start_load}")
    for spec, tree in ((a, args.tree_a), (b, args.tree_b)):
        if tree is not None:
            print(f"{spec.name}: {Path(tree).resolve()}")
    result = compare(a, b, cases, args.rounds, args.seconds)
    print()
    print_tables(result)
    print(f"\n{RATIO_NOTE}")
    print(f"load average at the end: {load_average()}")
    result["load_average"] = {"start": start_load, "end": load_average()}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
