"""Masking (RFC 6455 §5.3): every way agrees with the per-byte definition, on the same cases.

The ways: :func:`wslearn.unmask` (the plain one a notebook shows), :func:`wslearn.speedups.unmask`
(numpy, optional) and :func:`wslearn.masking.unmask_fast` (the second for long payloads, the first
otherwise; with and without the speed-up).
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
