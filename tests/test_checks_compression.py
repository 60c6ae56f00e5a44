"""The checks of notebook 09 pass right answers and explain typical wrong ones, never the answer."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any, Callable, List, Optional

import pytest

import wslearn
from wslearn.checks import ExerciseFailed
from wslearn.checks.compression import (
    _first_acceptable_offer,
    check_accept_offer,
    check_deflate_messages,
    check_inflate_messages,
)
from wslearn.extensions import format_extension

NOTEBOOK = (
    Path(__file__).resolve().parent.parent / "notebooks" / "09_extensions_and_compression.ipynb"
)
TAIL = b"\x00\x00\xff\xff"

# ----------------------------------------------------------------- right answers


def inflate_messages(frames: List[wslearn.Frame]) -> List[bytes]:
    inflater = zlib.decompressobj(wbits=-15)
    messages, parts, compressed = [], [], False
    for frame in frames:
        if frame.opcode != wslearn.Opcode.CONT:
            parts, compressed = [], frame.rsv1
        parts.append(frame.payload)
        if frame.fin:
            data = b"".join(parts)
            messages.append(inflater.decompress(data + TAIL) if compressed else data)
    return messages


def deflate_messages(messages: List[bytes], takeover: bool) -> List[bytes]:
    payloads, compressor = [], None
    for message in messages:
        if compressor is None or not takeover:
            compressor = zlib.compressobj(wbits=-15)
        payloads.append((compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4])
    return payloads


LIMITS = wslearn.DeflateParameters(server_max_window_bits=12, client_max_window_bits=12)


def accept_offer(header: str) -> Optional[str]:
    answer = wslearn.negotiate_deflate(header, LIMITS)
    return None if answer is None else answer.header()


def inflate_with_a_connection(frames: List[wslearn.Frame]) -> List[bytes]:
    """The library's way: a client Connection with the codec, fed the frames' bytes."""
    connection = wslearn.Connection("client", deflate=wslearn.PerMessageDeflate("client"))
    events = connection.receive_data(b"".join(frame.serialize() for frame in frames))
    return [e.data.encode() if isinstance(e, wslearn.Text) else e.data for e in events]


def deflate_with_the_library(messages: List[bytes], takeover: bool) -> List[bytes]:
    agreed = wslearn.DeflateParameters(server_no_context_takeover=not takeover)
    codec = wslearn.PerMessageDeflate("server", agreed)
    return [codec.compress(message) for message in messages]


def deflate_at_level_9(messages: List[bytes], takeover: bool) -> List[bytes]:
    payloads, compressor = [], None
    for message in messages:
        if compressor is None or not takeover:
            compressor = zlib.compressobj(9, zlib.DEFLATED, -10, 9)
        payloads.append((compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4])
    return payloads


def accept_offer_reordered(header: str) -> Optional[str]:
    """Another right answer: parameters in another order, the client's window always stated."""
    answer = wslearn.negotiate_deflate(header, LIMITS)
    if answer is None:
        return None
    offer = _first_acceptable_offer(header)
    assert offer is not None
    params = list(reversed(answer.params()))
    if offer.client_max_window_bits is not None and answer.client_max_window_bits is None:
        params.append(("client_max_window_bits", str(offer.client_max_window_bits)))
    return format_extension("permessage-deflate", params)


def stub(*args: Any) -> Any:
    raise NotImplementedError()


@pytest.mark.parametrize(
    "check, function",
    [
        (check_inflate_messages, inflate_messages),
        (check_inflate_messages, inflate_with_a_connection),
        (check_deflate_messages, deflate_messages),
        (check_deflate_messages, deflate_with_the_library),
        (check_deflate_messages, deflate_at_level_9),
        (check_accept_offer, accept_offer),
        (check_accept_offer, accept_offer_reordered),
    ],
)
def test_a_right_answer_passes_every_case(check: Callable, function: Callable) -> None:
    result = check(function)
    assert result.cases >= 8
    assert "all" in repr(result) and "pass" in repr(result)


@pytest.mark.parametrize(
    "check", [check_inflate_messages, check_deflate_messages, check_accept_offer]
)
def test_an_unsolved_stub_is_not_written_yet(check: Callable) -> None:
    with pytest.raises(ExerciseFailed, match="not written yet"):
        check(stub)


def failure(check: Callable, function: Callable) -> ExerciseFailed:
    with pytest.raises(ExerciseFailed) as info:
        check(function)
    error = info.value
    assert error.problem.endswith("."), error.problem
    assert not error.hint or error.hint.endswith("."), error.hint
    return error


