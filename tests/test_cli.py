"""``python -m wslearn serve``: the server in the foreground, as a learner runs it in a terminal."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from typing import List

import pytest
from helpers import rawclient as rc
from helpers.foreground import ROOT, Foreground
from websockets.exceptions import ConnectionClosedError

import wslearn
from wslearn.__main__ import parse_size

pytestmark = pytest.mark.timeout(60)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


FRAME_LINE = re.compile(r"^#\d+ (->|<-) ")
MiB = 2**20


def run(*args: str, timeout: float = 10) -> subprocess.CompletedProcess:
    """Run ``python -m wslearn ARGS`` to the end."""
    return subprocess.run(
        [sys.executable, "-m", "wslearn", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_serve_prints_its_url_and_one_line_per_frame_then_stops_on_ctrl_c(foreground):
    server = foreground()
    assert "test page: http://127.0.0.1:" in server.lines[0]
    rc.assert_echoes(server.url, "hello from the terminal")
    incoming = server.wait_for_line(r"-> TEXT")
    assert "masked=1" in incoming and "'hello from the terminal'" in incoming
    outgoing = server.wait_for_line(r"<- TEXT")
    assert "masked=0" in outgoing
    server.wait_for_line(r"-> CLOSE .*\) 1000$")  # the Close payload as Close.describe shows it
    assert server.interrupt() == 0
    assert any("stopping" in line for line in server.lines)
    assert not any("Traceback" in line for line in server.lines)


def test_close_payloads_are_printed_as_code_then_quoted_reason(foreground):
    server = foreground()
    with rc.handshake(server.port) as sock:
        sock.sendall(rc.close_frame(1000, "bye 👋".encode()))
        assert rc.close_code_of(rc.read_frame(sock)) == 1000
        assert sock.recv(1024) == b""
    incoming = server.wait_for_line(r"-> CLOSE ")
    outgoing = server.wait_for_line(r"<- CLOSE ")
    assert incoming.endswith(') 1000 "bye 👋"'), incoming
    assert outgoing.endswith(') 1000 "bye 👋"'), outgoing
    assert "code=" not in incoming + outgoing
    assert server.interrupt() == 0


def test_ctrl_c_closes_an_open_connection_with_1001(foreground):
    server = foreground("--quiet")
    with rc.handshake(server.port) as sock:
        server.process.send_signal(signal.SIGINT)
        assert rc.close_code_of(rc.read_frame(sock)) == 1001
        sock.sendall(rc.close_frame(1001))  # answer, so the server need not wait
        assert sock.recv(1024) == b""
    assert server.exit_code() == 0
    assert any("stopping" in line for line in server.lines)


def test_quiet_prints_no_frame_lines(foreground):
    server = foreground("--quiet")
    rc.assert_echoes(server.url, "not printed")
    assert server.interrupt() == 0
    assert any("stopping" in line for line in server.lines)
    assert [line for line in server.lines if FRAME_LINE.match(line)] == []
    assert not any("not printed" in line for line in server.lines)


def test_max_size_16mib_echoes_16mib_and_refuses_one_byte_more_with_1009(foreground):
    server = foreground("--max-size", "16MiB")
    data = bytes(range(256)) * (16 * MiB // 256)
    assert len(data) == 16 * MiB
    with rc.connect_ws(server.url, max_size=None, close_timeout=5) as ws:
        start = time.perf_counter()
        ws.send(data)
        echo = ws.recv(timeout=30)
        took = time.perf_counter() - start
        assert echo == data
        print(f"\n16 MiB binary echo through `python -m wslearn serve`: {took * 1000:.0f} ms")
        with pytest.raises(ConnectionClosedError) as closed:
            ws.send(data + b"!")
            ws.recv(timeout=10)
    # The server announces the refusal before reading the payload.
    refusal = server.wait_for_line(r'<- CLOSE .*\) 1009 "frame announces')
    assert "16777217" in refusal
    # The client reads that Close although it was still sending: the server half-closes and
    # drains instead of resetting (test_failed_connection_ends_with_fin_even_when_...).
    assert closed.value.rcvd is not None, "the Close frame was lost"
    assert closed.value.rcvd.code == 1009
    assert server.interrupt() == 0


def test_help_names_the_serve_command():
    done = run("--help")
    assert done.returncode == 0
    assert "serve" in done.stdout
    done = run("serve", "--help")
    assert done.returncode == 0
    assert "--max-size" in done.stdout and "--quiet" in done.stdout


def test_the_handler_choices_are_the_servers_built_in_handlers():
    from wslearn.__main__ import build_parser
    from wslearn.server import BUILTIN_HANDLERS

    for name in BUILTIN_HANDLERS:
        assert build_parser().parse_args(["serve", "--handler", name]).handler == name
    done = run("serve", "--help")
    for name, function in BUILTIN_HANDLERS.items():
        assert f"{name}: {function.__doc__}".rstrip(".") in " ".join(done.stdout.split())
    done = run("serve", "--handler", "shout")
    assert done.returncode == 2 and "invalid choice: 'shout'" in done.stderr


def test_no_command_is_a_usage_error():
    done = run()
    assert done.returncode == 2
    assert "usage:" in done.stderr


@pytest.mark.parametrize("size", ["banana", "12XB", "-5"])
def test_max_size_that_is_not_a_size_exits_2(size):
    done = run("serve", "--max-size", size)
    assert done.returncode == 2
    assert "not a size" in done.stderr or "expected one argument" in done.stderr


@pytest.mark.parametrize("size", ["0", "0MiB", " 0 KiB"])
def test_max_size_zero_is_refused_never_taken_as_no_limit(size):
    done = run("serve", "--max-size", size)
    assert done.returncode == 2, done.stdout
    assert "would refuse every message" in done.stderr and "'none'" in done.stderr


@pytest.mark.parametrize(
    "text, size",
    [("none", None), ("unlimited", None), ("1", 1), ("64KiB", 65536), ("16MiB", 2**24)],
)
def test_max_size_parses_sizes_and_none(text, size):
    assert parse_size(text) == size


def test_out_of_file_descriptors_the_server_answers_503_and_serves_again_later(foreground):
    # With 64 descriptors the server runs out after a few dozen open connections. The
    # client that finds it full is told 503 (not left waiting), and once some connections
    # close, the next client is served: the accept loop lived through EMFILE.
    server = foreground("--quiet", max_open_files=64)
    open_sockets: List[socket.socket] = []
    refused = None
    try:
        for _ in range(80):
            try:
                open_sockets.append(rc.handshake(server.port, timeout=5))
            except wslearn.InvalidResponse as error:
                refused = error
                break
        assert refused is not None, "64 descriptors and still no refusal?"
        assert refused.status == 503, refused
        assert 20 < len(open_sockets) < 64
        for sock in open_sockets[:5]:
            sock.close()
        assert rc.wait_until(lambda: _can_connect(server.port), seconds=10)
    finally:
        for sock in open_sockets:
            sock.close()
    assert server.interrupt() == 0


def _can_connect(port: int) -> bool:
    try:
        rc.handshake(port, timeout=2).close()
    except (wslearn.InvalidResponse, OSError, AssertionError):
        return False
    return True


def test_by_default_a_page_of_another_site_gets_403_and_star_lets_every_page_in(foreground):
    evil = rc.request(headers=[("Origin", "https://evil.example")])
    laptop = rc.request(headers=[("Origin", "http://localhost:8888")])  # the notebook's page
    server = foreground("--quiet")
    status, _, body = rc.exchange_http(server.port, evil)
    assert status == 403 and b"--origin" in body
    with rc.open_socket(server.port) as sock:
        sock.sendall(laptop)
        assert sock.recv(12) == b"HTTP/1.1 101"
    rc.assert_echoes(server.url)  # a program that sends no Origin
    assert server.interrupt() == 0
    server = foreground("--quiet", "--origin", "*")
    with rc.open_socket(server.port) as sock:
        sock.sendall(evil)
        assert sock.recv(12) == b"HTTP/1.1 101"
    assert server.interrupt() == 0


def test_an_endless_message_of_empty_fragments_is_closed_with_1008(foreground):
    # Empty fragments count nothing against --max-size; the server stops the message at
    # MAX_EMPTY_FRAGMENTS of them (1000), long before the 5000 sent here.
    server = foreground("--quiet")
    sock = rc.handshake(server.port)
    with sock:
        data = rc.frame(0x2, b"", fin=False) + rc.frame(0x0, b"", fin=False) * 5000
        try:
            sock.sendall(data)
        except OSError:
            pass  # the server may close before taking it all: what it answered still counts
        frames, closed = rc.read_frames(sock, seconds=10)
    assert closed and [f.opcode for f in frames] == [wslearn.Opcode.CLOSE], frames
    assert rc.close_code_of(frames[0]) == 1008
    assert b"more than 1000 empty fragments" in frames[0].payload
    assert server.interrupt() == 0


def test_port_used_by_another_program_exits_1_with_a_clear_message():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        done = run("serve", "--port", str(port))
    assert done.returncode == 1
    assert f"127.0.0.1:{port}" in done.stderr
    assert "already used by another program" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_close_timeout_bounds_ctrl_c_when_a_peer_never_answers_the_close():
    server = Foreground("--close-timeout", "0.3")
    try:
        with rc.handshake(server.port) as sock:  # a raw client that never answers
            time.sleep(0.2)
            started = time.monotonic()
            assert server.interrupt(10) == 0
            assert time.monotonic() - started < 2.5  # the default would wait 3 s
            frames, _closed = rc.read_frames(sock, seconds=2)
            assert [rc.close_code_of(f) for f in frames] == [1001]
    finally:
        if server.process.poll() is None:
            server.process.kill()
