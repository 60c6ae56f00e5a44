"""The exercise-checking machinery shared by every notebook."""

import pytest

from wslearn.checks import Case, ExerciseFailed, describe_bytes, run_cases


def double(x):
    return 2 * x


CASES = [
    Case("x = 2", (2,), lambda r: None if r == 4 else f"you returned {r!r}", "multiply"),
    Case("x = 5", (5,), lambda r: None if r == 10 else f"you returned {r!r}", "multiply"),
]


def test_passing_check_shows_one_line():
    result = run_cases("double", double, CASES)
    assert repr(result) == "✓ double: all 2 cases pass"


def test_wrong_answer_names_the_case_and_the_hint_not_the_answer():
    with pytest.raises(ExerciseFailed) as info:
        run_cases("double", lambda x: x + 2, CASES)
    assert str(info.value) == "double: for x = 5, you returned 7.\nHint: multiply."


def test_unsolved_stub_is_not_written_yet():
    def stub(x):
        raise NotImplementedError()

    with pytest.raises(ExerciseFailed, match="not written yet"):
        run_cases("double", stub, CASES)


def test_learner_exception_is_reported_with_its_line():
    with pytest.raises(ExerciseFailed, match=r"raised ZeroDivisionError: .* \(line \d+\)"):
        run_cases("double", lambda x: x / 0, CASES)


def test_not_a_function_is_refused():
    with pytest.raises(ExerciseFailed, match="expected a function"):
        run_cases("double", 42, CASES)


def test_failure_renders_in_ipython_as_a_short_message_not_a_traceback():
    error = ExerciseFailed("double", "for x = 5, you returned 7", "multiply")
    assert error._render_traceback_() == [
        "✗ double: for x = 5, you returned 7.",
        "  Hint: multiply.",
    ]


def test_ipython_uses_the_short_rendering():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_cell("from wslearn.checks import ExerciseFailed")
    captured = []
    shell._showtraceback = lambda etype, evalue, stb: captured.append(stb)
    shell.run_cell("raise ExerciseFailed('double', 'for x = 5, you returned 7', 'multiply')")
    assert captured == [["✗ double: for x = 5, you returned 7.", "  Hint: multiply."]]


def test_describe_bytes_shortens_long_data():
    assert describe_bytes(b"") == "b'' (0 bytes)"
    assert describe_bytes(bytes(20)).endswith("… (20 bytes)")
    assert describe_bytes("text") == "'text'"


def test_a_right_answer_worth_a_remark_is_noted_under_the_tick():
    def judge(result):
        return None if result == 4 else f"you returned {result!r}"

    def note(result):
        return "a float is fine too, the library returns an int" if type(result) is float else None

    cases = [Case("x = 2", (2,), judge, "multiply", note=note)]
    assert run_cases("double", lambda x: 2.0 * x, cases).notes == (
        "for x = 2, a float is fine too, the library returns an int.",
    )
    assert repr(run_cases("double", lambda x: 2.0 * x, cases)) == (
        "✓ double: all 1 cases pass\n"
        "  Note: for x = 2, a float is fine too, the library returns an int."
    )
    assert run_cases("double", double, cases).notes == ()
