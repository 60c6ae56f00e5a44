"""Shared fixtures: Debian's chromium, driven headless by Playwright.

Playwright cannot download its own browsers here, so the tests use the system's ``chromium``
(``apt-get install chromium``; ``bash tests/run.sh`` installs it). Without it, browser tests are
skipped on a learner's machine, but fail when ``WSLEARN_REQUIRE_BROWSER=1`` or ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

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
