"""A websockets echo server, the reference a conformance run can be compared with.

    python conformance/websockets_server.py [--port PORT] [--compression deflate]

Listens on 127.0.0.1 (a free port by default), prints ``ws://127.0.0.1:PORT/`` on one line
and echoes every message until SIGTERM or Ctrl-C. Its settings match the wslearn server's
in a conformance run: 16 MiB message limit, no compression unless ``--compression deflate``
(websockets' own defaults then: windows of 12 bits, memLevel 5), no keepalive Pings
(Autobahn would count a Ping that arrives during a case as a wrong event).

One default is raised: websockets refuses a message of more than 4096 fragments (a guard
against memory exhaustion, set by the environment variable WEBSOCKETS_MAX_FRAGMENTS), and
cases 9.3.1-9.3.3 and 9.4.1-9.4.3 send 4 MiB in fragments of 64 B to 1 KiB, up to 65536 of
them. wslearn's server has no such count for fragments that carry data, so the reference
allows 2**17 here: those cases then compare how each server assembles a message, not this
policy. Run the file with the variable set to see websockets' default at work.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

# Read by websockets when it is imported: set it first (an explicit value wins).
os.environ.setdefault("WEBSOCKETS_MAX_FRAGMENTS", str(2**17))

from websockets.asyncio.server import ServerConnection, serve  # noqa: E402

MAX_SIZE = 16 * 2**20


async def echo(websocket: ServerConnection) -> None:
    """Send every message back, text as text and binary as binary."""
    async for message in websocket:
        await websocket.send(message)


async def main(port: int, compression: str) -> None:
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(
        echo,
        "127.0.0.1",
        port,
        compression=None if compression == "none" else compression,
        max_size=MAX_SIZE,
        ping_interval=None,
    ) as server:
        bound = next(iter(server.sockets)).getsockname()[1]
        print(f"websockets echo server on ws://127.0.0.1:{bound}/", flush=True)
        await stop


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port (default 0: any free)")
    parser.add_argument("--compression", choices=["none", "deflate"], default="none")
    args = parser.parse_args()
    asyncio.run(main(args.port, args.compression))
