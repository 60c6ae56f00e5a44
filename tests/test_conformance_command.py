"""The conformance command's own logic, without Python 2.7 or Autobahn|Testsuite.

``python conformance/run.py`` (conformance/README.md) needs Python 2.7 and runs for about
a minute, so it is not part of this suite. What can go wrong without them is checked
here: how a report is counted (only OK and OK passes; NON-STRICT does not), how case
groups are chosen, when the keepalive is turned off, and that a missing Python 2.7 stops
the command with a clear message and a non-zero status.

The sample report, ``fixtures/conformance/``, has the shape ``wstest -m fuzzingclient``
writes: ``index.json`` (two verdicts per case and agent) and one file per case
(``wslearn_case_3_2.json`` is a real case 3.2 report, cut down to the fields read here).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from conformance import py2env  # noqa: E402
from conformance.run import case_patterns, keepalive_off, parse_wstest_log  # noqa: E402
from conformance.summary import load_summary, render  # noqa: E402

pytestmark = pytest.mark.timeout(60)

FIXTURES = ROOT / "tests" / "fixtures" / "conformance"
INDEX = FIXTURES / "index.json"


def test_only_ok_and_ok_passes() -> None:
    summary = load_summary(INDEX, "wslearn")
    assert [r.case for r in summary.by_verdict("ok")] == ["1.1.1", "1.1.2"]
    # NON-STRICT in either verdict, INFORMATIONAL outside the by-design cases, FAILED and
    # UNIMPLEMENTED: none of them is a pass.
    assert [r.case for r in summary.by_verdict("not ok")] == [
        "2.1",
        "3.2",
        "5.1",
        "9.1.1",
        "12.1.1",
    ]
    assert [r.case for r in summary.by_verdict("informational")] == ["7.1.6", "7.13.1"]
    assert not summary.all_ok


def test_counts_per_group_add_up_and_missing_cases_count() -> None:
    summary = load_summary(INDEX, "wslearn", expected=["1.1.1", "1.1.2", "1.1.3", "3.2"])
    assert summary.missing == ["1.1.3"]
    framing = summary.groups()[0]
    assert (framing.group, framing.cases, framing.ok, framing.missing) == (1, 3, 2, 1)
    counts = {g.group: (g.ok, g.not_ok, g.informational) for g in summary.groups()}
    assert counts[7] == (0, 0, 2)
    assert counts[9] == (0, 1, 0)
    for g in summary.groups():
        assert g.cases == g.ok + g.not_ok + g.informational + g.missing


def test_all_ok_needs_results_and_allows_informational_by_design() -> None:
    summary = load_summary(INDEX, "wslearn")
    for case in ("2.1", "3.2", "5.1", "9.1.1", "12.1.1"):
        del summary.results[case]
    assert summary.all_ok  # OK cases and 7.1.6 / 7.13.1 only
    assert not load_summary(INDEX, "nobody").all_ok  # nothing ran: not a pass
    assert not load_summary(FIXTURES / "absent.json", "wslearn").all_ok


def test_the_summary_names_every_case_not_ok_with_autobahns_details() -> None:
    summary = load_summary(INDEX, "wslearn", expected=["1.1.3"])
    text = render(summary, {"date": "today"}, FIXTURES)
    assert "**FAIL**: 2 of 10 cases OK, 5 not OK, 1 missing" in text
    for case in ("2.1", "3.2", "5.1", "9.1.1", "12.1.1", "1.1.3"):
        assert f"**{case}**" in text
    # From the case report file: what was expected, what was observed, the close code.
    assert 'expected events (OK): [["message", "Hello, world!", false]]' in text
    assert "observed events: []" in text
    assert "server sent code 1002" in text
    assert "- 7.13.1:" in text  # listed apart, under "Informational by design"


def test_case_groups_and_patterns() -> None:
    assert case_patterns("1-10") == [f"{g}.*" for g in (1, 2, 3, 4, 5, 6, 7, 9, 10)]
    assert case_patterns("2, 7.1.*,9.2.6") == ["2.*", "7.1.*", "9.2.6"]
    for bad in ("8", "x", "1-y"):
        with pytest.raises(ValueError):
            case_patterns(bad)


def test_keepalive_is_turned_off_only_if_the_server_has_the_option() -> None:
    with_option = "  --ping-interval SECONDS  ping a quiet peer after this long"
    assert keepalive_off(with_option, []) == ["--ping-interval", "none"]
    assert keepalive_off(with_option, ["--ping-interval=5"]) == []
    assert keepalive_off(with_option, ["--ping-interval", "5"]) == []
    assert keepalive_off("  --close-timeout SECONDS", []) == []


@pytest.mark.parametrize(
    "first_lines",
    [
        "Autobahn Fuzzing WebSocket Client (Autobahn Testsuite Version 0.8.2 / "
        "Autobahn Version 0.10.9)\nOk, will run 2 test cases against 1 servers",
        # --client: the fuzzing server's log says the same in its own words.
        "Autobahn WebSocket 0.8.2/0.10.9 Fuzzing Server (Port 9123)\n"
        "Ok, will run 2 test cases for any clients connecting",
    ],
    ids=["fuzzingclient", "fuzzingserver"],
)
def test_the_wstest_log_gives_the_cases_asked_for_and_the_versions(first_lines: str) -> None:
    log = first_lines + "\nCases = ['1.1.1', '7.13.1']\n"
    assert parse_wstest_log(log) == (["1.1.1", "7.13.1"], "0.8.2 (autobahn 0.10.9)")


def test_a_python_that_is_not_27_is_refused() -> None:
    with pytest.raises(py2env.Python2Missing, match="needs Python 2.7"):
        py2env.find_python2(candidates=[sys.executable, str(ROOT / "no-such-python")])


def test_without_python27_the_command_stops_with_a_clear_message() -> None:
    result = subprocess.run(
        [sys.executable, "conformance/run.py", "--python2", sys.executable],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "needs Python 2.7" in result.stderr


def test_compression_runs_every_group_by_default_and_keeps_its_own_summary() -> None:
    from conformance.run import COMPRESSION_ON, DEFLATE_SUMMARY_FILE, SUMMARY_FILE, parse_args

    plain = parse_args([])
    assert plain.compression == "none" and "12.*" not in plain.patterns
    deflate = parse_args(["--compression", "deflate"])
    assert deflate.patterns == case_patterns("1-10") + ["12.*", "13.*"]
    assert parse_args(["--compression", "deflate", "--cases", "12,13"]).patterns == [
        "12.*",
        "13.*",
    ]
    assert COMPRESSION_ON == ["--compression", "deflate"]
    assert (
        DEFLATE_SUMMARY_FILE != SUMMARY_FILE and DEFLATE_SUMMARY_FILE.parent == SUMMARY_FILE.parent
    )


def test_the_compression_note_counts_the_cases_whose_101_accepted_deflate(tmp_path: Path) -> None:
    import json

    from conformance.run import compression_note

    accepted = (
        "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"
    )
    for case, response in [("1_1_1", "HTTP/1.1 101 Switching Protocols\r\n"), ("12_1_1", accepted)]:
        report = tmp_path / f"wslearn_case_{case}.json"
        report.write_text(json.dumps({"httpResponse": response}))
    assert compression_note(tmp_path, "wslearn").startswith(
        "permessage-deflate accepted in 1 of 2 cases"
    )


def test_client_runs_have_their_own_agent_folder_and_summary() -> None:
    from conformance.run import HERE, SUMMARY_FILE, parse_args, run_name, summary_file_for

    plain = parse_args([])
    assert (plain.server, plain.client, run_name(plain)) == ("wslearn", None, "wslearn")
    assert summary_file_for(plain) == SUMMARY_FILE
    for client in ("threaded", "asyncio"):
        args = parse_args(["--client", client])
        assert args.patterns == case_patterns("1-10")
        assert run_name(args) == f"client-{client}"
        assert summary_file_for(args) == HERE / f"SUMMARY-client-{client}.md"
    asyncio_server = parse_args(["--server", "asyncio"])
    assert summary_file_for(asyncio_server) == HERE / "SUMMARY-asyncio.md"
    deflate = parse_args(["--server", "asyncio", "--compression", "deflate"])
    assert summary_file_for(deflate) == HERE / "SUMMARY-asyncio-deflate.md"
    assert run_name(deflate) == "asyncio-deflate"
    assert summary_file_for(parse_args(["--server", "websockets"])) is None


def test_client_runs_refuse_server_options(capsys: pytest.CaptureFixture[str]) -> None:
    from conformance.run import parse_args

    for argv in (
        ["--client", "threaded", "--server", "wslearn"],
        ["--client", "threaded", "--", "--close-timeout", "5"],
        ["--client", "asyncio", "--compression", "deflate"],
        ["--client", "curl"],
    ):
        with pytest.raises(SystemExit) as stopped:
            parse_args(argv)
        assert stopped.value.code == 2, argv
    assert "--client" in capsys.readouterr().err


def test_a_client_summary_names_the_client_as_the_peer() -> None:
    summary = load_summary(INDEX, "wslearn")
    text = render(summary, {"client": "`python conformance/clients.py`"}, FIXTURES, peer="client")
    assert "client sent code 1002" in text and "server sent code" not in text
    assert "- client: `python conformance/clients.py`" in text


def test_the_free_port_is_free_and_the_wait_for_it_is_bounded(tmp_path: Path) -> None:
    from conformance import run

    port = run.free_port()
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait(timeout=30)
    log = tmp_path / "wstest.log"
    log.write_text("it never listened")
    with pytest.raises(RuntimeError, match="never listened"):
        run.wait_for_port(exited, port, log)  # the process is gone: no waiting out the bound


def test_the_client_driver_asks_echoes_and_updates_reports(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """clients.py against a stand-in for the fuzzing server (websockets, in a thread): it asks
    for the count, echoes each case's messages until the close, then asks for the reports."""
    import threading

    from websockets.sync.server import ServerConnection, serve

    from conformance import clients

    seen: list = []

    def fuzzing_server(ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        seen.append(path)
        if path == "/getCaseCount":
            ws.send("2")
        elif path.startswith("/runCase"):
            ws.send("text é")
            ws.send(b"\x00binary")
            seen.append((ws.recv(timeout=5), ws.recv(timeout=5)))
        ws.close()

    with serve(fuzzing_server, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        try:
            url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
            assert clients.main(["--client", "threaded", "--url", url, "--agent", "me"]) == 0
        finally:
            server.shutdown()
            thread.join(10)
    echoed = ("text é", b"\x00binary")
    assert seen == [
        "/getCaseCount",
        "/runCase?case=1&agent=me",
        echoed,
        "/runCase?case=2&agent=me",
        echoed,
        "/updateReports?agent=me",
    ]
    assert "case 2: closed 1000" in capsys.readouterr().out
