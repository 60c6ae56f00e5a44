"""Connection: messages, control frames, limits and the closing handshake (RFC 6455 §5–§7)."""

import os
import struct
import tracemalloc

import pytest

import wslearn
from wslearn import (
    Binary,
    Close,
    Connection,
    ConnectionClosed,
    Failed,
    Frame,
    LocalProtocolError,
    Opcode,
    Ping,
    Pong,
    ProtocolError,
    State,
    Text,
    WebSocketError,
    mask,
    parse_frame_header,
)
from wslearn.connection import DEFAULT_MAX_SIZE, MAX_EMPTY_FRAGMENTS

KEY = bytes.fromhex("37 fa 21 3d")


def client_frame(opcode, payload=b"", fin=True):
    """Bytes of a frame as a client sends it: masked."""
    return Frame(opcode, payload, fin=fin).serialize(KEY)


def close_frame(code=None, reason=b""):
    payload = b"" if code is None else struct.pack("!H", code) + reason
    return client_frame(Opcode.CLOSE, payload)


def sent_close(data):
    """Parse the Close frame a server produced; return what it says, as a :class:`Close`."""
    frame, used = Frame.parse(data)
    assert used == len(data) and frame.opcode is Opcode.CLOSE
    return Close.parse(frame.payload)


def sent(conn):
    """Everything ``conn`` queued, then check that taking it emptied the queue."""
    data = conn.data_to_send()
    assert type(data) is bytes
    assert conn.data_to_send() == b""
    return data


def fails_with(data, code, **kw):
    server = Connection("server", **kw)
    events = server.receive_data(data)
    assert isinstance(events[-1], Failed), events
    assert events[-1].code == code
    assert server.state is State.CLOSED
    assert sent_close(server.data_to_send()).code == code
    # Nothing is accepted after the failure.
    assert server.receive_data(client_frame(Opcode.TEXT, b"more")) == []
    return events[-1]


