"""Grading an adversarial class: honest work earns full marks, attacks earn nothing, harm no one.

The class (``tests/fixtures/adversaries.py``) is built at test time from the current source
notebooks and graded the way a teacher grades it, ``python -m wslearn grade SUBMISSIONS
--source SOURCES --out report.csv --jobs 2``, in a temporary folder that also holds a copy of
the teacher's notebooks (the ``--source``) and a copy of the ``wslearn`` package (the grader
runs with ``PYTHONPATH`` set to it). So whatever an attack manages to damage is that folder's
copy, never the repository, and the damage can be seen: the attackers aim only at paths and
command lines that hold the folder's unique name.

What each grading run must show:

* every honest learner (the teacher's solutions, and honest code a static screen used to
  zero) earns full marks on every exercise; the blank copy earns 0;
* every attacker earns 0 on the exercise it attacks (and on the others, left unsolved);
* every malformed hand-in gets a clear message in its own rows, and grading goes on;
* the honest and blank learners score as they do when graded alone (a reference run);
* the teacher's notebooks, the package and the hand-ins are byte for byte unchanged;
* the report files say what the grader printed, and still do a few seconds after it exits;
* no process started while grading outlives the grader.

``WSLEARN_GRADING_RUNS=5`` grades the class five times in a row (the conformance command sets
it); the default is one run. ``WSLEARN_ADVERSARIES=attack_killer,...`` grades only the learners
named (with the honest and blank ones), to look at one attack at a time.
"""

from __future__ import annotations

import compileall
import csv
import dataclasses
import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

import wslearn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))

import adversaries  # noqa: E402
from adversaries import ATTACKER, BLANK, HONEST, MALFORMED, Learner, build_class  # noqa: E402
from helpers.leftovers import marked_processes  # noqa: E402

#: Consecutive grading runs of the whole class.
RUNS = int(os.environ.get("WSLEARN_GRADING_RUNS", "1") or "1")
#: The grader's --timeout (seconds per cell or call): generous, no attack needs to hit it.
CELL_TIMEOUT = 20
#: The most one grading run of the class may take before it is killed.
GRADE_TIMEOUT = 480
#: How long after the grader exits the report files must still be what it printed.
LATE_SECONDS = 5
#: How long the grader's processes get to be gone once it has exited.
GRACE_SECONDS = 10
#: The environment variable that marks every process of one grading run (inherited).
RUN_MARK = "WSLEARN_ADVERSARY_RUN"
REFERENCE = ("honest", "blank")

pytestmark = [
    pytest.mark.notebook,
    pytest.mark.timeout(2 * GRADE_TIMEOUT + 4 * GRACE_SECONDS + 120),
]


def _chosen() -> List[Learner]:
    named = [n for n in os.environ.get("WSLEARN_ADVERSARIES", "").split(",") if n.strip()]
    if not named:
        return adversaries.learners()
    return adversaries.learners(list(REFERENCE) + [n.strip() for n in named])


CLASS = _chosen()
BY_KIND: Dict[str, List[Learner]] = {
    kind: [learner for learner in CLASS if learner.kind == kind]
    for kind in (HONEST, BLANK, ATTACKER, MALFORMED)
}


def _names(kind: str) -> List[str]:
    return [learner.name for learner in BY_KIND[kind]]


# ---------------------------------------------------------------------------------------------
# One grading run, in a folder of its own
# ---------------------------------------------------------------------------------------------


def digests(folder: Path) -> Dict[str, str]:
    """Every file under ``folder`` (symbolic links as their target's name), by SHA-256."""
    found: Dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_symlink():
            found[name] = "link to " + os.readlink(path)
        elif path.is_file():
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _read(path: Path) -> Optional[bytes]:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _processes_of(scope: str) -> Dict[int, str]:
    """Live processes of one grading run: its environment mark, or an attacker's marker."""
    found = marked_processes(scope, RUN_MARK)
    needle = adversaries.marker(scope).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if needle in command and state != "Z":
            found[int(entry.name)] = command.replace(b"\0", b" ").decode(errors="replace")[:300]
    return found


