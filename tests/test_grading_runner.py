"""The learner's process and the grader's view of it: cells run there, answers come back as
plain data, and whatever the learner's code does there stays there."""

from __future__ import annotations

import time

import pytest

from wslearn.checks import ExerciseFailed
from wslearn.checks.handshake import check_accept_key
from wslearn.grading.remote import LearnerError, LearnerProcess, RemoteFunction

pytestmark = pytest.mark.timeout(60)

ACCEPT_KEY = """
import base64, hashlib
def accept_key(key):
    digest = hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()
    return base64.b64encode(digest).decode()
"""


@pytest.fixture
def learner():
    with LearnerProcess(timeout=10) as process:
        yield process


def test_a_check_runs_in_the_grader_on_the_learners_answers(learner):
    learner.run(ACCEPT_KEY)
    result = check_accept_key(RemoteFunction(learner, "accept_key"))
    assert result.cases > 3


def test_a_wrong_answer_fails_the_same_check_with_its_message(learner):
    learner.run("def accept_key(key):\n    return key[::-1]")
    with pytest.raises(ExerciseFailed, match="accept_key"):
        check_accept_key(RemoteFunction(learner, "accept_key"))


def test_an_unsolved_stub_reads_not_written_yet(learner):
    learner.run("def accept_key(key):\n    raise NotImplementedError()")
    with pytest.raises(ExerciseFailed, match="not written yet"):
        check_accept_key(RemoteFunction(learner, "accept_key"))


def test_an_error_comes_back_with_its_type_message_and_cell_line(learner):
    learner.run("def f(x):\n    y = 1\n    return x / 0")
    with pytest.raises(LearnerError) as raised:
        learner.call("f", 1)
    assert raised.value.type_name == "ZeroDivisionError"
    assert "division by zero" in raised.value.message
    assert raised.value.line == 3


def test_a_cell_that_raises_reports_it_and_the_namespace_goes_on(learner):
    with pytest.raises(LearnerError) as raised:
        learner.run("x = 1\nundefined_name")
    assert raised.value.type_name == "NameError"
    assert learner.get("x") == 1


def test_magics_work_as_in_a_notebook(learner):
    learner.run("%time y = 2 + 2")
    assert learner.get("y") == 4


def test_an_always_equal_answer_is_compared_by_its_plain_value(learner):
    learner.run(
        "class Yes(str):\n    def __eq__(self, other): return True\n    __hash__ = str.__hash__\n"
        "def accept_key(key):\n    return Yes('anything')"
    )
    with pytest.raises(ExerciseFailed):
        check_accept_key(RemoteFunction(learner, "accept_key"))


def test_prints_and_input_cannot_reach_the_protocol(learner):
    learner.run(
        "import sys, os\nprint('{\"value\": 1}')\nsys.stdout.write('garbage\\n')\n"
        "os.write(1, b'{\"ok\": true}\\n')\nos.write(2, b'noise\\n')\n"
        "def f():\n    return input()"
    )
    with pytest.raises(LearnerError) as raised:
        learner.call("f")  # reads /dev/null, not the grader's requests
    assert raised.value.type_name == "EOFError"
    assert learner.get("__name__") == "__main__"  # the protocol still works


def test_an_endless_loop_costs_the_time_limit_then_fails_every_request():
    with LearnerProcess(timeout=1) as learner:
        learner.run("def spin():\n    while True: pass")
        started = time.monotonic()
        with pytest.raises(LearnerError, match="no answer within 1 s"):
            learner.call("spin")
        assert time.monotonic() - started < 1 + 4  # liveness margin
        assert learner.session.running.process.poll() is not None  # killed
        with pytest.raises(LearnerError):
            learner.get("spin")


def test_a_process_that_kills_itself_fails_the_request_not_the_grader(learner):
    learner.run("import os\ndef die():\n    os._exit(3)")
    with pytest.raises(LearnerError, match="ended"):
        learner.call("die")


def test_what_it_started_is_gone_after_close():
    with LearnerProcess(timeout=10) as learner:
        learner.run(
            "import subprocess, sys\n"
            "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
            "pid = child.pid"
        )
        pid = learner.get("pid")
    assert wait_until_gone(pid)


def wait_until_gone(pid: int, seconds: float = 5.0) -> bool:
    """True once ``pid`` no longer runs: no such process, or only its exit status left."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                state = stat.read().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):  # a zombie: dead, waiting for init to collect it
            return True
        time.sleep(0.05)
    return False


def test_unknown_names_and_bad_requests_are_errors(learner):
    with pytest.raises(LearnerError) as raised:
        learner.call("nothing_here")
    assert raised.value.type_name == "NameError"
    assert "error" in learner.request({"op": "explode"})


def test_a_learner_error_in_a_check_names_the_learners_type_and_line(learner):
    learner.run("def accept_key(key):\n    x = 1\n    return key + 1")
    with pytest.raises(ExerciseFailed) as failed:
        check_accept_key(RemoteFunction(learner, "accept_key"))
    assert "raised TypeError" in str(failed.value) and "(line 3)" in str(failed.value)


def test_a_learners_error_is_caught_as_its_built_in_class(learner):
    learner.run(
        "class Refused(ValueError):\n    pass\n"
        "def refuse(code):\n    raise Refused(f'no {code}')\n"
        "def decode(data):\n    return data.decode('utf-8')\n"
        "def eof():\n    raise EOFError('closed')\n"
    )
    with pytest.raises(ValueError, match="no 5") as caught:
        learner.call("refuse", 5)
    assert caught.value.type_name == "Refused"
    with pytest.raises(ValueError) as decoding:  # UnicodeDecodeError takes 5 arguments
        learner.call("decode", b"\xff")
    assert decoding.value.type_name == "UnicodeDecodeError"
    with pytest.raises(EOFError):
        learner.call("eof")


def test_a_grader_function_passed_in_is_called_back_here(learner):
    calls = []

    def recv(size):
        calls.append(size)
        return b"ab"[: max(0, 2 - len(calls))] if len(calls) < 3 else b""

    learner.run("def read_all(recv):\n    data = b''\n    while chunk := recv(8):\n"
                "        data += chunk\n    return data")  # fmt: skip
    assert learner.call("read_all", recv) == b"a"
    assert calls == [8, 8]


def test_what_a_callback_raises_here_is_raised_here_after_the_call(learner):
    class Stop(Exception):
        pass

    def recv(size):
        raise Stop("enough")

    learner.run("def swallow(recv):\n    try:\n        recv(1)\n    except Exception:\n"
                "        return 'caught'")  # fmt: skip
    with pytest.raises(Stop):
        learner.call("swallow", recv)
