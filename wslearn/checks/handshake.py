"""Checks for the handshake exercises of notebooks 01 (the upgrade request) and 02 (the accept key).

Notebook 01::

    from wslearn.checks.handshake import check_parse_headers, check_has_token, check_status_for

Notebook 02::

    from wslearn.checks.handshake import check_accept_key, check_build_101

Every check runs the learner's function on real handshakes (the RFC 6455 §1.3 example, what
Chromium and Firefox send, what Jupyter's proxy forwards) and on deliberately broken ones. The
right answer always comes from the library (:func:`wslearn.parse_request`,
:func:`wslearn.validate_request`, :func:`wslearn.accept_key`, :func:`wslearn.check_response`),
never from a second copy of the rules. Where the RFCs allow more than one refusal for a request
(400 or 426 for a plain GET), ``status_for`` accepts each of them, says why under the ✓ line when
the learner's differs from the library's, and a test keeps the library's answer among them. At
the first wrong case a check raises
:class:`~wslearn.checks.ExerciseFailed` naming the input and what came back, with a hint about
the rule — and, where a well-known mistake explains the wrong value (a hex digest, a missing GUID,
an HMAC, a case-sensitive lookup), a hint about that mistake. It never prints the expected value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
from typing import Any, Callable, Dict, List, NamedTuple, NoReturn, Optional, Tuple

from ..errors import HandshakeError, InvalidResponse
from ..handshake import GUID, accept_key, check_response, validate_request
from ..http11 import Headers, parse_request, parse_response
from . import Case, CheckResult, ExerciseFailed, describe_bytes, run_cases, sentence

__all__ = [
    "check_parse_headers",
    "check_has_token",
    "check_status_for",
    "check_accept_key",
    "check_build_101",
    "request_variants",
    "RequestVariant",
]

RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="

_CHROMIUM = (
    "GET /chat HTTP/1.1\r\n"
    "Host: 127.0.0.1:8765\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: http://127.0.0.1:8765\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    f"Sec-WebSocket-Key: {RFC_KEY}\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n"
).encode("ascii")


def _failed(exercise: str, message: str, hint: str) -> ExerciseFailed:
    return ExerciseFailed(exercise, message, hint)


def _request(lines: List[str], after: bytes = b"") -> bytes:
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + after


_BASE = [
    "GET /chat HTTP/1.1",
    "Host: server.example.com",
    "Upgrade: websocket",
    "Connection: Upgrade",
    f"Sec-WebSocket-Key: {RFC_KEY}",
    "Sec-WebSocket-Version: 13",
]


def _replace(name: str, new: Optional[str]) -> List[str]:
    """The base request with header ``name`` replaced by the line ``new`` (or removed)."""
    lines = []
    for line in _BASE:
        if line.lower().startswith(name.lower() + ":"):
            if new is not None:
                lines.append(new)
        else:
            lines.append(line)
    return lines


def _recase(line: str) -> str:
    """A header line with its name re-cased the way Jupyter's proxy does: 'Sec-Websocket-Key'."""
    name, colon, value = line.partition(":")
    return name.title() + colon + value if colon else line


# ---------------------------------------------------------------------------- parse_headers


def _expected_headers(data: bytes) -> Dict[str, str]:
    request = parse_request(data)
    assert request is not None, "a check case must hold a complete head"
    names: List[str] = []
    for name, _ in request.headers:
        if name.lower() not in names:
            names.append(name.lower())
    return {name: ", ".join(request.headers.get_all(name)) for name in names}


def _judge_headers(expected: Dict[str, str]) -> Callable[[Any], Optional[str]]:
    def judge(result: Any) -> Optional[str]:
        if not isinstance(result, dict):
            return f"your function returned {type(result).__name__}, not a dict"
        for name in result:
            if not isinstance(name, str):
                return f"the dict has a key {name!r} that is not a str (decode the bytes)"
            if name != name.lower() and name.lower() in expected:
                return f"the dict has the name {name!r}, which is not lower-cased"
        for name, value in result.items():
            if name not in expected:
                return f"the dict has an entry {name!r}, which is not one of the header names"
            if not isinstance(value, str):
                return f"the value of {name!r} is a {type(value).__name__}, not a str"
        for name, value in expected.items():
            if name not in result:
                return f"the header {name!r} is missing from your dict"
            if result[name] != value:
                return f"the value of {name!r} is {result[name]!r}, which is not what was sent"
        return None

    return judge


