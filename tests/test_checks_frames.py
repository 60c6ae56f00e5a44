"""The checks of notebooks 03 and 04 pass right answers and explain typical wrong ones."""

from __future__ import annotations

import struct

import pytest

import wslearn
from wslearn.checks import CheckResult, ExerciseFailed
from wslearn.checks.frames import (
    check_encode_header,
    check_is_control,
    check_payload_length,
    check_read_mask_key,
    check_unmask_from,
    check_unmask_loop,
)

# --------------------------------------------------------------------------
# Right answers, written the way a learner would
# --------------------------------------------------------------------------


def payload_length(data):
    if len(data) < 2:
        return None
    length, size = data[1] & 0x7F, 2
    if length == 126:
        size = 4
        if len(data) < size:
            return None
        (length,) = struct.unpack("!H", data[2:4])
    elif length == 127:
        size = 10
        if len(data) < size:
            return None
        (length,) = struct.unpack("!Q", data[2:10])
    if data[1] & 0x80:
        size += 4
    if len(data) < size:
        return None
    return length, size


def encode_header(opcode, length, mask=None):
    b1 = 0x80 if mask is not None else 0
    if length <= 125:
        head = bytes([0x80 | opcode, b1 | length])
    elif length <= 0xFFFF:
        head = bytes([0x80 | opcode, b1 | 126]) + struct.pack("!H", length)
    else:
        head = bytes([0x80 | opcode, b1 | 127]) + struct.pack("!Q", length)
    return head + (mask or b"")


def is_control(opcode):
    return opcode >= 8


def unmask_loop(data, key):
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


def unmask_from(data, key, offset):
    return bytes(b ^ key[(offset + i) % 4] for i, b in enumerate(data))


def read_mask_key(frame):
    if not frame[1] & 0x80:
        return None
    start = {126: 4, 127: 10}.get(frame[1] & 0x7F, 2)
    return frame[start : start + 4]


def stub(*args, **kwargs):
    raise NotImplementedError()


CHECKS = [
    (check_payload_length, payload_length),
    (check_encode_header, encode_header),
    (check_is_control, is_control),
    (check_unmask_loop, unmask_loop),
    (check_unmask_from, unmask_from),
    (check_read_mask_key, read_mask_key),
]


def failure(check, function) -> str:
    with pytest.raises(ExerciseFailed) as info:
        check(function)
    return str(info.value)


@pytest.mark.parametrize("check, function", CHECKS)
def test_a_correct_function_passes(check, function):
    result = check(function)
    assert isinstance(result, CheckResult)
    assert result.cases > 5
    assert repr(result).startswith("✓ ")


def test_the_library_itself_passes_the_checks():
    check_encode_header(lambda op, n, mask=None: wslearn.encode_frame_header(op, n, mask=mask))
    check_is_control(
        lambda op: wslearn.Opcode(op).is_control if op in set(wslearn.Opcode) else op >= 8
    )
    check_unmask_loop(wslearn.unmask)
    check_unmask_loop(wslearn.unmask_reference)
    check_unmask_from(wslearn.unmask)

    def via_parser(data):
        header = wslearn.parse_frame_header(data, allowed_rsv=0x70)
        return None if header is None else (header.length, header.header_size)

    check_payload_length(via_parser)
    check_read_mask_key(lambda frame: wslearn.parse_frame_header(frame).mask)


@pytest.mark.parametrize("check, function", CHECKS)
def test_an_unsolved_stub_is_not_written_yet(check, function):
    message = failure(check, stub)
    assert "not written yet" in message
    assert "NotImplementedError" in message


def test_not_a_function_is_refused():
    assert "expected a function" in failure(check_is_control, 42)


# --------------------------------------------------------------------------
# encode_header: typical mistakes
# --------------------------------------------------------------------------


def test_encode_header_non_minimal_16_bit_names_the_sizes():
    def always_16_bit(opcode, length, mask=None):
        head = bytes([0x80 | opcode, (0x80 if mask else 0) | 126]) + struct.pack("!H", length)
        return head + (mask or b"")

    message = failure(check_encode_header, always_16_bit)
    assert "your header was 4 bytes" in message
    assert "7-bit length case needs 2" in message
    assert "Hint:" in message


def test_encode_header_seven_bit_only_for_126():
    def seven_bit_only(opcode, length, mask=None):
        if length > 125:
            return bytes([0x80 | opcode, (0x80 if mask else 0) | (length & 0x7F)]) + (mask or b"")
        return encode_header(opcode, length, mask)

    message = failure(check_encode_header, seven_bit_only)
    assert "for a 126-byte payload" in message
    assert "your header was 2 bytes; the 16-bit length case needs 4" in message


