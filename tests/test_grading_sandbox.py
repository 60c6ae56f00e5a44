"""The sandbox (wslearn/grading/sandbox.py): what learner code tries, and the bound that stops it.

Each test runs a small Python program in a sandbox, the way the grader will run a learner's
code, and asserts from outside what it could and could not do. The sandbox must be
available: ``bash tests/run.sh`` installs ``bubblewrap``; without it these tests fail (a
sandbox that silently is not there would let every attack through).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from wslearn.grading import sandbox
from wslearn.grading.sandbox import (
    SANDBOX_UIDS,
    Limits,
    Result,
    Sandbox,
    SandboxError,
    SandboxTimeout,
    SandboxUnavailable,
    sandbox_problem,
)

pytestmark = pytest.mark.timeout(120)

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "wslearn"
#: Generous time for anything that should end at once: a hang shows, a slow machine passes.
LIVENESS = 15.0
#: A fork bomb's bound: the sandbox may hold this many processes and threads at once.
PROCESSES = 16
#: Forks the fork bomb attempts (far beyond the bound).
FORKS = 200
#: Seconds a session may take to close, killing all in it (its fallback, waiting for a
#: bwrap that would not end, takes 10 s).
END_WITHIN = 5.0
#: Memory bound for the hogs: they ask for 2 GiB.
MEMORY = 256 * 2**20
#: The leftovers plugin (tests/helpers/leftovers.py) finds processes by this variable; it is
#: passed into the sandbox so that it watches sandboxed processes too.
MARK = "WSLEARN_TEST_RUN"


@pytest.fixture(scope="module", autouse=True)
def sandbox_here() -> None:
    problem = sandbox_problem()
    if problem is not None:
        pytest.fail(f"no sandbox on this machine: {problem}", pytrace=False)


DEFAULTS = Limits()


def make_sandbox(limits: Limits = DEFAULTS, read_only: tuple = (str(PACKAGE),)) -> Sandbox:
    env = {MARK: os.environ[MARK]} if MARK in os.environ else {}
    return Sandbox(read_only=read_only, limits=limits, env=env)


def run_python(
    code: str, limits: Limits = DEFAULTS, timeout: float = 20.0, data: bytes = b""
) -> Result:
    argv = [sys.executable, "-c", textwrap.dedent(code)]
    return make_sandbox(limits).run(argv, data, timeout=timeout)


def answer(result: Result) -> Dict:
    """The JSON object the program printed last."""
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return json.loads(result.stdout.splitlines()[-1])


def processes_with(marker: str) -> List[int]:
    """Live processes of this machine whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass  # ended meanwhile
    return found


#: A program that tries something for each path it reads on stdin (one JSON list) and prints
#: {path: "ok" or the errno name}.
TRY_EACH = """
    import errno, json, sys
    result = {}
    for path in json.load(sys.stdin):
        try:
            %s
            result[path] = "ok"
        except OSError as error:
            result[path] = errno.errorcode.get(error.errno, str(error))
    print(json.dumps(result))
"""


def test_runs_as_an_unprivileged_user_without_any_capability() -> None:
    status = answer(
        run_python("""
            import json, os
            lines = open("/proc/self/status").read().splitlines()
            fields = dict(line.split(":\\t") for line in lines)
            fds = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))  # one is listdir's own
            print(json.dumps({"uid": os.getuid(), "euid": os.geteuid(), "groups": os.getgroups(),
                              "fds": fds,
                              "caps": [fields[k].strip() for k in ("CapPrm", "CapEff", "CapBnd")],
                              "nnp": fields["NoNewPrivs"].strip()}))
        """)
    )
    assert status["uid"] == status["euid"] != 0
    if os.geteuid() == 0:  # a real user id of its own, not root with another name
        assert status["uid"] in SANDBOX_UIDS and status["groups"] == []
    assert status["caps"][:2] == ["0000000000000000"] * 2  # no capability, none to regain
    assert status["nnp"] == "1"  # setuid programs give it nothing
    assert status["fds"] == [0, 1, 2, 3]  # stdin, stdout, stderr: none of the grader's files


def test_only_the_named_paths_are_bound_from_the_host() -> None:
    command = make_sandbox().command([sys.executable, "-c", "pass"])
    sources = {command[i + 1] for i, word in enumerate(command) if word.endswith("bind")}
    allowed = {"/usr", str(PACKAGE), *sandbox.python_paths()}
    allowed |= {f"/etc/{name}" for name in sandbox.ETC_FILES}
    assert sources <= allowed, sources - allowed
    assert "/" not in sources and str(ROOT) not in sources and "/etc" not in sources


