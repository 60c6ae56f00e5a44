"""Run a command in a sandbox: learner code sees little, changes nothing, and surely ends.

Grading runs each learner's code on the teacher's machine. This module runs it in a sandbox
made by `bubblewrap <https://github.com/containers/bubblewrap>`_ (``bwrap`` 0.8 or later:
Debian 12's ``bubblewrap``), the small, well-kept tool Flatpak sandboxes applications with.
No Docker, no daemon: it asks the Linux kernel for private *namespaces* (its own view of
files, processes, network) and starts the command in them; one per learner and notebook:

* **Few files, read-only**: ``/usr``, the files of ``/etc`` Python and the C library read
  (``ETC_FILES``: no secrets), the Python installation and its virtual environment, and the
  paths the caller names (e.g. the ``wslearn`` package). The teacher's sources, the other
  learners' work, the report, the grader's temporary files do not exist in there.
* **One writable folder**, ``/tmp`` (also home and working directory): a small in-memory file
  system (``Limits.folder_bytes``) the kernel drops with the sandbox, even if the grader dies.
* **No network**: a loopback of its own (its ``127.0.0.1`` is not the teacher's), so a
  learner's server and a test client can talk in there; nothing goes out or comes in. The
  grader talks to the command over its stdin and stdout, in plain data.
* **Limits** (:class:`Limits`): CPU seconds, memory (address space), processes and threads,
  file size, open files; and wall-clock time, enforced by the grader.
* **A sure end**: the sandbox numbers its processes itself; the first one is ``bwrap``'s, and
  when it dies the kernel kills every process of the sandbox, even a "daemonized" one. The
  grader kills it and waits, so when :meth:`Sandbox.run` returns or a :class:`Session`
  closes, nothing started inside is left (nor if the grader dies: ``--die-with-parent``).

Why a real unprivileged user: the process-count limit (``RLIMIT_NPROC``) does not apply to
root, and a user namespace that calls root "user 1000" is still root for that check. So when
the grader is root, ``bwrap`` makes no user namespace, and in the sandbox ``setpriv``
(util-linux) becomes a user id of its own (``SANDBOX_UIDS``, ids Debian never gives to
accounts) before the command starts: no privileges at all, and a process count of its own, so
a fork bomb cannot starve another learner graded at the same time. When the grader is an
ordinary user, ``bwrap`` makes a user namespace, and the command runs as that user, its
processes counted in that namespace only. ``prlimit`` (util-linux) sets the limits just
before the command, so they bind the learner's code and not ``bwrap``. They hold per
process: memory is at worst ``memory_bytes`` times ``processes`` (a control group would
bound the sum, but how to set one up differs from machine to machine). So that a sandbox whose
processes together take more memory than the machine has harms only itself, ``choom`` gives
them the highest out-of-memory score: the kernel kills them first.

Where no sandbox can be made (no ``bwrap``, namespaces forbidden), :func:`sandbox_problem` says
why and :meth:`Sandbox.run` raises :class:`SandboxUnavailable`: it never runs code unsandboxed.
"""

from __future__ import annotations

import functools
import itertools
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from .session import Capture, Running, SandboxError, SandboxTimeout, Session, killed_reason

__all__ = ["Limits", "Result", "Sandbox", "Session", "sandbox_problem", "killed_reason"]
__all__ += ["SandboxError", "SandboxTimeout", "SandboxUnavailable", "ETC_FILES", "SANDBOX_UIDS"]

#: Files of /etc shown: linker cache, time zone, how to find "localhost", user names, file
#: types, TLS certificates. Not all of /etc: the machine's set-up is none of the learner's business.
ETC_FILES = tuple("ld.so.cache ld.so.conf ld.so.conf.d localtime nsswitch.conf host.conf".split())
ETC_FILES += ("hosts", "passwd", "group", "mime.types", "ssl")
#: User ids of sandboxes when the grader is root: Debian's adduser never gives 65536-99999,
#: and ids for containers (/etc/subuid) start at 100000.
SANDBOX_UIDS = range(65536, 100000)
#: The sandbox's out-of-memory score (the most): its processes are the first the kernel kills.
OOM_SCORE = 1000
#: The sandbox's one writable folder; also its HOME, TMPDIR and working directory.
FOLDER = "/tmp"


