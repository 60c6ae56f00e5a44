"""The servers the ``echo`` and ``memory`` benchmarks measure, and the client that drives them.

Each server runs in its own process on 127.0.0.1 with a free port
(:class:`ServerProcess`, started by :func:`start_servers`): wslearn's real command
line, ``python -m wslearn serve``, and websockets' threaded and asyncio servers
(``peer_server.py``). :func:`wslearn_server` can also start wslearn from another source
tree (``tree``: a folder holding a ``wslearn`` package), so two versions of the server can
be compared in one run. Each prints its ``ws://`` URL on one line, and is stopped at
the end of its section, whatever happens. :class:`Client` is one connection: a raw
socket driven by wslearn's sans-I/O ``Connection``, the same for every server, so a
ratio compares servers, not clients.

The ``concurrency`` benchmark adds two asyncio echo servers that run from this module,
``python -m benchmarks.servers wslearn-asyncio|websockets-asyncio`` (:func:`asyncio_server`):
wslearn's ``wslearn.asyncio.serve`` and websockets' ``websockets.asyncio.server.serve``, with
keepalive and compression off, so that an idle connection costs no CPU and the frames are the
same for every server. :func:`raise_open_files` lets a process hold a thousand sockets.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Tuple

from benchmarks.common import HERE, ROOT
from wslearn.connection import Binary, Connection
from wslearn.handshake import check_response, client_request
from wslearn.http11 import parse_response


class ServerProcess:
    """A server in its own process on 127.0.0.1; ``stop()`` ends it (always called).

    ``cwd`` and ``env`` default to the repository's root and this process's environment.
    """

    def __init__(
        self,
        name: str,
        argv: List[str],
        cwd: Optional[Path] = None,
        env: Optional[Dict[str, str]] = None,
    ) -> None:
        self.name = name
        self.process = subprocess.Popen(
            argv,
            cwd=str(cwd or ROOT),
            env=env,
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

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (user + system, all its threads).

        From ``/proc/<pid>/stat`` (fields 14 and 15, in clock ticks): the threads that have
        ended are counted too. A server's CPU time per message depends much less on what
        else the machine runs than its messages per second do.
        """
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (name) "
        ticks = int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat
        return ticks / os.sysconf("SC_CLK_TCK")

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


class ServerSpec:
    """How to start one server: its name, its command line, its folder and environment."""

    def __init__(
        self,
        name: str,
        argv: List[str],
        cwd: Optional[Path] = None,
        env: Optional[Dict[str, str]] = None,
    ) -> None:
        self.name, self.argv, self.cwd, self.env = name, argv, cwd, env

    def start(self) -> ServerProcess:
        return ServerProcess(self.name, self.argv, self.cwd, self.env)


def wslearn_server(
    name: str = "wslearn",
    tree: Optional[Path] = None,
    max_size: str = "16MiB",
    options: Sequence[str] = (),
) -> ServerSpec:
    """wslearn's real command line; from ``tree`` (a folder holding ``wslearn/``) if given.

    ``options`` are more arguments of ``python -m wslearn serve`` (``--ping-interval none``).
    A tree's server runs with that folder as its working directory and first on
    ``PYTHONPATH``: ``python -m`` puts the working directory first on ``sys.path``, so the
    repository's own ``wslearn`` (or the installed one) cannot shadow the tree's.
    """
    argv = [sys.executable, "-m", "wslearn", "serve", "--quiet", "--port", "0"]
    argv += ["--max-size", max_size, *options]
    if tree is None:
        return ServerSpec(name, argv)
    tree = Path(tree).resolve()
    if not (tree / "wslearn" / "__init__.py").is_file():
        raise ValueError(f"{tree} holds no wslearn package (no wslearn/__init__.py)")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return ServerSpec(name, argv, cwd=tree, env=env)


def websockets_server(kind: str) -> ServerSpec:
    """websockets' echo server, ``threaded`` or ``asyncio`` (``peer_server.py``)."""
    return ServerSpec(f"websockets {kind}", [sys.executable, str(HERE / "peer_server.py"), kind])


def asyncio_server(kind: str, max_size: int = 2**20) -> ServerSpec:
    """An asyncio echo server run by this module: ``wslearn`` or ``websockets``.

    Named ``wslearn asyncio`` or ``websockets asyncio``; keepalive and compression off, messages
    up to ``max_size`` bytes (see :func:`serve_asyncio`).
    """
    if kind not in ASYNCIO_SERVERS:
        raise ValueError(f"no asyncio server {kind!r} (try {' or '.join(ASYNCIO_SERVERS)})")
    argv = [sys.executable, "-m", "benchmarks.servers", f"{kind}-asyncio"]
    return ServerSpec(f"{kind} asyncio", argv + ["--max-size", str(max_size)])


