"""The life of a connection, drawn from a real recording: its events in order, one arrow each."""

from __future__ import annotations

import time
from typing import Iterator, List, Tuple

import matplotlib
import pytest

matplotlib.use("Agg")

from helpers.leftovers import left_behind, open_things  # noqa: E402
from helpers.rawclient import (  # noqa: E402
    frame,
    handshake,
    open_socket,
    read_frame,
    read_until_eof,
    request,
)

import wslearn  # noqa: E402
from wslearn.frames import Frame  # noqa: E402
from wslearn.opcodes import Opcode  # noqa: E402
from wslearn.recording import (  # noqa: E402
    ConnectionRecord,
    FrameRecord,
    InflatedMessage,
    Recorder,
)
from wslearn.views.sequence import (  # noqa: E402
    COLUMNS,
    SequenceEvent,
    connection_events,
    elide,
    frame_label,
    sequence_diagram,
)


@pytest.fixture
def server() -> Iterator[wslearn.Server]:
    """An echo server on loopback; once the test is done, no thread or socket of it is left."""
    before = open_things()
    with wslearn.serve(port=0, ping_interval=None) as running:
        yield running
    assert not left_behind(before), "a thread or a socket outlived the server"


def chat(server: wslearn.Server, messages: List[str], *, ping: bool = False) -> None:
    """A client's whole life: connect, each message and its echo, a Ping, the close."""
    with wslearn.connect(server.url + "chat", open_timeout=5, close_timeout=5) as client:
        for message in messages:
            client.send(message)
            assert client.recv(timeout=5) == message
        if ping:
            client.ping()
        client.close(1000, "bye")


def refused(server: wslearn.Server) -> bytes:
    """A handshake with the wrong version (§4.4): the server answers 426 and closes TCP."""
    with open_socket(server.port) as sock:
        sock.sendall(request(headers=[("Sec-WebSocket-Version", "8")]))
        return read_until_eof(sock)


def life(record: ConnectionRecord, recorder: Recorder) -> List[float]:
    """The record's times and its frames', in the order the connection must have lived them
    (the two FINs apart: their order depends on who closed first)."""
    frames = [f.time for f in recorder.frames(connection=record.id)]
    return [record.opened, record.request_at, record.answered_at, *frames]


def arrows(figure) -> list:
    (axes,) = figure.axes
    return [t for t in axes.texts if getattr(t, "arrow_patch", None) is not None]


def texts(figure) -> List[str]:
    (axes,) = figure.axes
    return [t.get_text() for t in axes.texts if getattr(t, "arrow_patch", None) is None]


def ends(arrow) -> Tuple[float, float]:
    """Where an arrow starts and where it points, along x (the lifelines)."""
    return arrow.xyann[0], arrow.xy[0]


def test_a_whole_connection_is_each_event_in_order(server: wslearn.Server) -> None:
    chat(server, ["Hello"], ping=True)
    server.stop()  # joins the connection's thread: its record is complete
    events = connection_events(server)
    seen = [(e.kind, e.sender, e.label) for e in events]
    assert seen[0] == ("connect", "client", "TCP connect")
    assert seen[1][:2] == ("request", "client")
    assert seen[1][2].startswith("GET /chat Upgrade: websocket, Sec-WebSocket-Version: 13")
    assert seen[2:] == [
        ("response", "server", "101 Switching Protocols"),
        ("frame", "client", 'TEXT 5 B "Hello"'),
        ("frame", "server", 'TEXT 5 B "Hello"'),
        ("frame", "client", "PING"),
        ("frame", "server", "PONG"),
        ("frame", "client", 'CLOSE 1000 "bye"'),
        ("frame", "server", 'CLOSE 1000 "bye"'),  # the reply echoes the code and reason
        ("fin", "server", "TCP FIN"),  # §7.1.1: the server closes TCP first
        ("fin", "client", "TCP FIN"),  # and the client answers with its own
    ]
    times = [e.time for e in events]
    assert times == sorted(times)
    (record,) = server.recorder.connections()
    # Every time recorded, in the order lived: the accept, the request, the 101, the frames,
    # the server's FIN, the client's (seen while draining), the socket's close.
    lived = life(record, server.recorder) + [record.fin_sent, record.peer_fin, record.closed]
    assert None not in lived and lived == sorted(lived), lived
    assert times == lived[:-1]
    assert [e.frame for e in events if e.frame] == server.recorder.frames(connection=record.id)
    assert not any(e.inferred for e in events)  # nothing placed by guess
    assert [e.receiver for e in events[:3]] == ["server", "server", "client"]

    figure = sequence_diagram(server)
    drawn = arrows(figure)
    assert len(drawn) == len(events)
    for event, arrow in zip(events, drawn):
        assert ends(arrow) == (COLUMNS[event.sender], COLUMNS[event.receiver]), event
        dashed = arrow.arrow_patch.get_linestyle() == "--"
        assert dashed == event.inferred, event
    rows = [arrow.xyann[1] for arrow in drawn]
    assert rows == sorted(rows) and len(set(rows)) == len(rows)  # top to bottom, in order
    labels = texts(figure)
    at = [labels.index(e.label) for e in events[:3]]
    assert at == sorted(at)
    for label in ("TCP connect", "101 Switching Protocols", 'TEXT 5 B "Hello"', "PING",
                  "PONG", 'CLOSE 1000 "bye"', "TCP FIN"):  # fmt: skip
        assert label in labels, label
    assert "(not recorded)" not in labels and not any(t.startswith("dashed") for t in labels)
    assert figure._repr_png_().startswith(b"\x89PNG")


