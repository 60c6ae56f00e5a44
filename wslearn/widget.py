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
  jupyter-server-proxy at ``<base url>proxy/<port>/``. Then the Jupyter server
  opens its *own* WebSocket to the kernel's server and re-sends each message:
  the frames that arrive were masked by the proxy, not by the browser, and
  close codes are not passed on. The URL carries ``?via=jupyter-proxy`` so the
  server's recording can say so (:func:`wslearn.recording.proxy_evidence`).

This module owns the widget and the proxy URL helper; it has no sockets of its
own on the Python side (the socket lives in the browser).
"""

from __future__ import annotations

import uuid
from typing import Any, Iterable, Optional, Union

import anywidget
import traitlets

__all__ = ["BrowserClient", "proxy_url"]

#: Marks a URL that goes through jupyter-server-proxy, so the server's recording can tell.
VIA_PROXY = "via=jupyter-proxy"


def _normalize_path(path: str) -> str:
    path = path or "/"
    return path if path.startswith("/") else "/" + path


def proxy_url(port: int, base_url: str = "/", path: str = "/") -> str:
    """The path that reaches ``127.0.0.1:<port><path>`` through jupyter-server-proxy.

    ``base_url`` is the Jupyter server's base URL (``/`` on a laptop,
    ``/user/<name>/`` on JupyterHub and Binder). The proxy strips its prefix,
    so the kernel's server sees a request for ``path``::

        >>> proxy_url(8765)
        '/proxy/8765/'
        >>> proxy_url(8765, "/user/learner")
        '/user/learner/proxy/8765/'

    Put ``ws://`` or ``wss://`` and the page's host in front for a WebSocket URL
    (:class:`BrowserClient` does that in the browser, and adds ``?via=jupyter-proxy``).
    """
    port = int(port)
    if not 0 < port < 65536:
        raise ValueError(f"port must be 1..65535, not {port}")
    base = base_url or "/"
    if not base.startswith("/"):
        base = "/" + base
    if not base.endswith("/"):
        base += "/"
    return f"{base}proxy/{port}{_normalize_path(path)}"


_ESM = r"""
// wslearn BrowserClient: this page's own WebSocket to the kernel's wslearn server.
// One socket per widget model (made in initialize); every view of it shows the same socket.

const SIZES = [
  [125, "7-bit length"],
  [126, "16-bit length"],
  [65536, "64-bit length"],
  [70000, "64-bit length"],
];
const MAX_LOG = 200;          // log entries kept (oldest dropped)
const MAX_PENDING = 1000;     // sent messages waiting for their echo
const PREVIEW_CHARS = 48;
const VIA_PROXY = "via=jupyter-proxy";
const PROXY_NOTE =
  "via the Jupyter server's proxy: frames reaching the kernel were re-sent by the Jupyter " +
  "server, close codes are not forwarded";
const STATES = ["connecting", "open", "closing", "closed"];

// One controller per widget model, found by the model's _client_id (the views and
// initialize() get different model wrappers, so the id is the shared key).
const controllers = new Map();
const encoder = new TextEncoder();

function utf8Length(text) {
  return encoder.encode(text).length;
}

function preview(text) {
  const shown = text.length > PREVIEW_CHARS ? text.slice(0, PREVIEW_CHARS) + "\u2026" : text;
  return JSON.stringify(shown);
}

function filler(size) {
  const pattern = "0123456789abcdefghijklmnopqrstuvwxyz";
  return pattern.repeat(Math.ceil(size / pattern.length)).slice(0, size);
}

export function isLoopback(hostname) {
  const h = String(hostname || "").toLowerCase();
  return (
    h === "localhost" || h === "127.0.0.1" || h === "[::1]" || h === "::1" ||
    h.endsWith(".localhost")
  );
}

export function jupyterBaseUrl() {
  let base = "/";
  try {
    const element = document.getElementById("jupyter-config-data");
    if (element) {
      const config = JSON.parse(element.textContent || "{}");
      if (config && typeof config.baseUrl === "string" && config.baseUrl) base = config.baseUrl;
    }
  } catch (error) {
    // Not JupyterLab / Notebook 7 (or unreadable config): the server is at the root.
  }
  if (!base.startsWith("/")) base = "/" + base;
  if (!base.endsWith("/")) base += "/";
  return base;
}