def test_cannot_write_outside_its_folder() -> None:
    marker = f"written-{uuid.uuid4().hex}"
    targets = [PACKAGE, ROOT, Path(sys.prefix), Path("/usr"), Path("/etc"), Path("/dev"), Path("/")]
    paths = [str(folder / marker) for folder in targets]
    result = answer(
        run_python(TRY_EACH % "open(path, 'w').write('x')", data=json.dumps(paths).encode())
    )
    for path in paths:
        # Read-only file system: the host's folders, and the sandbox's own skeleton (/, /dev).
        # A folder that is only the parent of a shown path (the project, when it lives under
        # /tmp: the sandbox's own /tmp then holds that parent) is root's: permission denied.
        assert result[path] in ("EROFS", "EACCES"), (path, result[path])
        assert not os.path.exists(path)


def test_its_tmp_is_not_the_hosts_and_is_thrown_away() -> None:
    marker = f"note-{uuid.uuid4().hex}"
    first = answer(
        run_python(f"""
            import json, os
            open("/tmp/{marker}", "w").write("x")
            where = {{"cwd": os.getcwd(), "home": os.environ["HOME"]}}
            print(json.dumps({{"tmp": os.listdir("/tmp"), **where}}))
        """)
    )
    # Shown paths that live under the host's /tmp (a project cloned there) appear in the
    # sandbox's /tmp as their parent folders: those, and nothing else of the host's.
    shown = {
        Path(p).parts[2] for p in [str(PACKAGE), *sandbox.python_paths()] if p.startswith("/tmp/")
    }
    assert sorted(first["tmp"]) == sorted({marker} | shown)
    assert first["cwd"] == first["home"] == "/tmp"
    assert not os.path.exists(f"/tmp/{marker}")  # not on the host's /tmp
    second = answer(run_python("import json, os; print(json.dumps({'tmp': os.listdir('/tmp')}))"))
    assert sorted(second["tmp"]) == sorted(shown)  # the next sandbox starts empty


def test_writes_are_bounded_in_size() -> None:
    limits = Limits(folder_bytes=2**20, file_bytes=256 * 2**10)
    result = answer(
        run_python(
            """
            import errno, json
            def fill(path, size):
                try:
                    with open(path, "wb") as out:
                        for _ in range(size // 65536):
                            out.write(bytes(65536))
                            out.flush()
                    return "ok"
                except OSError as error:
                    return errno.errorcode[error.errno]
            one = fill("/tmp/big", 2**20)  # more than file_bytes
            many = [fill(f"/tmp/part{i}", 200 * 2**10) for i in range(8)]  # more than the folder
            print(json.dumps({"one": one, "many": many}))
            """,
            limits,
        )
    )
    assert result["one"] == "EFBIG"  # RLIMIT_FSIZE (Python ignores SIGXFSZ)
    assert "ENOSPC" in result["many"]  # the folder's size


def test_cannot_read_what_is_not_shown(tmp_path: Path) -> None:
    notebook = tmp_path / "teacher.ipynb"
    notebook.write_text("the teacher's solution")
    shown = PACKAGE / "__init__.py"
    paths = [
        str(notebook),
        str(ROOT / "tests" / "test_grading_sandbox.py"),
        "/etc/shadow",
        str(shown),
    ]
    paths += [str(Path.home() / ".bash_history")]
    result = answer(run_python(TRY_EACH % "open(path).read(1)", data=json.dumps(paths).encode()))
    assert result.pop(str(shown)) == "ok"  # the package is shown: the check can see files
    for path, outcome in result.items():
        assert outcome == "ENOENT", (path, outcome)


def test_shows_what_it_is_told_to_and_hides_what_it_is_told_to(tmp_path: Path) -> None:
    shown = tmp_path / "package"  # in the host's /tmp, where the grader may copy a package
    (shown / "checks").mkdir(parents=True)
    (shown / "checks" / "answers.py").write_text("ANSWER = 42")
    (shown / "module.py").write_text("VALUE = 1")
    box = Sandbox(read_only=(str(shown),), hidden=(str(shown / "checks"),))
    code = """if True:
        import json, os, sys
        folder = sys.stdin.read()
        listing = {name: sorted(os.listdir(os.path.join(folder, name))) for name in ["", "checks"]}
        module = open(os.path.join(folder, "module.py")).read()
        print(json.dumps({"listing": listing, "module": module}))
    """
    result = answer(box.run([sys.executable, "-c", code], str(shown).encode()))
    assert result["listing"] == {"": ["checks", "module.py"], "checks": []}
    assert result["module"] == "VALUE = 1"


