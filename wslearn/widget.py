"""A WebSocket client inside the notebook page: your browser talks to the kernel's server.

The notebook you are reading is a web page, and web pages can open WebSockets.
:class:`BrowserClient` is a small widget (anywidget, ipywidgets 8) that makes
**this page** open a real WebSocket to the wslearn server running in the
kernel, so a real browser's frames reach :func:`wslearn.serve`'s recording
without leaving the notebook::

    server = wslearn.serve(port=0)
    client = BrowserClient(server, send_on_open=["hello from the notebook page"])
    client                                   # shows the panel; the page connects
    frames = server.wait_for_frames(1, timeout=10)

Which URL the page uses depends on where the page comes from:

* **direct** — the page was served from this machine (``localhost``,
  ``127.0.0.1``, ``[::1]``): it connects to ``ws://127.0.0.1:<port>/``, and the
  frames the server records are the browser's own bytes.
* **proxy** — the page comes from elsewhere (Binder, JupyterHub, a remote
  server): the browser cannot reach the kernel's 127.0.0.1, so it goes through
  jupyter-server-proxy at ``<base url>proxy/127.0.0.1:<port>/``. Then the Jupyter server
  opens its *own* WebSocket to the kernel's server and re-sends each message:
  the frames that arrive were masked by the proxy, not by the browser, and
  close codes are not passed on. The URL carries ``?via=jupyter-proxy`` so the
  server's recording can say so (its connections' ``via_proxy``).

This module is the widget's Python half: its traits and the messages it sends to the
page. It opens no socket of its own: the socket lives in the browser, in
``wslearn/static/client.js`` (with ``client.css``), an ES module that the
server's test page loads too, so the notebook's panel and the test page are
one client.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterable, Optional, Union

import anywidget
import traitlets

from .handshake import check_subprotocols

__all__ = ["BrowserClient", "CLIENT_JS", "CLIENT_CSS"]

_STATIC = Path(__file__).parent / "static"
#: The browser half of the widget, an ES module: the panel and the page's one WebSocket.
#: The server's test page (``static/index.html``) loads the same file.
CLIENT_JS = _STATIC / "client.js"
#: The panel's look, shared with the test page too.
CLIENT_CSS = _STATIC / "client.css"


def _normalize_path(path: str) -> str:
    path = path or "/"
    return path if path.startswith("/") else "/" + path


class BrowserClient(anywidget.AnyWidget):
    """A WebSocket client that runs in this notebook's own page, connected to the kernel's server.

    Show it (leave ``client`` as the last line of a cell) and the page you are
    reading opens a real WebSocket to a :func:`wslearn.serve` server in the
    kernel. The panel shows the URL and route, the socket's state (its
    ``readyState``: CONNECTING, OPEN, CLOSING, CLOSED), buttons to send text,
    messages of telling sizes (125, 126, 65535, 65536, 70000 bytes: the three
    length encodings) and 256 bytes of binary, and to close with a code and
    reason (no code: a Close frame without one, reported as 1005), and a log of
    what was sent and what came back (with "echo matches" or "MISMATCH" when
    ``expect_echo``: by default, when the server's handler is ``"echo"``, or only a port
    is given). ``client.connect()``, ``client.send_text(...)`` and
    ``client.disconnect(code, reason)`` do the same from Python. It is the same
    panel as the server's test page (open ``server.http_url`` in a browser).

    ``server_or_port`` is a running :class:`wslearn.Server` (or its port).
    ``mode`` picks the route: ``"direct"`` connects to ``ws://127.0.0.1:<port>``,
    which works when the browser runs on the kernel's machine; ``"proxy"`` goes
    through jupyter-server-proxy at ``<base url>proxy/127.0.0.1:<port>/``, which works on
    Binder and JupyterHub; ``"auto"`` (default) is direct when the page came
    from ``localhost`` / ``127.0.0.1`` / ``[::1]``, else proxy. ``url``, when
    given, is used exactly as written (so is a URL typed into the panel before
    Connect: it becomes ``url``). ``send_on_open`` lists text messages the
    page sends as soon as the socket opens (on every open, also after
    Connect); ``auto_connect=False`` waits for the Connect button or
    :meth:`connect`. ``subprotocols`` lists the subprotocols the page offers, in order of
    preference (``new WebSocket(url, subprotocols)``: one ``Sec-WebSocket-Protocol`` header,
    RFC 6455 §4.1); the log's "open" entry says which one the server agreed to (``protocol``,
    the socket's ``ws.protocol``: ``""`` for none). They must be unique tokens, as the browser
    requires (``ValueError`` here already); the panel's Protocols field edits them too.

    Through the proxy the kernel's server does not see the browser's frames: the
    Jupyter server receives them and sends each message again over its own
    WebSocket, with its own masks, and close codes and reasons do not pass
    through. The recording marks such connections (``via_proxy``).

    The browser reports back through traits: ``resolved_url``, ``route``,
    ``state`` (connecting, open, closing, closed) and ``log`` (a list of dicts,
    each with a ``type``: connecting, open, sent, received, closing, close,
    close-error, unanswered, error, not-sent, note). **These reach Python only
    when the kernel is idle**: while a cell runs (or during Run All) they still
    hold their old values. A cell that must wait for the browser reads the
    server's own recording instead, with a time limit:
    ``server.wait_for_frames(2, timeout=10)``.

    Nothing happens without a browser (e.g. when the notebook runs under nbval):
    the widget is created and no socket is opened. ``client.close()`` is the
    widget's own close: it removes the widget, and the page's socket closes with it.
    """

    _esm = CLIENT_JS
    _css = CLIENT_CSS

    # Set from Python.
    port = traitlets.Int(0).tag(sync=True)
    path = traitlets.Unicode("/").tag(sync=True)
    mode = traitlets.Enum(("auto", "direct", "proxy"), default_value="auto").tag(sync=True)
    url = traitlets.Unicode("").tag(sync=True)
    send_on_open = traitlets.List(traitlets.Unicode()).tag(sync=True)
    subprotocols = traitlets.List(traitlets.Unicode()).tag(sync=True)
    auto_connect = traitlets.Bool(True).tag(sync=True)
    expect_echo = traitlets.Bool(True).tag(sync=True)
    # Set by the browser.
    resolved_url = traitlets.Unicode("").tag(sync=True)
    route = traitlets.Unicode("").tag(sync=True)
    state = traitlets.Unicode("closed").tag(sync=True)
    log = traitlets.List(traitlets.Dict()).tag(sync=True)
    # Lets the page's views find the one socket of this widget.
    _client_id = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        server_or_port: Union[int, Any],
        *,
        mode: str = "auto",
        url: str = "",
        path: str = "/",
        send_on_open: Iterable[str] = (),
        auto_connect: bool = True,
        subprotocols: Iterable[str] = (),
        expect_echo: Optional[bool] = None,
        **kwargs: Any,
    ) -> None:
        port = getattr(server_or_port, "port", server_or_port)
        if isinstance(port, bool) or not isinstance(port, int):
            raise TypeError(
                "BrowserClient needs a wslearn server (from wslearn.serve) or a port number"
            )
        if not 0 < port < 65536:
            raise ValueError(f"port must be 1..65535, not {port}")
        messages = list(send_on_open)
        for message in messages:
            if not isinstance(message, str):
                raise TypeError("send_on_open holds text messages (str)")
        offered = check_subprotocols(subprotocols)
        #: The server this client talks to, if one was given (not just a port).
        self.server: Optional[Any] = None if isinstance(server_or_port, int) else server_or_port
        if expect_echo is None:  # a chat or a stream answers other things than an echo
            expect_echo = getattr(self.server, "handler_name", "echo") == "echo"
        super().__init__(
            port=port,
            mode=mode,
            url=url,
            path=_normalize_path(path),
            send_on_open=messages,
            auto_connect=bool(auto_connect),
            subprotocols=offered,
            expect_echo=bool(expect_echo),
            _client_id=uuid.uuid4().hex,
            **kwargs,
        )

    def __repr__(self) -> str:
        # Also the plain-text output saved in notebooks: no port, no address, so it stays the same.
        return f"BrowserClient(mode={self.mode!r}): this page's WebSocket to the kernel's server"

    def connect(self) -> None:
        """Ask the page to open the socket (does nothing if it is already open)."""
        self.send({"type": "connect"})

    def send_text(self, text: str) -> None:
        """Ask the page to send ``text`` as one text message (queued while it is connecting)."""
        if not isinstance(text, str):
            raise TypeError("send_text sends text: pass a str")
        self.send({"type": "send", "text": text})

    def send_binary(self, data: bytes) -> None:
        """Ask the page to send ``data`` as one binary message (opcode 2; queued while it is
        connecting)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("send_binary sends bytes: pass bytes")
        self.send({"type": "send-binary"}, buffers=[bytes(data)])

    def disconnect(self, code: int = 1000, reason: str = "") -> None:
        """Ask the page to start the closing handshake with ``code`` and ``reason``.

        Browsers only let a page send 1000 or 3000–4999, with a reason of at most
        123 bytes of UTF-8 (RFC 6455 §5.5.1); anything else is refused here already.
        """
        if not (code == 1000 or 3000 <= code <= 4999):
            raise ValueError(f"a browser may only close with 1000 or 3000-4999, not {code}")
        if len(reason.encode("utf-8")) > 123:
            raise ValueError("the close reason is limited to 123 bytes of UTF-8 (RFC 6455 §5.5)")
        self.send({"type": "close", "code": int(code), "reason": reason})
