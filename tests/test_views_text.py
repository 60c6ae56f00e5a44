"""How the views show a payload: text, hex, and how much of it was left out."""

from __future__ import annotations

import pytest
from helpers.recorded_frames import record, sample_frames

from wslearn import Frame, Opcode
from wslearn.views import frames_table


@pytest.fixture
def frames():
    return sample_frames()


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
