"""The ``serve`` command: run the live server in the foreground until Ctrl-C or SIGTERM.

    python -m wslearn serve --port 8080 --max-size 16MiB --handler echo

Its options are :func:`wslearn.serve`'s, spelled for a shell: sizes such as ``64KiB`` or
``16MiB`` (:func:`parse_size`), time limits in seconds or ``none`` (:func:`parse_seconds`).
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from typing import Any, List, Optional, Union

from .handlers import BUILTIN_HANDLERS
from .handshake import LOCAL
from .keepalive import DEFAULT_PING_INTERVAL, DEFAULT_PING_TIMEOUT
from .outbox import DEFAULT_WRITE_LIMIT, DEFAULT_WRITE_TIMEOUT
from .server import Server
from .server_settings import DEFAULT_WINDOW_BITS

__all__ = [
    "add_serve_command",
    "origins_option",
    "parse_seconds",
    "parse_size",
    "positive_seconds",
    "run_serve",
]

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
    """Parse ``16MiB``, ``1000000``, ``64 KiB`` or ``none`` (no limit) into bytes.

    ``0`` is refused: as a limit it would refuse every message, and it must never be
    taken to mean "no limit" (a peer could then announce 2**63 - 1 bytes).
    """
    if text.strip().lower() in ("none", "unlimited"):
        return None
    match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 1048576, 64KiB or 16MiB)")
    size = int(match.group(1)) * _UNITS[match.group(2).lower()]
    if size == 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} would refuse every message; give a size such as 1MiB, or 'none' for no limit"
        )
    return size


def parse_seconds(text: str) -> Optional[float]:
    """Parse seconds such as ``20`` or ``0.5``; ``none`` (or ``off``) turns the limit off."""
    if text.strip().lower() in ("none", "off"):
        return None
    try:
        seconds = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not seconds > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text!r}: give more than 0 seconds, or 'none'")
    return seconds


def positive_seconds(text: str) -> float:
    """Parse a time limit that cannot be turned off: more than 0 seconds."""
    seconds = parse_seconds(text)
    if seconds is None:
        raise argparse.ArgumentTypeError("this limit cannot be turned off: give seconds, e.g. 5")
    return seconds


def positive_int(text: str) -> int:
    """Parse a count of at least 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"not a count of at least 1: {text!r}")
    return int(text)


def window_bits(text: str) -> int:
    """Parse a window size in bits: 9 to 15 (zlib cannot compress with 8)."""
    if not text.strip().isdigit() or not 9 <= int(text) <= 15:
        raise argparse.ArgumentTypeError(f"window bits go from 9 to 15, not {text!r}")
    return int(text)


def origins_option(values: Optional[List[str]]) -> Union[str, List[str], None]:
    """``--origin`` as ``serve()`` takes it: none given is the local default, ``*`` any page."""
    if not values:
        return LOCAL
    if "*" in values:
        return None
    return values


def add_serve_command(commands: Any) -> None:
    """Add ``serve`` and its options to the command line's sub-commands."""
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
        help="allow pages from this Origin only (repeat for more; '*' for every page); others "
        "get 403. Default: pages of this server's host and of this machine",
    )
    run.add_argument(
        "--handler",
        choices=list(BUILTIN_HANDLERS),
        default="echo",
        help="; ".join(  # each built-in handler with its docstring
            f"{name}: {(function.__doc__ or '').rstrip('.')}"
            for name, function in BUILTIN_HANDLERS.items()
        ),
    )
    run.add_argument("--quiet", action="store_true", help="don't print a line per frame")
    run.add_argument(
        "--handshake-timeout",
        type=positive_seconds,
        default=5.0,
        metavar="SECONDS",
        help="drop a client whose opening handshake takes longer (default 5)",
    )
    run.add_argument(
        "--close-timeout",
        type=positive_seconds,
        default=3.0,
        metavar="SECONDS",
        help="stop waiting for a peer's Close frame after this long (default 3)",
    )
    run.add_argument(
        "--ping-interval",
        type=parse_seconds,
        default=DEFAULT_PING_INTERVAL,
        metavar="SECONDS",
        help="ping a quiet peer after this long (default 20; 'none': never)",
    )
    run.add_argument(
        "--ping-timeout",
        type=parse_seconds,
        default=DEFAULT_PING_TIMEOUT,
        metavar="SECONDS",
        help="close a peer whose Pong takes longer (default 20; 'none': never)",
    )
    run.add_argument(
        "--write-limit",
        type=parse_size,
        default=DEFAULT_WRITE_LIMIT,
        metavar="SIZE",
        help="a peer with more than this unread waits for its reading (default 64KiB)",
    )
    run.add_argument(
        "--write-timeout",
        type=positive_seconds,
        default=DEFAULT_WRITE_TIMEOUT,
        metavar="SECONDS",
        help="close a peer that reads nothing for this long while data waits (default 10)",
    )
    run.add_argument(
        "--compression",
        choices=["none", "deflate"],
        default="none",
        help="deflate: accept the permessage-deflate a client offers (RFC 7692), so messages "
        "cross compressed, RSV1 set. Default none: the course's notebooks show plain frames, "
        "and behind jupyter-server-proxy (which offers deflate itself) the compressed frames "
        "would be the proxy's, not the browser's",
    )
    run.add_argument(
        "--window-bits",
        type=window_bits,
        default=DEFAULT_WINDOW_BITS,
        metavar="BITS",
        help="with --compression deflate: the largest window, 2**BITS bytes, the server "
        "compresses with and asks clients to use (9-15; default 12: about 40 KiB of zlib "
        "memory per connection)",
    )
    run.add_argument(
        "--max-connections",
        type=positive_int,
        default=None,
        metavar="N",
        help="turn further clients away with 503 (default: no cap but the file descriptors)",
    )


def run_serve(args: argparse.Namespace) -> int:
    log = None if args.quiet else (lambda line: print(line, flush=True))
    try:
        # Server, not serve(): the port asked for or none (serve() would take any free one)
        server = Server(
            args.host,
            args.port,
            handler=args.handler,
            max_size=args.max_size,
            origins=origins_option(args.origins),
            log=log,
            handshake_timeout=args.handshake_timeout,
            close_timeout=args.close_timeout,
            ping_interval=args.ping_interval,
            ping_timeout=args.ping_timeout,
            write_limit=args.write_limit,
            write_timeout=args.write_timeout,
            max_connections=args.max_connections,
            compression=None if args.compression == "none" else args.compression,
            window_bits=args.window_bits,
        ).start()
    except OSError as error:
        print(
            f"wslearn: cannot listen on {args.host}:{args.port}: {error.strerror or error}",
            file=sys.stderr,
        )
        return 1
    compressed = ", permessage-deflate on" if server.compression.enabled else ""
    print(
        f"wslearn {args.handler} server on {server.url}  (test page: {server.http_url}"
        f"{compressed})",
        flush=True,
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
