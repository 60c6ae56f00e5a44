"""The grading part of the conformance command: an adversarial class, graded five times, and a
class of 30 timed; too slow for the test command.

    python conformance/grading.py              # writes conformance/GRADING.md
    python conformance/grading.py --runs 2     # fewer runs, for a quick look

1. ``tests/test_grading_adversaries.py`` with ``WSLEARN_GRADING_RUNS`` set: the class of
   honest, blank, attacking and malformed learners (``tests/fixtures/adversaries.py``) graded
   that many times in a row; every run must give honest work full marks and every attack 0,
   change no file outside the learners' sandboxes, leave no process behind and leave the
   report as the grader wrote it.
2. ``benchmarks/grading.py``: 30 honest learners on notebook 02 with ``--jobs 2`` (the bound
   the course sets for a class on a 2-core machine is 70 s; it is reported, not asserted).

Exit status: 0 if the adversarial runs passed, 1 if not.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[1]
SUMMARY_FILE = Path(__file__).resolve().parent / "GRADING.md"
#: The bound on grading 30 learners of notebook 02 with --jobs 2 on 2 cores, in seconds.
CLASS_BOUND = 70


def git_commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    return result.stdout.strip() or "unknown"


def adversarial_runs(runs: int) -> tuple:
    """(passed, the pytest summary line, seconds) of ``runs`` gradings of the class."""
    env = dict(os.environ, WSLEARN_GRADING_RUNS=str(runs))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["tests/test_grading_adversaries.py"]
    started = time.monotonic()
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        timeout=900 * runs,
    )  # fmt: skip
    seconds = time.monotonic() - started
    lines = [line for line in result.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    return result.returncode == 0, (lines[-1] if lines else result.stdout[-500:]), seconds


def class_time() -> float:
    """Seconds to grade 30 honest learners on notebook 02 with --jobs 2."""
    sys.path.insert(0, str(ROOT))
    from benchmarks.grading import grade_class

    return grade_class(30, "02_accept_key.ipynb", 2)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python conformance/grading.py")
    parser.add_argument("--runs", type=int, default=5, help="gradings of the class (default 5)")
    args = parser.parse_args(argv)
    passed, line, seconds = adversarial_runs(args.runs)
    print(f"adversarial class, {args.runs} runs: {line} ({seconds:.0f} s)")
    grading = class_time()
    print(f"30 learners, notebook 02, --jobs 2: {grading:.1f} s (bound {CLASS_BOUND} s)")
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    SUMMARY_FILE.write_text(
        "# Grading conformance: last run\n\n"
        f"- date: {date}\n"
        f"- wslearn commit: {git_commit()}\n"
        f"- machine: {os.cpu_count()} cores\n"
        f"- adversarial class (`tests/test_grading_adversaries.py`), {args.runs} consecutive "
        f"runs: **{'PASS' if passed else 'FAIL'}**: {line} in {seconds:.0f} s\n"
        f"- 30 honest learners on notebook 02, `--jobs 2` (`benchmarks/grading.py`): "
        f"{grading:.1f} s ({grading / 30:.2f} s per learner; the bound is {CLASS_BOUND} s)\n",
        encoding="utf-8",
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
