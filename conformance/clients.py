"""Drive a wslearn client through Autobahn|Testsuite's fuzzing server, the usual way.

    python conformance/clients.py --client threaded --url ws://127.0.0.1:9001 --agent NAME

``wstest -m fuzzingserver`` (started by ``run.py --client ...``) plays a server that sends
good, odd and broken frames; a client under test asks it what to do over WebSocket itself:

1. ``/getCaseCount``: one text message, the number of cases selected;
2. ``/runCase?case=N&agent=NAME`` for N = 1, 2, ...: echo every message back, text as text
   and binary as binary, until the server closes (the case is judged on what it saw);
3. ``/updateReports?agent=NAME``: the server writes its reports, then closes.

The client is ``wslearn.client.connect`` (``threaded``) or ``wslearn.asyncio.connect``
(``asyncio``), with a 16 MiB message limit (cases 9.* send messages that big), and no
compression offered. Prints one line per case; exit status 0 once the reports are updated.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any, Dict

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # python conformance/clients.py, from a source checkout
    sys.path.insert(0, str(ROOT))

from wslearn.errors import ConnectionClosed, WebSocketError  # noqa: E402

#: Cases 9.1.6 and 9.2.6 send 16 MiB messages.
MAX_SIZE = 16 * 2**20
#: Bounds on one case: the handshake, and the whole echo loop (the slowest case, 9.x, takes
#: a few seconds; a case that runs longer than this is a hang, cut so the run goes on).
OPEN_TIMEOUT = 10.0
CASE_SECONDS = 120.0
CLIENTS = ("threaded", "asyncio")


def options() -> Dict[str, Any]:
    return {"max_size": MAX_SIZE, "open_timeout": OPEN_TIMEOUT, "close_timeout": 3.0}


def asyncio_options() -> Dict[str, Any]:
    """The asyncio client's too, without its keepalive: Autobahn would count a Ping that
    arrives during a case as a wrong event."""
    return {**options(), "ping_interval": None}


def threaded_text(url: str) -> str:
    """One text message from ``url``, then the close (``/getCaseCount``, ``/updateReports``)."""
    from wslearn.client import connect

    with connect(url, **options()) as ws:
        try:
            return str(ws.recv(timeout=OPEN_TIMEOUT))
        except (ConnectionClosed, TimeoutError):
            return ""


def threaded_echo(url: str) -> str:
    """Echo until the server closes; return how the connection ended."""
    from wslearn.client import connect

    began = time.monotonic()
    with connect(url, **options()) as ws:
        while True:
            try:
                message = ws.recv(timeout=max(0.0, CASE_SECONDS - (time.monotonic() - began)))
            except ConnectionClosed:
                return f"closed {ws.close_code}"
            try:
                ws.send(message)
            except ConnectionClosed:
                pass  # the server closed meanwhile: recv() says how, next


async def asyncio_text(url: str) -> str:
    from wslearn.asyncio import connect  # type: ignore[import-not-found]

    connection = await connect(url, **asyncio_options())
    try:
        return str(await asyncio.wait_for(connection.recv(), OPEN_TIMEOUT))
    except (ConnectionClosed, asyncio.TimeoutError):
        return ""
    finally:
        await connection.close()


async def asyncio_echo(url: str) -> str:
    from wslearn.asyncio import connect

    connection = await connect(url, **asyncio_options())
    try:
        async for message in connection:
            try:
                await connection.send(message)
            except ConnectionClosed:
                pass
        return f"closed {connection.close_code}"
    finally:
        await connection.close()


def text(client: str, url: str) -> str:
    if client == "asyncio":
        return asyncio.run(asyncio_text(url))
    return threaded_text(url)


def echo(client: str, url: str) -> str:
    if client == "asyncio":
        return asyncio.run(asyncio.wait_for(asyncio_echo(url), CASE_SECONDS))
    return threaded_echo(url)


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", choices=CLIENTS, required=True)
    parser.add_argument("--url", required=True, help="the fuzzing server, ws://127.0.0.1:PORT")
    parser.add_argument("--agent", required=True, help="the name the reports use")
    args = parser.parse_args(argv)
    base = args.url.rstrip("/")
    count = int(text(args.client, f"{base}/getCaseCount") or 0)
    print(f"{count} cases", flush=True)
    for number in range(1, count + 1):
        began = time.monotonic()
        try:
            ended = echo(args.client, f"{base}/runCase?case={number}&agent={args.agent}")
        except (WebSocketError, OSError, asyncio.TimeoutError) as error:  # TimeoutError too
            ended = f"{type(error).__name__}: {error}"
        print(f"case {number}: {ended} ({time.monotonic() - began:.1f} s)", flush=True)
    text(args.client, f"{base}/updateReports?agent={args.agent}")
    print("reports updated", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
