"""wslearn.recording: frame and connection records, and the bounded, locked Recorder."""

from __future__ import annotations

import threading
import types
from typing import List, Optional, Tuple

import pytest

import wslearn.recording
from wslearn import Frame, FrameReader, Headers, Opcode, parse_frame_header
from wslearn.frame_recording import FrameRecording
from wslearn.recording import ConnectionRecord, FrameRecord, Recorder

KEY = bytes.fromhex("37 fa 21 3d")  # RFC 6455 §5.7


def from_the_wire(frame: Frame, mask: Optional[bytes], *, allowed_rsv: int = 0) -> Frame:
    """``frame`` as the server's reader hands it over: parsed, with its wire bytes kept."""
    reader = FrameReader(allowed_rsv=allowed_rsv, keep_wire=256)
    reader.feed(frame.serialize(mask))
    [parsed] = list(reader)
    return parsed


def frame_record(n: int, *, connection: int = 1, direction: str = "in") -> FrameRecord:
    """A small record whose payload says which one it is."""
    frame = Frame(Opcode.TEXT, str(n).encode())
    return FrameRecord.from_frame(frame, time=float(n), connection=connection, direction=direction)


def connection_record(id: int) -> ConnectionRecord:
    return ConnectionRecord(id=id, peer=f"127.0.0.1:{40000 + id}", opened=float(id))


# ---------------------------------------------------------------- FrameRecord.from_frame


def test_an_inbound_masked_frame_keeps_its_key_and_both_previews() -> None:
    parsed = from_the_wire(Frame(Opcode.TEXT, b"Hello"), KEY)
    rec = FrameRecord.from_frame(parsed, time=12.5, connection=7, direction="in", stream_offset=3)
    assert (rec.time, rec.connection, rec.direction, rec.stream_offset) == (12.5, 7, "in", 3)
    assert rec.header == bytes.fromhex("81 85") + KEY
    assert (rec.fin, rec.opcode, rec.opcode_name, rec.masked, rec.mask) == (
        True,
        1,
        "TEXT",
        True,
        KEY,
    )
    assert rec.wire_preview == bytes.fromhex("7f 9f 4d 51 58")  # masked, as it crossed the wire
    assert rec.payload_preview == b"Hello"
    assert (rec.length, rec.length_case, rec.truncated) == (5, "7-bit", False)


def test_an_unmasked_frame_has_no_key_and_its_wire_bytes_are_its_payload() -> None:
    parsed = from_the_wire(Frame(Opcode.BINARY, b"\x00\xff"), None)
    rec = FrameRecord.from_frame(parsed, time=0.0, connection=1, direction="in")
    assert rec.header == bytes.fromhex("82 02")
    assert not rec.masked and rec.mask is None
    assert rec.wire_preview == rec.payload_preview == b"\x00\xff"


@pytest.mark.parametrize("direction", ["in", "out"])
def test_a_frame_built_in_python_is_recorded_as_a_server_sends_it(direction: str) -> None:
    frame = Frame(Opcode.PONG, b"are you there?")  # never parsed: it has no header yet
    rec = FrameRecord.from_frame(frame, time=1.0, connection=2, direction=direction)
    assert rec.direction == direction
    assert rec.header == bytes.fromhex("8a 0e") and rec.opcode_name == "PONG"
    assert not rec.masked and rec.mask is None
    assert rec.wire_preview == rec.payload_preview == b"are you there?"


@pytest.mark.parametrize("mask", [None, KEY], ids=["unmasked", "masked"])
def test_previews_are_cut_to_preview_bytes_and_the_length_stays_exact(mask) -> None:
    payload = bytes(range(200)) * 400  # 80 000 bytes: the 64-bit length case
    parsed = from_the_wire(Frame(Opcode.BINARY, payload), mask)
    rec = FrameRecord.from_frame(parsed, time=0.0, connection=1, direction="in", preview_bytes=16)
    assert rec.payload_preview == payload[:16]
    assert len(rec.wire_preview) == 16
    assert (rec.length, rec.length_case, rec.truncated) == (80_000, "64-bit", True)
    assert (rec.wire_preview == rec.payload_preview) == (mask is None)
    assert wslearn.unmask(rec.wire_preview, mask or bytes(4)) == rec.payload_preview


def test_a_record_is_frozen() -> None:
    rec = frame_record(1)
    with pytest.raises(AttributeError):
        rec.length = 99  # type: ignore[misc]
    with pytest.raises(AttributeError):
        rec.head = rec.head._replace(length=99)  # type: ignore[misc]