def test_rfc_masked_hello_is_a_text_message():
    server = Connection("server")
    assert server.receive_data(bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58")) == [Text("Hello")]


def test_server_sends_unmasked_rfc_bytes():
    server = Connection("server")
    assert server.send_text("Hello") is None
    assert sent(server) == bytes.fromhex("81 05 48 65 6c 6c 6f")


def test_client_masks_every_frame_with_a_fresh_key():
    client = Connection("client")
    client.send_binary(b"same")
    first = client.data_to_send()
    client.send_binary(b"same")
    second = client.data_to_send()
    assert first[1] & 0x80 and second[1] & 0x80
    assert first[2:6] != second[2:6]  # 2**-32 chance of a false failure
    frame, _ = Frame.parse(first)
    assert frame.payload == b"same"


def test_client_with_fixed_mask_key_gives_rfc_bytes():
    client = Connection("client", mask_key=lambda: KEY)
    client.send_text("Hello")
    assert sent(client) == bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58")


def test_binary_and_empty_messages():
    server = Connection("server")
    data = (
        client_frame(Opcode.BINARY, b"\x00\xff")
        + client_frame(Opcode.TEXT)
        + client_frame(Opcode.BINARY)
    )
    assert server.receive_data(data) == [Binary(b"\x00\xff"), Text(""), Binary(b"")]


def test_rfc_fragmented_hel_lo_with_ping_in_between():
    server = Connection("server")
    data = client_frame(Opcode.TEXT, b"Hel", fin=False) + client_frame(Opcode.PING, b"!")
    assert server.receive_data(data) == [Ping(b"!")]
    assert server.data_to_send() == bytes.fromhex("8a 01 21")  # the automatic Pong
    assert server.receive_data(client_frame(Opcode.CONT, b"lo")) == [Text("Hello")]


def test_fragmented_binary_message():
    server = Connection("server")
    data = (
        client_frame(Opcode.BINARY, b"a", fin=False)
        + client_frame(Opcode.CONT, b"b", fin=False)
        + client_frame(Opcode.CONT, b"c")
    )
    assert server.receive_data(data) == [Binary(b"abc")]


def test_ping_is_answered_with_the_same_payload():
    server = Connection("server")
    assert server.receive_data(client_frame(Opcode.PING, b"Hello")) == [Ping(b"Hello")]
    assert server.data_to_send() == bytes.fromhex("8a 05 48 65 6c 6c 6f")
    assert server.data_to_send() == b""


def test_pong_is_reported_and_not_answered():
    server = Connection("server")
    assert server.receive_data(client_frame(Opcode.PONG, b"beat")) == [Pong(b"beat")]
    assert server.data_to_send() == b""


def test_utf8_character_split_across_fragments_is_fine():
    server = Connection("server")
    smile = "😀".encode()  # 4 bytes
    data = client_frame(Opcode.TEXT, b"hi " + smile[:1], fin=False) + client_frame(
        Opcode.CONT, smile[1:3], fin=False
    )
    assert server.receive_data(data) == []
    assert server.receive_data(client_frame(Opcode.CONT, smile[3:])) == [Text("hi 😀")]


def test_invalid_utf8_fails_fast_with_1007_before_the_last_fragment():
    fails_with(client_frame(Opcode.TEXT, b"ok \xff", fin=False), 1007)


def test_truncated_utf8_at_the_end_of_a_message_is_1007():
    fails_with(client_frame(Opcode.TEXT, "😀".encode()[:3]), 1007)


def test_utf8_surrogate_is_1007():
    fails_with(client_frame(Opcode.TEXT, b"\xed\xa0\x80"), 1007)


def test_binary_messages_are_not_utf8_checked():
    assert Connection("server").receive_data(client_frame(Opcode.BINARY, b"\xff")) == [
        Binary(b"\xff")
    ]


def test_message_over_default_1_mib_is_1009():
    assert Connection().max_size == 2**20
    server = Connection("server")
    assert server.receive_data(client_frame(Opcode.BINARY, bytes(2**20))) == [Binary(bytes(2**20))]
    fails_with(client_frame(Opcode.BINARY, bytes(2**20 + 1)), 1009)


def test_fragmented_message_over_the_limit_is_1009():
    data = client_frame(Opcode.BINARY, bytes(60), fin=False) + client_frame(Opcode.CONT, bytes(60))
    fails_with(data, 1009, max_size=100)


def test_limit_is_configurable_to_16_mib_and_off():
    big = bytes(16 * 2**20)
    server = Connection("server", max_size=16 * 2**20)
    assert server.receive_data(client_frame(Opcode.BINARY, big)) == [Binary(big)]
    unlimited = Connection("server", max_size=None)
    assert unlimited.receive_data(client_frame(Opcode.BINARY, big + b"x"))[0].data[-1:] == b"x"


def test_unmasked_frame_to_server_is_1002():
    fails_with(Frame(Opcode.TEXT, b"hi").serialize(), 1002)


def test_masked_frame_to_client_is_1002():
    client = Connection("client")
    events = client.receive_data(client_frame(Opcode.TEXT, b"hi"))
    assert events[0].code == 1002 and client.state is State.CLOSED


@pytest.mark.parametrize(
    "data",
    [
        "c1 80 00 00 00 00",  # RSV1 without extension
        "83 80 00 00 00 00",  # reserved opcode
        "09 80 00 00 00 00",  # fragmented ping
        "89 fe 00 7e",  # ping of 126 bytes
        "81 fe 00 05",  # non-minimal length
    ],
)
def test_header_rule_violations_are_1002(data):
    fails_with(bytes.fromhex(data), 1002)


def test_continuation_without_start_is_1002():
    event = fails_with(client_frame(Opcode.CONT, b"x"), 1002)
    assert "continuation" in event.reason


def test_new_message_before_final_fragment_is_1002():
    fails_with(client_frame(Opcode.TEXT, b"a", fin=False) + client_frame(Opcode.TEXT, b"b"), 1002)


def test_client_initiated_close_is_echoed_and_closes():
    server = Connection("server")
    assert server.receive_data(close_frame(1000, b"bye")) == [Close(1000, "bye")]
    assert server.state is State.CLOSED
    assert sent_close(server.data_to_send()) == Close(1000, "bye")
    assert (server.close_code, server.close_reason) == (1000, "bye")
    with pytest.raises(ConnectionClosed):
        server.send_text("too late")
    assert server.data_to_send() == b""


def test_empty_close_reports_1005_and_gets_an_empty_reply():
    server = Connection("server")
    assert server.receive_data(close_frame()) == [Close(1005, "")]
    assert server.data_to_send() == bytes.fromhex("88 00")


def test_close_reason_in_utf8():
    server = Connection("server")
    assert server.receive_data(close_frame(4001, "再见".encode())) == [Close(4001, "再见")]


def test_frames_after_close_in_the_same_chunk_are_ignored():
    server = Connection("server")
    events = server.receive_data(close_frame(1000) + client_frame(Opcode.TEXT, b"late"))
    assert events == [Close(1000, "")]


def test_server_initiated_close_handshake():
    server = Connection("server")
    assert server.close(1001, "going away") is None
    assert sent(server) == b"\x88\x0c\x03\xe9going away"
    assert server.state is State.CLOSING
    with pytest.raises(ConnectionClosed):
        server.send_text("no more data")
    with pytest.raises(ConnectionClosed):
        server.close()
    # Messages still arrive until the peer's Close; no Pong once we are closing.
    assert server.receive_data(client_frame(Opcode.TEXT, b"in flight")) == [Text("in flight")]
    assert server.receive_data(client_frame(Opcode.PING)) == [Ping(b"")]
    assert server.data_to_send() == b""
    assert server.receive_data(close_frame(1001)) == [Close(1001, "")]
    assert server.state is State.CLOSED and server.data_to_send() == b""


def test_protocol_error_while_closing_sends_no_second_close():
    server = Connection("server")
    server.close()
    assert sent_close(server.data_to_send()) == Close(1000)
    events = server.receive_data(Frame(Opcode.TEXT, b"x").serialize())
    assert events[0].code == 1002 and server.data_to_send() == b""


@pytest.mark.parametrize(
    "code",
    [
        1000,
        1001,
        1002,
        1003,
        1007,
        1008,
        1009,
        1010,
        1011,
        1012,
        1013,
        1014,
        3000,
        3999,
        4000,
        4999,
    ],
)
def test_valid_close_codes_are_accepted(code):
    assert Connection("server").receive_data(close_frame(code)) == [Close(code, "")]


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535])
def test_invalid_close_codes_are_1002(code):
    fails_with(close_frame(code), 1002)


