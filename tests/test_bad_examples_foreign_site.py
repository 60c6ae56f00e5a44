"""The foreign site of notebook 08: a real browser's page from another site is refused (403).

Headless Chromium loads the attacker's page from ``http://evil.localhost:PORT/`` (Chromium
resolves ``*.localhost`` to 127.0.0.1 itself); the page opens a WebSocket to a server with the
default Origin policy. What the server recorded and what the page saw are both checked, and
so is the control: the same page from ``http://127.0.0.1:PORT/``, a loopback origin, gets in.
The unit tests below need no browser.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Iterator, List

import pytest

import wslearn
from wslearn.bad_examples.foreign_site import (
    REQUEST_TIMEOUT,
    SITE_NAME,
    ForeignSite,
    page_for,
    serve_foreign_site,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from wslearn.recording import ConnectionRecord

pytestmark = pytest.mark.timeout(60)

WAIT_MS = 10_000  # every wait in the browser is bounded by this
RECORD_WAIT = 5.0  # seconds the server's record may take to show the page's connection
#: stop() shuts the serving loop (0.1 s poll) and joins request threads, each of which
#: waits at most REQUEST_TIMEOUT for a silent client: this bound is stated, with room.
STOP_BOUND = REQUEST_TIMEOUT + 3.0


@pytest.fixture
def server() -> Iterator[wslearn.Server]:
    with wslearn.serve(port=0, ping_interval=None) as running:  # the default origins="local"
        yield running


@pytest.fixture
def site(server: wslearn.Server) -> Iterator[ForeignSite]:
    with serve_foreign_site(server.url) as running:
        yield running


def handshake_records(server: wslearn.Server, count: int = 1) -> List[ConnectionRecord]:
    """The first ``count`` connection records, once each has an answer (bounded wait)."""
    deadline = time.monotonic() + RECORD_WAIT
    while True:
        records = server.recorder.connections()
        if len(records) >= count and all(r.status is not None for r in records[:count]):
            return records
        if time.monotonic() > deadline:
            return records
        time.sleep(0.02)


def page_outcome(page: Page) -> str:
    """What the page says happened, once it knows (bounded wait)."""
    page.wait_for_function(
        "() => window.foreignSite && window.foreignSite.outcome !== 'connecting'",
        timeout=WAIT_MS,
    )
    return page.evaluate("() => window.foreignSite.outcome")


def fetch(url: str) -> tuple[int, str]:
    """Status and body of a plain GET (no proxy: always straight to 127.0.0.1)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, ""


def site_threads() -> List[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("foreign-site-")]


# ---------------------------------------------------------------- in a real browser


@pytest.mark.browser
def test_chromium_on_the_foreign_site_is_refused_and_the_record_says_why(
    browser: Browser, server: wslearn.Server, site: ForeignSite
) -> None:
    assert site.url == f"http://{SITE_NAME}:{site.port}/"
    page = browser.new_page()
    try:
        page.goto(site.url, timeout=WAIT_MS)  # Chromium finds evil.localhost by itself
        outcome = page_outcome(page)
        shown = page.text_content("#outcome") or ""
        page_origin = page.evaluate("() => location.origin")
    finally:
        page.close()

    assert outcome == "refused"
    assert shown.startswith("refused")
    assert page_origin == f"http://{SITE_NAME}:{site.port}"
    (record,) = handshake_records(server)
    assert record.status == 403
    assert record.request_headers["Origin"] == f"http://{SITE_NAME}:{site.port}"
    assert record.request_headers["Host"] == f"127.0.0.1:{server.port}"
    assert f"origin {page_origin!r}" in record.error
    assert "Chrome" in record.user_agent  # a real browser sent it, not a test's socket
    assert not server.connections


