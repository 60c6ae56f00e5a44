"""The live view: a widget redrawn by a thread while the server records frames."""

from __future__ import annotations

import html
import time

import pytest
from helpers.recorded_frames import CLOSE_PAYLOADS, KEY, record, sample_frames

from wslearn import Frame, Opcode
from wslearn.recording import Recorder
from wslearn.views import LiveView


@pytest.fixture
def frames():
    return sample_frames()


@pytest.fixture
def widgets():
    return pytest.importorskip("ipywidgets")


def test_live_view_refresh_shows_a_new_frame(widgets, frames):
    recorder = Recorder()
    recorder.add_frame(frames[0])
    view = LiveView(recorder, start=False)
    assert isinstance(view.widget, widgets.VBox)
    before = view.table.value
    assert "Hello" in before and "1 frame from 1 connection, 0 dropped" in view.status.value
    recorder.add_frame(record(Frame(Opcode.TEXT, b"second <b>"), conn=2, t=1.0))
    assert view.table.value == before  # nothing changes until a refresh
    view.refresh()
    assert view.table.value != before
    assert "second &lt;b&gt;" in view.table.value
    assert "2 frames from 2 connections, 0 dropped" in view.status.value


def test_live_view_shows_broken_close_frames_without_raising(widgets):
    recorder = Recorder()
    for payload, _ in CLOSE_PAYLOADS:
        recorder.add_frame(record(Frame(Opcode.CLOSE, payload), mask=KEY))
    view = LiveView(recorder, start=False)
    for _payload, shown in CLOSE_PAYLOADS:
        assert f">{html.escape(shown)}</td>" in view.table.value


def test_live_view_table_shows_the_time_in_milliseconds(widgets, frames):
    recorder = Recorder()
    for frame in frames[:2]:
        recorder.add_frame(frame)
    view = LiveView(recorder, start=False)
    assert ">time (ms)</th>" in view.table.value
    assert ">12.5</td>" in view.table.value


def test_live_view_thread_picks_up_frames_then_stops(widgets, frames):
    recorder = Recorder()
    view = LiveView(recorder, interval=0.01)
    try:
        assert view.thread.daemon and view.thread.is_alive()
        recorder.add_frame(frames[0])
        deadline = time.monotonic() + 2
        while "Hello" not in view.table.value and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "Hello" in view.table.value
    finally:
        view.stop()
    view.thread.join(2)
    assert not view.thread.is_alive()
    assert "not updating" in view.status.value or "stopped" in view.status.value


def test_live_view_thread_ends_when_the_server_stops(widgets):
    class Server:
        def __init__(self):
            self.recorder = Recorder()
            self.running = True

    server = Server()
    view = LiveView(server, interval=0.01)
    server.running = False
    view.thread.join(2)
    assert not view.thread.is_alive()
    assert "server stopped" in view.status.value


def test_live_view_thread_ends_when_the_widget_is_closed(widgets):
    view = LiveView(Recorder(), interval=0.01)
    view.widget.close()
    view.thread.join(2)
    assert not view.thread.is_alive()


def test_live_view_needs_a_recorder(widgets):
    with pytest.raises(TypeError):
        LiveView([1, 2, 3])
