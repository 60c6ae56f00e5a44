"""The capstone's conformance run: a server's behaviour checked case by case, bounded in time.

Notebook 12 has the learner assemble a small WebSocket echo server from their own functions.
:func:`run_conformance` then runs :data:`~wslearn.capstone.cases.CASES` against it over raw
sockets on 127.0.0.1 (a valid handshake, a missing key, a wrong version, the three length
cases, binary, an unmasked frame, fragments with a ping between them, invalid UTF-8, a close,
an oversized message) and returns a :class:`~wslearn.capstone.report.ConformanceReport`: the
score, and for each failure the notebook of its topic, the rule broken, and what was seen.

The server under test may be broken, or hostile: it may hang, answer garbage, close at once or
announce huge frames. None of that raises here: each becomes a failed case that says what
happened. Every case has ``case_timeout`` seconds, the whole run ``total_timeout`` (cases
left when it is used up are failed as not run), and memory is bounded by what a case needs.

:func:`run_side_by_side` runs the same cases against the learner's server and against
``wslearn.serve``, and shows where they differ.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any, Iterable, Optional, Tuple, Union

from ..deadline import Deadline
from .cases import CASES, Case
from .probe import Broken, Probe
from .report import CaseResult, Comparison, ConformanceReport, compare

__all__ = ["run_conformance", "run_side_by_side"]

#: The hosts a run may target: the server under test runs on this machine.
LOOPBACK = ("127.0.0.1", "localhost")


def _target(url_or_port: Union[str, int, Any]) -> Tuple[int, str]:
    """``(port, path)`` from a port number, a ``ws://127.0.0.1:<port>/<path>`` URL, or a
    running server (anything with a ``port``: ``serve_pieces()``, ``wslearn.serve()``)."""
    port_of = getattr(url_or_port, "port", None)
    if isinstance(port_of, int) and not isinstance(url_or_port, (str, int)):
        url_or_port = port_of
    if isinstance(url_or_port, int) and not isinstance(url_or_port, bool):
        port, path = url_or_port, "/"
    elif isinstance(url_or_port, str):
        url = urllib.parse.urlsplit(url_or_port)
        if url.scheme != "ws" or url.hostname not in LOOPBACK or url.port is None:
            raise ValueError(
                f"{url_or_port!r}: give a port, or a URL ws://127.0.0.1:<port>/ (the conformance "
                "run checks a server on this machine, over plain ws://)"
            )
        port, path = url.port, (url.path or "/") + (f"?{url.query}" if url.query else "")
    else:
        raise TypeError(f"a port (int) or a ws:// URL (str), not {type(url_or_port).__name__}")
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is not a TCP port (1-65535)")
    return port, path


def _chosen(cases: Optional[Iterable[str]]) -> Tuple[Case, ...]:
    if cases is None:
        return CASES
    by_name = {case.name: case for case in CASES}
    names = [cases] if isinstance(cases, str) else list(cases)
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ValueError(f"no such case: {', '.join(unknown)}; the cases are {', '.join(by_name)}")
    return tuple(by_name[name] for name in names)


def run_case(case: Case, port: int, path: str, deadline: Deadline) -> CaseResult:
    """Run one case on a connection of its own; whatever the server does, return a result."""
    started = time.monotonic()
    with Probe(port, deadline, path) as probe:
        try:
            case.run(probe)
        except Broken as broken:
            seen = " → ".join([*probe.seen, broken.what])
            return CaseResult(
                case.name,
                False,
                broken.notebook or case.notebook,
                broken.rule or case.rule,
                seen,
                time.monotonic() - started,
            )
        except Exception as error:  # noqa: BLE001 - the server's bytes must never crash the run
            seen = " → ".join([*probe.seen, f"bytes the checker could not read ({error!r})"])
            return CaseResult(
                case.name, False, case.notebook, case.rule, seen, time.monotonic() - started
            )
        return CaseResult(
            case.name, True, case.notebook, case.rule, " → ".join(probe.seen),
            time.monotonic() - started,
        )  # fmt: skip


def run_conformance(
    url_or_port: Union[str, int, Any],
    *,
    case_timeout: float = 5.0,
    total_timeout: float = 60.0,
    cases: Optional[Iterable[str]] = None,
) -> ConformanceReport:
    """Run the conformance cases against the echo server at ``url_or_port``; return the report.

    ``url_or_port`` is a port on 127.0.0.1, a ``ws://127.0.0.1:<port>/<path>`` URL, or a
    running server with a ``port``. The
    server must send back every message it receives. ``cases`` names the cases to run (all
    of :data:`~wslearn.capstone.cases.CASES` by default, in their order). Each case waits
    ``case_timeout`` seconds at most, the run ``total_timeout``: a case that cannot start
    in time fails as "not run". Raises only for a wrong argument (``ValueError``,
    ``TypeError``), never for what the server does.
    """
    port, path = _target(url_or_port)
    chosen = _chosen(cases)
    if case_timeout <= 0 or total_timeout <= 0:
        raise ValueError("case_timeout and total_timeout are seconds, above 0")
    total = Deadline(total_timeout)
    results = []
    for case in chosen:
        seconds = min(case_timeout, total.remaining())
        if seconds == 0:
            seen = f"not run: the run's {total_timeout:g} s were used up"
            results.append(CaseResult(case.name, False, case.notebook, case.rule, seen, 0.0))
            continue
        results.append(run_case(case, port, path, Deadline(seconds)))
    target = f"ws://127.0.0.1:{port}{path}"
    return ConformanceReport(target, results, total_timeout - total.remaining())


def run_side_by_side(
    url_or_port: Union[str, int, Any],
    reference: Union[str, int, Any, None] = None,
    *,
    names: Tuple[str, str] = ("your server", "wslearn.serve"),
    **options: Any,
) -> Comparison:
    """Run the same cases against your server and a reference, and compare the reports.

    ``reference`` is another server's port or URL; ``None`` (the default) starts
    ``wslearn.serve(port=0)`` (an echo server, max_size 1 MiB) for the run and stops it
    after. ``options`` are :func:`run_conformance`'s (``case_timeout``, ``total_timeout``,
    ``cases``).
    """
    yours = run_conformance(url_or_port, **options)
    if reference is not None:
        theirs = run_conformance(reference, **options)
        return compare(yours, theirs, names)
    from ..serving import serve  # only now: the server, its threads and sockets

    with serve(port=0, show_errors=False, ping_interval=None) as server:
        theirs = run_conformance(server.port, **options)
    return compare(yours, theirs, names)