def _kill_all(scope: str) -> None:
    """Kill what is left of one grading run (its marked processes only), until none is."""
    for _ in range(20):
        left = _processes_of(scope)
        if not left:
            return
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.2)


@dataclasses.dataclass
class Graded:
    """What one run of the grade command did, and what it left."""

    scope: str
    folder: Path
    learners: List[Learner]
    returncode: Optional[int]  #: None: killed at GRADE_TIMEOUT
    seconds: float
    stdout: str
    stderr: str
    report: Optional[bytes]  #: report.csv as the grader left it (None: missing)
    totals: Optional[bytes]  #: report-totals.csv as the grader left it
    late_report: Optional[bytes]  #: the same, LATE_SECONDS later
    late_totals: Optional[bytes]
    before: Dict[str, Dict[str, str]]  #: digests of "source", "package", "submissions"
    after: Dict[str, Dict[str, str]]
    leftovers: Dict[int, str]  #: processes alive GRACE_SECONDS after the grader exited

    def rows(self) -> List[Dict[str, str]]:
        if self.report is None:
            return []
        return list(csv.DictReader(io.StringIO(self.report.decode("utf-8"))))

    def scores(self, student: str) -> Dict[Tuple[str, str], Tuple[float, float, str]]:
        """``{(notebook, grade_id): (points, max_points, message)}`` of one learner."""
        return {
            (r["notebook"], r["grade_id"]): (
                float(r["points"]),
                float(r["max_points"]),
                r["message"],
            )
            for r in self.rows()
            if r["student"] == student
        }

    def explain(self) -> str:
        """The end of the grader's output, for failure messages."""
        return (
            f"grade command: exit {self.returncode} after {self.seconds:.0f} s\n"
            f"--- stdout (end)\n{self.stdout[-3000:]}\n--- stderr (end)\n{self.stderr[-3000:]}"
        )


def grade_class(tmp_path_factory: pytest.TempPathFactory, learners: List[Learner]) -> Graded:
    """Build the class in a fresh folder, grade it once, and look at what is left."""
    scope = f"adversaries-{uuid.uuid4().hex[:12]}"
    folder = tmp_path_factory.mktemp(scope, numbered=False)
    source, package = folder / "source", folder / "pkg"
    shutil.copytree(ROOT / "notebooks", source, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copytree(
        Path(wslearn.__file__).resolve().parent,
        package / "wslearn",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    compileall.compile_dir(str(package), quiet=2)  # written now, so the grader writes none
    submissions = folder / "submissions"
    build_class(source, submissions, scope, [learner.name for learner in learners])
    places = {"source": source, "package": package / "wslearn", "submissions": submissions}
    before = {what: digests(where) for what, where in places.items()}

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        PYTHONPATH=str(package),
        PYTHONDONTWRITEBYTECODE="1",
        MPLBACKEND="Agg",
        **{RUN_MARK: scope},
    )
    out = folder / "report" / "report.csv"
    command = [sys.executable, "-m", "wslearn", "grade", str(submissions), "--source"]
    command += [str(source), "--out", str(out), "--jobs", "2", "--timeout", str(CELL_TIMEOUT)]
    started = time.monotonic()
    # Output to files, not pipes: a process the grader leaves behind may hold its pipes open.
    with (folder / "stdout.txt").open("wb") as stdout, (folder / "stderr.txt").open("wb") as err:
        process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=stdout, stderr=err, start_new_session=True
        )
        try:
            returncode: Optional[int] = process.wait(timeout=GRADE_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            returncode = None
    seconds = time.monotonic() - started
    totals_path = out.with_name("report-totals.csv")
    report, totals = _read(out), _read(totals_path)
    time.sleep(LATE_SECONDS)
    late_report, late_totals = _read(out), _read(totals_path)

    deadline = time.monotonic() + GRACE_SECONDS
    leftovers = _processes_of(scope)
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.5)
        leftovers = _processes_of(scope)
    _kill_all(scope)
    return Graded(
        scope=scope,
        folder=folder,
        learners=learners,
        returncode=returncode,
        seconds=seconds,
        stdout=(folder / "stdout.txt").read_text(encoding="utf-8", errors="replace"),
        stderr=(folder / "stderr.txt").read_text(encoding="utf-8", errors="replace"),
        report=report,
        totals=totals,
        late_report=late_report,
        late_totals=late_totals,
        before=before,
        after={what: digests(where) for what, where in places.items()},
        leftovers=leftovers,
    )


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    """The honest and blank learners graded on their own: the scores nobody may change."""
    return grade_class(tmp_path_factory, adversaries.learners(list(REFERENCE)))


