"""One name for "bytes, or anything that holds bytes the same way"."""

from __future__ import annotations

from typing import Union

__all__ = ["BytesLike"]

#: What the core accepts wherever it reads bytes: a network read may give any of these.
BytesLike = Union[bytes, bytearray, memoryview]
