// wslearn browser client: this page's own WebSocket, and the panel that drives it.
//
// Two pages run this one file:
//   * the test page the wslearn server serves at / (index.html calls mountPage), and
//   * the notebook widget wslearn.BrowserClient (anywidget calls initialize, then render).
// Everything the panel shows lives in a "model": a few named values (state, URL, log) with
// change events. In the notebook that is the widget's model, shared with Python; on the test
// page it is a small object in this page (PageModel, at the end). The rest is the same code.
//
// The page never sees frames, only whole messages: what the browser really put on the wire
// is in the server's recording (server.recorder.frames() in the notebook).

// The sizes that show the three ways a frame header writes the payload length (RFC 6455 §5.2).
const SIZES = [
  [125, "7-bit length: the largest that fits in the header's second byte"],
  [126, "16-bit length: marker 126, then 2 length bytes"],
  [65535, "16-bit length: the largest a 16-bit field holds"],
  [65536, "64-bit length: marker 127, then 8 length bytes"],
  [70000, "64-bit length; the server gets it in more than one recv()"],
];
const MAX_LOG = 200; // log entries kept (the oldest are dropped)
const MAX_PENDING = 1000; // sent messages waiting for their echo
const PREVIEW_CHARS = 48; // characters of a text message shown in the log
const MAX_REASON_BYTES = 123; // a Close frame's reason, in UTF-8 bytes (§5.5)
const VIA_PROXY = "via=jupyter-proxy"; // marks a URL through the proxy, for the server's recording
const PROXY_NOTE =
  "via the Jupyter server's proxy: the frames the wslearn server records were re-sent by the " +
  "Jupyter server, close codes are not forwarded";
// WebSocket.readyState 0..3, as the panel's model stores it.
const STATES = ["connecting", "open", "closing", "closed"];

const CLOSE_MEANINGS = {
  1000: "normal closure",
  1001: "going away",
  1002: "protocol error",
  1003: "unsupported data",
  1005: "no status received: the close frame carried no code",
  1006: "abnormal closure: no close frame, the connection just dropped",
  1007: "invalid payload data (e.g. text that is not UTF-8)",
  1008: "policy violation",
  1009: "message too big",
  1010: "mandatory extension missing",
  1011: "internal error on the server",
  1015: "TLS handshake failed",
};

// ----- what the log says about bytes -------------------------------------------------------

const encoder = new TextEncoder();

function utf8Length(text) {
  return encoder.encode(text).length;
}

function codePoints(text) {
  return Array.from(text).length; // characters as people count them, not UTF-16 units
}

function preview(text) {
  const chars = Array.from(text);
  const cut = chars.length > PREVIEW_CHARS;
  return JSON.stringify(cut ? chars.slice(0, PREVIEW_CHARS).join("") + "…" : text);
}

function hex(bytes, max = bytes.length) {
  const shown = Array.from(bytes.slice(0, max), (b) => b.toString(16).padStart(2, "0"));
  return shown.join(" ") + (bytes.length > max ? " …" : "");
}

function lengthCase(n) {
  if (n <= 125) return "7-bit";
  if (n <= 65535) return "16-bit";
  return "64-bit";
}

// The header a client frame must start with (FIN=1, masked), without its 4 random mask bytes.
function expectedHeader(opcode, n) {
  const bytes = [0x80 | opcode];
  if (n <= 125) {
    bytes.push(0x80 | n);
  } else if (n <= 65535) {
    bytes.push(0x80 | 126, (n >> 8) & 0xff, n & 0xff);
  } else {
    bytes.push(0x80 | 127);
    for (let i = 7; i >= 0; i--) bytes.push(Math.floor(n / 2 ** (8 * i)) % 256);
  }
  return bytes;
}

// ASCII text of exactly n bytes: "abcdefghijabcdefghij…".
export function sizedText(n) {
  return "abcdefghij".repeat(Math.ceil(n / 10)).slice(0, n);
}

// 256 bytes: 00 01 02 … ff.
export function byteRange() {
  return Uint8Array.from({ length: 256 }, (_, i) => i);
}