@dataclass(frozen=True)
class Limits:
    """What a sandbox may use. Each of the first five holds for each process in it."""

    cpu_seconds: int = 20  #: CPU time: SIGXCPU at this, SIGKILL one second later
    memory_bytes: int = 2**30  #: address space (RLIMIT_AS): a bigger allocation fails
    processes: int = 64  #: processes and threads of the sandbox's user (RLIMIT_NPROC)
    file_bytes: int = 16 * 2**20  #: largest file it may write (RLIMIT_FSIZE)
    open_files: int = 256  #: open file descriptors (RLIMIT_NOFILE)
    folder_bytes: int = 64 * 2**20  #: size of the writable folder, in memory
    output_bytes: int = 2**20  #: stdout and stderr kept by the grader; the longest reply

    def prlimit(self) -> List[str]:
        """The ``prlimit`` command that sets the first five, then runs what follows it."""
        cpu = f"{self.cpu_seconds}:{self.cpu_seconds + 1}"  # soft:hard
        nproc, fsize, nofile = self.processes, self.file_bytes, self.open_files
        return ["prlimit", f"--cpu={cpu}", f"--as={self.memory_bytes}", f"--nproc={nproc}",
                f"--fsize={fsize}", f"--nofile={nofile}"]  # fmt: skip


@dataclass(frozen=True)
class Result:
    """How a sandboxed command ended, and what it printed (cut at ``Limits.output_bytes``)."""

    returncode: int
    stdout: bytes
    stderr: bytes
    timed_out: bool  #: killed at the wall-clock time limit
    killed_reason: Optional[str]  #: why it was killed, as far as one can tell; None if not


class SandboxUnavailable(SandboxError):
    """No sandbox can be made on this machine; :func:`sandbox_problem` tells why."""


#: The next user id for a sandbox when the grader is root: one of its own for each (starting
#: at random, two graders run at once are unlikely to meet).
_uids = itertools.count(random.randrange(len(SANDBOX_UIDS)))


def python_paths() -> List[str]:
    """The folders of the running Python: its installation and its virtual environment."""
    executable = os.path.realpath(sys.executable)  # e.g. a venv's python -> the real one
    return [sys.base_prefix, sys.prefix, os.path.dirname(os.path.dirname(executable))]


