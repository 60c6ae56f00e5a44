"""A class on one JupyterHub: two learners run notebook 05 at once, and neither reaches the other.

A real JupyterHub (``tests/helpers/hub.py``) on 127.0.0.1, with configurable-http-proxy, the
local-process spawner and two local users, as The Littlest JupyterHub runs a class: one machine,
one network namespace, so both learners' kernels see the same ``127.0.0.1`` ports. In headless
Chromium each learner logs in (the browser reaches the hub as ``jupyter.test``, another name
than the kernel's, as a learner's browser on their own computer does), opens their copy of
notebook 05 in JupyterLab and runs it all, both at the same time. Notebook 05 asks for port 8765
in both. Then A starts the server again (notebook 05 ends by stopping it) and learner B tries to
reach it, from B's page through B's proxy and from B's kernel straight to A's port.

Asserted: both notebooks run without an error and their widgets reach their own servers through
the Jupyter proxy; the two servers listen on different ports, both having asked for 8765; B's
two attempts are refused by A's server with 403 (its record names B's user), B's page gets no
message from A's server, and A's server records nothing else from B; every process the test
started is gone at the end, the two users with them.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from helpers.hub import (
    LEARNERS,
    built_user_env,
    can_run_a_hub,
    learners,
    processes_matching,
    processes_of,
    proxy_command,
    running_hub,
)
from helpers.labtools import (
    PROXY_HOST,
    WAIT_MS,
    kernel_execute,
    launch_chromium,
    notebook_cells,
    run_all,
    stripped_copy,
    wait_for_notebook,
    wait_until_executed,
)
from helpers.learner_envs import BuildFailed

pytestmark = [pytest.mark.browser, pytest.mark.notebook, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = "05_live_server.ipynb"
RUN_LIMIT = 120.0  # seconds for Run All of notebook 05 in both pages at once

# Run in a learner's kernel after Run All: what its server recorded, into a file of theirs.
RECORD_CODE = """
def _dump(path):
    import json
    frames = server.recorder.frames(direction="in")
    json.dump({{
        "port": server.port, "requested_port": server.requested_port,
        "connections": [
            {{"id": c.id, "status": c.status, "user_agent": c.user_agent,
              "via_proxy": c.via_proxy, "error": c.error,
              "masked_texts": sum(1 for f in frames
                                  if f.connection == c.id and f.opcode == 1 and f.masked)}}
            for c in server.recorder.connections()]}}, open(path, "w"))
_dump({path!r})
del _dump
"""

# Run in B's kernel: a WebSocket request straight to A's port; what came back.
DIRECT_CODE = """
def _try(port, path):
    import socket
    request = (b"GET / HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nUpgrade: websocket\\r\\n"
               b"Connection: Upgrade\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n"
               b"Sec-WebSocket-Version: 13\\r\\n\\r\\n")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        answer = sock.recv(200)
    open(path, "w").write(answer.decode("latin-1"))
_try({port}, {path!r})
del _try
"""

# In B's page: a WebSocket to A's port through B's own Jupyter server's proxy.
CROSS_JS = """(url) => new Promise((resolve) => {
    const events = [];
    const ws = new WebSocket(url);
    ws.onopen = () => { events.push("open"); ws.send("hello, whoever you are"); };
    ws.onmessage = (e) => events.push("message: " + e.data);
    ws.onclose = (e) => { events.push("close " + e.code); resolve(events); };
    setTimeout(() => resolve(events.concat(["no close within 10 s"])), 10000);
})"""


def _open_notebook(page: Any, hub_url: str, name: str) -> None:
    """Log in as ``name`` (any password), start their server, open notebook 05 in JupyterLab."""
    page.goto(f"{hub_url}/hub/login", wait_until="domcontentloaded", timeout=WAIT_MS)
    page.fill("#username_input", name)
    page.fill("#password_input", "any password: the dummy authenticator")
    page.click("#login_submit")
    page.wait_for_load_state("domcontentloaded", timeout=WAIT_MS)
    page.goto(f"{hub_url}/hub/spawn/{name}", wait_until="domcontentloaded", timeout=WAIT_MS)
    page.wait_for_url(f"**/user/{name}/lab**", timeout=90_000)
    page.goto(f"{hub_url}/user/{name}/lab/tree/{NOTEBOOK}", wait_until="domcontentloaded",
              timeout=WAIT_MS)  # fmt: skip
    wait_for_notebook(page, NOTEBOOK, timeout_ms=90_000)


def _errors(cells: List[Dict[str, Any]]) -> List[str]:
    found = []
    for cell in cells:
        for output in cell.get("outputs") or []:
            if output.get("output_type") == "error":
                found.append(f"cell {cell['index']}: {output.get('ename')}: {output.get('evalue')}")
    return found


def _wait_for_file(path: Path, limit: float = 20.0) -> str:
    deadline = time.monotonic() + limit
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} was not written within {limit} s"
        time.sleep(0.1)
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def hub_user_env() -> Any:
    """The shared user environment's builder (its build starts when the tests are collected)."""
    return built_user_env


