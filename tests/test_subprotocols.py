"""Subprotocols (``Sec-WebSocket-Protocol``, RFC 6455 §4.1, §4.2.2, §11.3.4): every rule.

``wslearn.handshake.select_subprotocol`` decides what a server agrees to, ``parse_subprotocols``
reads an offer, ``check_response`` checks a server's pick, ``check_subprotocols`` a client's
offer. Each rule is tested on its own, then against ``websockets`` 17 over 127.0.0.1 in both
roles: the same raw requests go to ``wslearn.serve`` and to a ``websockets`` server, and the
table says where the two agree and where they differ (and why). What Chromium does is in
``test_browser_subprotocols.py``.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Iterator, List, Optional, Tuple

import pytest
from helpers.rawclient import open_socket, request
from helpers.upgrade_requests import RFC_KEY, request_with, status_of
from websockets.sync.client import connect as ws_connect
from websockets.sync.server import ServerConnection
from websockets.sync.server import serve as ws_serve

import wslearn
from wslearn import (
    HandshakeError,
    InvalidResponse,
    accept_response,
    check_response,
    client_request,
    parse_request,
    parse_response,
    validate_request,
)
from wslearn.handshake import check_subprotocols, parse_subprotocols, select_subprotocol

pytestmark = pytest.mark.timeout(60)

SUPPORTED = ["chat.v1", "chat.v2"]
TIMEOUT = 5.0

# ------------------------------------------------------------------ reading the offer


@pytest.mark.parametrize(
    "values, offered",
    [
        ([], []),
        (["chat"], ["chat"]),
        (["chat.v2, chat.v1"], ["chat.v2", "chat.v1"]),
        (["chat.v2,chat.v1"], ["chat.v2", "chat.v1"]),
        # §11.3.4: the header may appear several times; the values add up, in order.
        (["chat.v2", "chat.v1"], ["chat.v2", "chat.v1"]),
        # RFC 7230 §7: empty list elements are ignored.
        (["chat,"], ["chat"]),
        ([", chat , ,superchat,"], ["chat", "superchat"]),
        (["\tchat\t"], ["chat"]),
        # Every tchar of RFC 7230 §3.2.6 is allowed.
        (["!#$%&'*+-.^_`|~09AZaz"], ["!#$%&'*+-.^_`|~09AZaz"]),
    ],
)
def test_an_offer_is_every_value_of_every_header_in_order(values, offered) -> None:
    assert parse_subprotocols(values) == offered


@pytest.mark.parametrize(
    "values, says",
    [
        (["a b"], "not a token"),  # a space is a separator: two names, or a typo?
        (["chat/1"], "not a token"),
        (['"chat"'], "not a token"),  # a quoted string is not a token
        (["chat;v=1"], "not a token"),
        (["ch\xe4t"], "not a token"),  # non-ASCII (the byte E4, read as latin-1)
        (["\x7f"], "not a token"),
        ([""], "names no subprotocol"),  # 1#token: at least one element
        ([","], "names no subprotocol"),
        (["chat", " "], "names no subprotocol"),
        (["chat, chat"], "offered twice"),  # §4.1: "MUST all be unique strings"
        (["chat", "chat"], "offered twice"),  # also across repeated headers
    ],
)
def test_a_malformed_offer_is_a_400(values, says) -> None:
    with pytest.raises(HandshakeError) as info:
        parse_subprotocols(values)
    assert info.value.status == 400 and says in info.value.message
    with pytest.raises(HandshakeError):
        select_subprotocol(values, [])  # even a server that speaks none refuses it


def test_the_clients_order_decides() -> None:
    # §4.1: "ordered by preference"; the server's own order does not matter.
    assert select_subprotocol(["chat.v2, chat.v1"], ["chat.v1", "chat.v2"]) == "chat.v2"
    assert select_subprotocol(["chat.v1, chat.v2"], ["chat.v2", "chat.v1"]) == "chat.v1"
    assert select_subprotocol(["x", "chat.v1"], SUPPORTED) == "chat.v1"


@pytest.mark.parametrize(
    "values, supported",
    [
        ([], SUPPORTED),  # nothing offered
        (["other"], SUPPORTED),  # nothing in common
        (["chat.v1"], []),  # the server speaks none
        (["Chat.v1"], SUPPORTED),  # compared exactly: case counts
        (["chat.v1 "], ["chat.v1 "]),  # the offer is trimmed, "chat.v1 " is not a token
    ],
)
def test_no_match_is_none(values, supported) -> None:
    assert select_subprotocol(values, supported) is None


def test_validate_request_uses_the_rule() -> None:
    request = parse_request(request_with(Sec_WebSocket_Protocol="chat.v2, chat.v1"))
    assert validate_request(request, subprotocols=SUPPORTED) == (RFC_KEY, "chat.v2")
    assert status_of(request_with(Sec_WebSocket_Protocol="a b"), subprotocols=SUPPORTED) == 400
    assert status_of(request_with(Sec_WebSocket_Protocol="x, x")) == 400
    # No match: a 101 without the header (§4.2.2 "MUST NOT send back").
    request = parse_request(request_with(Sec_WebSocket_Protocol="other"))
    key, chosen = validate_request(request, subprotocols=SUPPORTED)
    assert chosen is None
    assert b"Sec-WebSocket-Protocol" not in accept_response(key, chosen)


# ------------------------------------------------------------------ the client's side


@pytest.mark.parametrize(
    "subprotocols, says",
    [
        (["a b"], "not a token"),
        ([""], "not a token"),
        (["chat,"], "not a token"),
        (["ch\xe4t"], "not a token"),
        (["chat", "chat"], "unique"),
        ("chat", "not 'chat'"),  # a str is not a list: it would offer c, h, a, t
        ([b"chat"], "not a token"),
    ],
)
def test_a_client_cannot_offer_what_a_browser_would_refuse(subprotocols, says) -> None:
    with pytest.raises(ValueError, match=says):
        check_subprotocols(subprotocols)
    with pytest.raises(ValueError):
        client_request("h", subprotocols=subprotocols)


def test_a_client_offers_in_one_header_in_its_order() -> None:
    data, _ = client_request("h", subprotocols=("chat.v2", "chat.v1"))
    assert parse_request(data).headers.get_all("Sec-WebSocket-Protocol") == ["chat.v2, chat.v1"]
    data, _ = client_request("h")
    assert "Sec-WebSocket-Protocol" not in parse_request(data).headers


def _answer(*values: str) -> wslearn.Response:
    """The RFC key's 101, with these ``Sec-WebSocket-Protocol`` headers."""
    text = accept_response(RFC_KEY).decode("latin-1")[:-2]
    text += "".join(f"Sec-WebSocket-Protocol: {value}\r\n" for value in values) + "\r\n"
    response = parse_response(text.encode("latin-1"))
    assert response is not None
    return response


