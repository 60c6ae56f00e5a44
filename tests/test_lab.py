"""Where a learner lands: ``python -m wslearn lab`` and the Binder badge open their own copy.

* README's command, in the environment it builds: the URL JupyterLab prints opens
  ``my-work/00_index.ipynb``; the notebooks there hold no solution text; the "Stuck?" link of an
  exercise opens its worked solution; a learner's edit survives running the command again;
  SIGTERM stops JupyterLab and its kernels, leaving no process and the port free.
* The Binder badge's target, in the environment built as Binder builds it: the same copy, with
  the same guarantees.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, List, Optional

import pytest
from helpers.labtools import NOTEBOOK_JS, PROXY_HOST, WAIT_MS, free_port, launch_chromium, start_lab
from helpers.learner_envs import ROOT, LearnerEnv
from helpers.leftovers import marked_processes
from helpers.spoilers import BLOCK, read, spoilers_in_folder

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

TOKEN = "wslearn-lab-token"
WORK = "my-work"
STOP_LIMIT = 30.0  # seconds for JupyterLab to exit after SIGTERM
PRINTED_URL = re.compile(r"(http://127\.0\.0\.1:\d+/\S*)")


@pytest.fixture(scope="module")
def chromium(chromium_path: str) -> Iterator[Browser]:
    with launch_chromium(chromium_path) as browser:
        yield browser


def badge_urlpath() -> str:
    """The ``urlpath`` of README's Binder badge: what Binder opens in JupyterLab."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"\(https://mybinder\.org/v2/gh/[^)\s]*\)", readme)
    assert match, "README has no Binder badge"
    query = urllib.parse.parse_qs(urllib.parse.urlparse(match.group(0)[1:-1]).query)
    return query["urlpath"][0]


class LabCommand:
    """``python -m wslearn lab`` run as a learner runs it, in its own marked process tree."""

    def __init__(self, env: LearnerEnv, course: Path, home: Path) -> None:
        self.port = free_port()
        self.mark = uuid.uuid4().hex
        self.log = home / f"lab-{self.mark[:8]}.log"
        environ = env.environ(
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            IPYTHONDIR=str(home / "ipython"),
            WSLEARN_LAB_TEST=self.mark,
        )
        command = [
            str(env.python), "-m", "wslearn", "lab",
            "--no-browser", "--ip", "127.0.0.1", "--port", str(self.port),
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
            "--LabApp.expose_app_in_browser=True",
        ]  # fmt: skip
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                command, cwd=course, env=environ, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def printed_url(self, limit: float = 60.0) -> str:
        """The first URL JupyterLab prints for this machine, with the token filled in."""
        deadline = time.monotonic() + limit
        while True:
            match = PRINTED_URL.search(self.text())
            if match:
                return match.group(1).replace("token=...", f"token={TOKEN}")
            assert self.process.poll() is None, f"the command exited:\n{self.text()[-3000:]}"
            assert time.monotonic() < deadline, f"no URL printed in {limit} s:\n{self.text()}"
            time.sleep(0.2)

    def api(self, path: str, method: str = "GET", body: Optional[dict] = None) -> dict:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def stop_with_sigterm(self) -> None:
        """SIGTERM, as a service manager or a test's terminate() sends it; then nothing is left."""
        command_line = Path(f"/proc/{self.process.pid}/cmdline").read_bytes()
        assert b"jupyter" in command_line, (
            "JupyterLab should have taken the command's place (same process), "
            f"found {command_line!r}"
        )
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_LIMIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"still running {STOP_LIMIT} s after SIGTERM:\n{self.text()[-3000:]}")
        deadline = time.monotonic() + 15
        left = marked_processes(self.mark, "WSLEARN_LAB_TEST")
        while left and time.monotonic() < deadline:
            time.sleep(0.3)
            left = marked_processes(self.mark, "WSLEARN_LAB_TEST")
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert not left, f"left behind after SIGTERM: {left}"
        with pytest.raises(ConnectionRefusedError):  # nothing listens on the port any more
            socket.create_connection(("127.0.0.1", self.port), timeout=5).close()
        with socket.socket() as sock:
            # A new server can take the port (connections it closed may linger in TIME_WAIT,
            # which servers, JupyterLab included, bind past with SO_REUSEADDR).
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", self.port))
            sock.listen()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        for pid in marked_processes(self.mark, "WSLEARN_LAB_TEST"):
            os.kill(pid, signal.SIGKILL)