export function resolveUrl({ url, mode, port, path }, loc = window.location) {
  if (url) {
    const route = url.includes(VIA_PROXY) || /\/proxy\/(absolute\/)?[^/]*\d+\//.test(url)
      ? "proxy" : "direct";
    return { url, route };
  }
  let route = mode || "auto";
  if (route === "auto") route = isLoopback(loc.hostname) ? "direct" : "proxy";
  let p = path || "/";
  if (!p.startsWith("/")) p = "/" + p;
  if (route === "direct") return { url: `ws://127.0.0.1:${port}${p}`, route };
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  const separator = p.includes("?") ? "&" : "?";
  return {
    url: `${scheme}//${loc.host}${jupyterBaseUrl()}proxy/${port}${p}${separator}${VIA_PROXY}`,
    route: "proxy",
  };
}

function closeNote(event, route, closedByUs) {
  const notes = [];
  if (event.code === 1006) {
    notes.push("1006: no Close frame came, the TCP connection just ended. Is the kernel's server " +
      "running (server.running)? Was the kernel restarted?");
    if (route === "proxy") {
      notes.push("Behind the proxy the browser sees 'open' even when nothing listens on the " +
        "port: look at the kernel's server first. Is jupyter-server-proxy installed?");
    }
  } else if (event.code === 1005) {
    notes.push("1005: the Close frame carried no status code.");
  }
  if (route === "proxy" && closedByUs) {
    notes.push("This answer came from the proxy: the kernel's server got an empty Close (1005).");
  } else if (route === "proxy") {
    notes.push("Sent by the proxy: the code the kernel's server chose does not pass through.");
  }
  return notes.join(" ");
}

function makeController(model) {
  const started = performance.now();
  let ws = null;
  let sentCount = 0;
  let pending = [];       // texts sent and not yet echoed, oldest first
  let queued = [];        // texts asked for while connecting
  let closedByUs = false;
  let route = "";

  function save() {
    // At once, not later: ipywidgets itself merges updates while one is in flight, and a
    // change kept back here could be overwritten by the kernel's echo of an earlier update.
    model.save_changes();
  }

  function log(entry) {
    entry.time = Math.round(performance.now() - started) / 1000;
    const list = (model.get("log") || []).slice(-(MAX_LOG - 1));
    list.push(entry);
    model.set("log", list);
    save();
  }

  function setState(state) {
    model.set("state", state);
    save();
  }

  function publishUrl() {
    const resolved = resolveUrl({
      url: model.get("url"),
      mode: model.get("mode"),
      port: model.get("port"),
      path: model.get("path"),
    });
    model.set({ resolved_url: resolved.url, route: resolved.route });
    save();
    return resolved;
  }

  function isActive() {
    return ws !== null &&
      (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN);
  }

  function transmit(text) {
    ws.send(text);
    sentCount += 1;
    pending.push({ n: sentCount, text });
    if (pending.length > MAX_PENDING) pending = pending.slice(-MAX_PENDING);
    log({ type: "sent", n: sentCount, bytes: utf8Length(text), preview: preview(text) });
  }

  function connect() {
    if (isActive()) {
      log({ type: "note", message: "already connected (or connecting): Disconnect first" });
      return;
    }
    const resolved = publishUrl();
    route = resolved.route;
    sentCount = 0;
    pending = [];
    closedByUs = false;
    let socket;
    try {
      socket = new WebSocket(resolved.url);
    } catch (error) {
      log({ type: "error", message: `cannot open ${resolved.url}: ${error.message || error}` });
      setState("closed");
      return;
    }
    socket.binaryType = "arraybuffer";
    ws = socket;
    setState("connecting");
    log({ type: "connecting", url: resolved.url, route: resolved.route });

    socket.onopen = () => {
      if (ws !== socket) return;
      setState("open");
      log({ type: "open", protocol: socket.protocol, extensions: socket.extensions });
      const first = (model.get("send_on_open") || []).concat(queued);
      queued = [];
      for (const text of first) transmit(String(text));
    };
    socket.onmessage = (event) => {
      if (ws !== socket) return;
      let entry;
      const expected = pending.shift();
      if (typeof event.data === "string") {
        const data = event.data;
        entry = { type: "received", kind: "text", bytes: utf8Length(data), preview: preview(data) };
        if (expected) entry.echo = expected.text === event.data ? "echo matches" : "MISMATCH";
      } else {
        entry = { type: "received", kind: "binary", bytes: event.data.byteLength, preview: "" };
        if (expected) entry.echo = "MISMATCH";
      }
      if (expected) entry.of = expected.n;
      log(entry);
    };
    socket.onerror = () => {
      if (ws !== socket) return;
      log({ type: "error", message: "error event (browsers give no details, on purpose): " +
        "the close event below has the code" });
    };
    socket.onclose = (event) => {
      if (ws !== socket) return;
      setState("closed");
      log({
        type: "close", code: event.code, reason: event.reason, wasClean: event.wasClean,
        note: closeNote(event, route, closedByUs),
      });
      queued = [];
    };
  }

  function send(text) {
    text = String(text);
    if (ws !== null && ws.readyState === WebSocket.OPEN) {
      transmit(text);
    } else if (ws !== null && ws.readyState === WebSocket.CONNECTING) {
      queued.push(text);
      log({ type: "note", message: `queued until the socket opens: ${preview(text)}` });
    } else {
      log({ type: "error", message: `not sent, the socket is not open: ${preview(text)}` });
    }
  }

  function close(code, reason) {
    if (!isActive()) {
      log({ type: "note", message: "nothing to close: the socket is not open" });
      return;
    }
    code = Number(code);
    reason = String(reason || "");
    try {
      ws.close(code, reason);
    } catch (error) {
      // The browser refuses codes other than 1000 and 3000-4999, and reasons over 123 bytes.
      log({
        type: "error",
        message: `close(${code}, ${JSON.stringify(reason)}) refused by the browser: ` +
          `${error.name}: ${error.message}`,
      });
      return;
    }
    closedByUs = true;
    setState("closing");
    log({ type: "closing", code, reason });
  }

  function dispose() {
    if (isActive()) {
      try { ws.close(1000, "widget closed"); } catch (error) { /* already going */ }
    }
    ws = null;
  }

  return { connect, send, close, dispose, publishUrl };
}

