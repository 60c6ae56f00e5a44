"""Command line: ``python -m wslearn serve`` runs the live server in the foreground.

    python -m wslearn serve --port 8080 --max-size 16MiB --handler echo

It serves the test page at ``http://127.0.0.1:8080/``, prints one line per
frame (``--quiet`` turns that off, e.g. for benchmarks), and stops cleanly on
Ctrl-C, closing every connection with 1001.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from pathlib import Path
from typing import List, Optional

from .server import serve

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 10**6,
    "mb": 10**6,
    "mib": 2**20,
    "g": 10**9,
    "gb": 10**9,
    "gib": 2**30,
}


def parse_size(text: str) -> Optional[int]:
    """Parse ``16MiB``, ``1000000``, ``64 KiB`` or ``none`` (no limit) into bytes."""
    if text.strip().lower() in ("none", "unlimited", "0"):
        return None
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 1048576, 64KiB or 16MiB)")
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wslearn",
        description="wslearn: WebSocket (RFC 6455) from the raw socket up.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    run = commands.add_parser(
        "serve",
        help="run the WebSocket server in the foreground (Ctrl-C stops it)",
        description="Run the wslearn WebSocket server: it echoes (or broadcasts) every "
        "message, serves a test page at /, and prints one line per frame.",
    )
    run.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    run.add_argument("--port", type=int, default=8080, help="TCP port (default 8080; 0: any free)")
    run.add_argument(
        "--max-size",
        type=parse_size,
        default=2**20,
        metavar="SIZE",
        help="largest message accepted, e.g. 1MiB (default) or 16MiB; 'none' for "
        "no limit. Bigger messages are refused with close code 1009",
    )
    run.add_argument(
        "--origin",
        action="append",
        metavar="URL",
        dest="origins",
        help="allow browsers from this Origin only (repeat for more); others get 403",
    )
    run.add_argument(
        "--handler",
        choices=["echo", "broadcast"],
        default="echo",
        help="echo: send each message back; broadcast: send it to every connection",
    )
    run.add_argument("--quiet", action="store_true", help="don't print a line per frame")
    student = commands.add_parser(
        "student",
        help="generate the student copies of the notebooks (solutions replaced by stubs)",
        description="Write a student copy of every notebook: solutions between "
        "'### BEGIN SOLUTION' and '### END SOLUTION' become stubs, hidden tests are removed, "
        "outputs cleared.",
    )
    student.add_argument("source", nargs="?", default="notebooks", help="source notebooks folder")
    student.add_argument("--out", default="student", help="where to write them (default student/)")
    student.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the copies in --out are not up to date",
    )
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "student":
        return _student(args)
    return _serve(args)


def _student(args: argparse.Namespace) -> int:
    from .classroom import write_student_copies

    changed = write_student_copies(Path(args.source), Path(args.out), check=args.check)
    if args.check:
        for path in changed:
            print(f"out of date: {path} (run: python -m wslearn student)", file=sys.stderr)
        return 1 if changed else 0
    print(f"wrote {len(changed)} changed student notebook(s) to {args.out}/")
    return 0


def _serve(args: argparse.Namespace) -> int:
    log = None if args.quiet else (lambda line: print(line, flush=True))
    try:
        server = serve(
            args.port,
            args.host,
            handler=args.handler,
            max_size=args.max_size,
            origins=args.origins,
            log=log,
        )
    except OSError as error:
        print(
            f"wslearn: cannot listen on {args.host}:{args.port}: {error.strerror or error}",
            file=sys.stderr,
        )
        return 1
    print(
        f"wslearn {args.handler} server on {server.url}  (test page: {server.http_url})", flush=True
    )
    print("Press Ctrl-C to stop.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    print("stopping: closing every connection with 1001 (going away)", flush=True)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
