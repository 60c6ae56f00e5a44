"""A real JupyterHub for two learners, on this machine, as The Littlest JupyterHub sets one up.

The Littlest JupyterHub runs every learner as a user of one machine, all in one network
namespace, and their servers from one shared user environment. Here:

* **the user environment** (:func:`build_user_env`): a virtual environment of Debian's own
  ``python3`` (every user can run it, unlike a Python under ``/root``) in ``/opt``, with what
  README's "Run it for a class" section installs, run from a copy of the repository as a
  teacher's clone; plus ``jupyterhub`` for ``jupyterhub-singleuser`` (the installer puts it
  there on a real one). Reused while its inputs are unchanged, built afresh in CI;
* **configurable-http-proxy** from npm, pinned, next to it;
* **two learners** (:func:`learners`): local users made for the test and removed after it,
  each with notebook 05 in their home;
* **the hub** (:func:`running_hub`): JupyterHub on 127.0.0.1 with free ports, the local-process
  spawner (each learner's server runs as that learner: the hub runs as root), the dummy
  authenticator (any password), and every process it started stopped at the end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List

from helpers.labtools import free_port
from helpers.learner_envs import ROOT, STAMP, BuildFailed, LearnerEnv, _copy_repository, _run

#: Where the shared user environment lives, as /opt/tljh/user does on a real one.
PREFIX = Path("/opt/wslearn-hub-test")
#: README's command for the user environment, run from the repository's root.
USER_ENV_INSTALL = "python -m pip install -r requirements.txt ."
#: The proxy JupyterHub drives; 4.6 runs on Debian 12's Node.js 18.
PROXY_PACKAGE = "configurable-http-proxy@4.6.3"
LEARNERS = ("wslearn-ada", "wslearn-bob")
START_LIMIT = 90.0  # seconds for the hub to answer


def system_python() -> str:
    """Debian's ``python3``: under ``/usr``, so every learner's account can run it."""
    for candidate in ("/usr/bin/python3.11", "/usr/bin/python3"):
        if os.access(candidate, os.X_OK):
            return candidate
    raise BuildFailed("no /usr/bin/python3: apt-get install python3 python3-venv")


def build_user_env(force: bool) -> LearnerEnv:
    """The shared user environment (see the module's docstring)."""
    env = LearnerEnv("hub", PREFIX / "user", PREFIX / "repository", PREFIX / "build.log")
    python = system_python()
    digest = hashlib.sha256(f"{python}\n{USER_ENV_INSTALL}\n{PROXY_PACKAGE}".encode())
    for name in ("requirements.txt", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    PREFIX.mkdir(parents=True, exist_ok=True)
    os.chmod(PREFIX, 0o755)
    _copy_repository(env.course)
    stamp = env.prefix / STAMP
    fresh = force or not stamp.exists() or stamp.read_text() != digest.hexdigest()
    if fresh:
        shutil.rmtree(env.prefix, ignore_errors=True)
        env.log.write_text("", encoding="utf-8")
        _run("python -m venv", [python, "-m", "venv", str(env.prefix)], cwd=PREFIX,
             env=env.environ(), log=env.log)  # fmt: skip
        _run("README's install command for a class",
             ["bash", "-c", USER_ENV_INSTALL + " jupyterhub"], cwd=env.course, env=env.environ(),
             log=env.log)  # fmt: skip
        _run("npm install " + PROXY_PACKAGE,
             ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(PREFIX / "proxy"),
              PROXY_PACKAGE], cwd=PREFIX, env=env.environ(), log=env.log)  # fmt: skip
        stamp.write_text(digest.hexdigest())
    else:  # the package itself, from this checkout's copy
        _run("pip install .", ["python", "-m", "pip", "install", "--no-deps",
                               "--force-reinstall", "."],
             cwd=env.course, env=env.environ(), log=env.log)  # fmt: skip
    return env


_BUILDING: Dict[str, Any] = {}
_LOCK = threading.Lock()


def start_building() -> None:
    """Start building the user environment in a thread, once (if this machine can run a hub):
    pip mostly waits on files and the network, so it overlaps the first tests."""
    with _LOCK:
        if _BUILDING or can_run_a_hub():
            return
        force = os.environ.get("WSLEARN_FRESH_ENVS") == "1" or os.environ.get("CI") == "true"

        def build() -> None:
            try:
                _BUILDING["env"] = build_user_env(force)
            except Exception as error:  # noqa: BLE001 - reported by built_user_env()
                _BUILDING["error"] = f"{type(error).__name__}: {error}"

        _BUILDING["thread"] = threading.Thread(target=build, name="hub-user-env", daemon=True)
        _BUILDING["thread"].start()


def built_user_env() -> LearnerEnv:
    """The user environment, once its build is over (started now if it was not)."""
    start_building()
    _BUILDING["thread"].join()
    if "error" in _BUILDING:
        raise BuildFailed(_BUILDING["error"])
    return _BUILDING["env"]  # type: ignore[no-any-return]


def proxy_command() -> str:
    return str(PREFIX / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy")


@dataclasses.dataclass(frozen=True)
class Learner:
    name: str
    uid: int
    home: Path


def _remove_user(name: str) -> None:
    with contextlib.suppress(KeyError):
        pwd.getpwnam(name)
        subprocess.run(["pkill", "-KILL", "-u", name], check=False, timeout=10)
        time.sleep(0.2)
        subprocess.run(["userdel", "--remove", "--force", name], check=False, timeout=30,
                       capture_output=True)  # fmt: skip


@contextlib.contextmanager
def learners(notebooks: List[Path]) -> Iterator[Dict[str, Learner]]:
    """Two local users, each with ``notebooks`` in their home; removed afterwards."""
    made: Dict[str, Learner] = {}
    try:
        for name in LEARNERS:
            _remove_user(name)  # left over from a run that was killed
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name],
                           check=True, timeout=30, capture_output=True)  # fmt: skip
            entry = pwd.getpwnam(name)
            home = Path(entry.pw_dir)
            for notebook in notebooks:
                shutil.copy(notebook, home / notebook.name)
                os.chown(home / notebook.name, entry.pw_uid, entry.pw_gid)
            made[name] = Learner(name, entry.pw_uid, home)
        yield made
    finally:
        for name in LEARNERS:
            _remove_user(name)


