"""The ``memory`` benchmark: a server's peak resident memory while it echoes one big message.

A fresh process of each server (:mod:`benchmarks.servers`) echoes a small warm-up
message, then one 16 MiB message (4 MiB with ``--quick``). Its peak resident memory,
``VmHWM`` in ``/proc/<pid>/status``, is read before and after the big echo: the
growth is what echoing the message cost the server.
"""

from __future__ import annotations

import os
import time

from benchmarks.common import MiB, Settings, table
from benchmarks.servers import Client, start_servers


def bench(settings: Settings) -> dict:
    """server name -> its peak RSS before and after the echo, the growth, the round trip."""
    size = settings.memory_size
    results = {}
    for server in start_servers():
        try:
            client = Client(server.port)
            try:
                client.protocol.send_binary(b"warm up")
                client.sock.sendall(client.protocol.data_to_send())
                client.receive_message(10.0)
                time.sleep(0.1)
                before, _ = server.peak_rss()
                payload = os.urandom(size)
                client.protocol.send_binary(payload)
                data = client.protocol.data_to_send()
                start = time.perf_counter()
                client.sock.sendall(data)
                del data
                echoed = client.receive_message(60.0)
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


def print_result(result: dict) -> None:
    """The section's title and its table: a row a server."""
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
