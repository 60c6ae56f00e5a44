"""A Close frame's payload (RFC 6455 §5.5.1, §7.4): read strictly, written, described leniently."""

import dataclasses

import pytest

from wslearn import Close, CloseCode, Frame, LocalProtocolError, Opcode, ProtocolError


def test_close_is_a_frozen_value():
    close = Close(1000, "bye")
    assert close == Close(1000, "bye") and close != Close(1000, "bye!")
    assert Close(1000).reason == ""
    with pytest.raises(dataclasses.FrozenInstanceError):
        close.code = 1001
    assert hash(close) == hash(Close(1000, "bye"))


@pytest.mark.parametrize(
    "close, payload",
    [
        (Close(1000, "bye"), "03 e8 62 79 65"),
        (Close(1000), "03 e8"),
        (Close(CloseCode.GOING_AWAY), "03 e9"),
        (Close(4999, "é"), "13 87 c3 a9"),
        (Close(1005), ""),
    ],
)
def test_close_serialize_and_parse_are_a_pair(close, payload):
    data = bytes.fromhex(payload)
    assert close.serialize() == data
    assert Close.parse(data) == close
    assert Close.parse(bytearray(data)) == close and Close.parse(memoryview(data)) == close


def test_an_empty_close_payload_is_1005_both_ways():
    assert Close.parse(b"") == Close(1005) == Close(CloseCode.NO_STATUS_RCVD)
    assert Close(1005).serialize() == b""
    assert Close(CloseCode.NO_STATUS_RCVD).serialize() == b""


def test_close_reason_of_exactly_123_bytes_fits():
    close = Close(1000, "é" * 61 + "a")  # 123 bytes of UTF-8
    payload = close.serialize()
    assert len(payload) == 125 and Close.parse(payload) == close
    Frame(Opcode.CLOSE, payload).check()


@pytest.mark.parametrize(
    "payload, code",
    [
        ("03", 1002),  # one byte: half a code
        ("03 e7", 1002),  # 999
        ("03 ec", 1002),  # 1004, reserved
        ("03 ed", 1002),  # 1005: reported, never sent
        ("03 ee", 1002),  # 1006
        ("03 f7", 1002),  # 1015
        ("03 f8", 1002),  # 1016
        ("0b b7", 1002),  # 2999
        ("13 88", 1002),  # 5000
        ("ff ff", 1002),
        ("00 00", 1002),
        ("03 e8 ff", 1007),  # reason not UTF-8
        ("03 e8 c3", 1007),  # truncated UTF-8
        ("03 e8 ed a0 80", 1007),  # a surrogate
    ],
)
def test_close_parse_refuses_what_a_peer_may_not_send(payload, code):
    with pytest.raises(ProtocolError) as info:
        Close.parse(bytes.fromhex(payload))
    assert info.value.code == code
    assert not isinstance(info.value, LocalProtocolError)


@pytest.mark.parametrize(
    "close",
    [
        Close(999),
        Close(1004),
        Close(1006),
        Close(1015),
        Close(1016),
        Close(2999),
        Close(5000),
        Close(0),
        Close(1005, "reason without a code"),
        Close(1000, "é" * 62),  # 124 bytes
        Close(1000, "a" * 124),
    ],
)
def test_close_serialize_refuses_what_we_may_not_send(close):
    with pytest.raises(LocalProtocolError) as info:
        close.serialize()
    assert not isinstance(info.value, ProtocolError)


@pytest.mark.parametrize(
    "close, text",
    [
        (Close(1000, "bye"), '1000 "bye"'),
        (Close(1000), "1000"),
        (Close(1005), "(no code)"),
        (Close(1006), "1006"),
        (Close(4001, "再见"), '4001 "再见"'),
    ],
)
def test_close_str(close, text):
    assert str(close) == text


@pytest.mark.parametrize(
    "payload, text",
    [
        ("", "(no code)"),
        ("03 e8", "1000"),
        ("03 e8 62 79 65", '1000 "bye"'),
        ("03", "03 (1 byte: too short for a code)"),
        ("03 e8 ff fe", "1000 ff fe (reason is not UTF-8)"),
        ("03 e7 78", '999 "x" (code 999 may not be sent)'),
        ("13 88", "5000 (code 5000 may not be sent)"),
    ],
)
def test_close_describe_documented_forms(payload, text):
    assert Close.describe(bytes.fromhex(payload)) == text
    assert Close.describe(bytearray.fromhex(payload)) == text


def test_close_describe_of_an_explicit_1005_names_the_code():
    text = Close.describe(bytes.fromhex("03 ed"))
    assert text != Close.describe(b"") + " (code 1005 may not be sent)"
    assert text == "1005 (code 1005 may not be sent)"