def test_a_record_keeps_the_readers_header_itself_and_reads_its_fields_through_it() -> None:
    # One object per frame, not eleven copied fields: the header the reader parsed.
    parsed = from_the_wire(Frame(Opcode.BINARY, b"x" * 300, fin=False), KEY)
    rec = FrameRecord.from_frame(parsed, time=0.0, connection=1, direction="in")
    assert rec.head is parsed.header and rec.frame_header() is parsed.header
    head = parsed.header
    assert (rec.fin, rec.rsv1, rec.rsv2, rec.rsv3) == (False, False, False, False)
    assert (rec.opcode, rec.masked, rec.mask) == (int(Opcode.BINARY), True, KEY)
    assert (rec.length, rec.length_case, rec.header) == (300, "16-bit", head.raw)
    assert type(rec.opcode) is int  # a plain number, as recorded before; the name is apart
    # The header's bytes are a copy of their own, not a window on the reader's buffer.
    assert type(rec.header) is bytes and len(rec.header) == 8


def test_a_record_made_from_header_bytes_reads_the_same_as_one_from_the_reader() -> None:
    # What a saved capture holds (the header's bytes, the previews) gives the same record.
    parsed = from_the_wire(Frame(Opcode.TEXT, b"Hello"), KEY)
    live = FrameRecord.from_frame(parsed, time=1.0, connection=1, direction="in")
    saved = FrameRecord(
        time=1.0,
        connection=1,
        direction="in",
        head=parse_frame_header(live.header),
        wire_preview=live.wire_preview,
        payload_preview=live.payload_preview,
        stream_offset=0,
    )
    assert saved == live and saved.held_bytes() == live.held_bytes()


# ---------------------------------------------------------------- frame_header()


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
@pytest.mark.parametrize("mask", [None, KEY], ids=["unmasked", "masked"])
def test_frame_header_is_the_recorded_header_bytes_parsed(size: int, mask) -> None:
    rec = FrameRecord.from_frame(
        from_the_wire(Frame(Opcode.BINARY, bytes(size)), mask),
        time=0.0,
        connection=1,
        direction="in",
    )
    header = rec.frame_header()
    assert header == parse_frame_header(rec.header)
    assert (header.length, header.mask, header.header_size) == (size, mask, len(rec.header))
    assert header.raw == rec.header


def test_frame_header_keeps_the_rsv_bits_and_a_missing_fin() -> None:
    parsed = from_the_wire(Frame(Opcode.TEXT, b"Hel", fin=False, rsv1=True), KEY, allowed_rsv=0x40)
    header = FrameRecord.from_frame(parsed, time=0.0, connection=1, direction="in").frame_header()
    assert (header.fin, header.rsv1, header.rsv2, header.rsv3) == (False, True, False, False)
    assert header.opcode is Opcode.TEXT


# ---------------------------------------------------------------- ConnectionRecord


def test_a_connection_record_starts_empty_and_names_its_user_agent() -> None:
    first, second = connection_record(1), connection_record(2)
    assert (first.status, first.closed, first.via_proxy, first.user_agent) == (
        None,
        None,
        False,
        "",
    )
    first.reads.append(10)
    assert second.reads == []  # each record has lists of its own
    first.request_headers = Headers([("User-Agent", "Chromium 156")])
    assert first.user_agent == "Chromium 156"


# ---------------------------------------------------------------- Recorder: bounded stores


def test_frames_are_bounded_and_the_dropped_ones_are_counted() -> None:
    recorder = Recorder(max_frames=3)
    for n in range(5):
        recorder.add_frame(frame_record(n))
    assert [f.payload_preview for f in recorder.frames()] == [b"2", b"3", b"4"]
    assert recorder.dropped_frames == 2
    recorder.add_frame(frame_record(5))
    assert recorder.dropped_frames == 3 and len(recorder.frames()) == 3


def test_nothing_is_dropped_below_the_bound() -> None:
    recorder = Recorder(max_frames=3)
    for n in range(3):
        recorder.add_frame(frame_record(n))
    assert recorder.dropped_frames == 0 and len(recorder.frames()) == 3


def test_connections_are_bounded_oldest_first() -> None:
    recorder = Recorder(max_connections=2)
    for id in (1, 2, 3):
        recorder.add_connection(connection_record(id))
    assert [c.id for c in recorder.connections()] == [2, 3]
    assert recorder.dropped_connections == 1
    assert recorder.connection(3).peer == "127.0.0.1:40003"
    with pytest.raises(KeyError):
        recorder.connection(1)  # dropped
    with pytest.raises(KeyError):
        recorder.connection(99)  # never seen


