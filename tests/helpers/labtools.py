"""A real JupyterLab (subprocess) and headless Chromium, for tests that run notebooks in a browser.

Two scenarios, as a learner meets them:

* **direct** — base URL ``/``, the page at ``http://127.0.0.1:<port>/``;
* **proxy** — base URL ``/user/learner/`` (as on JupyterHub and Binder), the page at
  ``http://jupyter.test:<port>/user/learner/...``: Chromium maps that name to 127.0.0.1
  (``--host-resolver-rules``), so the page is not on a loopback name and the in-notebook widget
  goes through jupyter-server-proxy at ``<base url>proxy/<port>/``.

Everything stays on 127.0.0.1, every wait is bounded, and :func:`start_lab` stops the server (and
its kernels) when its ``with`` block ends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence

import pytest
from conftest import CHROMIUM_ARGS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from helpers.learner_envs import LearnerEnv

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "wslearn-test-token"
PROXY_HOST = "jupyter.test"  # Chromium resolves it to 127.0.0.1 (--host-resolver-rules)
START_LIMIT = 60.0  # seconds for JupyterLab to answer /api/status
WAIT_MS = 45_000  # every wait in the browser is bounded by this
KERNEL_LIMIT = 20.0  # seconds for one kernel_execute()

#: The notebook open in the main area, in the page (``--LabApp.expose_app_in_browser=True``).
NOTEBOOK_JS = "window.jupyterapp.shell.currentWidget"


@dataclasses.dataclass(frozen=True)
class Scenario:
    name: str
    base_url: str
    page_host: str
    via_proxy: bool


SCENARIOS = {
    "direct": Scenario("direct", "/", "127.0.0.1", via_proxy=False),
    "proxy": Scenario("proxy", "/user/learner/", PROXY_HOST, via_proxy=True),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass
class Lab:
    """A running JupyterLab: its port, base URL, root directory and log."""

    base_url: str
    port: int
    root: Path
    log_path: Path
    token: str = TOKEN

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{self.base_url}{path}"

    def log_tail(self, size: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-size:]
        except OSError:
            return "(no log)"

    def api(self, method: str, path: str) -> Any:
        request = urllib.request.Request(
            self.url(path), method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut every kernel down through the REST API (errors ignored: best effort)."""
        with contextlib.suppress(Exception):
            for kernel in self.api("GET", "api/kernels"):
                with contextlib.suppress(Exception):
                    self.api("DELETE", f"api/kernels/{kernel['id']}")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextlib.contextmanager
