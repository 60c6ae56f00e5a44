"""The checks of notebooks 05 and 06 pass right answers and explain typical wrong ones."""

from __future__ import annotations

import struct

import pytest

import wslearn
from wslearn.checks import CheckResult, ExerciseFailed
from wslearn.checks.live import (
    check_close_payload,
    check_decode_frame,
    check_parse_close,
    check_pong_for,
    check_shout,
    chromium_wire_frames,
)


def failure(check, function) -> str:
    with pytest.raises(ExerciseFailed) as info:
        check(function)
    return str(info.value)


def stub(*args):
    raise NotImplementedError()


# ---------------------------------------------------------------- decode_frame


def decode_frame(data):
    opcode = data[0] & 0x0F
    length = data[1] & 0x7F
    i = 2
    if length == 126:
        length, i = int.from_bytes(data[2:4], "big"), 4
    elif length == 127:
        length, i = int.from_bytes(data[2:10], "big"), 10
    key = data[i : i + 4]
    body = data[i + 4 : i + 4 + length]
    return opcode, bytes(b ^ key[j % 4] for j, b in enumerate(body))


def test_decode_frame_passes_a_correct_function() -> None:
    result = check_decode_frame(decode_frame)
    assert isinstance(result, CheckResult) and result.cases > 20


def test_decode_frame_passes_the_library() -> None:
    def with_library(data):
        header = wslearn.parse_frame_header(data)
        body = data[header.header_size : header.header_size + header.length]
        return int(header.opcode), wslearn.unmask(body, header.mask)

    check_decode_frame(with_library)


def test_recorded_chromium_frames_rebuild_whole() -> None:
    frames = chromium_wire_frames()
    assert [opcode for _, _, opcode, _ in frames][:2] == [1, 1]
    for _, wire, _, payload in frames:
        header = wslearn.parse_frame_header(wire)
        assert wslearn.unmask(wire[header.header_size :], header.mask) == payload


def test_decode_frame_says_when_the_payload_is_still_masked() -> None:
    def no_unmask(data):
        opcode, payload = decode_frame(data)
        header = wslearn.parse_frame_header(data)
        return opcode, data[header.header_size :]

    assert "still masked" in failure(check_decode_frame, no_unmask)


def test_decode_frame_says_the_opcode_is_four_bits() -> None:
    def whole_byte(data):
        return data[0], decode_frame(data)[1]

    assert "low four bits" in failure(check_decode_frame, whole_byte)


def test_decode_frame_catches_a_key_always_at_byte_2() -> None:
    def fixed_key(data):
        opcode = data[0] & 0x0F
        key = data[2:6]
        body = data[6:]
        return opcode, bytes(b ^ key[j % 4] for j, b in enumerate(body))

    message = failure(check_decode_frame, fixed_key)
    assert "16-bit length case" in message or "after the extended length" in message
    assert "Chromium" in message


def test_decode_frame_says_the_header_is_longer_when_only_the_7_bit_length_is_read() -> None:
    def seven_bit_only(data):
        opcode = data[0] & 0x0F
        length = data[1] & 0x7F
        key = data[2:6]
        return opcode, bytes(b ^ key[j % 4] for j, b in enumerate(data[6 : 6 + length]))

    message = failure(check_decode_frame, seven_bit_only)
    assert "126" in message and "16-bit length case" in message
    assert "header is 8 bytes long" in message and "starts at byte 8" in message
    assert "check the key" not in message


def test_decode_frame_messages_and_hints_end_with_a_full_stop() -> None:
    def seven_bit_only(data):
        key = data[2:6]
        return data[0] & 0x0F, bytes(b ^ key[j % 4] for j, b in enumerate(data[6:]))

    problem, hint = failure(check_decode_frame, seven_bit_only).split("\nHint: ")
    assert problem.endswith(".") and hint.endswith(".")


@pytest.mark.parametrize(
    "check, forbidden",
    [
        (check_close_payload, ["struct.pack", ".encode("]),
        (check_parse_close, ["int.from_bytes", "payload[", ".decode("]),
        (check_pong_for, ["bytes([", "0x8A", "data["]),
        (check_decode_frame, ["data[", "& 0x", "key[i % 4]"]),
    ],
)
def test_hints_name_the_rule_without_the_code(check, forbidden) -> None:
    def wrong(*args):
        return None

    message = failure(check, wrong)
    hint = message.split("\nHint: ")[1]
    assert "§" in hint and hint.endswith(".")
    for code in forbidden:
        assert code not in hint


def test_decode_frame_wants_bytes_not_text() -> None:
    def decoded(data):
        opcode, payload = decode_frame(data)
        return opcode, payload.decode("utf-8", "replace")

    assert "str" in failure(check_decode_frame, decoded)


def test_decode_frame_stub_is_not_written_yet() -> None:
    assert "not written yet" in failure(check_decode_frame, stub)


# ---------------------------------------------------------------- shout


def shout(connection, message):
    if isinstance(message, str):
        connection.send(message.upper())
    else:
        connection.send(message[::-1])


@pytest.mark.timeout(60)
def test_shout_passes_a_correct_handler() -> None:
    assert check_shout(shout).cases == 11
    assert not wslearn.server.running_servers()


@pytest.mark.timeout(60)
def test_shout_says_binary_was_echoed_unchanged() -> None:
    def text_only(connection, message):
        connection.send(message.upper() if isinstance(message, str) else message)

    assert "binary message came back unchanged" in failure(check_shout, text_only)


@pytest.mark.timeout(60)
def test_shout_says_bytes_are_not_upper_cased() -> None:
    def upper_all(connection, message):
        connection.send(message.upper())

    assert "upper-cased" in failure(check_shout, upper_all)


