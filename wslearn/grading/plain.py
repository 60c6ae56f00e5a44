"""Plain data: the only thing that crosses between the grader and learner code.

The grader never holds a learner's object. A learner's function runs in a process of its
own; what it returns comes back as *plain data*, rebuilt by the grader from a description:
``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, and lists, tuples and dicts of
these. Whatever else a function returns (a class instance, a generator, a ``str`` subclass
whose ``==`` says yes to everything) comes back as a :class:`NotPlainData` that equals
nothing: a wrong answer, not a crash, and never a way to fool a check.

The description is JSON, so it can travel over a pipe as one line::

    >>> to_wire((b"\\x81\\x05", 5))
    {'tuple': [{'bytes': 'gQU='}, 5]}
    >>> from_wire({'tuple': [{'bytes': 'gQU='}, 5]})
    (b'\\x81\\x05', 5)

Subclasses of the plain types travel as their plain value (an ``IntEnum`` member as its
``int``), so the grader compares values the built-in way. Nesting and size are bounded.
"""

from __future__ import annotations

import base64
import math
from typing import Any, Dict, List

__all__ = ["NotPlainData", "TooBig", "from_wire", "to_wire", "MAX_DEPTH", "MAX_ITEMS"]

#: Deepest nesting of lists, tuples and dicts that is carried.
MAX_DEPTH = 32
#: Most values (of any kind, nested ones included) one description may hold.
MAX_ITEMS = 1_000_000


class TooBig(ValueError):
    """A value too deep or too large to carry."""


class NotPlainData:
    """What the grader gets instead of a value that is not plain data: equal to nothing."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<a {self.type_name} object, which is not plain data>"


def to_wire(value: Any) -> Any:
    """Describe ``value`` as JSON-ready data; what is not plain data becomes ``{"other": type}``."""
    budget = [MAX_ITEMS]
    return _describe(value, 0, budget)


def _describe(value: Any, depth: int, budget: List[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise TooBig("the value is too large or too deeply nested to carry")
    # Subclasses first become their plain value: int(True) must stay a bool, so bool first.
    if value is None or isinstance(value, bool):
        return None if value is None else bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        number = float(value)
        return number if math.isfinite(number) else {"float": repr(number)}
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, list):
        return [_describe(item, depth + 1, budget) for item in list(value)]
    if isinstance(value, tuple):
        return {"tuple": [_describe(item, depth + 1, budget) for item in tuple(value)]}
    if isinstance(value, dict):
        pairs = list(dict(value).items())
        return {
            "dict": [
                [_describe(k, depth + 1, budget), _describe(v, depth + 1, budget)] for k, v in pairs
            ]
        }
    return {"other": type(value).__name__[:80]}


def from_wire(description: Any) -> Any:
    """Rebuild the plain value a description stands for (exact built-in types only)."""
    budget = [MAX_ITEMS]
    return _rebuild(description, 0, budget)


def _rebuild(description: Any, depth: int, budget: List[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise TooBig("the description is too large or too deeply nested")
    if description is None or type(description) in (bool, int, float, str):
        return description
    if type(description) is list:
        return [_rebuild(item, depth + 1, budget) for item in description]
    if type(description) is dict and len(description) == 1:
        ((kind, content),) = description.items()
        if kind == "bytes" and type(content) is str:
            return base64.b64decode(content, validate=True)
        if kind == "float" and content in ("nan", "inf", "-inf"):
            return float(content)
        if kind == "tuple" and type(content) is list:
            return tuple(_rebuild(item, depth + 1, budget) for item in content)
        if kind == "dict" and type(content) is list:
            return _rebuild_dict(content, depth, budget)
        if kind == "other" and type(content) is str:
            return NotPlainData(content)
    raise ValueError(f"not a description of plain data: {str(description)[:80]}")


def _rebuild_dict(pairs: List[Any], depth: int, budget: List[int]) -> Dict[Any, Any]:
    result: Dict[Any, Any] = {}
    for pair in pairs:
        if type(pair) is not list or len(pair) != 2:
            raise ValueError("a dict is described as [key, value] pairs")
        key = _rebuild(pair[0], depth + 1, budget)
        try:
            result[key] = _rebuild(pair[1], depth + 1, budget)
        except TypeError:  # an unhashable key (a list): not something a dict can hold
            raise ValueError("a dict key that cannot be a key") from None
    return result