function closeMeaning(code) {
  if (CLOSE_MEANINGS[code]) return CLOSE_MEANINGS[code];
  if (code >= 3000 && code <= 3999) return "registered for libraries and frameworks";
  if (code >= 4000 && code <= 4999) return "private use: chosen by the application";
  return "not a defined code";
}

// ----- which URL -------------------------------------------------------------------------

// The subprotocols field: "chat.v2, chat.v1" -> ["chat.v2", "chat.v1"] (order = preference).
export function parseProtocols(text) {
  return String(text || "").split(",").map((p) => p.trim()).filter((p) => p !== "");
}

export function isLoopback(hostname) {
  const h = String(hostname || "").toLowerCase();
  return ["localhost", "127.0.0.1", "[::1]", "::1"].includes(h) || h.endsWith(".localhost");
}

// The Jupyter server's base URL ("/" on a laptop, "/user/<name>/" on JupyterHub and Binder).
export function jupyterBaseUrl() {
  let base = "/";
  try {
    const element = document.getElementById("jupyter-config-data");
    const config = element ? JSON.parse(element.textContent || "{}") : {};
    if (config && typeof config.baseUrl === "string" && config.baseUrl) base = config.baseUrl;
  } catch (error) {
    // Not JupyterLab / Notebook 7 (or unreadable config): the server is at the root.
  }
  if (!base.startsWith("/")) base = "/" + base;
  if (!base.endsWith("/")) base += "/";
  return base;
}

function goesThroughProxy(url) {
  return url.includes(VIA_PROXY) || /\/proxy\/(absolute\/)?[^/]*\d+\//.test(url);
}

// The widget's rules: url as written; else direct (ws://127.0.0.1:<port>) when the page came
// from this machine, else through jupyter-server-proxy (<base url>proxy/127.0.0.1:<port>/: the
// address named, not "localhost", which may mean ::1, where another program may listen).
export function resolveUrl({ url, mode, port, path }, loc = window.location) {
  if (url) return { url, route: goesThroughProxy(url) ? "proxy" : "direct" };
  let route = mode || "auto";
  if (route === "auto") route = isLoopback(loc.hostname) ? "direct" : "proxy";
  let p = path || "/";
  if (!p.startsWith("/")) p = "/" + p;
  if (route === "direct") return { url: `ws://127.0.0.1:${port}${p}`, route };
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  const separator = p.includes("?") ? "&" : "?";
  const proxy = `${jupyterBaseUrl()}proxy/127.0.0.1:${port}`;
  return { url: `${scheme}//${loc.host}${proxy}${p}${separator}${VIA_PROXY}`, route: "proxy" };
}

// The test page's rule: the server that sent this page answers WebSockets on the same port, in
// the same directory ("/" when opened directly, ".../proxy/<port>/" when opened through Jupyter).
export function pageUrl(loc = window.location) {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  const url = scheme + "//" + loc.host + loc.pathname.replace(/[^/]*$/, "");
  return goesThroughProxy(url) ? `${url}?${VIA_PROXY}` : url;
}

function closeNote(code, route, closedByUs) {
  const notes = [];
  if (code === 1006) {
    notes.push(
      "1006: no Close frame came, the TCP connection just ended. Is the server running " +
        "(server.running)? Was the kernel restarted?",
    );
    if (route === "proxy") {
      notes.push(
        "Behind the proxy the browser sees 'open' even when nothing listens on the port: " +
          "look at the server first. Is jupyter-server-proxy installed?",
      );
    }
  }
  if (route === "proxy" && closedByUs) {
    notes.push("This answer came from the proxy: the wslearn server got an empty Close (1005).");
  } else if (route === "proxy") {
    notes.push("Sent by the proxy: the code the wslearn server chose does not pass through.");
  }
  return notes.join(" ");
}

// ----- the socket: one controller per model ------------------------------------------------