def test_one_byte_close_payload_is_1002():
    fails_with(client_frame(Opcode.CLOSE, b"\x03"), 1002)


def test_close_reason_that_is_not_utf8_is_1007():
    fails_with(close_frame(1000, b"\xff"), 1007)


def test_tcp_eof_without_close_reports_1006():
    server = Connection("server")
    [event] = server.receive_eof()
    assert event == Close(1006, "") and type(event) is wslearn.Close
    assert server.close_code == 1006
    assert server.state is State.CLOSED and server.receive_eof() == []


def test_close_payload_validation_when_sending():
    assert Close(1005).serialize() == b""
    with pytest.raises(LocalProtocolError):
        Close(1005, "reason without code").serialize()
    with pytest.raises(LocalProtocolError):
        Close(1006).serialize()
    with pytest.raises(LocalProtocolError):
        Close(1000, "é" * 62).serialize()  # 124 bytes
    assert len(Close(1000, "a" * 123).serialize()) == 125
    # The connection refuses them the same way, before anything is queued.
    server = Connection("server")
    with pytest.raises(LocalProtocolError):
        server.close(None, "reason without code")
    with pytest.raises(LocalProtocolError):
        server.close(1006)
    with pytest.raises(LocalProtocolError):
        server.close(1000, "é" * 62)
    assert server.state is State.OPEN and server.data_to_send() == b""
    server.close(1000, "a" * 123)
    assert sent_close(sent(server)) == Close(1000, "a" * 123)


def test_send_frame_enforces_fragment_order():
    server = Connection("server")
    with pytest.raises(LocalProtocolError):
        server.send_frame(Frame(Opcode.CONT, b"x"))
    assert server.send_frame(Frame(Opcode.TEXT, b"Hel", fin=False)) is None
    assert server.send_ping(b"!") is None
    with pytest.raises(LocalProtocolError):
        server.send_text("interleaved data message")
    server.send_frame(Frame(Opcode.CONT, b"lo"))
    with pytest.raises(LocalProtocolError):
        server.send_frame(Frame(Opcode.CLOSE))
    client = Connection("client")
    assert client.receive_data(sent(server)) == [Ping(b"!"), Text("Hello")]


def test_a_refused_frame_inside_a_fragmented_message_leaves_the_message_open():
    server = Connection("server")
    server.send_frame(Frame(Opcode.TEXT, b"Hel", fin=False))
    for bad in (Frame(Opcode.PING, bytes(126)), Frame(3, b"")):
        with pytest.raises(LocalProtocolError):
            server.send_frame(bad)
    with pytest.raises(LocalProtocolError):  # still inside the message: no new one may start
        server.send_text("new")
    server.send_frame(Frame(Opcode.CONT, b"lo"))
    assert Connection("client").receive_data(sent(server)) == [Text("Hello")]


def test_observer_sees_frames_in_both_directions():
    seen = []
    server = Connection(
        "server", frame_observer=lambda d, f: seen.append((d, f.opcode, f.header.length))
    )
    server.receive_data(client_frame(Opcode.PING, b"abc"))
    assert server.send_pong(b"xy") is None
    assert seen == [("in", Opcode.PING, 3), ("out", Opcode.PONG, 3), ("out", Opcode.PONG, 2)]


def test_role_must_be_server_or_client():
    with pytest.raises(ValueError):
        Connection("proxy")


