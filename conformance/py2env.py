"""The Python 2.7 side: find an interpreter, build (once) the folder Autobahn|Testsuite runs from.

Autobahn|Testsuite 0.8.2, the reference conformance suite for RFC 6455 servers, is written
for Python 2.7 and runs nowhere else. This module owns everything about that interpreter:

* :func:`find_python2` looks for one (``--python2 PATH``, pyenv's ``~/.pyenv/versions/2.7.*``,
  then ``python2.7`` / ``python2`` on PATH) and checks that it really is 2.7;
* :func:`ensure_env` installs the pinned packages of ``requirements-py2.txt`` into one folder
  (``pip install --target``: no virtualenv needed, Python 2.7 ships none) and reuses it while
  the pins and the interpreter stay the same;
* :func:`wstest_argv` is the command line that runs ``wstest`` from that folder.

Nothing here imports the suite into this (Python 3) process: it only starts Python 2.7.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict, Iterable, List, Optional

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements-py2.txt"

#: Written into the env folder once every package installed; it holds a fingerprint of the
#: pins and the interpreter, so a changed pin or another Python 2.7 means "build again".
READY_FILE = "READY"

#: Runs wstest from the env folder. ``site.addsitedir`` (not PYTHONPATH) is needed because
#: it also reads the folder's ``.pth`` files, which is how ``zope.interface`` (used by
#: Twisted) makes its ``zope`` namespace importable.
_LAUNCHER = (
    "import site, sys; site.addsitedir(sys.argv[1]); sys.argv = ['wstest'] + sys.argv[2:]; "
    "from autobahntestsuite.wstest import run; run()"
)


class Python2Missing(RuntimeError):
    """No usable Python 2.7 here: the conformance command cannot run."""


def python2_candidates(explicit: Optional[str] = None) -> List[str]:
    """Where a Python 2.7 may be, best first: the one asked for, pyenv's, then PATH's."""
    if explicit:
        return [explicit]  # asked for by name: try that one only, do not guess others
    found: List[str] = []
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    # Newest 2.7 first (2.7.18 before 2.7.9: compare the numbers, not the text).
    versions = sorted(
        pyenv_root.glob("versions/2.7*"),
        key=lambda p: [int(n) for n in p.name.split(".") if n.isdigit()],
        reverse=True,
    )
    found += [str(v / "bin" / "python") for v in versions if (v / "bin" / "python").exists()]
    for name in ("python2.7", "python2"):
        path = shutil.which(name)
        if path:
            found.append(path)
    return found


def is_python27(path: str) -> bool:
    """True if running ``path`` gives a Python whose version starts with 2.7."""
    try:
        result = subprocess.run(
            [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            env=clean_env(),
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0 and result.stdout.strip() == "2.7"


def find_python2(explicit: Optional[str] = None, candidates: Optional[Iterable[str]] = None) -> str:
    """The first candidate that is a working Python 2.7; :class:`Python2Missing` if none is."""
    tried = list(candidates) if candidates is not None else python2_candidates(explicit)
    for path in tried:
        if is_python27(path):
            return path
    looked = ", ".join(tried) if tried else "nothing found"
    raise Python2Missing(
        "Autobahn|Testsuite 0.8.2 needs Python 2.7, and none was found "
        f"(tried: {looked}).\n"
        "Install one (for example `pyenv install 2.7.18`) or name it with --python2 PATH."
    )


def clean_env() -> Dict[str, str]:
    """This process's environment without what would make Python 2.7 load Python 3 code.

    A Python 3 virtual environment may set PYTHONPATH or PYTHONHOME; Python 2.7 must not
    follow them. PYTHONNOUSERSITE keeps packages of the user's own 2.7 site out too, so
    only the env folder's pinned versions are used.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


def python2_version(python2: str) -> str:
    """The full version, e.g. ``2.7.18``."""
    result = subprocess.run(
        [python2, "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        timeout=30,
        env=clean_env(),
    )
    return result.stdout.strip() or "2.7 (unknown)"


def fingerprint(python2: str, requirements: Path = REQUIREMENTS) -> str:
    """Changes when the pins change or another interpreter is used."""
    digest = hashlib.sha256(requirements.read_bytes())
    digest.update(os.path.realpath(python2).encode())
    digest.update(python2_version(python2).encode())
    return digest.hexdigest()


def env_is_ready(env_dir: Path, python2: str, requirements: Path = REQUIREMENTS) -> bool:
    """True if ``env_dir`` was built completely, from these pins, for this interpreter."""
    ready = env_dir / READY_FILE
    return ready.is_file() and ready.read_text().strip() == fingerprint(python2, requirements)


def ensure_env(
    python2: str, env_dir: Path, requirements: Path = REQUIREMENTS, rebuild: bool = False
) -> Path:
    """Reuse ``env_dir`` if it is ready, else install the pins into it; returns it.

    The packages go first into ``<env_dir>.partial`` and are moved into place only when pip
    succeeded: an interrupted first run leaves no half-built folder that looks ready.
    Raises :class:`RuntimeError` (with pip's last lines) when the install fails.
    """
    if not rebuild and env_is_ready(env_dir, python2, requirements):
        return env_dir
    pip_check = subprocess.run(
        [python2, "-m", "pip", "--version"], capture_output=True, timeout=60, env=clean_env()
    )
    if pip_check.returncode != 0:
        raise Python2Missing(
            f"{python2} has no pip, so the suite cannot be installed for it.\n"
            f"Add it with `{python2} -m ensurepip --user`, then run again."
        )
    partial = env_dir.with_name(env_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    print(f"building the Python 2.7 environment in {env_dir} (first run: about a minute)")
    log = env_dir.with_name(env_dir.name + "-install.log")
    with open(log, "w") as out:
        result = subprocess.run(
            [
                python2,
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-warn-script-location",
                "--target",
                str(partial),
                "-r",
                str(requirements),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=clean_env(),
        )
    if result.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise RuntimeError(f"pip could not install the suite for Python 2.7 (see {log}):\n{tail}")
    (partial / READY_FILE).write_text(fingerprint(python2, requirements) + "\n")
    shutil.rmtree(env_dir, ignore_errors=True)
    partial.rename(env_dir)
    log.unlink()
    return env_dir


def wstest_argv(python2: str, env_dir: Path, *args: str) -> List[str]:
    """The command line that runs ``wstest ARGS...`` with the packages of ``env_dir``."""
    return [python2, "-c", _LAUNCHER, str(env_dir), *args]