@pytest.fixture(scope="module")
def class_on_a_hub(
    chromium_path: str, tmp_path_factory: pytest.TempPathFactory, hub_user_env: Any
) -> Iterator[Dict]:
    """Everything the tests look at, from one run of the whole scene."""
    why_not = can_run_a_hub()
    if why_not:
        if os.environ.get("CI"):
            pytest.fail(f"the hub test must run in CI: {why_not}")
        pytest.skip(why_not)
    try:
        env = hub_user_env()
    except BuildFailed as error:
        pytest.fail(f"the hub's user environment could not be built:\n{error}", pytrace=False)
    tmp = tmp_path_factory.mktemp("hub")
    notebook = tmp / NOTEBOOK
    stripped_copy(ROOT / "notebooks" / NOTEBOOK, notebook)
    scene: Dict[str, Any] = {"learners": {}}
    with learners([notebook]) as users:
        with running_hub(env, tmp, PROXY_HOST) as hub:
            _play(scene, users, hub, chromium_path)
        # the hub has stopped: nothing of the class may still run
        scene["left"] = {name: processes_of(name) for name in LEARNERS}
        scene["left"]["proxy"] = processes_matching(proxy_command())
    yield scene


def _play(scene: Dict[str, Any], users: Dict[str, Any], hub: Any, chromium_path: str) -> None:
    """Both learners run notebook 05 at once; then B reaches for A's server."""
    ada, bob = (users[name] for name in LEARNERS)
    scene["uids"] = {name: users[name].uid for name in LEARNERS}
    with launch_chromium(chromium_path) as browser:
        pages = {}
        for name in LEARNERS:
            context = browser.new_context(viewport={"width": 1280, "height": 1000})
            pages[name] = context.new_page()
            _open_notebook(pages[name], hub.url, name)
        for page in pages.values():  # both at once
            run_all(page)
        for name, page in pages.items():
            finished = wait_until_executed(page, RUN_LIMIT * 1000)
            record = users[name].home / "record.json"
            kernel_execute(page, RECORD_CODE.format(path=str(record)))
            scene["learners"][name] = {
                "finished": finished,
                "errors": _errors(notebook_cells(page)),
                "record": json.loads(_wait_for_file(record)),
            }
        # Notebook 05 ends by stopping its server: A starts it again, as by re-running its
        # cell. Then learner B reaches for it: through B's proxy, then from B's kernel.
        again = ada.home / "record-again.json"
        restart = "server = wslearn.serve(port=8765)\n" + RECORD_CODE.format(path=str(again))
        kernel_execute(pages[ada.name], restart)
        ada_port = json.loads(_wait_for_file(again))["port"]
        cross_url = f"ws://{PROXY_HOST}:{hub.port}/user/{bob.name}/proxy/{ada_port}/"
        scene["cross_page"] = pages[bob.name].evaluate(CROSS_JS, cross_url)
        answer = bob.home / "direct.txt"
        kernel_execute(pages[bob.name], DIRECT_CODE.format(port=ada_port, path=str(answer)))
        scene["cross_kernel"] = _wait_for_file(answer)
        after = ada.home / "record-after.json"
        kernel_execute(pages[ada.name], RECORD_CODE.format(path=str(after)))
        scene["ada_after"] = json.loads(_wait_for_file(after))
        scene["hub_log"] = hub.log_tail(20_000)


def test_both_learners_run_notebook_05_at_once_through_their_own_proxy(class_on_a_hub) -> None:
    for name, seen in class_on_a_hub["learners"].items():
        assert seen["finished"] and not seen["errors"], (name, seen["errors"])
        browsers = [
            c for c in seen["record"]["connections"]
            if c["status"] == 101 and "Chrome" in c["user_agent"] and c["via_proxy"]
        ]  # fmt: skip
        assert browsers and any(c["masked_texts"] for c in browsers), (name, seen["record"])
        # nothing from the other learner while both ran: no refusal, no stranger
        assert all(c["status"] != 403 for c in seen["record"]["connections"]), seen["record"]


def test_the_same_port_asked_for_gives_each_learner_a_port_of_their_own(class_on_a_hub) -> None:
    records = [seen["record"] for seen in class_on_a_hub["learners"].values()]
    assert [r["requested_port"] for r in records] == [8765, 8765]
    assert records[0]["port"] != records[1]["port"], records


def test_the_other_learner_is_refused_from_the_page_and_from_the_kernel(class_on_a_hub) -> None:
    ada, bob = LEARNERS
    page = class_on_a_hub["cross_page"]
    assert not [event for event in page if event.startswith("message")], page
    assert any(event.startswith("close") for event in page), page
    assert class_on_a_hub["cross_kernel"].startswith("HTTP/1.1 403"), class_on_a_hub["cross_kernel"]
    new = class_on_a_hub["ada_after"]["connections"]  # of A's server, started again
    bob_uid = class_on_a_hub["uids"][bob]
    assert [c["status"] for c in new] == [403, 403], new  # B's page's try, then B's kernel's
    assert all(f"uid {bob_uid}" in c["error"] for c in new), new


def test_every_process_of_the_class_is_gone(class_on_a_hub) -> None:
    assert class_on_a_hub["left"] == {name: [] for name in (*LEARNERS, "proxy")}
