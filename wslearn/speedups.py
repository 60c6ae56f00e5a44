"""A faster unmask for long payloads, with numpy: eight bytes per machine operation.

Optional: :mod:`wslearn.masking` uses it (through ``unmask_fast``) when numpy imports,
and falls back to its plain :func:`wslearn.masking.unmask` otherwise. The result is the
same bytes; ``tests/test_masking.py`` checks it on the same cases, ``tests/test_speedups.py``
on its own, and ``benchmarks/`` measures both beside the ``websockets`` library's C version.

The idea: 8 is a multiple of 4, so every 8-byte word of the payload lines up with the
key written twice. numpy reads the payload as 64-bit words, XORs each with that
8-byte key in C, and the few bytes left over (fewer than 8) are done one by one.
"""

from __future__ import annotations

import numpy as np

from .bytes_like import BytesLike

__all__ = ["unmask", "unmask_in_place", "WORTH_IT"]

#: Below this many bytes, setting up numpy arrays costs more than the plain big-integer XOR.
WORTH_IT = 1024


def unmask(data: BytesLike, mask: bytes, offset: int = 0) -> bytes:
    """Same as :func:`wslearn.masking.unmask`, XOR-ing 64-bit words with numpy.

    >>> unmask(b"\\x7f\\x9f\\x4d\\x51\\x58", b"\\x37\\xfa\\x21\\x3d")   # RFC 6455 §5.7
    b'Hello'
    """
    if len(mask) != 4:
        raise ValueError(f"a masking key is exactly 4 bytes, got {len(mask)}")
    start = offset % 4
    key8 = (mask[start:] + mask[:start]) * 2  # the key twice: one 64-bit word
    n = len(data)
    whole = n - n % 8  # the bytes that make whole 64-bit words
    out = np.empty(n, dtype=np.uint8)
    np.bitwise_xor(
        np.frombuffer(data, dtype=np.uint64, count=whole // 8),
        np.frombuffer(key8, dtype=np.uint64),
        out=out[:whole].view(np.uint64),
    )
    if whole < n:  # up to 7 bytes left; word-aligned, so they start at key byte 0
        rest = n - whole
        tail = np.frombuffer(data, dtype=np.uint8, count=rest, offset=whole)
        out[whole:] = tail ^ np.frombuffer(key8, dtype=np.uint8, count=rest)
    return out.tobytes()


def unmask_in_place(payload: memoryview, mask: bytes) -> None:
    """Same as :func:`wslearn.masking.unmask_in_place`: XOR the bytes where they lie."""
    if len(mask) != 4:
        raise ValueError(f"a masking key is exactly 4 bytes, got {len(mask)}")
    key8 = mask * 2
    n = len(payload)
    whole = n - n % 8
    words = np.frombuffer(payload, dtype=np.uint64, count=whole // 8)
    np.bitwise_xor(words, np.frombuffer(key8, dtype=np.uint64), out=words)
    if whole < n:
        tail = np.frombuffer(payload, dtype=np.uint8, count=n - whole, offset=whole)
        np.bitwise_xor(tail, np.frombuffer(key8, dtype=np.uint8, count=n - whole), out=tail)
