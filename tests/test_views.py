"""The views of recorded frames: table rows, bit diagrams, the live widget, plain words."""

from __future__ import annotations

import html
import struct
import sys
import time

import pytest

from wslearn import Close, Frame, Opcode, parse_frame_header
from wslearn.recording import FrameRecord, Recorder
from wslearn.views import (
    COLUMNS,
    FramesTable,
    LiveView,
    bit_diagram,
    describe_frame,
    frames_table,
    header_fields,
)

KEY = b"\x01\x02\x03\x04"


def record(frame: Frame, *, mask=None, t=0.0, conn=1, direction="in") -> FrameRecord:
    """Serialize ``frame``, parse the bytes back (so it has a header) and record it."""
    parsed, used = Frame.parse(frame.serialize(mask))
    return FrameRecord.from_frame(parsed, time=t, connection=conn, direction=direction)


def close(code: int, reason: str) -> Frame:
    return Frame(Opcode.CLOSE, struct.pack("!H", code) + reason.encode())


@pytest.fixture
def frames():
    return [
        record(Frame(Opcode.TEXT, b"Hello"), mask=b"\x37\xfa\x21\x3d", t=10.0),
        record(Frame(Opcode.BINARY, bytes(range(200))), t=10.0125, direction="out"),
        record(Frame(Opcode.TEXT, b"x" * 70000), mask=KEY, t=10.02),
        record(close(1000, "bye"), mask=KEY, t=10.03),
    ]


# ---------------------------------------------------------------- the table


def test_table_rows_show_every_header_field(frames):
    rows = frames_table(frames).rows
    assert [r["#"] for r in rows] == ["1", "2", "3", "4"]
    assert [r["time (ms)"] for r in rows] == ["0.0", "12.5", "20.0", "30.0"]
    assert [r["length case"] for r in rows] == ["7-bit", "16-bit", "64-bit", "7-bit"]
    assert [r["length"] for r in rows] == ["5", "200", "70000", "5"]
    assert [r["opcode"] for r in rows] == ["TEXT 0x1", "BINARY 0x2", "TEXT 0x1", "CLOSE 0x8"]
    first = rows[0]
    assert (first["FIN"], first["RSV"], first["MASK"]) == ("1", "000", "1")
    assert first["mask key"] == "37 fa 21 3d"
    assert first["header"] == "81 85 37 fa 21 3d"
    assert first["payload"] == '"Hello"'
    assert rows[1]["MASK"] == "0" and rows[1]["mask key"] == ""
    assert rows[2]["header"] == "81 ff 00 00 00 00 00 01 11 70 01 02 03 04"


def test_table_direction_is_an_arrow_with_the_sides_as_title(frames):
    table = frames_table(frames)
    assert [r["dir"] for r in table.rows] == ["→ in", "← out", "→ in", "→ in"]
    page = table._repr_html_()
    assert 'title="client→server"' in page
    assert 'title="server→client"' in page


def test_close_payload_is_shown_as_code_then_reason(frames):
    assert frames_table(frames).rows[3]["payload"] == '1000 "bye"'
    empty = record(Frame(Opcode.CLOSE, b""), direction="out")
    assert frames_table([empty]).rows[0]["payload"] == "(no code)"


# A table of recorded frames must show broken Close frames too: they are the interesting ones.
CLOSE_PAYLOADS = [
    (b"", "(no code)"),
    (b"\x03\xe8", "1000"),
    (b"\x03\xe8bye", '1000 "bye"'),
    (struct.pack("!H", 4000) + "再见 👋".encode(), '4000 "再见 👋"'),
    (b"\x03", "03 (1 byte: too short for a code)"),
    (b"\x03\xe8\xff\xfe", "1000 ff fe (reason is not UTF-8)"),
    (b"\x03\xe7x", '999 "x" (code 999 may not be sent)'),
    (struct.pack("!H", 5000), "5000 (code 5000 may not be sent)"),
]
CLOSE_IDS = ["empty", "code", "code-reason", "utf8", "1-byte", "not-utf8", "999", "5000"]