# ----------------------------------------------------------------- inflate_messages mistakes


def joined_then(inflate: Callable[[bytes, bool], bytes]) -> Callable:
    """A learner's inflate_messages that assembles messages right and inflates them with
    ``inflate(data, compressed)``."""

    def inflate_messages(frames):
        messages, parts, compressed = [], [], False
        for frame in frames:
            if frame.opcode != wslearn.Opcode.CONT:
                parts, compressed = [], frame.rsv1
            parts.append(frame.payload)
            if frame.fin:
                messages.append(inflate(b"".join(parts), compressed))
        return messages

    return inflate_messages


def test_inflating_without_the_tail_is_told_to_add_it() -> None:
    def no_tail(frames):
        inflater = zlib.decompressobj(wbits=-15)  # one per connection, as it should be
        return joined_then(
            lambda data, compressed: inflater.decompress(data) if compressed else data
        )(frames)

    error = failure(check_inflate_messages, no_tail)
    assert "§7.2.3.2" in error.problem and "00 00 ff ff" in error.hint


def test_a_new_inflater_per_message_is_told_about_context_takeover() -> None:
    def fresh(data, compressed):
        return zlib.decompressobj(wbits=-15).decompress(data + TAIL) if compressed else data

    error = failure(check_inflate_messages, joined_then(fresh))
    assert "referring to the first" in error.problem and "one inflater" in error.hint


def test_zlib_decompress_is_told_about_raw_deflate_and_decompressobj() -> None:
    for wbits in (15, -15):

        def once(data, compressed, wbits=wbits):
            return zlib.decompress(data + TAIL, wbits) if compressed else data

        error = failure(check_inflate_messages, joined_then(once))
        assert "wbits=-15" in error.hint and "decompress()" in error.hint


def test_inflating_every_frame_is_told_about_rsv1() -> None:
    def always(frames):
        inflater = zlib.decompressobj(wbits=-15)
        return [inflater.decompress(m + TAIL) for m in joined_then(lambda d, c: d)(frames)]

    error = failure(check_inflate_messages, always)
    assert "uncompressed" in error.problem and "RSV1" in error.hint


def test_one_message_per_frame_is_told_about_fin() -> None:
    def per_frame(frames):
        inflater = zlib.decompressobj(wbits=-15)
        return [inflater.decompress(f.payload + TAIL) if f.rsv1 else f.payload for f in frames]

    error = failure(check_inflate_messages, per_frame)
    assert "FIN" in error.problem and "join the payloads" in error.hint


def test_text_instead_of_bytes_is_told_to_return_bytes() -> None:
    error = failure(check_inflate_messages, lambda fs: [m.decode() for m in inflate_messages(fs)])
    assert "returned a str" in error.problem


# ----------------------------------------------------------------- deflate_messages mistakes


def one_by_one(compress: Callable[[bytes], bytes]) -> Callable:
    """A learner's deflate_messages that calls ``compress(message)`` for each message."""
    return lambda messages, takeover: [compress(message) for message in messages]


def test_a_payload_with_the_tail_is_told_to_remove_it() -> None:
    error = failure(
        check_deflate_messages, lambda ms, t: [p + TAIL for p in deflate_messages(ms, t)]
    )
    assert "ends with 00 00 ff ff" in error.problem


def test_a_zlib_header_is_told_to_use_raw_deflate() -> None:
    def with_header(message):
        compressor = zlib.compressobj()
        return (compressor.compress(message) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]

    assert "zlib header" in failure(check_deflate_messages, one_by_one(with_header)).problem


def test_a_finished_stream_is_told_to_sync_flush() -> None:
    def finished(message):
        compressor = zlib.compressobj(wbits=-15)
        return compressor.compress(message) + compressor.flush()

    assert "Z_SYNC_FLUSH" in failure(check_deflate_messages, one_by_one(finished)).problem


def test_never_taking_over_is_told_to_keep_one_compressor() -> None:
    error = failure(check_deflate_messages, lambda ms, t: deflate_messages(ms, False))
    assert "takeover=True" in error.problem and "refer to the ones before it" in error.problem
    assert "one compressor" in error.hint


def test_always_taking_over_is_told_each_message_stands_alone() -> None:
    error = failure(check_deflate_messages, lambda ms, t: deflate_messages(ms, True))
    assert "takeover=False" in error.problem and "new compressor" in error.hint


