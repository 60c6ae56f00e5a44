"""An attacker's page: another site tries to open a WebSocket to your server (RFC 6455 §10.2).

Browsers do not apply the same-origin policy to WebSockets: any page you have open may run
``new WebSocket("ws://127.0.0.1:8080/")`` and talk to a server on your laptop, with your
cookies for it. This is *cross-site WebSocket hijacking*. What stops it is the server's check
of the ``Origin`` header, which the browser writes and the page cannot change.

:func:`serve_foreign_site` serves one such page from "another site" on this machine, so that
notebook 08 can show a real browser being refused:

* the site is ``http://evil.localhost:PORT/``. Chromium and Firefox resolve every name
  under ``.localhost`` to 127.0.0.1 themselves (RFC 6761 §6.3 allows it), so the page comes
  from this machine without any DNS set-up;
* yet it is a different site: its host ``evil.localhost`` is neither the host the browser
  connects to (``127.0.0.1``) nor ``localhost`` or a loopback address. So the browser's
  ``Origin: http://evil.localhost:PORT`` fails ``wslearn.serve()``'s default policy
  (:func:`wslearn.handshake.origin_is_local`) and the server answers 403;
* the page writes the outcome into itself ("refused" or "connected") and into
  ``window.foreignSite``, for tests. A browser tells a page only *that* a WebSocket failed,
  never why (no HTTP status, close code 1006), so that pages cannot probe what runs on a
  network: the reason is in the server's record.

Only the page plays the attacker. The serving is made safe for a notebook: it binds
127.0.0.1, serves only its own user's browser (:mod:`wslearn.peer_user`), a request must
arrive within two seconds, and :meth:`ForeignSite.stop` ends
every thread it started.
"""

from __future__ import annotations

import html
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, List, Optional

from ..peer_user import another_users

__all__ = ["ForeignSite", "page_for", "serve_foreign_site"]

#: A name under ``.localhost``: this machine for the browser, another site for ``Origin``.
SITE_NAME = "evil.localhost"
REQUEST_TIMEOUT = 2.0  # seconds a browser's connection may stay silent before it is dropped

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Another site</title></head>
<body style="font-family: sans-serif; margin: 0; padding: 0 0.6em; background: #fff4f2">
<p>I am a page of <b id="origin">another site</b>. My script runs
<code>new WebSocket("{target_html}")</code>: your server.</p>
<p>Outcome: <b id="outcome">connecting…</b></p>
<script>
const target = {target_js};
window.foreignSite = {{ origin: location.origin, target: target, outcome: "connecting" }};
document.getElementById("origin").textContent = location.origin;
function show(outcome, text) {{
  window.foreignSite.outcome = outcome;
  document.getElementById("outcome").textContent = text;
}}
const ws = new WebSocket(target);
ws.onopen = () => {{
  show("connected", "connected: this page could now talk to your server");
  ws.close(1000, "seen");
}};
ws.onclose = () => {{
  if (window.foreignSite.outcome === "connecting") {{
    show("refused", "refused: this page could not connect to your server");
  }}
}};
</script>
</body></html>
"""


def page_for(target: str) -> str:
    """The attacker's page, aimed at the WebSocket URL ``target`` (``ws://`` or ``wss://``)."""
    if not target.startswith(("ws://", "wss://")):
        raise ValueError(f"target must be a ws:// or wss:// URL, not {target!r}")
    # The URL goes into HTML text and into a script: escaped for each, so it stays a string.
    target_js = json.dumps(target).replace("<", "\\u003c")
    return PAGE.format(target_html=html.escape(target), target_js=target_js)


class _PageServer(ThreadingHTTPServer):
    """The HTTP server of the foreign site: one page at ``/``, a 404 for anything else."""

    daemon_threads = False
    block_on_close = True  # server_close() joins the request threads: none is left behind

    def __init__(self, port: int, page: bytes) -> None:
        super().__init__(("127.0.0.1", port), _PageHandler)
        self.page = page
        self.visits: List[str] = []  # the User-Agent of each page load (list.append is atomic)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """Only this user's browser: not another learner's, on a shared host."""
        return another_users(request) is None


class _PageHandler(BaseHTTPRequestHandler):
    server: _PageServer
    timeout = REQUEST_TIMEOUT  # a browser's spare connection that says nothing is dropped

    # http.server calls do_<METHOD>: the name is not ours to choose.
    def do_GET(self) -> None:  # pylint: disable=invalid-name
        """The page at ``/``, counted as a visit; 404 for anything else."""
        if self.path != "/":
            self.send_error(404)  # e.g. /favicon.ico
            return
        self.server.visits.append(self.headers.get("User-Agent", ""))
        body = self.server.page
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")  # each load really runs the script again
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # pylint: disable=redefined-builtin
        """Say nothing: no line per request in the notebook's output."""


class ForeignSite:
    """The running foreign site: ``url`` to open in a browser, ``visits``, and ``stop()``."""

    def __init__(self, target: str, port: int = 0, name: str = SITE_NAME) -> None:
        self.target = target
        self.name = name
        self._http = _PageServer(port, page_for(target).encode("utf-8"))
        self.port: int = self._http.server_address[1]
        self._thread: Optional[threading.Thread] = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"foreign-site-{self.port}",
            daemon=True,
        )
        self._thread.start()

    @property
    def origin(self) -> str:
        """What a browser puts in ``Origin`` for this page: ``http://evil.localhost:PORT``."""
        return f"http://{self.name}:{self.port}"

    @property
    def url(self) -> str:
        """The page's address, under the site's own name: ``http://evil.localhost:PORT/``."""
        return self.origin + "/"

    @property
    def visits(self) -> int:
        """How many times a browser loaded the page."""
        return len(self._http.visits)

    @property
    def running(self) -> bool:
        """True until :meth:`stop`."""
        return self._thread is not None

    def stop(self) -> None:
        """Stop serving and join every thread (within about ``REQUEST_TIMEOUT`` seconds)."""
        if self._thread is None:
            return
        self._http.shutdown()  # ends serve_forever() within its poll interval
        self._http.server_close()  # closes the port, joins the request threads
        self._thread.join(timeout=REQUEST_TIMEOUT + 1)
        self._thread = None

    def __enter__(self) -> ForeignSite:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<ForeignSite {self.url} -> {self.target} ({state})>"


def serve_foreign_site(target: str, port: int = 0, name: str = SITE_NAME) -> ForeignSite:
    """Serve the attacker's page on 127.0.0.1 (``port=0``: a free port), aimed at ``target``.

    Open ``site.url`` in Chromium or Firefox: the page tries ``new WebSocket(target)`` and
    says what happened. ``name`` is the host name in ``site.url``; the default,
    ``evil.localhost``, is this machine under another site's name.
    """
    return ForeignSite(target, port, name)
