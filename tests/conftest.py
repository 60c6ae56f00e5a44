"""Shared fixtures: Debian's chromium, driven headless by Playwright.

Playwright cannot download its own browsers here, so the tests use the system's ``chromium``
(``apt-get install chromium``; ``bash tests/run.sh`` installs it). Without it, browser tests are
skipped on a learner's machine, but fail when ``WSLEARN_REQUIRE_BROWSER=1`` or ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING, Dict

import pytest

if TYPE_CHECKING:
    from helpers.learner_envs import LearnerEnv
    from playwright.sync_api import Browser

# The run fails, naming them, if processes the tests started are still alive when it ends.
pytest_plugins = ["helpers.leftovers", "helpers.foreground"]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_required() -> bool:
    return os.environ.get("WSLEARN_REQUIRE_BROWSER") == "1" or os.environ.get("CI") == "true"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of Debian's ``chromium`` executable."""
    path = shutil.which("chromium")
    if path is None:
        message = "Debian's chromium not installed: sudo apt-get install -y chromium"
        if _browser_required():
            pytest.fail(message + " (browser tests are required here)", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    """A headless Chromium (Playwright ``Browser``), shared by the tests of one module.

    Module scope, not session scope: while Playwright's sync API is running it keeps an asyncio
    event loop marked as running in this thread, so ``asyncio.run()`` (used by the tests against
    the ``websockets`` peer) would fail in every later module. Stopping Playwright at the end of
    each browser module gives the thread back.
    """
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


DEFAULT_TIMEOUT = 300  # seconds, for a test that does not set its own (pytest-timeout)


def pytest_collection_modifyitems(items: list) -> None:
    # Set here rather than in pyproject.toml, whose [tool.pytest.ini_options] also applies to a
    # teacher's `pytest --nbval` in the course's environment, which has no pytest-timeout.
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT))


def pytest_collection_finish(session: pytest.Session) -> None:
    # The hub test's user environment builds in the background from now on (tests/helpers/hub.py),
    # beside the learner environments and the first tests, if a selected test needs it.
    if any("hub_user_env" in getattr(item, "fixturenames", ()) for item in session.items):
        from helpers.hub import start_building

        start_building()
    # Build the learner environments before the first test, outside every test's time limit
    # (on a new machine pip downloads for minutes), and only if a selected test needs them.
    if any("learner_envs" in getattr(item, "fixturenames", ()) for item in session.items):
        import time

        from helpers.learner_envs import BuildFailed, build_all

        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        started = time.monotonic()
        try:
            built = build_all()
        except BuildFailed:
            return  # reported by the fixture, in each test that needs the environments
        if reporter is not None:
            names = ", ".join(f"{name} ({env.prefix.name})" for name, env in built.items())
            reporter.write_line(
                f"learner environments ready in {time.monotonic() - started:.0f} s: {names}"
            )


@pytest.fixture(scope="session")
def learner_envs() -> Dict[str, "LearnerEnv"]:
    """The README's and Binder's environments (``tests/helpers/learner_envs.py``), built once."""
    from helpers.learner_envs import BuildFailed, build_all

    try:
        return build_all()  # already built (pytest_collection_finish): returns at once
    except BuildFailed as error:
        pytest.fail(f"a learner environment could not be built:\n{error}", pytrace=False)


@pytest.fixture(scope="session")
def readme_env(learner_envs: Dict[str, "LearnerEnv"]) -> "LearnerEnv":
    """Built with exactly README's first install command, in a fresh virtual environment."""
    return learner_envs["readme"]


@pytest.fixture(scope="session")
def binder_env(learner_envs: Dict[str, "LearnerEnv"]) -> "LearnerEnv":
    """Built as Binder builds it: binder/requirements.txt, then binder/postBuild."""
    return learner_envs["binder"]