def test_client_and_server_talk_to_each_other_in_memory():
    client, server = Connection("client"), Connection("server")
    client.send_text("ping?")
    assert server.receive_data(client.data_to_send()) == [Text("ping?")]
    server.send_binary(b"\x01")
    assert client.receive_data(server.data_to_send()) == [Binary(b"\x01")]
    client.send_ping(b"p")
    assert server.receive_data(client.data_to_send()) == [Ping(b"p")]
    assert client.receive_data(server.data_to_send()) == [Pong(b"p")]
    client.close(1000, "done")
    assert server.receive_data(client.data_to_send()) == [Close(1000, "done")]
    assert client.receive_data(server.data_to_send()) == [Close(1000, "done")]
    assert client.state is State.CLOSED and server.state is State.CLOSED


def test_1009_reason_names_the_whole_message_and_the_limit():
    data = client_frame(Opcode.BINARY, bytes(600), fin=False) + client_frame(
        Opcode.CONT, bytes(600)
    )
    event = fails_with(data, 1009, max_size=1000)
    assert "1200 bytes" in event.reason and "limit of 1000" in event.reason


# ---------------------------------------------------------------- one outlet


def test_every_send_method_returns_none_and_queues_in_call_order():
    server = Connection("server")
    calls = [
        (server.send_text, ("a",)),
        (server.send_binary, (b"b",)),
        (server.send_ping, (b"c",)),
        (server.send_pong, (b"d",)),
        (server.send_frame, (Frame(Opcode.TEXT, b"e"),)),
        (server.close, (1000, "f")),
    ]
    for method, args in calls:
        assert method(*args) is None, method.__name__
    expected = [
        Frame(Opcode.TEXT, b"a"),
        Frame(Opcode.BINARY, b"b"),
        Frame(Opcode.PING, b"c"),
        Frame(Opcode.PONG, b"d"),
        Frame(Opcode.TEXT, b"e"),
        Frame(Opcode.CLOSE, Close(1000, "f").serialize()),
    ]
    assert sent(server) == b"".join(frame.serialize() for frame in expected)


def test_data_to_send_empties_the_queue_and_nothing_is_sent_twice():
    server = Connection("server")
    assert server.data_to_send() == b""
    server.send_text("one")
    assert server.data_to_send() == Frame(Opcode.TEXT, b"one").serialize()
    assert server.data_to_send() == b""
    server.send_text("two")
    server.receive_data(client_frame(Opcode.PING, b"p"))
    assert server.data_to_send() == (
        Frame(Opcode.TEXT, b"two").serialize() + Frame(Opcode.PONG, b"p").serialize()
    )
    assert server.data_to_send() == b""


def test_server_pong_to_a_masked_ping_leaves_before_a_text_sent_after_it():
    server = Connection("server")
    assert server.receive_data(client_frame(Opcode.PING, b"ping!")) == [Ping(b"ping!")]
    server.send_text("hi")
    assert sent(server) == (
        Frame(Opcode.PONG, b"ping!").serialize() + Frame(Opcode.TEXT, b"hi").serialize()
    )


def test_client_pong_and_text_leave_in_order_each_masked():
    keys = iter([b"\x01\x02\x03\x04", b"\x05\x06\x07\x08"])
    client = Connection("client", mask_key=lambda: next(keys))
    assert client.receive_data(Frame(Opcode.PING, b"ping!").serialize()) == [Ping(b"ping!")]
    client.send_text("hi")
    assert sent(client) == (
        Frame(Opcode.PONG, b"ping!").serialize(b"\x01\x02\x03\x04")
        + Frame(Opcode.TEXT, b"hi").serialize(b"\x05\x06\x07\x08")
    )


def test_queued_text_then_pong_then_close_echo_leave_in_the_order_they_were_made():
    server = Connection("server")
    server.send_text("first")
    events = server.receive_data(client_frame(Opcode.PING, b"p") + close_frame(1001, b"bye"))
    assert events == [Ping(b"p"), Close(1001, "bye")]
    assert sent(server) == b"".join(
        frame.serialize()
        for frame in [
            Frame(Opcode.TEXT, b"first"),
            Frame(Opcode.PONG, b"p"),
            Frame(Opcode.CLOSE, Close(1001, "bye").serialize()),
        ]
    )


def test_received_close_puts_the_echo_in_data_to_send():
    server = Connection("server")
    server.receive_data(close_frame(4000, b"done"))
    assert sent_close(sent(server)) == Close(4000, "done")


def test_close_then_data_to_send_gives_the_close_frame_once():
    client = Connection("client", mask_key=lambda: KEY)
    client.close(1000, "bye")
    assert client.state is State.CLOSING
    assert sent(client) == Frame(Opcode.CLOSE, b"\x03\xe8bye").serialize(KEY)
    # The peer's reply completes the handshake and is not answered again.
    assert client.receive_data(Frame(Opcode.CLOSE, b"\x03\xe8bye").serialize()) == [
        Close(1000, "bye")
    ]
    assert client.state is State.CLOSED and client.data_to_send() == b""


