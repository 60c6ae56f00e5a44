#!/usr/bin/env bash
# The test command: installs what the tests need, makes sure a browser is there, runs pytest.
#
#   bash tests/run.sh [pytest arguments...]
#
# Run it from a fresh virtual environment (or with any python3 on PATH). It
#   1. installs requirements-dev.txt and this package (editable),
#   2. installs Debian's chromium with apt-get if it is missing (the browser tests drive it with
#      Playwright, which cannot download its own browsers here),
#   3. installs Debian's bubblewrap with apt-get if it is missing (the grader's sandbox,
#      wslearn/grading/sandbox.py; its tests fail without it), and npm, python3-venv and procps
#      (the JupyterHub test, tests/test_hub.py),
#   4. runs pytest with branch coverage of the wslearn package, and lists the 25 slowest tests.
# WSLEARN_SKIP_BROWSER=1 runs without a browser (browser tests are skipped); never allowed when CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."

# The active virtual environment's python, else any python3 on PATH.
if command -v python >/dev/null 2>&1; then
    PYTHON=python
else
    PYTHON=python3
fi

skip_browser=0
if [ "${WSLEARN_SKIP_BROWSER:-}" = "1" ]; then
    if [ "${CI:-}" = "true" ]; then
        echo "WSLEARN_SKIP_BROWSER=1 is not allowed in CI: browser tests must run there." >&2
        exit 2
    fi
    skip_browser=1
    echo "== WSLEARN_SKIP_BROWSER=1: browser tests will be skipped"
fi

echo "== installing requirements-dev.txt and wslearn (editable)"
"$PYTHON" -m pip install --disable-pip-version-check -q -r requirements-dev.txt -e .

# install_debian_package COMMAND PACKAGE WHY [CHECK]: apt-get install PACKAGE unless COMMAND is on
# PATH (or, given, unless the shell command CHECK succeeds).
install_debian_package() {
    local command=$1 package=$2 why=$3 check=${4:-}
    if [ -n "$check" ] && bash -c "$check" >/dev/null 2>&1; then
        return 0
    elif [ -z "$check" ] && command -v "$command" >/dev/null 2>&1; then
        return 0
    fi
    echo "== installing Debian's $package"
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y "$package"
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo -n apt-get update
        sudo -n env DEBIAN_FRONTEND=noninteractive apt-get install -y "$package"
    else
        echo "$why: sudo apt-get install -y $package" >&2
        exit 2
    fi
    if ! command -v "$command" >/dev/null 2>&1; then
        echo "$command is still not on PATH after apt-get install $package." >&2
        exit 2
    fi
}

if [ "$skip_browser" = "0" ]; then
    install_debian_package chromium chromium \
        "Browser tests need Debian's chromium (or set WSLEARN_SKIP_BROWSER=1 to run without them)"
fi
install_debian_package bwrap bubblewrap "The grader's sandbox tests need Debian's bubblewrap"
# The JupyterHub test (tests/test_hub.py): configurable-http-proxy from npm, the learners' shared
# user environment made with Debian's own python3 (every user can run it), ps and pgrep.
install_debian_package npm npm "The JupyterHub test needs Node.js and npm"
install_debian_package python3 python3-venv "The JupyterHub test needs Debian's python3 with venv" \
    "/usr/bin/python3 -c 'import ensurepip, venv'"
install_debian_package pgrep procps "The JupyterHub test needs ps and pgrep"

if [ "$skip_browser" = "0" ]; then
    # The tests turn a would-be skip (no browser) into a failure.
    export WSLEARN_REQUIRE_BROWSER=1
else
    unset WSLEARN_REQUIRE_BROWSER
fi

echo "== running pytest"
status=0
"$PYTHON" -m pytest --cov=wslearn --cov-branch --cov-report=term-missing:skip-covered --durations=25 "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests (exit code 5): that counts as a failure." >&2
    exit 5
fi
exit "$status"
