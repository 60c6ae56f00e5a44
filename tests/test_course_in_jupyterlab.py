"""Every course notebook runs in a real JupyterLab, through its own Run All, where learners run it.

Two scenarios (see ``tests/helpers/labtools.py``), each in the environment a learner has there
(``tests/helpers/learner_envs.py``), never the developers':

* **direct** — a laptop: JupyterLab and its kernels from the environment README's first command
  builds, the page on 127.0.0.1, the widget straight to the kernel's server;
* **proxy** — Binder: JupyterLab and its kernels from the environment built as Binder builds it
  (``binder/requirements.txt``, then ``binder/postBuild``), a non-root base URL, the page on
  another host name, the widget through jupyter-server-proxy at ``<base url>proxy/<port>/``.

For each scenario one JupyterLab server runs for the whole module,
with the course's ``notebooks/`` copied into its root (same names, so relative links work) and
their stored outputs and execution counts removed: whatever the test then sees, this run made.
For each notebook ``notebooks/[0-9][0-9]_*.ipynb`` (found at collection time) headless Chromium
opens it in a fresh workspace, runs ``notebook:run-all-cells`` and checks that

* every code cell ran (an execution count, no ``[*]`` left) within :data:`RUN_LIMIT` seconds;
* no cell has an error output or a traceback on stderr, and the page raised no uncaught error;
* notebook 12 made its server of the 15 pieces of notebooks 01-07 beside it (copied too);
* if the notebook displays a ``wslearn.BrowserClient``, the page's messages reached the kernel's
  server: it recorded a Chromium handshake (101) and masked text frames from it, directly in the
  direct scenario and through jupyter-server-proxy in the proxy scenario. The server is the
  notebook's global ``server`` (a ``wslearn.Server``, or notebook 12's server made of the
  learner's pieces; its recorder keeps its data after ``server.stop()``), or another global
  server of either kind on the widget's port.

Each notebook's kernel is shut down after its test, so at most one runs at a time.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List

import pytest
from helpers.labtools import (
    ROOT,
    SCENARIOS,
    Lab,
    Scenario,
    kernel_execute,
    launch_chromium,
    notebook_cells,
    open_notebook,
    run_all,
    start_lab,
    stripped_copy,
    wait_until_executed,
)
from helpers.learner_envs import LearnerEnv

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.browser, pytest.mark.notebook, pytest.mark.timeout(300)]

NOTEBOOKS = sorted(path.name for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
RUN_LIMIT = 90.0  # seconds for Run All of one notebook
STDERR = "application/vnd.jupyter.stderr"
MAX_SHOWN = 3000  # characters of one output shown in a failure message

# Run in the notebook's kernel after Run All. ``{path!r}`` is the JSON file to write.
RECORDER_CODE = """
def _wslearn_recorder_dump(path):
    import json
    import ipywidgets.widgets.widget as widget_module
    import wslearn
    from wslearn.capstone import LearnerServer
    from wslearn.widget import BrowserClient

    clients = [w for w in list(widget_module._instances.values())
               if isinstance(w, BrowserClient)]
    ports = {{c.port for c in clients}}
    kinds = (wslearn.Server, LearnerServer)
    servers = {{name: value for name, value in globals().items()
                if isinstance(value, kinds) and not name.startswith('_')}}
    if isinstance(servers.get('server'), kinds):
        chosen = {{'server': servers['server']}}
    else:
        chosen = {{name: s for name, s in servers.items() if s.port in ports}}
    result = {{'browser_clients': [{{'port': c.port, 'route': c.route, 'state': c.state,
                                     'resolved_url': c.resolved_url}} for c in clients],
               'servers': {{}}}}
    for name, s in chosen.items():
        result['servers'][name] = {{
            'port': s.port,
            'running': s.running,
            'connections': [
                {{'id': c.id, 'status': c.status, 'user_agent': c.user_agent,
                  'via_proxy': c.via_proxy, 'proxy_evidence': c.proxy_evidence,
                  'target': c.target, 'error': c.error}}
                for c in s.recorder.connections()],
            'frames': [
                {{'connection': f.connection, 'opcode': f.opcode, 'fin': f.fin,
                  'masked': f.masked, 'length': f.length}}
                for f in s.recorder.frames(direction='in')],
        }}
    with open(path + '.part', 'w') as f:
        json.dump(result, f, indent=1)
    import os
    os.replace(path + '.part', path)