def test_close_without_a_code_sends_an_empty_payload_reported_as_1005():
    client, server = Connection("client", mask_key=lambda: KEY), Connection("server")
    client.close(code=None)
    data = sent(client)
    assert data == Frame(Opcode.CLOSE, b"").serialize(KEY)
    assert server.receive_data(data) == [Close(1005)]
    assert server.close_code == 1005
    assert sent(server) == bytes.fromhex("88 00")  # the echo is empty too


def test_failure_close_is_queued_after_what_was_already_queued():
    server = Connection("server")
    server.send_text("before")
    events = server.receive_data(Frame(Opcode.TEXT, b"unmasked").serialize())
    assert events[-1].code == 1002
    data = sent(server)
    before = Frame(Opcode.TEXT, b"before").serialize()
    assert data.startswith(before)
    assert sent_close(data[len(before) :]).code == 1002


def test_the_close_event_is_the_close_value_type_everywhere():
    assert wslearn.Close is wslearn.connection.Close is wslearn.close.Close
    [event] = Connection("server").receive_data(close_frame(1000, b"bye"))
    assert type(event) is wslearn.close.Close
    assert event == Close(1000, "bye") and str(event) == '1000 "bye"'


# ---------------------------------------------------------------- whose fault


@pytest.mark.parametrize(
    "frame",
    [
        Frame(Opcode.PING, b"x", fin=False),  # fragmented control frame
        Frame(Opcode.PONG, bytes(126)),  # control frame over 125 bytes
        Frame(Opcode.PING, bytes(126)),
        Frame(3, b""),  # reserved opcode
        Frame(0xB, b""),
    ],
)
@pytest.mark.parametrize("role", ["server", "client"])
def test_sending_a_frame_the_rfc_forbids_is_our_mistake(frame, role):
    conn = Connection(role)
    with pytest.raises(LocalProtocolError) as info:
        conn.send_frame(frame)
    assert not isinstance(info.value, ProtocolError)
    assert isinstance(info.value, ValueError) and isinstance(info.value, WebSocketError)
    # Nothing was queued and the connection is still usable.
    assert conn.state is State.OPEN and conn.data_to_send() == b""
    conn.send_text("still fine")
    assert Connection("client" if role == "server" else "server").receive_data(
        conn.data_to_send()
    ) == [Text("still fine")]


@pytest.mark.parametrize(
    "send", [lambda c: c.send_ping(bytes(126)), lambda c: c.send_pong(bytes(126))]
)
def test_send_ping_and_pong_over_125_bytes_are_local_errors(send):
    server = Connection("server")
    with pytest.raises(LocalProtocolError) as info:
        send(server)
    assert not isinstance(info.value, ProtocolError)
    assert server.data_to_send() == b"" and server.state is State.OPEN


@pytest.mark.parametrize(
    "frame",
    [
        Frame(Opcode.PING, b"x", fin=False),
        Frame(Opcode.PING, bytes(126)),
        Frame(3, b""),
    ],
)
def test_receiving_those_frames_from_a_peer_is_the_peers_fault_1002(frame):
    # Built by hand, the way a broken client would send them (serialize refuses to).
    header = bytes([(0x80 if frame.fin else 0) | frame.opcode, 0x80 | min(len(frame.payload), 126)])
    if len(frame.payload) > 125:
        header += struct.pack("!H", len(frame.payload))
    data = header + KEY + mask(frame.payload, KEY)
    fails_with(data, 1002)


def test_connection_closed_is_a_local_protocol_error():
    assert issubclass(ConnectionClosed, LocalProtocolError)
    assert issubclass(ConnectionClosed, ValueError)
    assert not issubclass(ConnectionClosed, ProtocolError)
    server = Connection("server")
    server.close()
    for send in (
        lambda: server.send_text("x"),
        lambda: server.send_binary(b"x"),
        lambda: server.send_ping(),
        lambda: server.send_pong(),
        lambda: server.send_frame(Frame(Opcode.TEXT, b"x")),
        lambda: server.close(),
    ):
        with pytest.raises(ConnectionClosed):
            send()
    assert sent_close(sent(server)) == Close(1000)


def test_send_frame_close_is_refused_and_leaves_the_state_open():
    server = Connection("server")
    with pytest.raises(LocalProtocolError) as info:
        server.send_frame(Frame(Opcode.CLOSE, Close(1000).serialize()))
    assert not isinstance(info.value, ConnectionClosed)
    assert server.state is State.OPEN and server.data_to_send() == b""


