"""The benchmark scripts keep working: ``python -m benchmarks.run --quick`` runs every section.

Speed is not asserted here (see benchmarks/README.md for the measurements); this only
checks that each section runs to the end, against the real peers and servers, and
prints its table with numbers in it.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("websockets")
pytest.importorskip("wsproto")


@pytest.fixture(scope="module")
def quick_output() -> str:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


NUMBER = re.compile(r"\d+(\.\d+)?")


def _section(output: str, title: str) -> str:
    start = output.index(f"## {title}")
    end = output.find("\n## ", start + 1)
    return output[start : end if end != -1 else len(output)]


@pytest.mark.parametrize(
    "title, rows",
    [
        (
            "unmask",
            [
                "per-byte loop",
                "wslearn unmask (big-int XOR)",
                "wslearn speedups (numpy)",
                "wslearn unmask_fast",
                "websockets pure Python",
                "websockets C",
                "wsproto XorMaskerSimple",
                "copy: bytes(bytearray)",
                "copy: memoryview.tobytes()",
                "wslearn unmask_fast / websockets C",
            ],
        ),
        (
            "parse",
            [
                "wslearn FrameReader",
                "websockets Frame.parse (C mask)",
                "websockets Frame.parse (pure Python)",
                "wsproto FrameProtocol",
                "(experiment) wslearn FrameReader, websockets' C mask swapped in",
                "(experiment) / websockets Frame.parse (C mask)",
            ],
        ),
        (
            "echo",
            [
                "wslearn",
                "websockets threaded",
                "websockets asyncio",
                "wslearn / websockets threaded",
            ],
        ),
        ("memory", ["wslearn", "websockets threaded", "websockets asyncio"]),
    ],
)
def test_every_section_prints_a_table_with_numbers(quick_output, title, rows):
    section = _section(quick_output, title)
    for row in rows:
        lines = [line for line in section.splitlines() if line.startswith(f"| {row} ")]
        assert lines, f"no row {row!r} in section {title!r}:\n{section}"
        cells = lines[0].strip("|").split("|")[1:]
        assert any(NUMBER.search(cell) for cell in cells), lines[0]


def test_quick_mode_writes_no_results_files(quick_output):
    # The committed plot and JSON come from a full run; a quick run must not replace them.
    assert "wrote benchmarks/unmask_throughput" not in quick_output


@pytest.mark.parametrize(
    "command, from_root, section",
    [
        (["-m", "benchmarks.run"], True, "memory"),
        ([str(ROOT / "benchmarks" / "run.py")], False, "parse"),  # a script, from elsewhere
    ],
)
def test_a_section_runs_alone(tmp_path, command, from_root, section):
    # Each section is a module of its own: --only runs it without the others, and --json
    # writes the machine, the mode and that section's result, nothing else.
    results = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, *command, "--quick", "--only", section, "--json", str(results)],
        cwd=ROOT if from_root else tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    titles = [line.split(":")[0] for line in result.stdout.splitlines() if line.startswith("## ")]
    assert titles == [f"## {section}"], result.stdout
    assert "done in " in result.stdout
    assert list(json.loads(results.read_text(encoding="utf-8"))) == ["machine", "quick", section]


def test_an_unknown_section_is_refused():
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--only", "unmask,nonsense"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "unknown section(s): nonsense" in result.stderr


# ---------------------------------------------------------------- python -m benchmarks.echo


def _echo(tmp_path: Path, *options: str) -> "tuple[str, dict]":
    """Run the echo comparison briefly; its printed tables and its JSON result."""
    results = tmp_path / "echo.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.echo", "--seconds", "0.05", "--json", str(results)]
        + list(options),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout, json.loads(results.read_text(encoding="utf-8"))


def test_echo_alone_runs_alternating_rounds_and_reports_each_rounds_ratio(tmp_path):
    out, result = _echo(tmp_path, "--rounds", "3", "--cases", "1x32,2x1KiB")
    cases = ["1 conn x 32 B", "2 conn x 1 KiB"]
    assert list(result["echo"]) == ["wslearn", "websockets threaded"]
    assert list(result["echo"]["wslearn"]) == cases
    for case in cases:
        rate = result["wslearn_ratio"]["websockets threaded"][case]["rate"]
        assert len(rate["rounds"]) == 3 and rate["unmeasured"] == 0  # one ratio a round
        assert rate["low"] <= rate["q1"] <= rate["median"] <= rate["q3"] <= rate["high"]
        assert all(value > 0 for value in rate["rounds"])
        # CPU time counts in 10 ms ticks: a 50 ms turn may read 0, and that round is left out.
        cpu = result["wslearn_ratio"]["websockets threaded"][case]["cpu"]
        assert len(cpu["rounds"]) + cpu["unmeasured"] == 3
        assert all(value > 0 for value in cpu["rounds"])
    [line] = [x for x in out.splitlines() if x.startswith("| wslearn / websockets threaded ")]
    assert re.search(r"\d+\.\d\dx \(\d+\.\d\d-\d+\.\d\d\)", line), line
    assert "| wslearn / websockets threaded, CPU " in out


def test_echo_compares_two_source_trees_of_wslearn(tmp_path):
    # The same tree twice: the A/B mode starts each server from its own folder.
    out, result = _echo(
        tmp_path, "--rounds", "2", "--cases", "1x32", "--tree-a", str(ROOT), "--tree-b", str(ROOT)
    )
    assert list(result["echo"]) == ["wslearn A", "wslearn B"]
    assert len(result["wslearn_ratio"]["wslearn B"]["1 conn x 32 B"]["rate"]["rounds"]) == 2
    assert f"wslearn A: {ROOT}" in out and "| wslearn A / wslearn B " in out


def test_echo_runs_one_source_tree_against_websockets(tmp_path):
    out, result = _echo(tmp_path, "--rounds", "1", "--cases", "1x32", "--tree-a", str(ROOT))
    assert list(result["echo"]) == ["wslearn", "websockets threaded"]
    assert f"wslearn: {ROOT}" in out and "| wslearn / websockets threaded " in out


@pytest.mark.parametrize(
    "options, message",
    [
        (["--cases", "8by32"], "not a case: '8by32'"),
        (["--cases", "0x32"], "not a case: '0x32'"),
        (["--tree-b", "."], "--tree-b needs --tree-a"),
        (["--tree-a", "/", "--tree-b", "/"], "holds no wslearn package"),
        (["--rounds", "0"], "--rounds must be 1 or more"),
    ],
)
def test_echo_refuses_what_it_cannot_measure(options, message):
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.echo", *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_a_case_names_connections_and_size():
    from benchmarks.echo import case_name, parse_case

    assert parse_case("8x32") == (8, 32)
    assert parse_case("1x1MiB") == (1, 2**20)
    assert parse_case(" 4X64kib ") == (4, 65536)
    assert case_name(*parse_case("8x1MiB")) == "8 conn x 1 MiB"
    assert case_name(1, 32) == "1 conn x 32 B"


def test_a_ratio_is_the_median_of_the_rounds_with_its_spread():
    from benchmarks.echo import ratio_summary

    summary = ratio_summary([10.0, 30.0, 12.0], [10.0, 10.0, 8.0])
    assert summary["rounds"] == [1.0, 3.0, 1.5]
    assert (summary["median"], summary["low"], summary["high"]) == (1.5, 1.0, 3.0)
    assert (summary["q1"], summary["q3"], summary["unmeasured"]) == (1.25, 2.25, 0)
    # A round that could not be measured (0 on either side) gives no ratio and is counted.
    summary = ratio_summary([2.0, 0.0, 4.0, 6.0], [1.0, 1.0, 0.0, 3.0])
    assert (summary["rounds"], summary["unmeasured"]) == ([2.0, 2.0], 2)


# ---------------------------------------------------------------- python -m benchmarks.concurrency

CONCURRENCY_SERVERS = ["wslearn threaded", "wslearn asyncio", "websockets asyncio"]


@pytest.fixture(scope="module")
def concurrency_quick(tmp_path_factory) -> "tuple[str, dict]":
    results = tmp_path_factory.mktemp("concurrency") / "results.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.concurrency", "--quick", "--json", str(results)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout, json.loads(results.read_text(encoding="utf-8"))


def test_concurrency_quick_measures_every_server_at_1_and_8_connections(concurrency_quick):
    out, result = concurrency_quick
    assert result["servers"] == CONCURRENCY_SERVERS and not result["notes"], result["notes"]
    assert result["settings"]["connections"] == [1, 8] and result["quick"] is True
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", result["commit"])
    for name in CONCURRENCY_SERVERS:
        assert sorted(result["figures"][name]) == ["1", "8"]
        for figures in result["figures"][name].values():
            assert len(figures["rates"]) == result["settings"]["rounds"] == 2
            assert all(rate > 0 for rate in figures["rates"])
            assert figures["rss_before"] > 10 * 2**20  # a Python process, resident
            assert figures["rss_open"] > 0 and figures["rss_after"] > 0
        line = next(x for x in out.splitlines() if x.startswith(f"| {name} "))
        assert re.search(r"\d+(\.\d)?( [kM])?/s, \d+ µs \(\d+ µs\)", line), line
    for pair in [
        "wslearn asyncio / wslearn threaded",
        "wslearn asyncio / websockets asyncio",
        "websockets asyncio / wslearn threaded",
    ]:
        rate = result["ratios"][pair]["8"]["rate"]
        assert len(rate["rounds"]) == 2 and rate["low"] <= rate["median"] <= rate["high"]
        assert f"| {pair} " in out
    # The committed results come from a full run: a quick one leaves them alone.
    assert "wrote benchmarks/concurrency" not in out and "wrote wslearn/data" not in out


def test_concurrency_plot_draws_rates_and_memory(concurrency_quick):
    from wslearn.views import plot_concurrency

    _, result = concurrency_quick
    figure = plot_concurrency(result)
    rates, cpu, memory = figure.axes
    assert rates.get_xscale() == cpu.get_xscale() == "log"
    assert [list(line.get_ydata()) for line in cpu.get_lines()] == [
        [result["figures"][name][c]["server_cpu_us_per_message"] for c in ("1", "8")]
        for name in CONCURRENCY_SERVERS
    ]
    assert [t.get_text() for t in rates.get_legend().get_texts()] == CONCURRENCY_SERVERS
    assert [list(line.get_xdata()) for line in rates.get_lines()[:1]] == [[1, 8]]
    assert not memory.patches  # memory per connection is shown from 100 connections up


def test_the_frames_of_the_load_are_what_a_server_reads_and_writes():
    # The load generator masks its frame once and compares each echo with fixed bytes: both
    # must be exactly what wslearn's sans-I/O core makes of a 32-byte binary message.
    from benchmarks.concurrency import CLOSE, ECHO, FRAME, PAYLOAD
    from wslearn.close import Close
    from wslearn.connection import Binary, Connection

    server = Connection("server")
    [event] = server.receive_data(FRAME)
    assert isinstance(event, Binary) and event.data == PAYLOAD and len(PAYLOAD) == 32
    server.send_binary(event.data)
    assert server.data_to_send() == ECHO
    assert FRAME[1] & 0x80  # masked, as every client frame must be (RFC 6455 §5.3)
    [event] = server.receive_data(CLOSE)
    assert isinstance(event, Close) and event.code == 1000


def test_concurrency_refuses_what_it_cannot_measure():
    for options, message in [
        (["--connections", "0"], "not a list of counts"),
        (["--connections", "8,x"], "not a list of counts"),
        (["--servers", "nginx"], "unknown server(s): nginx"),
        (["--rounds", "0"], "--rounds must be 1 or more"),
    ]:
        result = subprocess.run(
            [sys.executable, "-m", "benchmarks.concurrency", *options],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2 and message in result.stderr, result.stderr


def test_the_shipped_concurrency_results_cover_every_server_and_count():
    # Notebook 11 plots this copy of a full run; it must hold what the plot needs.
    from benchmarks.concurrency import COURSE_COPY, RESULTS_JSON, load_results

    shipped = load_results(COURSE_COPY)
    assert shipped == load_results(RESULTS_JSON)
    assert shipped["quick"] is False and shipped["servers"] == CONCURRENCY_SERVERS
    for name in CONCURRENCY_SERVERS:
        assert sorted(shipped["figures"][name], key=int) == ["1", "8", "200", "1000"]
        for count in ("200", "1000"):
            assert shipped["figures"][name][count]["memory_per_connection_kib"] > 0