def _headers_case(about: str, data: bytes, hint: str) -> Case:
    return Case(about, (data,), _judge_headers(_expected_headers(data)), hint)


def check_parse_headers(parse_headers: Callable[[bytes], Dict[str, str]]) -> CheckResult:
    """Check ``parse_headers(data) -> dict``: lower-cased names, stripped values, repeats joined.

    ``data`` starts with a complete request head (request line, header lines, blank line);
    anything after the blank line is not headers. A header sent more than once becomes one
    entry, its values joined with ``", "`` in order (RFC 7230 §3.2.2).
    """
    cases = [
        _headers_case(
            "the RFC 6455 §1.2 example request",
            _request(_BASE),
            "skip the request line, split each header line at its colon, and lower-case the "
            "name (RFC 7230 §3.2: names are case-insensitive)",
        ),
        _headers_case(
            "Chromium's handshake",
            _CHROMIUM,
            "split each line at the first colon only: values like '127.0.0.1:8765' and "
            "'http://127.0.0.1:8765' hold colons of their own",
        ),
        _headers_case(
            "the handshake as Jupyter's proxy forwards it (names re-cased, e.g. "
            "'Sec-Websocket-Key')",
            _request(
                [
                    "GET /chat HTTP/1.1",
                    "Host: localhost:8888",
                    "Upgrade: websocket",
                    "Connection: Upgrade",
                    f"Sec-Websocket-Key: {RFC_KEY}",
                    "Sec-Websocket-Version: 13",
                ]
            ),
            "lower-case every name, whatever case it arrived in",
        ),
        _headers_case(
            "header lines with odd spacing ('Host:example.com', 'Upgrade:   websocket  ', a tab)",
            _request(
                [
                    "GET / HTTP/1.1",
                    "Host:example.com",
                    "Upgrade:   websocket  ",
                    "Connection:\tUpgrade",
                    f"Sec-WebSocket-Key: {RFC_KEY}",
                    "Sec-WebSocket-Version: 13",
                ]
            ),
            "the space after the colon is optional and there may be more than one, or tabs: "
            "strip spaces and tabs from both ends of the value (RFC 7230 §3.2.3)",
        ),
        _headers_case(
            "a header with an empty value ('X-Empty:')",
            _request(_BASE + ["X-Empty:"]),
            "a header may be sent with an empty value: its entry is the empty string",
        ),
        _headers_case(
            "a request whose Connection header is sent twice",
            _request(_replace("Connection", "Connection: keep-alive") + ["Connection: Upgrade"]),
            "a header sent more than once becomes one entry: join its values with ', ' in the "
            "order they came (RFC 7230 §3.2.2)",
        ),
        _headers_case(
            "a request followed at once by the first bytes of a WebSocket frame",
            _request(_BASE, after=b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"),
            "the head ends at the first blank line (an empty line: CRLF right after the last "
            "header's CRLF); the bytes after it belong to the WebSocket stream, not to the headers",
        ),
        _headers_case(
            "Firefox's 'Connection: keep-alive, Upgrade'",
            _request(_replace("Connection", "Connection: keep-alive, Upgrade")),
            "keep the whole value, commas and all: splitting it into tokens is another job",
        ),
    ]
    return run_cases("parse_headers", parse_headers, cases)


# ---------------------------------------------------------------------------- has_token


def _judge_bool(expected: bool) -> Callable[[Any], Optional[str]]:
    def judge(result: Any) -> Optional[str]:
        if not isinstance(result, bool):
            return f"your function returned {result!r}; it should return True or False"
        if result != expected:
            return f"your function returned {result}"
        return None

    return judge


def check_has_token(has_token: Callable[[str, str], bool]) -> CheckResult:
    """Check ``has_token(value, token) -> bool`` on comma-separated token lists (RFC 7230 §7)."""
    samples: List[Tuple[str, str, str]] = [
        ("Upgrade", "upgrade", "a header holding just that token"),
        ("keep-alive, Upgrade", "upgrade", "the token is one item of a comma-separated list"),
        ("keep-alive,Upgrade", "upgrade", "there may be no space after the comma"),
        ("  Upgrade  ,  keep-alive ", "upgrade", "spaces around each item are not part of it"),
        ("UPGRADE", "upgrade", "tokens are compared without regard to case"),
        ("websocket", "WebSocket", "tokens are compared without regard to case"),
        ("keep-alive", "upgrade", "only the items of the list count"),
        ("Upgraded", "upgrade", "a token must match a whole item, not a piece of one"),
        (
            "keep-alive, notupgrade",
            "upgrade",
            "a token must match a whole item, not a piece of one",
        ),
        ("", "upgrade", "an empty value holds no tokens"),
        ("Upgrade, HTTP/2.0", "upgrade", "the token may be first in the list"),
        ("h2c, websocket", "websocket", "the token may be last in the list"),
    ]
    cases = []
    for value, token, rule in samples:
        expected = token.lower() in Headers([("X", value)]).tokens("X")
        cases.append(
            Case(
                f"has_token({value!r}, {token!r})",
                (value, token),
                _judge_bool(expected),
                f"split the value at each comma, strip each item, and compare whole items "
                f"case-insensitively ({rule})",
            )
        )
    return run_cases("has_token", has_token, cases)


# ---------------------------------------------------------------------------- status_for


def _library_status(data: bytes) -> int:
    try:
        request = parse_request(data)
        if request is None:
            raise AssertionError("a check case must hold a complete head")
        validate_request(request)
    except HandshakeError as error:
        return error.status
    return 101


class RequestVariant(NamedTuple):
    """A request with at most one thing wrong, and the statuses the RFCs allow for it."""

    about: str
    data: bytes
    hint: str
    #: Every status the RFCs allow as the answer (wslearn's own answer is one of them).
    allowed: Tuple[int, ...] = (101,)


# RFC 6455 §4.2.1: a request that is not a valid handshake gets "an appropriate error code
# (such as 400 Bad Request)". Where a more precise status exists, it is allowed beside 400.
_PLAIN_GET = (400, 426)


def request_variants() -> List[RequestVariant]:
    """Requests with at most one thing wrong: ``(about, data, hint, allowed)`` for each.

    Notebook 01 shows the status :func:`wslearn.validate_request` gives each one, and the
    others the RFCs allow; the ``status_for`` check uses them as its cases.
    """
    long_value = "x" * 9000
    return [
        RequestVariant(
            "the RFC 6455 example request",
            _request(_BASE),
            "a request that follows every rule of RFC 6455 §4.2.1 is accepted: the server answers "
            "'101 Switching Protocols'",
        ),
        RequestVariant(
            "Chromium's handshake", _CHROMIUM, "this is what a real browser sends; it is valid"
        ),
        RequestVariant(
            "Firefox's handshake ('Connection: keep-alive, Upgrade')",
            _request(_replace("Connection", "Connection: keep-alive, Upgrade")),
            "Connection holds a comma-separated list of tokens: look for the token 'upgrade' in "
            "it, not for the whole value",
        ),
        RequestVariant(
            "a request whose header names were re-cased by a proxy ('Sec-Websocket-Key')",
            _request([_recase(line) for line in _BASE]),
            "header names are case-insensitive (RFC 7230 §3.2): look them up whatever their case",
        ),
        RequestVariant(
            "'UPGRADE: WebSocket' in capitals",
            _request(_replace("Upgrade", "UPGRADE: WebSocket")),
            "both the header name and the token 'websocket' are compared without regard to case",
        ),
        RequestVariant(
            "a POST request",
            _request(["POST /chat HTTP/1.1"] + _BASE[1:]),
            "the handshake must be a GET (RFC 6455 §4.1). '405 Method Not Allowed' names the "
            "problem exactly (RFC 7231 §6.5.5); the '400 Bad Request' of RFC 6455 §4.2.1 is "
            "right too",
            (400, 405),
        ),
        RequestVariant(
            "a request without an Upgrade header (a plain HTTP GET)",
            _request(_replace("Upgrade", None)),
            "a plain GET is not a WebSocket handshake, so it is refused. RFC 6455 §4.2.1 asks for "
            "an error such as '400 Bad Request'; '426 Upgrade Required' (RFC 7231 §6.5.15) is "
            "right too, and also tells the client which protocol to switch to",
            _PLAIN_GET,
        ),
        RequestVariant(
            "'Upgrade: h2c' instead of websocket",
            _request(_replace("Upgrade", "Upgrade: h2c")),
            "an Upgrade that does not name websocket is not a WebSocket handshake: '400 Bad "
            "Request' (RFC 6455 §4.2.1) or '426 Upgrade Required' naming websocket (RFC 7231 "
            "§6.5.15)",
            _PLAIN_GET,
        ),
        RequestVariant(
            "'Connection: keep-alive' without the upgrade token",
            _request(_replace("Connection", "Connection: keep-alive")),
            "Connection must contain the token 'upgrade' (RFC 6455 §4.2.1, RFC 7230 §6.7); "
            "without it this is no upgrade request. '400 Bad Request' is RFC 6455's example; "
            "'426 Upgrade Required', which tells the client to upgrade properly, is right too",
            _PLAIN_GET,
        ),
        RequestVariant(
            "a request without a Host header",
            _request(_replace("Host", None)),
            "RFC 6455 §4.1 requires a Host header; a request without it is a '400 Bad Request' "
            "(RFC 7230 §5.4)",
            (400,),
        ),
        RequestVariant(
            "'Sec-WebSocket-Version: 8' (an old draft)",
            _request(_replace("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8")),
            "only version 13 is RFC 6455. §4.2.2 suggests '426 Upgrade Required' and the example "
            "of §4.4 answers '400 Bad Request'; either answer lists the versions the server "
            "speaks in a Sec-WebSocket-Version header",
            _PLAIN_GET,
        ),
        RequestVariant(
            "a request without Sec-WebSocket-Version",
            _request(_replace("Sec-WebSocket-Version", None)),
            "a missing version is not version 13 either: it gets the same answer as an unknown "
            "version (RFC 6455 §4.2.2, §4.4)",
            _PLAIN_GET,
        ),
        RequestVariant(
            "a request without Sec-WebSocket-Key",
            _request(_replace("Sec-WebSocket-Key", None)),
            "without a key the server cannot compute its answer: '400 Bad Request'",
            (400,),
        ),
        RequestVariant(
            "'Sec-WebSocket-Key: hello'",
            _request(_replace("Sec-WebSocket-Key", "Sec-WebSocket-Key: hello")),
            "the key must be base64 of exactly 16 bytes (RFC 6455 §4.1): decode it and count",
            (400,),
        ),
        RequestVariant(
            "a key that is base64 of 12 bytes",
            _request(_replace("Sec-WebSocket-Key", "Sec-WebSocket-Key: AAECAwQFBgcICQoL")),
            "the key must be base64 of exactly 16 bytes (RFC 6455 §4.1): decode it and count",
            (400,),
        ),
        RequestVariant(
            "a key with its '==' padding cut off",
            _request(_replace("Sec-WebSocket-Key", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ")),
            "a key that is not valid base64 is a '400 Bad Request' (RFC 6455 §4.2.1): decode it "
            "strictly, so that a broken key is refused rather than silently repaired",
            (400,),
        ),
        RequestVariant(
            "a request that sends Sec-WebSocket-Key twice",
            _request(_BASE + [f"Sec-WebSocket-Key: {RFC_KEY}"]),
            "Sec-WebSocket-Key must appear exactly once; twice is a '400 Bad Request'",
            (400,),
        ),
        RequestVariant(
            "an HTTP/1.0 request",
            _request(["GET /chat HTTP/1.0"] + _BASE[1:]),
            "WebSocket needs HTTP/1.1 or later (RFC 6455 §4.1): an older request is a '400 Bad "
            "Request'",
            (400,),
        ),
        RequestVariant(
            "a header line without a colon",
            _request(_BASE + ["this line has no colon"]),
            "a header line without a colon is malformed: '400 Bad Request'",
            (400,),
        ),
        RequestVariant(
            "a header line of 9000 bytes",
            _request(_BASE + [f"X-Long: {long_value}"]),
            "a server limits how much header it reads. Too much gets '431 Request Header Fields "
            "Too Large' (RFC 6585 §5), or the plain '400 Bad Request': RFC 7230 §3.2.5 asks for "
            "an appropriate 4xx status",
            (400, 431),
        ),
    ]


def _judge_status(variant: RequestVariant) -> Callable[[Any], Optional[str]]:
    def judge(result: Any) -> Optional[str]:
        if isinstance(result, bool) or not isinstance(result, int):
            return f"your function returned {result!r}; it should return an HTTP status (an int)"
        if result in variant.allowed:
            return None
        if variant.allowed == (101,):
            return f"your function returned {result}, but this request is a valid handshake"
        if result < 400:
            return f"your function returned {result}, but this request must be refused"
        return f"your function returned {result}"

    return judge


def _note_status(variant: RequestVariant) -> Callable[[Any], Optional[str]]:
    library = _library_status(variant.data)

    def note(result: Any) -> Optional[str]:
        if result == library:
            return None
        return (
            f"you answered {result} and wslearn answers {library}: both follow the RFCs. "
            f"{sentence(variant.hint[0].upper() + variant.hint[1:])}"
        )

    return note


def check_status_for(status_for: Callable[[bytes], int]) -> CheckResult:
    """Check ``status_for(data) -> int``: 101 for a valid request, else the refusal's status.

    Each case has at most one thing wrong. Where the RFCs allow more than one refusal (400 or
    426 for a plain GET, say), every one of them passes, and an answer other than
    :func:`wslearn.validate_request`'s is shown under the ✓ line with the reason both are right.
    """
    cases = [
        Case(
            variant.about,
            (variant.data,),
            _judge_status(variant),
            variant.hint,
            note=_note_status(variant),
        )
        for variant in request_variants()
    ]
    return run_cases("status_for", status_for, cases)


# ---------------------------------------------------------------------------- accept_key


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _known_mistakes(key: str) -> List[Tuple[Any, str]]:
    """What the common wrong versions of accept_key return for ``key``, with a hint for each."""
    joined = (key + GUID).encode("ascii")
    mistakes: List[Tuple[Any, str]] = [
        (
            _b64(hashlib.sha1(joined).hexdigest().encode("ascii")),
            "you base64-encoded the hex string of the digest (40 characters of text). "
            "Encode the 20 raw bytes of the digest instead, not their hex text. A browser "
            "compares the header with its own value and would close the connection",
        ),
        (
            hashlib.sha1(joined).hexdigest(),
            "that looks like a hex digest; the header carries the base64 encoding of the 20 raw "
            "digest bytes",
        ),
        (
            _b64(hashlib.sha1(key.encode("ascii")).digest()),
            "the key alone is hashed here: RFC 6455 §1.3 appends a fixed GUID to the key first",
        ),
        (
            _b64(hashlib.sha1((GUID + key).encode("ascii")).digest()),
            "the GUID goes after the key, not before it",
        ),
        (
            _b64(hashlib.sha1((key + GUID.lower()).encode("ascii")).digest()),
            "the GUID must be used exactly as RFC 6455 §1.3 writes it, in capital letters",
        ),
        (
            _b64(hashlib.sha1((key + " " + GUID).encode("ascii")).digest()),
            "nothing goes between the key and the GUID, not even a space",
        ),
        (
            _b64(hmac.new(key.encode("ascii"), GUID.encode("ascii"), hashlib.sha1).digest()),
            "this is an HMAC. The accept key is a plain SHA-1 hash of key + GUID, with no secret "
            "(many tutorials call it 'HMAC-SHA1'; it is not one)",
        ),
        (
            _b64(hmac.new(GUID.encode("ascii"), key.encode("ascii"), hashlib.sha1).digest()),
            "this is an HMAC. The accept key is a plain SHA-1 hash of key + GUID, with no secret "
            "(many tutorials call it 'HMAC-SHA1'; it is not one)",
        ),
        (
            _b64(hashlib.sha256(joined).digest()),
            "RFC 6455 §4.2.2 uses SHA-1 (a 20-byte digest), not SHA-256",
        ),
        (
            _b64(hashlib.sha1(base64.b64decode(key) + GUID.encode("ascii")).digest()),
            "the key is hashed as text, exactly as it was received; do not base64-decode it first",
        ),
        (
            base64.encodebytes(hashlib.sha1(joined).digest()).decode("ascii"),
            "base64.encodebytes adds a newline at the end, and a header value must not hold one: "
            "choose the base64 function of the base64 module that adds nothing",
        ),
    ]
    return mistakes


def _judge_accept(key: str) -> Callable[[Any], Optional[str]]:
    expected = accept_key(key)

    def judge(result: Any) -> Optional[str]:
        about = f"the RFC 6455 §1.3 key {key!r}" if key == RFC_KEY else f"the key {key!r}"
        if isinstance(result, (bytes, bytearray)):
            if bytes(result) == expected.encode("ascii"):
                raise _failed(
                    "accept_key",
                    f"for {about}, your function returned bytes",
                    "the value is right, but a header value is text: decode the base64 bytes "
                    "as ASCII and return a str",
                )
            result = bytes(result).decode("latin-1")
        if not isinstance(result, str):
            return f"your function returned {type(result).__name__}; it should return a str"
        if result == expected:
            return None
        if key != RFC_KEY and result == accept_key(RFC_KEY):
            raise _failed(
                "accept_key",
                f"for {about}, your function returned {result!r}, the same value as for another "
                "key",
                "that is the accept value of the RFC's example key: the answer must change with "
                "the key. Compute it from the function's argument, not from a variable of the "
                "cells above (such as joined, digest or RFC_KEY), which all hold the example",
            )
        for wrong, hint in _known_mistakes(key):
            if result == wrong:
                raise _failed("accept_key", f"for {about}, your function returned {result!r}", hint)
        if len(result) != 28:
            raise _failed(
                "accept_key",
                f"for {about}, your function returned {result!r} ({len(result)} characters)",
                "the base64 encoding of a 20-byte SHA-1 digest is always 28 characters, ending "
                "in '='",
            )
        raise _failed(
            "accept_key",
            f"for {about}, your function returned {result!r}, which is not the accept key",
            "check each step against RFC 6455 §4.2.2: key + GUID (compare the GUID character "
            "by character with wslearn.GUID), SHA-1 of those bytes, base64 of the 20-byte digest",
        )

    return judge


def _random_keys(count: int, seed: int = 6455) -> List[str]:
    rng = random.Random(seed)
    return [_b64(bytes(rng.randrange(256) for _ in range(16))) for _ in range(count)]


def check_accept_key(accept_key_function: Callable[[str], str]) -> CheckResult:
    """Check ``accept_key(key) -> str`` on the RFC 6455 §1.3 key and random keys."""
    keys = [RFC_KEY] + _random_keys(8)
    cases = [
        Case(
            "the RFC 6455 §1.3 key" if key == RFC_KEY else f"the key {key!r}",
            (key,),
            _judge_accept(key),
            "the accept key is the base64 encoding of the 20-byte SHA-1 digest of the key "
            "followed by the GUID (RFC 6455 §1.3, §4.2.2)",
        )
        for key in keys
    ]
    return run_cases("accept_key", accept_key_function, cases)


# ---------------------------------------------------------------------------- build_101


def _judge_101(key: str) -> Callable[[Any], Optional[str]]:
    def fail(problem: str, hint: str) -> NoReturn:
        raise _failed("build_101", f"for the key {key!r}, {problem}", hint)

    def judge(result: Any) -> Optional[str]:
        if isinstance(result, str):
            fail(
                "your function returned a str",
                "the socket sends bytes: encode the response text as ASCII",
            )
        if not isinstance(result, (bytes, bytearray)):
            return f"your function returned {type(result).__name__}; it should return bytes"
        data = bytes(result)
        if not data.startswith(b"HTTP/1.1 101"):
            fail(
                f"the response starts {describe_bytes(data[:16])}, not with the status line "
                "of a 101",
                "the first line is the status line: 'HTTP/1.1 101 Switching Protocols' "
                "(RFC 6455 §4.2.2)",
            )
        if b"\r\n\r\n" not in data:
            if b"\n" in data.replace(b"\r\n", b""):
                fail(
                    "the response's lines end with a bare line feed, so its head never ends "
                    "with the blank line a client looks for",
                    "HTTP lines end with CRLF, a carriage return then a line feed (\\r\\n), "
                    "and the head ends with one more, empty line, so the response ends with "
                    "\\r\\n\\r\\n (RFC 7230 §3)",
                )
            if data.endswith(b"\r\n"):
                fail(
                    "the response never ends its head with a blank line",
                    "every line ends with CRLF (\\r\\n), and the head ends with one more, empty "
                    "line, so the response ends with \\r\\n\\r\\n (RFC 7230 §3)",
                )
            fail(
                "the response has no blank line at the end",
                "the head ends with an empty line: after the last header's \\r\\n comes one "
                "more \\r\\n (RFC 7230 §3). Without it the client waits forever for more headers",
            )
        head = data[: data.index(b"\r\n\r\n")]
        if b"\n" in head.replace(b"\r\n", b""):
            fail(
                "some lines end with a bare b'\\n'",
                "HTTP lines end with CRLF, a carriage return then a line feed (\\r\\n), never a "
                "line feed alone (RFC 7230 §3)",
            )
        try:
            response = parse_response(data)
        except InvalidResponse as error:
            fail(
                f"the response cannot be parsed: {error.message}",
                "each header line is 'Name: value'",
            )
        assert response is not None
        if len(response.raw) != len(data):
            fail(
                f"{len(data) - len(response.raw)} bytes follow the blank line",
                "a 101 has no body: after the blank line the connection speaks WebSocket "
                "frames, so the response stops right after the blank line (RFC 6455 §4.2.2)",
            )
        headers = response.headers
        if "websocket" not in headers.tokens("Upgrade"):
            fail(
                "there is no 'Upgrade: websocket' header",
                "RFC 6455 §4.2.2 lists the headers a 101 must carry",
            )
        if "upgrade" not in headers.tokens("Connection"):
            fail(
                "there is no 'Connection: Upgrade' header",
                "RFC 6455 §4.2.2 lists the headers a 101 must carry",
            )
        accept = headers.get_all("Sec-WebSocket-Accept")
        if not accept:
            fail(
                "there is no Sec-WebSocket-Accept header",
                "the 101 proves the server read this key: it carries Sec-WebSocket-Accept",
            )
        if accept[0] != accept_key(key):
            known = [hint for wrong, hint in _known_mistakes(key) if wrong == accept[0]]
            fail(
                f"Sec-WebSocket-Accept is {accept[0]!r}, which does not match this key",
                known[0]
                if known
                else "compute it from the key you were given, as in Exercise 1 or with "
                "wslearn.accept_key — never a fixed value",
            )
        try:
            check_response(response, key)
        except InvalidResponse as error:
            fail(
                f"a client would refuse this 101 ({error.message.split(',')[0]})",
                "send only Upgrade, Connection and Sec-WebSocket-Accept: a client refuses "
                "extensions or subprotocols it did not ask for",
            )
        return None

    return judge


def check_build_101(build_101: Callable[[str], bytes]) -> CheckResult:
    """Check ``build_101(key) -> bytes``: a 101 that :func:`wslearn.check_response` accepts."""
    keys = [RFC_KEY] + _random_keys(4, seed=101)
    cases = [
        Case(
            f"the key {key!r}",
            (key,),
            _judge_101(key),
            "a 101 is a status line, the Upgrade, Connection and Sec-WebSocket-Accept headers, "
            "then a blank line (RFC 6455 §4.2.2)",
        )
        for key in keys
    ]
    return run_cases("build_101", build_101, cases)
