"""The checks of notebook 11 pass right answers and explain typical wrong ones, never the answer."""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Callable

import pytest

from wslearn.checks import ExerciseFailed
from wslearn.checks.client import KEY, check_accept_is_valid, check_client_frame

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# ----------------------------------------------------------------- right answers


def client_frame(opcode: int, payload: bytes, key: bytes) -> bytes:
    length = len(payload)
    if length <= 125:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length <= 0xFFFF:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def accept_is_valid(response: bytes, key: str) -> bool:
    lines = response.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) < 2 or parts[1] != "101":
        return False
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    digest = hashlib.sha1((key + GUID).encode()).digest()

    def tokens(name: str) -> list:
        return [t.strip().lower() for t in headers.get(name, "").split(",")]

    return (
        "websocket" in tokens("upgrade")
        and "upgrade" in tokens("connection")
        and headers.get("sec-websocket-accept") == base64.b64encode(digest).decode()
    )


def test_right_answers_pass() -> None:
    assert check_client_frame(client_frame).cases == 10
    assert check_accept_is_valid(accept_is_valid).cases == 10


# ----------------------------------------------------------------- wrong answers


def unmasked(opcode: int, payload: bytes, key: bytes) -> bytes:
    frame = bytearray(client_frame(opcode, payload, key))
    frame[1] &= 0x7F
    return bytes(frame)


def key_not_applied(opcode: int, payload: bytes, key: bytes) -> bytes:
    frame = client_frame(opcode, payload, key)
    return frame[: len(frame) - len(payload)] + payload


def always_16_bit(opcode: int, payload: bytes, key: bytes) -> bytes:
    if len(payload) <= 125:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, len(payload))
        return head + key + client_frame(opcode, payload, key)[6:]
    return client_frame(opcode, payload, key)


def no_fin(opcode: int, payload: bytes, key: bytes) -> bytes:
    frame = bytearray(client_frame(opcode, payload, key))
    frame[0] &= 0x7F
    return bytes(frame)


@pytest.mark.parametrize(
    "function, words",
    [
        (unmasked, "MASK bit is clear"),
        (key_not_applied, "payload differs"),
        (always_16_bit, "minimal number of bytes"),
        (no_fin, "FIN is clear"),
        (lambda opcode, payload, key: "text", "returned a str"),
    ],
)
def test_wrong_frames_are_explained(function: Callable, words: str) -> None:
    with pytest.raises(ExerciseFailed) as failed:
        check_client_frame(function)
    assert words in str(failed.value)


def status_only(response: bytes, key: str) -> bool:
    return response.startswith(b"HTTP/1.1 101")


def case_sensitive(response: bytes, key: str) -> bool:
    return b"Upgrade: websocket" in response and accept_is_valid(response, key)


def key_echo_accepted(response: bytes, key: str) -> bool:
    return accept_is_valid(response, key) or key.encode() in response


@pytest.mark.parametrize(
    "function, case",
    [
        (status_only, "another key"),
        (case_sensitive, "lower-case names"),
        (key_echo_accepted, "echoes the key"),
        (lambda response, key: "yes", "returned 'yes'"),
    ],
)
def test_wrong_accept_checks_are_explained(function: Callable, case: str) -> None:
    with pytest.raises(ExerciseFailed) as failed:
        check_accept_is_valid(function)
    assert case in str(failed.value)


def test_messages_never_give_the_accept_value() -> None:
    from wslearn.handshake import accept_key

    with pytest.raises(ExerciseFailed) as failed:
        check_accept_is_valid(lambda response, key: False)
    assert accept_key(KEY) not in str(failed.value)
