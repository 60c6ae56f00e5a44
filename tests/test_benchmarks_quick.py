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
