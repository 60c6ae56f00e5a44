"""A websockets echo server in its own process, for the echo and memory benchmarks.

    python benchmarks/peer_server.py threaded|asyncio

Binds 127.0.0.1 on a free port, prints ``ws://127.0.0.1:PORT/`` on one line, and
echoes every message until it gets SIGTERM. No compression (the benchmark client
offers none), 16 MiB message limit like ``python -m wslearn serve --max-size 16MiB``.
"""

from __future__ import annotations

import signal
import sys
import threading

MAX_SIZE = 16 * 2**20


def _threaded() -> None:
    from websockets.sync.server import serve

    def echo(websocket) -> None:
        for message in websocket:
            websocket.send(message)

    with serve(echo, "127.0.0.1", 0, compression=None, max_size=MAX_SIZE) as server:
        print(f"ws://127.0.0.1:{server.socket.getsockname()[1]}/", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
        server.serve_forever()


def _asyncio() -> None:
    import asyncio

    from websockets.asyncio.server import serve

    async def echo(websocket) -> None:
        async for message in websocket:
            await websocket.send(message)

    async def main() -> None:
        stop = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
        async with serve(echo, "127.0.0.1", 0, compression=None, max_size=MAX_SIZE) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            print(f"ws://127.0.0.1:{port}/", flush=True)
            await stop

    asyncio.run(main())


if __name__ == "__main__":
    {"threaded": _threaded, "asyncio": _asyncio}[sys.argv[1]]()
