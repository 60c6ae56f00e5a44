"""permessage-deflate between wslearn and ``websockets``, in memory, over a matrix of parameters.

Both libraries are sans-I/O: :class:`websockets.client.ClientProtocol` and
:class:`websockets.server.ServerProtocol` take and give bytes, so whole connections run without a
socket. websockets 17 negotiates permessage-deflate with its own code
(``websockets.extensions.permessage_deflate``); here it meets wslearn's negotiation and codec:

* a websockets client against a wslearn server, for every combination of the client's offer:
  ``server_no_context_takeover`` and ``client_no_context_takeover`` each on or off,
  ``server_max_window_bits`` unset, 8, 9 or 15, ``client_max_window_bits`` unset, without a
  value, 9 or 15 (websockets cannot offer 8 for itself: zlib cannot compress so), against a
  server with no limits and one with limits of its own;
* a wslearn client against a websockets server, for every combination of the server's settings:
  both context-takeover flags, ``server_max_window_bits`` unset, 9 or 15 (websockets refuses 8
  for itself), ``client_max_window_bits`` unset, 8, 9 or 15, against four wslearn offers.

Each time, both sides must agree on what was negotiated (or that nothing was), messages must
cross both ways intact (text and binary, small and large, fragmented by websockets, repeated so
that a kept window is used), RSV1 must be on each compressed message's first frame only, and a
window kept (or not) must show in the size of a repeated message.
"""

from __future__ import annotations

import itertools
import random

import pytest
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    ServerPerMessageDeflateFactory,
)
from websockets.frames import Opcode as WsOpcode
from websockets.protocol import State as WsState
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

import wslearn
from wslearn import (
    Binary,
    Close,
    Connection,
    DeflateParameters,
    FrameReader,
    InvalidResponse,
    PerMessageDeflate,
    Ping,
    State,
    Text,
    check_deflate_answer,
    negotiate_deflate,
)

P = DeflateParameters
CHAT = '{"type": "chat", "user": "ada", "text": "hello everyone, this is a repeated message"}'
MESSAGES = [
    "Hello",
    "",
    CHAT,
    CHAT,
    "caf\u00e9 \U0001f680 " * 2000,
    random.Random(3).randbytes(5000),
    bytes(100_000),
    b"\x00\x01" * 40_000,
]


def out(protocol) -> bytes:
    """Everything a websockets protocol wants to write, end-of-stream markers dropped."""
    return b"".join(protocol.data_to_send())


def frames_in(wire: bytes) -> list:
    """wslearn's reading of frames sent by either side (RSV1 allowed: it is what we check)."""
    reader = FrameReader(allowed_rsv=0x40)
    reader.feed(wire)
    frames = list(reader)
    assert reader.buffered == 0
    return frames


def event_for(message):
    return Text(message) if isinstance(message, str) else Binary(message)


def ws_send(protocol, message) -> None:
    if isinstance(message, str):
        protocol.send_text(message.encode())
    else:
        protocol.send_binary(message)


def ws_received(protocol) -> list:
    """The messages a websockets protocol received, as wslearn events, for comparison."""
    messages, parts, opcode = [], [], None
    for frame in protocol.events_received():
        if frame.opcode in (WsOpcode.TEXT, WsOpcode.BINARY):
            opcode, parts = frame.opcode, [frame.data]
        elif frame.opcode is WsOpcode.CONT:
            parts.append(frame.data)
        else:
            continue
        if frame.fin:
            data = b"".join(parts)
            messages.append(Text(data.decode()) if opcode is WsOpcode.TEXT else Binary(data))
    return messages


def check_agreement(ws_extensions: list, ours: DeflateParameters | None, role: str) -> None:
    """websockets' negotiated extension says what ours says, seen from the other end."""
    if ours is None:
        assert ws_extensions == []
        return
    [ws] = ws_extensions
    codec = PerMessageDeflate(role, ours)
    # What we send, websockets inflates; what it sends, we inflate.
    assert ws.remote_no_context_takeover == codec.send_no_context_takeover
    assert ws.remote_max_window_bits == codec.send_window_bits
    # websockets may keep to more than was agreed (a hint it offered), never to less.
    assert ws.local_no_context_takeover >= codec.receive_no_context_takeover
    assert ws.local_max_window_bits <= codec.receive_window_bits


def converse(ws, ours: Connection, compressed: bool) -> dict:
    """Messages both ways, a fragmented one and a Ping from websockets, then a close by wslearn.

    Returns the wire sizes of the two copies of CHAT each side sent, by sender: with a kept
    window, the second is a fraction of the first.
    """
    for message in MESSAGES:
        ws_send(ws, message)
    ws.send_text(b"frag", fin=False)
    ws.send_ping(b"between")
    ws.send_continuation(" ment \u2713".encode(), fin=True)
    wire = out(ws)
    seen_in = frames_in(wire)
    events = ours.receive_data(wire)
    expected = [event_for(m) for m in MESSAGES] + [Ping(b"between"), Text("frag ment \u2713")]
    assert events == expected
    data_frames = [f for f in seen_in if not f.opcode.is_control]
    first_frames = [f for f in data_frames if f.opcode is not wslearn.Opcode.CONT]
    assert all(f.rsv1 == compressed for f in first_frames)
    assert not any(f.rsv1 for f in seen_in if f not in first_frames)
    ws.receive_data(ours.data_to_send())  # the Pong
    assert [f.opcode for f in ws.events_received()] == [WsOpcode.PONG]

    for message in MESSAGES:
        if isinstance(message, str):
            ours.send_text(message)
        else:
            ours.send_binary(message)
    wire = ours.data_to_send()
    sent = frames_in(wire)
    assert [f.rsv1 for f in sent] == [compressed] * len(MESSAGES)
    ws.receive_data(wire)
    assert ws_received(ws) == [event_for(m) for m in MESSAGES]
    chat = [i for i, message in enumerate(MESSAGES) if message == CHAT]

    ours.close(1000, "done")
    ws.receive_data(ours.data_to_send())
    assert ours.receive_data(out(ws)) == [Close(1000, "done")]
    assert ours.state is State.CLOSED
    assert (ws.close_rcvd.code, ws.close_sent.code) == (1000, 1000)
    return {
        "websockets": [len(data_frames[i].payload) for i in chat],
        "wslearn": [len(sent[i].payload) for i in chat],
    }