@pytest.mark.parametrize("payload, shown", CLOSE_PAYLOADS, ids=CLOSE_IDS)
def test_close_payload_in_the_table_is_what_close_describe_says(payload, shown):
    assert Close.describe(payload) == shown
    masked = record(Frame(Opcode.CLOSE, payload), mask=KEY)
    unmasked = record(Frame(Opcode.CLOSE, payload), direction="out")
    built = FrameRecord.from_frame(  # built in Python, never parsed: recorded as a server sends it
        Frame(Opcode.CLOSE, payload), time=0.0, connection=1, direction="out"
    )
    rows = frames_table([masked, unmasked, built]).rows
    assert [r["payload"] for r in rows] == [shown] * 3
    assert shown in str(frames_table([masked]))


@pytest.mark.parametrize("payload, shown", CLOSE_PAYLOADS, ids=CLOSE_IDS)
def test_describe_frame_shows_a_close_payload_with_close_describe(payload, shown):
    wire = Frame(Opcode.CLOSE, payload).serialize(KEY)
    parsed, _ = Frame.parse(wire)
    for frame in (wire, parsed, record(Frame(Opcode.CLOSE, payload), mask=KEY)):
        text = describe_frame(frame)
        assert text.splitlines()[-1] == f"payload: {shown}", text
        assert text.splitlines()[2].startswith("opcode=0x8: CLOSE")


def test_a_close_code_of_1005_on_the_wire_is_shown_as_a_code_that_may_not_be_sent():
    # 1005 only reports "the Close frame had no code"; a payload that carries it is broken.
    shown = Close.describe(struct.pack("!H", 1005))
    assert "may not be sent" in shown
    table = frames_table([record(Frame(Opcode.CLOSE, struct.pack("!H", 1005)), mask=KEY)])
    assert table.rows[0]["payload"] == shown


def test_a_close_code_of_1005_on_the_wire_is_not_called_no_code():
    assert Close.describe(struct.pack("!H", 1005)) == "1005 (code 1005 may not be sent)"


# ---------------------------------------------------------------- recorded headers


def recorded(frame: Frame, mask=None, *, allowed_rsv=0) -> FrameRecord:
    """Record ``frame`` the way the live server does: from a reader that kept the header."""
    from wslearn import FrameReader

    reader = FrameReader(allowed_rsv=allowed_rsv, keep_wire=256)
    reader.feed(frame.serialize(mask))
    [parsed] = list(reader)
    direction = "out" if mask is None else "in"  # a server sends unmasked, a client masked
    return FrameRecord.from_frame(parsed, time=0.0, connection=1, direction=direction)


@pytest.mark.parametrize("size", [0, 5, 125, 126, 300, 65535, 65536, 70000])
@pytest.mark.parametrize("mask", [None, KEY], ids=["unmasked", "masked"])
def test_frame_header_of_a_record_is_its_header_bytes_parsed(size, mask):
    rec = recorded(Frame(Opcode.BINARY, bytes(size)), mask)
    header = rec.frame_header()
    assert header == parse_frame_header(rec.header)
    assert header.raw == rec.header and header.header_size == len(rec.header)
    assert (header.length, header.length_case, header.mask) == (size, rec.length_case, mask)
    # The views read the record through frame_header(): same fields as from the bytes.
    assert header_fields(rec) == header_fields(rec.header)
    assert describe_frame(rec).splitlines()[:6] == describe_frame(rec.header).splitlines()[:6]


def test_frame_header_keeps_the_rsv_bits_and_fragment_flags_of_a_record():
    rec = recorded(Frame(Opcode.TEXT, b"12345", fin=False, rsv1=True), KEY, allowed_rsv=0x40)
    header = rec.frame_header()
    assert header == parse_frame_header(rec.header, allowed_rsv=0x40)
    assert (header.fin, header.rsv1, header.rsv2, header.rsv3) == (False, True, False, False)
    cont = recorded(Frame(Opcode.CONT, b"x"), KEY)
    assert cont.frame_header() == parse_frame_header(cont.header)


