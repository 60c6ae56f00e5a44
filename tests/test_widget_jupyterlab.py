"""The in-notebook browser client (``wslearn.widget.BrowserClient``) in a real JupyterLab.

For each scenario a JupyterLab server runs as a subprocess, headless Chromium opens a notebook in
it and runs every cell (``notebook:run-all-cells``), the way a learner presses Run All:

* **direct** — base URL ``/``, page at ``http://127.0.0.1:<port>/``: the widget must choose
  ``ws://127.0.0.1:<server port>/`` by itself, and the kernel's server records Chromium's own
  frames (its User-Agent, its masks).
* **proxy** — base URL ``/user/learner/`` (as on JupyterHub and Binder), page at
  ``http://jupyter.test:<port>/user/learner/...`` (Chromium maps that name to 127.0.0.1): the page
  is not on a loopback name, so the widget must go through jupyter-server-proxy by itself, and the
  kernel's server must see that it did, without ever storing the Jupyter token.

The notebook writes what the kernel's server recorded to ``result.json``; the test reads it, the
page's DOM, and (once the kernel is idle) the widget's traits as Python sees them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List

import pytest
from helpers.labtools import (
    PROXY_HOST,
    SCENARIOS,
    TOKEN,
    WAIT_MS,
    Lab,
    Scenario,
    kernel_execute,
    launch_chromium,
    open_notebook,
    run_all,
    start_lab,
    wait_for_file,
    wait_until_executed,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

HELLO = "hello from the notebook page"
BIG = 70000
RUN_LIMIT = 60.0  # seconds for the notebook to write result.json

CELLS = [
    "import json, os, wslearn\n"
    "from wslearn.widget import BrowserClient\n"
    "server = wslearn.serve(port=0)",
    #
    "client = BrowserClient(server, mode='auto',\n"
    f"                       send_on_open=[{HELLO!r}, 'x' * {BIG}])\n"
    "client",
    #
    "frames = server.wait_for_frames(2, timeout=30)\n"
    "result = {\n"
    "    'server_port': server.port,\n"
    "    'frames': [\n"
    "        {'opcode': f.opcode, 'fin': f.fin, 'masked': f.masked, 'length': f.length,\n"
    "         'length_case': f.length_case, 'header': f.header.hex(),\n"
    "         'text': f.payload_preview[:64].decode('utf-8', 'replace')}\n"
    "        for f in frames\n"
    "    ],\n"
    "    'connections': [\n"
    "        {'via_proxy': c.via_proxy, 'proxy_evidence': c.proxy_evidence,\n"
    "         'user_agent': c.user_agent, 'target': c.target, 'status': c.status,\n"
    "         'request': c.request_raw.decode('latin-1')}\n"
    "        for c in server.recorder.connections()\n"
    "    ],\n"
    "}\n"
    "with open('result.json.part', 'w') as f:\n"
    "    json.dump(result, f, indent=1)\n"
    "os.replace('result.json.part', 'result.json')  # the test never sees half a file",
    #
    "server.stop()",
]

# Run in the kernel after Run All, once it is idle: by then the traits the page set have arrived.
TRAITS_CODE = """
with open('traits.json', 'w') as f:
    json.dump({'state': client.state, 'route': client.route,
               'resolved_url': client.resolved_url, 'log': client.log}, f)
"""

# Then the panel's buttons and the Python methods, against a new server on the same port.
RESTART_CODE = "server = wslearn.serve(port=server.port)"
SEND_CODE = "client.send_text('from python')"
BINARY_CODE = "client.send_binary(bytes(range(256)))"
DISCONNECT_CODE = "client.disconnect(4000, 'bye')"
AFTER_CODE = """
server.wait_for_frames(5, timeout=10)
with open('buttons.json', 'w') as f:
    json.dump({'frames': [
        {'opcode': f.opcode, 'length': f.length, 'length_case': f.length_case,
         'payload': f.payload_preview.hex()}
        for f in server.recorder.frames(direction='in')
    ], 'log': client.log}, f)
