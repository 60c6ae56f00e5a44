"""The learner's server, built from the pieces: conformant with the teacher's pieces and with
the library's, and still serving when a learner's function raises (that connection gets 1011).

Everything runs on 127.0.0.1; every server is stopped and leaves no thread or socket behind.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, Iterator

import pytest
from helpers.leftovers import left_behind, open_things
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from wslearn.capstone import run_conformance
from wslearn.capstone.pieces import Pieces, load_pieces
from wslearn.capstone.server import LearnerServer, serve_pieces

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_leftovers() -> Iterator[None]:
    before = open_things()
    yield
    assert not left_behind(before), "a thread or a socket outlived the test"


def boom(*args: Any) -> Any:
    raise RuntimeError("a bug in the learner's function")


@pytest.mark.parametrize("folder", ["notebooks", "student"])
def test_the_server_passes_every_case(folder: str, no_leftovers: None) -> None:
    pieces = load_pieces(ROOT / folder)
    assert (pieces.borrowed == []) if folder == "notebooks" else (pieces.yours == [])
    with serve_pieces(pieces) as server:
        report = run_conformance(server.port)
        assert report.passed == report.total == 12, str(report)
        assert server.errors == []
        frames = server.recorder.frames()
        assert {frame.direction for frame in frames} == {"in", "out"}
        assert any(frame.opcode_name == "PONG" and frame.direction == "out" for frame in frames)
    assert server.stop() is True  # stopping twice is fine


def test_a_piece_that_raises_fails_its_connection_with_1011(no_leftovers: None) -> None:
    pieces = load_pieces(ROOT / "notebooks")
    pieces["decode_frame"].function = boom
    with serve_pieces(pieces) as server:
        with connect(server.url, open_timeout=5) as client:
            client.send("hello")
            with pytest.raises(ConnectionClosed) as closed:
                client.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
        assert [error.piece for error in server.errors] == ["decode_frame"]
        assert "RuntimeError: a bug in the learner's function" in str(server.errors[0])
        # The server goes on: a handshake still succeeds.
        report = run_conformance(server.port, cases=["handshake-valid"])
        assert report.passed == 1, str(report)


def test_a_handshake_piece_that_raises_gets_a_500(no_leftovers: None) -> None:
    pieces = load_pieces(ROOT / "student")
    pieces["status_for"].function = boom
    with serve_pieces(pieces) as server:
        for _ in range(2):
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                assert sock.recv(100).startswith(b"HTTP/1.1 500 ")
        assert [error.piece for error in server.errors] == ["status_for"] * 2


def test_bad_peers_end_their_own_connection(no_leftovers: None) -> None:
    pieces = load_pieces(ROOT / "student")
    with serve_pieces(pieces) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 4000)  # a head over 16 KiB
            assert sock.recv(100).startswith(b"HTTP/1.1 431 ")
        idle = socket.create_connection(("127.0.0.1", server.port), timeout=5)  # says nothing
        with connect(server.url, open_timeout=5) as client:
            client.send(b"\x00\xff")
            assert client.recv(timeout=5) == b"\x00\xff"
        assert server.stop(timeout=5) is True  # the silent connection does not hold it up
        assert idle.recv(10) == b""
        idle.close()


def test_a_server_on_a_port_in_use_is_refused(no_leftovers: None) -> None:
    pieces: Pieces = load_pieces(ROOT / "student")
    with serve_pieces(pieces) as first:
        with pytest.raises(OSError):
            LearnerServer(pieces, first.port)
        assert repr(first).startswith(f"<LearnerServer ws://127.0.0.1:{first.port}/ running")