@pytest.mark.parametrize("direction", ["in", "out"])
def test_frame_header_of_a_frame_built_in_python_is_the_header_a_server_sends(direction):
    frame = Frame(Opcode.PING, b"hi")  # never parsed: no header of its own
    rec = FrameRecord.from_frame(frame, time=0.0, connection=1, direction=direction)
    assert rec.header == bytes.fromhex("89 02")
    assert rec.frame_header() == parse_frame_header(rec.header) == frame.wire_header()
    assert rec.wire_preview == rec.payload_preview == b"hi"


def test_a_record_keeps_the_masked_bytes_it_was_given_and_unmasks_them():
    rec = recorded(Frame(Opcode.TEXT, b"Hello"), b"\x37\xfa\x21\x3d")  # RFC 6455 §5.7
    assert rec.wire_preview == bytes.fromhex("7f 9f 4d 51 58")
    assert rec.payload_preview == b"Hello"


def test_binary_payload_is_hex_and_cut_with_a_count_of_the_rest(frames):
    payload = frames_table(frames, preview_bytes=4).rows[1]["payload"]
    assert payload == "00 01 02 03 … (196 more bytes)"


def test_truncated_text_says_how_many_bytes_are_missing(frames):
    payload = frames_table(frames).rows[2]["payload"]
    assert payload == '"' + "x" * 32 + '" … (69968 more bytes)'


def test_text_cut_inside_a_multibyte_character_still_shows_as_text():
    rec = record(Frame(Opcode.TEXT, "é".encode() * 10))  # 20 bytes, cut after 3
    assert frames_table([rec], preview_bytes=3).rows[0]["payload"] == '"é" … (17 more bytes)'


def test_invalid_utf8_in_a_text_frame_falls_back_to_hex():
    rec = record(Frame(Opcode.TEXT, b"\xff\xfe"))
    assert frames_table([rec]).rows[0]["payload"] == "ff fe"


def test_continuation_of_a_text_message_shows_as_text():
    first = record(Frame(Opcode.TEXT, b"Hel", fin=False))
    rest = record(Frame(Opcode.CONT, b"lo"))
    binary = record(Frame(Opcode.BINARY, b"ab", fin=False))
    more = record(Frame(Opcode.CONT, b"cd"))
    rows = frames_table([first, rest, binary, more]).rows
    assert [r["payload"] for r in rows] == ['"Hel"', '"lo"', "61 62", "63 64"]
    assert rows[0]["FIN"] == "0"


def test_html_escapes_a_script_payload():
    rec = record(Frame(Opcode.TEXT, b"<script>alert('x')</script>"))
    page = frames_table([rec])._repr_html_()
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert page.startswith("<table") and "color: inherit" in page


def test_limit_keeps_the_last_frames_and_numbers_count_dropped_ones(frames):
    table = frames_table(frames, limit=2, dropped=7)
    assert [r["#"] for r in table.rows] == ["10", "11"]
    assert "last 2 of 4" in table.caption and "7 older frames were dropped" in table.caption
    assert "7 older frames were dropped" in table._repr_html_()
    assert str(table).splitlines()[0] == table.caption


def test_a_recorder_or_a_server_can_be_passed_and_its_drops_are_read(frames):
    recorder = Recorder(max_frames=2)
    for f in frames:
        recorder.add_frame(f)

    class Server:
        pass

    server = Server()
    server.recorder = recorder
    for source in (recorder, server):
        table = frames_table(source)
        assert [r["#"] for r in table.rows] == ["3", "4"]
        assert "2 older frames were dropped" in table.caption


def test_the_time_column_says_its_unit_wherever_it_is_shown(frames):
    # Records keep seconds; the table shows milliseconds since the first frame, and says so.
    table = frames_table(frames)
    (column,) = [c for c in COLUMNS if c.startswith("time")]
    assert column == "time (ms)"
    assert "time (ms)" in str(table).splitlines()[0]
    assert ">time (ms)</th>" in table._repr_html_()
    assert [r[column] for r in frames_table(frames[1:]).rows] == ["0.0", "7.5", "17.5"]
    for doc in (frames_table.__doc__, LiveView.__doc__):
        assert "``time (ms)``" in doc and "milliseconds" in doc


