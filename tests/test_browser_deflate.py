"""Headless Chromium on the test page of a server with ``compression="deflate"`` (RFC 7692).

Chromium offers ``permessage-deflate; client_max_window_bits`` on every connection; this
server accepts it. The page is driven through its buttons, as in ``test_browser_page.py``,
and what crossed the wire is read from the server's recorder:

* the 101 carries ``Sec-WebSocket-Extensions: permessage-deflate; ...`` with the server's
  window limits (the connection record keeps what was agreed);
* the first frame of every message, in both directions, has RSV1 set, and no other frame does;
* what the recorder noted as the inflated message is what the page sent (its length and
  first bytes), while the wire carried fewer bytes for messages that compress;
* the page's own check holds: every echo, inflated by the browser, matches what it sent.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Iterator, List

import pytest

import wslearn
from wslearn import DeflateParameters

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from wslearn.recording import FrameRecord
    from wslearn.server import Server

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

SIZES = (125, 126, 65535, 65536, 70000)
WAIT_MS = 10_000  # every wait in the browser is bounded by this


@pytest.fixture
def server() -> Iterator[Server]:
    with wslearn.serve(port=0, max_size=2**20, compression="deflate") as running:
        yield running


def message_starts(frames: List[FrameRecord]) -> List[FrameRecord]:
    """The first frame of each data message (TEXT or BINARY; CONT frames continue one)."""
    return [f for f in frames if f.opcode in (1, 2)]


def test_chromium_negotiates_deflate_and_the_recorder_shows_both_sides(
    browser: Browser, server: Server
) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: List[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    try:
        page.goto(server.http_url, timeout=WAIT_MS)
        page.click("#connect")
        page.wait_for_function("() => window.wslearnPage.state() === 'OPEN'", timeout=WAIT_MS)
        text = page.input_value("#message")
        page.click("#send")
        for size in SIZES:
            page.click(f"#size-{size}")
        page.click("#binary")
        messages = 1 + len(SIZES) + 1
        page.wait_for_function(
            "(n) => window.wslearnPage.log.filter(e => e.type === 'received').length >= n",
            arg=messages,
            timeout=WAIT_MS,
        )
        page.click("#disconnect")
        page.wait_for_function(
            "() => window.wslearnPage.log.some(e => e.type === 'close')", timeout=WAIT_MS
        )
        log = page.evaluate("() => window.wslearnPage.log")
    finally:
        page.close()
    assert errors == []

    # --- the page: every echo, inflated by the browser, is what it sent
    sent = [e for e in log if e["type"] == "sent"]
    received = [e for e in log if e["type"] == "received"]
    assert len(sent) == len(received) == messages
    assert all(e["echo"] == "echo matches" for e in received), received

    # --- the handshake: Chromium offered, the server answered in its 101
    deadline = time.monotonic() + 10
    while True:
        (record,) = [c for c in server.recorder.connections() if c.status == 101]
        if record.closed is not None or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    offer = record.request_headers.get("Sec-WebSocket-Extensions") or ""
    assert offer.startswith("permessage-deflate")
    assert record.deflate == DeflateParameters(server_max_window_bits=12, client_max_window_bits=12)

    # --- the frames: RSV1 on each message's first frame, the inflated message recorded
    frames = server.recorder.frames(connection=record.id)
    inbound = message_starts([f for f in frames if f.direction == "in"])
    outbound = message_starts([f for f in frames if f.direction == "out"])
    assert len(inbound) == len(outbound) == messages
    for frame in inbound + outbound:
        assert frame.rsv1 and frame.inflated is not None, frame
    assert not any(f.rsv1 for f in frames if f.opcode not in (1, 2))  # CONT, control frames
    preview = server.recorder.preview_bytes
    for frame, event in zip(inbound, sent):
        assert frame.inflated is not None
        assert frame.inflated.length == event["bytes"]
    # The page's first message is its text box; its inflated bytes are that text.
    assert inbound[0].inflated is not None
    assert inbound[0].inflated.preview == text.encode("utf-8")[:preview]
    assert inbound[-1].inflated is not None
    assert inbound[-1].inflated.preview == bytes(range(256))[:preview]
    # The echoes went back compressed, and carried the same messages.
    for frame, back in zip(outbound, inbound):
        assert frame.inflated is not None and back.inflated is not None
        assert (frame.inflated.length, frame.inflated.preview) == (
            back.inflated.length,
            back.inflated.preview,
        )
    # A 70 000-byte message of the page's repeated text compresses to far less on the wire.
    assert inbound[1 + SIZES.index(70000)].length < 70000 // 10
