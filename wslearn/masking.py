"""Masking: XOR each payload byte with one byte of a 4-byte key (RFC 6455 §5.3).

Every frame a client sends is masked with a fresh random key; the server XORs the
payload with the same key again to get the original bytes back::

    transformed[i] = original[i] XOR key[i % 4]

XOR twice with the same key gives back the input, so one function both masks and
unmasks. Masking is **not encryption**: the key travels in the clear, in the frame
header right before the payload, so anyone who sees the frame can undo it. It is
there to stop a malicious page from making a browser send bytes that a confused
proxy or cache on the way would take for an HTTP request of its own (§10.3).

The textbook loop ``bytes(b ^ key[i % 4] for i, b in enumerate(data))`` is correct
but costs a Python step per byte (≈ 10 MB/s). :func:`unmask` gets the same result
by XOR-ing many bytes at once: for short payloads as one big integer, for long
ones as 64-bit words with numpy.
"""

from __future__ import annotations

from typing import Union

import numpy as np

__all__ = ["unmask", "mask", "unmask_reference"]

BytesLike = Union[bytes, bytearray, memoryview]

#: Below this many bytes, one big-integer XOR beats setting up numpy arrays.
_NUMPY_THRESHOLD = 2048


def unmask(data: BytesLike, mask: bytes, offset: int = 0) -> bytes:
    """XOR ``data`` with the 4-byte ``mask`` repeated; return the result.

    ``offset`` says where in the payload ``data`` starts: when a payload arrives
    in pieces, the second piece may start in the middle of the key (byte 5 of the
    payload pairs with ``mask[1]``), so pass the number of payload bytes already
    handled. ``unmask(unmask(x, k), k) == x`` for every ``x`` and ``k``.

    >>> unmask(b"\\x7f\\x9f\\x4d\\x51\\x58", b"\\x37\\xfa\\x21\\x3d")   # RFC 6455 §5.7
    b'Hello'
    """
    if len(mask) != 4:
        raise ValueError(f"a masking key is exactly 4 bytes, got {len(mask)}")
    shift = offset % 4
    if shift:
        mask = mask[shift:] + mask[:shift]
    n = len(data)
    if n < _NUMPY_THRESHOLD:
        if n == 0:
            return b""
        key = (mask * (n // 4 + 1))[:n]
        return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(
            n, "little"
        )
    words = n // 8
    out = np.empty(n, dtype=np.uint8)
    # Eight payload bytes XOR eight key bytes (the key twice) in one machine operation.
    np.bitwise_xor(
        np.frombuffer(data, dtype=np.uint64, count=words),
        np.frombuffer(mask * 2, dtype=np.uint64)[0],
        out=out[: words * 8].view(np.uint64),
    )
    rest = n - words * 8
    if rest:
        # 8 is a multiple of 4, so the tail starts at key byte 0 again.
        out[words * 8 :] = np.frombuffer(data, dtype=np.uint8, offset=words * 8) ^ np.frombuffer(
            (mask * 2)[:rest], dtype=np.uint8
        )
    return out.tobytes()


#: Masking and unmasking are the same operation; this name reads better when sending.
mask = unmask


def unmask_reference(data: BytesLike, mask: bytes, offset: int = 0) -> bytes:
    """The per-byte loop straight from RFC 6455 §5.3: slow, obviously right.

    Kept as the reference the fast :func:`unmask` is tested and measured against.
    """
    if len(mask) != 4:
        raise ValueError(f"a masking key is exactly 4 bytes, got {len(mask)}")
    return bytes(b ^ mask[(offset + i) % 4] for i, b in enumerate(bytes(data)))