@pytest.mark.timeout(60)
def test_shout_says_text_must_stay_text() -> None:
    def as_bytes(connection, message):
        if isinstance(message, str):
            connection.send(message.upper().encode())
        else:
            connection.send(message[::-1])

    assert "binary frame (opcode 2)" in failure(check_shout, as_bytes)


@pytest.mark.timeout(60)
def test_shout_says_returning_is_not_sending() -> None:
    def returns(connection, message):
        return message.upper()

    assert "connection.send" in failure(check_shout, returns)
    assert not wslearn.server.running_servers()


@pytest.mark.timeout(60)
def test_shout_reports_the_handlers_error() -> None:
    def broken(connection, message):
        connection.send(message.upper() + 1)

    assert "raised TypeError" in failure(check_shout, broken)


@pytest.mark.timeout(60)
def test_shout_stub_is_not_written_yet() -> None:
    assert "not written yet" in failure(check_shout, stub)
    assert not wslearn.server.running_servers()


# ---------------------------------------------------------------- close_payload


def close_payload(code, reason=""):
    if not wslearn.close_code_is_valid(code):
        raise ValueError("code")
    data = reason.encode("utf-8")
    if len(data) > 123:
        raise ValueError("reason")
    return struct.pack("!H", code) + data


def library_close_payload(code, reason=""):
    # The exercise refuses 1005 like every code that is never sent; Close(1005).serialize()
    # gives b"" instead (that is how close(code=None) sends "no code").
    if code == wslearn.CloseCode.NO_STATUS_RCVD:
        raise ValueError("1005 is never sent")
    return wslearn.Close(code, reason).serialize()


def test_close_payload_passes_a_correct_function() -> None:
    assert check_close_payload(close_payload).cases > 15
    check_close_payload(library_close_payload)


def test_close_payload_and_the_library_differ_only_on_1005() -> None:
    assert wslearn.Close(1005).serialize() == b""

    def serialize(code, reason=""):
        return wslearn.Close(code, reason).serialize()

    message = failure(check_close_payload, serialize)
    assert "code 1005" in message and "never sent" in message


def test_close_payload_counts_bytes_not_characters() -> None:
    def characters(code, reason=""):
        if not wslearn.close_code_is_valid(code) or len(reason) > 123:
            raise ValueError()
        return struct.pack("!H", code) + reason.encode()

    message = failure(check_close_payload, characters)
    assert "124 bytes of UTF-8" in message and "123 fit" in message


def test_close_payload_refuses_1005() -> None:
    def any_code(code, reason=""):
        if len(reason.encode()) > 123:
            raise ValueError()
        return struct.pack("!H", code) + reason.encode()

    assert "never sent" in failure(check_close_payload, any_code)


def test_close_payload_says_big_endian() -> None:
    def little(code, reason=""):
        close_payload(code, reason)
        return struct.pack("<H", code) + reason.encode()

    assert "big-endian" in failure(check_close_payload, little)


def test_close_payload_stub_is_not_written_yet() -> None:
    assert "not written yet" in failure(check_close_payload, stub)


# ---------------------------------------------------------------- parse_close


def parse_close(payload):
    if len(payload) == 0:
        return 1005, ""
    if len(payload) == 1:
        raise ValueError("1 byte")
    return int.from_bytes(payload[:2], "big"), payload[2:].decode("utf-8")


def test_parse_close_passes_a_correct_function() -> None:
    check_parse_close(parse_close)

    def library_parse_close(payload):
        close = wslearn.Close.parse(payload)
        return close.code, close.reason

    check_parse_close(library_parse_close)


def test_parse_close_wants_1005_for_empty() -> None:
    def zero(payload):
        if len(payload) < 2:
            return (0, "") if not payload else parse_close(payload)
        return parse_close(payload)

    assert "1005" in failure(check_parse_close, zero)


def test_parse_close_refuses_one_byte() -> None:
    def lenient(payload):
        if len(payload) < 2:
            return 1005, ""
        return parse_close(payload)

    assert "1-byte payload" in failure(check_parse_close, lenient)


def test_parse_close_wants_a_decoded_reason() -> None:
    def raw_reason(payload):
        code, _ = parse_close(payload)
        return code, payload[2:]

    assert "decode it from UTF-8" in failure(check_parse_close, raw_reason)


def test_parse_close_stub_is_not_written_yet() -> None:
    assert "not written yet" in failure(check_parse_close, stub)


# ---------------------------------------------------------------- pong_for


def pong_for(ping):
    length = ping[1] & 0x7F
    key = ping[2:6]
    payload = bytes(b ^ key[i % 4] for i, b in enumerate(ping[6 : 6 + length]))
    return bytes([0x8A, length]) + payload


def test_pong_for_passes_a_correct_function() -> None:
    check_pong_for(pong_for)


def test_pong_for_says_servers_do_not_mask() -> None:
    def masked(ping):
        return bytes([0x8A]) + ping[1:]

    assert "never masks" in failure(check_pong_for, masked)


def test_pong_for_says_unmask_first() -> None:
    def still_masked(ping):
        length = ping[1] & 0x7F
        return bytes([0x8A, length]) + ping[6:]

    assert "still masked" in failure(check_pong_for, still_masked)


def test_pong_for_says_the_opcode_is_pong() -> None:
    def ping_back(ping):
        return bytes([0x89]) + pong_for(ping)[1:]

    assert "PONG (opcode 0xA)" in failure(check_pong_for, ping_back)


def test_pong_for_stub_is_not_written_yet() -> None:
    assert "not written yet" in failure(check_pong_for, stub)