@pytest.fixture(scope="module", params=range(1, RUNS + 1), ids=lambda n: f"run{n}")
def graded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Graded:
    """The whole class, graded once (one of WSLEARN_GRADING_RUNS consecutive runs)."""
    return grade_class(tmp_path_factory, CLASS)


def _own_rows(graded: Graded, learner: Learner) -> Dict[Tuple[str, str], Tuple[float, float, str]]:
    """A learner's rows for the notebooks they handed in; fails if there are none."""
    mine = {k: v for k, v in graded.scores(learner.name).items() if k[0] in learner.notebooks}
    assert mine, f"no rows for {learner.name} in report.csv\n{graded.explain()}"
    return mine


# ---------------------------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------------------------


def test_the_grader_finishes_and_reports_every_learner(graded: Graded) -> None:
    assert graded.returncode == 0, graded.explain()
    students = {row["student"] for row in graded.rows()}
    missing = sorted({learner.name for learner in graded.learners} - students)
    assert not missing, f"learners without rows: {missing}\n{graded.explain()}"


@pytest.mark.parametrize("name", _names(HONEST) + _names(BLANK))
def test_honest_work_earns_full_marks_and_blank_nothing(graded: Graded, name: str) -> None:
    (learner,) = adversaries.learners([name])
    rows = _own_rows(graded, learner)
    expected = {
        key: (maximum if learner.kind == HONEST else 0.0) for key, (_, maximum, _) in rows.items()
    }
    got = {key: points for key, (points, _, _) in rows.items()}
    wrong = {key: (got[key], rows[key][2]) for key in rows if got[key] != expected[key]}
    assert not wrong, f"{learner.about}\nwrong scores (points, message): {wrong}"
    if learner.kind == HONEST:
        assert all(maximum > 0 for _, maximum, _ in rows.values())


@pytest.mark.parametrize("name", _names(ATTACKER))
def test_an_attack_earns_nothing(graded: Graded, name: str) -> None:
    (learner,) = adversaries.learners([name])
    rows = _own_rows(graded, learner)
    attacked = {key: value for key, value in rows.items() if key[1] in learner.attacks}
    assert sorted(key[1] for key in attacked) == sorted(learner.attacks), graded.explain()
    earned = {key: value for key, value in attacked.items() if value[0] != 0}
    assert not earned, f"the attack earned points: {learner.about}\n{earned}"
    # Its other cells are the stubs as handed out: nothing to earn there either.
    elsewhere = {key: value for key, value in rows.items() if value[0] != 0}
    assert not elsewhere, f"points on exercises left unsolved: {learner.about}\n{elsewhere}"


@pytest.mark.parametrize("name", _names(MALFORMED))
def test_a_malformed_hand_in_gets_a_clear_message(graded: Graded, name: str) -> None:
    (learner,) = adversaries.learners([name])
    rows = _own_rows(graded, learner)
    for key, (points, maximum, message) in rows.items():
        assert points in (0, maximum), f"{learner.about}: {key} scored {points} of {maximum}"
        if points == 0:
            assert message.strip(), f"{learner.about}: {key} scored 0 without a message"
        assert "Traceback" not in message and "\n" not in message.strip(), (
            f"{learner.about}: not a clear message for {key}: {message!r}"
        )
    broken = {key: value for key, value in rows.items() if key[1] in learner.attacks}
    assert sorted(key[1] for key in broken) == sorted(learner.attacks)
    if learner.name == "malformed_null_metadata":
        return  # the cell is still there: graded by what it defines, or refused with a message
    earned = {key: value for key, value in broken.items() if value[0] != 0}
    assert not earned, f"{learner.about}: points for what could not be read: {earned}"


