"""The package learner code sees while graded: no checks, and the exercise's functions cut out."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import wslearn
from wslearn.grading.package_view import learner_package
from wslearn.grading.remote import LearnerError, LearnerProcess

pytestmark = pytest.mark.timeout(60)

PACKAGE = Path(wslearn.__file__).resolve().parent


@pytest.fixture
def learner(tmp_path):
    view = learner_package(
        PACKAGE, tmp_path / "view", ["handshake.accept_key", "close.Close.parse"]
    )
    work = tmp_path / "work"
    work.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(view), "MPLBACKEND": "Agg"}
    with LearnerProcess(timeout=20, env=env, cwd=str(work)) as process:
        yield process


@pytest.mark.parametrize(
    "attempt",
    [
        "wslearn.accept_key(key)",
        "wslearn.handshake.accept_key(key)",
        "__import__('wslearn.handshake').handshake.accept_key(key)",
        "ak(key)",
        "run_source(key)",
    ],
)
def test_a_cut_out_function_raises_whatever_the_path(learner, attempt):
    learner.run(
        "import wslearn, wslearn.handshake\n"
        "from wslearn.handshake import accept_key as ak\n"
        "def run_source(key):\n"
        "    space = {'__name__': 'wslearn.handshake', '__package__': 'wslearn'}\n"
        "    exec(open(wslearn.handshake.__file__).read(), space)\n"
        "    return space['accept_key'](key)\n"
        f"def attempt(key):\n    return {attempt}"
    )
    with pytest.raises(LearnerError) as raised:
        learner.call("attempt", "dGhlIHNhbXBsZSBub25jZQ==")
    assert raised.value.type_name == "DelegationError"
    assert "asks you to write" in raised.value.message


def test_a_cut_out_method_raises_and_the_rest_of_the_class_works(learner):
    learner.run("import wslearn\ndef f():\n    return wslearn.Close(1000, 'bye').serialize()")
    assert learner.call("f") == bytes.fromhex("03e8") + b"bye"
    learner.run("def g():\n    return wslearn.Close.parse(b'\\x03\\xe8')")
    with pytest.raises(LearnerError, match="asks you to write"):
        learner.call("g")


def test_the_rest_of_the_library_works(learner):
    learner.run(
        "import wslearn\ndef h():\n    return wslearn.unmask(b'ab', b'\\x01\\x02\\x03\\x04')"
    )
    assert learner.call("h") == bytes([ord("a") ^ 1, ord("b") ^ 2])


def test_no_checks_nor_grading_code_is_in_the_view(tmp_path):
    # (An editable install's import hook could still find the project's own files by name:
    # the sandbox is what hides them. Here: they are not in the copy.)
    view = learner_package(PACKAGE, tmp_path, [])
    assert not (view / "wslearn" / "checks").exists()
    grading = sorted(p.name for p in (view / "wslearn" / "grading").iterdir())
    assert grading == ["__init__.py", "plain.py", "runner.py"]
    assert (view / "wslearn" / "handshake.py").read_text() == (PACKAGE / "handshake.py").read_text()


def test_the_view_is_the_package_learner_code_imports(learner):
    learner.run("import wslearn\nwhere = wslearn.__file__")
    assert str(PACKAGE) not in learner.get("where")


def test_an_unknown_function_to_cut_out_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no function"):
        learner_package(PACKAGE, tmp_path, ["handshake.no_such_function"])
    assert sys.modules["wslearn"] is wslearn  # the grader's own package is untouched
