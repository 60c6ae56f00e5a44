"""The handshake exercise checks: right answers pass, typical wrong answers get a helpful hint."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Callable, Dict

import pytest

import wslearn
from wslearn import GUID, HandshakeError, accept_key, accept_response, parse_request
from wslearn.checks import CheckResult, ExerciseFailed
from wslearn.checks.handshake import (
    RequestVariant,
    check_accept_key,
    check_build_101,
    check_has_token,
    check_parse_headers,
    check_status_for,
    request_variants,
)

# ------------------------------------------------------------------ reference answers


def parse_headers(data: bytes) -> Dict[str, str]:
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    headers: Dict[str, str] = {}
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        name, value = name.lower(), value.strip(" \t")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


def has_token(value: str, token: str) -> bool:
    return token.lower() in [item.strip().lower() for item in value.split(",")]


def status_for(data: bytes, *, count_key_bytes: bool = True) -> int:
    try:
        request = parse_request(data)
    except HandshakeError as error:
        return error.status
    assert request is not None
    headers = request.headers
    if request.method != "GET":
        return 405
    if "websocket" not in headers.tokens("Upgrade"):
        return 426
    if "upgrade" not in headers.tokens("Connection"):
        return 400
    if len(headers.get_all("Host")) != 1:
        return 400
    if headers.get_all("Sec-WebSocket-Version") != ["13"]:
        return 426
    keys = headers.get_all("Sec-WebSocket-Key")
    if len(keys) != 1:
        return 400
    try:
        raw = base64.b64decode(keys[0], validate=True)
    except binascii.Error:
        return 400
    return 101 if len(raw) == 16 or not count_key_bytes else 400


def library_status_for(data: bytes) -> int:
    try:
        request = parse_request(data)
        assert request is not None
        wslearn.validate_request(request)
    except HandshakeError as error:
        return error.status
    return 101


def build_101(key: str) -> bytes:
    return (
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_key(key)}\r\n"
        "\r\n"
    ).encode("ascii")


def stub(*args: object) -> None:
    raise NotImplementedError()


def failure(check: Callable, function: Callable) -> ExerciseFailed:
    with pytest.raises(ExerciseFailed) as info:
        check(function)
    return info.value


# ------------------------------------------------------------------ correct answers pass


@pytest.mark.parametrize(
    "check, function",
    [
        (check_parse_headers, parse_headers),
        (check_has_token, has_token),
        (check_status_for, status_for),
        (check_status_for, library_status_for),
        (check_accept_key, accept_key),
        (check_build_101, build_101),
        (check_build_101, accept_response),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_check_passes_a_correct_answer(check: Callable, function: Callable) -> None:
    result = check(function)
    assert isinstance(result, CheckResult)
    assert result.cases >= 5
    assert repr(result).startswith("✓ ")


@pytest.mark.parametrize(
    "check",
    [check_parse_headers, check_has_token, check_status_for, check_accept_key, check_build_101],
)
def test_an_unsolved_stub_is_not_written_yet(check: Callable) -> None:
    assert "not written yet" in str(failure(check, stub))


def test_check_refuses_something_that_is_not_a_function() -> None:
    assert "expected a function" in str(failure(check_accept_key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))


def test_a_crashing_answer_is_reported_with_its_exception() -> None:
    error = failure(check_has_token, lambda value, token: value.tokens(token))
    assert "AttributeError" in str(error)


# ------------------------------------------------------------------ parse_headers mistakes


def test_parse_headers_case_sensitive_names_are_told_to_lower_case() -> None:
    def keeps_case(data: bytes) -> Dict[str, str]:
        return {k.title(): v for k, v in parse_headers(data).items()}

    error = failure(check_parse_headers, keeps_case)
    assert "not lower-cased" in error.problem
    assert "case-insensitive" in error.hint


def test_parse_headers_splitting_at_every_colon_loses_ports() -> None:
    def splits_everywhere(data: bytes) -> Dict[str, str]:
        lines = data.split(b"\r\n\r\n")[0].decode().split("\r\n")[1:]
        return {line.split(":")[0].lower(): line.split(":")[1].strip() for line in lines}

    error = failure(check_parse_headers, splits_everywhere)
    assert "Chromium" in error.problem
    assert "first colon" in error.hint


def test_parse_headers_unstripped_values_are_told_about_spacing() -> None:
    def no_strip(data: bytes) -> Dict[str, str]:
        lines = data.split(b"\r\n\r\n")[0].decode().split("\r\n")[1:]
        return {ln.partition(": ")[0].lower(): ln.partition(": ")[2] for ln in lines}

    error = failure(check_parse_headers, no_strip)
    assert "odd spacing" in error.problem
    assert "strip" in error.hint


def test_parse_headers_last_repeated_header_wins_is_told_to_join() -> None:
    def last_wins(data: bytes) -> Dict[str, str]:
        head = data.split(b"\r\n\r\n", 1)[0].decode()
        return {
            ln.partition(":")[0].lower(): ln.partition(":")[2].strip(" \t")
            for ln in head.split("\r\n")[1:]
        }

    error = failure(check_parse_headers, last_wins)
    assert "twice" in error.problem
    assert "join" in error.hint


def test_parse_headers_the_old_tutorial_split_reads_past_the_blank_line() -> None:
    # data.split("\r\n") on everything, skipping lines without a colon
    def tutorial(data: bytes) -> Dict[str, str]:
        headers = {}
        for line in data.decode("latin-1").split("\r\n")[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.lower()] = value.strip(" \t")
        return headers

    error = failure(check_parse_headers, tutorial)
    assert "twice" in error.problem or "frame" in error.problem


def test_parse_headers_including_the_request_line_is_reported() -> None:
    def with_request_line(data: bytes) -> Dict[str, str]:
        result = parse_headers(data)
        result[data.split(b"\r\n")[0].decode().lower()] = ""
        return result

    error = failure(check_parse_headers, with_request_line)
    assert "not one of the header names" in error.problem
    assert "request line" in error.hint


# ------------------------------------------------------------------ has_token mistakes


def test_has_token_exact_comparison_fails_on_firefox() -> None:
    error = failure(check_has_token, lambda value, token: value.lower() == token.lower())
    assert "keep-alive, Upgrade" in error.problem
    assert "comma" in error.hint


def test_has_token_substring_search_is_told_about_whole_items() -> None:
    error = failure(check_has_token, lambda value, token: token.lower() in value.lower())
    assert "Upgraded" in error.problem
    assert "whole item" in error.hint


def test_has_token_case_sensitive_comparison_fails() -> None:
    error = failure(
        check_has_token, lambda value, token: token in [t.strip() for t in value.split(",")]
    )
    assert "case" in error.hint


def test_has_token_must_return_a_bool() -> None:
    error = failure(check_has_token, lambda value, token: "yes" if has_token(value, token) else "")
    assert "True or False" in error.problem


# ------------------------------------------------------------------ status_for mistakes


def test_status_for_answering_200_is_told_about_101() -> None:
    error = failure(check_status_for, lambda data: 200 if status_for(data) == 101 else 400)
    assert "returned 200" in error.problem
    assert "101 Switching Protocols" in error.hint


def test_status_for_case_sensitive_dict_lookup_breaks_behind_the_proxy() -> None:
    # The old tutorial habit: a dict with names as sent, looked up in one exact case.
    def exact_case(data: bytes) -> int:
        lines = data.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        if "Sec-WebSocket-Key" not in headers:
            return 400
        return status_for(data)

    error = failure(check_status_for, exact_case)
    assert "re-cased" in error.problem
    assert "case-insensitive" in error.hint


def test_status_for_plain_comparison_of_connection_fails_on_firefox() -> None:
    def plain_connection(data: bytes) -> int:
        request = parse_request(data)
        if request is not None and request.headers.get("Connection") not in (None, "Upgrade"):
            return 400
        return status_for(data)

    error = failure(check_status_for, plain_connection)
    assert "Firefox" in error.problem
    assert "token" in error.hint


def test_status_for_an_unknown_version_may_get_400_as_in_rfc_6455_section_4_4() -> None:
    def version_400(data: bytes) -> int:
        status = status_for(data)
        return 400 if status == 426 and b"Upgrade: websocket" in data else status

    result = check_status_for(version_400)
    assert any("'Sec-WebSocket-Version: 8'" in note and "§4.4" in note for note in result.notes)


def test_status_for_a_wrong_status_for_an_unknown_version_names_both_allowed_ones() -> None:
    def version_505(data: bytes) -> int:
        status = status_for(data)
        return 505 if status == 426 and b"Upgrade: websocket" in data else status

    error = failure(check_status_for, version_505)
    assert "Version" in error.problem and "returned 505" in error.problem
    assert "426" in error.hint and "400" in error.hint


def without_upgrade(status: int) -> Callable[[bytes], int]:
    """A right status_for, except that a request without an Upgrade header gets ``status``."""

    def answer(data: bytes) -> int:
        return status if "upgrade" not in parse_headers(data) else status_for(data)

    return answer


def test_status_for_400_for_a_missing_upgrade_header_passes_and_says_why() -> None:
    result = check_status_for(without_upgrade(400))
    (note,) = result.notes
    assert note.startswith("for a request without an Upgrade header")
    assert "you answered 400 and wslearn answers 426: both follow the RFCs" in note
    assert "RFC 6455 §4.2.1" in note and "RFC 7231 §6.5.15" in note
    assert repr(result).splitlines()[1] == f"  Note: {note}"


def test_status_for_the_library_answer_brings_no_note() -> None:
    assert check_status_for(without_upgrade(426)).notes == ()
    assert repr(check_status_for(library_status_for)).count("\n") == 0


@pytest.mark.parametrize("status", [101, 200, 404, 403])
def test_status_for_a_missing_upgrade_header_must_still_be_refused_rightly(status: int) -> None:
    error = failure(check_status_for, without_upgrade(status))
    assert "without an Upgrade header" in error.problem
    assert f"returned {status}" in error.problem
    assert "400" in error.hint and "426" in error.hint
    if status < 400:
        assert "must be refused" in error.problem


def only_for(variant: RequestVariant, status: int) -> Callable[[bytes], int]:
    """The library's answers, except ``status`` for ``variant``'s request."""

    def answer(data: bytes) -> int:
        return status if data == variant.data else library_status_for(data)

    return answer


@pytest.mark.parametrize("variant", request_variants(), ids=lambda v: v.about[:40])
def test_status_for_every_status_the_rfcs_allow_passes_and_no_other(
    variant: RequestVariant,
) -> None:
    assert library_status_for(variant.data) in variant.allowed
    for status in variant.allowed:
        result = check_status_for(only_for(variant, status))
        assert len(result.notes) == (status != library_status_for(variant.data))
    for status in {101, 200, 400, 405, 426, 431, 500} - set(variant.allowed):
        error = failure(check_status_for, only_for(variant, status))
        assert error.problem.startswith(f"for {variant.about}, your function returned {status}")


def test_status_for_answering_400_to_every_refusal_passes_with_a_note_for_each_choice() -> None:
    result = check_status_for(lambda data: 101 if library_status_for(data) == 101 else 400)
    chosen = {v.about for v in request_variants() if library_status_for(v.data) not in (101, 400)}
    assert len(result.notes) == len(chosen) > 0
    assert all(any(note.startswith(f"for {about},") for note in result.notes) for about in chosen)


def test_status_for_unchecked_key_length_is_told_to_count() -> None:
    def no_length(data: bytes) -> int:
        return status_for(data, count_key_bytes=False)

    error = failure(check_status_for, no_length)
    assert "16 bytes" in error.hint


def test_status_for_must_return_an_int() -> None:
    error = failure(check_status_for, lambda data: str(status_for(data)))
    assert "an int" in error.problem


def test_request_variants_cover_every_status_once_wrong() -> None:
    statuses = {library_status_for(variant.data) for variant in request_variants()}
    assert statuses == {101, 400, 405, 426, 431}


# ------------------------------------------------------------------ accept_key mistakes


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def test_accept_key_base64_of_the_hexdigest_is_named() -> None:
    error = failure(
        check_accept_key,
        lambda key: _b64(hashlib.sha1((key + GUID).encode()).hexdigest().encode()),
    )
    assert "hex" in error.hint
    assert "20 raw bytes" in error.hint
    assert "RFC 6455 §1.3 key" in error.problem


def test_accept_key_a_bare_hexdigest_is_named() -> None:
    error = failure(check_accept_key, lambda key: hashlib.sha1((key + GUID).encode()).hexdigest())
    assert "hex digest" in error.hint


def test_accept_key_missing_guid_is_named() -> None:
    error = failure(check_accept_key, lambda key: _b64(hashlib.sha1(key.encode()).digest()))
    assert "GUID" in error.hint


def test_accept_key_wrong_guid_is_told_to_compare_it() -> None:
    wrong = "258EAFA5-E914-47DA-95CA-C5AB0DC85B12"
    error = failure(
        check_accept_key, lambda key: _b64(hashlib.sha1((key + wrong).encode()).digest())
    )
    assert "GUID" in error.hint and "character by character" in error.hint


def test_accept_key_lower_case_guid_is_named() -> None:
    error = failure(
        check_accept_key, lambda key: _b64(hashlib.sha1((key + GUID.lower()).encode()).digest())
    )
    assert "capital" in error.hint


def test_accept_key_hmac_is_told_it_is_a_plain_hash() -> None:
    error = failure(
        check_accept_key,
        lambda key: _b64(hmac.new(key.encode(), GUID.encode(), hashlib.sha1).digest()),
    )
    assert "HMAC" in error.hint and "plain SHA-1" in error.hint


def test_accept_key_returning_bytes_is_told_to_decode() -> None:
    error = failure(check_accept_key, lambda key: accept_key(key).encode())
    assert "returned bytes" in error.problem
    assert "decode" in error.hint


def test_accept_key_hard_coded_rfc_answer_fails_on_random_keys() -> None:
    error = failure(check_accept_key, lambda key: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    assert "RFC" not in error.problem  # the RFC key passes; a random one fails


def test_accept_key_that_computes_from_the_examples_variables_is_told_to_use_its_argument() -> None:
    # Section 1's cells, pasted into the function: every key gets the example's answer.
    joined = "dGhlIHNhbXBsZSBub25jZQ==" + GUID

    def pasted(key: str) -> str:
        digest = hashlib.sha1(joined.encode("ascii")).digest()
        return base64.b64encode(digest).decode("ascii")

    error = failure(check_accept_key, pasted)
    assert "the same value as for another key" in error.problem
    assert "argument" in error.hint and "joined" in error.hint


def test_accept_key_messages_never_reveal_the_expected_value() -> None:
    for wrong in (
        lambda key: key,
        lambda key: _b64(hashlib.sha1(key.encode()).digest()),
        lambda key: _b64(hashlib.sha256((key + GUID).encode()).digest()),
    ):
        error = failure(check_accept_key, wrong)
        assert "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" not in str(error)


# ------------------------------------------------------------------ build_101 mistakes


def tutorial_101(key: str, *, crlf: bool = False, blank: bool = False, digest: bool = False):
    """An old tutorial's 101 with its three bugs, each fixed on request, and harmless oddities."""
    joined = (key + GUID).encode()
    raw = hashlib.sha1(joined).digest() if digest else hashlib.sha1(joined).hexdigest().encode()
    end = "\r\n" if crlf else "\n"
    lines = [
        "HTTP/1.1 101 Web Socket Protocol Handshake",
        "Upgrade: WebSocket",
        "Connection: Upgrade",
        "WebSocket-Location: ws://localhost:8765/",
        f"Sec-WebSocket-Accept: {_b64(raw)}",
    ]
    return (end.join(lines) + end + (end if blank else "")).encode()


