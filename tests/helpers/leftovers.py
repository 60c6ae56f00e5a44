"""A pytest plugin: the test run leaves no process behind, or it fails naming each one.

At the start of the run every process the tests start is marked: an environment variable
(:data:`MARK`) with a value unique to this run, which every child inherits: JupyterLab, its
kernels, Chromium, a ``python -m wslearn serve``, the ``pytest --nbval`` runs and their kernels.
When the run ends, the plugin looks (on Linux, through ``/proc``) for live processes that carry
the mark.
It gives them a grace period to exit, then reports each one (pid and command line), kills it,
and makes the run fail.

``tests/conftest.py`` loads it for the whole suite.

Within the test process, :func:`open_things` and :func:`left_behind` check the same for one
piece of work: the wslearn threads and the sockets it leaves open when it returns.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Dict, FrozenSet, List

import pytest

MARK = "WSLEARN_TEST_RUN"
#: Seconds for processes that are already on their way out (``WSLEARN_LEFTOVER_GRACE``).
GRACE = float(os.environ.get("WSLEARN_LEFTOVER_GRACE", "15"))


def marked_processes(value: str, name: str = MARK) -> Dict[int, str]:
    """``{pid: command line}`` of the live processes whose environment has ``name=value``."""
    needle = f"{name}={value}".encode()
    found: Dict[int, str] = {}
    proc = Path("/proc")
    for entry in proc.iterdir() if proc.is_dir() else []:
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            if needle not in environ.split(b"\0"):
                continue
            status = (entry / "stat").read_text()
            if status.rsplit(")", 1)[1].split()[0] == "Z":
                continue  # a zombie holds no resources; its parent will reap it
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").strip()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        found[int(entry.name)] = command.decode(errors="replace")[:300]
    return found


def open_things() -> FrozenSet[str]:
    """The wslearn threads alive and the sockets open in this process, by name (Linux)."""
    threads = {f"{t.name} {t.ident}" for t in threading.enumerate() if "wslearn" in t.name}
    links = {os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")}
    return frozenset(threads | {link for link in links if "socket:" in link})


def left_behind(before: FrozenSet[str]) -> FrozenSet[str]:
    """What is open now and was not ``before``, once the last threads had 2 s to end."""
    deadline = time.monotonic() + 2.0
    while (new := open_things() - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    return new


def pytest_configure(config: pytest.Config) -> None:
    value = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    os.environ[MARK] = value
    config.stash[_VALUE] = value


_VALUE = pytest.StashKey[str]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    value = session.config.stash.get(_VALUE, None)
    if value is None or not Path("/proc").is_dir():
        return
    deadline = time.monotonic() + GRACE
    left = marked_processes(value)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = marked_processes(value)
    if not left:
        return
    lines: List[str] = [
        f"{len(left)} process(es) started by the tests were still alive {GRACE:.0f} s after "
        "the last test (killed now):"
    ]
    for pid, command in sorted(left.items()):
        lines.append(f"  pid {pid}: {command}")
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "processes left behind", red=True)
        for line in lines:
            reporter.write_line(line)
    else:  # pragma: no cover - pytest always has one unless -p no:terminal
        print("\n".join(lines))
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