_wslearn_recorder_dump({path!r})
del _wslearn_recorder_dump
"""


@dataclasses.dataclass
class CourseLab:
    scenario: Scenario
    lab: Lab
    source: Path  # the notebooks/ folder of the learner's copy of the repository
    #: Notebooks whose in-page widget reached the kernel's server (checked by _browser_check).
    reached: List[str] = dataclasses.field(default_factory=list)
    ran: List[str] = dataclasses.field(default_factory=list)

    def prepare(self, name: str) -> str:
        """Copy ``notebooks/<name>`` (stripped) into the lab's root; its path there.

        Notebook 12 builds its server from the exercises of notebooks 01-07 beside it: those
        are copied too (stripped), as they are in a learner's folder."""
        destination = self.lab.root / "notebooks" / name
        stripped_copy(self.source / name, destination)
        if name.startswith(CAPSTONE):
            for number in PIECE_NOTEBOOKS:
                for other in self.source.glob(f"{number}_*.ipynb"):
                    stripped_copy(other, destination.parent / other.name)
        return f"notebooks/{name}"


#: The capstone, and the notebooks its pieces come from.
CAPSTONE = "12_"
PIECE_NOTEBOOKS = ("01", "02", "03", "04", "05", "06", "07")

# Run in notebook 12's kernel after Run All: whose pieces its server was made of.
PIECES_CODE = """
with open({path!r}, 'w') as f:
    f.write(','.join(pieces.yours))
"""

#: Which learner's environment runs JupyterLab in each scenario.
ENVIRONMENT = {"direct": "readme", "proxy": "binder"}


