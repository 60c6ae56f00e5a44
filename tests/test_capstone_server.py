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


def test_its_record_draws_a_connections_life_in_order(no_leftovers: None) -> None:
    """The glue records each connection as wslearn.serve does: notebook 12 draws the browser's
    connection to the learner's server with the same views (notebook 06's sequence diagram)."""
    from wslearn.views.sequence import connection_events

    pieces = load_pieces(ROOT / "notebooks")
    with serve_pieces(pieces) as server:
        with connect(server.url + "?api_key=s3cret", open_timeout=5) as client:
            client.send("hello")
            assert client.recv(timeout=5) == "hello"
            client.ping(b"there?").wait(timeout=5)
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
            raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                        b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n")  # fmt: skip
            assert raw.recv(100).startswith(b"HTTP/1.1 400")
        frames = server.wait_for_frames(3, timeout=5)
        assert [f.opcode_name for f in frames] == ["TEXT", "PING", "CLOSE"]
    upgraded, refused = server.recorder.connections()
    assert (upgraded.status, refused.status) == (101, 400)
    assert upgraded.close_code == 1000 and not upgraded.via_proxy
    assert "websockets" in upgraded.user_agent
    assert b"s3cret" not in upgraded.request_raw and "s3cret" not in upgraded.target
    events = connection_events(server.recorder, upgraded)
    kinds = [(e.kind, e.sender, e.label.split()[0]) for e in events]
    assert kinds[:3] == [("connect", "client", "TCP"), ("request", "client", "GET"),
                         ("response", "server", "101")]  # fmt: skip
    assert [k for k in kinds if k[0] == "frame"] == [
        ("frame", "client", "TEXT"), ("frame", "server", "TEXT"),
        ("frame", "client", "PING"), ("frame", "server", "PONG"),
        ("frame", "client", "CLOSE"), ("frame", "server", "CLOSE"),
    ]  # fmt: skip
    assert [k[1] for k in kinds if k[0] == "fin"] == ["server", "client"]  # it closes TCP first
    assert not any(e.inferred for e in events)
    times = [e.time for e in events]
    assert times == sorted(times)


def test_a_replaced_piece_runs_and_is_not_counted_as_yours(no_leftovers: None) -> None:
    pieces = load_pieces(ROOT / "notebooks")

    def is_control_slip(opcode: int) -> bool:
        return opcode == 0x8

    slipped = pieces.replaced(is_control=is_control_slip)
    assert slipped["is_control"].yours is False and pieces["is_control"].yours is True
    assert "replaced in notebook 12" in slipped["is_control"].status
    assert "is_control_slip" in slipped["is_control"].status
    with serve_pieces(slipped) as server:
        report = run_conformance(server, cases=["fragments-with-ping", "binary"])
    assert [r.passed for r in report.results] == [False, True], str(report)
    assert "CLOSE 1002" in report["fragments-with-ping"].seen
    with pytest.raises(AttributeError, match="no piece called nope"):
        pieces.replaced(nope=is_control_slip)


def test_compare_frames_lines_up_two_servers_frames(no_leftovers: None) -> None:
    from wslearn import serve
    from wslearn.capstone import compare_frames

    pieces = load_pieces(ROOT / "student")  # the library's pieces: the same frames
    with serve_pieces(pieces) as yours, serve(port=0, show_errors=False) as library:
        with connect(yours.url, open_timeout=5) as client:
            client.send("only to yours")
            client.recv(timeout=5)
        alone = compare_frames(yours, library)  # the library's server has had no client yet
        assert alone.title.endswith("nothing to compare yet") and "no connection" in alone.title
        assert [row[3] for row in alone.rows] == [""] * 4
        for target in (yours, library):
            with connect(target.url, open_timeout=5) as client:
                client.send("x" * 200)
                client.recv(timeout=5)
        library.wait_for_frames(2, timeout=5)
        same = compare_frames(yours, library)
        assert [row[1] for row in same.rows] == [
            "→ TEXT 200 B", "← TEXT 200 B", "→ CLOSE 2 B", "← CLOSE 2 B"
        ]  # fmt: skip
        assert [row[3] for row in same.rows] == [""] * 4 and "0 row(s) differ" in same.title
        with connect(yours.url, open_timeout=5) as client:
            client.send(b"\x00")
            client.recv(timeout=5)
        different = compare_frames(yours, library)
        assert [row[3] for row in different.rows][:2] == ["differs", "differs"]
        assert "BINARY 1 B" in different.rows[0][1]
