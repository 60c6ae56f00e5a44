"""Talk to a started command, in a sandbox or not: JSON lines in and out, a sure end.

:class:`Running` is one started command: ``bwrap`` and the sandbox it made
(:class:`~wslearn.grading.sandbox.Sandbox`), or, for a class the teacher trusts, a plain
process in a process group of its own. Either way :meth:`Running.end` kills every process it
started and waits. :class:`Session` is the conversation the grader has with a runner in
there: one JSON line per request, one per reply, each with a time limit.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import threading
import time
from subprocess import PIPE
from typing import IO, TYPE_CHECKING, Any, Mapping, NoReturn, Optional, Sequence

if TYPE_CHECKING:  # only for the types: sandbox.py imports this module
    from .sandbox import Limits, Sandbox

__all__ = ["Capture", "Running", "Session", "SandboxError", "SandboxTimeout", "killed_reason"]


class SandboxError(RuntimeError):
    """The sandbox could not run the command, or broke the conversation."""


class SandboxTimeout(SandboxError, TimeoutError):
    """The sandbox did not answer (or read) in time; it has been killed."""


def killed_reason(returncode: int, limits: "Limits") -> Optional[str]:
    """Why a command was killed, from its exit status (bwrap, like a shell, reports "killed by
    signal N" as 128 + N; a command could exit with such a number itself). None if not."""
    if returncode <= 128:
        return None
    number = returncode - 128  # SIGXCPU: "CPU time limit exceeded", SIGXFSZ: file size
    if number == signal.SIGKILL:
        return f"killed (SIGKILL): {limits.cpu_seconds + 1} s of CPU time, or out of memory"
    return f"killed by signal {number} ({signal.strsignal(number)})"


class Capture(threading.Thread):
    """Reads a pipe to its end on a thread of its own (so that the sandbox never waits on a
    full pipe), keeping the first ``limit`` bytes and dropping the rest."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(daemon=True)
        self.fd, self.limit, self.data = stream.fileno(), limit, b""
        self.start()

    def run(self) -> None:
        kept = bytearray()
        for chunk in iter(lambda: os.read(self.fd, 65536), b""):  # b"": the end of the pipe
            kept += chunk[: max(0, self.limit - len(kept))]
        self.data = bytes(kept)

    def finish(self) -> bytes:
        """What was kept, once the pipe has ended (every writer gone)."""
        self.join()
        return self.data


class Running:
    """One started command: the process, a handle on its first process, and the stderr
    reader. :meth:`end` kills it all and waits.

    In a sandbox (``sandbox`` given), the process is ``bwrap`` and the handle is a pidfd of
    the sandbox's first process: killing it ends every process of the sandbox. Without one
    (a class the teacher trusts), the command gets a process group of its own, killed whole.
    """

    def __init__(
        self,
        sandbox: Optional["Sandbox"],
        argv: Sequence[str],
        limits: "Limits",
        *,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
    ) -> None:
        self.init: Optional[int] = None
        self.group = False
        if sandbox is None:
            self.process = subprocess.Popen(  # ended by end(); pylint: disable=consider-using-with
                list(argv), stdin=PIPE, stdout=PIPE, stderr=PIPE, env=env, cwd=cwd,
                start_new_session=True,
            )  # fmt: skip
            self.group = True
        else:
            self._start_sandbox(sandbox, argv)
        assert self.process.stdin and self.process.stdout and self.process.stderr
        self.stdin, self.stdout = self.process.stdin, self.process.stdout
        os.set_blocking(self.stdin.fileno(), False)  # writes wait in select(), with a deadline
        self.stderr = Capture(self.process.stderr, limits.output_bytes)
        self.returncode = -1

    def _start_sandbox(self, sandbox: "Sandbox", argv: Sequence[str]) -> None:
        info_read, info_write = os.pipe()
        try:
            command, env = sandbox.command(argv, info_fd=info_write), sandbox.environment()
            fds = [info_write]  # the only descriptor bwrap gets besides stdin, stdout, stderr
            self.process = subprocess.Popen(  # ended by end(); pylint: disable=consider-using-with
                command, stdin=PIPE, stdout=PIPE, stderr=PIPE, env=env, cwd="/", pass_fds=fds
            )
        except BaseException:
            os.close(info_read)
            raise
        finally:
            os.close(info_write)
        with open(info_read, "rb") as info:  # bwrap closes it before it starts the command
            info_text = info.read()
        try:  # a pidfd, unlike a process id, can never come to name another process
            self.init = os.pidfd_open(int(json.loads(info_text)["child-pid"]))
        except (ValueError, KeyError, ProcessLookupError):  # bwrap failed, or it has ended
            self.init = None

    def write(self, data: bytes, deadline: float) -> bool:
        """Write ``data`` to the command's stdin by ``deadline``; False if it did not read it
        in time. BrokenPipeError if it has closed its stdin, or ended."""
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if select.select([], [self.stdin], [], remaining)[1]:
                view = view[os.write(self.stdin.fileno(), view) :]
        return True

    def end(self) -> None:
        """Kill the sandbox's first process, hence every process of the sandbox (the kernel
        kills them all when it dies), and wait for bwrap; or, without a sandbox, kill the
        command's process group. Safe to call again."""
        if self.group and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                self.process.kill()
        if self.init is not None:
            try:
                signal.pidfd_send_signal(self.init, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it ended by itself
            os.close(self.init)
            self.init = None
        try:  # bwrap ends once its first process has, which ends once all others have
            self.process.wait(10)
        except subprocess.TimeoutExpired:  # not expected; bwrap's --die-with-parent follows
            self.process.kill()
            self.process.wait()
        self.returncode = self.process.returncode
        self.stdin.close()


class Session:
    """A sandboxed runner that answers requests: one JSON line in, one JSON line out.

    Only plain data crosses (what :func:`json.dumps` accepts: dicts, lists, strings, numbers,
    booleans, None), so nothing the sandbox sends can run code in the grader::

        with Sandbox().session([sys.executable, "-m", "some_runner"]) as session:
            session.send({"op": "run", "source": "x = 1"})
            reply = session.receive(timeout=10)

    The runner keeps its stdout for replies (it prints elsewhere). A late, too long or
    non-JSON reply, or an ended runner, raises :class:`SandboxError` and kills the sandbox.
    """

    def __init__(self, running: Running, limits: "Limits") -> None:
        self.running, self.limits = running, limits
        self.failure: Optional[str] = None  #: why the session is over, once it is
        self.pending = bytearray()  # read, not yet a whole line

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def stderr(self) -> bytes:
        """What the runner wrote to stderr (all of it, cut at the limit, once closed)."""
        return self.running.stderr.data

    def send(self, message: Any, timeout: float = 10.0) -> None:
        """Send one request; TypeError or ValueError if it is not plain JSON data."""
        line = json.dumps(message, allow_nan=False, separators=(",", ":")) + "\n"
        self._usable()
        try:
            sent = self.running.write(line.encode("ascii"), time.monotonic() + timeout)
        except BrokenPipeError:
            self._fail("the sandbox no longer reads requests")
        if not sent:
            self._fail(f"the sandbox did not read a request within {timeout:g} s", timeout=True)

    def receive(self, timeout: float = 10.0) -> Any:
        """The next reply, decoded; waits ``timeout`` seconds at most."""
        self._usable()
        deadline = time.monotonic() + timeout
        stdout = self.running.stdout.fileno()
        while b"\n" not in self.pending:
            if len(self.pending) > self.limits.output_bytes:
                self._fail(f"a reply longer than {self.limits.output_bytes} bytes")
            if not select.select([stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
                self._fail(f"no reply within {timeout:g} s", timeout=True)
            chunk = os.read(stdout, 65536)
            if not chunk:
                self.running.end()
                code = self.running.returncode
                self._fail(f"it ended: {killed_reason(code, self.limits) or f'exit status {code}'}")
            self.pending += chunk
        line, _, rest = bytes(self.pending).partition(b"\n")
        self.pending = bytearray(rest)
        try:
            return json.loads(line)
        except (ValueError, RecursionError):  # not JSON; or nested too deep to decode
            self._fail(f"a reply that is not a JSON line: {line[:80]!r}")

    def close(self) -> None:
        """Kill the sandbox (every process in it) and wait for it. Safe to call again."""
        self.running.end()
        self.running.stderr.finish()
        self.running.stdout.close()
        if self.failure is None:
            self.failure = "the session is closed"

    def _usable(self) -> None:
        if self.failure is not None:
            raise SandboxError(self.failure)

    def _fail(self, why: str, timeout: bool = False) -> NoReturn:
        self.failure = why
        self.close()
        raise (SandboxTimeout if timeout else SandboxError)(why)