def test_misuse_is_a_local_error_not_a_protocol_error():
    server = Connection("server")
    for misuse in (
        lambda: server.send_frame(Frame(Opcode.CONT, b"x")),
        lambda: (server.send_frame(Frame(Opcode.TEXT, b"a", fin=False)), server.send_text("b")),
    ):
        with pytest.raises(LocalProtocolError) as info:
            misuse()
        assert not isinstance(info.value, (ProtocolError, ConnectionClosed))


# ---------------------------------------------------------------- the size limit


def test_max_size_is_read_and_written_on_the_connection():
    server = Connection("server")
    assert server.max_size == DEFAULT_MAX_SIZE == 2**20
    server.max_size = 10
    assert server.max_size == 10
    assert Connection("server", max_size=None).max_size is None


def test_lowering_max_size_after_construction_takes_effect():
    server = Connection("server")
    assert server.receive_data(client_frame(Opcode.BINARY, bytes(100))) == [Binary(bytes(100))]
    server.max_size = 99
    assert server.receive_data(client_frame(Opcode.BINARY, bytes(99))) == [Binary(bytes(99))]
    events = server.receive_data(client_frame(Opcode.BINARY, bytes(100)))
    assert isinstance(events[-1], Failed) and events[-1].code == 1009
    assert "limit of 99" in events[-1].reason
    assert sent_close(server.data_to_send()).code == 1009


def test_raising_max_size_after_construction_lets_a_bigger_message_through():
    server = Connection("server", max_size=100)
    server.max_size = 200_000
    big = bytes(range(256)) * 700  # 179200 bytes: a 64-bit length
    assert server.receive_data(client_frame(Opcode.BINARY, big)) == [Binary(big)]
    assert server.state is State.OPEN


def test_max_size_none_after_construction_means_no_limit():
    server = Connection("server", max_size=10)
    server.max_size = None
    big = bytes(DEFAULT_MAX_SIZE + 1)
    assert server.receive_data(client_frame(Opcode.BINARY, big)) == [Binary(big)]


def test_max_size_change_in_the_middle_of_a_fragmented_message_counts_what_came_before():
    server = Connection("server", max_size=1000)
    assert server.receive_data(client_frame(Opcode.BINARY, bytes(60), fin=False)) == []
    server.max_size = 100
    events = server.receive_data(client_frame(Opcode.CONT, bytes(50)))
    assert events[-1].code == 1009 and "110 bytes" in events[-1].reason


def test_fragments_each_under_the_limit_but_over_it_together_are_1009():
    data = b"".join(
        client_frame(Opcode.TEXT if i == 0 else Opcode.CONT, b"x" * 30, fin=False) for i in range(3)
    )
    data += client_frame(Opcode.CONT, b"x" * 30)  # 4 fragments of 30: 120 bytes, limit 100
    event = fails_with(data, 1009, max_size=100)
    assert "120 bytes" in event.reason and "limit of 100" in event.reason


def test_fragments_exactly_at_the_limit_together_are_accepted():
    server = Connection("server", max_size=100)
    data = client_frame(Opcode.BINARY, bytes(50), fin=False) + client_frame(Opcode.CONT, bytes(50))
    assert server.receive_data(data) == [Binary(bytes(100))]
    # The count starts again with the next message.
    assert server.receive_data(data) == [Binary(bytes(100))]


def test_control_frames_between_fragments_do_not_count_towards_the_limit():
    server = Connection("server", max_size=100)
    data = (
        client_frame(Opcode.BINARY, bytes(50), fin=False)
        + client_frame(Opcode.PING, bytes(125))
        + client_frame(Opcode.CONT, bytes(50))
    )
    assert server.receive_data(data) == [Ping(bytes(125)), Binary(bytes(100))]


# ---------------------------------------------------------------- the observer


def _collect(role, keep_wire=0, **kw):
    seen = []
    conn = Connection(
        role, frame_observer=lambda d, f: seen.append((d, f)), keep_wire=keep_wire, **kw
    )
    return conn, seen