function makeController(model) {
  const started = performance.now();
  let ws = null; // the current WebSocket, or null before the first Connect
  let sentCount = 0;
  let pending = []; // messages sent and not echoed yet, oldest first: {n, kind, data}
  let queued = []; // messages asked for while connecting
  let closedByUs = false;
  let route = "";
  let poll = null;

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
    if (model.get("state") === state) return;
    model.set("state", state);
    save();
  }

  function publishUrl() {
    const names = ["url", "mode", "port", "path"];
    const resolved = resolveUrl(Object.fromEntries(names.map((name) => [name, model.get(name)])));
    model.set({ resolved_url: resolved.url, route: resolved.route });
    save();
    return resolved;
  }

  function isActive() {
    return ws !== null && ws.readyState <= WebSocket.OPEN; // CONNECTING or OPEN
  }

  function transmit(data) {
    const kind = typeof data === "string" ? "text" : "binary";
    const bytes = kind === "text" ? utf8Length(data) : data.length;
    ws.send(data);
    sentCount += 1;
    // Only an echo server's answers are compared with what was sent (the widget's expect_echo).
    if (model.get("expect_echo") !== false) {
      pending.push({ n: sentCount, kind, data: kind === "text" ? data : new Uint8Array(data) });
      if (pending.length > MAX_PENDING) pending = pending.slice(-MAX_PENDING);
    }
    const header = hex(expectedHeader(kind === "text" ? 1 : 2, bytes));
    const entry = { type: "sent", n: sentCount, kind, bytes, header };
    entry.lengthCase = lengthCase(bytes);
    if (kind === "text") Object.assign(entry, { chars: codePoints(data), preview: preview(data) });
    else entry.hex = hex(data, 16);
    log(entry);
  }

  // Echoes come back in the order the messages were sent: compare with the oldest one waiting.
  function received(data) {
    const expected = pending.shift();
    let entry;
    if (typeof data === "string") {
      entry = { type: "received", kind: "text", chars: codePoints(data), bytes: utf8Length(data) };
      entry.preview = preview(data);
    } else {
      data = new Uint8Array(data);
      entry = { type: "received", kind: "binary", bytes: data.length, hex: hex(data, 16) };
    }
    if (expected) {
      const same =
        expected.kind === entry.kind &&
        (entry.kind === "text"
          ? expected.data === data
          : expected.data.length === data.length && expected.data.every((b, i) => b === data[i]));
      Object.assign(entry, { of: expected.n, echo: same ? "echo matches" : "MISMATCH" });
    }
    log(entry);
  }

  // `protocols`, when given (a list, or the field's text), replaces the model's subprotocols.
  function connect(url, protocols) {
    if (isActive()) {
      log({ type: "not-sent", message: `already ${model.get("state")}: disconnect first` });
      return false;
    }
    url = String(url || "").trim();
    if (url && url !== model.get("resolved_url")) model.set("url", url);
    if (protocols !== undefined && protocols !== null) {
      const list = Array.isArray(protocols) ? protocols.map(String) : parseProtocols(protocols);
      model.set("subprotocols", list);
      save();
    }
    const offered = model.get("subprotocols") || [];
    const resolved = publishUrl();
    route = resolved.route;
    sentCount = 0;
    pending = [];
    closedByUs = false;
    let socket;
    try {
      // The subprotocols go in one Sec-WebSocket-Protocol header, in this order (RFC 6455 §4.1).
      socket = new WebSocket(resolved.url, offered);
    } catch (error) {
      // e.g. SyntaxError for an http:// URL, a URL with a #fragment, or a subprotocol that is
      // not a token ("a b") or is offered twice (§4.1)
      const what = offered.length ? "the URL or the subprotocols" : "the URL";
      const message = `the browser refused ${what}: ${error.name}: ${error.message}`;
      log({ type: "error", name: error.name, message });
      setState("closed");
      return false;
    }
    socket.binaryType = "arraybuffer"; // binary messages arrive as ArrayBuffer, not Blob
    ws = socket;
    setState("connecting");
    const entry = { type: "connecting", url: resolved.url, route: resolved.route };
    if (offered.length) entry.subprotocols = offered;
    log(entry);
    // CLOSING has no event of its own (e.g. when the server starts the closing handshake).
    clearInterval(poll);
    poll = setInterval(() => ws === socket && setState(STATES[socket.readyState]), 250);

    socket.onopen = () => {
      if (ws !== socket) return;
      setState("open");
      log({ type: "open", protocol: socket.protocol, extensions: socket.extensions });
      const first = (model.get("send_on_open") || []).map(String).concat(queued);
      queued = [];
      for (const data of first) transmit(data);
    };
    socket.onmessage = (event) => ws === socket && received(event.data);
    socket.onerror = () => {
      if (ws !== socket) return;
      const message = "error event (the browser never says why, on purpose): " +
        "the close event below has the code";
      log({ type: "error", message });
    };
    socket.onclose = (event) => {
      if (ws !== socket) return;
      clearInterval(poll);
      setState("closed");
      const { code, reason, wasClean } = event;
      const note = closeNote(code, route, closedByUs);
      log({ type: "close", code, reason, wasClean, meaning: closeMeaning(code), note });
      if (pending.length) log({ type: "unanswered", count: pending.length });
      pending = [];
      queued = [];
    };
    return true;
  }

  // Text (a string) or binary (bytes) as one message.
  function send(data) {
    const state = ws === null ? "closed" : STATES[ws.readyState];
    if (state === "open") {
      transmit(data);
      return true;
    }
    if (state === "connecting") {
      queued.push(data);
      log({ type: "note", message: "queued until the socket opens" });
      return true;
    }
    log({ type: "not-sent", message: `not sent: the connection is ${state}` });
    return false;
  }

  // Without a code the Close frame carries none, and both ends report 1005.
  function close(code, reason = "") {
    if (!isActive()) {
      const state = ws === null ? "closed" : STATES[ws.readyState];
      log({ type: "not-sent", message: `nothing to close: the connection is ${state}` });
      return false;
    }
    const hasCode = code !== undefined && code !== null && String(code).trim() !== "";
    reason = String(reason ?? "");
    try {
      if (hasCode) ws.close(Number(code), reason);
      else if (reason) ws.close(undefined, reason); // the browser puts 1000 in front
      else ws.close();
    } catch (error) {
      // The browser checks the code (1000 or 3000-4999) and the reason (at most 123 bytes)
      // itself, before anything is sent.
      const message = `the browser refused: ${error.name}: ${error.message}`;
      log({ type: "close-error", name: error.name, message, code, reason });
      return false;
    }
    closedByUs = true;
    setState("closing");
    log({ type: "closing", code: hasCode ? Number(code) : null, reason });
    return true;
  }

  function dispose() {
    clearInterval(poll);
    if (isActive()) ws.close(1000, "widget closed");
    ws = null;
  }

  const protocol = () => (ws === null ? "" : ws.protocol);
  return { connect, send, close, dispose, publishUrl, protocol, pending: () => pending.length };
}