def wait_for_document(page: Page, path: str) -> List[str]:
    """Wait (bounded) until JupyterLab shows notebook ``path``; the sources of its cells."""
    page.wait_for_function(
        f"""(path) => {{
            const w = window.jupyterapp && {NOTEBOOK_JS};
            return !!(w && w.context && w.context.path === path && w.context.isReady
                      && w.content && w.content.widgets && w.content.widgets.length > 0);
        }}""",
        arg=path,
        timeout=WAIT_MS,
    )
    return page.evaluate(
        f"() => {NOTEBOOK_JS}.content.widgets.map((c) => c.model.sharedModel.getSource())"
    )


def assert_a_spoiler_free_copy(work: Path, sources: Path) -> None:
    names = sorted(p.name for p in sources.glob("*.ipynb"))
    assert sorted(p.name for p in work.glob("*.ipynb")) == names
    problems = spoilers_in_folder(work, sources)
    assert not problems, "solution text in the learner's copy:\n" + "\n".join(problems)
    for name in names:
        text = (work / name).read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, name


def test_the_run_command_opens_the_learners_copy_and_sigterm_stops_it(
    readme_env: LearnerEnv, chromium: Browser, tmp_path: Path
) -> None:
    course = tmp_path / "course"  # the repository as a learner has it (here: its notebooks)
    shutil.copytree(ROOT / "notebooks", course / "notebooks")
    lab = LabCommand(readme_env, course, tmp_path)
    try:
        url = lab.printed_url()
        assert urllib.parse.urlparse(url).path == f"/lab/tree/{WORK}/00_index.ipynb", url
        assert_a_spoiler_free_copy(course / WORK, course / "notebooks")

        context = chromium.new_context(viewport={"width": 1280, "height": 1000})
        try:
            page = context.new_page()
            page.goto(url, wait_until="domcontentloaded", timeout=WAIT_MS)
            cells = wait_for_document(page, f"{WORK}/00_index.ipynb")
            index = "\n".join(cells)
            assert "my-work/" in index and "notebooks/" in index, (
                "the index says which copy is which"
            )

            # The documented step to a worked solution: the "Stuck?" link after a check.
            page.goto(
                url.replace("00_index.ipynb", "02_accept_key.ipynb"),
                wait_until="domcontentloaded", timeout=WAIT_MS,
            )  # fmt: skip
            cells = wait_for_document(page, f"{WORK}/02_accept_key.ipynb")
            assert not any("BEGIN SOLUTION" in c for c in cells)
            link = page.locator(".jp-RenderedMarkdown a", has_text="worked solution").first
            link.scroll_into_view_if_needed(timeout=WAIT_MS)
            anchor = (link.get_attribute("href") or "").partition("#")[2]
            link.click(timeout=WAIT_MS)
            cells = wait_for_document(page, "notebooks/02_accept_key.ipynb")
            assert any("### BEGIN SOLUTION" in c for c in cells), "the link shows no solution"
            # ... and it lands on the exercise's heading, in view (not at the notebook's top).
            assert anchor.startswith("Exercise-1"), anchor
            page.wait_for_function(
                """(id) => {
                    const h = [...document.querySelectorAll('[data-jupyter-id]')]
                        .find((e) => e.getAttribute('data-jupyter-id') === id);
                    if (!h) return false;
                    const box = h.getBoundingClientRect();
                    return box.top >= 0 && box.top < window.innerHeight;
                }""",
                arg=anchor,
                timeout=WAIT_MS,
            )
        finally:
            context.close()

        # The learner works and saves (as JupyterLab saves: through the contents API).
        path = f"api/contents/{WORK}/02_accept_key.ipynb"
        model = lab.api(path)
        model["content"]["cells"][0]["source"] = "# my notes: remember the GUID\n"
        lab.api(path, "PUT", {"type": "notebook", "format": "json", "content": model["content"]})
        saved = (course / WORK / "02_accept_key.ipynb").read_text(encoding="utf-8")
        assert "remember the GUID" in saved
        lab.stop_with_sigterm()
    finally:
        lab.kill()

    again = LabCommand(readme_env, course, tmp_path)
    try:
        again.printed_url()
        assert (course / WORK / "02_accept_key.ipynb").read_text(encoding="utf-8") == saved
        count = len(list((course / "notebooks").glob("*.ipynb")))
        assert f"(0 notebook(s) written, {count} of yours kept" in again.text(), again.text()
        again.stop_with_sigterm()
    finally:
        again.kill()


def test_the_binder_badge_opens_the_learners_copy(
    binder_env: LearnerEnv, chromium: Browser, tmp_path: Path
) -> None:
    urlpath = badge_urlpath()
    assert urlpath == f"lab/tree/{WORK}/00_index.ipynb", urlpath
    course = binder_env.course  # where Binder's postBuild ran
    assert_a_spoiler_free_copy(course / WORK, course / "notebooks")
    overrides = binder_env.prefix / "share/jupyter/lab/settings/overrides.d/wslearn.json"
    assert json.loads(overrides.read_text())  # postBuild gave JupyterLab the course's defaults
    with start_lab(tmp_path, "/user/learner/", root=course, env=binder_env) as lab:
        context = chromium.new_context(viewport={"width": 1280, "height": 1000})
        try:
            page = context.new_page()
            page.goto(
                lab.url(f"{urlpath}?token={lab.token}", host=PROXY_HOST),
                wait_until="domcontentloaded", timeout=WAIT_MS,
            )  # fmt: skip
            cells = wait_for_document(page, f"{WORK}/00_index.ipynb")
            assert cells and "00 · Index" in "\n".join(cells)
        finally:
            context.close()