server.stop()
"""


def write_notebook(path: Path) -> None:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.write(notebook, str(path))


@dataclasses.dataclass
class ScenarioLab:
    scenario: Scenario
    lab: Lab


@pytest.fixture(scope="module", params=list(SCENARIOS))
def scenario_lab(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ScenarioLab]:
    """A JupyterLab server (subprocess) with ``test.ipynb`` in its root; stopped at the end."""
    scenario = SCENARIOS[request.param]
    home = tmp_path_factory.mktemp(f"lab-{scenario.name}")
    with start_lab(home, scenario.base_url) as running:
        write_notebook(running.root / "test.ipynb")
        yield ScenarioLab(scenario, running)


@pytest.fixture(scope="module")
def chromium(chromium_path: str) -> Iterator[Browser]:
    """Headless Chromium that resolves ``jupyter.test`` to 127.0.0.1 (and nothing else changed)."""
    with launch_chromium(chromium_path) as browser:
        yield browser


@dataclasses.dataclass
class Run:
    scenario: Scenario
    lab: Lab
    result: Dict[str, Any]
    result_text: str
    traits: Dict[str, Any]
    #: What the server recorded while the test used the panel's buttons and the Python methods.
    buttons: Dict[str, Any]
    panel_state: str
    panel_url: str
    panel_note: str
    panel_log: str
    panel_log_after: str
    stderr_outputs: List[str]
    page_errors: List[str]


def wait_for_log(page: Page, text: str) -> None:
    page.wait_for_function(
        "(text) => [...document.querySelectorAll('.wslearn-bc-log')]"
        ".some((log) => log.textContent.includes(text))",
        arg=text,
        timeout=WAIT_MS,
    )


@pytest.fixture(scope="module")
def run(chromium: Browser, scenario_lab: ScenarioLab) -> Iterator[Run]:
    """Open the notebook in Chromium, Run All, and collect what every side saw."""
    scenario = scenario_lab.scenario
    lab = scenario_lab.lab
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: List[str] = []
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    try:
        # The app, the notebook and its kernel, idle.
        open_notebook(page, lab, "test.ipynb", host=scenario.page_host)
        run_all(page)
        result_text = wait_for_file(lab.root / "result.json", lab, page, RUN_LIMIT)

        # Every cell has run and the kernel is idle again.
        assert wait_until_executed(page, WAIT_MS, allow_stop_on_error=False), (
            "Run All did not finish: "
            + "; ".join(page.locator(".jp-OutputArea-output").all_inner_texts())
        )
        panel = page.locator(".wslearn-bc").first
        panel.wait_for(state="visible", timeout=WAIT_MS)
        # The page's log has the echo of the 70000-byte message (or shows what went wrong).
        with contextlib.suppress(Exception):
            wait_for_log(page, "echo matches #2")
        # The kernel is idle: now the traits the page set have reached Python.
        # The page's trait updates reach Python only between executions (when the kernel is
        # idle), so ask again, a bounded number of times, until the log has arrived.
        for _ in range(40):
            kernel_execute(page, TRAITS_CODE)
            traits_text = (lab.root / "traits.json").read_text()
            if json.loads(traits_text)["log"]:
                break
            page.wait_for_timeout(250)
        panel_state = panel.locator(".wslearn-bc-state").inner_text()
        panel_log = panel.locator(".wslearn-bc-log").inner_text()

        # The buttons and the Python methods: Connect, 126 B, send_text(), send_binary(),
        # disconnect(4000, 'bye').
        kernel_execute(page, RESTART_CODE)
        panel.get_by_role("button", name="Connect", exact=True).click(timeout=WAIT_MS)
        page.wait_for_function(
            "() => document.querySelector('.wslearn-bc-state').textContent === 'OPEN'",
            timeout=WAIT_MS,
        )
        panel.get_by_role("button", name="126 B", exact=True).click(timeout=WAIT_MS)
        # send_on_open goes out again on every open (#1, #2); the button's message is #3.
        wait_for_log(page, "echo matches #3")
        kernel_execute(page, SEND_CODE)
        wait_for_log(page, "echo matches #4")
        kernel_execute(page, BINARY_CODE)
        wait_for_log(page, "echo matches #5")
        kernel_execute(page, DISCONNECT_CODE)
        page.wait_for_function(
            "() => document.querySelector('.wslearn-bc-state').textContent === 'CLOSED'",
            timeout=WAIT_MS,
        )
        kernel_execute(page, AFTER_CODE)
        buttons = json.loads((lab.root / "buttons.json").read_text())

        panel.scroll_into_view_if_needed(timeout=WAIT_MS)
        page.screenshot(path=f"/tmp/widget-{scenario.name}.png")
        stderr_outputs = page.locator(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
        ).all_inner_texts()
        yield Run(
            scenario=scenario,
            lab=lab,
            result=json.loads(result_text),
            result_text=result_text,
            traits=json.loads(traits_text),
            buttons=buttons,
            panel_state=panel_state,
            panel_url=panel.locator(".wslearn-bc-url").input_value(),
            panel_note=panel.locator(".wslearn-bc-note").inner_text(),
            panel_log=panel_log,
            panel_log_after=panel.locator(".wslearn-bc-log").inner_text(),
            stderr_outputs=stderr_outputs,
            page_errors=list(errors),
        )
    finally:
        context.close()


def _inbound_text_frames(run: Run) -> List[Dict[str, Any]]:
    return [f for f in run.result["frames"] if f["opcode"] == 1]


def _websocket_connections(run: Run) -> List[Dict[str, Any]]:
    return [c for c in run.result["connections"] if c["status"] == 101]


def test_browser_messages_reach_the_kernel_server(run: Run) -> None:
    frames = _inbound_text_frames(run)
    assert any(f["text"] == HELLO and f["length"] == len(HELLO) for f in frames), frames
    big = [f for f in frames if f["length"] == BIG]
    assert len(big) == 1, frames
    # One whole frame, masked (client to server, RFC 6455 §5.3), with the 64-bit length form:
    # 0x81 (FIN, text), 0xff (MASK, 127), then 70000 as 8 bytes.
    assert big[0]["fin"] and big[0]["masked"], big[0]
    assert big[0]["length_case"] == "64-bit", big[0]
    assert big[0]["header"].startswith("81ff0000000000011170"), big[0]
    assert all(f["masked"] for f in run.result["frames"])


def test_widget_chooses_the_route_by_itself(run: Run) -> None:
    scenario = run.scenario
    connections = _websocket_connections(run)
    assert len(connections) == 1, run.result["connections"]
    connection = connections[0]
    port = run.result["server_port"]
    if not scenario.via_proxy:
        # The browser's own handshake: no proxy marker, header names as Chromium writes them.
        assert "via=jupyter-proxy" not in connection["target"], connection
        assert "Sec-WebSocket-Key:" in connection["request"], connection["request"]
        # It does carry the page's Jupyter cookies: cookies are kept per host, not per port
        # (RFC 6265 §8.5), so a cookie alone is no sign of the proxy.
    assert connection["via_proxy"] is scenario.via_proxy, (
        f"via_proxy should be {scenario.via_proxy}; evidence: {connection['proxy_evidence']}"
    )
    if scenario.via_proxy:
        assert "via=jupyter-proxy" in connection["target"], connection
        assert any("proxy/<port>" in line for line in connection["proxy_evidence"]), connection
        expected_url = (
            f"ws://{PROXY_HOST}:{run.lab.port}/user/learner/proxy/127.0.0.1:{port}/"
            "?via=jupyter-proxy"
        )
        assert run.panel_url == expected_url
        assert "proxy" in run.panel_note and "close codes are not forwarded" in run.panel_note
    else:
        assert connection["proxy_evidence"] == [], connection
        assert "Chrome" in connection["user_agent"], connection
        assert connection["target"] == "/", connection
        expected_url = f"ws://127.0.0.1:{port}/"
        assert run.panel_url == expected_url
        assert run.panel_note == ""
    # What Python sees once the kernel is idle.
    assert run.traits["route"] == scenario.name
    assert run.traits["resolved_url"] == expected_url


def test_token_never_reaches_the_recording(run: Run) -> None:
    assert TOKEN not in run.result_text
    if run.scenario.via_proxy:
        # The proxy forwards the learner's Jupyter cookies: the recording shows them redacted.
        (connection,) = _websocket_connections(run)
        assert "Cookie: [redacted]" in connection["request"], connection["request"]


def test_notebook_ran_without_errors_and_the_panel_shows_the_echo(run: Run) -> None:
    assert not [text for text in run.stderr_outputs if "Traceback" in text], run.stderr_outputs
    widget_errors = [e for e in run.page_errors if "wslearn" in e or "anywidget" in e.lower()]
    assert widget_errors == [], widget_errors
    assert run.panel_state == "OPEN" or "echo matches" in run.panel_log, run.panel_log
    assert "echo matches #1" in run.panel_log and "echo matches #2" in run.panel_log, run.panel_log
    assert "MISMATCH" not in run.panel_log
    log_types = [entry["type"] for entry in run.traits["log"]]
    assert log_types[:2] == ["connecting", "open"], run.traits["log"]
    echoes = [entry.get("echo") for entry in run.traits["log"] if entry["type"] == "received"]
    assert echoes[:2] == ["echo matches", "echo matches"], run.traits["log"]


def test_buttons_and_python_methods_drive_the_page_socket(run: Run) -> None:
    frames = run.buttons["frames"]
    texts = [f for f in frames if f["opcode"] == 1]
    # send_on_open again (it is sent on every open), then the 126 B button, then send_text().
    assert [(f["length"], f["length_case"]) for f in texts] == [
        (len(HELLO), "7-bit"), (BIG, "64-bit"), (126, "16-bit"), (11, "7-bit")
    ]  # fmt: skip
    assert bytes.fromhex(texts[3]["payload"]) == b"from python"
    binaries = [f for f in frames if f["opcode"] == 2]
    assert [(f["length"], f["length_case"]) for f in binaries] == [(256, "16-bit")], frames
    assert bytes.fromhex(binaries[0]["payload"]) == bytes(range(256))
    closes = [f for f in frames if f["opcode"] == 8]
    assert len(closes) == 1, frames
    if run.scenario.via_proxy:
        # The proxy does not pass the browser's code on: an empty Close reaches the server.
        assert closes[0]["length"] == 0, closes
    else:
        assert bytes.fromhex(closes[0]["payload"]) == (4000).to_bytes(2, "big") + b"bye"
    assert "code 4000" in run.panel_log_after, run.panel_log_after
    # Python's copy of the page's log (the kernel was idle between the steps) has every message
    # of the second connection, in order.
    log = run.buttons["log"]
    starts = [i for i, entry in enumerate(log) if entry["type"] == "connecting"]
    assert len(starts) == 2, log
    steps = [
        (entry["type"], entry.get("n") or entry.get("of"), entry.get("echo"))
        for entry in log[starts[1] :]
        if entry["type"] in ("sent", "received")
    ]
    assert steps == [
        ("sent", 1, None), ("sent", 2, None),
        ("received", 1, "echo matches"), ("received", 2, "echo matches"),
        ("sent", 3, None), ("received", 3, "echo matches"),
        ("sent", 4, None), ("received", 4, "echo matches"),
        ("sent", 5, None), ("received", 5, "echo matches"),
    ], log  # fmt: skip


@pytest.mark.parametrize(
    ("location", "settings", "expected"),
    [
        # auto: loopback page names connect directly...
        ("http://localhost:8888/lab", {}, ("ws://127.0.0.1:9000/", "direct")),
        ("http://127.0.0.1:8888/lab", {}, ("ws://127.0.0.1:9000/", "direct")),
        ("http://[::1]:8888/lab", {}, ("ws://127.0.0.1:9000/", "direct")),
        ("http://lab.localhost:8888/lab", {}, ("ws://127.0.0.1:9000/", "direct")),
        # ...any other name goes through the proxy, wss: on an https: page.
        (
            "https://hub.example.org/user/ada/lab",
            {},
            ("wss://hub.example.org/user/ada/proxy/127.0.0.1:9000/?via=jupyter-proxy", "proxy"),
        ),
        (
            "http://10.0.0.5:8888/user/ada/lab",
            {"path": "/chat?room=1"},
            (
                "ws://10.0.0.5:8888/user/ada/proxy/127.0.0.1:9000/chat?room=1&via=jupyter-proxy",
                "proxy",
            ),
        ),
        # mode wins over the page's name; url wins over everything.
        ("https://hub.example.org/lab", {"mode": "direct"}, ("ws://127.0.0.1:9000/", "direct")),
        (
            "http://localhost:8888/lab",
            {"mode": "proxy"},
            ("ws://localhost:8888/user/ada/proxy/127.0.0.1:9000/?via=jupyter-proxy", "proxy"),
        ),
        (
            "http://localhost:8888/lab",
            {"url": "ws://10.1.1.1:1/x"},
            ("ws://10.1.1.1:1/x", "direct"),
        ),
    ],
)
def test_url_resolution(
    chromium: Browser, location: str, settings: Dict[str, str], expected: tuple
) -> None:
    """The widget's own rules, run in the browser against made-up page locations."""
    import base64

    from wslearn.widget import CLIENT_JS

    page = chromium.new_page()
    try:
        # The base URL as JupyterLab publishes it; without the trailing slash, which must be added.
        page.set_content(
            '<script id="jupyter-config-data" type="application/json">'
            '{"baseUrl": "/user/ada"}</script>'
        )
        module = "data:text/javascript;base64," + base64.b64encode(CLIENT_JS.read_bytes()).decode()
        resolved = page.evaluate(
            """async ([module, location, settings]) => {
                const { resolveUrl } = await import(module);
                const loc = new URL(location);
                const options = Object.assign({ url: "", mode: "auto", port: 9000, path: "/" },
                                              settings);
                const { url, route } = resolveUrl(options, loc);
                return [url, route];
            }""",
            [module, location, settings],
        )
    finally:
        page.close()
    assert tuple(resolved) == expected