def test_frames_filter_by_connection_and_direction() -> None:
    recorder = Recorder()
    for n, (connection, direction) in enumerate([(1, "in"), (1, "out"), (2, "in"), (2, "out")]):
        recorder.add_frame(frame_record(n, connection=connection, direction=direction))
    assert [f.time for f in recorder.frames(connection=2)] == [2.0, 3.0]
    assert [f.time for f in recorder.frames(direction="in")] == [0.0, 2.0]
    assert [f.time for f in recorder.frames(connection=1, direction="out")] == [1.0]
    assert recorder.frames(connection=3) == []


def test_readers_get_snapshots_that_later_changes_leave_alone() -> None:
    recorder = Recorder()
    recorder.add_frame(frame_record(0))
    recorder.add_connection(connection_record(1))
    frames, connections = recorder.frames(), recorder.connections()
    recorder.add_frame(frame_record(1))
    recorder.add_connection(connection_record(2))
    assert len(frames) == 1 and len(connections) == 1
    frames.clear()
    assert len(recorder.frames()) == 2


def test_version_goes_up_on_every_change_and_only_then() -> None:
    recorder = Recorder(max_frames=1)
    versions = [recorder.version]
    recorder.add_frame(frame_record(0))
    versions.append(recorder.version)
    recorder.add_frame(frame_record(1))  # drops frame 0: still a change
    versions.append(recorder.version)
    recorder.add_connection(connection_record(1))
    versions.append(recorder.version)
    recorder.touch()
    versions.append(recorder.version)
    recorder.frames(), recorder.connections(), recorder.connection(1)  # reading changes nothing
    versions.append(recorder.version)
    recorder.clear()
    versions.append(recorder.version)
    assert versions == [0, 1, 2, 3, 4, 4, 5]


def test_clear_forgets_everything_and_the_drop_counts() -> None:
    recorder = Recorder(max_frames=1, max_connections=1)
    for n in range(3):
        recorder.add_frame(frame_record(n))
        recorder.add_connection(connection_record(n))
    recorder.clear()
    assert recorder.frames() == [] and recorder.connections() == []
    assert (recorder.dropped_frames, recorder.dropped_connections) == (0, 0)
    recorder.add_connection(connection_record(5))
    assert [c.id for c in recorder.connections()] == [5]


# ---------------------------------------------------------------- Recorder: the lock


class WatchedLock:
    """A real lock the test can also hold, to see who waits for it."""

    made: List["WatchedLock"] = []

    def __init__(self) -> None:
        self.lock = threading.Lock()
        WatchedLock.made.append(self)

    def __enter__(self) -> None:
        self.lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


@pytest.fixture
def watched(monkeypatch) -> tuple:
    """A Recorder built with a :class:`WatchedLock`, and that lock."""
    WatchedLock.made.clear()
    monkeypatch.setattr(wslearn.recording, "threading", types.SimpleNamespace(Lock=WatchedLock))
    recorder = Recorder()
    recorder.add_connection(connection_record(1))
    recorder.add_frame(frame_record(1))
    [lock] = WatchedLock.made
    return recorder, lock


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.add_frame(frame_record(2)),
        lambda r: r.add_connection(connection_record(2)),
        lambda r: r.touch(),
        lambda r: r.frames(),
        lambda r: r.connections(),
        lambda r: r.connection(1),
        lambda r: r.clear(),
    ],
    ids=["add_frame", "add_connection", "touch", "frames", "connections", "connection", "clear"],
)
@pytest.mark.timeout(10)
def test_every_read_and_change_waits_for_the_lock(watched, call) -> None:
    recorder, lock = watched
    done = threading.Event()

    def run() -> None:
        call(recorder)
        done.set()

    with lock:  # another thread is in the middle of a change
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        assert not done.wait(0.2), "it went ahead without the lock"
    assert done.wait(5), "it never finished once the lock was free"
    worker.join(5)


