"""The live view: a widget that shows a running server's frames as they arrive.

:class:`LiveView` holds a status line (how many frames, from how many
connections, how many the recorder dropped) and a
:func:`~wslearn.views.table.frames_table` of the last frames, redrawn by a
background thread whenever the recorder changed. The notebook stays free
meanwhile: the learner sends the next message from another cell and watches
its frames appear.

ipywidgets is imported inside :class:`LiveView`, when one is made.
"""

from __future__ import annotations

import html
import threading
from typing import Any, List, Optional

from ..recording import FrameRecord, Recorder
from .table import frames_table

__all__ = ["LiveView"]


class LiveView:
    """A widget that shows a running server's frames as they arrive.

    ``source`` is a :class:`~wslearn.recording.Recorder` or a server (anything
    with ``.recorder``). The view holds a status line and a
    :func:`frames_table` of the last ``limit`` frames (its ``time (ms)`` column counts
    milliseconds from the first of the frames the recorder holds). A daemon thread checks
    ``recorder.version`` every ``interval`` seconds and redraws only when it
    changed, so an idle server costs nothing but a number comparison.

    Why a widget and not a loop of ``print``: a cell that loops blocks the
    kernel, so no other cell (the one that sends the next message) can run.
    The thread leaves the kernel free and updates the widget in place.

    The thread ends on :meth:`stop`, when the widget is closed, or when the
    source has a ``running`` attribute that becomes false (the server stopped).
    Display the view by making it a cell's value, or use :attr:`widget`.
    """

    def __init__(
        self, source: Any, *, limit: int = 20, interval: float = 0.25, start: bool = True
    ) -> None:
        import ipywidgets as widgets

        self.source = source
        self.recorder: Recorder = getattr(source, "recorder", source)
        if not isinstance(self.recorder, Recorder):
            raise TypeError("LiveView needs a Recorder or an object with a .recorder")
        self.limit = limit
        self.interval = interval
        self.status = widgets.HTML()
        self.table = widgets.HTML()
        self.widget = widgets.VBox([self.status, self.table])
        self._version: Optional[int] = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.thread: Optional[threading.Thread] = None
        if start:
            self.start()
        self.refresh()

    # -- what is shown -----------------------------------------------------

    def _status_text(self, frames: List[FrameRecord], note: str) -> str:
        connections = len({f.connection for f in frames})
        dropped = self.recorder.dropped_frames
        text = (
            f"{len(frames)} frame{'s' if len(frames) != 1 else ''} from {connections} "
            f"connection{'s' if connections != 1 else ''}, {dropped} dropped"
        )
        return text + (f" ({note})" if note else "")

    def _state(self) -> str:
        if self._stopping.is_set() or self.thread is None:
            return "not updating"
        return "live" if self.thread.is_alive() else "not updating"

    def refresh(self, note: Optional[str] = None) -> None:
        """Redraw now, from the recorder's current frames (safe from any thread)."""
        with self._lock:
            version = self.recorder.version  # read first: a change during the draw shows next time
            frames = self.recorder.frames()
            table = frames_table(frames, limit=self.limit, dropped=self.recorder.dropped_frames)
            self.table.value = table._repr_html_()
            status = self._status_text(frames, note if note is not None else self._state())
            style = "color: inherit; font-family: monospace;"
            self.status.value = f'<span style="{style}">{html.escape(status)}</span>'
            self._version = version

    # -- the thread --------------------------------------------------------

    def start(self) -> None:
        """Start the background refresh thread (done by the constructor by default)."""
        if self.thread is not None and self.thread.is_alive():
            return
        self._stopping.clear()
        self.thread = threading.Thread(target=self._run, name="wslearn-liveview", daemon=True)
        self.thread.start()

    def _should_end(self) -> Optional[str]:
        running = getattr(self.source, "running", True)
        if callable(running):  # a method rather than a flag or property
            running = running()
        if not running:
            return "server stopped"
        if getattr(self.widget, "comm", True) is None:  # ipywidgets sets comm to None on close
            return "widget closed"
        return None

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            reason = self._should_end()
            if reason:
                self._stopping.set()
                if reason != "widget closed":
                    self.refresh(note=reason)
                return
            if self.recorder.version != self._version:
                self.refresh(note="live")

    def stop(self, timeout: float = 2.0) -> None:
        """Stop updating and wait (at most ``timeout`` seconds) for the thread to end."""
        self._stopping.set()
        thread = self.thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if getattr(self.widget, "comm", None) is not None:
            self.refresh(note="stopped")

    def close(self) -> None:
        """Stop the thread and close the widget."""
        self.stop()
        self.widget.close()

    # -- display -----------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