def test_a_refused_handshake_is_the_request_then_426_then_tcp_close(
    server: wslearn.Server,
) -> None:
    answer = refused(server)
    assert answer.startswith(b"HTTP/1.1 426 ")
    server.stop()
    events = connection_events(server)
    assert [(e.kind, e.sender) for e in events] == [
        ("connect", "client"),
        ("request", "client"),
        ("response", "server"),
        ("fin", "server"),  # after its answer, the server closes first
        ("fin", "client"),  # the client, having read the answer to the end, closes too
    ]
    assert "Sec-WebSocket-Version: 8" in events[1].label
    assert events[2].label == "426 Upgrade Required"
    (record,) = server.recorder.connections()
    lived = life(record, server.recorder) + [record.fin_sent, record.peer_fin, record.closed]
    assert None not in lived and lived == sorted(lived), lived
    assert [e.time for e in events] == lived[:-1] and not any(e.inferred for e in events)
    figure = sequence_diagram(server)
    drawn = arrows(figure)
    assert len(drawn) == 5
    assert [ends(a) for a in drawn] == [(0.0, 1.0), (0.0, 1.0), (1.0, 0.0), (1.0, 0.0),
                                        (0.0, 1.0)]  # fmt: skip
    assert drawn[2].arrow_patch.get_edgecolor() == matplotlib.colors.to_rgba("tab:red")
    assert "426 Upgrade Required" in texts(figure)
    assert not any(a.arrow_patch.get_linestyle() == "--" for a in drawn)
    assert "(not recorded)" not in texts(figure)


def test_the_connection_drawn_by_default_is_the_first_with_frames(
    server: wslearn.Server,
) -> None:
    refused(server)
    chat(server, ["a", "b"])
    server.stop()
    first, second = server.recorder.connections()
    assert first.status == 426 and second.status == 101
    chosen = connection_events(server)
    assert sum(e.kind == "frame" for e in chosen) == 6
    assert chosen == connection_events(server.recorder, second.id)
    assert len(connection_events(server, first)) == 5  # a record, or its id, picks one
    with pytest.raises(KeyError):
        connection_events(server, 999)


def test_a_long_connection_keeps_its_first_and_last_frames(server: wslearn.Server) -> None:
    messages = [f"m{i}" for i in range(30)]
    chat(server, messages)
    server.stop()
    events = connection_events(server)
    frames = [e for e in events if e.kind == "frame"]
    assert len(frames) == 62  # 30 messages and their echoes, two Close frames
    figure = sequence_diagram(server, max_frames=10)
    drawn = arrows(figure)
    assert len(drawn) == 3 + 10 + 2  # connect, request, 101; 10 frames; two FINs
    labels = texts(figure)
    assert "… 52 frames …" in labels
    kept = [e.label for e in elide(events, 10) if e.kind == "frame"]
    assert kept == [e.label for e in frames[:5] + frames[-5:]]
    assert kept[0] == 'TEXT 2 B "m0"' and kept[-1].startswith("CLOSE 1000")
    gap = [e for e in elide(events, 10) if e.kind == "elided"]
    assert [g.count for g in gap] == [52]
    assert labels.index('TEXT 2 B "m2"') < labels.index("… 52 frames …")
    assert labels.index("… 52 frames …") < labels.index('TEXT 3 B "m28"')
    assert elide(events, 62) == events  # nothing to leave out


def test_frames_the_recorder_dropped_are_said_to_be_missing() -> None:
    before = open_things()
    with wslearn.serve(port=0, ping_interval=None, max_frames=4) as server:
        chat(server, ["1", "2", "3", "4"])
    assert not left_behind(before)
    events = connection_events(server)
    assert [e.kind for e in events[:4]] == ["connect", "request", "response", "elided"]
    assert events[3].label == "… earlier frames not kept …"
    assert sum(e.kind == "frame" for e in events) == 4
    assert len(arrows(sequence_diagram(server))) == 3 + 4 + 2


def record(frame: Frame, direction: str = "out", **options) -> FrameRecord:
    return FrameRecord.from_frame(frame, time=0.0, connection=1, direction=direction, **options)