// ----- the panel ---------------------------------------------------------------------------

// One line of the log, in words.
function describe(entry) {
  switch (entry.type) {
    case "connecting":
      return `opening ${entry.url} (${entry.route}): a TCP connection, ` +
        "then an HTTP GET with Upgrade: websocket" +
        (entry.subprotocols ? `, offering Sec-WebSocket-Protocol: ${entry.subprotocols.join(", ")}`
          : "");
    case "open":
      return "101 Switching Protocols: the handshake is done " +
        `(extensions: ${entry.extensions || "none"}, subprotocol: ${entry.protocol || "none"})`;
    case "sent": {
      const what = entry.kind === "text"
        ? `#${entry.n} text, ${entry.bytes} bytes UTF-8 (${entry.chars} characters): ` +
          entry.preview
        : `#${entry.n} binary, ${entry.bytes} bytes: ${entry.hex}`;
      return `${what}\none masked frame, ${entry.lengthCase} length, ` +
        `header ${entry.header} + 4 mask bytes`;
    }
    case "received": {
      const what = entry.kind === "text"
        ? `text, ${entry.chars} characters, ${entry.bytes} bytes UTF-8: ${entry.preview}`
        : `binary, ${entry.bytes} bytes: ${entry.hex}`;
      if (!entry.echo) return what;
      return entry.echo === "echo matches"
        ? `${what}  ✔ echo matches #${entry.of}`
        : `${what}  ✖ MISMATCH: not the echo of #${entry.of}`;
    }
    case "closing":
      if (entry.code !== null) {
        return `close(${entry.code}, ${JSON.stringify(entry.reason)}) sent, waiting for the answer`;
      }
      return "close frame sent with no code" +
        (entry.reason ? " (the browser adds 1000 for the reason)" : "");
    case "close":
      return `code ${entry.code} (${entry.meaning}), reason ${JSON.stringify(entry.reason)}, ` +
        `wasClean ${entry.wasClean}` + (entry.note ? `\n${entry.note}` : "");
    case "unanswered":
      return `${entry.count} sent message(s) never came back`;
    default:
      return entry.message || JSON.stringify(entry);
  }
}

