"""Subprotocols in headless Chromium: the test page's Protocols field, and the shipped recording.

The page (the notebook widget's panel, ``wslearn/static/client.js``) passes its subprotocols to
``new WebSocket(url, protocols)`` and reports ``ws.protocol`` in its log's "open" entry. A fresh
run of ``tests/helpers/capture_browser_subprotocols.py`` must tell the same story as the file
the course ships (``wslearn/data/chromium_subprotocols.json``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Dict, Iterator, List

import pytest

import wslearn
from wslearn.course_data import chromium_subprotocols

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.timeout(90)]

WAIT_MS = 10_000


@pytest.fixture(scope="module")
def fresh(browser: Browser) -> Dict[str, Any]:
    from helpers.capture_browser_subprotocols import capture

    return capture(browser)


def _outcome(case: Dict[str, Any]) -> Dict[str, Any]:
    """What must not change from one capture to the next (keys and ports do)."""
    page = case["page"]
    return {
        "name": case["name"],
        "offered": case["offered"],
        "request_protocol_headers": case["request_protocol_headers"],
        "response_protocol_headers": case["response_protocol_headers"],
        "opened": page["opened"],
        "protocol": page["protocol"],
        "error_event": page["error_event"],
        "close_code": page["close"]["code"],
        "wasClean": page["close"]["wasClean"],
        "console": page["console"],
    }


def test_a_fresh_capture_tells_the_shipped_story(fresh: Dict[str, Any]) -> None:
    shipped = chromium_subprotocols()
    assert [_outcome(c) for c in fresh["cases"]] == [_outcome(c) for c in shipped["cases"]], (
        "Chromium negotiates differently now: run "
        "`python tests/helpers/capture_browser_subprotocols.py` and review notebook 10"
    )


def test_chromium_sends_the_offer_in_one_header_and_takes_an_offered_pick(
    fresh: Dict[str, Any],
) -> None:
    cases = {c["name"]: c for c in fresh["cases"]}
    picked = cases["picks-one-offered"]
    assert picked["request_protocol_headers"] == ["chat.v2, chat.v1"]
    assert picked["response_protocol_headers"] == ["chat.v1"]
    assert picked["page"]["opened"] and picked["page"]["protocol"] == "chat.v1"
    assert picked["page"]["close"] == {"code": 1000, "reason": "bye", "wasClean": True}
    # Nothing offered: no header at all, and the page opens with protocol "".
    assert cases["offers-none"]["request_protocol_headers"] == []
    assert cases["offers-none"]["page"]["protocol"] == ""


def test_chromium_fails_the_connection_on_a_pick_it_did_not_offer(fresh: Dict[str, Any]) -> None:
    cases = {c["name"]: c for c in fresh["cases"]}
    for name in ("picks-one-not-offered", "offers-none-gets-one", "picks-none"):
        case = cases[name]
        assert not case["page"]["opened"], name
        assert case["page"]["error_event"] and case["page"]["close"]["code"] == 1006, name
        assert any("Error during WebSocket handshake" in m for m in case["page"]["console"]), name
    # The raw socket: after the 101, Chromium sent nothing (no Close frame) and dropped TCP.
    assert cases["picks-one-not-offered"]["after_response_hex"] == ""
    assert cases["picks-one-not-offered"]["browser_closed_tcp"] is True


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = browser.new_page()
    try:
        yield page
    finally:
        page.close()


def _wait_for_open_or_close(page: Page) -> List[Dict[str, Any]]:
    page.wait_for_function(
        "() => wslearnPage.log.some(e => e.type === 'open' || e.type === 'close' "
        "|| e.type === 'error')",
        timeout=WAIT_MS,
    )
    return page.evaluate("() => wslearnPage.log")


def test_the_protocols_field_is_offered_and_the_agreed_one_is_logged(page: Page) -> None:
    with wslearn.serve(port=0, subprotocols=["chat.v1"]) as server:
        page.goto(server.http_url, timeout=WAIT_MS)
        page.fill("#protocols", "chat.v2, chat.v1")
        page.click("#connect")
        log = _wait_for_open_or_close(page)
        (opened,) = [e for e in log if e["type"] == "open"]
        assert opened["protocol"] == "chat.v1"
        assert page.evaluate("() => wslearnPage.protocol()") == "chat.v1"
        (connecting,) = [e for e in log if e["type"] == "connecting"]
        assert connecting["subprotocols"] == ["chat.v2", "chat.v1"]
        assert page.is_disabled("#protocols")  # fixed while the socket is open
        page.evaluate("() => wslearnPage.close(1000, 'bye')")
        page.wait_for_function("() => wslearnPage.state() === 'CLOSED'", timeout=WAIT_MS)
        deadline = time.monotonic() + 10
        while not (records := [c for c in server.recorder.connections() if c.status == 101]):
            assert time.monotonic() < deadline, "the server recorded no connection"
            time.sleep(0.05)
        offer = records[0].request_headers.get_all("Sec-WebSocket-Protocol")
        assert offer == ["chat.v2, chat.v1"]
        # connect(url, protocols) from a script: a list replaces the field.
        assert page.evaluate("() => wslearnPage.connect(undefined, [])")
        # The log still holds the first socket's open and close: wait for a second outcome.
        page.wait_for_function(
            "() => wslearnPage.log.filter(e => e.type === 'open' || e.type === 'error')"
            ".length >= 2",
            timeout=WAIT_MS,
        )
        log = page.evaluate("() => wslearnPage.log")
        assert [e["protocol"] for e in log if e["type"] == "open"] == ["chat.v1", ""]
        assert page.input_value("#protocols") == ""


def test_the_browser_refuses_an_offer_that_is_not_unique_tokens(page: Page) -> None:
    with wslearn.serve(port=0) as server:
        page.goto(server.http_url, timeout=WAIT_MS)
        for offer in (["a b"], ["chat", "chat"]):
            assert not page.evaluate("(p) => wslearnPage.connect(undefined, p)", offer)
            errors = [e for e in page.evaluate("() => wslearnPage.log") if e["type"] == "error"]
            assert "refused the URL or the subprotocols: SyntaxError" in errors[-1]["message"]
            assert page.evaluate("() => wslearnPage.state()") == "CLOSED"
        assert [c for c in server.recorder.connections() if c.status == 101] == []
