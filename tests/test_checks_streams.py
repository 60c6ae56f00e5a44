"""The checks of notebooks 07 and 08 pass right answers and explain typical wrong ones."""

from __future__ import annotations

import codecs
import importlib
import inspect
import json
import re
from pathlib import Path

import pytest

import wslearn
from wslearn.checks import ExerciseFailed
from wslearn.checks.streams import (
    check_assemble,
    check_origin_allowed,
    check_read_exactly,
    check_split_frames,
    check_utf8_safe_cut,
)

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

# ----------------------------------------------------------------- right answers


def split_frames(stream):
    frames, pos = [], 0
    while True:
        header = wslearn.parse_frame_header(stream[pos:])
        if header is None:
            break
        end = pos + header.header_size + header.length
        if end > len(stream):
            break
        frames.append(bytes(stream[pos:end]))
        pos = end
    return frames, bytes(stream[pos:])


def split_frames_by_hand(stream):
    frames, pos = [], 0
    while len(stream) - pos >= 2:
        masked, length = stream[pos + 1] & 0x80, stream[pos + 1] & 0x7F
        size = {126: 4, 127: 10}.get(length, 2)
        if len(stream) - pos < size:
            break
        if length >= 126:
            length = int.from_bytes(stream[pos + 2 : pos + size], "big")
        end = pos + size + (4 if masked else 0) + length
        if end > len(stream):
            break
        frames.append(bytes(stream[pos:end]))
        pos = end
    return frames, bytes(stream[pos:])


def assemble(frames):
    messages, parts, opcode = [], [], None
    for frame in frames:
        if frame.opcode in (wslearn.Opcode.TEXT, wslearn.Opcode.BINARY):
            opcode, parts = frame.opcode, []
        elif frame.opcode != wslearn.Opcode.CONT:
            continue
        parts.append(frame.payload)
        if frame.fin:
            data = b"".join(parts)
            messages.append(data.decode() if opcode == wslearn.Opcode.TEXT else data)
    return messages


def utf8_safe_cut(data):
    decoder = codecs.getincrementaldecoder("utf-8")()
    decoder.decode(data)
    return len(data) - len(decoder.getstate()[0])


_ORIGIN = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/:?#@\s]+)(?::(\d+))?$")


def origin_allowed(origin, allowed):
    if origin is None:
        return None in allowed
    if origin == "null":
        return False

    def key(value):
        match = _ORIGIN.match(value or "")
        if match is None:
            return None
        scheme, host, port = match.groups()
        return scheme.lower(), host.lower(), port

    mine = key(origin)
    return mine is not None and any(o not in (None, "null") and key(o) == mine for o in allowed)


def read_exactly(recv, n):
    data = b""
    while len(data) < n:
        chunk = recv(n - len(data))
        if not chunk:
            raise EOFError("peer closed")
        data += chunk
    return data


def stub(*args):
    # YOUR CODE HERE
    raise NotImplementedError()


@pytest.mark.parametrize(
    "check, function",
    [
        (check_split_frames, split_frames),
        (check_split_frames, split_frames_by_hand),
        (check_assemble, assemble),
        (check_utf8_safe_cut, utf8_safe_cut),
        (check_origin_allowed, origin_allowed),
        (check_read_exactly, read_exactly),
    ],
)
def test_a_right_answer_passes_every_case(check, function) -> None:
    result = check(function)
    assert result.cases >= 10
    assert "all" in repr(result) and "pass" in repr(result)


@pytest.mark.parametrize(
    "check",
    [
        check_split_frames,
        check_assemble,
        check_utf8_safe_cut,
        check_origin_allowed,
        check_read_exactly,
    ],
)
def test_an_unsolved_stub_is_not_written_yet(check) -> None:
    with pytest.raises(ExerciseFailed, match="not written yet"):
        check(stub)


def failure(check, function) -> str:
    with pytest.raises(ExerciseFailed) as info:
        check(function)
    return str(info.value)


# ----------------------------------------------------------------- split_frames mistakes