// An element; a control also gets a name (data-control), which the test page turns into its id.
function element(tag, className, text, control) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (control) node.dataset.control = control;
  return node;
}

function button(text, title, control, onClick) {
  const node = element("button", "wslearn-bc-button", text, control);
  node.type = "button";
  node.title = title;
  node.addEventListener("click", onClick);
  return node;
}

function input(className, control, label, value = "") {
  const node = element("input", className, undefined, control);
  node.type = "text";
  node.value = value;
  node.spellcheck = false;
  node.autocomplete = "off";
  node.setAttribute("aria-label", label);
  return node;
}

function row(...children) {
  const node = element("div", "wslearn-bc-row");
  node.append(...children);
  return node;
}

// Builds one view of the panel in `el`; every view of a model drives the model's one socket.
function render({ model, el }) {
  const controller = () => controllers.get(model.get("_client_id"));
  const root = element("div", "wslearn-bc");
  const state = element("span", "wslearn-bc-state", undefined, "state");
  state.setAttribute("role", "status");
  const head = row(element("span", "wslearn-bc-title", "Browser client"), state);
  const lead = element("div", "wslearn-bc-hint",
    "This page's own WebSocket object, connected to a wslearn server that echoes every message.");

  const url = input("wslearn-bc-url", "url", "WebSocket URL");
  const route = element("span", "wslearn-bc-route");
  const protocols = input("wslearn-bc-protocols", "protocols", "subprotocols to offer");
  protocols.placeholder = "subprotocols to offer, e.g. chat.v2, chat.v1 (optional)";
  const connect = button("Connect", "open a WebSocket to this URL", "connect",
    () => controller().connect(url.value, protocols.value));
  const disconnect = button("Disconnect", "close with no code (both ends then report 1005)",
    "disconnect", () => controller().close());
  const note = element("div", "wslearn-bc-note");

  const message = input("wslearn-bc-text", "message", "message to send", "Hello, 你好, 👋");
  const send = button("Send", "send as one text message", "send",
    () => controller().send(message.value));
  const sizeButtons = SIZES.map(([size, how]) =>
    button(`${size} B`, `${size} bytes of ASCII text: ${how}`, `size-${size}`,
      () => controller().send(sizedText(size))));
  const binary = button("256 B binary", "bytes 00 01 02 … ff, as an ArrayBuffer (opcode 2)",
    "binary", () => controller().send(byteRange()));

  const code = input("wslearn-bc-code", "close-code", "close code", "1000");
  code.inputMode = "numeric";
  const reason = input("wslearn-bc-reason", "close-reason", "close reason");
  reason.placeholder = `reason, at most ${MAX_REASON_BYTES} UTF-8 bytes`;
  const reasonBytes = element("span", "wslearn-bc-hint", undefined, "reason-bytes");
  const close = button("Close", "start the closing handshake with this code and reason", "close",
    () => controller().close(code.value, reason.value));
  const closeError = element("div", "wslearn-bc-refusal", undefined, "close-error");
  closeError.setAttribute("role", "alert");

  const summary = element("span", "wslearn-bc-hint", undefined, "summary");
  const clear = button("Clear log", "forget the log (the socket stays as it is)", "clear-log",
    () => { model.set("log", []); model.save_changes(); });
  const logBox = element("div", "wslearn-bc-log", undefined, "log");
  logBox.setAttribute("role", "log");

  root.append(
    head,
    lead,
    row(element("span", "wslearn-bc-label", "URL"), url, route, connect, disconnect),
    note,
    row(element("span", "wslearn-bc-label", "Protocols"), protocols),
    row(element("span", "wslearn-bc-label", "Text"), message, send),
    row(element("span", "wslearn-bc-label", "Sizes"), ...sizeButtons, binary),
    element("div", "wslearn-bc-hint",
      "One message, one masked frame; the header writes the length in 7, 16 or 64 bits (§5.2)."),
    row(element("span", "wslearn-bc-label", "Close"), code, reason, reasonBytes, close),
    closeError,
    element("div", "wslearn-bc-hint",
      "A page may only send 1000 or 3000–4999, with a reason of at most 123 bytes: the browser " +
        "refuses the rest (try 1001). An empty code sends a Close frame with none: 1005."),
    row(summary, clear),
    logBox,
  );
  el.append(root);

  // Enter sends (or connects); the notebook's shortcuts (e.g. "a", "b", "d d") don't see the keys.
  const fields = [[url, connect], [protocols, connect], [message, send], [code, close],
    [reason, close]];
  for (const [field, action] of fields) {
    field.addEventListener("keydown", (event) => {
      event.stopPropagation();
      if (event.key === "Enter" && !action.disabled) action.click();
    });
  }
  const showReasonBytes = () => {
    const n = utf8Length(reason.value);
    reasonBytes.textContent = `${n}/${MAX_REASON_BYTES} bytes`;
    reasonBytes.classList.toggle("wslearn-bc-too-long", n > MAX_REASON_BYTES);
  };
  reason.addEventListener("input", showReasonBytes);

  function showState() {
    const value = STATES.includes(model.get("state")) ? model.get("state") : "closed";
    state.textContent = value.toUpperCase(); // as the constants are named: WebSocket.OPEN
    state.dataset.state = value;
    connect.disabled = url.disabled = protocols.disabled = value !== "closed";
    disconnect.disabled = close.disabled = value !== "open" && value !== "connecting";
    for (const node of [send, binary, ...sizeButtons]) node.disabled = value !== "open";
  }

  function showUrl() {
    url.value = model.get("resolved_url") || "";
    const r = model.get("route") || "";
    route.textContent = route.dataset.route = r;
    note.textContent = r === "proxy" ? PROXY_NOTE : "";
    note.hidden = r !== "proxy";
  }

  function showProtocols() {
    protocols.value = (model.get("subprotocols") || []).join(", ");
  }

  function showLog() {
    const entries = model.get("log") || [];
    const atBottom = logBox.scrollHeight - logBox.scrollTop - logBox.clientHeight < 8;
    logBox.replaceChildren(...entries.map((entry) => {
      const line = element("div", `wslearn-bc-entry wslearn-bc-log-${entry.type}`);
      if (entry.echo) {
        const ok = entry.echo === "echo matches";
        line.classList.add(ok ? "wslearn-bc-log-echo-ok" : "wslearn-bc-log-echo-bad");
      }
      line.append(
        element("span", "wslearn-bc-time", (entry.time ?? 0).toFixed(3)),
        element("span", "wslearn-bc-type", entry.type),
        element("span", "wslearn-bc-msg", describe(entry)),
      );
      return line;
    }));
    if (atBottom) logBox.scrollTop = logBox.scrollHeight;
    // Since the last Connect: how many went out, and how many came back as they left.
    const since = entries.slice(entries.map((e) => e.type).lastIndexOf("connecting") + 1);
    const sent = since.filter((e) => e.type === "sent").length;
    const back = since.filter((e) => e.type === "received" && e.echo);
    const matched = back.filter((e) => e.echo === "echo matches").length;
    summary.textContent = sent === 0 ? "Nothing sent yet." :
      `Sent ${sent}, echoes matched ${matched}` +
        (back.length > matched ? `, MISMATCHED ${back.length - matched}` : "") +
        `, waiting for ${sent - back.length}.`;
    // The browser's refusal of the last close() asked for, until the next one goes out.
    const closes = ["close-error", "closing", "connecting"];
    const last = entries.findLast((e) => closes.includes(e.type));
    closeError.textContent = last && last.type === "close-error" ? last.message : "";
  }

  showReasonBytes();
  showUrl();
  showProtocols();
  showState();
  showLog();
  model.on("change:state", showState);
  model.on("change:resolved_url", showUrl);
  model.on("change:route", showUrl);
  model.on("change:subprotocols", showProtocols);
  model.on("change:log", showLog);
  return () => root.remove();
}

