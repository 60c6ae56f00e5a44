"""The ``concurrency`` benchmark: a thread per connection against asyncio, from 1 to 1000 peers.

    python -m benchmarks.concurrency             # 1, 8, 200, 1000 connections: about 90 s
    python -m benchmarks.concurrency --quick     # 1 and 8 connections, short rounds: about 7 s
    python -m benchmarks.concurrency --connections 8,200 --rounds 9 --json results.json

Three echo servers, each in its own process on 127.0.0.1 (:mod:`benchmarks.servers`), all with
keepalive and compression off and the same message limit (1 MiB):

* ``wslearn threaded``: ``python -m wslearn serve``, one thread per connection;
* ``wslearn asyncio``: ``wslearn.asyncio.serve``, one event loop, a task per connection;
* ``websockets asyncio``: ``websockets.asyncio.server.serve``, the same design, production code.

For each number of connections a fresh process of each server gets that many clients. Every
client sends 32-byte binary messages in a closed loop (the next one when the echo of the last
is back) for a turn of fixed length. The servers take turns, round after round, the order
flipped every round, and all three keep their connections open the whole time: an idle
connection (keepalive off) costs no CPU, so the servers waiting for their turn do not slow the
one that runs. Figures are medians over the rounds; a ratio is the median of the per-round
ratios, with the middle half of the rounds in brackets, as in ``benchmarks.echo``.

The load comes from this process: one asyncio event loop, one :class:`EchoClient` protocol a
connection, frames masked once before the run (the server cannot tell a reused mask from a
fresh one), and the echo checked against the bytes it must be. Its own CPU time per message is
measured too: while it stays well under the server's, the server is what is being measured.

Memory: the resident memory (``VmRSS``) of each server process after one warm-up connection has
come and gone, then with all the connections open (each has echoed one message), divided by
their number: what one more connection costs that server. It is printed and plotted from 100
connections up; below that, a page or two of noise is more than the connections cost.

A full run writes ``concurrency.json`` and ``concurrency.png`` beside this file, and a copy of
the JSON as ``wslearn/data/concurrency_benchmark.json`` for the course (``--quick`` and
``--no-save`` write none of them). :func:`wslearn.views.benchmark.plot_concurrency` draws the
figure from that JSON (the benchmark's PNG and notebook 11 alike).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

if __package__ in (None, ""):  # python benchmarks/concurrency.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import HERE, ROOT, fmt_count, machine, median, table  # noqa: E402
from benchmarks.echo import fmt_ratio, ratio_summary  # noqa: E402
from benchmarks.servers import (  # noqa: E402
    ServerProcess,
    ServerSpec,
    asyncio_server,
    raise_open_files,
    start,
    wslearn_server,
)
from wslearn.connection import Connection  # noqa: E402
from wslearn.handshake import check_response, client_request  # noqa: E402
from wslearn.http11 import parse_response  # noqa: E402
from wslearn.views.benchmark import plot_concurrency  # noqa: E402

#: Where a full run leaves its results: beside this file, and a copy the course ships.
RESULTS_JSON = HERE / "concurrency.json"
RESULTS_PNG = HERE / "concurrency.png"
COURSE_COPY = ROOT / "wslearn" / "data" / "concurrency_benchmark.json"

MAX_SIZE = 2**20  #: every server's message limit (bytes)
MESSAGE_BYTES = 32
#: Memory per connection is shown from this many connections up (below, it is mostly noise).
MEMORY_FROM = 100
#: How many connections open at the same time (a server's listen backlog is 100 to 512).
OPENING_AT_ONCE = 50
TIMEOUT = 30.0  #: the longest any opening, turn or closing may take, seconds

#: Server name -> how to start it. Names are the rows of the tables and the keys of the JSON.
SERVERS: Dict[str, ServerSpec] = {
    "wslearn threaded": wslearn_server(
        "wslearn threaded",
        max_size=str(MAX_SIZE),
        options=["--ping-interval", "none", "--ping-timeout", "none"],
    ),
    "wslearn asyncio": asyncio_server("wslearn", MAX_SIZE),
    "websockets asyncio": asyncio_server("websockets", MAX_SIZE),
}
#: The ratios printed and kept: (A, B) is A's messages per second over B's.
RATIOS = [
    ("wslearn asyncio", "wslearn threaded"),
    ("wslearn asyncio", "websockets asyncio"),
    ("websockets asyncio", "wslearn threaded"),
]


PAYLOAD = bytes(range(MESSAGE_BYTES))


def _client_frames() -> Tuple[bytes, bytes]:
    """A binary frame of :data:`PAYLOAD` and a Close frame (1000), masked by the sans-I/O core.

    Masked once and sent again and again: RFC 6455 §5.3 wants a fresh unpredictable key per
    frame (against cache poisoning through proxies), which a benchmark on loopback can skip;
    a server cannot tell, and unmasks each frame all the same.
    """
    client = Connection("client")
    client.send_binary(PAYLOAD)
    frame = client.data_to_send()
    client.close(1000)
    return frame, client.data_to_send()


#: What each client sends (6 bytes of header and key, then 32), and the Close frame at the end.
FRAME, CLOSE = _client_frames()
#: What it must get back: an unmasked binary frame (FIN, opcode 2, length 32), the same payload.
ECHO = bytes([0x82, MESSAGE_BYTES]) + PAYLOAD


class Turn:
    """One server's turn: every client in a closed loop until ``stop_at``, then the count."""

    def __init__(self, clients: int, seconds: float) -> None:
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiting = clients  # clients whose last echo is not back yet
        self.messages = 0
        self.started = time.perf_counter()
        self.stop_at = self.started + seconds
        self.ended = self.started

    def client_done(self) -> None:
        self.waiting -= 1
        if self.waiting == 0 and not self.finished.done():
            self.ended = time.perf_counter()
            self.finished.set_result(None)

    def fail(self, error: BaseException) -> None:
        if not self.finished.done():
            self.finished.set_exception(error)


