"""The built-in test page (``wslearn/static/index.html``) in headless Chromium, on the live server.

The page shows the notebook widget's panel (``wslearn/static/client.js``, mounted with ids on
its controls) and is driven through its buttons, as a learner would use it. What the page saw is
read from ``window.wslearnPage.log``; what the browser really put on the wire is read from the
other end of the socket, the server's recorder: masks, length cases, header bytes, the close code.
"""

from __future__ import annotations

import dataclasses
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, List, Tuple

import pytest

import wslearn

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from wslearn.recording import ConnectionRecord
    from wslearn.server import Server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

PAGE_FILE = Path(wslearn.__file__).parent / "static" / "index.html"
SIZES = (125, 126, 65535, 65536, 70000)
WAIT_MS = 10_000  # every wait in the browser is bounded by this
#: The ids of the page's controls (stable: tests and the course refer to them).
CONTROLS = (
    "url connect disconnect state message send size-125 size-126 size-65535 size-65536 "
    "size-70000 binary close-code close-reason close log"
).split()


@pytest.fixture
def server() -> Iterator[Server]:
    with wslearn.serve(port=0, max_size=2**20) as running:
        yield running


@dataclasses.dataclass
class OpenedPage:
    page: Page
    #: Console errors and uncaught exceptions, as they happen.
    errors: List[str]


