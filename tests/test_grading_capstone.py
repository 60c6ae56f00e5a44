"""Grading the capstone: notebook 12 scores the learner's own pieces of notebooks 01-07.

Notebook 12's check cells carry over notebooks (``"wslearn": {"carried_over": [...]}``): each
scores 1 share per piece of :data:`wslearn.capstone.pieces.PIECES` whose exercise earned full
points in the same run. The source folder holds copies of the course's notebooks 01-07 and
12; the class is graded once, for real, in the sandbox, with ``notebooks=["12_your_server"]``.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from wslearn.capstone.pieces import PIECES
from wslearn.classroom import carried_over as carried_over_of
from wslearn.classroom import make_student_copy
from wslearn.grading import exercises_of, grade_submissions, grader
from wslearn.grading.exercises import nbgrader_meta

ROOT = Path(__file__).resolve().parent.parent
NB01 = "01_upgrade_request.ipynb"
NB02 = "02_accept_key.ipynb"
NB12 = "12_your_server.ipynb"
#: The check cells of notebook 12 and the notebooks each carries over.
CHECKS = {
    "capstone-handshake": ("01", "02"),
    "capstone-frames": ("03", "04", "05"),
    "capstone-connection": ("06", "07"),
}
#: A classic mistake: a substring test, case-sensitive ("upgrade-insecure" holds "upgrade").
WRONG_HAS_TOKEN = "def has_token(value: str, token: str) -> bool:\n    return token in value\n"


def notebook_12() -> Dict[str, Any]:
    """The course's notebook 12: no solution cell, three carried-over check cells, and cells
    (a server, a browser, a conformance run) that the grader must never run."""
    return json.loads((ROOT / "notebooks" / NB12).read_text(encoding="utf-8"))


def pieces_of(grade_id: str) -> List[str]:
    return [p.name for p in PIECES if p.notebook in CHECKS[grade_id]]


def write(folder: Path, notebooks: Dict[str, Dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, notebook in notebooks.items():
        (folder / name).write_text(json.dumps(notebook, indent=1), encoding="utf-8")


def with_source(notebook: Dict[str, Any], grade_id: str, source: str) -> Dict[str, Any]:
    notebook = copy.deepcopy(notebook)
    (cell,) = [c for c in notebook["cells"] if nbgrader_meta(c).get("grade_id") == grade_id]
    cell["source"] = source
    return notebook


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Dict[str, Dict[str, Any]]:
    """The source folder's notebooks: the course's 01-07 and 12, by file name."""
    folder = tmp_path_factory.mktemp("source")
    for path in sorted((ROOT / "notebooks").glob("0[1-7]_*.ipynb")):
        shutil.copy(path, folder / path.name)
    write(folder, {NB12: notebook_12()})
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.ipynb")}


def source_dir(sources: Dict[str, Any], tmp_path: Path) -> Path:
    folder = tmp_path / "source"
    write(folder, sources)
    return folder


class Recorder:
    """What the grader replays: (student, notebook) of each notebook judged, and the check
    cells of each notebook run in a learner's or the teacher's process."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.judged: List[Tuple[str, str, bool]] = []  # (student, notebook, handed in)
        self.replayed: List[List[str]] = []
        grade_one, judge, values = grader._grade_one, grader.judge_notebook, grader._teacher_values

        def checks(notebook: Dict[str, Any]) -> List[str]:
            return [e.grade_id for e in exercises_of(notebook)]

        def record_grade_one(student: str, name: str, path: Any, *rest: Any) -> Any:
            self.judged.append((student, name, path is not None))
            return grade_one(student, name, path, *rest)

        def record_judge(source_nb: Dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            self.replayed.append(checks(source_nb))
            return judge(source_nb, *args, **kwargs)

        def record_values(source_nb: Dict[str, Any], *args: Any) -> Any:
            self.replayed.append(checks(source_nb))
            return values(source_nb, *args)

        monkeypatch.setattr(grader, "_grade_one", record_grade_one)
        monkeypatch.setattr(grader, "judge_notebook", record_judge)
        monkeypatch.setattr(grader, "_teacher_values", record_values)


@pytest.fixture(scope="module")
def graded(sources, tmp_path_factory):
    """The class, graded once for notebook 12 alone."""
    tmp = tmp_path_factory.mktemp("class")
    first = {name: nb for name, nb in sources.items() if name != NB12}
    # Blank: notebooks 01, 02 and 12 as handed out (two replays are enough to show a stub
    # lends its piece; the other notebooks' pieces are lent for not being handed in).
    blank = {name: make_student_copy(sources[name]) for name in (NB01, NB02, NB12)}
    # The learner's own metadata says nothing: here it claims handshake needs 02 only.
    sly_12 = copy.deepcopy(sources[NB12])
    for cell in sly_12["cells"]:
        if "wslearn" in cell["metadata"]:
            cell["metadata"]["wslearn"]["carried_over"] = ["02"]
    submissions = tmp / "submissions"
    write(submissions / "honest", {**first, NB12: sources[NB12]})
    write(submissions / "blank", blank)
    write(
        submissions / "one_wrong",
        {**first, NB01: with_source(first[NB01], "has_token", WRONG_HAS_TOKEN), NB12: sly_12},
    )
    write(submissions / "only_12", {NB12: sources[NB12]})
    with pytest.MonkeyPatch.context() as monkeypatch:
        recorder = Recorder(monkeypatch)
        report = grade_submissions(submissions, source_dir(sources, tmp), timeout=4,
                                   notebooks=["12_your_server"], jobs=4)  # fmt: skip
    scores = {(s.student, s.grade_id): s for s in report.scores}
    return {"report": report, "scores": scores, "recorder": recorder}


@pytest.mark.notebook
def test_only_notebook_12_is_reported(graded):
    report = graded["report"]
    assert [e.grade_id for e in report.exercises] == list(CHECKS)
    assert [e.notebook for e in report.exercises] == [NB12] * 3
    assert len(report.scores) == 4 * 3
    assert {s.notebook for s in report.scores} == {NB12}
    assert report.max_points == 15


@pytest.mark.notebook
def test_an_honest_learner_scores_every_piece(graded):
    for grade_id in CHECKS:
        score = graded["scores"]["honest", grade_id]
        assert (score.points, score.max_points, score.message) == (5, 5, "")
    assert graded["report"].total("honest") == 15


@pytest.mark.notebook
def test_a_blank_learner_borrows_every_piece(graded):
    for grade_id in CHECKS:
        score = graded["scores"]["blank", grade_id]
        assert score.points == 0, score
        assert score.message.startswith("borrowed, 0 points: ")
        for piece in pieces_of(grade_id):
            assert f"{piece} (" in score.message


@pytest.mark.notebook
def test_one_wrong_piece_costs_its_share_only(graded):
    handshake = graded["scores"]["one_wrong", "capstone-handshake"]
    assert (handshake.points, handshake.max_points) == (4, 5)
    assert handshake.message.startswith("borrowed, 0 points: has_token (01: ")
    others = set(pieces_of("capstone-handshake")) - {"has_token"}
    assert not any(f"{piece} (" in handshake.message for piece in others)
    for grade_id in ("capstone-frames", "capstone-connection"):
        score = graded["scores"]["one_wrong", grade_id]
        assert (score.points, score.message) == (5, "")


@pytest.mark.notebook
def test_notebooks_not_handed_in_lend_every_piece(graded):
    for grade_id, numbers in CHECKS.items():
        score = graded["scores"]["only_12", grade_id]
        assert score.points == 0
        for piece in PIECES:
            if piece.notebook in numbers:
                assert f"{piece.name} ({piece.notebook}: not handed in)" in score.message
    # nothing of theirs to run: no process was started for them
    assert all(not handed_in for s, _, handed_in in graded["recorder"].judged if s == "only_12")


@pytest.mark.notebook
def test_notebook_12_is_never_replayed_and_01_to_07_once_per_learner(graded):
    recorder = graded["recorder"]
    assert recorder.replayed, "nothing was replayed at all"
    assert not any(set(checks) & set(CHECKS) for checks in recorder.replayed)
    assert all(name != NB12 for _, name, _ in recorder.judged)
    for student in ("honest", "blank", "one_wrong", "only_12"):
        names = [name for s, name, _ in recorder.judged if s == student]
        assert sorted(names) == sorted(set(names)) and len(names) == 7, (student, names)
    # the teacher's values once per notebook (01-07 only), then each notebook handed in once
    handed_in = [name for _, name, was in recorder.judged if was]
    assert len(handed_in) == 7 + 2 + 7  # honest, blank (01, 02), one_wrong
    assert len(recorder.replayed) == 7 + len(handed_in)


@pytest.mark.notebook
def test_without_notebook_12_the_capstone_scores_0(sources, tmp_path, monkeypatch):
    """Default run: 02 and 12 are reported (someone handed them in), 01 is not but is still
    judged; a learner who did not hand in 12 gets 0 for it, their other work still counts."""
    submissions = tmp_path / "submissions"
    nb02 = "02_accept_key.ipynb"
    write(submissions / "partial", {nb02: sources[nb02], NB12: sources[NB12]})
    write(submissions / "no_12", {nb02: sources[nb02]})
    recorder = Recorder(monkeypatch)
    report = grade_submissions(submissions, source_dir(sources, tmp_path), timeout=4)
    assert sorted({e.notebook for e in report.exercises}) == [nb02, NB12]
    scores = {(s.student, s.grade_id): s for s in report.scores}
    handshake = scores["partial", "capstone-handshake"]
    assert handshake.points == 2  # accept_key and build_101 of the five
    assert "parse_headers (01: not handed in)" in handshake.message
    assert "accept_key" not in handshake.message
    for grade_id in CHECKS:
        assert (scores["no_12", grade_id].points, scores["no_12", grade_id].message) == (
            0, "not handed in")  # fmt: skip
    assert scores["no_12", "accept_key-check"].points == 2
    judged = [(s, name) for s, name, handed_in in recorder.judged if handed_in]
    assert sorted(judged) == [("no_12", nb02), ("partial", nb02)]
    assert [name for s, name, _ in recorder.judged if s == "no_12"] == [nb02]
    partial = [name for s, name, _ in recorder.judged if s == "partial"]
    assert len(partial) == len(set(partial)) == 7  # 02 once: reported and needed


def test_carried_over_comes_from_the_cell_metadata_and_anything_odd_is_nothing():
    def cell(wslearn: Any) -> Dict[str, Any]:
        return {"cell_type": "code", "metadata": {"wslearn": wslearn}, "source": ""}

    assert carried_over_of(cell({"carried_over": ["01", "02", "01"]})) == ("01", "02")
    for odd in (
        {"carried_over": "01"},
        {"carried_over": [1, 2]},
        {"carried_over": ["01", None]},
        {"carried_over": ["../01"]},
        {"carried_over": {"01": 1}},
        {},
        [],
        "01",
        None,
    ):
        assert carried_over_of(cell(odd)) == (), odd  # fmt: skip
    assert carried_over_of({"metadata": "no"}) == () and carried_over_of({}) == ()
    exercises = exercises_of(notebook_12(), NB12)
    assert [(e.grade_id, e.points, e.carried_over) for e in exercises] == [
        (grade_id, 5.0, numbers) for grade_id, numbers in CHECKS.items()
    ]
    assert all(e.solution_ids == () and e.name == e.grade_id for e in exercises)