def start(specs: Sequence[ServerSpec]) -> List[ServerProcess]:
    """Start every server in ``specs``; if one fails to start, stop the others and raise."""
    servers: List[ServerProcess] = []
    try:
        for spec in specs:
            servers.append(spec.start())
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


def start_servers(max_size: str = "16MiB") -> List[ServerProcess]:
    """wslearn's server and websockets' two, each started; all stopped if one fails to start."""
    return start(
        [
            wslearn_server(max_size=max_size),
            websockets_server("threaded"),
            websockets_server("asyncio"),
        ]
    )


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

    def receive_message(self, timeout: float) -> bytes:
        """The next binary message (the echo), read until it is whole or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        data = self.leftover
        self.leftover = b""
        while True:
            if data:
                for event in self.protocol.receive_data(data):
                    if isinstance(event, Binary):
                        return event.data
            if time.monotonic() > deadline:
                raise TimeoutError("no echo in time")
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError("server closed the connection")

    def close(self) -> None:
        """Close the WebSocket connection (code 1000), wait for the server's end, close."""
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


# ------------------------------------------------------------ the asyncio servers, run from here


def raise_open_files() -> Tuple[int, int]:
    """Raise this process's open-file limit (``RLIMIT_NOFILE``) to its hard limit.

    Every socket is a file descriptor, and the usual soft limit (often 1024) stops a process
    near a thousand connections; the hard limit is as far as an unprivileged process may go.
    Child processes inherit the raised limit. Returns (soft, hard) as they are now.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:  # then the kernel's own cap applies
        hard_cap = 1 << 20
    else:
        hard_cap = hard
    if soft != resource.RLIM_INFINITY and soft < hard_cap:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard_cap, hard))
        except (ValueError, OSError):  # e.g. above the kernel's nr_open: keep what we have
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)


async def _run_wslearn_asyncio(max_size: int, stop: "asyncio.Future[None]") -> None:
    import wslearn.asyncio

    async def echo(connection: Any) -> None:
        async for message in connection:
            await connection.send(message)

    server = await wslearn.asyncio.serve(
        echo, "127.0.0.1", 0, max_size=max_size, ping_interval=None, compression=None
    )
    async with server:
        print(f"ws://127.0.0.1:{server.port}/", flush=True)
        await stop


async def _run_websockets_asyncio(max_size: int, stop: "asyncio.Future[None]") -> None:
    from websockets.asyncio.server import serve

    async def echo(websocket: Any) -> None:
        async for message in websocket:
            await websocket.send(message)

    async with serve(
        echo, "127.0.0.1", 0, max_size=max_size, ping_interval=None, compression=None
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"ws://127.0.0.1:{port}/", flush=True)
        await stop


#: kind -> the coroutine that runs that asyncio echo server until ``stop`` is done.
ASYNCIO_SERVERS: Dict[str, Callable[[int, "asyncio.Future[None]"], Awaitable[None]]] = {
    "wslearn": _run_wslearn_asyncio,
    "websockets": _run_websockets_asyncio,
}


def serve_asyncio(kind: str, max_size: int) -> None:
    """Run one asyncio echo server on 127.0.0.1, a free port, until SIGTERM.

    Prints ``ws://127.0.0.1:PORT/`` on one line once it listens (what :class:`ServerProcess`
    waits for). Keepalive is off (``ping_interval=None``: an idle connection costs no CPU, as
    in ``python -m wslearn serve --ping-interval none``) and so is compression.
    """
    raise_open_files()

    async def main() -> None:
        stop: "asyncio.Future[None]" = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
        await ASYNCIO_SERVERS[kind](max_size, stop)

    asyncio.run(main())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.servers",
        description="An asyncio echo server for the benchmarks, on 127.0.0.1 and a free port.",
    )
    parser.add_argument("kind", choices=[f"{kind}-asyncio" for kind in ASYNCIO_SERVERS])
    parser.add_argument("--max-size", type=int, default=2**20, help="largest message, bytes")
    arguments = parser.parse_args()
    serve_asyncio(arguments.kind.split("-")[0], arguments.max_size)
