"""The asyncio client against a server nobody here wrote: websockets' own asyncio server.

Each test runs its own event loop (``asyncio.run``; pytest-timeout bounds it) and checks at
the end that the client left no task behind.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Coroutine, List

import pytest
from websockets.asyncio.server import ServerConnection as WsConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.http11 import Response as WsResponse

import wslearn
import wslearn.asyncio as wa
from wslearn.asyncio.connection import read_head

pytestmark = pytest.mark.timeout(60)

LENGTHS = [0, 1, 125, 126, 65535, 65536, 70000]


def run(main: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(main)


def leftover_tasks() -> List[asyncio.Task]:
    return [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]


async def ws_echo(ws: WsConnection) -> None:
    async for message in ws:
        await ws.send(message)


def server(handler: Any = ws_echo, **options: Any):
    """websockets' server on a free port of 127.0.0.1."""
    return ws_serve(handler, "127.0.0.1", 0, **options)


def url_of(ws_server: Any) -> str:
    return f"ws://127.0.0.1:{ws_server.sockets[0].getsockname()[1]}/"


@pytest.mark.parametrize("length", LENGTHS)
def test_text_and_binary_of_each_length_case_come_back(length: int) -> None:
    async def main() -> None:
        async with server() as ws_server:
            connection = await wa.connect(url_of(ws_server))
            text = "é" * (length // 2) + "a" * (length % 2)
            await connection.send(text)
            assert await connection.recv() == text
            data = bytes(range(256)) * (length // 256) + b"\x07" * (length % 256)
            await connection.send(data)
            assert await connection.recv() == data
            await connection.close()
            assert connection.close_code == 1000
        assert leftover_tasks() == []

    run(main())


def test_fragmented_messages_from_the_server_are_assembled() -> None:
    async def fragments(ws: WsConnection) -> None:
        await ws.send(["Hel", "lo, ", "wor", "ld"])  # one frame per piece
        await ws.send([b"\x00" * 70000, b"\x01"])
        await ws.wait_closed()

    async def main() -> None:
        async with server(fragments) as ws_server:
            async with await wa.connect(url_of(ws_server)) as connection:
                assert await connection.recv() == "Hello, world"
                assert await connection.recv() == b"\x00" * 70000 + b"\x01"
        assert leftover_tasks() == []

    run(main())


def test_ping_gets_its_pong_and_the_servers_pings_are_answered() -> None:
    async def main() -> None:
        async with server(ping_interval=0.1, ping_timeout=0.5) as ws_server:
            async with await wa.connect(url_of(ws_server), ping_interval=None) as connection:
                latency = await asyncio.wait_for(await connection.ping(), 5)
                assert latency >= 0
                await asyncio.sleep(0.8)  # websockets would close a peer whose Pong is late
                await connection.send("still open")
                assert await connection.recv() == "still open"
        assert leftover_tasks() == []

    run(main())


def test_client_close_code_and_reason_reach_the_server() -> None:
    seen: List[Any] = []

    async def handler(ws: WsConnection) -> None:
        await ws.wait_closed()
        seen.append((ws.close_code, ws.close_reason))

    async def main() -> None:
        async with server(handler) as ws_server:
            connection = await wa.connect(url_of(ws_server))
            await connection.close(4001, "bye é")
            assert (connection.close_code, connection.close_reason) == (4001, "bye é")
            await asyncio.sleep(0.1)
        assert seen == [(4001, "bye é")]
        assert leftover_tasks() == []

    run(main())


def test_server_close_code_ends_async_for_and_recv_raises() -> None:
    async def handler(ws: WsConnection) -> None:
        await ws.send("one")
        await ws.send("two")
        await ws.close(4002, "done here")

    async def main() -> None:
        async with server(handler) as ws_server:
            connection = await wa.connect(url_of(ws_server))
            assert [message async for message in connection] == ["one", "two"]
            assert (connection.close_code, connection.close_reason) == (4002, "done here")
            with pytest.raises(wslearn.ConnectionClosed):
                await connection.recv()
            with pytest.raises(wslearn.ConnectionClosed):
                await connection.send("too late")
        assert leftover_tasks() == []

    run(main())


def test_subprotocol_agreed_and_the_101_is_kept() -> None:
    async def handler(ws: WsConnection) -> None:
        await ws.send(str(ws.subprotocol))
        await ws.wait_closed()

    async def main() -> None:
        async with server(handler, subprotocols=["chat.v2", "chat.v1"]) as ws_server:
            async with await wa.connect(
                url_of(ws_server), subprotocols=["chat.v1", "chat.v2"]
            ) as connection:
                assert await connection.recv() == connection.subprotocol
                assert connection.response.status == 101
                assert connection.response.headers["Sec-WebSocket-Protocol"] in (
                    "chat.v1",
                    "chat.v2",
                )

    run(main())


@pytest.mark.parametrize("length", [10, 70000])
def test_deflate_both_ways_with_websockets(length: int) -> None:
    async def main() -> None:
        async with server(compression="deflate") as ws_server:
            async with await wa.connect(url_of(ws_server), compression="deflate") as connection:
                answer = connection.response.headers["Sec-WebSocket-Extensions"]
                assert answer.startswith("permessage-deflate")
                for _ in range(3):
                    await connection.send("compress me " * (length // 12))
                    assert await connection.recv() == "compress me " * (length // 12)
        assert leftover_tasks() == []

    run(main())


def test_message_over_max_size_is_refused_with_1009() -> None:
    seen: List[Any] = []

    async def big(ws: WsConnection) -> None:
        await ws.send(b"x" * 2000)
        await ws.wait_closed()
        seen.append(ws.close_code)

    async def main() -> None:
        async with server(big) as ws_server:
            connection = await wa.connect(url_of(ws_server), max_size=1000)
            with pytest.raises(wslearn.ConnectionClosed):
                await connection.recv()
            assert connection.close_code == 1009 and "1000" in connection.error
            await asyncio.sleep(0.1)
        assert seen == [1009]

    run(main())


def test_refusal_raises_invalid_response_with_the_status() -> None:
    def refuse(ws: WsConnection, request: Any) -> WsResponse:
        return ws.respond(403, "not you\n")

    async def main() -> None:
        async with server(process_request=refuse) as ws_server:
            with pytest.raises(wslearn.InvalidResponse) as refused:
                await wa.connect(url_of(ws_server))
            assert refused.value.status == 403
        # Our own asyncio server refuses a page from elsewhere the same way.
        our_server = await wa.serve(wa.echo)
        with pytest.raises(wslearn.InvalidResponse) as refused:
            await wa.connect(our_server.url, origin="http://evil.example")
        assert refused.value.status == 403
        await our_server.close()
        assert leftover_tasks() == []

    run(main())


def test_a_server_that_never_answers_raises_timeout_error_after_open_timeout() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up
        writer.close()

    async def main() -> None:
        mute = await asyncio.start_server(silent, "127.0.0.1", 0)
        port = mute.sockets[0].getsockname()[1]
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await wa.connect(f"ws://127.0.0.1:{port}/", open_timeout=0.3)
        assert time.monotonic() - started < 2.0
        mute.close()
        await mute.wait_closed()

    run(main())


def test_every_frame_is_masked_with_a_fresh_key() -> None:
    # A server made of the core alone: it answers the handshake, then reads the raw frames.
    frames: List[wslearn.Frame] = []

    async def raw(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request, buffer = await read_head(reader, wslearn.parse_request)
        key, _protocol = wslearn.validate_request(request)
        writer.write(wslearn.accept_response(key))
        while len(frames) < 3:
            parsed = wslearn.Frame.parse(buffer)
            if parsed is None:
                buffer += await reader.read(65536)
                continue
            frames.append(parsed[0])
            buffer = buffer[parsed[1] :]
        writer.close()

    async def main() -> None:
        raw_server = await asyncio.start_server(raw, "127.0.0.1", 0)
        port = raw_server.sockets[0].getsockname()[1]
        connection = await wa.connect(f"ws://127.0.0.1:{port}/", close_timeout=0.5)
        await connection.send("same")
        await connection.send("same")
        await connection.close()
        raw_server.close()
        await raw_server.wait_closed()

    run(main())
    keys = [frame.header.mask for frame in frames]
    assert all(key is not None and len(key) == 4 for key in keys)
    assert len(set(keys)) == 3  # one key per frame (§5.3), never reused
    assert [frame.payload for frame in frames[:2]] == [b"same", b"same"]  # Frame.parse unmasks
    assert frames[2].opcode == wslearn.Opcode.CLOSE


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/", "ws://", "ws://127.0.0.1/#part", "wss://127.0.0.1/"]
)
def test_urls_that_are_not_ws_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):
        run(wa.connect(url))


def test_the_host_header_names_the_port_unless_it_is_80() -> None:
    from wslearn.client import split_ws_url

    assert split_ws_url("ws://example.com/chat?room=1") == (
        "example.com", 80, "example.com", "/chat?room=1"
    )  # fmt: skip
    assert split_ws_url("ws://[::1]:8765") == ("::1", 8765, "[::1]:8765", "/")


def test_the_asyncio_client_and_server_talk_to_each_other() -> None:
    async def main() -> None:
        our_server = await wa.serve(wa.echo, compression="deflate", subprotocols=["v1"])
        connection = await wa.connect(our_server.url, compression="deflate", subprotocols=["v1"])
        assert connection.subprotocol == "v1"
        for length in LENGTHS:
            await connection.send(b"z" * length)
            assert await connection.recv() == b"z" * length
        await connection.close()
        await our_server.close()
        assert leftover_tasks() == []

    run(main())
