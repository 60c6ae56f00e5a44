"""The opening handshake (RFC 6455 §4): parsing, validation, status codes, both roles."""

import base64

import pytest

from wslearn import (
    HandshakeError,
    Headers,
    InvalidResponse,
    WebSocketError,
    accept_key,
    accept_response,
    check_response,
    client_request,
    http_response,
    parse_request,
    parse_response,
    reject_response,
    validate_request,
)
from wslearn.http11 import MAX_HEADERS, MAX_LINE

RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="

# What Chromium 156 sent to a raw-socket server, byte for byte.
CHROMIUM = (
    "GET /chat HTTP/1.1\r\n"
    "Host: 127.0.0.1:8080\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: http://127.0.0.1:8080\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    f"Sec-WebSocket-Key: {RFC_KEY}\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n"
).encode()


def request_with(**changes):
    """The RFC's sample request with some headers replaced (None removes one)."""
    headers = {
        "Host": "server.example.com",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": RFC_KEY,
        "Origin": "http://example.com",
        "Sec-WebSocket-Version": "13",
    }
    line = changes.pop("request_line", "GET /chat HTTP/1.1")
    for name, value in changes.items():
        headers[name.replace("_", "-")] = value
    lines = [line] + [f"{k}: {v}" for k, v in headers.items() if v is not None]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def status_of(data, **kw):
    with pytest.raises(HandshakeError) as info:
        request = parse_request(data)
        validate_request(request, **kw)
    return info.value.status