@dataclass(frozen=True)
class Sandbox:
    """The settings of a sandbox; each :meth:`run` or :meth:`session` makes a fresh one.

    ``read_only``: more host paths to show, read-only, at the same place (the installed
    package, a folder with the learner's code). ``hidden``: folders inside those shown to show
    empty instead (e.g. an installed package's ``checks``). ``env``: variables added.
    """

    read_only: Tuple[str, ...] = ()
    hidden: Tuple[str, ...] = ()
    limits: Limits = Limits()
    env: Mapping[str, str] = field(default_factory=dict)

    def visible(self) -> List[str]:
        """The host paths shown besides /usr and ETC_FILES, sorted (a folder before its
        contents), leaving out those inside another."""
        paths: List[str] = []
        for path in sorted({os.path.abspath(p) for p in [*python_paths(), *self.read_only]}):
            inside = any(path.startswith(top.rstrip("/") + "/") for top in ["/usr", *paths])
            if os.path.exists(path) and path != "/usr" and not inside:
                paths.append(path)
        return paths

    def environment(self) -> Dict[str, str]:
        """The command's whole environment: none of the grader's variables, but these."""
        path = [os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]
        env = {"PATH": ":".join(dict.fromkeys(path)), "HOME": FOLDER, "TMPDIR": FOLDER}
        env.update(LANG="C.UTF-8", PYTHONDONTWRITEBYTECODE="1")  # read-only: no .pyc tries
        env.update(self.env)
        return env

    def command(
        self, argv: Sequence[str], *, uid: Optional[int] = None, info_fd: Optional[int] = None
    ) -> List[str]:
        """The whole command line: ``bwrap`` and its options, ``prlimit``, (``setpriv``), argv.

        ``uid``: the user id to run as when the grader is root (default: the next one of
        SANDBOX_UIDS). ``info_fd``: where bwrap writes the process id of its first process.
        """
        as_root = os.geteuid() == 0
        # Namespaces of its own (views of the system), besides the one for files (always made)
        cmd = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
        cmd += ["--unshare-cgroup-try", "--hostname", "sandbox"]
        cmd += ["--die-with-parent", "--new-session"]  # new session: no typing into a terminal
        if as_root:  # no user namespace; setpriv, below, needs these powers (and drops them)
            cmd += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
            cmd += ["--cap-add", "CAP_SETPCAP"]  # for setpriv --bounding-set
        else:  # the user's own id, in a user namespace that can make no further ones
            cmd += ["--unshare-user", "--disable-userns"]
        cmd += ["--info-fd", str(info_fd)] if info_fd is not None else []
        cmd += ["--ro-bind", "/usr", "/usr"]
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):  # merged /usr: /bin -> usr/bin
                cmd += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                cmd += ["--ro-bind", top, top]
        cmd += ["--perms", "0755", "--dir", "/etc"]  # (bwrap's own would be closed: 0700)
        for etc in (f"/etc/{name}" for name in ETC_FILES if os.path.exists(f"/etc/{name}")):
            cmd += ["--ro-bind", etc, etc]
        # The writable folder first, so that the paths shown may lie in it (the host's /tmp)
        cmd += ["--perms", "1777", "--size", str(self.limits.folder_bytes), "--tmpfs", FOLDER]
        made = {"/", "/usr", "/etc", FOLDER}
        for path in self.visible():
            # bwrap would make the missing folders above ``path`` private to root (mode 0700);
            # make them open, or the unprivileged user could not reach ``path`` through them.
            above = [path]
            while os.path.dirname(above[0]) not in made:
                above.insert(0, os.path.dirname(above[0]))
            for folder in above[:-1]:
                cmd += ["--perms", "0755", "--dir", folder]
            cmd += ["--ro-bind", path, path]
            made.update(above)
        for path in self.hidden:  # an empty, read-only folder on top of it
            cmd += ["--perms", "0555", "--size", "4096", "--tmpfs", path, "--remount-ro", path]
        cmd += ["--dev", "/dev", "--proc", "/proc"]  # minimal devices; only its own processes
        cmd += ["--remount-ro", "/dev", "--remount-ro", "/"]  # only FOLDER stays writable
        # First in line for the kernel's out-of-memory killer (a process may raise its own
        # score, not lower it): processes that together use more memory than the machine has
        # are killed before the grader or anything else of the teacher's.
        cmd += ["--chdir", FOLDER, "--", "choom", "-n", str(OOM_SCORE), "--"]
        cmd += self.limits.prlimit()
        if as_root:
            uid = SANDBOX_UIDS[next(_uids) % len(SANDBOX_UIDS)] if uid is None else uid
            cmd += ["--", "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
            cmd += ["--inh-caps=-all", "--bounding-set=-all"]
        cmd += ["--"]
        return cmd + list(argv)

    def run(self, argv: Sequence[str], data: bytes = b"", *, timeout: float = 30.0) -> Result:
        """Run ``argv`` with ``data`` on its stdin, until it ends or ``timeout`` seconds of
        wall-clock time have passed. Raises :class:`SandboxUnavailable` if no sandbox."""
        _check()
        return _run(self, argv, data, timeout)

    def session(self, argv: Sequence[str]) -> "Session":
        """Start ``argv``, a runner that answers JSON lines, for several requests."""
        _check()
        return Session(Running(self, argv, self.limits), self.limits)

    @staticmethod
    def unsandboxed_session(
        argv: Sequence[str],
        *,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[str] = None,
        limits: Limits = Limits(),
    ) -> "Session":
        """The same conversation with ``argv`` run as a plain process (of its own process
        group, killed whole at the end), for code the teacher trusts. Of ``limits`` only
        ``output_bytes`` applies."""
        return Session(Running(None, argv, limits, env=env, cwd=cwd), limits)


def _run(sandbox: Sandbox, argv: Sequence[str], data: bytes, timeout: float) -> Result:
    deadline = time.monotonic() + timeout
    running = Running(sandbox, argv, sandbox.limits)
    try:
        stdout = Capture(running.stdout, sandbox.limits.output_bytes)
        try:  # if it does not read it all in time, the wait below times out
            running.write(data, deadline)
        except BrokenPipeError:  # it did not read all of its input: its business
            pass
        running.stdin.close()
        running.process.wait(max(0.0, deadline - time.monotonic()))
        ended = True
    except subprocess.TimeoutExpired:
        ended = False
    finally:
        running.end()
    code = running.returncode
    out, err = stdout.finish(), running.stderr.finish()
    if not ended:
        return Result(code, out, err, True, f"wall-clock time limit ({timeout:g} s)")
    return Result(code, out, err, False, killed_reason(code, sandbox.limits))


@functools.lru_cache(maxsize=None)
def sandbox_problem() -> Optional[str]:
    """Why no sandbox can be made here, in a sentence; None if one can. Found once, by running
    ``python -c pass`` in a sandbox (which costs what one sandbox's start costs)."""
    if not sys.platform.startswith("linux"):
        return f"sandboxes need Linux namespaces; this system is {sys.platform}"
    for tool in ["bwrap", "prlimit", "choom"] + (["setpriv"] if os.geteuid() == 0 else []):
        if shutil.which(tool) is None:
            package = "bubblewrap" if tool == "bwrap" else "util-linux"
            return f"`{tool}` is not installed (Debian: apt-get install {package})"
    try:
        result = _run(Sandbox(), [sys.executable, "-c", "pass"], b"", 60.0)
    except OSError as error:
        return f"bwrap cannot be started: {error}"
    if result.returncode == 0:
        return None
    why = result.stderr.decode("utf-8", "replace").strip() or f"exit {result.returncode}"
    if os.geteuid() != 0:
        why += " (are user namespaces allowed? sysctl user.max_user_namespaces and, on Debian,"
        why += " kernel.unprivileged_userns_clone must not be 0)"
    return f"bwrap cannot make a sandbox here: {why}"


def _check() -> None:
    problem = sandbox_problem()
    if problem is not None:
        raise SandboxUnavailable(problem)