def test_columns_selects_and_orders_and_rejects_unknown_names(frames):
    table = frames_table(frames, columns=["opcode", "#"])
    assert list(table.rows[0]) == ["opcode", "#"]
    assert str(table).splitlines()[0].split() == ["opcode", "#"]
    with pytest.raises(ValueError):
        frames_table(frames, columns=["nope"])
    assert COLUMNS[0] == "#" and COLUMNS[-1] == "payload"


def test_plain_text_table_has_aligned_columns(frames):
    lines = str(frames_table(frames)).splitlines()
    header, rule, *body = lines
    assert header.split()[:4] == ["#", "time", "(ms)", "conn"]
    start = header.index("length case")
    assert all(
        line[start:].startswith(case)
        for line, case in zip(body, ["7-bit", "16-bit", "64-bit", "7-bit"])
    )
    assert repr(frames_table(frames)) == "\n".join(lines)


def test_empty_table_says_so():
    table = frames_table([])
    assert isinstance(table, FramesTable) and len(table) == 0
    assert "no frames" in table.caption


# ---------------------------------------------------------------- header fields


def spans(frame):
    return [(f.name, f.start_bit, f.n_bits) for f in header_fields(frame)]


FIXED = [
    ("FIN", 0, 1),
    ("RSV1", 1, 1),
    ("RSV2", 2, 1),
    ("RSV3", 3, 1),
    ("opcode", 4, 4),
    ("MASK", 8, 1),
    ("Payload len", 9, 7),
]


@pytest.mark.parametrize(
    "size, masked, extra",
    [
        (5, False, []),
        (5, True, [("Masking-key", 16, 32)]),
        (200, False, [("Extended payload length", 16, 16)]),
        (200, True, [("Extended payload length", 16, 16), ("Masking-key", 32, 32)]),
        (70000, False, [("Extended payload length", 16, 64)]),
        (70000, True, [("Extended payload length", 16, 64), ("Masking-key", 80, 32)]),
    ],
)
def test_header_fields_cover_the_whole_header(size, masked, extra):
    data = Frame(Opcode.BINARY, bytes(size)).serialize(KEY if masked else None)
    parsed, _ = Frame.parse(data)
    fields = header_fields(parsed)
    assert spans(parsed) == FIXED + extra
    assert sum(f.n_bits for f in fields) == parsed.header.header_size * 8
    assert all(a.end_bit == b.start_bit for a, b in zip(fields, fields[1:]))


def test_header_field_values_and_labels():
    fields = {f.name: f for f in header_fields(record(Frame(Opcode.TEXT, b"x" * 70000), mask=KEY))}
    assert fields["FIN"].value == 1 and fields["MASK"].value == 1
    assert fields["opcode"].label == "opcode 0x1 TEXT"
    assert fields["Payload len"].value == 127
    assert "127" in fields["Payload len"].label and "64-bit follows" in fields["Payload len"].label
    assert fields["Extended payload length"].value == 70000
    assert "70000" in fields["Extended payload length"].label
    assert fields["Masking-key"].value == 0x01020304
    assert fields["Masking-key"].label == "masking key 01 02 03 04"
    sixteen = {f.name: f for f in header_fields(Frame(Opcode.BINARY, bytes(300)))}
    assert sixteen["Payload len"].label.replace("\n", " ") == "Payload len 126 → 16-bit follows"


def test_header_fields_accept_bytes_headers_and_unparsed_frames():
    hello = bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58")  # RFC 6455 §5.7
    parsed, _ = Frame.parse(hello)
    assert header_fields(hello) == header_fields(parsed.header) == header_fields(parsed)
    built = Frame(Opcode.PING, b"hi")  # no header yet: drawn as a server sends it
    assert [f.value for f in header_fields(built)] == [1, 0, 0, 0, 9, 0, 2]
    with pytest.raises(ValueError):
        header_fields(b"\x81\xfe\x00")  # 16-bit length not all there yet
    with pytest.raises(TypeError):
        header_fields("81 05")


def test_header_fields_keep_rsv_bits_an_extension_set():
    compressed = bytes.fromhex("c1 05") + b"12345"  # RSV1: permessage-deflate
    fields = {f.name: f.value for f in header_fields(compressed)}
    assert (fields["RSV1"], fields["RSV2"], fields["RSV3"]) == (1, 0, 0)


