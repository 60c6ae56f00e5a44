"""The numpy unmask (``wslearn.speedups``) gives the same bytes as the per-byte reference."""

import random

import pytest

from wslearn import speedups, unmask_reference

LENGTHS = list(range(41)) + list(range(1024, 1041))


def some_bytes(n: int) -> bytes:
    return random.Random(n).randbytes(n)


@pytest.mark.parametrize("n", LENGTHS)
def test_unmask_equals_the_reference_at_every_offset(n):
    data, key = some_bytes(n), some_bytes(n + 4)[-4:]
    for offset in range(4):
        assert speedups.unmask(data, key, offset) == unmask_reference(data, key, offset), offset


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("start", [0, 3])
def test_unmask_in_place_equals_the_reference(n, start):
    data, key = some_bytes(n), some_bytes(n + 4)[-4:]
    buffer = bytearray(start) + bytearray(data)  # start 3: not on an 8-byte boundary
    speedups.unmask_in_place(memoryview(buffer)[start:], key)
    assert bytes(buffer[start:]) == unmask_reference(data, key)
    assert buffer[:start] == bytearray(start)


def test_a_key_that_is_not_four_bytes_is_refused():
    with pytest.raises(ValueError, match="exactly 4 bytes"):
        speedups.unmask(b"abcd", b"abc")
    with pytest.raises(ValueError, match="exactly 4 bytes"):
        speedups.unmask_in_place(memoryview(bytearray(8)), b"abcde")