function describe(entry) {
  switch (entry.type) {
    case "connecting":
      return `connecting to ${entry.url} (${entry.route})`;
    case "open":
      return `open: handshake done (101); extensions: ${entry.extensions || "none"}`;
    case "sent":
      return `#${entry.n} text, ${entry.bytes} bytes: ${entry.preview}`;
    case "received": {
      const what = entry.kind === "text" ? `text, ${entry.bytes} bytes: ${entry.preview}`
        : `binary, ${entry.bytes} bytes`;
      if (!entry.echo) return what;
      return entry.echo === "echo matches" ? `${what}  \u2714 echo matches #${entry.of}`
        : `${what}  \u2716 MISMATCH: not the echo of #${entry.of}`;
    }
    case "closing":
      return `close(${entry.code}, ${JSON.stringify(entry.reason)}) sent, waiting for the answer`;
    case "close":
      return `code ${entry.code} reason ${JSON.stringify(entry.reason)} ` +
        `wasClean=${entry.wasClean}` + (entry.note ? `  ${entry.note}` : "");
    default:
      return entry.message || JSON.stringify(entry);
  }
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(text, title, onClick) {
  const node = element("button", "wslearn-bc-button", text);
  node.type = "button";
  if (title) node.title = title;
  node.addEventListener("click", onClick);
  return node;
}

function initialize({ model }) {
  const id = model.get("_client_id");
  const controller = makeController(model);
  controllers.set(id, controller);
  model.on("msg:custom", (msg) => {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "connect") controller.connect();
    else if (msg.type === "send") controller.send(msg.text);
    else if (msg.type === "close") controller.close(msg.code, msg.reason);
  });
  for (const name of ["port", "path", "mode", "url"]) {
    model.on(`change:${name}`, () => controller.publishUrl());
  }
  if (model.get("auto_connect")) controller.connect();
  else controller.publishUrl();
  return () => {
    controller.dispose();
    if (controllers.get(id) === controller) controllers.delete(id);
  };
}