def test_build_101_an_old_tutorials_bugs_are_named_one_at_a_time() -> None:
    error = failure(check_build_101, tutorial_101)
    assert "bare line feed" in error.problem and "blank line" in error.problem
    assert "CRLF" in error.hint
    error = failure(check_build_101, lambda key: tutorial_101(key, blank=True))
    assert "bare line feed" in error.problem
    error = failure(check_build_101, lambda key: tutorial_101(key, crlf=True))
    assert "never ends its head with a blank line" in error.problem
    error = failure(check_build_101, lambda key: tutorial_101(key, crlf=True, blank=True))
    assert "does not match this key" in error.problem
    assert "hex string of the digest" in error.hint and "20 raw bytes" in error.hint
    fixed = check_build_101(lambda key: tutorial_101(key, crlf=True, blank=True, digest=True))
    assert fixed.cases == 5  # the reason phrase, the capitals and WebSocket-Location are harmless


def test_build_101_missing_blank_line_is_named() -> None:
    error = failure(check_build_101, lambda key: build_101(key)[:-2])
    assert "blank line" in error.problem
    assert "\\r\\n\\r\\n" in error.hint


def test_build_101_bare_newlines_are_named() -> None:
    error = failure(check_build_101, lambda key: build_101(key).replace(b"\r\n", b"\n"))
    assert "blank line" in error.problem
    assert "\\r\\n" in error.hint