// ----- the notebook widget (anywidget) ----------------------------------------------------

// One controller per widget model, found by the model's _client_id (the views and
// initialize() get different model wrappers, so the id is the shared key).
const controllers = new Map();

// Once per model: make its socket's controller, and listen to Python (client.connect() etc.).
function initialize({ model }) {
  const id = model.get("_client_id");
  const controller = makeController(model);
  controllers.set(id, controller);
  model.on("msg:custom", (msg, buffers) => {
    if (!msg || typeof msg !== "object") return;
    if (msg.type === "connect") controller.connect();
    else if (msg.type === "send") controller.send(String(msg.text));
    else if (msg.type === "send-binary" && buffers && buffers.length === 1) {
      const view = buffers[0]; // a DataView on the bytes Python sent
      controller.send(new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice());
    }
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

export default { initialize, render };

// ----- the test page -----------------------------------------------------------------------

// The few things the panel needs from a widget model, kept in this page: no kernel behind it.
class PageModel {
  constructor(values) {
    this.values = { ...values };
    this.listeners = new Map();
  }

  get(name) {
    return this.values[name];
  }

  set(nameOrValues, value) {
    const changes = typeof nameOrValues === "string" ? { [nameOrValues]: value } : nameOrValues;
    Object.assign(this.values, changes);
    for (const name of Object.keys(changes)) {
      for (const listener of this.listeners.get(`change:${name}`) || []) listener();
    }
  }

  on(event, listener) {
    this.listeners.set(event, [...(this.listeners.get(event) || []), listener]);
  }

  save_changes() {} // nothing to send anywhere
}

// Shows the panel in `el`, gives its controls their ids (#connect, #send, #log, ...), and
// offers the same actions to scripts and tests as window.wslearnPage.
export function mountPage(el, url = pageUrl()) {
  const model = new PageModel({
    _client_id: "page", url, mode: "auto", port: 0, path: "/", send_on_open: [], subprotocols: [],
    auto_connect: false, resolved_url: "", route: "", state: "closed", log: [],
  });
  initialize({ model });
  render({ model, el });
  for (const node of el.querySelectorAll("[data-control]")) node.id = node.dataset.control;
  const controller = controllers.get("page");
  const message = el.querySelector('[data-control="message"]');
  window.wslearnPage = {
    // protocols: a list (["chat.v2", "chat.v1"]); left out, the Protocols field is used.
    connect: (to, protocols) => controller.connect(
      to || el.querySelector('[data-control="url"]').value,
      protocols ?? el.querySelector('[data-control="protocols"]').value,
    ),
    disconnect: () => controller.close(),
    send: (text) => controller.send(text === undefined ? message.value : String(text)),
    sendSize: (n) => controller.send(sizedText(Number(n))),
    sendBinary: () => controller.send(byteRange()),
    close: (code, reason) => controller.close(code, reason),
    state: () => model.get("state").toUpperCase(), // CONNECTING, OPEN, CLOSING, CLOSED
    protocol: () => controller.protocol(), // ws.protocol: the subprotocol agreed, or ""
    pending: () => controller.pending(),
    get log() {
      return model.get("log");
    },
  };
  return window.wslearnPage;
}
