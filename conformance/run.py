"""The conformance command: Autobahn|Testsuite against wslearn's servers and clients.

    python conformance/run.py                          # cases 1-10 against wslearn
    python conformance/run.py --cases 1,2,7.1.*        # some groups, or case patterns
    python conformance/run.py --server websockets      # the reference server, for comparison
    python conformance/run.py --compression deflate    # 1-10, 12 and 13, deflate negotiated
    python conformance/run.py --server-arg=--close-timeout=5   # extra server options
    python conformance/run.py -- --close-timeout 5             # the same, after --
    python conformance/run.py --server asyncio         # wslearn.asyncio's server
    python conformance/run.py --client threaded        # wslearn.client, the other way round
    python conformance/run.py --client asyncio         # wslearn.asyncio.connect

What one run against a server does, in order:

1. finds a Python 2.7 (the suite runs nowhere else) and builds, on the first run only, the
   folder ``.conformance-env/`` with the suite's pinned packages (``py2env.py``);
2. starts the server in its own process on a free port of 127.0.0.1: by default wslearn's
   real command line, ``python -m wslearn serve --port 0 --quiet --max-size 16MiB`` (16 MiB
   because cases 9.* send messages that big), plus ``--ping-interval none`` if the server
   has that option (a keepalive Ping in the middle of a case would be counted against it);
   the fuzzing client sends no Origin header, so the server's default Origin rule lets it
   in and ``--origin`` is not needed;
   ``--compression deflate`` adds the server's ``--compression deflate``: it then accepts
   permessage-deflate (RFC 7692), which the cases of groups 12 and 13 offer;
3. runs ``wstest -m fuzzingclient`` on the chosen cases (12.* and 13.*, permessage-deflate,
   are not in the default set), which writes its reports in ``.conformance-reports/<server>/``
   (``<server>-deflate/`` with compression);
4. stops the server, whatever happened (errors, Ctrl-C, SIGTERM): no process is left behind;
5. reads ``index.json`` (``summary.py``: a case passes only if both verdicts are OK) and
   writes ``conformance/SUMMARY.md`` (``conformance/SUMMARY-deflate.md`` with compression).

With ``--client``, the roles turn round (``fuzz_client``): ``wstest -m fuzzingserver`` listens
on a free port of 127.0.0.1 and ``clients.py`` drives the chosen wslearn client through the
cases the usual Autobahn way (``/getCaseCount``, one ``/runCase`` connection per case that
echoes every message until the close, ``/updateReports``); the summary goes to
``conformance/SUMMARY-client-<client>.md``.

Exit status: 0 if every case is OK (or informational by design), 1 if not, 2 if the
suite could not run at all (no Python 2.7, install failed, server did not start).
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if not __package__:  # python conformance/run.py, from anywhere
    # Import this folder as the package ``conformance``, not its files as top-level modules.
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p).resolve() != HERE]

from conformance import py2env  # noqa: E402
from conformance.summary import GROUP_NAMES, load_summary, render  # noqa: E402

ENV_DIR = ROOT / ".conformance-env"
REPORTS_DIR = ROOT / ".conformance-reports"
SUMMARY_FILE = HERE / "SUMMARY.md"
#: The summary of a run with ``--compression deflate``: SUMMARY.md stays the plain run's.
DEFLATE_SUMMARY_FILE = HERE / "SUMMARY-deflate.md"
#: The clients that ``--client`` drives (``clients.py``), each with a summary of its own.
CLIENTS = ("threaded", "asyncio")

#: Message limit given to the server: case 9.1.6 and 9.2.6 send 16 MiB messages.
MAX_SIZE = "16MiB"
#: Generous bounds: the server prints its URL within a second; the 301 cases of groups
#: 1-10 take under a minute here; a run slower than the whole-run bound is a hang.
SERVER_START_SECONDS = 20
DEFAULT_RUN_SECONDS = 1800
STOP_GRACE_SECONDS = 10
PROGRESS_EVERY_SECONDS = 15

#: Each server under test: the command that starts it on a free port of 127.0.0.1 (it
#: prints its ``ws://`` URL on a line of its own).
SERVERS: Dict[str, List[str]] = {
    "wslearn": [sys.executable, "-m", "wslearn", "serve", "--port", "0", "--quiet"]
    + ["--max-size", MAX_SIZE],
    "websockets": [sys.executable, str(HERE / "websockets_server.py")],
    "asyncio": [sys.executable, str(HERE / "asyncio_server.py")],
}

#: Options that turn the server's keepalive Pings off, passed only if its ``--help`` lists
#: them and the command line does not set them already. Autobahn records every frame it
#: receives during a case, so a Ping that the server sends in the middle of a (long) case
#: makes the observed events differ from the expected ones and fails the case for a reason
#: that is not conformance.
KEEPALIVE_OFF = ["--ping-interval", "none"]

#: What ``--compression deflate`` adds to either server's command line.
COMPRESSION_ON = ["--compression", "deflate"]

URL_PATTERN = re.compile(r"ws://[\w.\-\[\]:]+:\d+/?")


def case_patterns(text: str) -> List[str]:
    """``"1-10"`` -> ``["1.*", "2.*", ..., "10.*"]`` (only groups that exist).

    Comma-separated items: a group ``7``, a range of groups ``1-10``, or a case pattern
    as Autobahn writes them (``7.1.*``, ``9.2.6``), passed on unchanged.
    """
    patterns: List[str] = []
    for item in (part.strip() for part in text.split(",")):
        if "." in item:
            patterns.append(item)
            continue
        first, _, last = item.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise ValueError(f"not a group, a range of groups or a case pattern: {item!r}")
        wanted = range(int(first), int(last or first) + 1)
        groups = [g for g in wanted if g in GROUP_NAMES]
        if not groups:
            raise ValueError(f"Autobahn has no case group in {item!r}")
        patterns += [f"{g}.*" for g in groups]
    return patterns


def keepalive_off(server_help: str, server_args: List[str]) -> List[str]:
    """:data:`KEEPALIVE_OFF` if the server has that option and the user did not set it."""
    if KEEPALIVE_OFF[0] not in server_help:
        return []  # a server without keepalive options sends no Pings of its own
    if any(arg.split("=")[0] == KEEPALIVE_OFF[0] for arg in server_args):
        return []  # the user chose: keep their value
    return list(KEEPALIVE_OFF)


def server_help(server_argv: List[str]) -> str:
    """The ``--help`` text of wslearn's ``serve`` command ("" for another server)."""
    if server_argv[1:4] != ["-m", "wslearn", "serve"]:
        return ""
    result = subprocess.run(
        server_argv[:4] + ["--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    return result.stdout


def git_commit() -> str:
    """The commit of the tree under test, and whether the library has uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "wslearn"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown (no git)"
    if not head:
        return "unknown (not a git checkout)"
    return head + (" + uncommitted changes in wslearn/" if dirty else "")


def start(
    argv: List[str], log_path: Path, cwd: Path, env: Optional[Dict[str, str]] = None
) -> subprocess.Popen:
    """Start ``argv`` in a session of its own, output to ``log_path``.

    Its own session: Ctrl-C in the terminal reaches only this command, which then stops
    the child itself, in order, and :func:`stop` can end the child's whole process group.
    """
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )


def stop(process: Optional[subprocess.Popen]) -> None:
    """End ``process`` and its group: SIGTERM, then SIGKILL after a grace period."""
    if process is None or process.poll() is not None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)  # the group id is the child's pid (own session)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=STOP_GRACE_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_for_url(process: subprocess.Popen, log_path: Path) -> str:
    """The ``ws://`` URL the server prints once it listens; RuntimeError if it does not."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        match = URL_PATTERN.search(log_path.read_text(errors="replace"))
        if match:
            return match.group(0)
        if process.poll() is not None:
            break
        time.sleep(0.1)
    output = log_path.read_text(errors="replace").strip()[-2000:]
    raise RuntimeError(f"the server did not start (its output: {output or 'none'})")


def run_wstest(
    argv: List[str],
    log_path: Path,
    cwd: Path,
    seconds: float,
    *,
    python3: bool = False,
    progress_log: Optional[Path] = None,
) -> Tuple[str, str]:
    """Run the fuzzing client to its end, printing progress; (how it ended, its log).

    With ``--client`` the process is the client driver instead (``python3``: it keeps this
    environment), and the progress is read from the fuzzing server's log, ``progress_log``.
    """
    process = start(argv, log_path, cwd, env=None if python3 else py2env.clean_env())
    try:
        started = last_print = time.monotonic()
        while process.poll() is None:
            if time.monotonic() - started > seconds:
                return f"stopped after {seconds:.0f} s (--timeout)", log_path.read_text()
            if time.monotonic() - last_print > PROGRESS_EVERY_SECONDS:
                progress = (progress_log or log_path).read_text(errors="replace")
                done = progress.count("Running test case ID")
                print(f"  ... {done} cases started ({time.monotonic() - started:.0f} s)")
                last_print = time.monotonic()
            time.sleep(0.5)
        ended = "finished" if process.returncode == 0 else f"exit code {process.returncode}"
        return ended, log_path.read_text(errors="replace")
    finally:
        stop(process)


def parse_wstest_log(log: str) -> Tuple[List[str], str]:
    """The cases wstest said it would run, and its version line."""
    cases: List[str] = []
    match = re.search(r"^Cases = (\[.*\])$", log, re.MULTILINE)
    if match:
        cases = [str(c) for c in ast.literal_eval(match.group(1))]
    version = re.search(r"Testsuite Version ([\w.]+) / Autobahn Version ([\w.]+)", log) or (
        re.search(r"Autobahn WebSocket ([\w.]+)/([\w.]+) Fuzzing Server", log)  # --client
    )
    versions = f"{version.group(1)} (autobahn {version.group(2)})" if version else "unknown"
    return cases, versions


def parse_args(argv: List[str]) -> argparse.Namespace:
    extra: List[str] = []
    if "--" in argv:  # everything after -- goes to the server unchanged
        argv, extra = argv[: argv.index("--")], argv[argv.index("--") + 1 :]
    parser = argparse.ArgumentParser(
        prog="python conformance/run.py",
        description="Run Autobahn|Testsuite's fuzzing client against a server (or its fuzzing "
        "server against a client, --client); write the summary.",
        epilog="Arguments after -- are passed to the server too.",
    )
    parser.add_argument(
        "--cases",
        help="groups, ranges of groups or case patterns, comma-separated (default 1-10: "
        "every group but 12 and 13, permessage-deflate; with --compression deflate, "
        "1-10,12,13: all 517 cases, about 15 minutes)",
    )
    parser.add_argument(
        "--server",
        choices=sorted(SERVERS),
        help="server under test (default wslearn: its command line; asyncio: "
        "wslearn.asyncio.serve; websockets: a reference, for comparison)",
    )
    parser.add_argument(
        "--client",
        choices=CLIENTS,
        help="test a wslearn client instead (threaded: wslearn.client.connect; asyncio: "
        "wslearn.asyncio.connect) against Autobahn's fuzzing server; summary in "
        "conformance/SUMMARY-client-<client>.md",
    )
    parser.add_argument(
        "--server-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="one more argument for the server's command line, e.g. "
        "--server-arg=--close-timeout=5 (repeat for more)",
    )
    parser.add_argument(
        "--compression",
        choices=["none", "deflate"],
        default="none",
        help="deflate: start the server with --compression deflate (permessage-deflate, "
        "which groups 12 and 13 test; groups 1-10 then run with it negotiated too). "
        f"The summary then goes to conformance/{DEFLATE_SUMMARY_FILE.name}",
    )
    parser.add_argument(
        "--python2",
        metavar="PATH",
        help="the Python 2.7 to run the suite with (default: pyenv's, or PATH's)",
    )
    parser.add_argument(
        "--rebuild-env",
        action="store_true",
        help=f"reinstall the suite into {ENV_DIR.name}/ even if it is ready",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_RUN_SECONDS,
        metavar="SECONDS",
        help=f"stop the suite if it runs longer (default {DEFAULT_RUN_SECONDS})",
    )
    parser.add_argument(
        "--summary",
        type=Path,
        metavar="PATH",
        help="where to write the summary (default: conformance/SUMMARY.md for "
        f"wslearn, {DEFLATE_SUMMARY_FILE.name} with compression, SUMMARY-asyncio.md for "
        "the asyncio server, SUMMARY-client-<client>.md with --client, the report folder "
        "for websockets)",
    )
    args = parser.parse_args(argv)
    args.server_args = args.server_arg + extra
    if args.client is not None:
        if args.server is not None or args.server_args:
            parser.error("--client tests a client: it takes no --server nor server arguments")
        if args.compression != "none":
            parser.error("--client runs without compression (groups 1-10)")
    args.server = args.server or "wslearn"
    if args.cases is None:
        args.cases = "1-10,12,13" if args.compression == "deflate" else "1-10"
    try:
        args.patterns = case_patterns(args.cases)
    except ValueError as error:
        parser.error(str(error))
    return args


def raise_interrupt(signum: int, frame: object) -> None:
    """SIGTERM and SIGHUP end the run like Ctrl-C does, so every ``finally`` stops its child."""
    raise KeyboardInterrupt


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # Ctrl-C raises KeyboardInterrupt even where the shell started us with SIGINT ignored
    # (a background job); SIGTERM and SIGHUP do the same, so every child gets stopped.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, raise_interrupt)
    signal.signal(signal.SIGHUP, raise_interrupt)
    try:
        return conform(args)
    except KeyboardInterrupt:
        print("conformance: interrupted (every process it started is stopped)", file=sys.stderr)
        return 130


def conform(args: argparse.Namespace) -> int:
    """One run, from finding Python 2.7 to writing the summary; returns the exit status."""
    began = time.monotonic()
    try:
        python2 = py2env.find_python2(args.python2)
        env_dir = py2env.ensure_env(python2, ENV_DIR, rebuild=args.rebuild_env)
        deflate = args.compression == "deflate"
        report_dir = REPORTS_DIR / run_name(args)
        shutil.rmtree(report_dir, ignore_errors=True)  # no stale index.json from an older run
        report_dir.mkdir(parents=True)
        if args.client is not None:
            agent = f"wslearn-{args.client}"
            under_test = ("client", f"`python conformance/clients.py --client {args.client}`")
            log, suite_seconds, notes = fuzz_client(args, python2, env_dir, report_dir, agent)
        else:
            agent = args.server
            server_argv = SERVERS[args.server]
            server_argv = server_argv + keepalive_off(server_help(server_argv), args.server_args)
            server_argv += (COMPRESSION_ON if deflate else []) + args.server_args
            under_test = ("server", f"`{shown(server_argv)}`")
            log, suite_seconds, notes = fuzz(args, python2, env_dir, report_dir, server_argv)
    except (py2env.Python2Missing, RuntimeError) as error:
        print(f"conformance: cannot run: {error}", file=sys.stderr)
        return 2
    expected, versions = parse_wstest_log(log)
    summary = load_summary(report_dir / "index.json", agent, expected)
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "wslearn commit": git_commit(),
        "Autobahn|Testsuite": f"{versions}, Python {py2env.python2_version(python2)}",
        under_test[0]: under_test[1],
        "cases": " ".join(args.patterns),
        "time": f"{suite_seconds:.0f} s for the suite, {time.monotonic() - began:.0f} s in all",
    }
    if args.compression == "deflate":
        info["compression"] = compression_note(report_dir, args.server)
    info.update({f"note {n}": note for n, note in enumerate(notes, 1)})
    summary_file = args.summary or summary_file_for(args) or report_dir / "SUMMARY.md"
    summary_file.write_text(render(summary, info, report_dir, peer=under_test[0]))
    for g in summary.groups():
        print(f"{g.group:>2} {g.name:<26} {g.ok:>3}/{g.cases} OK")
    informational = len(summary.by_verdict("informational"))
    print(
        f"{'PASS' if summary.all_ok and not notes else 'FAIL'} "
        f"({informational} informational by design): summary in {summary_file}, "
        f"reports in {report_dir} (open index.html)"
    )
    return 0 if summary.all_ok and not notes else 1


def run_name(args: argparse.Namespace) -> str:
    """The run's folder in ``.conformance-reports/``: ``wslearn``, ``asyncio-deflate``,
    ``client-threaded``, ..."""
    if args.client is not None:
        return f"client-{args.client}"
    return args.server + ("-deflate" if args.compression == "deflate" else "")


def summary_file_for(args: argparse.Namespace) -> Optional[Path]:
    """Where a run's summary is kept in ``conformance/``; None for the websockets reference.

    Each wslearn implementation and role has its own, so that one run never overwrites
    another's: ``SUMMARY.md`` (the threaded server), ``SUMMARY-deflate.md``,
    ``SUMMARY-asyncio.md`` (``-asyncio-deflate``), ``SUMMARY-client-threaded.md``, ...
    """
    if args.client is not None:
        return HERE / f"SUMMARY-client-{args.client}.md"
    deflate = args.compression == "deflate"
    if args.server == "wslearn":
        return DEFLATE_SUMMARY_FILE if deflate else SUMMARY_FILE
    if args.server == "asyncio":
        return HERE / f"SUMMARY-asyncio{'-deflate' if deflate else ''}.md"
    return None


def compression_note(report_dir: Path, agent: str) -> str:
    """In how many cases the server's 101 accepted permessage-deflate, read from the reports.

    Autobahn's fuzzing client offers it only in cases 12.* and 13.*: the others run against
    a server with compression on, but with a client that does not ask for it (their frames,
    RSV1 set in 3.* for one, mean what RFC 6455 alone says).
    """
    accepted = total = 0
    for path in report_dir.glob(f"{agent}_case_*.json"):
        total += 1
        response = json.loads(path.read_text(errors="replace")).get("httpResponse") or ""
        accepted += "sec-websocket-extensions: permessage-deflate" in response.lower()
    return (
        f"permessage-deflate accepted in {accepted} of {total} cases (the fuzzing client "
        "offers it in cases 12.* and 13.* only)"
    )


def shown(argv: List[str]) -> str:
    """A command line as a person would type it: ``python``, paths from the project root."""
    return " ".join(["python"] + argv[1:]).replace(str(ROOT) + "/", "")


def fuzz(
    args: argparse.Namespace, python2: str, env_dir: Path, report_dir: Path, server_argv: List[str]
) -> Tuple[str, float, List[str]]:
    """Start the server, run the fuzzing client against it, stop the server.

    Returns wstest's log, how long the suite ran, and notes on anything that went wrong
    (the suite timed out or crashed, the server exited during the run). RuntimeError if
    the server does not start.
    """
    notes: List[str] = []
    server = start(server_argv, report_dir / "server.log", ROOT)
    try:
        url = wait_for_url(server, report_dir / "server.log")
        print(f"server: {shown(server_argv)} -> {url}")
        spec = {
            "outdir": str(report_dir),
            "servers": [{"agent": args.server, "url": url}],
            "cases": args.patterns,
            "exclude-cases": [],
            "exclude-agent-cases": {},
        }
        (report_dir / "fuzzingclient.json").write_text(json.dumps(spec, indent=2) + "\n")
        print(f"running Autobahn|Testsuite on {', '.join(args.patterns)} (python2: {python2})")
        began = time.monotonic()
        ended, log = run_wstest(
            py2env.wstest_argv(python2, env_dir, "-m", "fuzzingclient", "-s", "fuzzingclient.json"),
            report_dir / "wstest.log",
            report_dir,
            args.timeout,
        )
        seconds = time.monotonic() - began
        if ended != "finished":
            notes.append(f"the suite {ended} (see {report_dir / 'wstest.log'})")
        if server.poll() is not None:
            notes.append(f"the server exited during the run (code {server.returncode})")
        return log, seconds, notes
    finally:
        stop(server)


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on now (the system picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(process: subprocess.Popen, port: int, log_path: Path) -> None:
    """Return once ``port`` of 127.0.0.1 accepts connections; RuntimeError if it never does."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    output = log_path.read_text(errors="replace").strip()[-2000:]
    raise RuntimeError(f"the fuzzing server did not start (its output: {output or 'none'})")


def fuzz_client(
    args: argparse.Namespace, python2: str, env_dir: Path, report_dir: Path, agent: str
) -> Tuple[str, float, List[str]]:
    """Start Autobahn's fuzzing server, drive a wslearn client through it, stop the server.

    The fuzzing server listens on a free port of 127.0.0.1 and runs the chosen cases for any
    client that asks; ``clients.py`` is that client (its output in ``client.log``). Returns
    the fuzzing server's log, how long the cases took, and notes on what went wrong.
    """
    notes: List[str] = []
    url = f"ws://127.0.0.1:{free_port()}"
    spec = {
        "url": url,
        "outdir": str(report_dir),
        "cases": args.patterns,
        "exclude-cases": [],
        "exclude-agent-cases": {},
    }
    (report_dir / "fuzzingserver.json").write_text(json.dumps(spec, indent=2) + "\n")
    wstest_log = report_dir / "wstest.log"
    argv = py2env.wstest_argv(python2, env_dir, "-m", "fuzzingserver", "-s", "fuzzingserver.json")
    fuzzing_server = start(argv, wstest_log, report_dir, env=py2env.clean_env())
    try:
        wait_for_port(fuzzing_server, int(url.rsplit(":", 1)[1]), wstest_log)
        print(f"Autobahn's fuzzing server on {url}; client: {args.client} (python2: {python2})")
        began = time.monotonic()
        client_argv = [sys.executable, str(HERE / "clients.py"), "--client", args.client]
        client_argv += ["--url", url, "--agent", agent]
        ended, _ = run_wstest(
            client_argv,
            report_dir / "client.log",
            ROOT,
            args.timeout,
            python3=True,
            progress_log=wstest_log,
        )
        seconds = time.monotonic() - began
        if ended != "finished":
            notes.append(f"the client driver {ended} (see {report_dir / 'client.log'})")
        if fuzzing_server.poll() is not None:
            notes.append(f"the fuzzing server exited during the run ({fuzzing_server.returncode})")
        return wstest_log.read_text(errors="replace"), seconds, notes
    finally:
        stop(fuzzing_server)


if __name__ == "__main__":
    sys.exit(main())