function render({ model, el }) {
  const controller = () => controllers.get(model.get("_client_id"));
  const root = element("div", "wslearn-bc");

  const head = element("div", "wslearn-bc-head");
  head.append(element("span", "wslearn-bc-title", "Browser client"));
  const state = element("span", "wslearn-bc-state");
  state.setAttribute("role", "status");
  head.append(state);
  root.append(head);
  root.append(element("div", "wslearn-bc-lead",
    "This page's own WebSocket, connected to the wslearn server running in the kernel."));

  const urlRow = element("div", "wslearn-bc-row");
  urlRow.append(element("span", "wslearn-bc-label", "URL"));
  const url = element("code", "wslearn-bc-url");
  const route = element("span", "wslearn-bc-route");
  urlRow.append(url, route);
  root.append(urlRow);
  const note = element("div", "wslearn-bc-note");
  root.append(note);

  const connectRow = element("div", "wslearn-bc-row");
  const connect = button("Connect", "open a WebSocket to the URL above",
    () => controller().connect());
  const disconnect = button("Disconnect", "close with code 1000",
    () => controller().close(1000, ""));
  connectRow.append(connect, disconnect);
  root.append(connectRow);

  const sendRow = element("div", "wslearn-bc-row");
  const text = element("input", "wslearn-bc-text");
  text.type = "text";
  text.value = "Gr\u00fc\u00dfe, WebSocket";  // 16 characters, 18 bytes of UTF-8
  text.setAttribute("aria-label", "message to send");
  text.spellcheck = false;
  const send = button("Send", "send as one text message", () => controller().send(text.value));
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); event.stopPropagation(); send.click(); }
  });
  sendRow.append(text, send);
  root.append(sendRow);

  const sizeRow = element("div", "wslearn-bc-row");
  sizeRow.append(element("span", "wslearn-bc-label", "Send"));
  const sizeButtons = SIZES.map(([size, lengthCase]) => {
    const node = button(`${size} B`, `a ${size}-byte text message (${lengthCase})`,
      () => controller().send(filler(size)));
    node.dataset.size = String(size);
    return node;
  });
  sizeRow.append(...sizeButtons);
  root.append(sizeRow);

  const closeRow = element("div", "wslearn-bc-row");
  closeRow.append(element("span", "wslearn-bc-label", "Close code"));
  const code = element("input", "wslearn-bc-code");
  code.type = "number";
  code.value = "1000";
  code.setAttribute("aria-label", "close code");
  const reason = element("input", "wslearn-bc-reason");
  reason.type = "text";
  reason.placeholder = "reason (at most 123 bytes)";
  reason.setAttribute("aria-label", "close reason");
  const close = button("Close", "start the closing handshake with this code and reason",
    () => controller().close(code.value, reason.value));
  closeRow.append(code, reason, close);
  root.append(closeRow);

  const logBox = element("div", "wslearn-bc-log");
  logBox.setAttribute("role", "log");
  root.append(logBox);
  el.append(root);

  // Keep the inputs' keys away from the notebook's shortcuts (e.g. "a", "b", "d d").
  for (const input of [text, code, reason]) {
    input.addEventListener("keydown", (event) => event.stopPropagation());
  }

  function showState() {
    let value = model.get("state") || "closed";
    if (!STATES.includes(value)) value = "closed";
    state.textContent = value;
    state.dataset.state = value;
    const open = value === "open";
    connect.disabled = value === "connecting" || open;
    for (const node of [disconnect, send, close, ...sizeButtons]) node.disabled = !open;
  }

  function showUrl() {
    url.textContent = model.get("resolved_url") || "(not resolved yet)";
    const r = model.get("route");
    route.textContent = r ? r : "";
    route.dataset.route = r || "";
    note.textContent = r === "proxy" ? PROXY_NOTE : "";
    note.hidden = r !== "proxy";
  }

  function showLog() {
    const entries = model.get("log") || [];
    const atBottom = logBox.scrollHeight - logBox.scrollTop - logBox.clientHeight < 8;
    logBox.replaceChildren(...entries.map((entry) => {
      const row = element("div", `wslearn-bc-entry wslearn-bc-${entry.type}`);
      if (entry.echo) {
        const ok = entry.echo === "echo matches";
        row.classList.add(ok ? "wslearn-bc-echo-ok" : "wslearn-bc-echo-bad");
      }
      row.append(element("span", "wslearn-bc-time", (entry.time ?? 0).toFixed(3)));
      row.append(element("span", "wslearn-bc-type", entry.type));
      row.append(element("span", "wslearn-bc-msg", describe(entry)));
      return row;
    }));
    if (atBottom) logBox.scrollTop = logBox.scrollHeight;
  }

  showState();
  showUrl();
  showLog();
  model.on("change:state", showState);
  model.on("change:resolved_url", showUrl);
  model.on("change:route", showUrl);
  model.on("change:log", showLog);
  return () => root.remove();
}

