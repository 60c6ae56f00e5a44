"""Masking (RFC 6455 §5.3): every way agrees with the per-byte definition, on the same cases.

The ways: :func:`wslearn.unmask` (the plain one a notebook shows), :func:`wslearn.speedups.unmask`
(numpy, optional) and :func:`wslearn.masking.unmask_fast` (the second for long payloads, the first
otherwise; with and without the speed-up). :func:`wslearn.masking.unmask_in_place`, which the reader
uses on its own buffer, is checked against the same reference, through views of a buffer at every
alignment.
"""

import os

import pytest

from wslearn import mask, masking, speedups, unmask, unmask_reference

KEY = bytes.fromhex("37 fa 21 3d")

WAYS = {
    "unmask": unmask,
    "speedups.unmask": speedups.unmask,
    "unmask_fast": masking.unmask_fast,
}


@pytest.fixture(params=list(WAYS) + ["unmask_fast without numpy"])
def way(request, monkeypatch):
    if request.param == "unmask_fast without numpy":
        monkeypatch.setattr(masking, "_speedups", None)
        return masking.unmask_fast
    return WAYS[request.param]


def test_rfc_5_7_masked_hello(way):
    assert way(bytes.fromhex("7f 9f 4d 51 58"), KEY) == b"Hello"
    assert mask(b"Hello", KEY) == bytes.fromhex("7f 9f 4d 51 58")


@pytest.mark.parametrize(
    "n", [0, 1, 3, 4, 5, 7, 8, 9, 125, 126, 1023, 1024, 1025, 2055, 4096, 65535, 65536, 70001]
)
def test_every_length_matches_the_per_byte_reference(way, n):
    data = os.urandom(n)
    key = os.urandom(4)
    assert way(data, key) == unmask_reference(data, key)
    assert way(way(data, key), key) == data


@pytest.mark.parametrize("n", [10, 3000])
@pytest.mark.parametrize("offset", [1, 2, 3, 5, 6])
def test_resuming_mid_key_with_offset(way, n, offset):
    data = os.urandom(n)
    whole = way(data, KEY)
    assert way(data[:offset], KEY) + way(data[offset:], KEY, offset=offset) == whole
    assert way(data[offset:], KEY, offset) == unmask_reference(data[offset:], KEY, offset)


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_accepts_any_bytes_like_and_returns_bytes(way, kind):
    for n in (5, 5000):
        data = os.urandom(n)
        result = way(kind(data), KEY)
        assert type(result) is bytes
        assert result == unmask_reference(data, KEY)


def test_key_must_be_four_bytes(way):
    with pytest.raises(ValueError):
        way(b"abc", b"abc")
    with pytest.raises(ValueError):
        unmask_reference(b"abc", b"abcde")


def test_the_fast_way_takes_the_speed_up_only_where_it_pays(monkeypatch):
    calls = []
    monkeypatch.setattr(speedups, "unmask", lambda *args: calls.append(len(args[0])) or b"")
    masking.unmask_fast(bytes(speedups.WORTH_IT - 1), KEY)
    masking.unmask_fast(bytes(speedups.WORTH_IT), KEY)
    assert calls == [speedups.WORTH_IT]


# ---------------------------------------------------------------- in place

IN_PLACE_LENGTHS = [*range(21), 1023, 1024, 1025, 4097]


@pytest.fixture(params=["unmask_in_place", "unmask_in_place without numpy", "speedups"])
def in_place(request, monkeypatch):
    if request.param == "unmask_in_place without numpy":
        monkeypatch.setattr(masking, "_speedups", None)
    if request.param == "speedups":
        return speedups.unmask_in_place
    return masking.unmask_in_place


@pytest.mark.parametrize("n", IN_PLACE_LENGTHS)
@pytest.mark.parametrize("start", [0, 1, 3, 5, 7, 8])
def test_unmask_in_place_matches_the_reference_at_any_offset_in_a_buffer(in_place, n, start):
    data = os.urandom(n)
    key = os.urandom(4)
    before, after = os.urandom(start), os.urandom(9)
    buffer = bytearray(before + data + after)
    with memoryview(buffer) as view, view[start : start + n] as payload:
        assert in_place(payload, key) is None
    assert bytes(buffer[start : start + n]) == unmask_reference(data, key)
    assert buffer[:start] == before and buffer[start + n :] == after  # nothing else touched
    # The buffer is free again: it can be resized (a view still held would be a BufferError).
    buffer += b"more"
    del buffer[:start]
    buffer.clear()


@pytest.mark.parametrize("n", [5, 1025])
def test_unmask_in_place_twice_gives_back_the_input(in_place, n):
    data = os.urandom(n)
    buffer = bytearray(data)
    in_place(memoryview(buffer), KEY)
    assert buffer != data
    in_place(memoryview(buffer), KEY)
    assert buffer == data


def test_unmask_in_place_rfc_5_7_hello(in_place):
    buffer = bytearray.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58")
    in_place(memoryview(buffer)[6:], bytes(buffer[2:6]))
    assert buffer[6:] == b"Hello"


def test_unmask_in_place_key_must_be_four_bytes(in_place):
    with pytest.raises(ValueError):
        in_place(memoryview(bytearray(2000)), b"abc")


def test_unmask_in_place_takes_the_speed_up_only_where_it_pays(monkeypatch):
    calls = []
    monkeypatch.setattr(speedups, "unmask_in_place", lambda view, key: calls.append(len(view)))
    masking.unmask_in_place(memoryview(bytearray(speedups.WORTH_IT - 1)), KEY)
    masking.unmask_in_place(memoryview(bytearray(speedups.WORTH_IT)), KEY)
    assert calls == [speedups.WORTH_IT]
