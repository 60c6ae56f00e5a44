"""The message-flow drawing: one column per party, one arrow per message, in order."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from wslearn.chat import simulate  # noqa: E402
from wslearn.views.flow import LABEL_CHARACTERS, plot_flow  # noqa: E402


def arrows(figure):
    (axes,) = figure.axes
    return [a for a in axes.texts if getattr(a, "arrow_patch", None) is not None]


def labels(figure):
    (axes,) = figure.axes
    return [t for t in axes.texts if getattr(t, "arrow_patch", None) is None]


def test_a_chat_is_drawn_one_arrow_per_message_in_order() -> None:
    flow = simulate(
        [
            (1, '{"type": "join", "room": "lobby", "name": "ada"}'),
            (2, '{"type": "join", "room": "lobby", "name": "bob"}'),
            (1, '{"type": "say", "text": "hi"}'),
            (2, "not json"),
        ]
    )
    figure = plot_flow(flow)
    assert len(arrows(figure)) == len(flow)
    texts = [t.get_text() for t in labels(figure)]
    assert texts[:3] == ["#1", "server", "#2"]  # the first client, the server, the others
    shown = texts[3:]
    assert len(shown) == len(flow)
    assert '"say"' in shown[[i for i, s in enumerate(flow) if s.sender == "#1"][-1]]
    error_rows = [i for i, s in enumerate(flow) if isinstance(s.message, dict)
                  and s.message.get("type") == "error"]  # fmt: skip
    assert error_rows, "the bad message was answered with an error"
    red = [t for t in labels(figure)[3:] if t.get_color() == "tab:red"]
    assert len(red) == len(error_rows)
    y = [a.xy[1] for a in arrows(figure)]
    assert y == sorted(y) == list(range(len(flow)))  # top to bottom, in the order sent
    assert figure._repr_png_().startswith(b"\x89PNG")


def test_long_messages_are_cut_and_closes_are_red() -> None:
    figure = plot_flow([("#1", "server", "x" * 500), ("server", "#1", "Close 1003")])
    first, second = [t for t in labels(figure)[2:]]
    assert len(first.get_text()) == LABEL_CHARACTERS and first.get_text().endswith("…")
    assert second.get_color() == "tab:red"
