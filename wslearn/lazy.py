"""Names a package imports only when they are asked for (PEP 562).

``import wslearn`` should be quick and should not open the door to sockets, threads,
matplotlib or widgets for a learner who only parses a frame header. So the package
names its server, views and widget in a table, and a module-level ``__getattr__``
imports the module that defines a name the first time the name is looked up::

    __getattr__, __dir__ = lazy_names(__name__, {"serve": "serving"}, globals())

``wslearn.serve`` then imports :mod:`wslearn.serving` and returns its ``serve``. The name
is not stored in the package afterwards: a second lookup imports nothing (the module is
in ``sys.modules``), and the package's namespace stays exactly what it was.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, List, Tuple

__all__ = ["lazy_names"]


def lazy_names(
    package: str, homes: Dict[str, str], namespace: Dict[str, Any]
) -> Tuple[Callable[[str], Any], Callable[[], List[str]]]:
    """A module's ``__getattr__`` and ``__dir__`` for the names in ``homes`` (name -> module)."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f".{home}", package), name)

    def __dir__() -> List[str]:
        return sorted(set(namespace) | set(homes))

    return __getattr__, __dir__
