"""A message flow, drawn: who sent what to whom, in order (a sequence diagram).

:func:`plot_flow` takes steps of ``(sender, receiver, message)`` — :class:`wslearn.chat.FlowStep`
from :func:`wslearn.chat.simulate` or ``ChatRooms().flow()``, or any such triples — and draws
one vertical line per party, the server in the middle, and one arrow per message, top to
bottom in the order they were sent. A message is shown as its compact JSON text (a dict) or as
it is (a str), cut to :data:`LABEL_CHARACTERS`; an error or a close is drawn in red.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, List, Sequence, Tuple

from .figures import new_figure

__all__ = ["plot_flow"]

#: Characters of a message shown on its arrow.
LABEL_CHARACTERS = 64


def _label(message: Any) -> str:
    if isinstance(message, dict):
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    else:
        text = str(message)
    return text if len(text) <= LABEL_CHARACTERS else text[: LABEL_CHARACTERS - 1] + "…"


def _is_bad_news(message: Any) -> bool:
    if isinstance(message, dict):
        return message.get("type") == "error"
    return str(message).startswith("Close")


def _columns(steps: Sequence[Tuple[str, str, Any]]) -> List[str]:
    """The parties left to right: the first client, the server, then the other clients."""
    parties = sorted({name for step in steps for name in step[:2]} - {"server"})
    return parties[:1] + ["server"] + parties[1:]


def plot_flow(steps: Iterable[Tuple[str, str, Any]], *, title: str = "") -> Any:
    """Draw ``steps`` (``(sender, receiver, message)``, in order) as a sequence diagram."""
    steps = [tuple(step) for step in steps]
    column = {name: x for x, name in enumerate(_columns(steps))}
    figure = new_figure(figsize=(max(6.0, 2.4 * len(column)), 0.45 * len(steps) + 0.9))
    axes = figure.add_axes((0.01, 0.01, 0.98, 0.98 if not title else 0.9))
    for name, x in column.items():
        axes.axvline(x, color="0.85", zorder=0)
        axes.text(x, -0.9, name, ha="center", weight="bold")
    for row, (sender, receiver, message) in enumerate(steps):
        x1, x2 = column[sender], column[receiver]
        colour = "tab:red" if _is_bad_news(message) else "tab:blue"
        arrow = {"arrowstyle": "->", "color": colour}
        axes.annotate("", xy=(x2, row), xytext=(x1, row), arrowprops=arrow)
        axes.text((x1 + x2) / 2, row - 0.15, _label(message), ha="center", fontsize=7.5,
                  color=colour)  # fmt: skip
    axes.set_ylim(len(steps) - 0.5, -1.2)
    axes.set_xlim(-0.6, len(column) - 0.4)
    axes.axis("off")
    if title:
        figure.suptitle(title, fontsize=10)
    return figure
