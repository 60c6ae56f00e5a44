"""What permessage-deflate costs a server in memory, per connection, measured with many of them.

    python -m benchmarks.deflate_memory                     # 200 connections per setting
    python -m benchmarks.deflate_memory --connections 500 --json deflate_memory.json

With context takeover (RFC 7692's default), a server keeps a zlib compressor and an inflater
for every connection as long as it lives. zlib states their sizes (``zconf.h``): the
compressor 2**(wbits+2) + 2**(memLevel+9) bytes, the inflater 2**wbits, plus a few KiB of
state each. Notebook 09 measures one pair with ``tracemalloc``; this measures a whole server.

For each setting, a fresh ``python -m wslearn serve`` (compression off, then on with 9, 12 and
15 window bits) gets ``--connections`` clients. Each offers permessage-deflate
(``client_max_window_bits``, as Chromium does), sends one text message and reads the echo, so
that the server has made its compressor and its inflater; then all of them stay open while the
server's resident memory (``VmRSS`` in ``/proc/<pid>/status``) is read. The growth over a server
with one connection, divided by the number of connections, is what one connection costs.

Resident memory counts the pages a process has touched, not what it allocated: zlib's window
is touched only as far as data has passed through it. So each setting runs twice: after a
100-byte message a 15-bit server costs about what a 12-bit one does; after a 40,000-byte one
(more than a 32 KiB window) the whole window is resident, and stays so while the connection
lives. Without compression a connection costs memory too (a thread, buffers, and what the
allocator keeps of a 40 KB message), and more bytes cross uncompressed: compare the deflate
rows with each other, and with zlib's formula for ``wslearn.serve``'s ``mem_level`` 5.

Measured on 2026-12-01 (2 cores, Python 3.11, zlib 1.2.13), 200 connections: 100-byte
message, 38 / 74 / 83 / 82 KiB per connection (off, 9, 12, 15 bits); 40,000-byte message,
187 / 138 / 160 / 263 KiB. The 15-bit server holds about 100 KiB more per busy connection than
the 12-bit one: the two bigger windows, as the formula says.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

if __package__ in (None, ""):  # python benchmarks/deflate_memory.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import table  # noqa: E402
from benchmarks.servers import ServerProcess  # noqa: E402
from wslearn import (  # noqa: E402
    Connection,
    DeflateParameters,
    PerMessageDeflate,
    Text,
    check_deflate_answer,
    check_response,
    client_request,
    parse_response,
)

#: What every client offers: Chromium's offer (RFC 7692 §7.1.2.2, "you choose my window").
OFFER = DeflateParameters(client_max_window_bits=15)
WORDS = "ok yes no see you at five lunch today meeting moved to room thanks on my way".split()
#: (name, window bits or None for no compression)
SETTINGS: List[Tuple[str, Optional[int]]] = [
    ("compression off", None),
    ("deflate, 9 bits", 9),
    ("deflate, 12 bits", 12),
    ("deflate, 15 bits", 15),
]
TIMEOUT = 10.0


def start_server(bits: Optional[int]) -> ServerProcess:
    """``python -m wslearn serve`` with compression off, or on with ``bits`` window bits."""
    argv = [sys.executable, "-m", "wslearn", "serve", "--quiet", "--port", "0"]
    if bits is not None:
        argv += ["--compression", "deflate", "--window-bits", str(bits)]
    return ServerProcess(f"wslearn ({bits or 'no'} bits)", argv)


def text_of(size: int) -> str:
    """``size`` characters of random words: text that compresses about as chat does."""
    rng = random.Random(7692)
    words: List[str] = []
    length = 0
    while length < size:
        words.append(rng.choice(WORDS))
        length += len(words[-1]) + 1
    return " ".join(words)[:size]


def connect(port: int, message: str) -> Tuple[socket.socket, Connection]:
    """A client that offers permessage-deflate, has sent ``message`` and read its echo."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    request, key = client_request(f"127.0.0.1:{port}", deflate=OFFER)
    sock.sendall(request)
    buffer = b""
    while (response := parse_response(buffer)) is None:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed during the handshake")
        buffer += data
    check_response(response, key, deflate=OFFER)
    agreed = check_deflate_answer(response.headers.get_all("Sec-WebSocket-Extensions"), OFFER)
    codec = PerMessageDeflate("client", agreed) if agreed is not None else None
    protocol = Connection("client", deflate=codec)
    protocol.send_text(message)
    sock.sendall(protocol.data_to_send())
    data = buffer[len(response.raw) :]
    deadline = time.monotonic() + TIMEOUT
    while not any(isinstance(e, Text) for e in protocol.receive_data(data)):
        if time.monotonic() > deadline:
            raise TimeoutError("no echo in time")
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("the server closed before echoing")
    return sock, protocol


def rss(server: ServerProcess) -> int:
    """The server's resident memory now, in bytes, after it has settled for a moment."""
    time.sleep(0.3)
    return server.peak_rss()[1]


def measure(bits: Optional[int], connections: int, message: str) -> Dict[str, float]:
    """Resident memory of a server with one connection, then with ``connections`` more."""
    server = start_server(bits)
    clients: List[Tuple[socket.socket, Connection]] = []
    try:
        # The first one warms up threads and buffers.
        clients.append(connect(server.port, message))
        before = rss(server)
        for _ in range(connections):
            clients.append(connect(server.port, message))
        after = rss(server)
    finally:
        for sock, _ in clients:
            sock.close()
        server.stop()
    return {
        "window_bits": bits or 0,
        "connections": connections,
        "rss_one": before,
        "rss_all": after,
        "per_connection": (after - before) / connections,
    }


def zlib_formula(bits: int, mem_level: int = 5) -> int:
    """zlib's own figure (``zconf.h``) for one compressor and one inflater of a connection.

    ``mem_level=5``: what ``wslearn.serve`` uses (``wslearn.server_settings``).
    """
    return 2 ** (bits + 2) + 2 ** (mem_level + 9) + 2**bits


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=200, help="clients per setting")
    parser.add_argument(
        "--message-bytes",
        type=int,
        nargs="+",
        default=[100, 40_000],
        help="the one message each client sends; one run per size (default: 100 40000)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    results: Dict[str, Dict[str, Dict[str, float]]] = {}
    for name, bits in SETTINGS:
        results[name] = {
            str(size): measure(bits, args.connections, text_of(size)) for size in args.message_bytes
        }
    rows = []
    for name, bits in SETTINGS:
        cells = [f"{r['per_connection'] / 1024:.0f} KiB" for r in results[name].values()]
        formula = "" if bits is None else f"{zlib_formula(bits) / 1024:.0f} KiB"
        rows.append([name, *cells, formula])
    print(
        f"Resident memory per connection of python -m wslearn serve, {args.connections} "
        "connections open, after one message each way"
    )
    headers = ["setting"] + [f"{size}-byte message" for size in args.message_bytes]
    print(table(headers + ["zlib's formula (deflate only)"], rows))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