def test_split_frames_that_assumes_the_7_bit_length_is_told_about_126_and_127() -> None:
    def seven_bit_only(stream):
        frames, pos = [], 0
        while len(stream) - pos >= 2:
            size = 2 + (4 if stream[pos + 1] & 0x80 else 0) + (stream[pos + 1] & 0x7F)
            if len(stream) - pos < size:
                break
            frames.append(stream[pos : pos + size])
            pos += size
        return frames, stream[pos:]

    message = failure(check_split_frames, seven_bit_only)
    assert "200-byte" in message and "126 means the real length" in message


def test_split_frames_that_forgets_the_masking_key_is_told_about_it() -> None:
    def no_mask(stream):
        frames, pos = [], 0
        while len(stream) - pos >= 2:
            size = 2 + (stream[pos + 1] & 0x7F)
            if len(stream) - pos < size:
                break
            frames.append(stream[pos : pos + size])
            pos += size
        return frames, stream[pos:]

    message = failure(check_split_frames, no_mask)
    assert "masked frame" in message and "4 bytes of masking key" in message


def test_split_frames_that_treats_the_whole_read_as_one_frame_fails() -> None:
    message = failure(check_split_frames, lambda stream: ([stream] if stream else [], b""))
    assert "whole frame" in message


def test_split_frames_that_drops_the_unfinished_frame_is_told_to_keep_it() -> None:
    message = failure(check_split_frames, lambda stream: (split_frames(stream)[0], b""))
    assert "kept for the next recv()" in message
    assert "keep those bytes as rest" in message


def test_split_frames_that_returns_only_the_list_is_told_about_the_pair() -> None:
    assert "pair (frames, rest)" in failure(check_split_frames, lambda s: split_frames(s)[0])


# ----------------------------------------------------------------- assemble mistakes


def test_assemble_that_makes_one_message_per_frame_is_told_about_fin() -> None:
    def per_frame(frames):
        return [f.payload.decode() if f.opcode == 1 else f.payload for f in frames]

    message = failure(check_assemble, per_frame)
    assert "FIN=0 starts a message" in message


def test_assemble_that_keeps_ping_payloads_is_told_about_control_frames() -> None:
    def with_pings(frames):
        messages, parts, text = [], [], True
        for frame in frames:
            if frame.opcode in (1, 2):
                parts, text = [], frame.opcode == 1
            parts.append(frame.payload)
            if frame.fin and frame.opcode in (0, 1, 2):
                data = b"".join(parts)
                messages.append(data.decode("utf-8", "replace") if text else data)
        return messages

    message = failure(check_assemble, with_pings)
    assert "Ping" in message and "not part of it" in message


def test_assemble_that_decodes_each_fragment_is_told_about_split_characters() -> None:
    def per_fragment_decode(frames):
        messages, parts, text = [], [], True
        for frame in frames:
            if frame.opcode in (1, 2):
                parts, text = [], frame.opcode == 1
            elif frame.opcode != 0:
                continue
            parts.append(frame.payload.decode() if text else frame.payload)
            if frame.fin:
                messages.append("".join(parts) if text else b"".join(parts))
        return messages

    message = failure(check_assemble, per_fragment_decode)
    assert "UnicodeDecodeError" in message and "cut between two fragments" in message


def test_assemble_that_returns_text_as_bytes_is_told_to_decode() -> None:
    def no_decode(frames):
        return [f.payload for f in frames if f.opcode in (1, 2)]

    assert "return it as a str" in failure(check_assemble, no_decode)


# ----------------------------------------------------------------- utf8_safe_cut mistakes


def test_utf8_safe_cut_that_never_cuts_is_told_the_character_is_unfinished() -> None:
    message = failure(check_utf8_safe_cut, lambda data: len(data))
    assert "middle of a character" in message and "10xxxxxx" in message