def test_others_score_as_when_graded_alone(graded: Graded, alone: Graded) -> None:
    assert alone.returncode == 0, alone.explain()
    for name in REFERENCE:
        reference = alone.scores(name)
        assert reference, f"no rows for {name} in the reference run\n{alone.explain()}"
        now = graded.scores(name)
        changed = {
            key: {"alone": reference[key], "in the class": now.get(key)}
            for key in reference
            if now.get(key) != reference[key]
        }
        assert not changed, f"{name} scored differently in the class: {changed}"


# ---------------------------------------------------------------------------------------------
# Damage
# ---------------------------------------------------------------------------------------------


def _changes(graded: Graded, what: str) -> Dict[str, str]:
    before, after = graded.before[what], graded.after[what]
    changes = {name: "changed" for name in before if name in after and before[name] != after[name]}
    changes.update({name: "deleted" for name in before if name not in after})
    changes.update({name: "added" for name in after if name not in before})
    return changes


def test_the_teacher_notebooks_are_unchanged(graded: Graded) -> None:
    assert not _changes(graded, "source")


def test_the_package_is_unchanged(graded: Graded) -> None:
    assert not _changes(graded, "package")


def test_the_hand_ins_are_unchanged(graded: Graded) -> None:
    assert not _changes(graded, "submissions")


def _printed_table(stdout: str) -> List[List[str]]:
    """The class table the grader printed: one list of cells per learner (``!`` dropped)."""
    lines = stdout.splitlines()
    for at, line in enumerate(lines[:-1]):
        if line.split()[:1] == ["student"] and set(lines[at + 1].replace(" ", "")) == {"-"}:
            rows = []
            for row in lines[at + 2 :]:
                if not row.strip():
                    break
                rows.append([cell.rstrip("!") for cell in row.split()])
            return rows
    return []


def _same_number(printed: str, written: str) -> bool:
    try:
        return float(printed) == float(written)
    except ValueError:
        return printed == written


def _totals_rows(data: Optional[bytes]) -> List[List[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))[1:] if data else []


def test_the_reports_say_what_the_grader_printed(graded: Graded) -> None:
    table = _printed_table(graded.stdout)
    assert table, f"no class table in the output\n{graded.explain()}"
    written = _totals_rows(graded.totals)
    assert [row[0] for row in written] == [row[0] for row in table]
    for printed, row in zip(table, written):
        assert len(printed) == len(row), (printed, row)
        assert all(map(_same_number, printed, row)), f"printed {printed}, wrote {row}"
    # Each learner's total in report-totals.csv is the sum of their rows in report.csv.
    sums: Dict[str, float] = {}
    for row in graded.rows():
        sums[row["student"]] = sums.get(row["student"], 0.0) + float(row["points"])
    assert {row[0]: float(row[-2]) for row in written} == pytest.approx(sums)


def test_the_reports_stay_as_written(graded: Graded) -> None:
    assert graded.report is not None and graded.totals is not None, graded.explain()
    assert graded.late_report == graded.report, "report.csv changed after the grader exited"
    assert graded.late_totals == graded.totals, "report-totals.csv changed after the grader exited"


def test_no_process_is_left_behind(graded: Graded) -> None:
    assert not graded.leftovers, (
        f"{len(graded.leftovers)} process(es) of the grading run alive {GRACE_SECONDS} s after "
        "the grader exited (killed now): "
        + "; ".join(f"{pid}: {command}" for pid, command in sorted(graded.leftovers.items())[:10])
    )
