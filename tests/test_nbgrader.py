"""The source notebooks are valid nbgrader sources: nbgrader's own student version is ours.

nbgrader's ``generate_assignment`` runs on a throw-away course folder holding copies of a few
source notebooks; it must succeed, drop every solution and hidden test, keep every check, and
give each solution cell the same stub as ``python -m wslearn student``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from wslearn.classroom import cell_source, make_student_copy

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ["01_upgrade_request.ipynb", "02_accept_key.ipynb", "03_frame_header.ipynb"]


def by_grade_id(notebook: dict) -> dict:
    return {
        c["metadata"]["nbgrader"]["grade_id"]: c
        for c in notebook["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    }


def test_nbgrader_generate_assignment_accepts_the_source_notebooks(tmp_path):
    course = tmp_path / "course"
    (course / "source" / "ws").mkdir(parents=True)
    for name in NOTEBOOKS:
        shutil.copy(ROOT / "notebooks" / name, course / "source" / "ws" / name)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
        "c.CourseDirectory.course_id = 'wslearn'\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(tmp_path / 'gradebook.db')!r}\n"
    )
    env = dict(os.environ)
    # nbgrader runs its database migrations with the `alembic` script installed beside python
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", "ws", "--create", "--force"],
        cwd=course,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for name in NOTEBOOKS:
        released_path = course / "release" / "ws" / name
        text = released_path.read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, name
        released = by_grade_id(json.loads(text))
        source = json.loads((ROOT / "notebooks" / name).read_text(encoding="utf-8"))
        ours = by_grade_id(make_student_copy(source))
        assert sorted(released) == sorted(ours) and released, name
        for grade_id, cell in released.items():
            meta = cell["metadata"]["nbgrader"]
            if meta.get("grade"):  # the check survives, locked, with its points
                assert "from wslearn.checks" in cell_source(cell), (name, grade_id)
                assert meta["locked"] and meta["points"] > 0
            assert cell_source(cell).strip() == cell_source(ours[grade_id]).strip(), (
                name,
                grade_id,
            )
