"""``python -m wslearn serve ...`` in a child process, as a learner runs it in a terminal.

:class:`Foreground` starts it on a free port, reads its stdout line by line, and stops it
with Ctrl-C (SIGINT) or SIGTERM; the ``foreground`` fixture kills whatever a test left running.
"""

from __future__ import annotations

import os
import queue
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, List, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

URL = re.compile(r"ws://127\.0\.0\.1:(\d+)/")


class Foreground:
    """``python -m wslearn serve ...`` running in a child process; its stdout read line by line."""

    def __init__(self, *args: str, max_open_files: Optional[int] = None) -> None:
        def limit_files() -> None:  # in the child, before it runs python: like `ulimit -n`
            if max_open_files is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (max_open_files, max_open_files))

        self.process = subprocess.Popen(
            [sys.executable, "-m", "wslearn", "serve", "--port", "0", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=limit_files,
        )
        self._lines: "queue.Queue[str | None]" = queue.Queue()
        self.lines: List[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        first = self.next_line(10)
        match = URL.search(first)
        assert match, f"the first line does not give the URL: {first!r}"
        self.url = match.group(0)
        self.port = int(match.group(1))
        assert self.port != 0

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def next_line(self, seconds: float = 5) -> str:
        line = self._lines.get(timeout=seconds)
        assert line is not None, f"the server exited; it printed {self.lines}"
        self.lines.append(line)
        return line

    def wait_for_line(self, pattern: str, seconds: float = 5) -> str:
        deadline = time.monotonic() + seconds
        for line in self.lines:
            if re.search(pattern, line):
                return line
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no line matching {pattern!r} in {self.lines}"
            line = self.next_line(remaining)
            if re.search(pattern, line):
                return line

    def interrupt(self, seconds: float = 10) -> int:
        """Ctrl-C: send SIGINT, wait for the exit, collect the rest of the output."""
        self.process.send_signal(signal.SIGINT)
        return self.exit_code(seconds)

    def exit_code(self, seconds: float = 10) -> int:
        """Wait for the exit, collect the rest of the output."""
        code = self.process.wait(timeout=seconds)
        self._reader.join(timeout=5)
        while True:
            line = self._lines.get_nowait() if not self._lines.empty() else None
            if line is None:
                break
            self.lines.append(line)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def foreground():
    started: List[Foreground] = []

    def start(*args: str, **options: Any) -> Foreground:
        started.append(Foreground(*args, **options))
        return started[-1]

    yield start
    for server in started:
        server.kill()
