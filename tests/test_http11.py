"""HTTP/1.1 heads (RFC 9112): reading requests and responses, their limits, writing responses.

A server refuses a head it cannot read with :class:`HandshakeError` and an HTTP status; a
client refuses a response it cannot read with :class:`InvalidResponse` and no status.
"""

import pytest
from helpers.upgrade_requests import CHROMIUM, RFC_KEY, request_with, status_of

from wslearn import (
    HandshakeError,
    Headers,
    InvalidResponse,
    accept_response,
    http_response,
    parse_request,
    parse_response,
    validate_request,
)
from wslearn.http11 import MAX_HEADERS, MAX_LINE


def test_incomplete_head_returns_none_at_every_cut():
    for cut in range(len(CHROMIUM)):
        assert parse_request(CHROMIUM[:cut]) is None, cut
    assert parse_request(CHROMIUM) is not None


def test_bytes_after_the_head_are_left_for_the_websocket_stream():
    request = parse_request(CHROMIUM + b"\x81\x85rest")
    assert request.raw == CHROMIUM


def test_header_names_are_case_insensitive_like_the_jupyter_proxy_sends_them():
    data = request_with(**{"Sec-WebSocket-Key": None}).replace(b"\r\n\r\n", b"\r\n")
    data += f"sec-websocket-key: {RFC_KEY}\r\n\r\n".encode()
    data = data.replace(b"Upgrade: websocket", b"UPGRADE: WebSocket")
    assert validate_request(parse_request(data))[0] == RFC_KEY


def test_header_values_keep_their_order_and_original_names():
    request = parse_request(CHROMIUM)
    assert request.headers.items()[0] == ("Host", "127.0.0.1:8080")
    assert len(request.headers) == 12
    assert "HOST" in request.headers and "X-Nope" not in request.headers
    with pytest.raises(KeyError):
        request.headers["X-Nope"]


def test_http_1_0_is_400():
    assert status_of(request_with(request_line="GET / HTTP/1.0")) == 400


@pytest.mark.parametrize(
    "line", ["GET /chat", "GET  /chat HTTP/1.1", "GET /chat HTTP/1.1 extra", "G@T / HTTP/1.1"]
)
def test_malformed_request_line_is_400(line):
    assert status_of(request_with(request_line=line)) == 400


def test_tls_client_hello_on_a_plain_port_is_400_at_once():
    with pytest.raises(HandshakeError) as info:
        parse_request(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
    assert info.value.status == 400 and "wss://" in info.value.message


@pytest.mark.parametrize(
    "bad",
    [b"NoColonHere", b" folded: value", b"Bad Name: x", b"X-Ctl: a\x01b", b"X-LF: a\nb"],
)
def test_malformed_header_line_is_400(bad):
    data = request_with().replace(b"\r\n\r\n", b"\r\n" + bad + b"\r\n\r\n")
    assert status_of(data) == 400


def test_line_longer_than_limit_is_431_even_before_the_head_ends():
    data = b"GET / HTTP/1.1\r\nX-Long: " + b"a" * MAX_LINE
    with pytest.raises(HandshakeError) as info:
        parse_request(data)
    assert info.value.status == 431
    assert parse_request(b"GET / HTTP/1.1\r\nX-Ok: " + b"a" * (MAX_LINE - 8)) is None


def test_long_request_line_is_431():
    with pytest.raises(HandshakeError) as info:
        parse_request(b"GET /" + b"a" * MAX_LINE + b" HTTP/1.1\r\n")
    assert info.value.status == 431


def test_too_many_headers_is_431():
    head = b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * (MAX_HEADERS + 1)
    with pytest.raises(HandshakeError) as info:
        parse_request(head)
    assert info.value.status == 431
    ok = request_with().replace(b"\r\n\r\n", b"\r\n" + b"X-A: b\r\n" * (MAX_HEADERS - 6) + b"\r\n")
    assert len(parse_request(ok).headers) == MAX_HEADERS


def test_http_response_encodes_text_bodies_as_utf8():
    response = http_response(200, "你好", content_type="text/html; charset=utf-8")
    assert response.endswith("你好".encode()) and b"Content-Length: 6\r\n" in response


def test_parse_response_incomplete_and_malformed():
    full = accept_response(RFC_KEY)
    assert parse_response(full[:-1]) is None
    with pytest.raises(InvalidResponse) as info:
        parse_response(b"HTTP/1.1 OK\r\n\r\n")
    assert info.value.status is None
    assert parse_response(b"HTTP/1.1 204\r\n\r\n").reason == ""


def test_headers_equality_and_repr():
    assert Headers([("A", "1")]) == Headers([("A", "1")])
    assert Headers([("A", "1")]) != Headers([("a", "1")])
    assert "A" in repr(Headers([("A", "1")]))


def test_headers_iterate_in_order_and_bytes_bodies_pass_through():
    headers = Headers([("A", "1"), ("B", "2")])
    assert list(headers) == [("A", "1"), ("B", "2")]
    assert http_response(200, b"\x00\xff").endswith(b"\r\n\r\n\x00\xff")


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 OK\r\n\r\n",
        b"HTTP/1.1 1O1 Switching Protocols\r\n\r\n",
        b"HTTP/1.1 101 OK\r\nNoColonHere\r\n\r\n",
        b"HTTP/1.1 101 OK\r\n folded: value\r\n\r\n",
        b"HTTP/1.1 101 OK\r\nBad Name: x\r\n\r\n",
        b"HTTP/1.1 101 OK\r\nX-Long: " + b"a" * MAX_LINE,  # refused before the head ends
        b"HTTP/1.1 101 " + b"a" * MAX_LINE,
        b"HTTP/1.1 101 OK\r\n" + b"X-A: b\r\n" * (MAX_HEADERS + 1),
    ],
    ids=[
        "no status code",
        "status not a number",
        "header without colon",
        "folded header",
        "space in header name",
        "over-long header line",
        "over-long status line",
        "too many headers",
    ],
)
def test_an_unreadable_response_is_invalid_response_without_a_status(data):
    with pytest.raises(InvalidResponse) as info:
        parse_response(data)
    assert info.value.status is None
    assert not isinstance(info.value, HandshakeError)
    assert str(info.value).startswith("invalid response to our handshake: ")


def test_an_over_long_response_line_names_the_limit():
    with pytest.raises(InvalidResponse) as info:
        parse_response(b"HTTP/1.1 101 OK\r\nX-Long: " + b"a" * MAX_LINE)
    assert str(MAX_LINE) in info.value.message


def test_the_server_side_still_refuses_with_handshake_error_and_a_status():
    with pytest.raises(HandshakeError) as info:
        parse_request(b"GET / HTTP/1.1\r\nX-Long: " + b"a" * MAX_LINE)
    assert info.value.status == 431
    assert not isinstance(info.value, InvalidResponse)