@pytest.mark.timeout(30)
def test_threads_recording_at_once_lose_no_count() -> None:
    recorder = Recorder(max_frames=50, max_connections=20)
    threads, per_thread = 8, 500

    def record(t: int) -> None:
        for n in range(per_thread):
            recorder.add_frame(frame_record(n, connection=t))
            if n % 10 == 0:
                recorder.add_connection(connection_record(t * per_thread + n))
                recorder.connections()

    workers = [threading.Thread(target=record, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(20)
    total_frames, total_connections = threads * per_thread, threads * per_thread // 10
    assert len(recorder.frames()) == 50
    assert recorder.dropped_frames == total_frames - 50
    assert len(recorder.connections()) == 20
    assert recorder.dropped_connections == total_connections - 20
    assert recorder.version == total_frames + total_connections


def test_a_huge_request_head_is_kept_only_up_to_its_cap_and_the_rest_counted() -> None:
    from wslearn.http11 import Headers
    from wslearn.recording import MAX_REQUEST_KEPT

    headers = Headers([("Host", "127.0.0.1")] + [(f"X-H{i}", "v" * 8000) for i in range(120)])
    raw = b"GET / HTTP/1.1\r\n" + b"".join(
        f"{name}: {value}\r\n".encode() for name, value in headers
    )
    record = ConnectionRecord(id=1, peer="x", opened=0.0)
    record.keep_request(raw, headers, "/" + "t" * 20000)
    assert len(raw) > 900_000
    assert record.request_raw == raw[:MAX_REQUEST_KEPT]
    assert record.request_dropped == len(raw) - MAX_REQUEST_KEPT
    kept = sum(len(n) + len(v) + 4 for n, v in record.request_headers)
    assert 0 < kept <= MAX_REQUEST_KEPT and record.request_headers.get("Host") == "127.0.0.1"
    assert len(record.target) == MAX_REQUEST_KEPT


def test_a_browser_sized_head_is_kept_whole() -> None:
    from wslearn.http11 import Headers

    headers = Headers([("Host", "127.0.0.1"), ("Upgrade", "websocket")])
    raw = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\r\n"
    record = ConnectionRecord(id=1, peer="x", opened=0.0)
    record.keep_request(raw, headers, "/")
    assert (record.request_raw, record.request_dropped, record.target) == (raw, 0, "/")
    assert list(record.request_headers) == list(headers)


# ---------------------------------------------------------------- the bound in bytes


def worst_frame(preview_bytes: int, n: int = 0) -> FrameRecord:
    """The largest record a frame can leave: masked, 64-bit length, previews filled."""
    payload = bytes([n % 256]) * 70_000  # over 65 535: the 14-byte header
    reader = FrameReader(keep_wire=preview_bytes)
    reader.feed(Frame(Opcode.BINARY, payload).serialize(KEY))
    [parsed] = list(reader)
    return FrameRecord.from_frame(
        parsed, time=float(n), connection=1, direction="in", preview_bytes=preview_bytes
    )


def worst_compressed_frame(preview_bytes: int, n: int = 0) -> FrameRecord:
    """The largest record of all: a compressed message's first frame, its message inflated."""
    from wslearn.frames import RSV1
    from wslearn.recording import InflatedMessage

    payload = bytes([n % 256]) * 70_000
    reader = FrameReader(keep_wire=preview_bytes)
    reader.allowed_rsv = RSV1  # as with permessage-deflate negotiated
    reader.feed(Frame(Opcode.BINARY, payload, rsv1=True).serialize(KEY))
    [parsed] = list(reader)
    inflated = InflatedMessage(preview_bytes)
    record = FrameRecord.from_frame(
        parsed,
        time=float(n),
        connection=1,
        direction="in",
        preview_bytes=preview_bytes,
        inflated=inflated,
    )
    inflated.fill(payload * 2)  # the message is larger than its compressed frame
    return record


def worst_connection(id: int) -> ConnectionRecord:
    """A record that a megabyte head, a long target and the longest reason filled to the cap."""
    from wslearn.recording import MAX_CLOSE_REASON, MAX_REQUEST_KEPT

    # One header of exactly MAX_REQUEST_KEPT bytes ("X: " + value + CRLF), then a megabyte.
    headers = [("X", "v" * (MAX_REQUEST_KEPT - 5))]
    headers += [(f"X-H{i}", "w" * 8000) for i in range(127)]
    raw = b"GET / HTTP/1.1\r\n" + b"".join(f"{n}: {v}\r\n".encode() for n, v in headers)
    record = connection_record(id)
    record.keep_request(raw + b"\r\n", Headers(headers), "/" + "t" * 1_000_000)
    record.close_reason = "é" * (MAX_CLOSE_REASON // 2) + "!"  # 123 bytes in UTF-8
    return record


@pytest.mark.parametrize("mask", [None, KEY], ids=["unmasked", "masked"])
@pytest.mark.parametrize("size", [0, 5, 300, 70_000])
def test_a_frame_record_holds_at_most_its_bound(mask, size: int) -> None:
    from wslearn.recording import frame_bytes_bound

    parsed = from_the_wire(Frame(Opcode.BINARY, bytes(size)), mask)
    rec = FrameRecord.from_frame(parsed, time=0.0, connection=1, direction="in", preview_bytes=64)
    kept = min(size, 64)
    assert rec.held_bytes() == len(rec.header) + (4 if mask else 0) + 2 * kept
    assert rec.held_bytes() <= frame_bytes_bound(64)


def test_the_largest_frame_record_reaches_its_bound_exactly() -> None:
    # The bound is what a record can really hold, not a guess with room to spare.
    from wslearn.recording import MAX_FRAME_HEADER, frame_bytes_bound

    rec = worst_frame(64)
    assert len(rec.header) == MAX_FRAME_HEADER and rec.length == 70_000
    assert rec.held_bytes() == frame_bytes_bound(64)


def test_a_record_keeps_no_view_of_a_large_payload() -> None:
    # A slice of a memoryview is a window on the whole buffer and would keep it alive;
    # the record copies its preview out, so the buffer is free once the frame is gone.
    buffer = bytearray(1_000_000)
    view = memoryview(buffer)
    frame = Frame(Opcode.BINARY, view)  # type: ignore[arg-type]  # as a handler may send it
    rec = FrameRecord.from_frame(frame, time=0.0, connection=1, direction="out")
    del frame
    view.release()
    buffer.clear()  # BufferError ("existing exports") if the record still held a slice of it
    assert type(rec.payload_preview) is bytes and len(rec.payload_preview) == 256


def test_a_record_with_longer_previews_is_kept_cut_to_the_recorders() -> None:
    recorder = Recorder(preview_bytes=16)
    recorder.add_frame(worst_frame(1000))  # made with other settings
    [kept] = recorder.frames()
    assert len(kept.wire_preview) == len(kept.payload_preview) == 16
    assert kept.length == 70_000 and kept.truncated
    assert wslearn.unmask(kept.wire_preview, KEY) == kept.payload_preview
    assert recorder.held_bytes() <= recorder.byte_bound


def test_a_connection_record_filled_by_a_huge_head_holds_at_most_its_bound() -> None:
    from wslearn.recording import CONNECTION_BYTES_BOUND

    record = worst_connection(1)
    assert record.request_dropped > 1_000_000
    assert record.held_bytes() == CONNECTION_BYTES_BOUND  # every part filled to its cap


def test_a_connection_records_times_are_numbers_outside_its_byte_count() -> None:
    # The times a sequence diagram draws are the server's clock, not bytes a peer chose: a
    # record holds as many bytes with them as without, so the bound needs no room for them.
    from wslearn.recording import CONNECTION_BYTES_BOUND

    record = worst_connection(1)
    times = ("request_at", "answered_at", "fin_sent", "peer_fin", "closed")
    assert [getattr(record, name) for name in times] == [None] * 5  # none until it happens
    for step, name in enumerate(times, 1):
        setattr(record, name, record.opened + step)
    assert record.request_at == record.opened + 1 and record.closed == record.opened + 5
    assert record.held_bytes() == CONNECTION_BYTES_BOUND


def test_an_empty_recorder_holds_nothing() -> None:
    recorder = Recorder()
    assert recorder.held_bytes() == 0 < recorder.byte_bound


def test_held_bytes_is_the_sum_over_the_kept_records() -> None:
    recorder = Recorder()
    frames = [frame_record(n) for n in (7, 42, 1000)]
    connection = connection_record(1)
    connection.keep_request(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n", Headers([("Host", "h")]), "/")
    for rec in frames:
        recorder.add_frame(rec)
    recorder.add_connection(connection)
    # Frames built in Python: a 2-byte header, no key, the payload counted twice.
    assert [rec.held_bytes() for rec in frames] == [2 + 2 * 1, 2 + 2 * 2, 2 + 2 * 4]
    assert connection.held_bytes() == 27 + len("Host: h\r\n") + 1
    assert recorder.held_bytes() == 4 + 6 + 10 + connection.held_bytes()


def test_many_big_frames_stay_within_the_byte_bound_and_the_rest_is_counted() -> None:
    recorder = Recorder(max_frames=20, preview_bytes=64)
    for n in range(200):  # 200 frames of 70 000 bytes: 14 MB went by
        recorder.add_frame(worst_frame(64, n))
        assert recorder.held_bytes() <= recorder.byte_bound
    assert recorder.dropped_frames == 180 and len(recorder.frames()) == 20
    assert recorder.frames()[0].payload_preview == bytes([180]) * 64  # the newest are kept


def test_many_connections_with_megabyte_heads_stay_within_the_byte_bound() -> None:
    recorder = Recorder(max_frames=5, max_connections=4, preview_bytes=8)
    for id in range(1, 13):  # 12 heads of more than a megabyte each
        recorder.add_connection(worst_connection(id))
        recorder.add_frame(worst_compressed_frame(8, id))
        assert recorder.held_bytes() <= recorder.byte_bound
    assert recorder.dropped_connections == 8 and recorder.dropped_frames == 7
    assert all(record.request_dropped > 1_000_000 for record in recorder.connections())
    # Full of the largest records there are, the recorder holds exactly its bound.
    assert recorder.held_bytes() == recorder.byte_bound


def test_a_compressed_frame_record_reaches_the_inflated_bound_exactly() -> None:
    from wslearn.recording import frame_bytes_bound

    rec = worst_compressed_frame(64)
    assert rec.rsv1 and rec.compressed and rec.inflated is not None
    assert rec.inflated.length == 140_000 and len(rec.inflated.preview) == 64
    assert rec.held_bytes() == frame_bytes_bound(64, inflated=True) > frame_bytes_bound(64)


def test_an_inflated_message_keeps_its_utf8_length_and_a_capped_preview() -> None:
    from wslearn.recording import InflatedMessage

    text = InflatedMessage(5)
    assert text.length is None and text.preview == b""  # not whole yet
    text.fill("héllo wörld")
    assert text.length == len("héllo wörld".encode()) == 13
    assert text.preview == "héllo".encode()[:5] == b"h\xc3\xa9ll"
    binary = InflatedMessage(4)
    binary.fill(bytes(range(10)))
    assert (binary.length, binary.preview) == (10, bytes(range(4)))


def test_a_recorder_cuts_the_inflated_preview_to_its_own_bound_even_when_filled_later() -> None:
    from wslearn.recording import InflatedMessage

    recorder = Recorder(preview_bytes=8)
    inflated = InflatedMessage(1000)  # made with other settings, filled after it was kept
    parsed = from_the_wire(Frame(Opcode.TEXT, b"x" * 100), KEY)
    rec = FrameRecord.from_frame(
        parsed, time=0.0, connection=1, direction="in", preview_bytes=1000, inflated=inflated
    )
    recorder.add_frame(rec)
    inflated.fill("y" * 5000)
    [kept] = recorder.frames()
    assert kept.inflated is not None and kept.inflated.length == 5000
    assert kept.inflated.preview == b"y" * 8
    assert recorder.held_bytes() <= recorder.byte_bound


# ---------------------------------------------------------------- FrameRecording (the glue)


def record_frames(frames: List[Tuple[str, Frame]], *, secret: bool) -> List[FrameRecord]:
    """What a connection's FrameRecording hands on for ``(direction, frame)`` in order."""
    kept: List[FrameRecord] = []
    recording = FrameRecording(7, kept.append, 256, secret_first_message=secret)
    for direction, frame in frames:
        masked = KEY if direction == "in" else None
        recording(direction, from_the_wire(frame, masked))
    return kept


def test_the_secret_first_message_is_recorded_redacted_in_every_frame_and_only_it() -> None:
    frames = [
        ("out", Frame(Opcode.TEXT, b"welcome")),  # the server's own message is not secret
        ("in", Frame(Opcode.TEXT, b"tok", fin=False)),
        ("in", Frame(Opcode.PING, b"between")),  # a control frame between fragments
        ("in", Frame(Opcode.CONT, b"en-1", fin=False)),
        ("in", Frame(Opcode.CONT, b"23", fin=True)),
        ("in", Frame(Opcode.TEXT, b"hello")),
    ]
    kept = record_frames(frames, secret=True)
    assert [r.redacted for r in kept] == [False, True, False, True, True, False]
    for record in (kept[1], kept[3], kept[4]):
        assert record.payload_preview == b"" and record.wire_preview == b""
        assert record.mask is not None  # the header is kept whole, its key too
    assert [r.length for r in kept] == [7, 3, 7, 4, 2, 5]  # lengths stay exact
    assert kept[2].payload_preview == b"between" and kept[5].payload_preview == b"hello"
    assert [r.stream_offset for r in kept[1:]] == [0, 9, 22, 32, 40]  # 6-byte headers
    assert not any(r.redacted for r in record_frames(frames, secret=False))
