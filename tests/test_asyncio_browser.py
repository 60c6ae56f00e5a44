"""Headless Chromium talks to the asyncio server: a browser's WebSocket, each length case.

Playwright's sync API holds an event loop in the test's thread, so the asyncio server runs on
a loop of its own in another thread. It has no HTTP page: the page comes from the threaded
server (``wslearn.serve``), so the browser sends the Origin of a page on this machine, which
the asyncio server's default rule (``origins="local"``) lets in.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, List

import pytest

import wslearn
import wslearn.asyncio as wa

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

LENGTHS = [0, 1, 125, 126, 65535, 65536, 70000]

# Opens a WebSocket, sends "a" * n for each n, and returns what came back, in order.
ECHO_EACH_LENGTH = """
async ([url, lengths]) => {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  const echoes = [];
  for (const n of lengths) {
    const echo = new Promise((resolve) => { ws.onmessage = (event) => resolve(event.data); });
    ws.send("a".repeat(n));
    echoes.push(await echo);
  }
  const closed = new Promise((resolve) => { ws.onclose = (event) => resolve(event.code); });
  ws.close(1000);
  return {echoes: echoes, code: await closed, origin: location.origin, extensions: ws.extensions};
}
"""


@pytest.mark.parametrize("compression", [None, "deflate"])
def test_chromium_echoes_each_length_case_through_the_asyncio_server(browser, compression) -> None:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    seen: List[Any] = []

    async def keep_and_echo(connection: wa.ServerConnection) -> None:
        seen.append(connection)
        await wa.echo(connection)

    def call(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(20)

    server = call(wa.serve(keep_and_echo, compression=compression))
    page_server = wslearn.serve(port=0, log=None)
    try:
        page = browser.new_page()
        try:
            page.goto(page_server.http_url, timeout=30_000)
            result = page.evaluate(ECHO_EACH_LENGTH, [server.url, LENGTHS])
        finally:
            page.close()
        assert [len(echo) for echo in result["echoes"]] == LENGTHS
        assert all(set(echo) <= {"a"} for echo in result["echoes"])
        assert result["code"] == 1000
        # Chromium offers permessage-deflate; the server accepts it only when it is on.
        assert result["extensions"].startswith("permessage-deflate") == bool(compression)
        [connection] = seen
        assert connection.request.headers["Origin"] == result["origin"]
        call(connection.wait_closed())
        assert connection.close_code == 1000
    finally:
        page_server.stop()

        async def close() -> List[asyncio.Task]:
            await server.close()
            return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

        leftovers = call(close())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
    assert leftovers == []
