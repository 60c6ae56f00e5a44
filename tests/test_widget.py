"""wslearn.widget: the Python half of BrowserClient, and the one browser client it shares.

The browser half is ``wslearn/static/client.js`` (and ``client.css``): the notebook widget runs it,
and the server's test page loads it too, so a fix lands in both. In a browser it is tested by
``test_browser_page.py`` (the page) and ``test_widget_jupyterlab.py`` (the widget in JupyterLab).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import wslearn
from wslearn.widget import CLIENT_CSS, CLIENT_JS, BrowserClient

STATIC = Path(wslearn.__file__).parent / "static"


def test_exactly_one_file_opens_the_browsers_websocket() -> None:
    openers = {
        path.name: path.read_text(encoding="utf-8").count("new WebSocket(")
        for path in STATIC.iterdir()
        if path.suffix in (".html", ".js")
    }
    assert {name: n for name, n in openers.items() if n} == {CLIENT_JS.name: 1}


def test_the_widget_runs_the_shared_files() -> None:
    assert CLIENT_JS.parent == CLIENT_CSS.parent == STATIC
    client = BrowserClient(8765)
    assert client._esm == CLIENT_JS.read_text(encoding="utf-8")
    assert client._css == CLIENT_CSS.read_text(encoding="utf-8")
    module = CLIENT_JS.read_text(encoding="utf-8")
    # What anywidget calls, and what the test page imports.
    assert "export default { initialize, render };" in module
    assert "export function mountPage(" in module


def test_the_test_page_loads_the_same_module_by_relative_urls() -> None:
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    # Relative, so the page also works behind jupyter-server-proxy (/user/x/proxy/<port>/).
    assert '<link rel="stylesheet" href="client.css">' in page
    script = re.search(r'<script type="module">(.*?)</script>', page, re.S)
    assert script and 'import { mountPage } from "./client.js";' in script.group(1)
    assert "WebSocket(" not in page


def test_the_files_ship_in_the_package() -> None:
    pyproject = (Path(wslearn.__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    package_data = re.search(r"\[tool\.setuptools\.package-data\]\s*wslearn = \[(.*?)\]", pyproject)
    assert package_data is not None
    patterns = re.findall(r'"([^"]+)"', package_data.group(1))
    for path in (CLIENT_JS, CLIENT_CSS, STATIC / "index.html"):
        assert any(path.relative_to(STATIC.parent).match(p) for p in patterns), path


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_module_parses(tmp_path: Path) -> None:
    copy = tmp_path / "client.mjs"  # .mjs: node reads it as an ES module
    copy.write_bytes(CLIENT_JS.read_bytes())
    result = subprocess.run(
        ["node", "--check", str(copy)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr


class FakeServer:
    port = 8765


def test_port_comes_from_a_server_or_a_number() -> None:
    assert BrowserClient(FakeServer()).port == 8765
    assert BrowserClient(9000, path="chat").path == "/chat"
    with pytest.raises(TypeError, match="wslearn server"):
        BrowserClient("8765")
    with pytest.raises(TypeError):
        BrowserClient(True)
    with pytest.raises(ValueError, match="1..65535"):
        BrowserClient(0)
    with pytest.raises(TypeError, match="text messages"):
        BrowserClient(8765, send_on_open=[b"bytes"])  # type: ignore[list-item]


def test_repr_is_the_same_on_every_run() -> None:
    # It is the plain-text output saved in the notebooks: no port, no address.
    expected = "BrowserClient(mode='auto'): this page's WebSocket to the kernel's server"
    assert repr(BrowserClient(8765)) == repr(BrowserClient(9999)) == expected


def test_python_methods_check_what_a_browser_would_refuse() -> None:
    client = BrowserClient(8765)
    sent = []
    client.send = sent.append  # type: ignore[method-assign]  # what would go to the page
    client.connect()
    client.send_text("hi")
    client.disconnect(4000, "bye")
    assert sent == [
        {"type": "connect"},
        {"type": "send", "text": "hi"},
        {"type": "close", "code": 4000, "reason": "bye"},
    ]
    with pytest.raises(ValueError, match="1000 or 3000-4999"):
        client.disconnect(1001)
    with pytest.raises(ValueError, match="123 bytes"):
        client.disconnect(1000, "x" * 124)
    with pytest.raises(TypeError, match="str"):
        client.send_text(b"bytes")  # type: ignore[arg-type]


def test_binary_goes_to_the_page_as_a_buffer() -> None:
    client = BrowserClient(8765)
    sent = []
    client.send = lambda content, buffers=None: sent.append((content, buffers))  # type: ignore[method-assign]
    client.send_binary(bytearray(b"\x00\xff"))
    assert sent == [({"type": "send-binary"}, [b"\x00\xff"])]
    with pytest.raises(TypeError, match="bytes"):
        client.send_binary("text")  # type: ignore[arg-type]
    source = (Path(wslearn.__file__).parent / "static" / "client.js").read_text()
    assert 'msg.type === "send-binary"' in source  # the page's side of it


def test_subprotocols_go_to_the_page_as_a_checked_list() -> None:
    assert BrowserClient(8765).subprotocols == []
    client = BrowserClient(8765, subprotocols=("chat.v2", "chat.v1"))
    assert client.subprotocols == ["chat.v2", "chat.v1"]  # order kept: the client's preference
    assert client.trait_metadata("subprotocols", "sync") is True
    # What new WebSocket(url, protocols) would refuse with a SyntaxError (RFC 6455 §4.1).
    for bad in (["a b"], ["chat", "chat"], [""], "chat"):
        with pytest.raises(ValueError):
            BrowserClient(8765, subprotocols=bad)


def test_the_page_passes_the_subprotocols_to_the_websocket() -> None:
    module = CLIENT_JS.read_text(encoding="utf-8")
    assert "new WebSocket(resolved.url, offered)" in module
    assert 'const offered = model.get("subprotocols") || [];' in module
    assert 'log({ type: "open", protocol: socket.protocol' in module


def test_echoes_are_compared_only_when_the_server_echoes() -> None:
    with wslearn.serve(port=0) as echo_server:
        assert BrowserClient(echo_server).expect_echo is True
    with wslearn.serve(port=0, handler=wslearn.ChatRooms()) as chat_server:
        assert BrowserClient(chat_server).expect_echo is False
        assert BrowserClient(chat_server, expect_echo=True).expect_echo is True
    assert BrowserClient(8765).expect_echo is True  # a port says nothing: compare, as before