def test_encode_header_64_bit_from_126_on_is_not_minimal():
    def no_16_bit(opcode, length, mask=None):
        if length > 125:
            head = bytes([0x80 | opcode, (0x80 if mask else 0) | 127]) + struct.pack("!Q", length)
            return head + (mask or b"")
        return encode_header(opcode, length, mask)

    message = failure(check_encode_header, no_16_bit)
    assert "your header was 10 bytes; the 16-bit length case needs 4" in message


def test_encode_header_wrong_width_for_large_payload():
    def sixteen_bit_always(opcode, length, mask=None):
        if length > 125:
            head = bytes([0x80 | opcode, (0x80 if mask else 0) | 126])
            return head + struct.pack("!H", length & 0xFFFF) + (mask or b"")
        return encode_header(opcode, length, mask)

    message = failure(check_encode_header, sixteen_bit_always)
    assert "65536-byte payload" in message
    assert "the 64-bit length case needs 10" in message


def test_encode_header_forgot_mask_bit():
    def no_mask_bit(opcode, length, mask=None):
        return encode_header(opcode, length) + (mask or b"")

    message = failure(check_encode_header, no_mask_bit)
    assert "MASK bit" in message
    assert "a key was given" in message


def test_encode_header_forgot_key_bytes_counts_them():
    def no_key(opcode, length, mask=None):
        return encode_header(opcode, length, mask)[: len(encode_header(opcode, length))]

    message = failure(check_encode_header, no_key)
    assert "plus 4 for the masking key" in message


def test_encode_header_little_endian_length():
    def little(opcode, length, mask=None):
        head = encode_header(opcode, length, mask)
        if 126 <= length <= 0xFFFF:
            head = head[:2] + struct.pack("<H", length) + head[4:]
        return head

    message = failure(check_encode_header, little)
    assert "big-endian" in message


def test_encode_header_forgot_fin():
    message = failure(
        check_encode_header, lambda op, n, mask=None: bytes([op]) + encode_header(op, n, mask)[1:]
    )
    assert "FIN bit" in message


def test_encode_header_returns_text():
    message = failure(check_encode_header, lambda op, n, mask=None: encode_header(op, n).hex())
    assert "returned a str" in message


def test_encode_header_message_never_shows_expected_bytes():
    message = failure(check_encode_header, lambda op, n, mask=None: b"\x00\x00")
    assert "81 05" not in message and "8105" not in message


# --------------------------------------------------------------------------
# payload_length: typical mistakes
# --------------------------------------------------------------------------


def test_payload_length_returns_126_itself():
    def seven_bit_only(data):
        if len(data) < 2:
            return None
        return data[1] & 0x7F, 2 + (4 if data[1] & 0x80 else 0)

    message = failure(check_payload_length, seven_bit_only)
    assert "your length was 126" in message
    assert "7-bit field" in message


def test_payload_length_forgets_the_key_in_the_header_size():
    def no_key(data):
        result = payload_length(data)
        if result is None:
            return None
        return result[0], result[1] - (4 if data[1] & 0x80 else 0)

    message = failure(check_payload_length, no_key)
    assert "masking key" in message
    assert "header_size" in message


def test_payload_length_little_endian():
    def little(data):
        result = payload_length(data)
        if result is None or data[1] & 0x7F != 126:
            return result
        return struct.unpack("<H", bytes(data[2:4]))[0], result[1]

    message = failure(check_payload_length, little)
    assert "big-endian" in message


def test_payload_length_does_not_wait_for_the_rest():
    def never_none(data):
        return payload_length(data) or (0, 2)

    message = failure(check_payload_length, never_none)
    assert "None" in message
    assert "on its way" in message


def test_payload_length_forgets_the_extended_length_bytes():
    def short(data):
        result = payload_length(data)
        if result is None or data[1] & 0x7F < 126:
            return result
        return result[0], result[1] - (2 if data[1] & 0x7F == 126 else 8)

    message = failure(check_payload_length, short)
    assert "leaves out the 2-byte extended length field" in message


def test_payload_length_waits_for_the_payload_too():
    def wants_payload(data):
        result = payload_length(data)
        if result is None or len(data) < sum(result):
            return None
        return result

    message = failure(check_payload_length, wants_payload)
    assert "already hold the whole header" in message


# --------------------------------------------------------------------------
# is_control
# --------------------------------------------------------------------------