def test_utf8_safe_cut_that_only_drops_continuation_bytes_is_told_what_it_lost() -> None:
    def always_drop_the_last_character(data):
        cut = len(data)
        while cut and data[cut - 1] & 0xC0 == 0x80:
            cut -= 1
        if cut and data[cut - 1] >= 0xC0:
            cut -= 1
        return cut

    message = failure(check_utf8_safe_cut, always_drop_the_last_character)
    assert "leaves out a character that has already arrived whole" in message


def test_utf8_safe_cut_that_returns_the_text_is_told_to_return_an_int() -> None:
    assert "should return an int" in failure(check_utf8_safe_cut, lambda d: d.decode())


def test_utf8_safe_cut_names_a_cut_character_in_plain_words() -> None:
    message = failure(check_utf8_safe_cut, lambda data: len(data))
    assert "for only the first byte of 'é' (c3)," in message
    assert "byte(s)" not in message and "(1 bytes)" not in message


@pytest.mark.parametrize(
    "check, function",
    [
        (check_split_frames, lambda stream: ([stream] if stream else [], b"")),
        (check_split_frames, lambda stream: (split_frames(stream)[0], b"")),
        (check_assemble, lambda frames: [f.payload for f in frames]),
        (check_utf8_safe_cut, lambda data: len(data)),
        (check_utf8_safe_cut, lambda data: 0),
    ],
)
def test_messages_and_hints_of_notebook_07_end_with_a_full_stop(check, function) -> None:
    problem, _, hint = failure(check, function).partition("\nHint: ")
    assert problem.endswith(".")
    assert not hint or hint.endswith(".")


def test_assemble_hint_says_decoding_the_joined_bytes_once_is_enough() -> None:
    def per_fragment_decode(frames):
        messages, parts, text = [], [], True
        for frame in frames:
            if frame.opcode in (1, 2):
                parts, text = [], frame.opcode == 1
            elif frame.opcode != 0:
                continue
            parts.append(frame.payload.decode() if text else frame.payload)
            if frame.fin:
                messages.append("".join(parts) if text else b"".join(parts))
        return messages

    message = failure(check_assemble, per_fragment_decode)
    assert "decode them once" in message and "§5.6" in message


# ----------------------------------------------------------------- origin_allowed mistakes


def test_origin_allowed_by_prefix_lets_look_alike_hosts_in() -> None:
    def by_prefix(origin, allowed):
        if origin is None:
            return None in allowed
        if origin == "null":
            return False
        return any(o and origin.lower().startswith(o.lower()) for o in allowed)

    message = failure(check_origin_allowed, by_prefix)
    assert "evil.example" in message and "look-alike" in message


def test_origin_allowed_that_is_case_sensitive_is_told_hosts_ignore_case() -> None:
    def exact(origin, allowed):
        return origin != "null" and origin in allowed

    assert "case-insensitive" in failure(check_origin_allowed, exact)


def test_origin_allowed_that_trusts_null_is_told_why_not() -> None:
    def trusts_null(origin, allowed):
        if origin == "null":
            return "null" in allowed
        return origin_allowed(origin, allowed)

    message = failure(check_origin_allowed, trusts_null)
    assert "'null'" in message and "proves nothing" in message


def test_origin_allowed_that_lets_missing_origin_in_is_told_about_none() -> None:
    def none_ok(origin, allowed):
        return True if origin is None else origin_allowed(origin, allowed)

    assert "contains None" in failure(check_origin_allowed, none_ok)


# ----------------------------------------------------------------- read_exactly mistakes


def test_read_exactly_with_one_recv_is_told_to_loop() -> None:
    message = failure(check_read_exactly, lambda recv, n: recv(n) if n else b"")
    assert "instead of" in message and "keep calling it" in message


def test_read_exactly_that_asks_for_too_much_is_told_about_the_next_frame() -> None:
    def greedy(recv, n):
        data = b""
        while len(data) < n:
            chunk = recv(1024)
            if not chunk:
                raise EOFError
            data += chunk
        return data[:n]

    message = failure(check_read_exactly, greedy)
    assert "more than the" in message and "only for the bytes still missing" in message


