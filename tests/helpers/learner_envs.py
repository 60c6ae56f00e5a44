"""The two environments learners run the course in, built the way learners build them.

The developers' environment (``requirements-dev.txt``) is a superset of what a learner has, so a
notebook that imports a test-only package passes there and fails for every learner. The course's
own tests therefore run the notebooks in environments built exactly as learners build them:

* **readme** — a fresh virtual environment, then README's first command (its install part, up to
  ``&& python -m wslearn lab``), run from the repository's root, and nothing else;
* **binder** — what Binder (repo2docker) does: a copy of the repository's files (Binder clones it),
  a fresh virtual environment on the Python of ``binder/runtime.txt``, then
  ``pip install -r binder/requirements.txt`` and ``binder/postBuild``, both from the copy's root,
  and nothing else.

Both are built at once (two processes) under ``.venv-learners/`` and reused by later runs on this
machine while their inputs (the README command, the requirement files, ``pyproject.toml``,
``binder/``, the Python version) are unchanged; ``WSLEARN_FRESH_ENVS=1`` or ``CI=true`` always
builds them afresh. The Binder copy of the repository is made anew, and ``postBuild`` run again,
in every test run, so it always holds this checkout's files.

Commands in these environments run with the environment's ``bin/`` first on ``PATH``, as in an
activated environment, and without ``PYTHONPATH`` or the user's site-packages, so nothing from the
developers' environment leaks in.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Dict, List, Optional

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / ".venv-learners"
BUILD_LIMIT = 900.0  # seconds for building one environment (pip downloads on a new machine)
STAMP = ".wslearn-inputs"


@dataclasses.dataclass(frozen=True)
class LearnerEnv:
    """A built environment: its name, its ``python``, the folder learners run the course from."""

    name: str
    prefix: Path
    course: Path  # the repository root as the learner has it (a copy, for Binder)
    log: Path

    @property
    def python(self) -> Path:
        return self.prefix / "bin" / "python"

    def environ(self, **extra: str) -> Dict[str, str]:
        """The process environment of an activated ``self`` (see the module's docstring)."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith("COV_")
        }
        env["PATH"] = os.pathsep.join([str(self.prefix / "bin"), env.get("PATH", "")])
        env["VIRTUAL_ENV"] = str(self.prefix)
        env["PYTHONNOUSERSITE"] = "1"
        env.update(extra)
        return env


def readme_install_command() -> str:
    """README's first command without the part that starts JupyterLab."""
    from test_project import quick_start_commands

    run_course = quick_start_commands()[0]
    install, sep, _lab = run_course.partition(" && python -m wslearn lab")
    assert sep, f"README's first command does not end by starting the course: {run_course!r}"
    return install


def binder_python() -> str:
    """An interpreter of the version ``binder/runtime.txt`` names (``python-3.11``)."""
    runtime = (ROOT / "binder" / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(\d+)\.(\d+)", runtime)
    assert match, f"binder/runtime.txt: {runtime!r} is not python-X.Y"
    wanted = (int(match.group(1)), int(match.group(2)))
    if sys.version_info[:2] == wanted:
        return sys.executable
    found = shutil.which(f"python{wanted[0]}.{wanted[1]}")
    assert found, f"binder/runtime.txt asks for Python {runtime[7:]}, not found on PATH"
    return found


def _inputs_digest(name: str, python: str) -> str:
    digest = hashlib.sha256(name.encode())
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version)"], capture_output=True, text=True,
        timeout=30, check=True,
    ).stdout  # fmt: skip
    digest.update(version.encode())
    digest.update(readme_install_command().encode())
    for relative in (
        "requirements.txt",
        "pyproject.toml",
        "binder/requirements.txt",
        "binder/postBuild",
        "binder/runtime.txt",
    ):
        digest.update(relative.encode() + b"\0" + (ROOT / relative).read_bytes())
    return digest.hexdigest()