def test_one_compressor_for_every_call_is_told_each_call_is_a_new_connection() -> None:
    shared = zlib.compressobj(wbits=-15)

    def kept(message):
        return (shared.compress(message) + shared.flush(zlib.Z_SYNC_FLUSH))[:-4]

    error = failure(check_deflate_messages, one_by_one(kept))
    assert "each call is a new connection" in error.problem


def test_stored_bytes_are_told_they_are_not_compressed() -> None:
    def stored(messages, takeover):
        compressor = zlib.compressobj(0, zlib.DEFLATED, -15)
        return [
            (compressor.compress(m) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4] for m in messages
        ]

    error = failure(check_deflate_messages, stored)
    assert "compressed at all" in error.problem or "refer to the ones before" in error.problem


def test_the_messages_themselves_are_not_valid_deflate() -> None:
    error = failure(check_deflate_messages, lambda ms, t: [m + b"\x01" for m in ms])
    assert "not valid DEFLATE" in error.problem or "inflates to" in error.problem


# ----------------------------------------------------------------- accept_offer mistakes


def test_accepting_every_offer_is_told_to_decline_malformed_ones() -> None:
    def accepts_anything(header):
        return accept_offer(header) or ("permessage-deflate" if header else None)

    error = failure(check_accept_offer, accepts_anything)
    assert "must decline" in error.problem


def test_declining_everything_is_told_the_offer_is_acceptable() -> None:
    assert "acceptable" in failure(check_accept_offer, lambda header: None).problem


def test_echoing_the_offer_is_told_about_the_windows() -> None:
    error = failure(check_accept_offer, lambda header: header.split(",")[0] or None)
    # Chromium's offer echoed: client_max_window_bits without a value is no answer.
    assert "must refuse your answer" in error.problem


def test_a_missing_server_window_is_told_about_the_policy() -> None:
    def no_server_bits(header):
        answer = wslearn.negotiate_deflate(header, LIMITS)
        if answer is None:
            return None
        return answer.header().replace("; server_max_window_bits=12", "")

    error = failure(check_accept_offer, no_server_bits)
    assert "the server's window is 15 bits" in error.problem


def test_a_client_window_stated_without_an_offer_is_refused() -> None:
    def always_client_bits(header):
        answer = accept_offer(header)
        if answer is None or "client_max_window_bits" in answer:
            return answer
        return answer + "; client_max_window_bits=12"

    error = failure(check_accept_offer, always_client_bits)
    assert "did not offer" in error.problem


def test_a_takeover_flag_not_asked_for_is_told_to_ask_nothing_more() -> None:
    def too_much(header):
        answer = accept_offer(header)
        if answer is None or "client_no_context_takeover" in answer:
            return answer
        return answer + "; client_no_context_takeover"

    error = failure(check_accept_offer, too_much)
    assert "ask nothing more" in error.problem


def test_a_wrong_type_is_told_to_return_a_str() -> None:
    error = failure(check_accept_offer, lambda header: {"permessage-deflate": True})
    assert "return a str or None" in error.problem


# ----------------------------------------------------------------- no answer is given away


#: What each check must never print: the expected messages, payloads and answers.
ANSWERS = {
    check_inflate_messages: ['{"type": "ticks"', "abcdefgh", '{"type": "chat"'],
    check_deflate_messages: ["f2 48 cd c9 c9 07 00", "f2 48 cd c9 c9 07", "f2 00 11 00 00"],
    check_accept_offer: [
        "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
        "server_max_window_bits=12",
        "server_max_window_bits=10",
    ],
}


@pytest.mark.parametrize(
    "check, wrong",
    [
        (check_inflate_messages, lambda fs: [b"x" for f in fs if f.fin]),
        (check_inflate_messages, lambda fs: inflate_messages(fs)[:-1] + [b"x"] if fs else []),
        (check_deflate_messages, lambda ms, t: [b"\x00" for _ in ms]),
        (check_deflate_messages, lambda ms, t: [p + TAIL for p in deflate_messages(ms, t)]),
        (check_accept_offer, lambda header: "permessage-deflate"),
        (check_accept_offer, lambda header: None),
    ],
)
def test_no_message_shows_the_expected_answer(check: Callable, wrong: Callable) -> None:
    text = str(failure(check, wrong))
    for answer in ANSWERS[check]:
        assert answer not in text, text


def test_the_notebook_calls_each_check_once_in_a_graded_cell() -> None:
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    graded = [
        "".join(cell["source"])
        for cell in notebook["cells"]
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade")
    ]
    for name in ("check_inflate_messages", "check_deflate_messages", "check_accept_offer"):
        assert sum(f"{name}(" in source for source in graded) == 1, name
