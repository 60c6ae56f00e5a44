"""Command line: ``lab`` opens the course; ``serve`` runs the live server; ``student`` and
``grade`` are for teachers.

    python -m wslearn serve --port 8080 --max-size 16MiB --handler echo

It serves the test page at ``http://127.0.0.1:8080/``, prints one line per
frame (``--quiet`` turns that off, e.g. for benchmarks), and stops cleanly on
Ctrl-C, closing every connection with 1001.

    python -m wslearn lab                           # your copy (my-work/) in JupyterLab
    python -m wslearn copy                          # only make or complete my-work/
    python -m wslearn student                       # student copies: notebooks/ -> student/
    python -m wslearn grade submissions/ --out report.csv

``grade`` runs each learner's notebook against the teacher's checks (see
:mod:`wslearn.grading`), prints the class table and writes the CSV reports.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

from .serve_command import add_serve_command, parse_size, run_serve

__all__ = ["build_parser", "course_folder", "lab_command", "main", "parse_size"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wslearn",
        description="wslearn: WebSocket (RFC 6455) from the raw socket up.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    add_serve_command(commands)
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
    grade = commands.add_parser(
        "grade",
        help="grade the learners' notebooks against the source notebooks' checks",
        description="Grade SUBMISSIONS_DIR/<student>/<notebook>.ipynb: each learner's solution "
        "cells run inside the teacher's notebook in a sandbox of their own (bubblewrap), and "
        "the teacher's checks and hidden tests run outside it, on the learner's functions. "
        "Prints the class table and writes a CSV row per learner and exercise, plus "
        "<out>-totals.csv.",
    )
    grade.add_argument("submissions", metavar="SUBMISSIONS_DIR", help="one folder per learner")
    grade.add_argument(
        "--source", default="notebooks", help="the teacher's notebooks (default notebooks/)"
    )
    grade.add_argument(
        "--out", default="report.csv", help="CSV to write (default report.csv; totals beside it)"
    )
    grade.add_argument(
        "--timeout",
        type=float,
        default=60,
        metavar="SECONDS",
        help="time limit per cell and per call of a learner's function (default 60); then "
        "the exercise scores 0 and grading goes on",
    )
    grade.add_argument(
        "--notebook-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="time limit for one learner's whole notebook (default 10 x --timeout); then "
        "the exercises not yet judged score 0",
    )
    grade.add_argument(
        "--notebook",
        action="append",
        metavar="NAME",
        dest="notebooks",
        help="grade this notebook (repeat for more); default: every notebook with exercises "
        "that at least one learner handed in",
    )
    grade.add_argument(
        "--jobs", type=int, default=2, help="learners' notebooks graded at once (default 2)"
    )
    grade.add_argument(
        "--trusted-class",
        action="store_true",
        help="grade without a sandbox where none can be made (bubblewrap missing, or user "
        "namespaces forbidden): learner code then runs with your rights; the report says so",
    )
    grade.add_argument(
        "--quiet", action="store_true", help="print only the table, not the messages"
    )
    mine = commands.add_parser(
        "copy",
        help="make your own copy of the course in my-work/ (exercises without their solutions)",
        description="Write your own copy of the course's notebooks to my-work/ beside "
        "notebooks/: every exercise is there for you to solve, its solution one link away "
        "(a 'Stuck?' cell after each check). Notebooks already in my-work/ are kept: your work "
        "is never overwritten. Delete one to get a fresh copy of it. It also gives this "
        "environment's JupyterLab the course's defaults (every cell rendered, so that a link "
        "lands on its heading).",
    )
    mine.add_argument(
        "--course",
        metavar="DIR",
        default=None,
        help="the course folder, holding notebooks/ (default: this folder, else the one "
        "beside the installed package)",
    )
    lab = commands.add_parser(
        "lab",
        help="open your copy of the course in JupyterLab, at its index notebook",
        description="Make or complete your copy of the course in my-work/ (as 'copy' does), "
        "then start JupyterLab on it: the URL it prints opens my-work/00_index.ipynb. "
        "JupyterLab takes this command's place, so Ctrl-C or SIGTERM stops it. Any further "
        "arguments go to 'jupyter lab'. As root (containers, some servers) it adds "
        "--allow-root, which JupyterLab otherwise requires. Teachers: the full notebooks, with "
        "every solution, are in notebooks/ (jupyter lab notebooks/00_index.ipynb).",
    )
    lab.add_argument(
        "--course",
        metavar="DIR",
        default=None,
        help="the course folder, holding notebooks/ (default: this folder, else the one "
        "beside the installed package)",
    )
    lab.add_argument(
        "--print-command", action="store_true", help="print the command instead of running it"
    )
    return parser


def course_folder(given: Optional[str] = None) -> Path:
    """The folder that holds the course's ``notebooks/00_index.ipynb``.

    ``given`` if set; else the current folder if it holds the course (a learner runs the README's
    command from the repository's root); else the folder beside this package (an editable
    install from anywhere).
    """
    if given is not None:
        return Path(given).resolve()
    for folder in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if (folder / "notebooks" / "00_index.ipynb").is_file():
            return folder
    return Path.cwd()


def lab_command(course: Path, extra: List[str]) -> List[str]:
    """The ``jupyter lab`` command that serves ``course`` and opens ``my-work/00_index.ipynb``.

    JupyterLab's root is the course folder (so the "Stuck?" links from ``my-work/`` reach
    ``notebooks/``), and its default URL — the one it prints and opens — is the learner's index.
    """
    from .classroom import WORK_DIR

    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        f"--ServerApp.root_dir={course}",
        f"--LabApp.default_url=/lab/tree/{WORK_DIR}/00_index.ipynb",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        command.append("--allow-root")  # JupyterLab refuses to run as root without it
    return command + extra


def _copy(course: Path) -> int:
    from .classroom import WORK_DIR, install_lab_defaults, write_learner_copies

    source = course / "notebooks"
    if not (source / "00_index.ipynb").is_file():
        print(
            f"wslearn: {source / '00_index.ipynb'} not found: run this from the course's folder "
            "(the one holding notebooks/), or give it with --course",
            file=sys.stderr,
        )
        return 1
    done = write_learner_copies(source, course / WORK_DIR)
    written, kept = len(done["written"]), len(done["kept"])
    print(
        f"Your copy of the course: {course / WORK_DIR}/ ({written} notebook(s) written, "
        f"{kept} of yours kept as they are)",
        flush=True,
    )
    if install_lab_defaults() is None:
        print(
            "note: this environment's JupyterLab settings are not writable, so a Stuck? link "
            "may open its notebook at the top (the solution is at its end)",
            file=sys.stderr,
        )
    return 0


def _lab(args: argparse.Namespace, extra: List[str]) -> int:
    course = course_folder(args.course)
    command = lab_command(course, extra)
    if args.print_command:
        print(" ".join(command))
        return 0
    status = _copy(course)
    if status:
        return status
    if os.name != "posix":  # pragma: no cover - exec does not replace the process on Windows
        return subprocess.call(command)
    sys.stdout.flush()
    sys.stderr.flush()
    # JupyterLab takes this process's place (same PID): SIGTERM, SIGINT and a parent's
    # terminate() reach it directly, and it stops its kernels as it exits.
    os.execv(command[0], command)
    return 0  # pragma: no cover - not reached


def main(argv: Optional[List[str]] = None) -> int:
    args, extra = build_parser().parse_known_args(argv)
    if args.command == "lab":
        return _lab(args, extra)
    if extra:
        build_parser().error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "copy":
        return _copy(course_folder(args.course))
    if args.command == "student":
        return _student(args)
    if args.command == "grade":
        return _grade(args)
    return run_serve(args)


def _grade(args: argparse.Namespace) -> int:
    from .grading import (
        SandboxUnavailable,
        format_messages,
        format_table,
        grade_submissions,
        write_report,
    )

    try:
        report = grade_submissions(
            Path(args.submissions),
            Path(args.source),
            timeout=args.timeout,
            notebook_timeout=args.notebook_timeout,
            notebooks=args.notebooks,
            jobs=args.jobs,
            trusted_class=args.trusted_class,
        )
    except (FileNotFoundError, SandboxUnavailable) as error:
        print(f"wslearn grade: {error}", file=sys.stderr)
        return 2
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if not report.students or not report.exercises:
        print(
            "wslearn grade: nothing to grade (no learner folders, or no notebooks with "
            "exercises in them)",
            file=sys.stderr,
        )
        return 2
    print(format_table(report))
    if not args.quiet:
        messages = format_messages(report)
        if messages:
            print()
            print(messages)
    out, totals = write_report(report, Path(args.out))
    print(f"\nwrote {out} and {totals}")
    return 0


def _student(args: argparse.Namespace) -> int:
    from .classroom import write_student_copies

    changed = write_student_copies(Path(args.source), Path(args.out), check=args.check)
    if args.check:
        for path in changed:
            print(f"out of date: {path} (run: python -m wslearn student)", file=sys.stderr)
        return 1 if changed else 0
    print(f"wrote {len(changed)} changed student notebook(s) to {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