def test_build_101_mixed_line_endings_are_named() -> None:
    def mixed(key: str) -> bytes:
        return build_101(key).replace(b"websocket\r\n", b"websocket\n")

    error = failure(check_build_101, mixed)
    assert "bare" in error.problem
    assert "CRLF" in error.hint


def test_build_101_returning_str_is_told_to_encode() -> None:
    error = failure(check_build_101, lambda key: build_101(key).decode())
    assert "str" in error.problem and "encode" in error.hint


def test_build_101_wrong_accept_value_is_named_without_the_answer() -> None:
    def hexdigest_accept(key: str) -> bytes:
        bad = _b64(hashlib.sha1((key + GUID).encode()).hexdigest().encode())
        return build_101(key).replace(accept_key(key).encode(), bad.encode())

    error = failure(check_build_101, hexdigest_accept)
    assert "does not match this key" in error.problem
    assert "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" not in str(error)


def test_build_101_fixed_accept_value_fails_on_other_keys() -> None:
    error = failure(check_build_101, lambda key: build_101("dGhlIHNhbXBsZSBub25jZQ=="))
    assert "does not match" in error.problem and "never a fixed value" in error.hint


def test_build_101_missing_upgrade_header_is_named() -> None:
    error = failure(
        check_build_101, lambda key: build_101(key).replace(b"Upgrade: websocket\r\n", b"")
    )
    assert "Upgrade: websocket" in error.problem