def test_cannot_reach_a_server_on_the_hosts_loopback() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        port = server.getsockname()[1]
        result = answer(
            run_python(f"""
                import errno, json, socket
                outcomes = []
                for address in [("127.0.0.1", {port}), ("192.0.2.1", 80)]:  # host; far away
                    try:
                        socket.create_connection(address, timeout=3).close()
                        outcomes.append("connected")
                    except OSError as error:
                        outcomes.append(errno.errorcode.get(error.errno, str(error)))
                print(json.dumps({{"outcomes": outcomes}}))
            """)
        )
        assert result["outcomes"] == ["ECONNREFUSED", "ENETUNREACH"]
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody came


def test_a_memory_hog_gets_a_memory_error() -> None:
    result = run_python(
        """
        import json
        outcomes = []
        try:
            huge = bytearray(2 * 2**30)
            outcomes.append("allocated 2 GiB")
        except MemoryError:
            outcomes.append("MemoryError")
        chunks = []
        try:
            while len(chunks) < 128:  # 2 GiB, 16 MiB at a time, each one written to
                chunks.append(b"x" * (16 * 2**20))
            outcomes.append("allocated 2 GiB")
        except MemoryError:
            outcomes.append(f"MemoryError after {len(chunks) * 16} MiB")
            chunks.clear()
        print(json.dumps({"outcomes": outcomes}))
        """,
        Limits(memory_bytes=MEMORY),
    )
    first, second = answer(result)["outcomes"]
    assert first == "MemoryError"
    mib = int(second.split()[-2])
    assert second.startswith("MemoryError") and mib * 2**20 < MEMORY


def test_its_processes_are_the_first_the_out_of_memory_killer_takes() -> None:
    result = run_python(
        """
        import json, os
        score = open("/proc/self/oom_score_adj").read().strip()
        try:
            with open("/proc/self/oom_score_adj", "w") as f:
                f.write("-1000")  # lowering it takes a privilege the sandbox does not have
            lowered = True
        except OSError:
            lowered = False
        print(json.dumps({"score": score, "lowered": lowered}))
        """
    )
    assert answer(result) == {"score": "1000", "lowered": False}


def test_a_cpu_burner_is_killed_at_its_cpu_limit() -> None:
    started = time.monotonic()
    result = run_python("while True: pass", Limits(cpu_seconds=1), timeout=LIVENESS)
    assert time.monotonic() - started < LIVENESS
    assert not result.timed_out  # stopped by the CPU limit, before the wall-clock one
    assert result.returncode == 128 + signal.SIGXCPU
    assert "CPU time limit" in str(result.killed_reason)


def test_a_sleeper_is_killed_at_the_wall_clock_limit() -> None:
    started = time.monotonic()
    result = run_python("import time; time.sleep(60)", timeout=1.0)
    assert time.monotonic() - started < LIVENESS
    assert result.timed_out and "wall-clock" in str(result.killed_reason)


#: A program that starts a daemon (double fork, new session) whose command line holds the
#: marker it reads on stdin, makes sure it runs, and prints the number of such processes.
DAEMONIZE = """
    import json, os, sys, time
    marker = json.loads(sys.stdin.readline())
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(60)", marker])
        os._exit(0)
    os.wait()
    def count():
        return sum(marker.encode() in open(f"/proc/{pid}/cmdline", "rb").read()
                   for pid in os.listdir("/proc") if pid.isdigit())
    while count() == 0:
        time.sleep(0.01)
    print(json.dumps({"daemons": count(), "uid": os.getuid()}), flush=True)
"""


def test_a_daemonized_grandchild_is_gone_when_the_run_ends() -> None:
    marker = f"daemon-{uuid.uuid4().hex}"
    result = run_python(DAEMONIZE, data=json.dumps(marker).encode() + b"\n")
    assert answer(result)["daemons"] == 1  # it ran, detached, when the command ended
    assert processes_with(marker) == []  # and is gone the moment run() returns