@pytest.fixture(scope="module", params=list(SCENARIOS))
def course_lab(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    learner_envs: Dict[str, LearnerEnv],
) -> Iterator[CourseLab]:
    """One JupyterLab per scenario, with the course's notebooks/ folder in its root."""
    scenario = SCENARIOS[request.param]
    home = tmp_path_factory.mktemp(f"course-{scenario.name}")
    env = learner_envs[ENVIRONMENT[scenario.name]]
    source = env.course / "notebooks"
    with start_lab(home, scenario.base_url, env=env) as lab:
        # Everything next to the notebooks (pictures, links), without the notebooks themselves:
        # each test copies its own, freshly stripped.
        shutil.copytree(source, lab.root / "notebooks", ignore=shutil.ignore_patterns("*.ipynb"))
        course = CourseLab(scenario, lab, source)
        yield course
    if sorted(course.ran) == NOTEBOOKS and not course.reached:
        pytest.fail(
            f"{scenario.name} scenario: no notebook's in-page browser client reached the "
            f"kernel's server (via_proxy={scenario.via_proxy}); the course must show a real "
            "browser's frames",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def chromium(chromium_path: str) -> Iterator[Browser]:
    with launch_chromium(chromium_path) as browser:
        yield browser


def _clip(text: str) -> str:
    text = text.rstrip()
    if len(text) > MAX_SHOWN:
        return text[: MAX_SHOWN // 2] + "\n[...]\n" + text[-MAX_SHOWN // 2 :]
    return text


def _cell_report(cell: Dict[str, Any], what: str, detail: str = "") -> str:
    count = cell.get("execution_count")
    prompt = f"[{count}]" if count is not None else ("[*]" if cell.get("pending") else "[ ]")
    lines = [
        f"cell {cell['index']} {prompt}: {what}",
        textwrap.indent(_clip(cell["source"]), "    | "),
    ]
    if detail:
        lines += ["  output:", textwrap.indent(_clip(detail), "    > ")]
    return "\n".join(lines)


def _error_reports(cells: List[Dict[str, Any]]) -> List[str]:
    """Error outputs and tracebacks on stderr, per cell: in the model, else as rendered."""
    reports = []
    for cell in cells:
        if cell["type"] != "code":
            continue
        found = []
        for output in cell["outputs"]:
            if output.get("output_type") == "error":
                title = f"error {output.get('ename')}: {output.get('evalue')}"
                found.append(_cell_report(cell, title, _strip_ansi(
                    "\n".join(output.get("traceback") or [])) or title))  # fmt: skip
            elif output.get("output_type") == "stream" and output.get("name") == "stderr":
                text = output.get("text", "")
                text = "".join(text) if isinstance(text, list) else text
                if "Traceback" in text:
                    found.append(_cell_report(cell, "traceback on stderr", text))
        if not found:
            # What the page rendered: error outputs and stderr both carry the stderr mime type.
            found += [
                _cell_report(cell, "traceback rendered as stderr", text)
                for mime, text in cell["dom_outputs"]
                if mime == STDERR and "Traceback" in text
            ]
        reports += found
    return reports


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)


def _browser_check(record: Dict[str, Any], scenario: Scenario) -> List[str]:
    """What is missing for 'the page's messages reached the kernel's server' (empty: nothing)."""
    if not record["servers"]:
        return [
            "the notebook displays a BrowserClient but has no global wslearn.Server "
            f"(`server`, or one on the widget's port); widgets: {record['browser_clients']}"
        ]
    for server in record["servers"].values():
        for connection in server["connections"]:
            if connection["status"] != 101 or "Chrome" not in connection["user_agent"]:
                continue
            texts = [
                f
                for f in server["frames"]
                if f["connection"] == connection["id"] and f["opcode"] == 1 and f["masked"]
            ]
            if texts and connection["via_proxy"] is scenario.via_proxy:
                return []
    return [
        f"no Chromium connection (status 101, User-Agent with 'Chrome', "
        f"via_proxy={scenario.via_proxy}) with a masked inbound text frame was recorded by "
        + ", ".join(f"`{name}` (port {s['port']})" for name, s in record["servers"].items())
        + "".join(
            f"\n  `{name}` connections: {json.dumps(s['connections'], indent=1)}"
            f"\n  `{name}` inbound frames: {s['frames'][:20]}"
            for name, s in record["servers"].items()
        )
        + f"\n  widgets: {record['browser_clients']}"
    ]


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks/[0-9][0-9]_*.ipynb yet")
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab(
    chromium: Browser, course_lab: CourseLab, notebook: str
) -> None:
    scenario, lab = course_lab.scenario, course_lab.lab
    path = course_lab.prepare(notebook)
    context = chromium.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page_errors: List[str] = []
    console_errors: List[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
    where = f"{notebook} ({scenario.name} scenario)"
    try:
        workspace = f"course-{scenario.name}-{Path(notebook).stem}"
        open_notebook(page, lab, path, host=scenario.page_host, workspace=workspace)
        run_all(page)
        started = time.monotonic()
        finished = wait_until_executed(page, RUN_LIMIT * 1000)
        elapsed = time.monotonic() - started
        cells = notebook_cells(page)
        code_cells = [c for c in cells if c["type"] == "code"]

        problems = _error_reports(cells)
        not_run = [c for c in code_cells if c["execution_count"] is None or c["pending"]]
        if not_run:
            first = not_run[0]
            state = "finished" if finished else f"still running after {RUN_LIMIT:.0f} s"
            problems.append(
                f"{len(not_run)} of {len(code_cells)} code cells did not run (Run All {state}); "
                "the first:\n" + _cell_report(first, "not run",
                                              "\n".join(t for _, t in first["dom_outputs"]))
            )  # fmt: skip
        if page_errors:
            problems.append("uncaught errors in the page:\n  " + "\n  ".join(page_errors))

        record: Dict[str, Any] = {}
        if finished:
            # The kernel is idle: ask it what its server recorded.
            out = lab.root / f"recorder-{Path(notebook).stem}.json"
            kernel_execute(page, RECORDER_CODE.format(path=str(out)))
            record = json.loads(out.read_text())
            if notebook.startswith(CAPSTONE):  # the full notebooks: every piece is the teacher's
                yours = lab.root / "pieces-yours.txt"
                kernel_execute(page, PIECES_CODE.format(path=str(yours)))
                names = [n for n in yours.read_text().split(",") if n]
                if len(names) != 15:
                    problems.append(f"the server was made of {len(names)} pieces of notebooks "
                                    f"01-07, not 15: {names}")  # fmt: skip
            shows_widget = page.locator(".wslearn-bc").count() > 0
            if record["browser_clients"] or shows_widget:
                missing = _browser_check(record, scenario)
                problems += missing
                if not missing:
                    course_lab.reached.append(notebook)
        course_lab.ran.append(notebook)

        assert not problems, (
            f"{where}: Run All took {elapsed:.1f} s\n\n"
            + "\n\n".join(problems)
            + (f"\n\nconsole errors: {console_errors[:10]}" if console_errors else "")
        )
    finally:
        context.close()
        lab.shutdown_kernels()
