"""Connection: messages, control frames, limits and the closing handshake (RFC 6455 §5–§7)."""

import struct

import pytest

from wslearn import (
    Binary,
    Close,
    Connection,
    ConnectionClosed,
    Failed,
    Frame,
    Opcode,
    Ping,
    Pong,
    State,
    Text,
    close_payload,
    parse_close_payload,
)

KEY = bytes.fromhex("37 fa 21 3d")


def client_frame(opcode, payload=b"", fin=True):
    """Bytes of a frame as a client sends it: masked."""
    return Frame(opcode, payload, fin=fin).serialize(KEY)


def close_frame(code=None, reason=b""):
    payload = b"" if code is None else struct.pack("!H", code) + reason
    return client_frame(Opcode.CLOSE, payload)


def sent_close(data):
    """Parse the Close frame a server produced; return (code, reason)."""
    frame, used = Frame.parse(data)
    assert used == len(data) and frame.opcode is Opcode.CLOSE
    return parse_close_payload(frame.payload)


def fails_with(data, code, **kw):
    server = Connection("server", **kw)
    events = server.receive_data(data)
    assert isinstance(events[-1], Failed), events
    assert events[-1].code == code
    assert server.state is State.CLOSED
    assert sent_close(server.data_to_send())[0] == code
    # Nothing is accepted after the failure.
    assert server.receive_data(client_frame(Opcode.TEXT, b"more")) == []
    return events[-1]


def test_rfc_masked_hello_is_a_text_message():
    server = Connection("server")
    assert server.receive_data(bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58")) == [Text("Hello")]


def test_server_sends_unmasked_rfc_bytes():
    assert Connection("server").send_text("Hello") == bytes.fromhex("81 05 48 65 6c 6c 6f")


def test_client_masks_every_frame_with_a_fresh_key():
    client = Connection("client")
    first, second = client.send_binary(b"same"), client.send_binary(b"same")
    assert first[1] & 0x80 and second[1] & 0x80
    assert first[2:6] != second[2:6]  # 2**-32 chance of a false failure
    frame, _ = Frame.parse(first)
    assert frame.payload == b"same"


def test_client_with_fixed_mask_key_gives_rfc_bytes():
    client = Connection("client", mask_key=lambda: KEY)
    assert client.send_text("Hello") == bytes.fromhex("81 85 37 fa 21 3d 7f 9f 4d 51 58")


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
    assert sent_close(server.data_to_send()) == (1000, "bye")
    assert (server.close_code, server.close_reason) == (1000, "bye")
    with pytest.raises(ConnectionClosed):
        server.send_text("too late")


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
    assert server.close(1001, "going away") == b"\x88\x0c\x03\xe9going away"
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
    assert server.receive_eof() == [Close(1006, "")]
    assert server.state is State.CLOSED and server.receive_eof() == []


def test_close_payload_validation_when_sending():
    assert close_payload(None) == b""
    with pytest.raises(ValueError):
        close_payload(None, "reason without code")
    with pytest.raises(ValueError):
        close_payload(1005)
    with pytest.raises(ValueError):
        close_payload(1000, "é" * 62)  # 124 bytes
    assert len(close_payload(1000, "a" * 123)) == 125


def test_send_frame_enforces_fragment_order():
    server = Connection("server")
    with pytest.raises(ValueError):
        server.send_frame(Frame(Opcode.CONT, b"x"))
    first = server.send_frame(Frame(Opcode.TEXT, b"Hel", fin=False))
    ping = server.send_ping(b"!")
    with pytest.raises(ValueError):
        server.send_text("interleaved data message")
    last = server.send_frame(Frame(Opcode.CONT, b"lo"))
    with pytest.raises(ValueError):
        server.send_frame(Frame(Opcode.CLOSE))
    client = Connection("client")
    assert client.receive_data(first + ping + last) == [Ping(b"!"), Text("Hello")]


def test_observer_sees_frames_in_both_directions():
    seen = []
    server = Connection(
        "server", frame_observer=lambda d, f: seen.append((d, f.opcode, f.header.length))
    )
    server.receive_data(client_frame(Opcode.PING, b"abc"))
    server.send_pong(b"xy")
    assert seen == [("in", Opcode.PING, 3), ("out", Opcode.PONG, 3), ("out", Opcode.PONG, 2)]


def test_role_must_be_server_or_client():
    with pytest.raises(ValueError):
        Connection("proxy")


def test_client_and_server_talk_to_each_other_in_memory():
    client, server = Connection("client"), Connection("server")
    assert server.receive_data(client.send_text("ping?")) == [Text("ping?")]
    assert client.receive_data(server.send_binary(b"\x01")) == [Binary(b"\x01")]
    assert server.receive_data(client.send_ping(b"p")) == [Ping(b"p")]
    assert client.receive_data(server.data_to_send()) == [Pong(b"p")]
    assert server.receive_data(client.close(1000, "done")) == [Close(1000, "done")]
    assert client.receive_data(server.data_to_send()) == [Close(1000, "done")]
    assert client.state is State.CLOSED and server.state is State.CLOSED


def test_1009_reason_names_the_whole_message_and_the_limit():
    data = client_frame(Opcode.BINARY, bytes(600), fin=False) + client_frame(
        Opcode.CONT, bytes(600)
    )
    event = fails_with(data, 1009, max_size=1000)
    assert "1200 bytes" in event.reason and "limit of 1000" in event.reason