def test_is_control_only_known_opcodes():
    message = failure(check_is_control, lambda op: op in (8, 9, 10))
    assert "0xB" in message
    assert "reserved" in message and "control" in message


def test_is_control_returns_a_number():
    message = failure(check_is_control, lambda op: op & 0x8)
    assert "True or False" in message


# --------------------------------------------------------------------------
# unmask_loop / unmask_from: typical mistakes
# --------------------------------------------------------------------------


def test_unmask_loop_key_used_only_once():
    def first_four_only(data, key):
        return bytes(b ^ key[i] if i < 4 else b for i, b in enumerate(data))

    message = failure(check_unmask_loop, first_four_only)
    assert "repeats" in message


def test_unmask_loop_returns_a_list():
    message = failure(check_unmask_loop, lambda d, k: [b ^ k[i % 4] for i, b in enumerate(d)])
    assert "returned a list" in message
    assert "bytes(" in message


def test_unmask_loop_wrong_index_is_located():
    def shifted(data, key):
        return bytes(b ^ key[(i + 1) % 4] for i, b in enumerate(data))

    message = failure(check_unmask_loop, shifted)
    assert "byte 0" in message
    assert "48 65" not in message  # the answer is not given away


def test_unmask_loop_index_error_is_reported_with_its_line():
    message = failure(check_unmask_loop, lambda d, k: bytes(b ^ k[i] for i, b in enumerate(d)))
    assert "IndexError" in message
    assert "line" in message


def test_unmask_from_offset_ignored():
    message = failure(check_unmask_from, lambda data, key, offset: unmask_loop(data, key))
    assert "offset 1 made no difference" in message
    assert "key byte 1" in message


def test_unmask_from_offset_not_reduced():
    def plus_offset_wrong_way(data, key, offset):
        return bytes(b ^ key[(i - offset) % 4] for i, b in enumerate(data))

    message = failure(check_unmask_from, plus_offset_wrong_way)
    assert "offset 1" in message


# --------------------------------------------------------------------------
# read_mask_key: typical mistakes
# --------------------------------------------------------------------------


def test_read_mask_key_fixed_at_byte_2():
    def fixed(frame):
        return frame[2:6] if frame[1] & 0x80 else None

    message = failure(check_read_mask_key, fixed)
    assert "16-bit length case" in message
    assert "extended length field" in message


def test_read_mask_key_ignores_mask_bit():
    message = failure(check_read_mask_key, lambda frame: read_mask_key(frame) or frame[2:6])
    assert "MASK bit is 0" in message
    assert "None" in message


def test_read_mask_key_64_bit_case():
    def sixteen_only(frame):
        if not frame[1] & 0x80:
            return None
        return frame[4:8] if frame[1] & 0x7F >= 126 else frame[2:6]

    message = failure(check_read_mask_key, sixteen_only)
    assert "64-bit length case" in message


# --------------------------------------------------------------------------
# Every message: a full stop at the end, and hints that name the rule, not the code
# --------------------------------------------------------------------------

WRONG = [
    (check_payload_length, lambda data: (0, 0)),
    (check_encode_header, lambda opcode, length, mask=None: b"\x00\x00"),
    (check_is_control, lambda opcode: opcode in (8, 9, 10)),
    (check_unmask_loop, lambda data, key: bytes(data)),
    (check_unmask_from, lambda data, key, offset: unmask_loop(data, key)),
    (check_read_mask_key, lambda frame: frame[2:6] if frame[1] & 0x80 else None),
]


@pytest.mark.parametrize("check, function", WRONG)
def test_every_problem_and_hint_ends_with_a_full_stop(check, function):
    message = failure(check, function)
    problem, hint = message.split("\nHint: ")
    assert problem.endswith(".")
    assert hint.endswith(".")


@pytest.mark.parametrize("check, function", WRONG)
def test_hints_cite_the_rfc_and_show_no_code(check, function):
    hint = failure(check, function).split("\nHint: ")[1]
    assert "§5." in hint
    for code in ("data[", "key[", "struct", "0x80", "0x7F", "& ", "^", "% 4]", "bytes(", "!H"):
        assert code not in hint, code


def test_payload_length_names_a_cut_header_in_plain_words():
    def wants_two_bytes_only(data):
        return None if len(data) < 2 else payload_length(data) or (0, 2)

    message = failure(check_payload_length, wants_two_bytes_only)
    assert "the first 2 bytes of a 6-byte header (81 85)" in message
    assert "(2 bytes)" not in message