@pytest.mark.parametrize(
    "values, offered, chosen",
    [
        ((), (), None),
        ((), ("chat",), None),  # RFC 6455: the client learns none was agreed (browsers fail)
        (("chat",), ("other", "chat"), "chat"),
    ],
)
def test_check_response_accepts_one_offered_value_or_none(values, offered, chosen) -> None:
    assert check_response(_answer(*values), RFC_KEY, subprotocols=offered) == chosen


@pytest.mark.parametrize(
    "values, offered, says",
    [
        (("chat",), (), "did not offer"),  # nothing offered, one chosen
        (("chat.v3",), ("chat.v2", "chat.v1"), "did not offer"),
        (("Chat",), ("chat",), "did not offer"),
        (("chat", "chat"), ("chat",), "2 times"),  # §11.3.4: at most once in a response
        (("chat", "superchat"), ("chat", "superchat"), "2 times"),
        (("chat, superchat",), ("chat", "superchat"), "several"),  # §4.2.2: a single value
        (("chat,",), ("chat",), "several"),
        (("",), ("chat",), "did not offer"),
        (("a b",), ("chat",), "did not offer"),
    ],
)
def test_check_response_fails_every_other_answer(values, offered, says) -> None:
    with pytest.raises(InvalidResponse) as info:
        check_response(_answer(*values), RFC_KEY, subprotocols=offered)
    assert info.value.status == 101 and says in info.value.message


# ------------------------------------------------- both servers, the same raw requests

# (the request's Sec-WebSocket-Protocol values, wslearn's answer, websockets' answer), each
# answer (status, subprotocol). Both servers support SUPPORTED, in that order.
TABLE = [
    # Where they agree.
    (["x", "chat.v1"], (101, "chat.v1"), (101, "chat.v1")),
    (["chat.v1,"], (101, "chat.v1"), (101, "chat.v1")),  # empty elements ignored
    ([", chat.v2 , ,"], (101, "chat.v2"), (101, "chat.v2")),
    (["a b"], (400, None), (400, None)),  # not tokens
    ([""], (400, None), (400, None)),
    ([","], (400, None), (400, None)),
    (['"chat.v1"'], (400, None), (400, None)),
    (["chat/1"], (400, None), (400, None)),
    (["ch\xe4t"], (400, None), (400, None)),
    # Order: wslearn follows the client's preference, websockets its own list.
    (["chat.v2, chat.v1"], (101, "chat.v2"), (101, "chat.v1")),
    (["chat.v2", "chat.v1"], (101, "chat.v2"), (101, "chat.v1")),
    # No match: wslearn goes on without a subprotocol (§4.2.2), websockets refuses.
    (["other"], (101, None), (400, None)),
    (["Chat.v1"], (101, None), (400, None)),
    ([], (101, None), (400, None)),
    # Duplicates: §4.1 forbids them; wslearn refuses, websockets lets them through.
    (["chat.v1, chat.v1"], (400, None), (101, "chat.v1")),
    (["chat.v1", "chat.v1"], (400, None), (101, "chat.v1")),
]


