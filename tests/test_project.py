"""Tests of the project itself: requirements in step, README's commands, Binder and CI config."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent

_REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def _normalise(name: str) -> str:
    """PEP 503 name normalisation: case-insensitive, runs of - _ . are the same."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_requirements(path: Path) -> dict[str, str]:
    """Map each requirement's normalised name to its specifier (spaces removed, parts sorted)."""
    requirements: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        match = _REQUIREMENT.match(line)
        assert match, f"{path.name}: cannot parse requirement line {raw!r}"
        name, _extras, spec = match.groups()
        parts = sorted(part.strip() for part in spec.replace(" ", "").split(",") if part.strip())
        requirements[_normalise(name)] = ",".join(parts)
    return requirements


def test_requirement_parser_normalises_names_and_specifiers(tmp_path: Path) -> None:
    sample = tmp_path / "r.txt"
    sample.write_text(
        "# comment\n-r other.txt\nJupyter_Server.Proxy >=4.1, <5\ncoverage[toml]>=7.4\n"
    )
    assert read_requirements(sample) == {"jupyter-server-proxy": "<5,>=4.1", "coverage": ">=7.4"}


def test_binder_requirements_match_root_requirements() -> None:
    root = read_requirements(ROOT / "requirements.txt")
    binder = read_requirements(ROOT / "binder" / "requirements.txt")
    assert root, "requirements.txt lists no requirements"
    for name, spec in root.items():
        assert name in binder, f"{name} is in requirements.txt but not in binder/requirements.txt"
        assert binder[name] == spec, (
            f"{name}: requirements.txt says {spec!r}, binder/requirements.txt says {binder[name]!r}"
        )


def test_binder_has_jupyter_server_proxy() -> None:
    # Not in Binder's base image, and the live server is reached through it there.
    assert "jupyter-server-proxy" in read_requirements(ROOT / "binder" / "requirements.txt")


def test_binder_postbuild_installs_the_package_and_the_learners_copy() -> None:
    # tests/helpers/learner_envs.py builds Binder's environment with it and runs the course there.
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    text = post_build.read_text(encoding="utf-8")
    assert "pip install -e ." in text and "--no-deps" not in text
    assert "python -m wslearn copy" in text
    assert re.fullmatch(r"python-3\.\d+\s*", (ROOT / "binder" / "runtime.txt").read_text())


def test_dev_requirements_include_the_course_requirements() -> None:
    lines = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    assert "-r requirements.txt" in [line.strip() for line in lines]


def _section(markdown: str, heading: str) -> str:
    match = re.search(
        rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL
    )
    assert match, f"README has no '## {heading}' section"
    return match.group(1)


def _code_blocks(markdown: str) -> list[str]:
    return [
        block.strip()
        for block in re.findall(r"^```[^\n]*\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL)
    ]


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return _code_blocks(_section(readme, "Quick start"))


def test_readme_quick_start_has_exactly_two_one_line_commands() -> None:
    blocks = quick_start_commands()
    assert len(blocks) == 2, f"Quick start should have 2 code blocks, found {len(blocks)}: {blocks}"
    for block in blocks:
        assert "\n" not in block, f"each Quick start block is one command, got {block!r}"


def test_readme_run_command_installs_and_opens_the_index() -> None:
    run_course = quick_start_commands()[0]
    assert run_course.startswith("python -m pip install -r requirements.txt -e .")
    assert run_course.endswith("&& python -m wslearn lab"), run_course
    # `python -m wslearn lab` opens the learner's index (tests/test_lab.py starts it for real).
    from wslearn.__main__ import course_folder

    assert (course_folder() / "notebooks" / "00_index.ipynb").is_file()


def test_readme_test_command_is_what_ci_runs() -> None:
    test_command = quick_start_commands()[1]
    assert test_command == "bash tests/run.sh"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(rf"^\s*{re.escape(test_command)}(\s|$)", ci, re.MULTILINE), (
        f".ci/run does not run README's test command {test_command!r}"
    )


@pytest.mark.parametrize("script", ["tests/run.sh", ".ci/run"])
def test_scripts_are_executable_and_strict(script: str) -> None:
    path = ROOT / script
    assert os.access(path, os.X_OK), f"{script} must be executable"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#!"), f"{script} needs a shebang line"
    assert "set -euo pipefail" in text


def test_sanitize_rules_rewrite_machine_dependent_output() -> None:
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((ROOT / "notebooks" / "sanitize.cfg").read_text("utf-8"))
    assert len(patterns) >= 3

    def sanitize(text: str) -> str:
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    assert sanitize("listening on 127.0.0.1:43817") == "listening on 127.0.0.1:PORT"
    assert sanitize("<socket at 0x7f3a2c1b9e50>") == "<socket at 0xADDR>"
    assert sanitize("took 12.5 ms, then 3µs, then 2s") == "took TIME, then TIME, then TIME"
    assert sanitize("3 sections, 0x1f") == "3 sections, 0x1f"


def notebook_paths() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_is_an_index_notebook() -> None:
    assert (ROOT / "notebooks" / "00_index.ipynb") in notebook_paths()


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_notebook_is_valid_with_python3_kernel(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize(
    "command", [["check"], ["format", "--check"]], ids=["ruff check", "ruff format --check"]
)
def test_the_code_style_is_enforced(command: list[str]) -> None:
    """The style CONTRIBUTING.md describes holds for the library, the tests and the benchmarks."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "wslearn", "tests", "benchmarks", "conformance"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"ruff {' '.join(command)}:\n{result.stdout}{result.stderr}"


def test_the_core_and_its_io_ring_type_check() -> None:
    """mypy (the version requirements-dev.txt pins) over the files pyproject.toml lists."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, f"mypy:\n{result.stdout}{result.stderr}"


def test_the_docstring_examples_run() -> None:
    """The RFC 6455 examples in the library's docstrings (§1.3, §5.7) are doctests."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--doctest-modules", "wslearn", "-q",
         "-p", "no:cacheprovider", "-p", "no:cov"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0 and " passed" in result.stdout, result.stdout + result.stderr