export default { initialize, render };
"""

_CSS = r"""
.wslearn-bc {
  --wslearn-bc-fg: var(--jp-ui-font-color1, #1d2330);
  --wslearn-bc-muted: var(--jp-ui-font-color2, #5b6475);
  --wslearn-bc-bg: var(--jp-layout-color1, #ffffff);
  --wslearn-bc-bg2: var(--jp-layout-color2, #f3f4f6);
  --wslearn-bc-line: var(--jp-border-color1, #c7ccd6);
  --wslearn-bc-accent: var(--jp-brand-color1, #1976d2);
  --wslearn-bc-ok: var(--jp-success-color1, #18794e);
  --wslearn-bc-bad: var(--jp-error-color1, #c62828);
  --wslearn-bc-warn: var(--jp-warn-color1, #a15c00);
  --wslearn-bc-mono: var(--jp-code-font-family,
    ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace);
  box-sizing: border-box;
  max-width: 56rem;
  padding: 0.6rem 0.8rem;
  color: var(--wslearn-bc-fg);
  background: var(--wslearn-bc-bg);
  border: 1px solid var(--wslearn-bc-line);
  border-radius: 6px;
  font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px);
  line-height: 1.45;
}
.wslearn-bc * { box-sizing: border-box; }
.wslearn-bc-head { display: flex; align-items: center; gap: 0.6rem; }
.wslearn-bc-title { font-weight: 600; font-size: 1.1em; }
.wslearn-bc-lead { color: var(--wslearn-bc-muted); margin: 0.1rem 0 0.4rem; }
.wslearn-bc-state {
  display: inline-block; min-width: 6.5rem; text-align: center; font-weight: 600;
  padding: 0.05rem 0.5rem; border-radius: 4px; color: #fff; background: #6b7280;
}
.wslearn-bc-state[data-state="connecting"],
.wslearn-bc-state[data-state="closing"] { background: var(--wslearn-bc-warn); }
.wslearn-bc-state[data-state="open"] { background: var(--wslearn-bc-ok); }
.wslearn-bc-row {
  display: flex; flex-wrap: wrap; align-items: center; gap: 0.4rem; margin: 0.3rem 0;
}
.wslearn-bc-label { color: var(--wslearn-bc-muted); min-width: 3rem; }
.wslearn-bc-url {
  font-family: var(--wslearn-bc-mono); overflow-wrap: anywhere; padding: 0.05rem 0.3rem;
  background: var(--wslearn-bc-bg2); border-radius: 3px; color: var(--wslearn-bc-fg);
}
.wslearn-bc-route {
  font-size: 0.9em; padding: 0 0.4rem; border-radius: 3px;
  border: 1px solid var(--wslearn-bc-line); color: var(--wslearn-bc-muted);
}
.wslearn-bc-route[data-route="proxy"] {
  border-color: var(--wslearn-bc-warn); color: var(--wslearn-bc-warn);
}
.wslearn-bc-note { color: var(--wslearn-bc-warn); margin: 0.1rem 0 0.3rem; }
.wslearn-bc-note[hidden] { display: none; }
.wslearn-bc input {
  font: inherit; color: var(--wslearn-bc-fg); background: var(--wslearn-bc-bg);
  border: 1px solid var(--wslearn-bc-line); border-radius: 4px;
  padding: 0.15rem 0.4rem; min-width: 0;
}
.wslearn-bc-text { flex: 1 1 18rem; }
.wslearn-bc-code { width: 5.5rem; }
.wslearn-bc-reason { flex: 1 1 12rem; }
.wslearn-bc-button {
  font: inherit; cursor: pointer; padding: 0.15rem 0.7rem; border-radius: 4px;
  color: var(--wslearn-bc-accent); background: var(--wslearn-bc-bg);
  border: 1px solid var(--wslearn-bc-accent);
}
.wslearn-bc-button:hover:not(:disabled) { background: var(--wslearn-bc-bg2); }
.wslearn-bc-button:disabled { opacity: 0.45; cursor: not-allowed; }
.wslearn-bc-log {
  margin-top: 0.4rem; max-height: 16rem; overflow-y: auto; padding: 0.25rem 0.4rem;
  background: var(--wslearn-bc-bg2); border: 1px solid var(--wslearn-bc-line); border-radius: 4px;
  font-family: var(--wslearn-bc-mono); font-size: 0.92em;
}
.wslearn-bc-log:empty::before { content: "(nothing yet)"; color: var(--wslearn-bc-muted); }
.wslearn-bc-entry { display: flex; gap: 0.6rem; padding: 0.05rem 0; }
.wslearn-bc-time { flex: 0 0 4.2rem; text-align: right; color: var(--wslearn-bc-muted); }
.wslearn-bc-type { flex: 0 0 6.2rem; font-weight: 600; }
.wslearn-bc-msg { flex: 1 1 auto; min-width: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.wslearn-bc-sent .wslearn-bc-type { color: var(--wslearn-bc-accent); }
.wslearn-bc-open .wslearn-bc-type,
.wslearn-bc-echo-ok .wslearn-bc-type { color: var(--wslearn-bc-ok); }
.wslearn-bc-connecting .wslearn-bc-type, .wslearn-bc-closing .wslearn-bc-type,
.wslearn-bc-close .wslearn-bc-type { color: var(--wslearn-bc-warn); }
.wslearn-bc-error, .wslearn-bc-echo-bad { color: var(--wslearn-bc-bad); }
"""


class BrowserClient(anywidget.AnyWidget):
    """A WebSocket client that runs in this notebook's own page, connected to the kernel's server.

    Show it (leave ``client`` as the last line of a cell) and the page you are
    reading opens a real WebSocket to a :func:`wslearn.serve` server in the
    kernel. The panel shows the URL and route, the socket's state, buttons to
    send messages of telling sizes (125, 126, 65536, 70000 bytes: the three
    length encodings) and to close with a code and reason, and a log of what was
    sent and what came back (with "echo matches" or "MISMATCH" for the echo
    server). ``client.connect()``, ``client.send_text(...)`` and
    ``client.disconnect(code, reason)`` do the same from Python.

    ``server_or_port`` is a running :class:`wslearn.Server` (or its port).
    ``mode`` picks the route: ``"direct"`` connects to ``ws://127.0.0.1:<port>``,
    which works when the browser runs on the kernel's machine; ``"proxy"`` goes
    through jupyter-server-proxy at ``<base url>proxy/<port>/``, which works on
    Binder and JupyterHub; ``"auto"`` (default) is direct when the page came
    from ``localhost`` / ``127.0.0.1`` / ``[::1]``, else proxy. ``url``, when
    given, is used exactly as written. ``send_on_open`` lists text messages the
    page sends as soon as the socket opens (on every open, also after
    Connect); ``auto_connect=False`` waits for the Connect button or
    :meth:`connect`.

    Through the proxy the kernel's server does not see the browser's frames: the
    Jupyter server receives them and sends each message again over its own
    WebSocket, with its own masks, and close codes and reasons do not pass
    through. The recording marks such connections (``via_proxy``).

    The browser reports back through traits: ``resolved_url``, ``route``,
    ``state`` (connecting, open, closing, closed) and ``log`` (a list of dicts,
    each with a ``type``: connecting, open, sent, received, closing, close,
    error, note). **These reach Python only when the kernel is idle**: while a
    cell runs (or during Run All) they still hold their old values. A cell that
    must wait for the browser reads the server's own recording instead, with a
    time limit: ``server.wait_for_frames(2, timeout=10)``.

    Nothing happens without a browser (e.g. when the notebook runs under nbval):
    the widget is created and no socket is opened. ``client.close()`` is the
    widget's own close: it removes the widget, and the page's socket closes with it.
    """

    _esm = _ESM
    _css = _CSS

    # Set from Python.
    port = traitlets.Int(0).tag(sync=True)
    path = traitlets.Unicode("/").tag(sync=True)
    mode = traitlets.Enum(("auto", "direct", "proxy"), default_value="auto").tag(sync=True)
    url = traitlets.Unicode("").tag(sync=True)
    send_on_open = traitlets.List(traitlets.Unicode()).tag(sync=True)
    auto_connect = traitlets.Bool(True).tag(sync=True)
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
        #: The server this client talks to, if one was given (not just a port).
        self.server: Optional[Any] = None if isinstance(server_or_port, int) else server_or_port
        super().__init__(
            port=port,
            mode=mode,
            url=url,
            path=_normalize_path(path),
            send_on_open=messages,
            auto_connect=bool(auto_connect),
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
