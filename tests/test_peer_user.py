"""A kernel's server serves its own user only, and never needs a port another program holds.

On a shared host every learner's programs reach every learner's 127.0.0.1 ports. Here a
program of another user is a shell run as ``nobody`` (``setpriv``, as root): it opens a
TCP connection to each kind of server the course starts and sends a WebSocket request, and
must get 403, while this user's own clients are served. A port held by another program makes
``serve()`` listen on a free one, and running the same cell again replaces this process's own
server, never the other program's.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from helpers.leftovers import left_behind, open_things
from websockets.sync.client import connect

import wslearn
import wslearn.asyncio
from wslearn.capstone import load_pieces, serve_pieces
from wslearn.peer_user import _address, another_users, peer_uid
from wslearn.server import PortInUse, Server

ROOT = Path(__file__).resolve().parents[1]
NOBODY = 65534
REQUEST = (
    "GET / HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\nSec-WebSocket-Version: 13\\r\\n\\r\\n"
)

if sys.platform != "linux":  # the table of sockets and their users is Linux's
    pytest.skip("Linux only", allow_module_level=True)


def as_another_user(port: int) -> str:
    """What a program of user ``nobody`` gets back for a WebSocket request to ``port``."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        if os.environ.get("CI"):
            pytest.fail("the isolation tests need root and setpriv (util-linux) in CI")
        pytest.skip("needs root and setpriv to run a program as another user")
    script = f"exec 3<>/dev/tcp/127.0.0.1/{port}; printf '{REQUEST}' >&3; timeout 5 head -c 200 <&3"
    done = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         "bash", "-c", script],
        capture_output=True, text=True, timeout=15, check=False,
    )  # fmt: skip
    return done.stdout


@pytest.fixture
def no_leftovers() -> Iterator[None]:
    before = open_things()
    yield
    assert not left_behind(before), "a thread or a socket outlived the test"


def test_the_table_is_read_as_linux_writes_it() -> None:
    if sys.byteorder != "little":
        pytest.skip("the table's words are in this machine's byte order")
    assert _address("0100007F:223D") == ("127.0.0.1", 8765)
    assert _address("00000000000000000000000001000000:1F90") == ("::1", 8080)


@pytest.mark.parametrize("family, host", [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_a_connection_of_this_user_is_this_users(family: int, host: str) -> None:
    with socket.create_server((host, 0), family=family) as listener:
        with socket.create_connection((host, listener.getsockname()[1]), timeout=5):
            accepted, _ = listener.accept()
            with accepted:
                assert peer_uid(accepted) == os.geteuid()
                assert another_users(accepted) is None


def test_where_the_system_does_not_say_the_peer_is_let_in(monkeypatch) -> None:
    monkeypatch.setattr("wslearn.peer_user.TABLES", {})  # not Linux, as far as it knows
    with socket.create_server(("127.0.0.1", 0)) as listener:
        with socket.create_connection(("127.0.0.1", listener.getsockname()[1]), timeout=5):
            accepted, _ = listener.accept()
            with accepted:
                assert peer_uid(accepted) is None and another_users(accepted) is None


def test_an_ipv4_peer_of_a_dual_stack_server_is_found() -> None:
    with socket.create_server(("::", 0), family=socket.AF_INET6, dualstack_ipv6=True) as listener:
        with socket.create_connection(("127.0.0.1", listener.getsockname()[1]), timeout=5):
            accepted, _ = listener.accept()  # its peer is ::ffff:127.0.0.1
            with accepted:
                assert peer_uid(accepted) == os.geteuid()


def test_a_socket_pair_has_no_user_to_look_up() -> None:
    left, right = socket.socketpair()
    with left, right:
        assert peer_uid(left) is None and another_users(left) is None


def test_a_loopback_peer_the_tables_do_not_show_is_refused(monkeypatch) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        with socket.create_connection(("127.0.0.1", listener.getsockname()[1]), timeout=5):
            accepted, _ = listener.accept()
            with accepted:
                monkeypatch.setattr("wslearn.peer_user._sockets", lambda: [])  # read, not there
                assert "do not show" in (another_users(accepted) or "")


def test_the_threaded_server_refuses_another_users_program(no_leftovers) -> None:
    with wslearn.serve(port=0, show_errors=False) as server:
        answer = as_another_user(server.port)
        assert answer.startswith("HTTP/1.1 403"), answer
        with connect(server.url, open_timeout=5) as ws:  # this user's own client
            ws.send("mine")
            assert ws.recv(timeout=5) == "mine"
        refused, served = server.recorder.connections()
        assert (refused.status, served.status) == (403, 101)
        assert f"uid {NOBODY}" in refused.error
        assert refused.request_raw == b""  # refused before its request was read
        assert server.connections == []


def test_the_asyncio_server_refuses_another_users_program(no_leftovers) -> None:
    async def main() -> str:
        server = await wslearn.asyncio.serve(wslearn.asyncio.echo, port=0)
        async with server:
            answer = await asyncio.to_thread(as_another_user, server.port)
            ws = await wslearn.asyncio.connect(server.url)
            await ws.send("mine")
            assert await ws.recv() == "mine"
            await ws.close()
        return answer

    answer = asyncio.run(main())
    assert answer.startswith("HTTP/1.1 403"), answer


def test_the_learners_own_server_refuses_another_users_program(no_leftovers) -> None:
    with serve_pieces(load_pieces(ROOT / "student")) as server:
        answer = as_another_user(server.port)
        assert answer.startswith("HTTP/1.1 403"), answer
        with connect(server.url, open_timeout=5) as ws:
            ws.send("mine")
            assert ws.recv(timeout=5) == "mine"
    refused, served = server.recorder.connections()
    assert (refused.status, served.status) == (403, 101) and f"uid {NOBODY}" in refused.error


def test_notebook_08s_toy_server_and_foreign_site_let_no_other_user_in(no_leftovers) -> None:
    from wslearn.bad_examples.foreign_site import serve_foreign_site
    from wslearn.bad_examples.toy_server import serve_toy

    toy = serve_toy(port=0)
    try:
        assert as_another_user(toy.port) == ""  # closed before its handshake: no answer
        with connect(f"ws://127.0.0.1:{toy.port}/", open_timeout=5, compression=None) as ws:
            ws.send("mine")  # this user's client still gets the toy's (broken) service
            assert ws.recv(timeout=5) == "mine"
    finally:
        toy.stop()
    with serve_foreign_site("ws://127.0.0.1:9/") as site:
        assert as_another_user(site.port) == "" and site.visits == 0


def test_a_port_another_program_holds_gives_a_free_one_and_a_rerun_replaces_its_own(
    no_leftovers,
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as other_program:
        taken = other_program.getsockname()[1]
        with pytest.raises(PortInUse, match=f"port {taken} is already used by another program"):
            Server("127.0.0.1", taken).start()
        first = wslearn.serve(port=taken, show_errors=False)
        try:
            assert first.running and first.port not in (0, taken)
            assert first.requested_port == taken
            assert str(first.port) in first.url
            second = wslearn.serve(port=taken, show_errors=False)  # the same cell, run again
            try:
                assert not first.running and second.running  # its own server, replaced
                assert second.requested_port == taken and second.port != taken
                with connect(second.url, open_timeout=5) as ws:
                    ws.send("here")
                    assert ws.recv(timeout=5) == "here"
            finally:
                second.stop()
        finally:
            first.stop()
        # the other program's socket was never touched: it still listens
        with socket.create_connection(("127.0.0.1", taken), timeout=5):
            accepted, _ = other_program.accept()
            accepted.close()
