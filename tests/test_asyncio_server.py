"""The asyncio server against a client nobody here wrote: websockets' own asyncio client.

Each test runs its own event loop (``asyncio.run``), bounded in time, and ends by checking that
the server left no task behind once closed. The hostile peers are in test_asyncio_hostile.py.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Coroutine, List

import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed as WsClosed

import wslearn.asyncio as wa
from wslearn.asyncio import ServerConnection

pytestmark = pytest.mark.timeout(60)

LENGTHS = [0, 1, 125, 126, 65535, 65536, 70000]  # each length case of §5.2, both sides of each


def run(main: Coroutine[Any, Any, Any]) -> Any:
    """Run ``main`` on a new event loop (pytest-timeout bounds it)."""
    return asyncio.run(main)


def leftover_tasks() -> List[asyncio.Task]:
    return [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]


async def closed_and_clean(server: wa.Server) -> None:
    """Close the server; it must end every connection's tasks."""
    await server.close()
    assert leftover_tasks() == []


def client(url: str, **options: Any):
    options.setdefault("proxy", None)
    options.setdefault("open_timeout", 5)
    options.setdefault("close_timeout", 5)
    return ws_connect(url, **options)


@pytest.mark.parametrize("length", LENGTHS)
def test_text_and_binary_of_each_length_case_are_echoed(length: int) -> None:
    async def main() -> None:
        server = await wa.serve(wa.echo)
        async with client(server.url) as ws:
            text = "é" * (length // 2) + "a" * (length % 2)  # 2-byte characters too
            await ws.send(text)
            assert await ws.recv() == text
            data = bytes(range(256)) * (length // 256) + b"\x07" * (length % 256)
            await ws.send(data)
            assert await ws.recv() == data
        await closed_and_clean(server)

    run(main())


def test_fragmented_messages_from_the_peer_are_assembled() -> None:
    async def main() -> None:
        server = await wa.serve(wa.echo)
        async with client(server.url) as ws:
            await ws.send(["Hel", "lo, ", "wor", "ld"])  # websockets: one frame per piece
            assert await ws.recv() == "Hello, world"
            await ws.send([b"\x00" * 70000, b"\x01" * 3])
            assert await ws.recv() == b"\x00" * 70000 + b"\x01" * 3
        await closed_and_clean(server)

    run(main())


def test_ping_from_the_client_gets_its_pong_and_the_server_pings_too() -> None:
    async def main() -> None:
        server = await wa.serve(wa.echo, ping_interval=0.1, ping_timeout=2)
        async with client(server.url, ping_interval=None) as ws:
            latency = await asyncio.wait_for(await ws.ping(b"are you there"), 5)
            assert latency >= 0
            await asyncio.sleep(0.5)  # several keepalive Pings, each answered by websockets
            await ws.send("still open")
            assert await ws.recv() == "still open"
            assert [c.close_code for c in server.connections] == [None]
        await closed_and_clean(server)

    run(main())


def test_server_pings_the_client_and_measures_the_round_trip() -> None:
    async def pinger(connection: ServerConnection) -> None:
        latency = await asyncio.wait_for(await connection.ping(), 5)
        await connection.send(f"{latency:.6f}")

    async def main() -> None:
        server = await wa.serve(pinger)
        async with client(server.url) as ws:
            assert float(await ws.recv()) >= 0
        await closed_and_clean(server)

    run(main())


@pytest.mark.parametrize("code, reason", [(1000, ""), (4001, "bye"), (3000, "fin é")])
def test_client_close_code_and_reason_reach_the_server(code: int, reason: str) -> None:
    seen: List[ServerConnection] = []

    async def handler(connection: ServerConnection) -> None:
        seen.append(connection)
        async for _ in connection:
            pass

    async def main() -> None:
        server = await wa.serve(handler)
        async with client(server.url) as ws:
            await ws.close(code, reason)
            assert ws.close_code == code  # echoed back (§5.5.1)
        await seen[0].wait_closed()
        assert (seen[0].close_code, seen[0].close_reason) == (code, reason)
        await closed_and_clean(server)

    run(main())


def test_server_close_code_and_reason_reach_the_client() -> None:
    async def handler(connection: ServerConnection) -> None:
        await connection.close(4002, "done here")

    async def main() -> None:
        server = await wa.serve(handler)
        async with client(server.url) as ws:
            with pytest.raises(WsClosed):
                await ws.recv()
            assert (ws.close_code, ws.close_reason) == (4002, "done here")
        await closed_and_clean(server)

    run(main())


def test_handler_that_returns_closes_with_1000() -> None:
    async def handler(connection: ServerConnection) -> None:
        await connection.send("one and done")

    async def main() -> None:
        server = await wa.serve(handler)
        async with client(server.url) as ws:
            assert await ws.recv() == "one and done"
            with pytest.raises(WsClosed):
                await ws.recv()
            assert ws.close_code == 1000
        await closed_and_clean(server)

    run(main())


def test_handler_that_raises_closes_with_1011_and_the_server_goes_on() -> None:
    async def handler(connection: ServerConnection) -> None:
        if await connection.recv() == "crash":
            raise KeyError("a bug in the handler")
        await connection.send("fine")

    async def main() -> None:
        server = await wa.serve(handler, show_errors=False)
        async with client(server.url) as ws:
            await ws.send("crash")
            with pytest.raises(WsClosed):
                await ws.recv()
            assert ws.close_code == 1011
            assert "KeyError" in ws.close_reason
        async with client(server.url) as ws:
            await ws.send("hello")
            assert await ws.recv() == "fine"
        [(_id, error, text)] = server.errors
        assert isinstance(error, KeyError) and "a bug in the handler" in text
        await closed_and_clean(server)

    run(main())


def test_subprotocol_agreed_is_the_clients_first_that_the_server_supports() -> None:
    async def handler(connection: ServerConnection) -> None:
        await connection.send(str(connection.subprotocol))

    async def main() -> None:
        server = await wa.serve(handler, subprotocols=["chat.v2", "chat.v1"])
        async with client(server.url, subprotocols=["chat.v1", "chat.v2"]) as ws:
            assert ws.subprotocol == "chat.v1"
            assert await ws.recv() == "chat.v1"
        async with client(server.url) as ws:  # none offered: none agreed
            assert ws.subprotocol is None
            assert await ws.recv() == "None"
        await closed_and_clean(server)

    run(main())


@pytest.mark.parametrize("length", [10, 70000])
def test_deflate_both_ways_with_websockets(length: int) -> None:
    async def main() -> None:
        server = await wa.serve(wa.echo, compression="deflate")
        async with client(server.url, compression="deflate") as ws:
            answer = ws.response.headers["Sec-WebSocket-Extensions"]
            assert answer.startswith("permessage-deflate")
            for _ in range(3):  # context takeover: later messages use the earlier ones
                await ws.send("compress me " * (length // 12))
                assert await ws.recv() == "compress me " * (length // 12)
        await closed_and_clean(server)

    run(main())


def test_compression_is_off_by_default() -> None:
    async def main() -> None:
        server = await wa.serve(wa.echo)
        async with client(server.url, compression="deflate") as ws:
            assert "Sec-WebSocket-Extensions" not in ws.response.headers
            await ws.send("plain")
            assert await ws.recv() == "plain"
        await closed_and_clean(server)

    run(main())


def test_message_over_max_size_is_refused_with_1009() -> None:
    async def main() -> None:
        server = await wa.serve(wa.echo, max_size=1000)
        async with client(server.url) as ws:
            await ws.send(b"x" * 1000)
            assert await ws.recv() == b"x" * 1000
            await ws.send(b"x" * 1001)
            with pytest.raises(WsClosed):
                await ws.recv()
            assert ws.close_code == 1009
        await closed_and_clean(server)

    run(main())


def test_close_with_clients_connected_sends_1001_and_is_bounded() -> None:
    async def main() -> None:
        server = await wa.serve(wa.echo, close_timeout=1.0)
        async with client(server.url) as first, client(server.url) as second:
            await first.send("hi")
            assert await first.recv() == "hi"
            waiting = asyncio.ensure_future(server.wait_closed())  # e.g. another cell's task
            started = time.monotonic()
            await server.close()
            assert time.monotonic() - started < 1.0 + 1.0
            await asyncio.wait_for(waiting, 1)
            assert leftover_tasks() == []
            for ws in (first, second):
                with pytest.raises(WsClosed):
                    await ws.recv()
                assert ws.close_code == 1001
        assert server.connections == []

    run(main())


def test_async_context_manager_closes_the_server_and_the_port_is_free_again() -> None:
    async def main() -> None:
        async with await wa.serve(wa.echo) as server:
            async with client(server.url) as ws:
                await ws.send("x")
                assert await ws.recv() == "x"
        assert leftover_tasks() == []
        with pytest.raises(OSError):
            await asyncio.wait_for(client(server.url, open_timeout=2).__aenter__(), 3)

    run(main())