def test_a_daemonized_grandchild_is_gone_when_a_session_closes() -> None:
    marker = f"daemon-{uuid.uuid4().hex}"
    argv = [sys.executable, "-c", textwrap.dedent(DAEMONIZE) + "time.sleep(60)"]
    with make_sandbox().session(argv) as session:
        session.send(marker)
        assert session.receive(timeout=LIVENESS)["daemons"] == 1
        assert len(processes_with(marker)) == 1  # seen from the host too
        closing = time.monotonic()
    assert processes_with(marker) == []
    assert time.monotonic() - closing < END_WITHIN  # killed, not waited for


#: A grader that starts a sandbox with a daemon in it (marker: argv[1]), says so, and waits.
GRADER = f"""
import sys, textwrap, time
from wslearn.grading.sandbox import Sandbox
argv = [sys.executable, "-c", textwrap.dedent({DAEMONIZE!r}) + "time.sleep(60)"]
session = Sandbox().session(argv)
session.send(sys.argv[1])
print(session.receive(timeout=30)["daemons"], flush=True)
time.sleep(60)
"""


def test_the_sandbox_ends_when_the_grader_is_killed() -> None:
    marker = f"daemon-{uuid.uuid4().hex}"
    grader = subprocess.Popen([sys.executable, "-c", GRADER, marker], stdout=subprocess.PIPE)
    try:
        assert grader.stdout is not None and grader.stdout.readline() == b"1\n"
        grader.kill()  # SIGKILL: it cannot clean up; bwrap's --die-with-parent must
        grader.wait()
        deadline = time.monotonic() + LIVENESS
        while processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes_with(marker) == []
    finally:
        grader.kill()
        grader.wait()
        for pid in processes_with(marker):  # only if the test failed
            os.kill(pid, signal.SIGKILL)


def test_cannot_signal_the_grader_or_its_processes() -> None:
    outsider = subprocess.Popen(["sleep", "60"])  # a process of the grader's
    try:
        pids = [os.getpid(), outsider.pid]
        result = answer(
            run_python(
                """
                import errno, json, os, signal, sys
                outcomes = []
                for pid in json.load(sys.stdin) + [os.getppid()]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                        outcomes.append("sent")
                    except OSError as error:
                        outcomes.append(errno.errorcode[error.errno])
                print(json.dumps({"outcomes": outcomes, "parent": os.getppid()}))
                """,
                data=json.dumps(pids).encode(),
            )
        )
        assert result["parent"] == 1  # its parent is the sandbox's first process, not ours
        # pids outside do not exist in there; the first process is root's (or ignores it)
        assert result["outcomes"][:2] == ["ESRCH", "ESRCH"]
        assert outsider.poll() is None  # still alive (and so is this test)
    finally:
        outsider.kill()
        outsider.wait()


def test_output_is_kept_up_to_its_bound() -> None:
    limits = Limits(output_bytes=64 * 2**10)
    result = run_python("import sys; sys.stdout.write('x' * 2**24)", limits)
    assert result.returncode == 0 and result.stdout == b"x" * limits.output_bytes


ECHO = """
    import json, sys
    for line in sys.stdin:
        request = json.loads(line)
        if request == "bad":
            print("this is not JSON", flush=True)
        elif request == "deep":
            print("[" * 100000 + "]" * 100000, flush=True)
        elif request == "quit":
            sys.exit(3)
        elif request != "ignore":
            print(json.dumps({"got": request}), flush=True)
"""


@pytest.fixture
def echo() -> Iterator[sandbox.Session]:
    with make_sandbox().session([sys.executable, "-c", textwrap.dedent(ECHO)]) as session:
        yield session


def test_a_session_answers_several_requests(echo: sandbox.Session) -> None:
    for request in [{"op": "run", "source": "x = 1"}, [1, 2.5, None, True], "é"]:
        echo.send(request)
        assert echo.receive(timeout=LIVENESS) == {"got": request}


def test_only_plain_data_goes_in(echo: sandbox.Session) -> None:
    with pytest.raises(TypeError):
        echo.send(object())
    with pytest.raises(ValueError):
        echo.send(float("nan"))
    with pytest.raises(TypeError):
        echo.send(b"bytes")
    echo.send("still usable")
    assert echo.receive(timeout=LIVENESS) == {"got": "still usable"}


@pytest.mark.parametrize("request_name", ["bad", "deep"])
def test_a_reply_that_is_not_json_ends_the_session(
    echo: sandbox.Session, request_name: str
) -> None:
    echo.send(request_name)
    with pytest.raises(SandboxError, match="not a JSON line"):
        echo.receive(timeout=LIVENESS)
    with pytest.raises(SandboxError):
        echo.send("again")  # the session is over


