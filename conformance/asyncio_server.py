"""wslearn's asyncio server as an echo server, for a conformance run (``run.py --server asyncio``).

    python conformance/asyncio_server.py [--compression deflate]

Listens on a free port of 127.0.0.1, prints its ``ws://`` URL on one line and echoes
every message until SIGTERM or Ctrl-C. Its settings are the threaded server's in a conformance
run: a 16 MiB message limit (cases 9.* send messages that big), no keepalive Pings (Autobahn
would count a Ping that arrives during a case as a wrong event), no compression unless
``--compression deflate``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # python conformance/asyncio_server.py, from a source checkout
    sys.path.insert(0, str(ROOT))

MAX_SIZE = 16 * 2**20


async def echo(connection: Any) -> None:
    """Send every message back, text as text and binary as binary."""
    async for message in connection:
        await connection.send(message)


async def main(compression: Optional[str]) -> None:
    import wslearn.asyncio  # type: ignore[import-not-found]

    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    server = await wslearn.asyncio.serve(
        echo,
        host="127.0.0.1",
        port=0,
        max_size=MAX_SIZE,
        ping_interval=None,
        compression=compression,
    )
    async with server:
        print(f"wslearn.asyncio echo server on {server.url}", flush=True)
        await stop


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--compression", choices=["deflate"], help="accept permessage-deflate")
    asyncio.run(main(cli.parse_args().compression))