class EchoClient(asyncio.Protocol):
    """One connection of the load: a raw asyncio protocol, no WebSocket library on the way.

    It sends the opening handshake (built and checked by wslearn's sans-I/O ``handshake``), one
    message to warm the connection up, and then, in each :class:`Turn`, :data:`FRAME` again each
    time the whole :data:`ECHO` is back. Any other byte from the server is an error.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.transport: Optional[asyncio.Transport] = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.handshake = b""  # the server's response, until it is whole
        self.key = ""
        self.is_open = False
        self.closing = False  # our Close is sent: what comes back is the server's, not an echo
        self.unread = b""  # the start of an echo that arrived in pieces
        self.turn: Optional[Turn] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        request, self.key = client_request(f"127.0.0.1:{self.port}")
        transport.write(request)

    def data_received(self, data: bytes) -> None:
        if self.is_open and not self.unread and data == ECHO:  # usual: one read, one echo
            self._echoed()
            return
        if self.closing:
            return
        try:
            if not self.is_open:
                self._read_handshake(data)
                return
            data = self.unread + data
            while len(data) >= len(ECHO):
                if data[: len(ECHO)] != ECHO:
                    raise ConnectionError(f"not the echo: {data[: len(ECHO)]!r}")
                data = data[len(ECHO) :]
                self._echoed()
            if data != ECHO[: len(data)]:
                raise ConnectionError(f"not the echo: {data!r}")
            self.unread = data
        except Exception as error:  # noqa: BLE001 - handed to whoever waits
            self._fail(error)

    def _read_handshake(self, data: bytes) -> None:
        self.handshake += data
        response = parse_response(self.handshake)
        if response is None:
            return
        check_response(response, self.key)
        self.is_open = True
        assert self.transport is not None
        self.transport.write(FRAME)  # the first echo completes the opening
        leftover = self.handshake[len(response.raw) :]
        self.handshake = b""
        if leftover:
            self.data_received(leftover)

    def _echoed(self) -> None:
        if not self.opened.done():
            self.opened.set_result(None)
            return
        turn = self.turn
        if turn is None:
            self._fail(ConnectionError("an echo nobody asked for"))
            return
        turn.messages += 1
        if time.perf_counter() < turn.stop_at:
            assert self.transport is not None
            self.transport.write(FRAME)
        else:
            self.turn = None
            turn.client_done()

    def start(self, turn: Turn) -> None:
        """Send the first message of a turn; the echoes keep the loop going."""
        self.turn = turn
        assert self.transport is not None
        self.transport.write(FRAME)

    def _fail(self, error: BaseException) -> None:
        if not self.opened.done():
            self.opened.set_exception(error)
        if self.turn is not None:
            self.turn.fail(error)
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        error = exc or ConnectionError("the server closed the connection")
        if not self.opened.done():
            self.opened.set_exception(error)
        if self.turn is not None:
            self.turn.fail(error)
        if not self.closed.done():
            self.closed.set_result(None)


async def open_clients(port: int, count: int) -> List[EchoClient]:
    """``count`` connections to ``port``, each open and past its first echo.

    At most :data:`OPENING_AT_ONCE` are in their handshake at a time, so that no server's listen
    backlog overflows (the kernel would then drop SYNs, and the client retry a second later).
    """
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(OPENING_AT_ONCE)

    async def open_one() -> EchoClient:
        async with gate:
            _, client = await loop.create_connection(lambda: EchoClient(port), "127.0.0.1", port)
            try:
                await asyncio.wait_for(asyncio.shield(client.opened), TIMEOUT)
            except BaseException:
                if client.transport is not None:
                    client.transport.abort()
                raise
            return client

    results = await asyncio.gather(*(open_one() for _ in range(count)), return_exceptions=True)
    clients = [result for result in results if isinstance(result, EchoClient)]
    errors = [result for result in results if isinstance(result, BaseException)]
    if errors:
        await close_clients(clients)
        raise errors[0]
    return clients


async def close_clients(clients: Sequence[EchoClient]) -> None:
    """Send each a Close frame, wait a little for the servers to end them, then abort the rest."""
    for client in clients:
        if client.transport is not None and not client.transport.is_closing():
            client.closing = True
            client.transport.write(CLOSE)
    waiting = [client.closed for client in clients if not client.closed.done()]
    if waiting:
        await asyncio.wait(waiting, timeout=3.0)
    for client in clients:
        if client.transport is not None:
            client.transport.abort()


async def run_turn(clients: Sequence[EchoClient], seconds: float) -> Dict[str, float]:
    """Every client in a closed loop for ``seconds``: messages per second, elapsed seconds."""
    turn = Turn(len(clients), seconds)
    for client in clients:
        client.start(turn)
    try:
        await asyncio.wait_for(asyncio.shield(turn.finished), seconds + TIMEOUT)
    finally:
        for client in clients:
            client.turn = None
    elapsed = turn.ended - turn.started
    return {"messages": turn.messages, "seconds": elapsed, "rate": turn.messages / elapsed}


class Measured:
    """What one server did at one number of connections: a value a round, and its memory."""

    def __init__(self) -> None:
        self.rates: List[float] = []  #: messages echoed per second
        self.server_cpu_us: List[float] = []  #: the server's CPU microseconds per message
        self.client_cpu_us: List[float] = []  #: the load generator's, for the same turn
        self.client_busy: List[float] = []  #: the load generator's CPU seconds per second
        self.other_busy: List[float] = []  #: everything else's CPU seconds per second
        self.rss: Dict[str, int] = {}  #: resident bytes: before, open, after

    def figures(self, connections: int) -> dict:
        """Medians, every round, and the memory per connection in KiB."""
        per_connection = (self.rss["open"] - self.rss["before"]) / connections / 1024
        return {
            "messages_per_s": median(self.rates),
            "server_cpu_us_per_message": median(self.server_cpu_us),
            "client_cpu_us_per_message": median(self.client_cpu_us),
            "client_busy": median(self.client_busy),
            "other_busy": median(self.other_busy),
            "rss_before": self.rss["before"],
            "rss_open": self.rss["open"],
            "rss_after": self.rss["after"],
            "memory_per_connection_kib": per_connection,
            "rates": self.rates,
            "server_cpu_us": self.server_cpu_us,
            "other_busy_rounds": self.other_busy,
        }


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since it booted, all CPUs (``/proc/stat``).

    Busy is everything but ``idle`` and ``iowait``. During a turn, this minus the server's and
    the load generator's own CPU time is what other programs (and the kernel's work charged to
    no process) took: on a shared machine, the reason a turn can be slow.
    """
    with open("/proc/stat") as stat:
        ticks = [int(x) for x in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def settled_rss(server: ServerProcess, settle: float) -> int:
    """The server's resident memory after a moment's rest (threads ending, buffers freed)."""
    await asyncio.sleep(settle)
    return server.peak_rss()[1]


async def measure(
    specs: Sequence[ServerSpec], connections: int, rounds: int, seconds: float, settle: float
) -> Dict[str, Measured]:
    """Fresh servers, ``connections`` clients each, memory read, then alternating rounds."""
    servers = start(specs)
    measured = {server.name: Measured() for server in servers}
    clients: Dict[str, List[EchoClient]] = {}
    running = servers[0].name
    try:
        for server in servers:  # warm up: imports, the first thread or task, allocator
            running = server.name
            warm = await open_clients(server.port, 1)
            await run_turn(warm, 0.05)
            await close_clients(warm)
        for server in servers:
            measured[server.name].rss["before"] = await settled_rss(server, settle)
        for server in servers:
            running = server.name
            clients[server.name] = await open_clients(server.port, connections)
        for server in servers:
            running = server.name
            measured[server.name].rss["open"] = await settled_rss(server, settle)
            await run_turn(clients[server.name], min(0.2, seconds))  # warm up the loop
        for number in range(rounds):
            for server in servers if number % 2 == 0 else list(reversed(servers)):
                running = server.name
                server_cpu = server.cpu_seconds()
                client_cpu = time.process_time()
                busy = machine_busy_seconds()
                turn = await run_turn(clients[server.name], seconds)
                server_cpu = server.cpu_seconds() - server_cpu
                client_cpu = time.process_time() - client_cpu
                other = machine_busy_seconds() - busy - server_cpu - client_cpu
                messages = max(1, turn["messages"])
                figures = measured[server.name]
                figures.rates.append(turn["rate"])
                figures.server_cpu_us.append(server_cpu / messages * 1e6)
                figures.client_cpu_us.append(client_cpu / messages * 1e6)
                figures.client_busy.append(client_cpu / turn["seconds"])
                figures.other_busy.append(max(0.0, other) / turn["seconds"])
        for server in servers:
            measured[server.name].rss["after"] = server.peak_rss()[1]
    except (OSError, asyncio.TimeoutError) as error:
        raise RuntimeError(f"{running}, {connections} connections: {error!r}") from error
    finally:
        for group in clients.values():
            await close_clients(group)
        for server in servers:
            server.stop()
    return measured


def commit() -> str:
    """The repository's current commit, read from ``.git`` ("unknown" outside a checkout)."""
    git = ROOT / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head  # a detached HEAD is the commit itself
        ref = head[len("ref: ") :]
        if (git / ref).is_file():
            return (git / ref).read_text().strip()
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(f" {ref}"):
                return line.split()[0]
    except OSError:
        pass
    return "unknown"


def available_servers(names: Sequence[str]) -> "tuple[List[str], Dict[str, str]]":
    """The servers of ``names`` that can run here, and why each of the others cannot."""
    missing: Dict[str, str] = {}
    if importlib.util.find_spec("wslearn.asyncio") is None:
        missing["wslearn asyncio"] = "wslearn.asyncio is not in this wslearn"
    return [name for name in names if name not in missing], {
        name: why for name, why in missing.items() if name in names
    }


def bench(
    names: Sequence[str], connection_counts: Sequence[int], rounds: int, seconds: float, quick: bool
) -> dict:
    """Every count of connections for every server: rates, CPU, memory, ratios, notes."""
    soft, hard = raise_open_files()
    names, missing = available_servers(names)
    result: dict = {
        "benchmark": "concurrency",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "commit": commit(),
        "machine": machine(),
        "quick": quick,
        "settings": {
            "connections": list(connection_counts),
            "rounds": rounds,
            "seconds": seconds,
            "message_bytes": MESSAGE_BYTES,
            "max_size": MAX_SIZE,
        },
        "open_files": {"soft": soft, "hard": hard},
        "servers": list(names),
        "notes": [f"{name}: not measured ({why})" for name, why in missing.items()],
        "figures": {name: {} for name in names},
        "ratios": {},
    }
    settle = 0.1 if quick else 0.5
    for count in connection_counts:
        # This process holds every server's connections at once, each server its own.
        needed = len(names) * count + 64
        if needed > soft:
            result["notes"].append(
                f"{count} connections: not measured, they need {needed} open files and the "
                f"limit is {soft} (hard limit {hard}; raise it, e.g. ulimit -Hn, as root)"
            )
            continue
        measured = asyncio.run(measure([SERVERS[n] for n in names], count, rounds, seconds, settle))
        for name in names:
            result["figures"][name][str(count)] = measured[name].figures(count)
        for a, b in RATIOS:
            if a in measured and b in measured:
                by_count = result["ratios"].setdefault(f"{a} / {b}", {})
                by_count[str(count)] = {
                    "rate": ratio_summary(measured[a].rates, measured[b].rates),
                    "cpu": ratio_summary(measured[b].server_cpu_us, measured[a].server_cpu_us),
                }
    result["machine"]["load average at the end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return result


def print_result(result: dict) -> None:
    """Three tables: rates and CPU per message, the ratios, memory per connection."""
    counts = [c for c in map(str, result["settings"]["connections"])]
    counts = [c for c in counts if any(c in by for by in result["figures"].values())]
    print(
        f"\n## concurrency: {MESSAGE_BYTES}-byte echoes, messages/s and server CPU per message "
        f"(load generator's CPU per message), {result['settings']['rounds']} alternating rounds "
        f"of {result['settings']['seconds']} s\n"
    )
    headers = ["server"] + [f"{c} conn" for c in counts]
    rows = []
    for name, by in result["figures"].items():
        rows.append(
            [name]
            + [
                f"{fmt_count(by[c]['messages_per_s'])}/s, "
                f"{by[c]['server_cpu_us_per_message']:.0f} µs "
                f"({by[c]['client_cpu_us_per_message']:.0f} µs)"
                for c in counts
            ]
        )
    for pair, by in result["ratios"].items():
        rows.append([pair] + [fmt_ratio(by[c]["rate"]) for c in counts])
        rows.append([f"{pair}, CPU"] + [fmt_ratio(by[c]["cpu"]) for c in counts])
    print(table(headers, rows) if counts else "(nothing measured)")
    print(
        "\n(A / B: A's messages/s over B's; 'CPU': B's server CPU time per message over A's; "
        "medians of the per-round ratios, the middle half of the rounds in brackets; "
        "above 1 = A ahead.)"
    )
    memory_counts = [c for c in counts if int(c) >= MEMORY_FROM]
    if memory_counts:
        print("\nResident memory per connection (all open, after one echo each):\n")
        rows = [
            [name] + [f"{by[c]['memory_per_connection_kib']:.1f} KiB" for c in memory_counts]
            for name, by in result["figures"].items()
        ]
        print(table(["server"] + [f"{c} conn" for c in memory_counts], rows))
    busy = [
        f"{name} at {c}: {by[c]['client_busy']:.0%}"
        for name, by in result["figures"].items()
        for c in counts
        if by[c]["client_busy"] > 0.9
    ]
    if busy:
        print(
            "\nThe load generator was near a full core (it may be the bottleneck): "
            + ", ".join(busy)
        )
    others = [by[c]["other_busy"] for by in result["figures"].values() for c in counts]
    if others:
        print(
            f"\nCPU used by everything else during the turns (other programs, and kernel work "
            f"charged to no process): median {median(others):.2f}, at most {max(others):.2f} "
            f"of {result['machine']['cpus']} CPUs."
        )
    for note in result["notes"]:
        print(f"\nNote: {note}")


def load_results(path: Path = COURSE_COPY) -> dict:
    """The results a run wrote (by default the copy the course ships)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def save(result: dict, json_paths: Sequence[Path], png_path: Optional[Path]) -> None:
    """Write the JSON to each of ``json_paths`` and the plot to ``png_path``."""
    text = json.dumps(result, indent=1) + "\n"
    for path in json_paths:
        Path(path).write_text(text, encoding="utf-8")
        print(f"wrote {_shown(path)}")
    if png_path is not None:
        plot_concurrency(result).savefig(png_path, dpi=100)
        print(f"wrote {_shown(png_path)}")


def _shown(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if ROOT in path.parents else str(path)


def _counts(text: str) -> List[int]:
    counts = [int(x) for x in text.split(",") if x.strip()]
    if not counts or min(counts) < 1:
        raise ValueError
    return counts


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.concurrency",
        description="Echo servers, a thread per connection against asyncio, at 1 to 1000 "
        "connections: messages/s, CPU and memory per connection, with ratios.",
    )
    parser.add_argument("--quick", action="store_true", help="1 and 8 connections, short turns")
    parser.add_argument("--connections", help="comma-separated (default 1,8,200,1000)")
    parser.add_argument("--rounds", type=int, help="rounds a count (default 7; --quick 2)")
    parser.add_argument("--seconds", type=float, help="seconds a turn (default 0.75; --quick 0.2)")
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help=f"comma-separated, from: {', '.join(SERVERS)} (default: all)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument(
        "--no-save",
        action="store_true",
        help="a full run writes concurrency.json/.png and the course's copy: don't",
    )
    args = parser.parse_args(argv)
    try:
        counts = _counts(args.connections or ("1,8" if args.quick else "1,8,200,1000"))
    except ValueError:
        parser.error(f"--connections: not a list of counts: {args.connections!r}")
    rounds = args.rounds if args.rounds is not None else (2 if args.quick else 7)
    seconds = args.seconds if args.seconds is not None else (0.2 if args.quick else 0.75)
    if rounds < 1 or seconds <= 0:
        parser.error("--rounds must be 1 or more and --seconds above 0")
    names = [name.strip() for name in args.servers.split(",") if name.strip()]
    unknown = [name for name in names if name not in SERVERS]
    if unknown or not names:
        parser.error(f"unknown server(s): {', '.join(unknown) or '(none)'}")
    started = time.perf_counter()
    result = bench(names, counts, rounds, seconds, args.quick)
    print(f"# concurrency, commit {result['commit'][:12]}, {result['date']}")
    print(", ".join(f"{k}: {v}" for k, v in result["machine"].items()))
    print(f"open files: soft {result['open_files']['soft']}, hard {result['open_files']['hard']}")
    print_result(result)
    print(f"\ndone in {time.perf_counter() - started:.1f} s")
    if not args.quick and not args.no_save:
        save(result, [RESULTS_JSON, COURSE_COPY], RESULTS_PNG)
    if args.json:
        save(result, [args.json], None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