def test_read_exactly_that_loops_forever_on_eof_is_stopped_and_told() -> None:
    def endless(recv, n):
        data = b""
        while len(data) < n:
            data += recv(n - len(data))
        return data

    message = failure(check_read_exactly, endless)
    assert "after it returned b''" in message and "EOFError" in message


def test_read_exactly_that_returns_short_data_at_eof_is_told_to_raise() -> None:
    def short(recv, n):
        data = b""
        while len(data) < n:
            chunk = recv(n - len(data))
            if not chunk:
                break
            data += chunk
        return data

    assert "instead of raising EOFError" in failure(check_read_exactly, short)


def test_checks_refuse_something_that_is_not_a_function() -> None:
    with pytest.raises(ExerciseFailed, match="expected a function"):
        check_split_frames("not a function")
    with pytest.raises(ExerciseFailed, match="expected a function"):
        check_read_exactly(42)


def test_origin_allowed_that_ignores_a_written_default_port_is_told_ports_compare_as_written() -> (
    None
):
    def default_port_dropped(origin, allowed):
        if isinstance(origin, str) and origin.endswith(":443"):
            origin = origin[: -len(":443")]
        return origin_allowed(origin, allowed)

    message = failure(check_origin_allowed, default_port_dropped)
    assert ":443" in message and "compared as written" in message


@pytest.mark.parametrize(
    "check, right, wrong",
    [(check_origin_allowed, origin_allowed, "yes"), (check_read_exactly, read_exactly, None)],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_every_message_and_hint_of_notebook_08_is_a_sentence(check, right, wrong) -> None:
    failures = []
    for k in range(100):
        calls = []

        def answer(*args, calls=calls, k=k):
            calls.append(None)
            return wrong if len(calls) == k + 1 else right(*args)

        try:
            check(answer)
        except ExerciseFailed as error:
            failures.append(error)
        else:
            break
    assert len(failures) >= 5
    for error in failures:
        assert error.problem.endswith("."), error.problem
        assert not error.hint or error.hint.endswith("."), error.hint


# ----------------------------------------------------------------- notebook 08's comparison table


def _comparison_table():
    """The rows of the wslearn/websockets table of notebook 08, as (idea, wslearn, websockets)."""
    notebook = json.loads((NOTEBOOKS / "08_toy_to_real.ipynb").read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and "| idea | wslearn | websockets |" in source:
            rows = [line for line in source.splitlines() if line.startswith("| ")][1:]
            return [tuple(part.strip() for part in row.strip("|").split("|")) for row in rows]
    raise AssertionError("notebook 08 has no wslearn/websockets table")


def _names_in(cell: str):
    return [re.sub(r"\(.*\)$", "", name) for name in re.findall(r"`([^`]+)`", cell)]


def test_every_name_in_notebook_08s_comparison_table_exists() -> None:
    import websockets.asyncio.server
    import websockets.sync.server

    # A websockets option may belong to its threaded server or to its asyncio one (the table
    # says which: write_limit= is the asyncio server's).
    serve_of = {
        "wslearn": [wslearn.serve],
        "websockets": [websockets.sync.server.serve, websockets.asyncio.server.serve],
    }
    rows = _comparison_table()
    assert len(rows) >= 10
    checked = 0
    for idea, *columns in rows:
        for library, cell in zip(("wslearn", "websockets"), columns):
            for name in _names_in(cell):
                if name.endswith("="):
                    parameters = {
                        parameter
                        for serve in serve_of[library]
                        for parameter in inspect.signature(serve).parameters
                    }
                    assert name[:-1] in parameters, f"{idea}: {library}.serve has no {name}"
                elif "." in name:
                    module, _, attribute = name.rpartition(".")
                    assert hasattr(importlib.import_module(module), attribute), f"{idea}: {name}"
                else:
                    # "(send `ping()` yourself)": a method of the server's connections
                    assert hasattr(wslearn.server.ServerConnection, name), f"{idea}: {name}"
                checked += 1
    assert checked >= 25