@pytest.mark.browser
def test_control_the_same_page_from_a_loopback_origin_gets_in(
    browser: Browser, server: wslearn.Server, site: ForeignSite
) -> None:
    page = browser.new_page()
    try:
        page.goto(f"http://127.0.0.1:{site.port}/", timeout=WAIT_MS)
        outcome = page_outcome(page)
    finally:
        page.close()

    assert outcome == "connected"
    (record,) = handshake_records(server)
    assert record.status == 101
    assert record.request_headers["Origin"] == f"http://127.0.0.1:{site.port}"
    assert record.error == ""


@pytest.mark.browser
def test_in_the_notebooks_iframe_the_frame_has_the_foreign_origin_and_is_refused(
    browser: Browser, server: wslearn.Server, site: ForeignSite
) -> None:
    # Notebook 08 shows the page with IPython's IFrame: the frame's script runs with the
    # frame's origin (evil.localhost), whatever page holds the frame.
    from IPython.display import IFrame

    page = browser.new_page()
    try:
        page.set_content(IFrame(site.url, width=600, height=120)._repr_html_())
        page.wait_for_selector("iframe", timeout=WAIT_MS)
        frame = page.frame(url=site.url)
        deadline = time.monotonic() + WAIT_MS / 1000
        while frame is None and time.monotonic() < deadline:
            page.wait_for_timeout(50)
            frame = page.frame(url=site.url)
        assert frame is not None, "the frame did not load the foreign page"
        frame.wait_for_function(
            "() => window.foreignSite && window.foreignSite.outcome !== 'connecting'",
            timeout=WAIT_MS,
        )
        outcome = frame.evaluate("() => window.foreignSite.outcome")
    finally:
        page.close()

    assert outcome == "refused"
    (record,) = handshake_records(server)
    assert (record.status, record.request_headers["Origin"]) == (
        403,
        f"http://{SITE_NAME}:{site.port}",
    )


# ---------------------------------------------------------------- the module, no browser


def test_the_site_serves_the_page_aimed_at_its_target_and_counts_visits() -> None:
    target = "ws://127.0.0.1:9/"
    with serve_foreign_site(target) as site:
        assert site.running and site.visits == 0
        assert site.origin == f"http://{SITE_NAME}:{site.port}" and site.url == site.origin + "/"
        status, body = fetch(f"http://127.0.0.1:{site.port}/")
        assert status == 200
        assert body == page_for(target)
        assert "new WebSocket(target)" in body and '"ws://127.0.0.1:9/"' in body
        assert site.visits == 1
        assert fetch(f"http://127.0.0.1:{site.port}/favicon.ico")[0] == 404
        assert site.visits == 1  # only the page counts
        assert repr(site).endswith("(running)>")


def test_the_target_is_escaped_for_html_and_script() -> None:
    page = page_for('ws://127.0.0.1:9/</script><b x="1">')
    assert "</script><b" not in page
    assert "&lt;/script&gt;&lt;b x=&quot;1&quot;&gt;" in page
    assert '"ws://127.0.0.1:9/\\u003c/script>\\u003cb x=\\"1\\">"' in page


def test_only_websocket_urls_are_targets() -> None:
    with pytest.raises(ValueError, match="ws://"):
        page_for("http://127.0.0.1:9/")


def test_stop_closes_the_port_and_leaves_no_thread_even_with_a_silent_client() -> None:
    foreign = serve_foreign_site("ws://127.0.0.1:9/")
    try:
        assert site_threads()
        # A browser's spare connection: open, and silent. Its request thread waits for it
        # REQUEST_TIMEOUT at most; stop() joins that thread too.
        with socket.create_connection(("127.0.0.1", foreign.port), timeout=5):
            time.sleep(0.2)  # let the server accept it and start its request thread
            started = time.monotonic()
            foreign.stop()
            assert time.monotonic() - started < STOP_BOUND
    finally:
        foreign.stop()
    assert not foreign.running and repr(foreign).endswith("(stopped)>")
    assert not site_threads()
    assert not [t for t in threading.enumerate() if "process_request" in t.name]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", foreign.port), timeout=1).close()
    foreign.stop()  # a second stop does nothing
