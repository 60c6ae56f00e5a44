"""The one kind of figure every drawing of the views returns.

The views draw with matplotlib's object interface, without pyplot: a figure they make never
piles up in pyplot's list of open figures, and the drawing is the cell's value. But a figure
made without pyplot belongs to no backend: until something loads the inline backend
(``%matplotlib inline``, or a pyplot call that makes a figure), IPython would print it as
``<Figure size … with 1 Axes>``. :func:`new_figure` makes a :class:`~matplotlib.figure.Figure`
that renders itself as a PNG in that case (``_repr_png_``); where the inline backend is
active, IPython's own figure formatter is used first. matplotlib is imported on first use, so
importing the views does not import it.
"""

from __future__ import annotations

import functools
import io
from typing import Any

__all__ = ["new_figure"]


@functools.lru_cache(maxsize=None)
def _png_figure_class() -> type:
    from matplotlib.figure import Figure

    class PngFigure(Figure):
        def _repr_png_(self) -> bytes:
            buffer = io.BytesIO()
            self.savefig(buffer, format="png", bbox_inches="tight")
            return buffer.getvalue()

    # Its repr is a notebook's saved text output ("<Figure size 1000x150 with 1 Axes>"):
    # matplotlib's own words, whichever view drew it.
    PngFigure.__name__ = PngFigure.__qualname__ = "Figure"
    return PngFigure


def new_figure(**options: Any) -> Any:
    """A matplotlib Figure (``options`` as for ``Figure(...)``) that Jupyter shows as a PNG."""
    return _png_figure_class()(**options)
