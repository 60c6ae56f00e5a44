"""The ``echo`` benchmark: messages per second and round-trip latency over loopback.

Each server (:mod:`benchmarks.servers`) echoes binary messages for 1 and 8
connections, 32 B and 1 MiB messages, in a closed loop: each connection sends its
next message when the echo of the previous one is back. The load comes from this
process alone, all connections in one ``selectors`` loop, the same for every server.
"""

from __future__ import annotations

import os
import selectors
import socket
import time
from typing import Dict, List, Tuple

from benchmarks.common import KiB, MiB, Settings, fmt_count, median, table
from benchmarks.servers import Client, start_servers
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


def bench(settings: Settings) -> dict:
    """Rate and latency of every server in every case, and wslearn's ratio to each."""
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


def print_result(result: dict) -> None:
    """The section's title and its table: a row a server, a column a case, then the ratios."""
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
