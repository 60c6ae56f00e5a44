"""README's "Run it for a class", run as far as a test can run it.

What is run here: handing out the learners' copies into a skeleton home folder (as on The Littlest
JupyterHub's ``/etc/skel``), two learners' homes made from it (one solves notebook 02, one hands
it in untouched), README's two lines that collect the homes, and README's ``grade`` command on
what they collected. README's install command for the user environment is run by the hub test
(``tests/test_hub.py``), which reads it from ``tests/helpers/hub.py``: this test checks that README
says the same. The TLJH installer, Helm and repo2docker are not run.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

from helpers.hub import USER_ENV_INSTALL

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
NB02 = "02_accept_key.ipynb"


def section() -> str:
    match = re.search(r"^## Run it for a class\n(.*?)^## ", README, re.S | re.M)
    assert match, "README has no 'Run it for a class' section"
    return match.group(1)


def block_line(starts: str) -> str:
    """The command line of the section's code blocks that starts with ``starts``."""
    lines = [line for line in section().splitlines() if line.startswith(starts)]
    assert len(lines) == 1, f"README's class section: no single line starting {starts!r}"
    return lines[0]


def test_readme_installs_the_user_environment_as_the_hub_test_does() -> None:
    assert block_line("sudo -E python -m pip install") == f"sudo -E {USER_ENV_INSTALL}"
    assert section().count("not run by") == 2  # TLJH's installer; repo2docker and Helm


def test_handing_out_collecting_and_grading_as_readme_says(tmp_path: Path) -> None:
    hand_out = block_line("sudo -E python -m wslearn student")
    skel = tmp_path / "etc" / "skel" / "wslearn"
    command = hand_out.replace("sudo -E ", "").replace("/etc/skel/wslearn", str(skel))
    subprocess.run(["bash", "-c", command.replace("python", sys.executable, 1)], cwd=ROOT,
                   check=True, timeout=120, capture_output=True)  # fmt: skip
    assert (skel / NB02).is_file() and (skel / "REFERENCE.md").is_file()
    assert "### BEGIN SOLUTION" not in (skel / NB02).read_text(encoding="utf-8")
    homes = tmp_path / "home"
    for learner in ("ada", "bob"):
        shutil.copytree(skel, homes / f"jupyter-{learner}" / "wslearn")
    shutil.copy(ROOT / "notebooks" / NB02, homes / "jupyter-ada" / "wslearn" / NB02)  # solved
    collect = [block_line("sudo rm -rf submissions"), block_line("for home in /home/jupyter-*")]
    script = "\n".join(collect).replace("/home/jupyter-", f"{homes}/jupyter-")
    subprocess.run(["bash", "-c", script.replace("sudo ", "")], cwd=tmp_path, check=True,
                   timeout=60)  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "submissions").iterdir()) == ["ada", "bob"]
    grade = block_line("sudo -E python -m wslearn grade").replace("/srv/wslearn/", f"{ROOT}/")
    grade = grade.replace("sudo -E python", sys.executable, 1) + " --notebook 02_accept_key"
    subprocess.run(["bash", "-c", grade], cwd=tmp_path, check=True, timeout=300,
                   capture_output=True)  # fmt: skip
    with open(tmp_path / "report.csv", newline="", encoding="utf-8") as report:
        rows = list(csv.DictReader(report))
    earned = {(r["student"], r["grade_id"]): float(r["points"]) for r in rows}
    maximum = {(r["student"], r["grade_id"]): float(r["max_points"]) for r in rows}
    assert earned and {key[1] for key in earned} == {"accept_key-check", "build_101-check"}
    for key, points in earned.items():
        assert points == (maximum[key] if key[0] == "ada" else 0), (key, points)
