"""Masking (RFC 6455 §5.3): the fast version agrees with the per-byte definition."""

import os

import pytest

from wslearn import mask, unmask, unmask_reference

KEY = bytes.fromhex("37 fa 21 3d")


def test_rfc_5_7_masked_hello():
    assert unmask(bytes.fromhex("7f 9f 4d 51 58"), KEY) == b"Hello"
    assert mask(b"Hello", KEY) == bytes.fromhex("7f 9f 4d 51 58")


@pytest.mark.parametrize(
    "n", [0, 1, 3, 4, 5, 7, 8, 9, 125, 126, 2047, 2048, 2049, 2055, 4096, 65535, 65536, 70001]
)
def test_every_length_matches_the_per_byte_reference(n):
    data = os.urandom(n)
    key = os.urandom(4)
    assert unmask(data, key) == unmask_reference(data, key)
    assert unmask(unmask(data, key), key) == data


@pytest.mark.parametrize("n", [10, 3000])
@pytest.mark.parametrize("offset", [1, 2, 3, 5, 6])
def test_resuming_mid_key_with_offset(n, offset):
    data = os.urandom(n)
    whole = unmask(data, KEY)
    assert unmask(data[:offset], KEY) + unmask(data[offset:], KEY, offset=offset) == whole
    assert unmask(data[offset:], KEY, offset) == unmask_reference(data[offset:], KEY, offset)


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_accepts_any_bytes_like_and_returns_bytes(kind):
    for n in (5, 5000):
        data = os.urandom(n)
        result = unmask(kind(data), KEY)
        assert type(result) is bytes
        assert result == unmask_reference(data, KEY)


def test_key_must_be_four_bytes():
    with pytest.raises(ValueError):
        unmask(b"abc", b"abc")
    with pytest.raises(ValueError):
        unmask_reference(b"abc", b"abcde")