def _repository_files() -> List[str]:
    """The files Binder's clone would have: tracked ones, plus new ones that are not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    return [name for name in listed.decode().split("\0") if name and (ROOT / name).is_file()]


def _copy_repository(destination: Path) -> None:
    if destination.exists():
        shutil.rmtree(destination)
    for name in _repository_files():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


class BuildFailed(Exception):
    pass


def _run(step: str, command: List[str], *, cwd: Path, env: Dict[str, str], log: Path) -> None:
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(command)}   (in {cwd})\n")
        out.flush()
        try:
            result = subprocess.run(
                command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, timeout=BUILD_LIMIT, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired as error:
            raise BuildFailed(f"{step}: no result within {BUILD_LIMIT:.0f} s") from error
    if result.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-6000:]
        raise BuildFailed(f"{step} failed (exit {result.returncode}):\n{tail}")


def _fresh_venv(env: LearnerEnv, python: str, digest: str, force: bool) -> bool:
    """Make ``env.prefix`` a new empty virtual environment; False if the built one is reusable."""
    stamp = env.prefix / STAMP
    if not force and stamp.exists() and stamp.read_text() == digest and env.python.exists():
        return False
    if env.prefix.exists():
        shutil.rmtree(env.prefix)
    env.prefix.parent.mkdir(parents=True, exist_ok=True)
    env.log.write_text("", encoding="utf-8")
    _run("python -m venv", [python, "-m", "venv", str(env.prefix)], cwd=ROOT, env=env.environ(),
         log=env.log)  # fmt: skip
    return True


def build_readme(force: bool) -> LearnerEnv:
    env = LearnerEnv("readme", HOME / "readme", ROOT, HOME / "readme.log")
    digest = _inputs_digest(env.name, sys.executable)
    if _fresh_venv(env, sys.executable, digest, force):
        # README: "in a fresh virtual environment (python3 -m venv .venv && . .venv/bin/activate),
        # from the repository root" -- then its first command.
        _run("README's install command", ["bash", "-c", readme_install_command()], cwd=ROOT,
             env=env.environ(), log=env.log)  # fmt: skip
        (env.prefix / STAMP).write_text(digest)
    return env


def build_binder(force: bool) -> LearnerEnv:
    env = LearnerEnv("binder", HOME / "binder", HOME / "binder-repo", HOME / "binder.log")
    python = binder_python()
    digest = _inputs_digest(env.name, python)
    _copy_repository(env.course)
    if _fresh_venv(env, python, digest, force):
        _run("pip install -r binder/requirements.txt",
             ["python", "-m", "pip", "install", "-r", "binder/requirements.txt"],
             cwd=env.course, env=env.environ(), log=env.log)  # fmt: skip
    # repo2docker runs postBuild from the repository's root, as an executable.
    post_build = env.course / "binder" / "postBuild"
    _run("binder/postBuild", [str(post_build)], cwd=env.course, env=env.environ(), log=env.log)
    (env.prefix / STAMP).write_text(digest)
    return env


_BUILT: Dict[str, LearnerEnv] = {}
_ERRORS: Dict[str, str] = {}
_LOCK = threading.Lock()


def build_all(force: Optional[bool] = None) -> Dict[str, LearnerEnv]:
    """Build (or reuse) both environments, at the same time; once per process.

    Raises :class:`BuildFailed` naming the step that failed, with the end of its log.
    """
    if force is None:
        force = os.environ.get("WSLEARN_FRESH_ENVS") == "1" or os.environ.get("CI") == "true"
    with _LOCK:
        if not _BUILT and not _ERRORS:

            def build(name: str, function) -> None:
                try:
                    _BUILT[name] = function(force)
                except BuildFailed as error:
                    _ERRORS[name] = str(error)
                except Exception as error:  # e.g. no git to list the repository's files
                    _ERRORS[name] = f"{type(error).__name__}: {error}"

            threads = [
                threading.Thread(target=build, args=("readme", build_readme)),
                threading.Thread(target=build, args=("binder", build_binder)),
            ]
            HOME.mkdir(parents=True, exist_ok=True)
            with open(HOME / ".lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # another test run on this checkout waits
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
        if _ERRORS:
            raise BuildFailed("\n\n".join(f"[{k}] {v}" for k, v in sorted(_ERRORS.items())))
        return dict(_BUILT)


if __name__ == "__main__":  # pragma: no cover - a developer's shortcut
    for name, built in build_all().items():
        print(f"{name}: {built.python} (course at {built.course})")