def test_a_late_reply_times_out_and_kills(echo: sandbox.Session) -> None:
    echo.send("ignore")
    started = time.monotonic()
    with pytest.raises(SandboxTimeout):
        echo.receive(timeout=0.5)
    assert time.monotonic() - started < LIVENESS
    assert echo.running.process.poll() is not None  # the sandbox is gone


def test_a_runner_that_ends_is_reported(echo: sandbox.Session) -> None:
    echo.send("quit")
    with pytest.raises(SandboxError, match="ended: exit status 3"):
        echo.receive(timeout=LIVENESS)


def test_no_sandbox_means_no_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on it
    assert "bwrap" in str(sandbox_problem.__wrapped__())  # type: ignore[attr-defined]
    monkeypatch.setattr(sandbox, "sandbox_problem", lambda: "no bwrap here")
    with pytest.raises(SandboxUnavailable, match="no bwrap here"):
        Sandbox().run([sys.executable, "-c", "print('ran unsandboxed')"])


#: The fork bomb of test_a_fork_bomb_is_stopped_and_the_sandbox_ends, as a program.
FORK_BOMB = f"""
import json, os, time
children, error = 0, None
try:
    for _ in range({FORKS}):
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        children += 1
except OSError as failure:
    error = failure.errno
writable = [path for path in ("/", "/etc", "/dev", "/tmp") if os.access(path, os.W_OK)]
where = {{"uid": os.getuid(), "root": os.listdir("/"), "writable": writable}}
print(json.dumps({{"children": children, "error": error, **where}}))
"""

#: Loads the sandbox module from a file (argv[1]) and runs a program (argv[2]) in a sandbox
#: with a process limit (argv[3]); prints what it printed, or why there is no sandbox.
AS_USER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from sandboxing import sandbox  # the two modules alone, as a package: no wslearn needed
problem = sandbox.sandbox_problem()
if problem is None:
    limits = sandbox.Limits(processes=int(sys.argv[3]))
    result = sandbox.Sandbox(limits=limits).run([sys.executable, "-c", sys.argv[2]], timeout=20)
    print(json.dumps({"stdout": result.stdout.decode(), "stderr": result.stderr.decode()}))
else:
    print(json.dumps({"problem": problem}))
"""


def test_a_fork_bomb_is_stopped_and_the_sandbox_ends() -> None:
    started = time.monotonic()
    outcome = answer(
        make_sandbox(Limits(processes=PROCESSES)).run([sys.executable, "-c", FORK_BOMB])
    )
    assert time.monotonic() - started < LIVENESS  # its children did not keep it alive
    assert 0 < outcome["children"] < PROCESSES
    assert outcome["error"] == errno.EAGAIN and outcome["writable"] == ["/tmp"]


@pytest.mark.skipif(os.geteuid() != 0, reason="the other tests already run as an ordinary user")
def test_a_fork_bomb_is_stopped_when_the_grader_is_an_ordinary_user() -> None:
    """The other way to the same bound: a user namespace, the limit counted in it."""
    python = "/usr/bin/python3"
    if not os.path.exists(python) or shutil.which("setpriv") is None:
        pytest.skip("needs the system's python3 and setpriv to run as an ordinary user")
    folder = tempfile.mkdtemp()
    try:
        os.chmod(folder, 0o755)
        package = Path(folder) / "sandboxing"
        package.mkdir(mode=0o755)
        (package / "__init__.py").write_text("")
        for name in ("sandbox.py", "session.py"):
            shutil.copy(PACKAGE / "grading" / name, package)
        os.chmod(package, 0o755)
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        done = subprocess.run(
            [*nobody, python, "-c", AS_USER, folder, FORK_BOMB, str(PROCESSES)],
            capture_output=True,
            timeout=60,
            cwd=folder,
            env={"PATH": "/usr/bin:/bin", "HOME": folder},
        )
        assert done.returncode == 0, done.stderr
        outer = json.loads(done.stdout)
        if "problem" in outer:  # e.g. user namespaces forbidden to ordinary users
            pytest.skip(f"no sandbox for an ordinary user here: {outer['problem']}")
        inner = json.loads(outer["stdout"])
        assert inner["uid"] == 65534
        assert 0 < inner["children"] < PROCESSES and inner["error"] == errno.EAGAIN
        assert "work" not in inner["root"] and "root" not in inner["root"]
        assert inner["writable"] == ["/tmp"]
    finally:
        shutil.rmtree(folder)
