"""The frames table: one row per recorded frame, one column per header field (RFC 6455 §5.2)."""

from __future__ import annotations

import struct
import zlib

import pytest
from helpers.recorded_frames import CLOSE_IDS, CLOSE_PAYLOADS, KEY, record, sample_frames

from wslearn import Close, Frame, Opcode
from wslearn.recording import FrameRecord, Recorder
from wslearn.views import COLUMNS, FramesTable, LiveView, frames_table


@pytest.fixture
def frames():
    return sample_frames()


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


def test_a_close_code_of_1005_on_the_wire_is_shown_as_a_code_that_may_not_be_sent():
    # 1005 only reports "the Close frame had no code"; a payload that carries it is broken.
    shown = Close.describe(struct.pack("!H", 1005))
    assert "may not be sent" in shown
    table = frames_table([record(Frame(Opcode.CLOSE, struct.pack("!H", 1005)), mask=KEY)])
    assert table.rows[0]["payload"] == shown


def test_a_close_code_of_1005_on_the_wire_is_not_called_no_code():
    assert Close.describe(struct.pack("!H", 1005)) == "1005 (code 1005 may not be sent)"


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


def test_a_compressed_message_shows_rsv1_both_sizes_and_both_contents() -> None:
    from wslearn.recording import InflatedMessage

    message = "Hello, Hello, Hello, Hello"
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflated = (compressor.compress(message.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]
    first, rest = deflated[:4], deflated[4:]  # one compressed message in two frames
    records = []
    inflated = InflatedMessage(256)
    for frame, note in [
        (Frame(Opcode.TEXT, first, fin=False, rsv1=True), inflated),
        (Frame(Opcode.CONT, rest), None),
    ]:
        parsed, _ = Frame.parse(frame.serialize(KEY), allowed_rsv=0x40)
        records.append(
            FrameRecord.from_frame(parsed, time=0.0, connection=1, direction="in", inflated=note)
        )
    waiting = frames_table(records).rows[0]
    assert waiting["length"] == "4 → ? inflated" and waiting["payload"].endswith("(not inflated)")
    inflated.fill(message)  # the message is whole: the server notes it on the first frame
    rows = frames_table(records).rows
    assert [r["RSV"] for r in rows] == ["100", "000"]  # RSV1 on the first frame only
    assert rows[0]["length"] == f"4 → {len(message)} inflated"
    assert rows[0]["payload"] == f'{first.hex(" ")} ⇒ inflated "{message}"'
    # The continuation carries compressed bytes, not text: shown in hex, never decoded.
    assert rows[1]["length"] == str(len(rest)) and rows[1]["payload"] == rest.hex(" ")
