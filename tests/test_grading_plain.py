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


def test_frames_and_opcodes_travel_as_the_librarys_own():
    from wslearn import Frame, Opcode

    frames = [Frame(Opcode.TEXT, b"Hel", fin=False), Frame(Opcode.CONT, b"lo", rsv1=True)]
    back = from_wire(json.loads(json.dumps(to_wire(frames))))
    assert back == frames and all(type(f) is Frame for f in back)
    assert type(back[0].opcode) is Opcode
    assert from_wire(to_wire(Opcode.PING)) is Opcode.PING
    assert from_wire(to_wire(Frame(3, b""))).opcode == 3  # a reserved opcode stays a number


def test_a_frame_description_must_hold_exactly_its_fields():
    good = to_wire(__import__("wslearn").Frame(1, b"x"))
    for bad in (
        {"frame": {"dict": [["opcode", 1]]}},
        {"frame": {"dict": [[k, v] for k, v in good["frame"]["dict"]] + [["header", None]]}},
        {
            "frame": {
                "dict": [
                    ["opcode" if k == "opcode" else k, "x" if k == "fin" else v]
                    for k, v in good["frame"]["dict"]
                ]
            }
        },  # fmt: skip
    ):
        with pytest.raises(ValueError):
            from_wire(bad)


def test_a_learners_subclass_of_frame_is_not_the_librarys_frame():
    from wslearn import Frame

    class Mine(Frame):
        pass

    assert isinstance(from_wire(to_wire(Mine(1, b"x"))), NotPlainData)


def test_functions_travel_as_callbacks_only_when_the_grader_asks():
    def recv(n):
        return b"x" * n

    assert isinstance(from_wire(to_wire(recv)), NotPlainData)  # no callbacks list: other
    callbacks = []
    description = to_wire((recv, 5), callbacks)
    assert description == {"tuple": [{"callback": 0}, 5]} and callbacks == [recv]
    # the grader, reading a learner's answer, never turns a callback into a function
    assert isinstance(from_wire({"callback": 0}), NotPlainData)
    made = from_wire(description, lambda number: callbacks[number])
    assert made[0](3) == b"xxx"


def test_a_servers_connection_travels_as_its_methods():
    from wslearn.server_connection import ServerConnection

    connection = ServerConnection.__new__(ServerConnection)  # no socket: only its methods
    callbacks = []
    description = json.loads(json.dumps(to_wire(connection, callbacks)))
    names = sorted(name for name, _ in description["proxy"][1]["dict"])
    assert names == ["close", "ping", "send"] and len(callbacks) == 3
    proxy = from_wire(description, lambda number: lambda: callbacks[number].__name__)
    assert proxy.send() == "send" and proxy.close() == "close" and not hasattr(proxy, "recv")
    assert isinstance(from_wire(to_wire(connection)), NotPlainData)  # without callbacks