def test_frame_labels_say_what_a_learner_needs() -> None:
    assert frame_label(record(Frame(Opcode.TEXT, b"Hello"))) == 'TEXT 5 B "Hello"'
    assert frame_label(record(Frame(Opcode.BINARY, b"\x00\x01"))) == "BINARY 2 B"
    assert frame_label(record(Frame(Opcode.PING, b"keep"))) == "PING 4 B"
    assert frame_label(record(Frame(Opcode.PONG))) == "PONG"
    assert frame_label(record(Frame(Opcode.CLOSE, b"\x03\xe9"))) == "CLOSE 1001"
    assert frame_label(record(Frame(Opcode.CLOSE))) == "CLOSE (no code)"
    long = frame_label(record(Frame(Opcode.TEXT, b"x" * 300), preview_bytes=8))
    assert long == 'TEXT 300 B "xxxxxxxx"…'
    first = frame_label(record(Frame(Opcode.TEXT, b"Hel", fin=False)))
    assert first == 'TEXT 3 B "Hel" (not FIN)'
    assert frame_label(record(Frame(Opcode.CONT, b"lo"))) == 'CONT 2 B "lo"'
    secret = record(Frame(Opcode.TEXT, b"token"), "in", preview_bytes=0, redacted=True)
    assert frame_label(secret) == "TEXT 5 B [redacted]"
    packed = record(Frame(Opcode.TEXT, b"\xf2\x48", rsv1=True), inflated=InflatedMessage(16))
    assert frame_label(packed) == "TEXT 2 B (compressed)"


def test_sources_that_are_not_recordings_are_refused() -> None:
    with pytest.raises(ValueError, match="no connection"):
        connection_events(Recorder())
    with pytest.raises(TypeError):
        connection_events([1, 2, 3])
    event = SequenceEvent("elided", "", "… 3 frames …", 0.0, count=3)
    assert event.receiver == ""


def test_a_connection_of_the_server_is_a_source_too() -> None:
    held: List[wslearn.ServerConnection] = []

    def keep_and_echo(connection: wslearn.ServerConnection, message: str) -> None:
        held.append(connection)
        connection.send(message)

    before = open_things()
    with wslearn.serve(port=0, ping_interval=None, handler=keep_and_echo) as server:
        chat(server, ["x"])
        refused(server)
    assert not left_behind(before)
    (connection,) = held
    events = connection_events(connection)  # the handler's connection, not the first one
    assert events == connection_events(server, connection.id)
    assert [e.label for e in events if e.kind == "frame"][:2] == ['TEXT 1 B "x"'] * 2


def test_a_client_that_leaves_without_a_close_frame_ends_tcp_itself(
    server: wslearn.Server,
) -> None:
    sock = handshake(server.port)
    sock.sendall(frame(Opcode.TEXT, b"bye"))
    assert read_frame(sock).payload == b"bye"
    sock.close()  # no Close frame: TCP ends from the client's side (§7.1.5: 1006)
    (record,) = server.recorder.connections()
    deadline = time.monotonic() + 5
    while record.closed is None and time.monotonic() < deadline:  # the server sees the EOF
        time.sleep(0.01)
    server.stop()
    assert record.close_code == 1006
    events = connection_events(server)
    # The client's FIN came first (seen by the read loop), then the server's.
    assert [(e.kind, e.sender) for e in events[-2:]] == [("fin", "client"), ("fin", "server")]
    assert [e.label for e in events if e.kind == "frame"] == ['TEXT 3 B "bye"'] * 2
    lived = life(record, server.recorder) + [record.peer_fin, record.fin_sent, record.closed]
    assert None not in lived and lived == sorted(lived), lived
    assert [e.time for e in events] == lived[:-1] and not any(e.inferred for e in events)


def test_a_record_without_the_newer_times_is_drawn_with_inferred_events() -> None:
    # A record made by other code (an older recording, a hand-made one) has only the accept
    # and the socket's close: the request and the answer are placed, dashed, at the accept;
    # one FIN, at the close, from the side that closed first.
    recorder = Recorder()
    record = ConnectionRecord(id=7, peer="127.0.0.1:5", opened=100.0, status=101, closed=100.5)
    record.request_raw = b"GET /old HTTP/1.1\r\nHost: h\r\n\r\n"
    recorder.add_connection(record)
    recorder.add_frame(record_of(Frame(Opcode.TEXT, b"hi"), time=100.2, connection=7))
    events = connection_events(recorder)
    assert [(e.kind, e.sender, e.time, e.inferred) for e in events] == [
        ("connect", "client", 100.0, False),
        ("request", "client", 100.0, True),
        ("response", "server", 100.0, True),
        ("frame", "server", 100.2, False),
        ("fin", "server", 100.5, False),
    ]
    figure = sequence_diagram(recorder)
    dashed = [a.arrow_patch.get_linestyle() == "--" for a in arrows(figure)]
    assert dashed == [e.inferred for e in events]
    assert texts(figure).count("(not recorded)") == 2
    record.error = "connection closed during the handshake"
    record.status, record.request_raw = None, b""
    assert [(e.kind, e.sender) for e in connection_events(recorder)] == [
        ("connect", "client"),
        ("frame", "server"),
        ("fin", "client"),  # it left before its request was whole
    ]


def record_of(frame: Frame, *, time: float, connection: int) -> FrameRecord:
    return FrameRecord.from_frame(frame, time=time, connection=connection, direction="out")
