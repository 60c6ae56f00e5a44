"""The ``grading`` benchmark: how long ``python -m wslearn grade`` takes for a class.

::

    python -m benchmarks.grading                  # 30 learners, notebook 02, --jobs 2
    python -m benchmarks.grading --learners 5 --notebook 03_frame_header.ipynb

Every learner hands in the source notebook itself (honest work: each exercise is judged to
the end, the most work a learner can cause without a time-out). The class is graded once by
the command, as a teacher runs it, in a sandbox per learner and exercise; the benchmark
prints the wall-clock time, the time per learner, and checks that every learner got full
marks (a fast grader that scores wrongly measures nothing).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[1]


def grade_class(learners: int, notebook: str, jobs: int) -> float:
    """Seconds ``python -m wslearn grade`` takes for ``learners`` honest hand-ins."""
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        submissions = Path(tmp) / "submissions"
        for number in range(1, learners + 1):
            folder = submissions / f"learner{number:03d}"
            folder.mkdir(parents=True)
            shutil.copy(ROOT / "notebooks" / notebook, folder / notebook)
        out = Path(tmp) / "report.csv"
        command = [sys.executable, "-m", "wslearn", "grade", str(submissions), "--quiet"]
        command += ["--source", str(ROOT / "notebooks"), "--notebook", notebook]
        command += ["--out", str(out), "--jobs", str(jobs)]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, timeout=1800, cwd=tmp)
        seconds = time.perf_counter() - start
        with out.open(encoding="utf-8", newline="") as report:
            rows = list(csv.DictReader(report))
        wrong = [r for r in rows if float(r["points"]) != float(r["max_points"])]
        if wrong or len({r["student"] for r in rows}) != learners:
            raise AssertionError(f"honest learners lost points: {wrong[:3]}")
        return seconds


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--notebook", default="02_accept_key.ipynb")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    seconds = grade_class(args.learners, args.notebook, args.jobs)
    print(
        f"grading {args.learners} learners on {args.notebook} with --jobs {args.jobs}: "
        f"{seconds:.1f} s ({seconds / args.learners:.2f} s per learner)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
