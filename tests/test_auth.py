"""First-message authentication on the live server, with websockets' client over 127.0.0.1."""

from __future__ import annotations

import time
from typing import Iterator, List, NamedTuple, Union

import pytest
from websockets.exceptions import ConnectionClosed as WsConnectionClosed
from websockets.sync.client import ClientConnection, connect

import wslearn
from wslearn.auth import FirstMessageAuth, first_message_auth
from wslearn.tokens import make_token

SECRET = b"k" * 32
NOW = 1_700_000_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class LiveAuth(NamedTuple):
    auth: FirstMessageAuth
    server: wslearn.Server
    clock: Clock


@pytest.fixture
def live() -> Iterator[LiveAuth]:
    clock = Clock(NOW)
    auth = first_message_auth("echo", SECRET, clock=clock)
    server = wslearn.serve(port=0, handler=auth, show_errors=False)
    try:
        yield LiveAuth(auth, server, clock)
    finally:
        server.stop()
        assert not server.errors, server.errors


def client(live: LiveAuth) -> ClientConnection:
    return connect(live.server.url, proxy=None, open_timeout=5, close_timeout=2)


def closed_with(ws: ClientConnection) -> tuple:
    with pytest.raises(WsConnectionClosed):
        ws.recv(timeout=5)
    return ws.close_code, ws.close_reason


def test_a_good_token_first_then_the_echo_works(live) -> None:
    with client(live) as ws:
        ws.send(make_token(SECRET, "ada", now=NOW, ttl=60))
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"  # the token itself was not echoed
        ws.send(b"\x00\x01")
        assert ws.recv(timeout=5) == b"\x00\x01"
        [conn] = live.server.connections
        assert live.auth.subject(conn) == "ada"


@pytest.mark.parametrize(
    "first, reason",
    [
        (make_token(b"x" * 32, "ada", now=NOW, ttl=60), "invalid token"),  # another secret
        ("hello", "invalid token"),  # no token at all: the first message is a chat line
        (make_token(SECRET, "ada", now=NOW - 120, ttl=60), "token expired"),
        (b"binary", "authenticate first: a token as text"),
    ],
)
def test_anything_but_a_valid_token_first_is_closed_with_1008(live, first, reason) -> None:
    with client(live) as ws:
        ws.send(first)
        assert closed_with(ws) == (1008, reason)
    assert live.auth.subjects() == {}


def test_the_expiry_is_checked_with_the_wrappers_clock(live) -> None:
    token = make_token(SECRET, "ada", now=NOW, ttl=60)
    live.clock.now = NOW + 61
    with client(live) as ws:
        ws.send(token)
        assert closed_with(ws) == (1008, "token expired")


def test_subjects_are_kept_per_connection_and_forgotten_once_closed(live) -> None:
    with client(live) as ada, client(live) as bob:
        ada.send(make_token(SECRET, "ada", now=NOW, ttl=60))
        bob.send(make_token(SECRET, "bob", now=NOW, ttl=60))
        ada.send("a")
        bob.send("b")
        assert (ada.recv(timeout=5), bob.recv(timeout=5)) == ("a", "b")
        names = sorted(str(live.auth.subject(conn)) for conn in live.server.connections)
        assert names == ["ada", "bob"]
    deadline = time.monotonic() + 5
    while live.server.connections:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    with client(live) as cy:
        cy.send(make_token(SECRET, "cy", now=NOW, ttl=60))
        cy.send("c")
        assert cy.recv(timeout=5) == "c"
        assert list(live.auth.subjects().values()) == ["cy"]


def test_the_wrapper_passes_later_messages_to_any_handler() -> None:
    seen: List[Union[str, bytes]] = []
    auth = first_message_auth(lambda conn, message: seen.append(message), SECRET)
    server = wslearn.serve(port=0, handler=auth, show_errors=False)
    try:
        with connect(server.url, proxy=None, open_timeout=5, close_timeout=2) as ws:
            ws.send(make_token(SECRET, "ada", now=time.time(), ttl=10))
            ws.send("one")
            ws.send("two")
            ws.ping().wait(5)  # the server reads in order: the Pong comes after both
        assert server.handler_name == "first_message_auth(<lambda>)"
    finally:
        server.stop()
    assert seen == ["one", "two"]


def test_the_first_message_token_stays_out_of_the_recording(live) -> None:
    assert live.auth.secret_first_message
    token = make_token(SECRET, "ada", now=NOW, ttl=60)
    with client(live) as ws:
        ws.send(token)
        ws.send("hello")
        assert ws.recv(timeout=5) == "hello"
    frames = live.server.recorder.frames()
    previews = b"".join(f.payload_preview for f in frames)
    # The masked wire bytes and their key are kept too: unmasked, they must not hold it either.
    previews += b"".join(wslearn.unmask(f.wire_preview, f.mask) for f in frames if f.mask)
    assert b"hello" in previews  # the other messages are still shown
    assert token.encode() not in previews
    table = str(wslearn.frames_table(frames))
    assert f"[redacted] ({len(token)} bytes)" in table and token not in table


def test_the_first_message_token_stays_out_of_the_log() -> None:
    lines: List[str] = []
    auth = first_message_auth("echo", SECRET, clock=lambda: NOW)
    server = wslearn.serve(port=0, handler=auth, log=lines.append, show_errors=False)
    token = make_token(SECRET, "ada", now=NOW, ttl=60)
    try:
        with connect(server.url, proxy=None, open_timeout=5, close_timeout=2) as ws:
            ws.send(token)
            ws.send("hello")
            assert ws.recv(timeout=5) == "hello"
    finally:
        server.stop()
    incoming = [line for line in lines if " -> TEXT" in line]
    assert len(incoming) == 2, lines
    assert incoming[0].endswith(f"len={len(token)} (7-bit) [redacted]")
    assert incoming[1].endswith("'hello'")
    assert not [line for line in lines if token in line or token[:20] in line]


def test_a_fragmented_or_compressed_first_message_is_redacted_in_every_frame() -> None:
    # Three frames, a Ping between two of them, permessage-deflate on: every frame of the
    # token and its inflated preview are blank; the Ping and the next message are not.
    auth = first_message_auth("echo", SECRET, clock=lambda: NOW)
    server = wslearn.serve(port=0, handler=auth, compression="deflate", show_errors=False)
    token = make_token(SECRET, "ada", now=NOW, ttl=60)
    third = len(token) // 3
    try:
        with connect(server.url, proxy=None, open_timeout=5, close_timeout=2) as ws:
            with ws.protocol_mutex:  # websockets' own frames, one at a time
                ws.protocol.send_text(token[:third].encode(), fin=False)
                ws.protocol.send_ping(b"between")
                ws.protocol.send_continuation(token[third : 2 * third].encode(), fin=False)
                ws.protocol.send_continuation(token[2 * third :].encode(), fin=True)
                ws.send_data()
            ws.send("hello")
            assert ws.recv(timeout=5) == "hello"
        frames = server.recorder.frames(direction="in")
    finally:
        server.stop()
    names = [f.opcode_name for f in frames]
    assert names[:5] == ["TEXT", "PING", "CONT", "CONT", "TEXT"], names
    token_frames = [frames[0], frames[2], frames[3]]
    assert all(f.redacted and not f.payload_preview and not f.wire_preview for f in token_frames)
    assert frames[0].inflated is not None and frames[0].inflated.length == len(token)
    assert frames[0].inflated.preview == b""
    assert not frames[1].redacted and frames[1].payload_preview == b"between"
    assert not frames[4].redacted and frames[4].inflated is not None
    assert frames[4].inflated.preview == b"hello"
