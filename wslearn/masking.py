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
ones as 64-bit words with numpy, written straight into the ``bytes`` object it
returns (see :func:`_new_bytes_buffer`), so a long payload is read once and
written once, as a C implementation would do. ``benchmarks/`` measures each way.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Tuple, Union

import numpy as np

try:
    import ctypes
except ImportError:  # pragma: no cover - some Python builds have no ctypes
    ctypes = None  # type: ignore[assignment]

__all__ = ["unmask", "mask", "unmask_reference"]

BytesLike = Union[bytes, bytearray, memoryview]

#: Below this many bytes, one big-integer XOR beats setting up numpy arrays.
_NUMPY_THRESHOLD = 1024

_U64 = np.uint64


def _uninitialised_bytes_maker() -> Tuple[Optional[Callable[[int], Any]], int]:
    """Return ``(new_bytes, offset)``: a maker of uninitialised ``bytes`` and where their data sits.

    Python offers no way to fill a new ``bytes`` object after creating it, so the
    obvious numpy version writes its result into an array, then copies it into a
    ``bytes`` (``tobytes()``): for a 1 MiB payload that copy and the page faults of
    the fresh array cost more than the XOR itself. In CPython, C code (such as
    websockets' speed-up) creates the ``bytes`` object *uninitialised* and writes
    into it before anyone else can see it. ``ctypes`` lets us do the same: ask
    CPython for an uninitialised ``bytes`` of ``n`` bytes (``new_bytes(None, n)``),
    and let numpy write into its memory at ``id(result) + offset``. Where that is
    not possible (not CPython, no ``ctypes``), or the self-check below fails,
    ``(None, 0)`` is returned and :func:`unmask` copies through a ``bytearray``.
    """
    try:
        new_bytes = ctypes.pythonapi.PyBytes_FromStringAndSize
        new_bytes.restype = ctypes.py_object
        new_bytes.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t)
        probe = new_bytes(None, 16)
        # Where the bytes' data starts, relative to id() (its address in CPython).
        offset = ctypes.cast(ctypes.c_char_p(probe), ctypes.c_void_p).value - id(probe)
        # Self-check: what is written there must be what the bytes object then holds.
        view = (ctypes.c_char * 16).from_address(id(probe) + offset)
        np.frombuffer(view, np.uint8)[:] = np.arange(16, dtype=np.uint8)
        if type(probe) is not bytes or probe != bytes(range(16)):  # pragma: no cover
            raise RuntimeError("bytes objects are not laid out as expected")
        return new_bytes, offset
    except Exception:  # pragma: no cover - only off CPython
        return None, 0


_new_bytes, _DATA_OFFSET = _uninitialised_bytes_maker()


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
    if _new_bytes is None:  # pragma: no cover - only off CPython
        target = bytearray(n)
        _xor_into(target, 0, data, mask)
        return bytes(target)
    out = _new_bytes(None, n)
    _xor_into((ctypes.c_char * n).from_address(id(out) + _DATA_OFFSET), 0, data, mask)
    return out


def _xor_into(target: Any, start: int, data: BytesLike, mask: bytes) -> None:
    """Write ``data`` XOR the repeated ``mask`` into the writable buffer ``target`` at ``start``."""
    n = len(data)
    words = n >> 3
    key8 = mask * 2
    # Eight payload bytes XOR eight key bytes (the key twice) in one machine operation,
    # written straight into the result's memory.
    np.bitwise_xor(
        np.frombuffer(data, _U64, words),
        _U64(int.from_bytes(key8, "little")),
        np.frombuffer(target, _U64, words, start),
    )
    rest = n - words * 8
    if rest:
        # 8 is a multiple of 4, so the tail starts at key byte 0 again.
        tail = memoryview(data)[words * 8 :]
        memoryview(target).cast("B")[start + words * 8 : start + n] = (
            int.from_bytes(tail, "little") ^ int.from_bytes(key8[:rest], "little")
        ).to_bytes(rest, "little")


def _prefix_and_mask(prefix: bytes, data: BytesLike, mask: bytes) -> bytes:
    """``prefix + mask(data, mask)`` as one new ``bytes``, without the copy ``+`` makes.

    A client sends a frame's header followed by its masked payload: for a large
    payload, writing both into one new object saves copying the payload twice.
    """
    n = len(data)
    if _new_bytes is None or n < _NUMPY_THRESHOLD:
        return prefix + unmask(data, mask)
    size = len(prefix) + n
    out = _new_bytes(None, size)
    target = (ctypes.c_char * size).from_address(id(out) + _DATA_OFFSET)
    memoryview(target).cast("B")[: len(prefix)] = prefix
    _xor_into(target, len(prefix), data, mask)
    return out


#: Masking and unmasking are the same operation; this name reads better when sending.
mask = unmask


def unmask_reference(data: BytesLike, mask: bytes, offset: int = 0) -> bytes:
    """The per-byte loop straight from RFC 6455 §5.3: slow, obviously right.

    Kept as the reference the fast :func:`unmask` is tested and measured against.
    """
    if len(mask) != 4:
        raise ValueError(f"a masking key is exactly 4 bytes, got {len(mask)}")
    return bytes(b ^ mask[(offset + i) % 4] for i, b in enumerate(bytes(data)))