def test_build_101_a_body_after_the_head_is_named() -> None:
    error = failure(check_build_101, lambda key: build_101(key) + b"welcome!")
    assert "follow the blank line" in error.problem


def test_build_101_a_200_status_is_refused() -> None:
    error = failure(
        check_build_101, lambda key: build_101(key).replace(b"101 Switching Protocols", b"200 OK")
    )
    assert "status line" in error.hint


def test_build_101_an_unrequested_extension_is_refused() -> None:
    def with_extension(key: str) -> bytes:
        return build_101(key)[:-2] + b"Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"

    error = failure(check_build_101, with_extension)
    assert "client would refuse" in error.problem


def test_build_101_a_header_line_without_a_colon_is_named() -> None:
    # parse_response is the client's reader: it raises InvalidResponse, which the check explains.
    def no_colon(key: str) -> bytes:
        return build_101(key).replace(b"Upgrade: websocket", b"Upgrade websocket")

    error = failure(check_build_101, no_colon)
    assert "cannot be parsed" in error.problem
    assert "'Name: value'" in error.hint


def test_build_101_obsolete_draft_headers_are_harmless() -> None:
    # WebSocket-Origin / WebSocket-Location (hixie-75; Sec- prefixed in hixie-76) are gone from
    # RFC 6455; clients ignore them.
    def with_draft_headers(key: str) -> bytes:
        return build_101(key)[:-2] + (
            b"WebSocket-Origin: http://example.com\r\nWebSocket-Location: ws://example.com/\r\n\r\n"
        )

    assert check_build_101(with_draft_headers).cases == 5