@pytest.fixture
def opened(browser: Browser, server: Server) -> Iterator[OpenedPage]:
    """The test page, loaded from the live server, with its console errors collected."""
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: List[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    try:
        page.goto(server.http_url, timeout=WAIT_MS)
        yield OpenedPage(page, errors)
    finally:
        page.close()


def wait_for_log(page: Page, condition: str, arg: object = None) -> None:
    """Wait (bounded) until ``condition`` holds; it is a JS expression over ``log`` and ``arg``."""
    page.wait_for_function(
        f"(arg) => {{ const log = window.wslearnPage.log; return {condition}; }}",
        arg=arg,
        timeout=WAIT_MS,
    )


def websocket_records(server: Server, timeout: float = 10.0) -> List[ConnectionRecord]:
    """The upgraded connections, once all of them have ended (bounded wait)."""
    deadline = time.monotonic() + timeout
    while True:
        records = [c for c in server.recorder.connections() if c.status == 101]
        if (records and all(c.closed is not None for c in records)) or time.monotonic() > deadline:
            return records
        time.sleep(0.02)


def server_close_frame(server: Server) -> Tuple[int, str]:
    """Code and reason of the Close frame the server sent (1005 and "" when it carried no code)."""
    (frame,) = [f for f in server.recorder.frames(direction="out") if f.opcode == 8]
    close = wslearn.Close.parse(frame.payload_preview)
    return close.code, close.reason


def test_every_control_round_trips_through_the_live_server(
    server: Server, opened: OpenedPage
) -> None:
    page = opened.page
    assert page.input_value("#url") == server.url  # built from the page's own location
    assert page.text_content("#state") == "CLOSED"

    page.click("#connect")
    page.wait_for_function("() => window.wslearnPage.state() === 'OPEN'", timeout=WAIT_MS)
    assert page.text_content("#state") == "OPEN"

    text = page.input_value("#message")
    assert "你好" in text and "👋" in text  # 3-byte and 4-byte UTF-8 characters
    page.click("#send")
    for size in SIZES:
        page.click(f"#size-{size}")
    page.click("#binary")
    messages = 1 + len(SIZES) + 1
    wait_for_log(page, "log.filter(e => e.type === 'received').length >= arg", messages)

    page.fill("#close-code", "4000")
    page.fill("#close-reason", "done")
    page.click("#close")
    wait_for_log(page, "log.some(e => e.type === 'close')")
    assert page.text_content("#state") == "CLOSED"

    # --- what the page saw
    log = page.evaluate("() => window.wslearnPage.log")
    sent = [e for e in log if e["type"] == "sent"]
    assert [(e["kind"], e["bytes"]) for e in sent] == [
        ("text", len(text.encode("utf-8"))),
        *[("text", size) for size in SIZES],
        ("binary", 256),
    ]
    received = [e for e in log if e["type"] == "received"]
    assert [e["bytes"] for e in received] == [e["bytes"] for e in sent]
    assert received[0]["chars"] == len(text)  # code points, not UTF-16 units
    assert received[-1]["hex"].startswith("00 01 02 03")
    # Each echo is checked against the message it answers (the oldest one waiting).
    assert len(received) == messages
    assert all(e["echo"] == "echo matches" for e in received), received
    assert [e["of"] for e in received] == [e["n"] for e in sent] == list(range(1, messages + 1))
    summary = f"Sent {messages}, echoes matched {messages}, waiting for 0."
    assert page.text_content("#summary") == summary
    assert not [e for e in log if e["type"] in ("error", "close-error", "not-sent", "unanswered")]
    (close,) = [e for e in log if e["type"] == "close"]
    # A direct connection: the code reaches the server, which sends it back (§5.5.1); the
    # close event reports the server's Close frame, reason included, as it was on the wire.
    assert (close["code"], close["wasClean"]) == (4000, True)
    assert (close["code"], close["reason"]) == server_close_frame(server)

    # --- what the browser put on the wire, as the server recorded it
    inbound = server.wait_for_frames(messages + 1, direction="in")
    assert len(inbound) == messages + 1
    for frame in inbound:
        assert frame.masked and frame.mask is not None and len(frame.mask) == 4
        assert frame.fin and not frame.rsv1  # one frame per message, not compressed
    masks = [frame.mask for frame in inbound]
    assert len(set(masks)) == len(masks), "the browser must pick a new mask for every frame"
    # The recorder keeps the payload's first bytes twice: as the browser masked them on the
    # wire, and unmasked.
    for frame in inbound:
        assert wslearn.unmask(frame.wire_preview, frame.mask) == frame.payload_preview
        assert len(frame.wire_preview) == len(frame.payload_preview)
        if any(frame.mask[i % 4] for i in range(len(frame.payload_preview))):
            assert frame.wire_preview != frame.payload_preview

    data = [frame for frame in inbound if frame.opcode in (1, 2)]
    assert [(f.opcode, f.length) for f in data] == [
        (1, len(text.encode("utf-8"))),
        *[(1, size) for size in SIZES],
        (2, 256),
    ]
    assert data[0].payload_preview == text.encode("utf-8")
    assert data[-1].payload_preview == bytes(range(256))
    assert {f.length_case for f in data} == {"7-bit", "16-bit", "64-bit"}
    assert [f.length_case for f in data[1:6]] == ["7-bit", "16-bit", "16-bit", "64-bit", "64-bit"]
    # The header the page predicted is the header that arrived (the 4 mask bytes follow it).
    assert [f.header[:-4].hex(" ") for f in data] == [e["header"] for e in sent]
    assert data[5].header[:-4] == bytes.fromhex("81ff0000000000011170")  # 70000 bytes

    (close_frame,) = [frame for frame in inbound if frame.opcode == 8]
    assert close_frame.payload_preview == (4000).to_bytes(2, "big") + b"done"

    outbound = server.recorder.frames(direction="out")
    assert outbound and not any(frame.masked for frame in outbound)  # a server never masks
    assert all(frame.wire_preview == frame.payload_preview for frame in outbound)

    (record,) = websocket_records(server)
    assert (record.close_code, record.close_reason) == (4000, "done")
    assert record.request_headers.get("Origin") == server.http_url.rstrip("/")
    assert record.request_headers.get("Sec-WebSocket-Version") == "13"
    # The page asks for nothing else (its icon is inline): no 404 while it loads.
    assert not [c for c in server.recorder.connections() if c.status == 404]
    assert opened.errors == []


def test_the_browser_refuses_close_codes_a_page_may_not_send(
    server: Server, opened: OpenedPage
) -> None:
    page = opened.page
    page.click("#connect")
    page.wait_for_function("() => window.wslearnPage.state() === 'OPEN'", timeout=WAIT_MS)

    page.fill("#close-code", "1001")  # only 1000 and 3000-4999 are allowed from a page
    page.click("#close")
    assert "InvalidAccessError" in page.text_content("#close-error")
    page.fill("#close-code", "1000")
    page.fill("#close-reason", "x" * 124)  # one byte over the limit of 123
    assert page.text_content("#reason-bytes") == "124/123 bytes"
    page.click("#close")
    assert "SyntaxError" in page.text_content("#close-error")
    refused = page.evaluate("() => window.wslearnPage.log.filter(e => e.type === 'close-error')")
    assert [e["name"] for e in refused] == ["InvalidAccessError", "SyntaxError"]
    assert page.evaluate("() => window.wslearnPage.state()") == "OPEN"  # nothing was sent

    # Disconnect sends a Close frame with no code: both ends then report 1005.
    page.click("#disconnect")
    wait_for_log(page, "log.some(e => e.type === 'close')")
    close = page.evaluate("() => window.wslearnPage.log.find(e => e.type === 'close')")
    assert (close["code"], close["wasClean"]) == (1005, True)
    (close_frame,) = [f for f in server.wait_for_frames(1, direction="in") if f.opcode == 8]
    assert close_frame.length == 0
    (record,) = websocket_records(server)
    assert record.close_code == 1005
    assert opened.errors == []


def test_page_loads_and_runs_without_console_errors(server: Server, opened: OpenedPage) -> None:
    page = opened.page
    assert page.title().startswith("wslearn test page")
    api = page.evaluate(
        "() => Object.keys(window.wslearnPage).filter(k => k !== 'log' "
        "&& typeof window.wslearnPage[k] === 'function')"
    )
    assert {"connect", "send", "sendSize", "sendBinary", "close", "state"} <= set(api)
    for control in CONTROLS:
        assert page.locator(f"#{control}").count() == 1, control
    # The panel is the notebook widget's: the same module, the same markup, inside the page.
    assert page.locator(".wslearn-bc #connect").count() == 1

    # A whole connection, driven through the JavaScript API this time.
    assert page.evaluate("() => window.wslearnPage.connect()")
    page.wait_for_function("() => window.wslearnPage.state() === 'OPEN'", timeout=WAIT_MS)
    assert page.evaluate("() => window.wslearnPage.send('ping 👋')")
    assert page.evaluate("() => window.wslearnPage.sendSize(200)")
    wait_for_log(page, "log.filter(e => e.type === 'received').length >= 2")
    assert page.evaluate("() => window.wslearnPage.close(3000, 'bye')")
    wait_for_log(page, "log.some(e => e.type === 'close')")
    log = page.evaluate("() => window.wslearnPage.log")
    assert [e["echo"] for e in log if e["type"] == "received"] == ["echo matches"] * 2
    assert [(e["code"], e["reason"]) for e in log if e["type"] == "close"] == [
        server_close_frame(server)
    ]
    assert server_close_frame(server)[0] == 3000
    (record,) = websocket_records(server)
    assert (record.close_code, record.close_reason) == (3000, "bye")
    assert opened.errors == []


def test_http_get_serves_the_page_and_404_elsewhere(server: Server) -> None:
    for path in ("", "index.html"):
        with urllib.request.urlopen(server.http_url + path, timeout=10) as response:
            assert response.status == 200
            assert response.headers.get_content_type() == "text/html"
            assert response.headers.get_content_charset() == "utf-8"
            assert response.read() == PAGE_FILE.read_bytes()

    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(server.http_url + "nope", timeout=10)
    assert caught.value.code == 404
    caught.value.close()


def test_the_page_connects_to_the_directory_it_came_from(opened: OpenedPage) -> None:
    """Through Jupyter (``.../proxy/<port>/``) the URL keeps that path, marked for the recording."""
    urls = opened.page.evaluate(
        """async (locations) => {
            const { pageUrl } = await import("./client.js");  // the module the page loaded
            return locations.map((location) => pageUrl(new URL(location)));
        }""",
        [
            "http://127.0.0.1:8765/",
            "http://127.0.0.1:8765/index.html",
            "https://hub.example.org/user/ada/proxy/8765/index.html",
        ],
    )
    assert urls == [
        "ws://127.0.0.1:8765/",
        "ws://127.0.0.1:8765/",
        "wss://hub.example.org/user/ada/proxy/8765/?via=jupyter-proxy",
    ]
    assert opened.errors == []
