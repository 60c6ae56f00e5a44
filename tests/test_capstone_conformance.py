"""The capstone's conformance run scores right servers full, and broken ones case by case.

Right servers (``wslearn.serve``, ``wslearn.asyncio.serve``) pass every case. The toy server of
notebook 08 fails the cases its bugs break, each with its notebook and rule. Hostile servers
(silent, closing at once, sending garbage or a huge frame) give failed cases that say what was
seen, within the time limits, never an exception. Everything runs on 127.0.0.1; every server
is stopped and no socket or thread is left behind.
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from typing import Callable, Iterator, List

import pytest
from helpers.leftovers import left_behind, open_things

import wslearn
import wslearn.asyncio
from wslearn.bad_examples.toy_server import ToyServer, serve_toy
from wslearn.capstone import (
    CASES,
    case_table,
    compare,
    run_conformance,
    run_side_by_side,
)
from wslearn.capstone import topics as t
from wslearn.capstone.probe import HEAD_LIMIT
from wslearn.handshake import accept_key

NAMES = [case.name for case in CASES]


@pytest.fixture
def no_leftovers() -> Iterator[None]:
    before = open_things()
    yield
    assert not left_behind(before), "a thread or a socket outlived the test"


@pytest.fixture
def echo_server() -> Iterator[wslearn.Server]:
    with wslearn.serve(port=0, show_errors=False) as server:
        yield server


class ScriptedServer:
    """A raw TCP server on 127.0.0.1 that treats every connection with ``script(conn)``."""

    def __init__(self, script: Callable[[socket.socket], None]) -> None:
        self.script = script
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.running = True
        self.conns: List[socket.socket] = []
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        while self.running:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            conn.settimeout(3)
            self.conns.append(conn)
            thread = threading.Thread(target=self._run, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _run(self, conn: socket.socket) -> None:
        try:
            self.script(conn)
        except OSError:
            pass

    def stop(self) -> None:
        self.running = False
        for conn in self.conns:
            conn.close()
        for thread in self.threads:
            thread.join(timeout=3)
        self.listener.close()


def scripted(script: Callable[[socket.socket], None]) -> Iterator[ScriptedServer]:
    server = ScriptedServer(script)
    try:
        yield server
    finally:
        server.stop()


def read_head(conn: socket.socket) -> bytes:
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            break
        head += chunk
    return head


def answer_101(conn: socket.socket, accept: str = "") -> None:
    """Read the request, answer a 101 (with the right accept key unless ``accept`` is given)."""
    head = read_head(conn)
    key = next(
        (line.split(b":", 1)[1].strip().decode() for line in head.split(b"\r\n")
         if line.lower().startswith(b"sec-websocket-key:")),
        "",
    )  # fmt: skip
    conn.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + f"Sec-WebSocket-Accept: {accept or accept_key(key)}\r\n\r\n".encode()
    )


# ---------------------------------------------------------------------- right servers


def test_the_threaded_server_passes_every_case(echo_server, no_leftovers) -> None:
    report = run_conformance(echo_server.port)
    assert [r.name for r in report.results] == NAMES
    assert report.failures == [], str(report)
    assert report.score == f"{len(NAMES)}/{len(NAMES)}"
    assert "1009" in report["oversized"].seen and "TCP closed" in report["close-echoed"].seen
    assert "PONG" in report["fragments-with-ping"].seen


def test_the_asyncio_server_passes_every_case(no_leftovers) -> None:
    async def main() -> wslearn.capstone.ConformanceReport:
        server = await wslearn.asyncio.serve(wslearn.asyncio.echo, port=0, show_errors=False)
        try:
            return await asyncio.wait_for(asyncio.to_thread(run_conformance, server.port), 30)
        finally:
            await server.close()

    report = asyncio.run(main())
    assert report.failures == [], str(report)
    assert report.total == len(NAMES)


def test_a_url_with_a_path_and_a_subset_of_cases(echo_server) -> None:
    report = run_conformance(f"ws://127.0.0.1:{echo_server.port}/chat", cases=["length-7bit"])
    assert [r.name for r in report.results] == ["length-7bit"] and report.passed == 1
    assert report.target.endswith("/chat")


@pytest.mark.parametrize(
    "target", ["ws://example.com:80/", "http://127.0.0.1:80/", "ws://127.0.0.1/", 0, 70000]
)
def test_a_target_off_this_machine_or_not_a_port_is_refused(target) -> None:
    with pytest.raises(ValueError):
        run_conformance(target)


def test_an_unknown_case_name_is_refused_naming_the_cases() -> None:
    with pytest.raises(ValueError, match="handshake-valid"):
        run_conformance(1234, cases=["no-such-case"])


# ---------------------------------------------------------------------- broken servers

#: What the toy of notebook 08 gets wrong, case by case: the notebook named, and what is seen.
TOY_FAILURES = {
    "handshake-missing-key": (t.NOTEBOOK_REQUEST, "TCP closed while waiting for an HTTP"),
    "handshake-wrong-version": (t.NOTEBOOK_REQUEST, "status 101"),
    "length-16bit": (t.NOTEBOOK_HEADER, "[81 7e"),
    "length-64bit": (t.NOTEBOOK_HEADER, "[81 7f"),
    "binary": (t.NOTEBOOK_TALKING_BACK, "echoed as TEXT, sent as BINARY"),
    "unmasked-frame": (t.NOTEBOOK_UNMASKING, "a TEXT frame where a Close 1002 was due"),
    "fragments-with-ping": (t.NOTEBOOK_STREAMS, "b'Hello, '"),
    "invalid-utf8": (t.NOTEBOOK_STREAMS, "a TEXT frame where a Close 1007 was due"),
    "close-echoed": (t.NOTEBOOK_TALKING_BACK, "a TEXT frame where a Close 1000 was due"),
    "oversized": (t.NOTEBOOK_STREAMS, "announcing"),
}


@pytest.fixture
def toy() -> Iterator[ToyServer]:
    server = serve_toy(0)
    try:
        yield server
    finally:
        server.stop()


def test_the_toy_server_fails_where_its_bugs_are(toy, no_leftovers) -> None:
    report = run_conformance(toy.port, case_timeout=2.0)
    assert {r.name for r in report.failures} == set(TOY_FAILURES), str(report)
    assert report.score == f"{len(NAMES) - len(TOY_FAILURES)}/{len(NAMES)}"
    for name, (notebook, seen) in TOY_FAILURES.items():
        result = report[name]
        assert result.notebook == notebook, result
        assert seen in result.seen, result
        assert result.rule.startswith("RFC 6455 §"), result
    assert report["binary"].rule == t.MESSAGE_TYPE
    assert report["handshake-wrong-version"].rule == t.WRONG_VERSION


def test_a_server_without_a_size_limit_fails_only_the_oversized_case() -> None:
    with wslearn.serve(port=0, max_size=None, show_errors=False) as server:
        report = run_conformance(server.port)
    assert [r.name for r in report.failures] == ["oversized"], str(report)
    assert report["oversized"].rule == t.OVERSIZED
    assert "announcing 1048577 B" in report["oversized"].seen


def test_a_server_that_answers_in_binary_fails_the_text_cases_on_the_message_type() -> None:
    def as_binary(conn, message) -> None:
        conn.send(message.encode() if isinstance(message, str) else message)

    with wslearn.serve(port=0, handler=as_binary, show_errors=False) as server:
        report = run_conformance(server.port, cases=["length-7bit", "binary"])
    assert [r.passed for r in report.results] == [False, True]
    failed = report["length-7bit"]
    assert (failed.notebook, failed.rule) == (t.NOTEBOOK_TALKING_BACK, t.MESSAGE_TYPE)


def test_a_wrong_accept_key_fails_the_handshake_case_only_there() -> None:
    def wrong_key_then_silence(conn: socket.socket) -> None:
        answer_101(conn, accept="dGhlIHNhbXBsZSBub25jZQ==")
        conn.recv(1024)

    for server in scripted(wrong_key_then_silence):
        report = run_conformance(server.port, cases=["handshake-valid"])
    result = report["handshake-valid"]
    assert not result.passed and result.rule == t.ACCEPT_KEY
    assert "Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==" in result.seen


def test_a_server_that_never_answers_fails_each_case_in_time(no_leftovers) -> None:
    for server in scripted(lambda conn: time.sleep(2)):
        started = time.monotonic()
        report = run_conformance(server.port, case_timeout=0.2, total_timeout=1.0)
        elapsed = time.monotonic() - started
    assert report.passed == 0 and report.total == len(NAMES)
    assert elapsed < 1.0 + 0.5
    ran = [r for r in report.results if not r.seen.startswith("not run")]
    assert 3 <= len(ran) < len(NAMES)
    for result in ran:
        assert result.seconds < 0.2 + 0.2, result
        assert "nothing until the case's" in result.seen, result
    assert "not run: the run's 1 s were used up" in report.results[-1].seen


def test_a_server_that_closes_at_once_fails_every_case_saying_so(no_leftovers) -> None:
    for server in scripted(lambda conn: conn.close()):
        report = run_conformance(server.port, case_timeout=1.0)
    assert report.passed == 0
    for result in report.results:
        assert "TCP closed while waiting for an HTTP response" in result.seen, result


def test_garbage_instead_of_http_is_read_no_further_than_the_head_limit() -> None:
    def garbage(conn: socket.socket) -> None:
        noise = b"\x16\x03\x01" + bytes(range(256)) * 4  # no CRLF pair in it
        for _ in range(200):  # ~200 KiB, far more than an HTTP head may take
            conn.sendall(noise)

    for server in scripted(garbage):
        report = run_conformance(server.port, case_timeout=1.0, cases=NAMES[:3])
    for result in report.results:
        assert "not an HTTP response" in result.seen, result
        read = int(re.search(r"\((\d+) B\)", result.seen).group(1))  # type: ignore[union-attr]
        assert read <= HEAD_LIMIT + 1, result


def test_a_garbage_status_line_is_named_as_not_http() -> None:
    for server in scripted(lambda conn: conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")):
        report = run_conformance(server.port, case_timeout=1.0, cases=["handshake-valid"])
    assert "not an HTTP response" in report.results[0].seen
    assert "SSH-2.0" in report.results[0].seen


def test_a_huge_frame_is_refused_from_its_header_and_a_broken_one_named() -> None:
    def huge(conn: socket.socket) -> None:
        answer_101(conn)
        conn.sendall(bytes.fromhex("81 7f 7f ff ff ff ff ff ff ff") + b"x" * 1000)
        conn.recv(1024)

    def reserved_opcode(conn: socket.socket) -> None:
        answer_101(conn)
        conn.sendall(bytes.fromhex("83 00"))
        conn.recv(1024)

    for server in scripted(huge):
        report = run_conformance(server.port, case_timeout=1.0, cases=["length-7bit"])
    assert "announcing 9223372036854775807 B" in report.results[0].seen
    for server in scripted(reserved_opcode):
        report = run_conformance(server.port, case_timeout=1.0, cases=["length-7bit"])
    result = report.results[0]
    assert (result.notebook, result.rule) == (t.NOTEBOOK_HEADER, t.FRAME_HEADER)
    assert "opcode 0x3 is reserved" in result.seen


def test_nothing_listening_fails_every_case_quickly() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    report = run_conformance(port, case_timeout=1.0)
    assert report.passed == 0
    assert all("could not connect" in r.seen for r in report.results)


# ---------------------------------------------------------------------- reports


def test_the_report_and_the_comparison_show_score_notebook_and_rule(echo_server) -> None:
    good = run_conformance(echo_server.port, cases=["binary", "close-echoed"])
    for server in scripted(lambda conn: conn.close()):
        bad = run_conformance(server.port, case_timeout=1.0, cases=["binary", "close-echoed"])
    text, page = str(bad), bad._repr_html_()
    assert "0/2 passed" in text and "FAIL" in text and t.NOTEBOOK_TALKING_BACK in text
    assert t.MESSAGE_TYPE in text and "<table>" in page and "FAIL" in page
    comparison = compare(bad, good)
    assert comparison.differences == ["binary", "close-echoed"]
    shown = str(comparison)
    assert "your server 0/2 · wslearn.serve 2/2" in shown and "differs" in shown
    assert "<table>" in comparison._repr_html_()
    assert compare(good, good).differences == []


def test_side_by_side_starts_and_stops_its_own_reference(toy, no_leftovers) -> None:
    comparison = run_side_by_side(toy.port, case_timeout=2.0)
    assert comparison.second.failures == []
    assert set(comparison.differences) == set(TOY_FAILURES)


def test_the_case_table_lists_every_case_with_its_notebook() -> None:
    table = case_table()
    assert [row[0] for row in table.rows] == NAMES
    assert all(row[1][:2].isdigit() for row in table.rows)
    assert "oversized" in str(table) and "1048576" in table._repr_html_()