# ------------------------------------------------------------------ every hint, in words

CODE_IN_A_HINT = re.compile(
    r"b'|b\"|\.encode\(|\.decode\(|\.digest\(|hexdigest\(|b64encode|b64decode"
)


def _every_failure(check: Callable, right: Callable, wrong: object) -> list:
    """The ExerciseFailed of every case: an answer that is right except at call number k."""
    failures = []
    for k in range(200):
        calls = []

        def answer(*args: object, calls: list = calls, k: int = k) -> object:
            calls.append(None)
            return wrong if len(calls) == k + 1 else right(*args)

        try:
            check(answer)
        except ExerciseFailed as error:
            failures.append(error)
        else:
            return failures
    raise AssertionError("more cases than expected")


@pytest.mark.parametrize(
    "check, right, wrong",
    [
        (check_parse_headers, parse_headers, {"x": "y"}),
        (check_has_token, has_token, "yes"),
        (check_status_for, status_for, 999),
        (check_accept_key, accept_key, "not the accept key"),
        (check_build_101, build_101, b"HTTP/1.1 200 OK\r\n\r\n"),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_every_message_and_hint_is_a_sentence_in_words(
    check: Callable, right: Callable, wrong: object
) -> None:
    failures = _every_failure(check, right, wrong)
    assert len(failures) >= 5
    for error in failures:
        assert error.problem.endswith("."), error.problem
        assert error.hint.endswith("."), error.hint
        assert not CODE_IN_A_HINT.search(error.hint), error.hint


def test_refusals_cite_where_426_comes_from() -> None:
    hints = {variant.about: variant.hint for variant in request_variants()}
    assert "RFC 7231 §6.5.15" in hints["a request without an Upgrade header (a plain HTTP GET)"]
    assert "§4.2.2" in hints["'Sec-WebSocket-Version: 8' (an old draft)"]