def test_the_lab_command_serves_the_course_folder_and_opens_the_learners_index() -> None:
    from wslearn.__main__ import lab_command

    command = lab_command(ROOT, ["--no-browser"])
    assert command[1:4] == ["-m", "jupyter", "lab"]
    assert f"--ServerApp.root_dir={ROOT}" in command
    assert f"--LabApp.default_url=/lab/tree/{WORK}/00_index.ipynb" in command
    assert command[-1] == "--no-browser"
    assert ("--allow-root" in command) == (os.geteuid() == 0)


def test_the_learners_copy_links_each_exercise_to_its_solution(tmp_path: Path) -> None:
    from wslearn.classroom import carried_over, heading_anchor, write_learner_copies

    done = write_learner_copies(ROOT / "notebooks", tmp_path / WORK)
    assert len(done["written"]) == len(list((ROOT / "notebooks").glob("*.ipynb")))
    for source in sorted((ROOT / "notebooks").glob("*.ipynb")):
        checks = [  # not notebook 12's cells that score pieces: they have no solution to show
            c
            for c in read(source)["cells"]
            if c["metadata"].get("nbgrader", {}).get("grade") and not carried_over(c)
        ]
        copy = read(tmp_path / WORK / source.name)
        links = [
            "".join(c["source"]) for c in copy["cells"]
            if "wslearn-solution-link" in c["metadata"].get("tags", [])
        ]  # fmt: skip
        assert len(links) == len(checks), source.name
        for text in links:
            target = re.search(r"\]\(([^)#]+)(#[^)]*)?\)", text)
            assert target and (tmp_path / WORK / target.group(1)).resolve() == source.resolve()
            anchors = {
                heading_anchor(line)
                for c in read(source)["cells"] if c["cell_type"] == "markdown"
                for line in "".join(c["source"]).splitlines() if line.startswith("#")
            }  # fmt: skip
            assert target.group(2) and target.group(2)[1:] in anchors, text


def test_the_package_ships_no_solution_or_hidden_test():
    """Graded learner code can read the installed package: the answers are not in it.

    The solutions and hidden tests live only in the source notebooks. No file under ``wslearn/``
    (what ``pip install`` ships: the modules, ``static/`` and ``data/``) is a notebook or holds a
    solution block or any line of a hidden-test block.
    """
    package = [
        p for p in (ROOT / "wslearn").rglob("*") if p.is_file() and "__pycache__" not in p.parts
    ]
    assert not [p for p in package if p.suffix == ".ipynb"]
    shipped = {
        p: " ".join(p.read_text(encoding="utf-8", errors="replace").split()) for p in package
    }
    found = []
    for source in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in read(source)["cells"]:
            for kind, body in BLOCK.findall("".join(cell["source"])):
                pieces = [" ".join(body.split())]
                if kind == "HIDDEN TESTS":
                    pieces += [" ".join(line.split()) for line in body.splitlines() if line.strip()]
                for piece in pieces:
                    found += [f"{p.relative_to(ROOT)}: {piece[:80]}" for p, text in shipped.items()
                              if len(piece) >= 20 and piece in text]  # fmt: skip
    assert not found, "\n".join(found)


def test_the_lab_defaults_go_where_jupyterlab_reads_overrides(tmp_path: Path) -> None:
    from wslearn.classroom import LAB_DEFAULTS, install_lab_defaults

    written = install_lab_defaults(str(tmp_path))
    assert written == tmp_path / "share/jupyter/lab/settings/overrides.d/wslearn.json"
    settings = json.loads(written.read_text())
    assert settings["@jupyterlab/notebook-extension:tracker"]["windowingMode"] == "defer"
    assert install_lab_defaults(str(tmp_path)) == written  # again: nothing changes
    assert written.read_text() == LAB_DEFAULTS.read_text()
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")  # a prefix nothing can be written under, even by root
    assert install_lab_defaults(str(not_a_folder)) is None


def test_copy_outside_the_course_says_where_to_run_it(tmp_path: Path) -> None:
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "wslearn", "copy", "--course", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "00_index.ipynb not found" in result.stderr and "--course" in result.stderr
    assert not (tmp_path / WORK).exists()