def start_lab(
    home: Path,
    base_url: str = "/",
    *,
    root: Optional[Path] = None,
    token: str = TOKEN,
    start_limit: float = START_LIMIT,
    extra_args: Sequence[str] = (),
    env: Optional["LearnerEnv"] = None,
) -> Iterator[Lab]:
    """Run JupyterLab on 127.0.0.1 with ``base_url`` until the ``with`` block ends.

    ``home`` holds its isolated config, runtime and IPython directories and its log; the server's
    root directory is ``root`` (default ``home/root``, created). With ``env`` (a learner's
    environment, ``tests/helpers/learner_envs.py``) JupyterLab and its kernels are that
    environment's, with nothing of the developers' environment; without it, they are this
    interpreter's and import this checkout's ``wslearn`` (``PYTHONPATH``). On exit the kernels
    are shut down through the API, then the server is terminated (killed if it does not exit in
    15 s).
    """
    home = Path(home)
    root = Path(root) if root is not None else home / "root"
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    python = str(env.python) if env is not None else sys.executable
    learner_env, env = env, (env.environ() if env is not None else dict(os.environ))
    # Isolate settings, workspaces and runtime files; the data dir stays the environment's own,
    # since the anywidget and ipywidgets front-end extensions live in <prefix>/share/jupyter.
    for name, sub in (
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
    ):
        (home / sub).mkdir(exist_ok=True)
        env[name] = str(home / sub)
    if learner_env is None:
        # The kernel imports this checkout's wslearn even if the package is not installed.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    command = [
        python, "-m", "jupyter", "lab",
        "--no-browser",
        "--ip", "127.0.0.1",
        "--port", str(port),
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--ServerApp.root_dir", str(root),
        "--LabApp.expose_app_in_browser=True",
        "--ServerApp.allow_remote_access=True",
        "--ServerApp.disable_check_xsrf=False",
        f"--ServerApp.base_url={base_url}",
        *extra_args,
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI machines often run as root
    log_path = home / "jupyter.log"
    lab = Lab(base_url, port, root, log_path, token)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        status_url = lab.url(f"api/status?token={token}")
        deadline = time.monotonic() + start_limit
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{lab.log_tail()}")
            try:
                with urllib.request.urlopen(status_url, timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer in {start_limit} s:\n{lab.log_tail()}")
            time.sleep(0.2)
        yield lab
    finally:
        # Shut the kernels down through the API first, so none outlives the server.
        if proc.poll() is None:
            lab.shutdown_kernels()
        _stop(proc)


@contextlib.contextmanager
def launch_chromium(chromium_path: str) -> Iterator[Browser]:
    """Headless Chromium that resolves ``jupyter.test`` to 127.0.0.1 (and nothing else changed).

    Playwright's sync API is started and stopped with it: while it runs, this thread has an
    asyncio loop marked as running, so keep it to the tests of one module.
    """
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=chromium_path,
            headless=True,
            args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {PROXY_HOST} 127.0.0.1"],
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


def notebook_url(lab: Lab, path: str, host: str = "127.0.0.1", workspace: str = "") -> str:
    """The page that opens ``path`` (relative to the lab's root), logged in with the token.

    A ``workspace`` name gives the page a fresh JupyterLab workspace, so notebooks opened by
    earlier pages of the same server are not restored (and do not start kernels) in this one.
    """
    prefix = f"lab/workspaces/{workspace}/tree/" if workspace else "lab/tree/"
    return lab.url(f"{prefix}{path}?token={lab.token}", host=host)


def stripped_copy(source: Path, destination: Path) -> None:
    """Copy a notebook without its outputs and execution counts (and its stored widget state):
    whatever a test then sees in it, the test's own run made."""
    import nbformat

    notebook = nbformat.read(str(source), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, str(destination))


def open_notebook(
    page: Page, lab: Lab, path: str, host: str = "127.0.0.1", workspace: str = ""
) -> None:
    """Open ``path`` in JupyterLab and wait until it is the current widget with an idle kernel."""
    page.goto(notebook_url(lab, path, host, workspace), wait_until="domcontentloaded",
              timeout=WAIT_MS)  # fmt: skip
    wait_for_notebook(page, path)


def wait_for_notebook(page: Page, path: str, timeout_ms: float = WAIT_MS) -> None:
    """Wait until the page's current widget is the notebook ``path`` (any, if empty) with a
    connected, idle kernel."""
    page.wait_for_function(
        f"""(path) => {{
            const w = window.jupyterapp && {NOTEBOOK_JS};
            const kernel = w && w.sessionContext && w.sessionContext.session
                && w.sessionContext.session.kernel;
            return !!(w && w.content && w.content.widgets && kernel
                && (!path || (w.context && w.context.path === path))
                && kernel.connectionStatus === 'connected' && kernel.status === 'idle');
        }}""",
        arg=path,
        timeout=timeout_ms,
    )


def run_all(page: Page) -> None:
    """Start running every cell through JupyterLab's own command, as the Run All menu item does.

    Returns at once (the command's promise is not awaited, since it settles only when the last
    cell is done): wait with :func:`wait_until_executed`, which is bounded.
    """
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


#: True once the kernel is idle and no code cell is queued or running; with ``all`` also
#: every code cell has an execution count.
_SETTLED_JS = f"""(all) => {{
    const w = {NOTEBOOK_JS};
    const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
    const cells = w.content.widgets.filter((c) => c.model.type === 'code');
    const pending = (c) => c.model.executionState === 'running'
        || /\\[\\*\\]/.test((c.node.querySelector('.jp-InputPrompt') || {{}}).textContent || '');
    const settled = kernel && kernel.status === 'idle' && !cells.some(pending);
    if (!settled) return false;
    if (cells.every((c) => c.model.executionCount !== null)) return true;
    // Run All stops at an error: the cells after it are never run.
    return !all && cells.some((c) => c.model.outputs.toJSON().some(
        (o) => o.output_type === 'error'));
}}"""


def wait_until_executed(page: Page, timeout_ms: float, *, allow_stop_on_error: bool = True) -> bool:
    """Wait (bounded) until Run All is over; False if it was not within ``timeout_ms``.

    Over means: the kernel is idle, no cell shows ``[*]``, and every code cell has an execution
    count — or (``allow_stop_on_error``) a cell has an error output, where Run All stops.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(_SETTLED_JS, arg=not allow_stop_on_error, timeout=timeout_ms)
    except PlaywrightTimeout:
        return False
    return True


def notebook_cells(page: Page) -> List[Dict[str, Any]]:
    """Every cell of the current notebook as the page holds it.

    Each item: ``index`` (0-based, among all cells), ``type``, ``source``, and for code cells
    ``execution_count``, ``pending`` (``[*]`` shown or running), ``outputs`` (nbformat JSON from
    the model) and ``dom_outputs`` (``[mime type, text]`` of each rendered output).
    """
    return page.evaluate(
        f"""() => {{
            const w = {NOTEBOOK_JS};
            return w.content.widgets.map((c, index) => {{
                const source = c.model.sharedModel.getSource();
                const item = {{ index, type: c.model.type, source }};
                if (c.model.type !== 'code') return item;
                const prompt = c.node.querySelector('.jp-InputPrompt');
                item.execution_count = c.model.executionCount;
                item.pending = c.model.executionState === 'running'
                    || /\\[\\*\\]/.test(prompt ? prompt.textContent : '');
                item.outputs = c.model.outputs.toJSON();
                item.dom_outputs = [...c.node.querySelectorAll('.jp-OutputArea-output')].map(
                    (o) => [o.getAttribute('data-mime-type') || '', o.innerText]);
                return item;
            }});
        }}"""
    )


def kernel_execute(page: Page, code: str, limit: float = KERNEL_LIMIT) -> None:
    """Run ``code`` in the notebook's kernel (bounded); fail with the kernel's error if it fails."""
    reply = page.evaluate(
        f"""async ([code, limit]) => {{
            const kernel = {NOTEBOOK_JS}.sessionContext.session.kernel;
            const done = kernel.requestExecute({{ code, store_history: false }}).done;
            const timer = new Promise((resolve) => setTimeout(() => resolve(null), limit));
            const reply = await Promise.race([done, timer]);
            return reply ? reply.content : {{ status: 'timeout' }};
        }}""",
        [code, int(limit * 1000)],
    )
    assert reply["status"] == "ok", f"{code!r} in the kernel: {reply}"


def wait_for_file(path: Path, lab: Lab, page: Page, limit: float) -> str:
    """Wait (bounded) until ``path`` exists; return its text. Fails with the page's outputs."""
    deadline = time.monotonic() + limit
    while not path.exists():
        if time.monotonic() > deadline:
            outputs = page.locator(".jp-OutputArea-output").all_inner_texts()
            pytest.fail(
                f"{path.name} not written within {limit} s.\nOutputs: {outputs}\n"
                f"JupyterLab log:\n{lab.log_tail()}"
            )
        page.wait_for_timeout(250)  # lets Playwright deliver the page's events meanwhile
    return path.read_text()
