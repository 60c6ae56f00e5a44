"""Plain data between the grader and learner code: exact built-in values, nothing else."""

from __future__ import annotations

import enum
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wslearn.grading.plain import MAX_DEPTH, NotPlainData, TooBig, from_wire, to_wire

plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text() | st.integers() | st.binary(), inner, max_size=4)
    ),
    max_leaves=20,
)


def same(a, b) -> bool:
    """Equal and of exactly the same types, all the way down (NaN equals NaN here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (a != a and b != b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


@given(plain)
def test_plain_values_travel_as_json_and_come_back_the_same(value):
    description = json.loads(json.dumps(to_wire(value)))
    assert same(from_wire(description), value)


class Always(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


class Opcode(enum.IntEnum):
    TEXT = 1


def test_subclasses_travel_as_their_plain_value():
    back = from_wire(to_wire([Always("wrong"), Opcode.TEXT, bytearray(b"ab"), True]))
    assert back == ["wrong", 1, b"ab", True]
    assert [type(x) for x in back] == [str, int, bytes, bool]
    assert back[0] != "right"  # the always-equal string lost its trick on the way


@pytest.mark.parametrize("value", [object(), iter([1]), {1, 2}, lambda: 1, Exception("x")])
def test_anything_else_becomes_not_plain_data_which_equals_nothing(value):
    back = from_wire(to_wire(value))
    assert isinstance(back, NotPlainData)
    assert back != back and not (back == 1) and back != NotPlainData("x")
    assert "not plain data" in repr(back)


def test_too_deep_is_refused_both_ways():
    deep = []
    for _ in range(MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(TooBig):
        to_wire(deep)
    description = []
    for _ in range(MAX_DEPTH + 2):
        description = [description]
    with pytest.raises(TooBig):
        from_wire(description)


@pytest.mark.parametrize(
    "description",
    [
        {"bytes": "not base64!"},
        {"bytes": 5},
        {"tuple": "ab"},
        {"dict": [[1]]},
        {"dict": [[[1], 2]]},  # a list cannot be a key
        {"a": 1, "b": 2},
        {"float": "1e999"},
        {"class": "Evil"},
    ],
)
def test_a_malformed_description_is_an_error_not_a_value(description):
    with pytest.raises(ValueError):
        from_wire(description)
