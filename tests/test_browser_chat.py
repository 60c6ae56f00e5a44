"""Two Chromium pages chat in a room through ``serve(handler=ChatRooms())``.

Each page is the server's own test page (so its ``Origin`` is the server's and the default
allow-list lets it in); the test opens a plain ``new WebSocket(url)`` in each, as a learner's
page would, and reads what arrived from ``window.received``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, Iterator, List

import pytest

import wslearn
from wslearn.chat import ChatRooms

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.timeout(60)]

WAIT_MS = 10_000  # every wait in the browser is bounded by this

OPEN_SOCKET = """url => new Promise((resolve, reject) => {
    window.received = [];
    window.chat = new WebSocket(url);
    window.chat.onmessage = event => window.received.push(event.data);
    window.chat.onclose = event => { window.closeCode = event.code; };
    window.chat.onopen = () => resolve(true);
    window.chat.onerror = () => reject(new Error("the WebSocket failed"));
})"""


def open_chat(browser: Browser, server: wslearn.Server) -> Page:
    page = browser.new_page()
    page.goto(server.http_url, timeout=WAIT_MS)
    assert page.evaluate(OPEN_SOCKET, server.url) is True
    return page


def send(page: Page, message: Dict[str, Any]) -> None:
    page.evaluate("text => window.chat.send(text)", json.dumps(message))


def received(page: Page, count: int) -> List[Dict[str, Any]]:
    """The first ``count`` messages the page received, once they are there."""
    page.wait_for_function(f"window.received.length >= {count}", timeout=WAIT_MS)
    return [json.loads(text) for text in page.evaluate("window.received")[:count]]


@pytest.fixture
def server() -> Iterator[wslearn.Server]:
    server = wslearn.serve(port=0, handler=ChatRooms(), show_errors=False)
    try:
        yield server
    finally:
        server.stop()
        assert not server.errors, server.errors


def test_two_browser_pages_chat_in_a_room(browser: Browser, server: wslearn.Server) -> None:
    ada, bob = open_chat(browser, server), open_chat(browser, server)
    try:
        send(ada, {"type": "join", "room": "lobby", "name": "ada"})
        received(ada, 1)
        send(bob, {"type": "join", "room": "lobby", "name": "bob"})
        send(bob, {"type": "say", "text": "hello from Chromium 🚀"})
        said = {"type": "said", "room": "lobby", "name": "bob", "text": "hello from Chromium 🚀"}
        assert received(ada, 3)[1:] == [
            {"type": "joined", "room": "lobby", "name": "bob", "members": ["ada", "bob"]},
            said,
        ]
        assert received(bob, 2)[1] == said
        send(ada, {"type": "say"})  # an application error: answered, the socket stays open
        assert received(ada, 4)[3]["type"] == "error"
        ada.evaluate("window.chat.send(new Uint8Array([1, 2, 3]))")  # binary: closed, 1003
        ada.wait_for_function("window.closeCode !== undefined", timeout=WAIT_MS)
        assert ada.evaluate("window.closeCode") == 1003
        assert received(bob, 3)[2] == {"type": "left", "room": "lobby", "name": "ada"}
    finally:
        ada.close()
        bob.close()
