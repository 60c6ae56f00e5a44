"""The servers the ``echo`` and ``memory`` benchmarks measure, and the client that drives them.

Each server runs in its own process on 127.0.0.1 with a free port
(:class:`ServerProcess`, started by :func:`start_servers`): wslearn's real command
line, ``python -m wslearn serve``, and websockets' threaded and asyncio servers
(``peer_server.py``). Each prints its ``ws://`` URL on one line, and is stopped at
the end of its section, whatever happens. :class:`Client` is one connection: a raw
socket driven by wslearn's sans-I/O ``Connection``, the same for every server, so a
ratio compares servers, not clients.
"""

from __future__ import annotations

import selectors
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Tuple

from benchmarks.common import HERE, ROOT
from wslearn.connection import Binary, Connection
from wslearn.handshake import check_response, client_request
from wslearn.http11 import parse_response


class ServerProcess:
    """A server in its own process on 127.0.0.1; ``stop()`` ends it (always called)."""

    def __init__(self, name: str, argv: List[str]) -> None:
        self.name = name
        self.process = subprocess.Popen(
            argv,
            cwd=str(ROOT),
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


def start_servers(max_size: str = "16MiB") -> List[ServerProcess]:
    """wslearn's server and websockets' two, each started; all stopped if one fails to start."""
    python = sys.executable
    servers: List[ServerProcess] = []
    specs = [
        (
            "wslearn",
            [python, "-m", "wslearn", "serve", "--quiet", "--port", "0", "--max-size", max_size],
        ),
        ("websockets threaded", [python, str(HERE / "peer_server.py"), "threaded"]),
        ("websockets asyncio", [python, str(HERE / "peer_server.py"), "asyncio"]),
    ]
    try:
        for name, argv in specs:
            servers.append(ServerProcess(name, argv))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


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
