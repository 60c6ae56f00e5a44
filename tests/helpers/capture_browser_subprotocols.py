"""Record how a real Chromium negotiates a subprotocol, for the course to show (notebook 10).

    python tests/helpers/capture_browser_subprotocols.py  # rewrites chromium_subprotocols.json
    python tests/helpers/capture_browser_subprotocols.py --no-proxy  # the direct cases only

Headless Chromium (Debian's ``chromium``, driven by Playwright) opens the test page of a
``wslearn.serve()`` server and, through the page's ``window.wslearnPage``, connects directly
(``ws://127.0.0.1:<port>/``) five times. Three times it offers ``["chat.v2", "chat.v1"]``
(``new WebSocket(url, ["chat.v2", "chat.v1"])``) to:

1. ``wslearn.serve(subprotocols=["chat.v1"])``: the server picks one the page offered;
2. ``wslearn.serve()``: the server supports none, so it picks none;
3. a raw socket that answers a correct 101 naming ``chat.v3``, which the page did not offer;

then twice it offers nothing (``new WebSocket(url, [])``), to:

4. ``wslearn.serve(subprotocols=["chat.v1"])``: nothing offered, nothing picked;
5. the raw socket of case 3: a subprotocol nobody asked for.

Between the page and the two wslearn servers sits a plain TCP relay (:class:`OnePeer`) that
copies bytes both ways and keeps the request head and the server's answer exactly as they
crossed it; the raw socket of case 3 keeps them too, and whatever Chromium sent after the 101.
For each case the JSON holds the request head (redacted like the server's recording), its
``Sec-WebSocket-Protocol`` values exactly as sent, the server's answer head, and what the page
saw: whether it opened, ``ws.protocol``, the error event, the close event, and Chromium's
console messages (ports replaced by ``<port>``).

Then (unless ``--no-proxy``) the same page offer goes through jupyter-server-proxy: a JupyterLab
(``tests/helpers/labtools.py``) with the test token, a page of its own origin, and
``new WebSocket("ws://127.0.0.1:<lab>/proxy/<port>/?token=...", ["chat.v2", "chat.v1"])`` to the
relay in front of ``wslearn.serve(subprotocols=["chat.v1"])``, then of ``wslearn.serve()``. The
``proxy`` part of the JSON holds what the kernel's server received and answered, and what the
page saw (it sends "hello" and waits for the echo before it closes, so the server is reached).

``course_data.chromium_subprotocols()`` loads the file; ``tests/test_course_data.py`` checks it
against ``wslearn.select_subprotocol`` and ``tests/test_browser_subprotocols.py`` compares it
with a fresh capture.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import selectors
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT, ROOT / "tests"):  # wslearn, and tests/ for conftest and helpers
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import wslearn  # noqa: E402
from wslearn.handshake import accept_response, validate_request  # noqa: E402
from wslearn.http11 import parse_request  # noqa: E402
from wslearn.redaction import redact_request  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

OUTPUT = ROOT / "wslearn" / "data" / "chromium_subprotocols.json"
OFFERED = ["chat.v2", "chat.v1"]
#: What the raw server of case 3 answers, whatever was offered.
NOT_OFFERED = "chat.v3"
WAIT_MS = 10_000  # every wait in the browser is bounded by this
WAIT_S = 10.0
HEAD_LIMIT = 16_384  # a handshake head longer than this is not read further

#: The cases: (name, what happens, what the page offers, the wslearn server's subprotocols or
#: None for the raw socket that answers NOT_OFFERED whatever was offered).
CASES = [
    ("picks-one-offered", "the server supports chat.v1 and picks it", OFFERED, ["chat.v1"]),
    ("picks-none", "the server supports no subprotocol: its 101 names none", OFFERED, []),
    (
        "picks-one-not-offered",
        f"a raw socket answers a 101 naming {NOT_OFFERED}, which the page did not offer",
        OFFERED,
        None,
    ),
    ("offers-none", "the page offers nothing; the server supports chat.v1", [], ["chat.v1"]),
    (
        "offers-none-gets-one",
        f"the page offers nothing; a raw socket answers a 101 naming {NOT_OFFERED}",
        [],
        None,
    ),
]


def _chromium_args() -> List[str]:
    try:
        from conftest import CHROMIUM_ARGS  # the flags the browser tests use

        return list(CHROMIUM_ARGS)
    except ImportError:  # pragma: no cover - run from elsewhere
        return ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]


def _head_end(data: bytes) -> int:
    """Where the HTTP head ends in ``data`` (after its blank line), or -1."""
    end = data.find(b"\r\n\r\n")
    return end + 4 if end >= 0 else -1


class OnePeer:
    """One TCP connection on 127.0.0.1, seen from the middle: what each side sent first.

    With ``upstream`` (a port) it relays bytes both ways to that server, unchanged; without,
    it is the server itself and answers the handshake with a 101 that names ``answer`` (any
    value, offered or not: that is the point). Either way it keeps ``request_head`` (the
    browser's handshake, as received) and ``response_head`` (the answer, as sent); the raw
    server also keeps ``after_response`` (what the browser sent after the 101, until it closed
    the connection or ``WAIT_S`` passed) and ``peer_closed`` (whether the browser closed it).
    Every socket has a timeout and every loop ends by ``WAIT_S``.
    """

    def __init__(self, *, upstream: Optional[int] = None, answer: Optional[str] = None) -> None:
        self.upstream = upstream
        self.answer = answer
        self.request_head = b""
        self.response_head = b""
        self.after_response = b""
        self.peer_closed = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(WAIT_S)
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def join(self) -> None:
        """Wait (bounded) for the connection to end, and free the port."""
        self._thread.join(timeout=WAIT_S + 5)
        self._listener.close()

    def _run(self) -> None:
        try:
            client, _ = self._listener.accept()
        except OSError:  # nobody came, or the listener was closed
            return
        with client:
            client.settimeout(WAIT_S)
            if self.upstream is None:
                self._answer(client)
            else:
                with socket.create_connection(("127.0.0.1", self.upstream), WAIT_S) as server:
                    self._relay(client, server)

    def _answer(self, client: socket.socket) -> None:
        data = b""
        deadline = time.monotonic() + WAIT_S
        while _head_end(data) < 0 and len(data) < HEAD_LIMIT and time.monotonic() < deadline:
            chunk = client.recv(4096)
            if not chunk:
                return
            data += chunk
        self.request_head = data[: _head_end(data)]
        request = parse_request(self.request_head)
        assert request is not None
        key, _ = validate_request(request)
        self.response_head = accept_response(key, self.answer)
        client.sendall(self.response_head)
        try:
            while time.monotonic() < deadline:
                chunk = client.recv(4096)
                if not chunk:
                    self.peer_closed = True
                    break
                self.after_response += chunk
        except OSError:  # timeout, or reset by the browser
            pass

    def _relay(self, client: socket.socket, server: socket.socket) -> None:
        other = {client: server, server: client}
        first = {client: b"", server: b""}  # each side's bytes until its head ended
        with selectors.DefaultSelector() as selector:
            for sock in other:
                selector.register(sock, selectors.EVENT_READ)
            deadline = time.monotonic() + WAIT_S
            while time.monotonic() < deadline:
                for key, _ in selector.select(timeout=0.2):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    try:
                        data = sock.recv(65536)
                    except OSError:
                        data = b""
                    if not data:  # one side closed: the connection is over
                        return
                    if _head_end(first[sock]) < 0 and len(first[sock]) < HEAD_LIMIT:
                        first[sock] += data
                        end = _head_end(first[sock])
                        if end >= 0 and sock is client:
                            self.request_head = first[sock][:end]
                        elif end >= 0:
                            self.response_head = first[sock][:end]
                    other[sock].sendall(data)


def _redacted(head: bytes) -> str:
    """The request head as the server's recording would keep it: secrets replaced."""
    request = parse_request(head)
    assert request is not None
    raw, _, _ = redact_request(request)
    return raw.decode("latin-1")


def _protocol_values(head: bytes, parse: Any) -> List[str]:
    message = parse(head)
    assert message is not None, head
    return message.headers.get_all("Sec-WebSocket-Protocol")


def _without_ports(text: str) -> str:
    text = re.sub(r"token=[^&'\s]*", "token=[redacted]", text)
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<port>", text)


def _connect_once(page: Page, url: str, offered: List[str], console: List[str]) -> Dict[str, Any]:
    """Connect the page to ``url`` offering ``offered``; close with 1000 if it opens.

    Returns what the page saw: opened, ``ws.protocol``, error event, close event, and the
    console messages Chromium wrote meanwhile.
    """
    console.clear()
    page.evaluate("([url, protocols]) => wslearnPage.connect(url, protocols)", [url, offered])
    since = "(() => { const log = wslearnPage.log; const types = log.map(e => e.type); "
    since += "return log.slice(types.lastIndexOf('connecting')); })()"
    page.wait_for_function(
        f"() => {since}.some(e => e.type === 'open' || e.type === 'close')", timeout=WAIT_MS
    )
    if page.evaluate("() => wslearnPage.state()") == "OPEN":
        page.evaluate('() => wslearnPage.close(1000, "bye")')
    page.wait_for_function(f"() => {since}.some(e => e.type === 'close')", timeout=WAIT_MS)
    entries = page.evaluate(f"() => {since}")
    opened = [e for e in entries if e["type"] == "open"]
    (closed,) = [e for e in entries if e["type"] == "close"]
    return {
        "opened": bool(opened),
        "protocol": opened[0]["protocol"] if opened else None,
        "error_event": any(e["type"] == "error" for e in entries),
        "close": {k: closed[k] for k in ("code", "reason", "wasClean")},
        "console": [_without_ports(text) for text in console],
    }


def capture(browser: Optional[Browser] = None) -> Dict[str, Any]:
    """Run the three cases and return the data (with ``browser``, reuse that Browser)."""
    if browser is None:
        from playwright.sync_api import sync_playwright

        path = shutil.which("chromium")
        if path is None:
            raise SystemExit("Debian's chromium is needed: sudo apt-get install -y chromium")
        with sync_playwright() as playwright:
            own = playwright.chromium.launch(
                executable_path=path, headless=True, args=_chromium_args()
            )
            try:
                return capture(own)
            finally:
                own.close()

    cases = []
    console: List[str] = []
    with wslearn.serve(port=0) as page_server:  # serves the test page only
        page = browser.new_page()
        try:
            page.on("console", lambda message: console.append(message.text))
            page.goto(page_server.http_url, timeout=WAIT_MS)
            page.wait_for_function("() => window.wslearnPage !== undefined", timeout=WAIT_MS)
            for name, what, offered, supported in CASES:
                if supported is None:
                    peer = OnePeer(answer=NOT_OFFERED)
                    saw = _connect_once(page, f"ws://127.0.0.1:{peer.port}/", offered, console)
                    peer.join()
                    server = f"a raw socket: 101 with Sec-WebSocket-Protocol: {NOT_OFFERED}"
                else:
                    with wslearn.serve(port=0, subprotocols=supported) as case_server:
                        peer = OnePeer(upstream=case_server.port)
                        saw = _connect_once(page, f"ws://127.0.0.1:{peer.port}/", offered, console)
                        peer.join()
                    server = f"wslearn.serve(subprotocols={supported!r})"
                if not peer.request_head or not peer.response_head:
                    raise RuntimeError(f"{name}: the handshake did not cross the relay")
                case: Dict[str, Any] = {
                    "name": name,
                    "what": what,
                    "offered": offered,
                    "server": server,
                    "supported": supported,
                    "request": _redacted(peer.request_head),
                    "request_protocol_headers": _protocol_values(peer.request_head, parse_request),
                    "response": peer.response_head.decode("latin-1"),
                    "response_protocol_headers": _protocol_values(
                        peer.response_head, wslearn.parse_response
                    ),
                    "page": saw,
                }
                if supported is None:
                    case["after_response_hex"] = peer.after_response.hex(" ")
                    case["browser_closed_tcp"] = peer.peer_closed
                cases.append(case)
            version = browser.version
        finally:
            page.close()
    return {
        "about": (
            "How headless Chromium negotiates a subprotocol on a direct connection: the page "
            "offers a list (new WebSocket(url, protocols)), or nothing, to servers that pick "
            "one it offered, none, or one it did not offer. Rewritten by "
            "tests/helpers/capture_browser_subprotocols.py."
        ),
        "captured": datetime.date.today().isoformat(),
        "browser": f"Chromium {version}",
        "offered": OFFERED,
        "cases": cases,
    }


#: The page's side of a proxied connection: offer, wait for the echo of "hello", close.
PROXY_JS = """([url, protocols, limit]) => new Promise((resolve) => {
  const seen = { opened: false, protocol: null, error_event: false, echo: null, close: null };
  const ws = new WebSocket(url, protocols);
  ws.onopen = () => { seen.opened = true; seen.protocol = ws.protocol; ws.send("hello"); };
  ws.onmessage = (event) => { seen.echo = event.data; ws.close(1000, "bye"); };
  ws.onerror = () => { seen.error_event = true; };
  ws.onclose = (e) => {
    seen.close = { code: e.code, reason: e.reason, wasClean: e.wasClean };
    resolve(seen);
  };
  setTimeout(() => resolve(seen), limit);
})"""


def capture_proxy(browser: Browser) -> Dict[str, Any]:
    """The page's offer through jupyter-server-proxy (see the module's doc)."""
    from helpers.labtools import start_lab

    cases = []
    with tempfile.TemporaryDirectory() as home, start_lab(Path(home)) as lab:
        page = browser.new_page()
        console: List[str] = []
        try:
            page.on("console", lambda message: console.append(message.text))
            # A JupyterLab page: its origin, and a policy that lets it open WebSockets.
            page.goto(
                lab.url(f"lab?token={lab.token}"), timeout=WAIT_MS, wait_until="domcontentloaded"
            )
            for supported in (["chat.v1"], []):
                console.clear()
                with wslearn.serve(port=0, subprotocols=supported) as server:
                    peer = OnePeer(upstream=server.port)
                    url = lab.url(f"proxy/{peer.port}/?token={lab.token}").replace("http", "ws", 1)
                    saw = page.evaluate(PROXY_JS, [url, OFFERED, WAIT_MS])
                    peer.join()
                saw["console"] = [_without_ports(text) for text in console]
                case: Dict[str, Any] = {
                    "supported": supported,
                    "server_received_protocol_headers": (
                        _protocol_values(peer.request_head, parse_request)
                        if peer.request_head
                        else None
                    ),
                    "server_answer": peer.response_head.decode("latin-1") or None,
                    "page": saw,
                }
                if peer.request_head:
                    case["server_received"] = _redacted(peer.request_head)
                cases.append(case)
        finally:
            page.close()
    return {
        "about": (
            "The same offer from a page of JupyterLab's origin through jupyter-server-proxy "
            "(<base url>proxy/<port>/) to wslearn.serve(subprotocols=...): what the kernel's "
            "server received and answered, and what the page saw."
        ),
        "offered": OFFERED,
        "cases": cases,
    }


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-proxy", action="store_true", help="skip the JupyterLab part")
    args = parser.parse_args(argv)
    data = capture()
    if not args.no_proxy:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            path = shutil.which("chromium")
            browser = playwright.chromium.launch(
                executable_path=path, headless=True, args=_chromium_args()
            )
            try:
                data["proxy"] = capture_proxy(browser)
            finally:
                browser.close()
        for case in data["proxy"]["cases"]:
            print(f"proxy, server supports {case['supported']}: ", json.dumps(case))
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    for case in data["cases"]:
        page = case["page"]
        print(
            f"{case['name']}: offered {case['request_protocol_headers']}, answered "
            f"{case['response_protocol_headers']}, page opened={page['opened']} "
            f"protocol={page['protocol']!r} close={page['close']['code']} {page['console']}"
        )
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