def test_accept_key_rfc_vector():
    assert accept_key(RFC_KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_chromium_request_is_valid_and_gets_the_rfc_answer():
    request = parse_request(CHROMIUM)
    assert request.method == "GET" and request.target == "/chat" and request.path == "/chat"
    key, protocol = validate_request(request)
    assert key == RFC_KEY and protocol is None
    response = accept_response(key)
    assert response.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in response
    assert response.endswith(b"\r\n\r\n")
    assert b"WebSocket-Location" not in response  # the 2010 draft header is gone


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


def test_firefox_connection_token_list_is_accepted():
    request = parse_request(request_with(Connection="keep-alive, Upgrade"))
    assert validate_request(request)[0] == RFC_KEY
    assert request.headers.tokens("connection") == ["keep-alive", "upgrade"]


def test_header_values_keep_their_order_and_original_names():
    request = parse_request(CHROMIUM)
    assert request.headers.items()[0] == ("Host", "127.0.0.1:8080")
    assert len(request.headers) == 12
    assert "HOST" in request.headers and "X-Nope" not in request.headers
    with pytest.raises(KeyError):
        request.headers["X-Nope"]


def test_method_other_than_get_is_405_with_allow():
    with pytest.raises(HandshakeError) as info:
        validate_request(parse_request(request_with(request_line="POST /chat HTTP/1.1")))
    assert info.value.status == 405 and ("Allow", "GET") in info.value.headers


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


def test_missing_upgrade_is_426_with_upgrade_header():
    with pytest.raises(HandshakeError) as info:
        validate_request(parse_request(request_with(Upgrade=None)))
    assert info.value.status == 426 and ("Upgrade", "websocket") in info.value.headers


def test_wrong_upgrade_is_426():
    assert status_of(request_with(Upgrade="h2c")) == 426


def test_connection_without_upgrade_token_is_400():
    assert status_of(request_with(Connection="keep-alive")) == 400


def test_missing_host_is_400():
    assert status_of(request_with(Host=None)) == 400


@pytest.mark.parametrize("version", ["8", "12", "14", None])
def test_wrong_version_is_426_naming_version_13(version):
    with pytest.raises(HandshakeError) as info:
        validate_request(parse_request(request_with(Sec_WebSocket_Version=version)))
    assert info.value.status == 426
    assert ("Sec-WebSocket-Version", "13") in info.value.headers
    assert b"Sec-WebSocket-Version: 13\r\n" in reject_response(info.value)


@pytest.mark.parametrize(
    "key",
    [
        None,
        "",
        "not base64!",
        base64.b64encode(b"x" * 15).decode(),
        base64.b64encode(b"x" * 17).decode(),
        "dGhlIHNhbXBsZSBub25jZQ",
        "dGhlIHNhbXBsZSBub25jZQ==é",
    ],
)
def test_missing_or_invalid_key_is_400(key):
    assert status_of(request_with(Sec_WebSocket_Key=key)) == 400


def test_duplicate_key_is_400():
    data = request_with().replace(b"\r\n\r\n", f"\r\nSec-WebSocket-Key: {RFC_KEY}\r\n\r\n".encode())
    assert status_of(data) == 400


def test_origin_allow_list():
    request = parse_request(request_with())
    assert validate_request(request, origins=["http://EXAMPLE.com"])[0] == RFC_KEY
    assert status_of(request_with(), origins=["http://evil.example"]) == 403
    assert status_of(request_with(Origin=None), origins=["http://example.com"]) == 403
    assert validate_request(parse_request(request_with(Origin=None)), origins=[None])


def test_subprotocol_chosen_from_the_servers_list_in_client_order():
    request = parse_request(request_with(Sec_WebSocket_Protocol="chat.v2, chat.v1"))
    assert validate_request(request, subprotocols=["chat.v1", "chat.v2"])[1] == "chat.v2"
    assert validate_request(request, subprotocols=["other"])[1] is None
    assert b"Sec-WebSocket-Protocol: chat.v2\r\n" in accept_response(RFC_KEY, "chat.v2")


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


def test_reject_response_is_plain_text_with_length_and_close():
    response = reject_response(HandshakeError(403, "origin not allowed"))
    head, body = response.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert b"Content-Type: text/plain; charset=utf-8" in head
    assert b"Content-Length: %d" % len(body) in head and b"Connection: close" in head
    assert body == b"origin not allowed\n"
    assert str(HandshakeError(403, "x")) == "HTTP 403: x"


def test_http_response_encodes_text_bodies_as_utf8():
    response = http_response(200, "你好", content_type="text/html; charset=utf-8")
    assert response.endswith("你好".encode()) and b"Content-Length: 6\r\n" in response


# ---------------------------------------------------------------- client side


def test_client_request_round_trips_through_the_server_side():
    data, key = client_request(
        "127.0.0.1:9000",
        "/echo?x=1",
        origin="http://127.0.0.1:9000",
        subprotocols=["chat"],
        extra_headers=[("X-Test", "1")],
    )
    assert len(base64.b64decode(key)) == 16
    request = parse_request(data)
    assert request.path == "/echo" and request.target == "/echo?x=1"
    got_key, protocol = validate_request(
        request, origins=["http://127.0.0.1:9000"], subprotocols=["chat"]
    )
    assert got_key == key and protocol == "chat"
    response = parse_response(accept_response(key, protocol))
    assert check_response(response, key, subprotocols=["chat"]) == "chat"


def test_client_keys_are_fresh_each_time():
    assert client_request("h")[1] != client_request("h")[1]


def test_check_response_refuses_a_wrong_accept_key():
    response = parse_response(accept_response(RFC_KEY))
    other = client_request("h")[1]
    with pytest.raises(InvalidResponse) as info:
        check_response(response, other)
    assert "Sec-WebSocket-Accept" in info.value.message
    assert info.value.status == 101


def test_check_response_reports_a_refusal_status():
    response = parse_response(reject_response(HandshakeError(403, "no")))
    with pytest.raises(InvalidResponse) as info:
        check_response(response, RFC_KEY)
    assert info.value.status == 403
    assert "403" in info.value.message and "not 101" in info.value.message


@pytest.mark.parametrize(
    "drop, add, says",
    [
        ("Upgrade: websocket\r\n", "", "Upgrade"),
        ("Connection: Upgrade\r\n", "", "Connection"),
        ("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", "", "Sec-WebSocket-Accept"),
        ("", "Sec-WebSocket-Extensions: permessage-deflate\r\n", "extension"),
        ("", "Sec-WebSocket-Protocol: unasked\r\n", "'unasked'"),
    ],
)
def test_check_response_refuses_an_invalid_101(drop, add, says):
    text = (
        accept_response(RFC_KEY).decode().replace(drop, "", 1)
        if drop
        else accept_response(RFC_KEY).decode()
    )
    text = text[:-2] + add + "\r\n"
    with pytest.raises(InvalidResponse) as info:
        check_response(parse_response(text.encode()), RFC_KEY)
    assert info.value.status == 101 and says in info.value.message
    assert not isinstance(info.value, HandshakeError)


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


def test_client_request_uses_a_given_key():
    data, key = client_request("h", key=RFC_KEY)
    assert key == RFC_KEY and f"Sec-WebSocket-Key: {RFC_KEY}\r\n".encode() in data


def test_a_refused_101_reads_as_an_invalid_response_not_as_a_status():
    assert str(InvalidResponse("bad accept", 101)) == (
        "invalid response to our handshake (HTTP 101): bad accept"
    )
    assert str(InvalidResponse("garbled")) == "invalid response to our handshake: garbled"
    error = InvalidResponse("x", 403)
    assert (error.message, error.status) == ("x", 403)
    assert InvalidResponse("x").status is None


def test_a_426_names_upgrade_in_connection_too():
    with pytest.raises(HandshakeError) as info:
        validate_request(parse_request(request_with(Sec_WebSocket_Version="8")))
    head = reject_response(info.value).split(b"\r\n\r\n")[0]
    assert b"\r\nUpgrade: websocket\r\n" in head and b"\r\nConnection: Upgrade, close" in head
    assert head.count(b"Connection:") == 1


def test_headers_iterate_in_order_and_bytes_bodies_pass_through():
    headers = Headers([("A", "1"), ("B", "2")])
    assert list(headers) == [("A", "1"), ("B", "2")]
    assert http_response(200, b"\x00\xff").endswith(b"\r\n\r\n\x00\xff")


# ---------------------------------------------------------- the client refuses: InvalidResponse


def test_invalid_response_is_the_clients_refusal_not_a_server_status():
    assert issubclass(InvalidResponse, WebSocketError)
    assert not issubclass(InvalidResponse, HandshakeError)
    assert not issubclass(HandshakeError, InvalidResponse)


def _response_with(drop="", add=""):
    text = accept_response(RFC_KEY).decode()
    if drop:
        assert drop in text
        text = text.replace(drop, "", 1)
    return (text[:-2] + add + "\r\n").encode()


@pytest.mark.parametrize(
    "data, key, subprotocols, status",
    [
        # A 101 with the accept value of another key.
        (accept_response(accept_key(RFC_KEY)), RFC_KEY, (), 101),
        (_response_with(drop="Upgrade: websocket\r\n"), RFC_KEY, (), 101),
        (_response_with(drop="Connection: Upgrade\r\n"), RFC_KEY, (), 101),
        (_response_with(add="Sec-WebSocket-Protocol: chat\r\n"), RFC_KEY, ("other",), 101),
        (_response_with(add="Sec-WebSocket-Protocol: chat\r\n"), RFC_KEY, (), 101),
        (reject_response(HandshakeError(403, "origin not allowed")), RFC_KEY, (), 403),
        (http_response(200, "hello"), RFC_KEY, (), 200),
        (b"HTTP/1.1 426 Upgrade Required\r\n\r\n", RFC_KEY, (), 426),
    ],
)
def test_every_refused_server_answer_is_invalid_response_with_its_status(
    data, key, subprotocols, status
):
    response = parse_response(data)
    assert response is not None
    with pytest.raises(InvalidResponse) as info:
        check_response(response, key, subprotocols=subprotocols)
    assert info.value.status == status
    assert str(info.value).startswith(f"invalid response to our handshake (HTTP {status}): ")


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