def _ws_echo(connection: ServerConnection) -> None:
    for message in connection:
        connection.send(message)


@pytest.fixture(scope="module")
def websockets_port() -> Iterator[int]:
    """A websockets 17 server on 127.0.0.1 (its sync API, in a thread) with SUPPORTED."""
    server = ws_serve(_ws_echo, "127.0.0.1", 0, subprotocols=SUPPORTED, open_timeout=TIMEOUT)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.socket.getsockname()[1]
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def wslearn_port() -> Iterator[int]:
    with wslearn.serve(port=0, subprotocols=SUPPORTED) as server:
        yield server.port


def _exchange(port: int, values: List[str]) -> Tuple[int, Optional[str]]:
    """Send a handshake with these Sec-WebSocket-Protocol headers; return (status, subprotocol)."""
    head = request(headers=[("Origin", None)]).decode("latin-1")[:-2]
    head += "".join(f"Sec-WebSocket-Protocol: {value}\r\n" for value in values) + "\r\n"
    with open_socket(port) as sock:
        sock.sendall(head.encode("latin-1"))
        response = _read_head(sock)
    assert len(response.headers.get_all("Sec-WebSocket-Protocol")) <= 1
    return response.status, response.headers.get("Sec-WebSocket-Protocol")


def _read_head(sock: socket.socket) -> wslearn.Response:
    buffer = b""
    deadline = time.monotonic() + TIMEOUT
    while (response := parse_response(buffer)) is None:
        assert time.monotonic() < deadline, "no answer in time"
        chunk = sock.recv(4096)
        assert chunk, f"closed before a whole answer: {buffer!r}"
        buffer += chunk
    return response


@pytest.mark.parametrize("values, wslearn_answer, websockets_answer", TABLE)
def test_wslearn_and_websockets_servers_answer_the_same_requests(
    wslearn_port, websockets_port, values, wslearn_answer, websockets_answer
) -> None:
    assert _exchange(wslearn_port, values) == wslearn_answer
    assert _exchange(websockets_port, values) == websockets_answer
    # wslearn.serve answers what select_subprotocol says, 400 when it raises.
    try:
        expected = (101, select_subprotocol(values, SUPPORTED))
    except HandshakeError as error:
        expected = (error.status, None)
    assert wslearn_answer == expected


# --------------------------------------------------------- websockets client → wslearn


@pytest.mark.parametrize(
    "offered, agreed",
    [
        (["chat.v2", "chat.v1"], "chat.v2"),
        (["other", "chat.v1"], "chat.v1"),
        (["other"], None),  # a 101 without the header: websockets' client accepts it
        (None, None),
    ],
)
def test_a_websockets_client_gets_wslearns_pick(wslearn_port, offered, agreed) -> None:
    url = f"ws://127.0.0.1:{wslearn_port}/"
    with ws_connect(url, subprotocols=offered, open_timeout=TIMEOUT) as client:
        assert client.subprotocol == agreed
        client.send("hello")
        assert client.recv(timeout=TIMEOUT) == "hello"


# --------------------------------------------------------- wslearn client → websockets


def _wslearn_client(port: int, offered: List[str]) -> Optional[str]:
    """wslearn's client handshake on a raw socket; what check_response says of the answer."""
    data, key = client_request(f"127.0.0.1:{port}", subprotocols=offered)
    with open_socket(port) as sock:
        sock.sendall(data)
        response = _read_head(sock)
    return check_response(response, key, subprotocols=offered)


def test_a_wslearn_client_checks_a_websockets_servers_pick(websockets_port) -> None:
    # websockets picks in its own order (SUPPORTED), not in the client's.
    assert _wslearn_client(websockets_port, ["chat.v2", "chat.v1"]) == "chat.v1"
    assert _wslearn_client(websockets_port, ["other", "chat.v2"]) == "chat.v2"
    for offered in (["other"], []):  # websockets refuses when nothing matches
        with pytest.raises(InvalidResponse) as info:
            _wslearn_client(websockets_port, offered)
        assert info.value.status == 400


def test_a_wslearn_client_against_a_websockets_server_without_subprotocols() -> None:
    server = ws_serve(_ws_echo, "127.0.0.1", 0, open_timeout=TIMEOUT)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.socket.getsockname()[1]
        assert _wslearn_client(port, ["chat.v1"]) is None  # no header: none agreed
        assert _wslearn_client(port, []) is None
    finally:
        server.shutdown()
        thread.join(timeout=10)