def processes_of(name: str) -> List[str]:
    """The processes still running as user ``name`` (a zombie, which has ended and holds
    nothing but its exit status, does not count)."""
    done = subprocess.run(["ps", "-u", name, "-o", "pid=,stat=,args="], capture_output=True,
                          text=True, check=False, timeout=10)  # fmt: skip
    return [line for line in done.stdout.splitlines() if not line.split()[1].startswith("Z")]


def processes_matching(command: str) -> List[str]:
    """The processes whose command line holds ``command``."""
    done = subprocess.run(["pgrep", "-a", "-f", command], capture_output=True, text=True,
                          check=False, timeout=10)  # fmt: skip
    return done.stdout.splitlines()


@dataclasses.dataclass
class Hub:
    url: str  # http://<host>:<port>, the address the browser uses
    port: int
    log: Path

    def log_tail(self, size: int = 6000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-size:]


CONFIG = """\
c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = {users!r}
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = ["--LabApp.expose_app_in_browser=True"]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 60
c.JupyterHub.db_url = "sqlite:///{folder}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{folder}/cookie_secret"
c.JupyterHub.pid_file = "{folder}/jupyterhub.pid"
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
"""


@contextlib.contextmanager
def running_hub(env: LearnerEnv, folder: Path, host: str) -> Iterator[Hub]:
    """JupyterHub on 127.0.0.1 (reached by the browser as ``host``), until the block ends."""
    port, hub_port, api_port = free_port(), free_port(), free_port()
    config = folder / "jupyterhub_config.py"
    config.write_text(textwrap.dedent(CONFIG).format(
        port=port, hub_port=hub_port, api_port=api_port, proxy=proxy_command(),
        users=set(LEARNERS), singleuser=str(env.prefix / "bin" / "jupyterhub-singleuser"),
        folder=folder,
    ))  # fmt: skip
    hub = Hub(f"http://{host}:{port}", port, folder / "jupyterhub.log")
    with open(hub.log, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [str(env.prefix / "bin" / "jupyterhub"), "-f", str(config)], cwd=folder,
            env=env.environ(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + START_LIMIT
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/hub/api/", timeout=5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterHub did not start:\n{hub.log_tail()}") from None
                time.sleep(0.3)
        yield hub
    finally:
        process.send_signal(signal.SIGTERM)  # the hub stops the learners' servers and the proxy
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything of its group still there
        process.wait(timeout=10)


def can_run_a_hub() -> str:
    """Why this machine cannot run the hub test ("" if it can)."""
    if sys.platform != "linux":
        return "Linux only"
    if os.geteuid() != 0:
        return "the hub runs each learner as a user of this machine: it must run as root"
    for command in ("useradd", "userdel", "npm", "pgrep"):
        if shutil.which(command) is None:
            return f"{command} is not installed"
    return ""
