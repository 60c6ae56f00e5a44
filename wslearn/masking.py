"""Masking: XOR each payload byte with one byte of a 4-byte key (RFC 6455 §5.3).

Every frame a client sends is masked with a fresh random key; the server XORs the
payload with the same key again to get the original bytes back::

    j = i MOD 4
    transformed-octet-i = original-octet-i XOR masking-key-octet-j

XOR twice with the same key gives back the input, so one function both masks and
unmasks. Masking is **not encryption**: the key travels in the clear, in the frame
header right before the payload, so anyone who sees the frame can undo it. It is
there to stop a malicious page from making a browser send bytes that a confused
proxy or cache on the way would take for an HTTP request of its own (§10.3).

:func:`unmask_reference` is §5.3 word for word, one byte at a time. :func:`unmask`
is the same rule applied to the whole payload at once: the key repeated to the
payload's length, both read as one (big) integer, one XOR. Long payloads go faster
still with numpy, which XORs eight bytes per machine operation: that lives in one
optional module, :mod:`wslearn.speedups`, which :func:`unmask_fast` and
:func:`unmask_in_place` use when numpy is installed and the payload is long enough to
pay for it. ``benchmarks/`` measures every way beside the ``websockets`` library's C
version.
"""

from __future__ import annotations

from types import ModuleType
from typing import Optional

from .bytes_like import BytesLike

__all__ = ["unmask", "mask", "unmask_reference", "unmask_fast", "unmask_in_place"]


def unmask_reference(data: BytesLike, mask: bytes, offset: int = 0) -> bytes:
    """RFC 6455 §5.3 word for word: byte *i* XOR key byte *i* MOD 4. Slow, obviously right.

    ``offset`` says where in the payload ``data`` starts (see :func:`unmask`). The other
    ways are tested against this one.
    """
    if len(mask) != 4:
        raise ValueError(f"a masking key is exactly 4 bytes, got {len(mask)}")
    return bytes(b ^ mask[(offset + i) % 4] for i, b in enumerate(bytes(data)))


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
    n = len(data)
    start = offset % 4
    key = mask[start:] + mask[:start]  # the key byte that pairs with data[0] comes first
    key_stream = (key * (n // 4 + 1))[:n]  # ... then the key over and over, n bytes
    # Read as n-byte numbers, XOR-ing the two numbers XORs every pair of bytes at once.
    xored = int.from_bytes(data, "big") ^ int.from_bytes(key_stream, "big")
    return xored.to_bytes(n, "big")


#: Masking and unmasking are the same operation; this name reads better when sending.
mask = unmask

# Speed lives in one optional place: wslearn.speedups needs numpy.
_speedups: Optional[ModuleType]
try:
    from . import speedups as _speedups
except ImportError:  # pragma: no cover - numpy is a dependency, but the course runs without it
    _speedups = None


def unmask_fast(data: BytesLike, mask: bytes, offset: int = 0) -> bytes:
    """:func:`unmask`, with :mod:`wslearn.speedups` for payloads long enough to gain from it.

    The same bytes either way (the tests check it); the frame parser, the reader and the
    recorder call this one.
    """
    if _speedups is not None and len(data) >= _speedups.WORTH_IT:
        return _speedups.unmask(data, mask, offset)
    return unmask(data, mask, offset)


def unmask_in_place(payload: memoryview, mask: bytes) -> None:
    """Unmask ``payload`` where it lies: the bytes in the buffer are replaced by the result.

    A reader that already holds the payload in its own buffer saves a copy this way
    (and the memory of one). With :mod:`wslearn.speedups` for long payloads.
    """
    if _speedups is not None and len(payload) >= _speedups.WORTH_IT:
        _speedups.unmask_in_place(payload, mask)
    else:
        payload[:] = unmask(payload, mask)
