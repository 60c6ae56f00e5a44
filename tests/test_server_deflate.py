"""The live server with permessage-deflate (RFC 7692): real sockets on 127.0.0.1, real peers.

* websockets' client against ``wslearn.serve(compression="deflate")``, over a matrix of its
  offer: ``server_no_context_takeover`` and ``client_no_context_takeover`` each on or off,
  ``server_max_window_bits`` unset, 8 (which the server declines: zlib cannot compress so),
  9 or 15, ``client_max_window_bits`` unset, without a value, 9 or 15. Every message must come
  back intact, the 101 must say what was agreed, and the recorder must show RSV1 on each
  compressed frame with the inflated message beside it;
* the server's own settings (``window_bits``, off by default) and ``python -m wslearn serve
  --compression deflate``;
* a "zip bomb": a compressed frame under 1 KiB that inflates to a megabyte, against a server
  whose ``max_size`` is 64 KiB, is closed with 1009, and the server's peak memory grows by
  less than ``max_size`` plus a stated margin (not by the megabyte).
"""

from __future__ import annotations

import itertools
import socket
import time
import zlib
from pathlib import Path
from typing import List, Optional, Tuple

import pytest
from helpers import procmem
from helpers import rawclient as rc
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

import wslearn
from wslearn import DeflateParameters, Opcode
from wslearn.recording import FrameRecord
from wslearn.server_settings import CompressionSettings
from wslearn.views import frames_table
from wslearn.views.text import quote

pytestmark = pytest.mark.timeout(60)

KiB = 2**10
RSV1 = 0x40
CHAT = '{"type": "chat", "user": "ada", "text": "hello everyone, this is a repeated message"}'
#: Text and binary, empty and large (70 000 bytes: more than one 64 KiB read), repeated so
#: that a kept window is used, and a binary message that does not compress at all.
MESSAGES = [
    "Hello",
    CHAT,
    CHAT,
    "",
    "é" * 3000,
    bytes(range(256)) * 40,
    bytes(70_000),
    bytes((i * 7919) % 251 for i in range(5000)),
]


def offer(
    server_nct: bool, client_nct: bool, server_bits: Optional[int], client_bits
) -> ClientPerMessageDeflateFactory:
    """websockets' client offer with these parameters (``True``: client_max_window_bits bare)."""
    return ClientPerMessageDeflateFactory(
        server_no_context_takeover=server_nct,
        client_no_context_takeover=client_nct,
        server_max_window_bits=server_bits,
        client_max_window_bits=client_bits,
    )


def connect(url: str, factory: ClientPerMessageDeflateFactory):
    """websockets' sync client with exactly this offer, and every wait bounded."""
    return rc.connect_ws(url, compression=None, extensions=[factory], max_size=2**20)


def messages_of(records: List[FrameRecord], direction: str) -> List[FrameRecord]:
    """The first frame of each data message in one direction."""
    return [
        r for r in records if r.direction == direction and r.opcode in (Opcode.TEXT, Opcode.BINARY)
    ]


def utf8(message) -> bytes:
    return message.encode() if isinstance(message, str) else message


MATRIX = list(
    itertools.product([False, True], [False, True], [None, 8, 9, 15], [None, True, 9, 15])
)


@pytest.fixture(scope="module")
def server():
    with wslearn.serve(port=0, log=None, compression="deflate", ping_interval=None) as server:
        yield server


@pytest.mark.parametrize(
    "server_nct, client_nct, server_bits, client_bits",
    MATRIX,
    ids=[f"snct={a}-cnct={b}-sbits={c}-cbits={d}" for a, b, c, d in MATRIX],
)
def test_websockets_client_over_the_matrix_of_offers(
    server, server_nct, client_nct, server_bits, client_bits
) -> None:
    with connect(server.url, offer(server_nct, client_nct, server_bits, client_bits)) as ws:
        answer = ws.response.headers.get("Sec-WebSocket-Extensions")
        for message in MESSAGES:
            ws.send(message)
            assert ws.recv(timeout=5) == message
        connection_id = server.connections[-1].id
    assert rc.wait_until(lambda: server.recorder.connection(connection_id).closed is not None)
    record = server.recorder.connection(connection_id)
    frames = server.recorder.frames(connection=connection_id)
    if server_bits == 8:
        # RFC 7692 §7.1.2.1: the server declines what it cannot do; plain frames follow.
        assert answer is None and record.deflate is None
        assert not any(r.rsv1 for r in frames) and not any(r.compressed for r in frames)
        return
    agreed = DeflateParameters.from_params(wslearn.parse_extensions(answer)[0].params, offer=False)
    assert record.deflate == agreed
    # The server's own limit (12 bits by default) caps its window, and the client's if the
    # client offered more (a bare client_max_window_bits offers 15); one that offered less
    # keeps to its own, and the answer need not repeat it (RFC 7692 §7.1.2.2).
    assert agreed.server_max_window_bits == min(server_bits or 15, 12)
    assert agreed.client_max_window_bits == (12 if client_bits in (True, 15) else None)
    assert (agreed.server_no_context_takeover, agreed.client_no_context_takeover) == (
        server_nct,
        client_nct,
    )
    for direction in ("in", "out"):
        firsts = messages_of(frames, direction)
        assert len(firsts) == len(MESSAGES)
        for record_, message in zip(firsts, MESSAGES):
            assert record_.rsv1 and record_.compressed, record_
            assert record_.inflated is not None
            assert record_.inflated.length == len(utf8(message))
            assert record_.inflated.preview == utf8(message)[: server.recorder.preview_bytes]
    # A repeated message costs the server less on the wire when it keeps its window.
    chat_out = [r for r in messages_of(frames, "out") if r.inflated.length == len(CHAT)]
    if server_nct:
        assert chat_out[0].length == chat_out[1].length
    else:
        assert chat_out[1].length < chat_out[0].length / 2
    assert server.recorder.held_bytes() <= server.recorder.byte_bound