@pytest.mark.parametrize("role", ["server", "client"])
@pytest.mark.parametrize("length", [0, 5, 125, 126, 300, 70000])
def test_out_frames_carry_the_header_and_payload_start_that_went_out(role, length):
    conn, seen = _collect(role, keep_wire=16)
    payload = bytes(range(256)) * (length // 256 + 1)
    conn.send_binary(payload[:length])
    data = sent(conn)
    [(direction, frame)] = seen
    assert direction == "out" and frame.payload == payload[:length]
    header = frame.header
    assert data.startswith(header.raw)
    assert header == parse_frame_header(data)  # every field, raw included
    assert header.masked == (role == "client")
    # The payload as it was sent: masked by a client, plain from a server.
    assert frame.wire_preview == data[len(header.raw) : len(header.raw) + 16]
    if role == "client":
        assert frame.wire_preview == mask(payload[:length], header.mask)[:16]
    else:
        assert frame.wire_preview == payload[:16][:length]


def test_out_frames_of_a_client_concatenate_to_exactly_what_was_sent():
    conn, seen = _collect("client", keep_wire=1000)
    conn.receive_data(Frame(Opcode.PING, b"auto").serialize())  # an automatic Pong
    conn.send_text("hello")
    conn.send_frame(Frame(Opcode.BINARY, b"frag", fin=False))
    conn.send_frame(Frame(Opcode.CONT, b"ment"))
    conn.close(1000, "bye")
    out = [frame for direction, frame in seen if direction == "out"]
    assert [f.opcode for f in out] == [
        Opcode.PONG,
        Opcode.TEXT,
        Opcode.BINARY,
        Opcode.CONT,
        Opcode.CLOSE,
    ]
    assert b"".join(f.header.raw + f.wire_preview for f in out) == sent(conn)
    for frame in out:
        assert frame.header.masked and mask(frame.wire_preview, frame.header.mask) == frame.payload


def test_out_frames_without_keep_wire_have_an_empty_preview_but_the_header():
    conn, seen = _collect("client", mask_key=lambda: KEY)
    conn.send_text("Hello")
    [(_, frame)] = seen
    assert frame.wire_preview == b""
    assert frame.header.raw == bytes.fromhex("81 85 37 fa 21 3d")


@pytest.mark.parametrize("keep_wire", [0, 3, 16, 100])
def test_in_frames_carry_the_wire_bytes_as_received_still_masked(keep_wire):
    conn, seen = _collect("server", keep_wire=keep_wire)
    data = client_frame(Opcode.TEXT, b"Hello, masked world")
    assert conn.receive_data(data) == [Text("Hello, masked world")]
    [(direction, frame)] = seen
    assert direction == "in"
    assert frame.header.raw == data[:6] and frame.header.mask == KEY
    assert frame.wire_preview == data[6 : 6 + keep_wire]
    assert frame.payload == b"Hello, masked world"


def test_in_frames_from_a_server_carry_the_plain_wire_bytes():
    conn, seen = _collect("client", keep_wire=4)
    data = Frame(Opcode.BINARY, b"abcdefgh").serialize()
    conn.receive_data(data)
    [(_, frame)] = seen
    assert frame.header.raw == data[:2] and frame.wire_preview == b"abcd"


def test_the_old_close_helpers_are_gone():
    for name in ("close_payload", "parse_close_payload"):
        assert not hasattr(wslearn, name) and name not in wslearn.__all__
        assert not hasattr(wslearn.connection, name)


# ---------------------------------------------------------------- what a message may cost


def test_a_message_may_hold_up_to_the_limit_of_empty_fragments():
    fragments = [client_frame(Opcode.BINARY, b"", fin=False)]
    fragments += [client_frame(Opcode.CONT, b"", fin=False)] * (MAX_EMPTY_FRAGMENTS - 1)
    server = Connection("server")
    assert server.receive_data(b"".join(fragments) + client_frame(Opcode.CONT, b"end")) == [
        Binary(b"end")
    ]


def test_an_endless_message_of_empty_fragments_is_closed_with_1008():
    # Empty fragments add nothing to the message's size: without a bound, a peer could
    # keep one message going forever. One past the limit fails the connection.
    data = client_frame(Opcode.TEXT, b"", fin=False) + client_frame(Opcode.CONT, b"", fin=False) * (
        MAX_EMPTY_FRAGMENTS
    )
    event = fails_with(data, 1008)
    assert f"more than {MAX_EMPTY_FRAGMENTS} empty fragments" in event.reason


def test_a_message_of_one_byte_fragments_is_assembled_without_an_object_per_fragment():
    # 65536 fragments of 1 byte: a list of 65536 bytes objects would take about 2.7 MB;
    # one growing buffer takes about the message's 64 KiB.
    payload = os.urandom(65536)
    data = client_frame(Opcode.BINARY, payload[:1], fin=False) + b"".join(
        client_frame(Opcode.CONT, payload[i : i + 1], fin=i == len(payload) - 1)
        for i in range(1, len(payload))
    )
    server = Connection("server", max_size=65536)
    chunks = [data[i : i + 4096] for i in range(0, len(data), 4096)]
    server.receive_data(chunks[0])
    tracemalloc.start()
    try:
        for chunk in chunks[1:-1]:
            assert server.receive_data(chunk) == []
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held < 512 * 1024, f"{held} bytes held for a 64 KiB message in fragments"
    assert server.receive_data(chunks[-1]) == [Binary(payload)]


def test_a_text_message_in_one_byte_fragments_decodes_across_the_cuts():
    text = "héllo, 你好, 👋" * 50
    raw = text.encode("utf-8")
    data = client_frame(Opcode.TEXT, raw[:1], fin=False) + b"".join(
        client_frame(Opcode.CONT, raw[i : i + 1], fin=i == len(raw) - 1) for i in range(1, len(raw))
    )
    assert Connection("server").receive_data(data) == [Text(text)]


# ---------------------------------------------------------------- one event at a time


def test_next_event_gives_one_event_at_a_time_so_an_answer_precedes_the_close():
    # A message and a Close in one read: a server that answers the message before it
    # looks at the next frame sends its answer first, then the Close reply (§5.5.1: no
    # data frame may follow a Close).
    conn = Connection("server")
    conn.feed_data(client_frame(Opcode.TEXT, b"Hello") + close_frame(1000))
    assert conn.next_event() == Text("Hello")
    assert conn.state is State.OPEN
    conn.send_text("Hello")
    assert conn.next_event() == Close(1000, "")
    assert conn.next_event() is None
    wire = conn.data_to_send()
    assert wire[:7] == bytes.fromhex("81 05") + b"Hello"
    assert sent_close(wire[7:]) == Close(1000, "")


def test_a_protocol_error_after_a_message_fails_only_once_the_message_was_taken():
    conn = Connection("server")
    bad = client_frame(Opcode.TEXT, b"x")
    bad = bytes([bad[0] | 0x40]) + bad[1:]  # RSV1 set, no extension agreed: 1002
    conn.feed_data(client_frame(Opcode.TEXT, b"Hello") + bad)
    assert conn.next_event() == Text("Hello")
    conn.send_text("Hello")
    failed = conn.next_event()
    assert isinstance(failed, Failed) and failed.code == 1002
    wire = conn.data_to_send()
    assert wire[:7] == bytes.fromhex("81 05") + b"Hello"
    assert sent_close(wire[7:]).code == 1002


def test_receive_data_is_feed_data_then_every_next_event():
    data = (
        client_frame(Opcode.TEXT, b"a", fin=False)
        + client_frame(Opcode.PING, b"p")
        + client_frame(Opcode.CONT, b"b")
        + client_frame(Opcode.BINARY, b"c")
    )
    one, two = Connection("server"), Connection("server")
    events = one.receive_data(data)
    two.feed_data(data)
    assert events == list(iter(two.next_event, None)) == [Ping(b"p"), Text("ab"), Binary(b"c")]
    assert one.data_to_send() == two.data_to_send()


# ---------------------------------------------------------------- text checked as it arrives


def test_invalid_utf8_in_a_frame_still_arriving_fails_at_once_with_1007():
    # Autobahn 6.4.3: the bad byte comes in the middle of one frame that is not whole yet.
    conn = Connection("server")
    whole = client_frame(Opcode.TEXT, "κόσμε".encode() + b"\xf4\x90\x80\x80" + b"edited" * 10)
    arrived = whole[: 6 + 11 + 4]  # header and mask, 11 good bytes, the 4 bad ones
    events = conn.receive_data(arrived)
    assert len(events) == 1 and isinstance(events[0], Failed) and events[0].code == 1007
    assert conn.state is State.CLOSED


def test_a_character_split_across_reads_of_one_frame_is_fine():
    conn = Connection("server")
    whole = client_frame(Opcode.TEXT, "é你😀".encode() * 50)
    events = [event for i in range(len(whole)) for event in conn.receive_data(whole[i : i + 1])]
    assert events == [Text("é你😀" * 50)]


def test_a_character_split_between_fragments_then_reads_is_fine():
    conn = Connection("server")
    first = client_frame(Opcode.TEXT, "😀".encode()[:1], fin=False)
    second = client_frame(Opcode.CONT, "😀".encode()[1:] + "ab".encode())
    assert conn.receive_data(first) == []
    assert conn.receive_data(second[:-2]) == []  # three continuation bytes, then 'a'
    assert conn.receive_data(second[-2:]) == [Text("😀ab")]


def test_binary_frames_still_arriving_are_not_utf8_checked():
    conn = Connection("server")
    whole = client_frame(Opcode.BINARY, b"\xff" * 100)
    assert conn.receive_data(whole[:50]) == []
    assert conn.receive_data(whole[50:]) == [Binary(b"\xff" * 100)]


def test_buffered_counts_the_bytes_not_yet_read_into_events():
    conn = Connection("server")
    two = client_frame(Opcode.TEXT, b"a") + client_frame(Opcode.TEXT, b"bc")
    conn.feed_data(two[:-1])
    assert conn.buffered == len(two) - 1
    assert conn.next_event() == Text("a")
    assert conn.buffered == len(client_frame(Opcode.TEXT, b"bc")) - 1  # a frame still arriving
    assert conn.next_event() is None
    conn.feed_data(two[-1:])
    assert conn.next_event() == Text("bc") and conn.buffered == 0