# ---------------------------------------------------------------- the diagram


@pytest.fixture
def agg():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    return matplotlib


def texts(fig):
    return [t.get_text() for t in fig.axes[0].texts]


def test_bit_diagram_labels_every_field_and_draws_every_bit(agg):
    from matplotlib.figure import Figure

    rec = record(Frame(Opcode.TEXT, b"x" * 70000), mask=KEY)
    fig = bit_diagram(rec)
    assert isinstance(fig, Figure)
    labels = texts(fig)
    for field in header_fields(rec):
        assert field.label in labels
    assert [str(b) for b in range(32)] == labels[:32]  # bit numbers on top
    bits = "".join(f"{byte:08b}" for byte in rec.header)
    assert [t for t in labels[32:] if t in ("0", "1")] == list(bits)
    assert fig.axes[0].get_title("left") == "TEXT frame, 70000-byte payload (64-bit length), masked"
    assert fig.get_figwidth() == 10
    assert fig.get_figheight() > bit_diagram(bytes.fromhex("81 05")).get_figheight()


def test_bit_diagram_shows_only_the_fields_present(agg):
    labels = "\n".join(texts(bit_diagram(bytes.fromhex("82 7e 01 00"))))
    assert "opcode 0x2 BINARY" in labels and "16-bit follows" in labels
    assert "= 256" in labels
    assert "masking key" not in labels


def test_bit_diagram_stays_out_of_pyplot_and_renders_as_png(agg):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    fig = bit_diagram(Frame(Opcode.CLOSE, b"\x03\xe8"), title="a close frame")
    assert plt.get_fignums() == before
    assert fig.axes[0].get_title("left") == "a close frame"
    assert fig._repr_png_().startswith(b"\x89PNG")


def test_bit_diagram_draws_into_a_given_axes(agg):
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert bit_diagram(bytes.fromhex("81 05"), ax=ax) is fig
    assert "opcode 0x1 TEXT" in [t.get_text() for t in ax.texts]


# ---------------------------------------------------------------- describe_frame


def test_describe_frame_spells_out_each_field():
    text = describe_frame(bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58"))
    lines = text.splitlines()
    assert lines[0] == "FIN=1: this is the last (or only) frame of the message"
    assert lines[2].startswith("opcode=0x1: TEXT")
    assert lines[3] == "MASK=1: masked with key 37 fa 21 3d (client → server)"
    assert lines[4].startswith("length=5 (7-bit case")
    assert lines[-1] == 'payload: "Hello"'


def test_describe_frame_explains_long_lengths_and_fragments():
    text = describe_frame(record(Frame(Opcode.BINARY, bytes(300), fin=False), direction="out"))
    assert "FIN=0" in text
    assert "length=300 (16-bit case" in text and "126" in text
    assert "MASK=0: not masked (server → client)" in text


def test_describe_frame_flags_a_masked_frame_from_the_server():
    text = describe_frame(record(Frame(Opcode.TEXT, b"hi"), mask=KEY, direction="out"))
    assert "must not mask" in text


def test_describe_frame_says_a_continuation_cannot_know_its_type():
    cont = record(Frame(Opcode.CONT, b"lo, world"), mask=KEY)
    alone = describe_frame(cont)
    assert (
        "continuation: shown as hex; the first frame of the message says whether it is text"
        in alone
    )
    assert alone.splitlines()[-1] == "payload: " + b"lo, world".hex(" ")
    as_text = describe_frame(cont, message_opcode=Opcode.TEXT)
    assert as_text.splitlines()[-1] == 'payload: "lo, world"'
    assert "shown as hex" not in as_text
    as_binary = describe_frame(cont, message_opcode=Opcode.BINARY)
    assert as_binary.splitlines()[-1] == "payload: " + b"lo, world".hex(" ")


# ---------------------------------------------------------------- the live view


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


def test_importing_wslearn_views_does_not_import_matplotlib_or_ipywidgets():
    import subprocess

    code = (
        "import sys, wslearn.views; "
        "print(any(m.split('.')[0] in ('matplotlib', 'ipywidgets') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
