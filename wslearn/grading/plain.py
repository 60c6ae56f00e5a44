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

Subclasses of the plain types travel as their plain value, so the grader compares values
the built-in way. Nesting and size are bounded.

Besides plain data, a few things the checks hand to a learner's function travel by name:

* **values of the library** that exercises take or return: an :class:`~wslearn.Opcode`
  (``{"opcode": 1}``) and a :class:`~wslearn.Frame` (its fields); each side rebuilds them
  with its own class, from plain fields;
* **the grader's functions**, when the grader passes ``callbacks`` (a ``recv()`` that hands
  out a stream in chunks, the ``send()`` of a live connection): they travel as a number,
  ``{"callback": 0}``; calling what the learner's side rebuilds from it asks the grader to
  call its function (:mod:`wslearn.grading.remote`). An object whose class is in
  :data:`REMOTE_METHODS` (a server's connection) travels as its methods.

Nothing else travels: a learner's side can name no other class or function of the grader.
"""

from __future__ import annotations

import base64
import math
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = ["NotPlainData", "TooBig", "from_wire", "to_wire", "MAX_DEPTH", "MAX_ITEMS"]
__all__ += ["Proxy", "REMOTE_METHODS"]

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


#: Objects of the grader that travel as a handful of their methods, by class (module and
#: name): a handler's connection, whose ``send()`` a learner's handler calls.
REMOTE_METHODS: Dict[Tuple[str, str], Tuple[str, ...]] = {
    ("wslearn.server_connection", "ServerConnection"): ("send", "close", "ping"),
}

#: The fields a :class:`~wslearn.Frame` travels with (its ``header`` and ``wire_preview``
#: say how it was read, not what it is).
FRAME_FIELDS = ("opcode", "payload", "fin", "rsv1", "rsv2", "rsv3")


class Proxy:
    """What a learner's function gets for an object of the grader in :data:`REMOTE_METHODS`:
    an object with those methods, each calling the grader's."""

    def __init__(self, type_name: str, methods: Dict[str, Callable[..., Any]]) -> None:
        self.type_name = type_name
        for name, method in methods.items():
            setattr(self, name, method)

    def __repr__(self) -> str:
        return f"<the grader's {self.type_name}>"


Callbacks = Optional[List[Callable[..., Any]]]


def to_wire(value: Any, callbacks: Callbacks = None) -> Any:
    """Describe ``value`` as JSON-ready data; what is not plain data becomes ``{"other": type}``.

    With a ``callbacks`` list (the grader's side only), a function travels as
    ``{"callback": n}``: it is appended to the list, ``n`` its index.
    """
    budget = [MAX_ITEMS]
    return _describe(value, 0, budget, callbacks)


def _describe(value: Any, depth: int, budget: List[int], callbacks: Callbacks = None) -> Any:
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise TooBig("the value is too large or too deeply nested to carry")
    library = _describe_library_value(value, depth, budget, callbacks)
    if library is not None:
        return library
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
        return [_describe(item, depth + 1, budget, callbacks) for item in list(value)]
    if isinstance(value, tuple):
        return {"tuple": [_describe(item, depth + 1, budget, callbacks) for item in tuple(value)]}
    if isinstance(value, dict):
        pairs = list(dict(value).items())
        return {
            "dict": [
                [
                    _describe(k, depth + 1, budget, callbacks),
                    _describe(v, depth + 1, budget, callbacks),
                ]
                for k, v in pairs
            ]
        }
    if callbacks is not None and callable(value) and not isinstance(value, type):
        callbacks.append(value)
        return {"callback": len(callbacks) - 1}
    return {"other": type(value).__name__[:80]}


def _describe_library_value(
    value: Any, depth: int, budget: List[int], callbacks: Callbacks
) -> Optional[Dict[str, Any]]:
    """The description of an Opcode, a Frame or a REMOTE_METHODS object; None for the rest.

    Exact classes only: a learner's subclass of Frame is not the library's Frame.
    """
    kind = (type(value).__module__, type(value).__qualname__)
    if kind == ("wslearn.opcodes", "Opcode"):
        return {"opcode": int(value)}
    if kind == ("wslearn.frames", "Frame"):
        fields = {name: getattr(value, name) for name in FRAME_FIELDS}
        return {"frame": _describe(fields, depth + 1, budget, callbacks)}
    if callbacks is not None and kind in REMOTE_METHODS:
        methods = {name: getattr(value, name) for name in REMOTE_METHODS[kind]}
        return {"proxy": [kind[1], _describe(methods, depth + 1, budget, callbacks)]}
    return None


Maker = Optional[Callable[[int], Callable[..., Any]]]


def from_wire(description: Any, callback: Maker = None) -> Any:
    """Rebuild the plain value a description stands for (exact built-in types only).

    ``callback(n)`` makes the function that stands for ``{"callback": n}`` (the learner's
    side only); without it, a callback comes back as a :class:`NotPlainData`.
    """
    budget = [MAX_ITEMS]
    return _rebuild(description, 0, budget, callback)


def _rebuild(description: Any, depth: int, budget: List[int], callback: Maker = None) -> Any:
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise TooBig("the description is too large or too deeply nested")
    if description is None or type(description) in (bool, int, float, str):
        return description
    if type(description) is list:
        return [_rebuild(item, depth + 1, budget, callback) for item in description]
    if type(description) is dict and len(description) == 1:
        ((kind, content),) = description.items()
        if kind == "bytes" and type(content) is str:
            return base64.b64decode(content, validate=True)
        if kind == "float" and content in ("nan", "inf", "-inf"):
            return float(content)
        if kind == "tuple" and type(content) is list:
            return tuple(_rebuild(item, depth + 1, budget, callback) for item in content)
        if kind == "dict" and type(content) is list:
            return _rebuild_dict(content, depth, budget, callback)
        if kind == "other" and type(content) is str:
            return NotPlainData(content)
        if kind == "opcode" and type(content) is int:
            return _opcode(content)
        if kind == "frame":
            return _frame(_rebuild(content, depth + 1, budget, callback))
        if kind == "callback" and type(content) is int:
            return NotPlainData("function") if callback is None else callback(content)
        if kind == "proxy" and type(content) is list and len(content) == 2:
            methods = _rebuild(content[1], depth + 1, budget, callback)
            if type(content[0]) is str and type(methods) is dict:
                return Proxy(content[0], {str(k): v for k, v in methods.items() if callable(v)})
    raise ValueError(f"not a description of plain data: {str(description)[:80]}")


def _opcode(value: int) -> Any:
    """The Opcode of that number; a number no Opcode has stays an int (as a frame holds it)."""
    from ..opcodes import Opcode

    try:
        return Opcode(value)
    except ValueError:
        return value


def _frame(fields: Any) -> Any:
    from ..frames import Frame

    if type(fields) is not dict or set(fields) != set(FRAME_FIELDS):
        raise ValueError("a Frame is described by its fields")
    if not isinstance(fields["opcode"], int) or not isinstance(fields["payload"], bytes):
        raise ValueError("a Frame's opcode is a number and its payload bytes")
    flags = [fields[name] for name in FRAME_FIELDS[2:]]
    if not all(isinstance(flag, bool) for flag in flags):
        raise ValueError("a Frame's flags are booleans")
    return Frame(_opcode(fields["opcode"]), fields["payload"], *flags)


def _rebuild_dict(
    pairs: List[Any], depth: int, budget: List[int], callback: Maker = None
) -> Dict[Any, Any]:
    result: Dict[Any, Any] = {}
    for pair in pairs:
        if type(pair) is not list or len(pair) != 2:
            raise ValueError("a dict is described as [key, value] pairs")
        key = _rebuild(pair[0], depth + 1, budget, callback)
        try:
            result[key] = _rebuild(pair[1], depth + 1, budget, callback)
        except TypeError:  # an unhashable key (a list): not something a dict can hold
            raise ValueError("a dict key that cannot be a key") from None
    return result