def test_compression_is_off_by_default() -> None:
    with wslearn.serve(port=0, log=None) as server:
        with connect(server.url, offer(False, False, None, True)) as ws:
            assert "Sec-WebSocket-Extensions" not in ws.response.headers
            ws.send(CHAT)
            assert ws.recv(timeout=5) == CHAT
        assert rc.wait_until(lambda: len(server.recorder.frames()) >= 2)
        assert not any(r.rsv1 or r.compressed for r in server.recorder.frames())
        assert server.recorder.connections()[0].deflate is None


@pytest.mark.parametrize("bits", [9, 10, 15])
def test_the_servers_window_bits_cap_both_directions(bits: int) -> None:
    with wslearn.serve(port=0, log=None, compression="deflate", window_bits=bits) as server:
        with connect(server.url, offer(False, False, None, True)) as ws:
            answer = ws.response.headers["Sec-WebSocket-Extensions"]
            for message in MESSAGES:
                ws.send(message)
                assert ws.recv(timeout=5) == message
    expected = DeflateParameters(server_max_window_bits=bits, client_max_window_bits=bits)
    if bits == 15:  # nothing to limit: the answer says nothing about windows
        expected = DeflateParameters()
    assert answer == expected.header()


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(compression="gzip"), "compression"),
        (dict(compression="deflate", window_bits=8), "window_bits"),
        (dict(compression="deflate", window_bits=16), "window_bits"),
        (dict(compression="deflate", mem_level=0), "mem_level"),
        (dict(compression="deflate", compression_level=10), "compression_level"),
    ],
)
def test_bad_compression_settings_are_refused(options, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        wslearn.serve(port=0, log=None, **options)


def test_the_frames_table_shows_rsv1_and_both_sizes(server) -> None:
    with connect(server.url, offer(False, False, None, True)) as ws:
        ws.send(CHAT)
        assert ws.recv(timeout=5) == CHAT
        connection_id = server.connections[-1].id
    frames = messages_of(server.recorder.frames(connection=connection_id), "in")
    row = frames_table(frames).rows[0]
    assert row["RSV"] == "100"
    assert row["length"] == f"{frames[0].length} → {len(CHAT)} inflated"
    inflated = f"⇒ inflated {quote(CHAT[:32])} … ({len(CHAT) - 32} more bytes)"
    assert row["payload"].endswith(inflated)
    assert row["payload"].startswith(frames[0].payload_preview[:4].hex(" "))


def test_compression_settings_accept_an_offer_only_when_on() -> None:
    chromium = ["permessage-deflate; client_max_window_bits"]
    assert CompressionSettings().accept(chromium) == (None, None)  # off: plain frames
    on = CompressionSettings("deflate")
    agreed, codec = on.accept(chromium)
    assert agreed == DeflateParameters(server_max_window_bits=12, client_max_window_bits=12)
    assert codec is not None and (codec.send_window_bits, codec.receive_window_bits) == (12, 12)
    assert codec.mem_level == 5 and codec.level == 6
    # Declined (RFC 7692 §7): malformed, a window zlib cannot compress with, another extension.
    for offers in (["permessage-deflate; x=1"], ["permessage-deflate; server_max_window_bits=8"]):
        assert on.accept(offers) == (None, None)
    assert on.accept(["x-webkit-deflate-frame"]) == (None, None)


def test_the_memory_zlib_needs_per_connection_is_stated() -> None:
    # zlib's own formula (zconf.h): deflate 2**(wbits+2) + 2**(memLevel+9), inflate 2**wbits.
    assert CompressionSettings().memory() == 16 * KiB + 16 * KiB + 4 * KiB
    assert CompressionSettings("deflate", 15, 8).memory() == 128 * KiB + 128 * KiB + 32 * KiB


# ---------------------------------------------------------------------- the command line


def deflate(data: bytes, level: int = 9) -> bytes:
    """``data`` compressed as permessage-deflate sends it: raw DEFLATE, tail removed."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return (compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


def open_compressed(port: int, extensions: str = "permessage-deflate") -> Tuple[socket.socket, str]:
    """A raw client that offers ``extensions``; returns the socket and the 101's answer."""
    sock = rc.open_socket(port)
    request, key = wslearn.client_request(
        f"127.0.0.1:{port}", "/", extra_headers=[("Sec-WebSocket-Extensions", extensions)]
    )
    sock.sendall(request)
    buffer = b""
    deadline = time.monotonic() + rc.TIMEOUT
    while (response := wslearn.parse_response(buffer)) is None:
        assert time.monotonic() < deadline, "no handshake answer in time"
        chunk = sock.recv(4096)
        assert chunk, f"server closed during the handshake: {buffer!r}"
        buffer += chunk
    offered = DeflateParameters.from_params(
        wslearn.parse_extensions(extensions)[0].params, offer=True
    )
    wslearn.check_response(response, key, deflate=offered)  # the answer must fit the offer
    return sock, response.headers.get("Sec-WebSocket-Extensions") or ""


def read_compressed_frame(sock: socket.socket, seconds: float = rc.TIMEOUT) -> wslearn.Frame:
    """One frame from the server, RSV1 allowed (permessage-deflate was negotiated)."""
    buffer = b""
    deadline = time.monotonic() + seconds
    while (parsed := wslearn.Frame.parse(buffer, allowed_rsv=RSV1)) is None:
        assert time.monotonic() < deadline, "no whole frame in time"
        chunk = sock.recv(65536)
        assert chunk, f"server closed TCP before a whole frame arrived: {buffer!r}"
        buffer += chunk
    return parsed[0]


def test_the_command_line_flag_turns_compression_on(foreground) -> None:
    server = foreground("--quiet", "--compression", "deflate")
    assert "permessage-deflate on" in server.lines[0]
    sock, answer = open_compressed(server.port, "permessage-deflate; client_max_window_bits")
    with sock:
        assert answer == (
            "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"
        )
        sock.sendall(rc.frame(0x1, deflate(CHAT.encode()), rsv1=True))
        echo = read_compressed_frame(sock)
    assert echo.opcode is Opcode.TEXT and echo.rsv1
    assert zlib.decompressobj(-12).decompress(echo.payload + b"\x00\x00\xff\xff") == CHAT.encode()


def test_the_command_line_leaves_compression_off_by_default(foreground) -> None:
    server = foreground("--quiet")
    sock, answer = open_compressed(server.port)
    with sock:
        assert answer == ""
        sock.sendall(rc.frame(0x1, b"plain"))
        echo = rc.read_frame(sock)
    assert echo.payload == b"plain" and not echo.rsv1


def test_the_command_lines_help_says_why_compression_is_off() -> None:
    import subprocess
    import sys

    from helpers.foreground import ROOT

    result = subprocess.run(
        [sys.executable, "-m", "wslearn", "serve", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    text = " ".join(result.stdout.split())
    assert "--compression {none,deflate}" in text
    assert "jupyter-server-proxy" in text and "plain frames" in text
    bad = subprocess.run(
        [sys.executable, "-m", "wslearn", "serve", "--window-bits", "8"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode == 2 and "9 to 15" in bad.stderr


# ---------------------------------------------------------------------- the zip bomb

#: The server's --max-size for the bomb.
BOMB_MAX_SIZE = 64 * KiB
#: A million zeros at DEFLATE's best ratio (about 1000:1): under 1 KiB on the wire.
BOMB = deflate(bytes(1_000_000))
#: What the attack may cost besides the max_size bytes inflated before the 1009: a thread,
#: a connection's objects, an inflater's window and state. About 10 KiB was measured here;
#: inflating the whole megabyte (no limit while inflating) grew the peak by 1.6 MiB.
BOMB_MARGIN = 256 * KiB


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")
def test_a_zip_bomb_is_closed_with_1009_before_its_memory_is_spent(foreground) -> None:
    assert len(BOMB) <= KiB
    server = foreground("--quiet", "--compression", "deflate", "--max-size", "64KiB")
    pid = server.process.pid
    for _ in range(3):  # warm up: threads, zlib, the recorder, a compressed echo
        sock, answer = open_compressed(server.port)
        with sock:
            assert answer.startswith("permessage-deflate")
            sock.sendall(rc.frame(0x2, deflate(b"warm up " * 100), rsv1=True))
            assert read_compressed_frame(sock).rsv1
    time.sleep(0.2)
    before = procmem.rss(pid)
    procmem.reset_peak(pid)  # if refused, the peak counts from the start: only higher
    sock, _ = open_compressed(server.port)
    with sock:
        sock.sendall(rc.frame(0x2, BOMB, rsv1=True))
        frames, closed = rc.read_frames(sock)
    growth = procmem.peak_rss(pid) - before
    seen = f"peak RSS grew by {growth / KiB:.0f} KiB"
    print(seen)  # shown with pytest -s
    assert [rc.close_code_of(f) for f in frames] == [1009] and closed, frames
    assert growth < BOMB_MAX_SIZE + BOMB_MARGIN, seen
    assert server.process.poll() is None
    rc.assert_echoes(server.url, "still here")