def window_kept(sizes: list) -> bool:
    first, second = sizes
    if second == first:
        return False
    assert second < first / 3, sizes
    return True


# ---------------------------------------------------------------------- websockets client


WS_CLIENT_OFFERS = [
    dict(
        server_no_context_takeover=snct,
        client_no_context_takeover=cnct,
        server_max_window_bits=smwb,
        client_max_window_bits=cmwb,
    )
    for snct, cnct, smwb, cmwb in itertools.product(
        [False, True], [False, True], [None, 8, 9, 15], [None, True, 9, 15]
    )
]
SERVER_LIMITS = [P(), P(True, True, 10, 9)]


def offer_id(offer: dict) -> str:
    """A test id: T, F, - (unset) or the number, for each parameter."""

    def short(value) -> str:
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "T" if value else "F"
        return str(value)

    return "ws-offer:" + ",".join(short(value) for value in offer.values())


@pytest.mark.parametrize("limits", SERVER_LIMITS, ids=["server-plain", "server-limits"])
@pytest.mark.parametrize("offer", WS_CLIENT_OFFERS, ids=[offer_id(o) for o in WS_CLIENT_OFFERS])
def test_websockets_client_with_wslearn_server(offer, limits):
    ws = ClientProtocol(
        parse_uri("ws://localhost/chat"), extensions=[ClientPerMessageDeflateFactory(**offer)]
    )
    ws.send_request(ws.connect())
    request = wslearn.parse_request(out(ws))
    key, _ = wslearn.validate_request(request)
    agreed = negotiate_deflate(request.headers.get_all("Sec-WebSocket-Extensions"), limits)
    if offer["server_max_window_bits"] == 8:
        assert agreed is None  # declined: zlib cannot compress with an 8-bit window
    else:
        assert agreed is not None
        assert agreed.server_no_context_takeover == (
            offer["server_no_context_takeover"] or limits.server_no_context_takeover
        )
    ws.receive_data(wslearn.accept_response(key, deflate=agreed))
    ws.events_received()
    assert ws.handshake_exc is None
    assert ws.state is WsState.OPEN
    check_agreement(ws.extensions, agreed, "server")

    deflate = PerMessageDeflate("server", agreed) if agreed is not None else None
    sizes = converse(ws, Connection("server", deflate=deflate), compressed=agreed is not None)
    if agreed is not None:
        # A window kept shows: the second copy of a message costs a few bytes.
        assert window_kept(sizes["wslearn"]) != agreed.server_no_context_takeover
        assert window_kept(sizes["websockets"]) != ws.extensions[0].local_no_context_takeover


# ---------------------------------------------------------------------- websockets server


WS_SERVER_SETTINGS = [
    dict(
        server_no_context_takeover=snct,
        client_no_context_takeover=cnct,
        server_max_window_bits=smwb,
        client_max_window_bits=cmwb,
    )
    for snct, cnct, smwb, cmwb in itertools.product(
        [False, True], [False, True], [None, 9, 15], [None, 8, 9, 15]
    )
]
WSLEARN_OFFERS = [
    P(),
    P(client_max_window_bits=15),
    P(True, True, 12, 10),
    P(server_max_window_bits=8),
]


SETTINGS_IDS = [offer_id(s).replace("offer", "server") for s in WS_SERVER_SETTINGS]


@pytest.mark.parametrize("offer", WSLEARN_OFFERS, ids=lambda o: "offer:" + o.header())
@pytest.mark.parametrize("settings", WS_SERVER_SETTINGS, ids=SETTINGS_IDS)
def test_wslearn_client_with_websockets_server(settings, offer):
    request_bytes, key = wslearn.client_request("localhost", "/chat", deflate=offer)
    ws = ServerProtocol(extensions=[ServerPerMessageDeflateFactory(**settings)])
    ws.receive_data(request_bytes)
    [request] = ws.events_received()
    ws.send_response(ws.accept(request))
    assert ws.state is WsState.OPEN
    response = wslearn.parse_response(out(ws))
    answer = response.headers.get_all("Sec-WebSocket-Extensions")
    if any("client_max_window_bits=8" in value for value in answer):
        # websockets set the window our compressor must use to 8 bits: zlib cannot.
        with pytest.raises(InvalidResponse, match="zlib"):
            wslearn.check_response(response, key, deflate=offer)
        return
    assert wslearn.check_response(response, key, deflate=offer) is None
    agreed = check_deflate_answer(answer, offer)
    check_agreement(ws.extensions, agreed, "client")
    if offer.server_max_window_bits == 8:
        assert agreed is None  # websockets declines: zlib cannot compress so for it either

    deflate = PerMessageDeflate("client", agreed) if agreed is not None else None
    sizes = converse(ws, Connection("client", deflate=deflate), compressed=agreed is not None)
    if agreed is not None:
        assert window_kept(sizes["wslearn"]) != agreed.client_no_context_takeover
        assert window_kept(sizes["websockets"]) != ws.extensions[0].local_no_context_takeover
