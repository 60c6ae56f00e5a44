"""The opening handshake (RFC 6455 §4): validation, status codes, both roles.

Reading and writing the HTTP heads themselves is tested in ``test_http11.py``.
"""

import base64

import pytest
from helpers.upgrade_requests import CHROMIUM, RFC_KEY, request_with, status_of

from wslearn import (
    HandshakeError,
    InvalidResponse,
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
from wslearn.handshake import LOCAL, origin_is_local


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


def test_firefox_connection_token_list_is_accepted():
    request = parse_request(request_with(Connection="keep-alive, Upgrade"))
    assert validate_request(request)[0] == RFC_KEY
    assert request.headers.tokens("connection") == ["keep-alive", "upgrade"]


def test_method_other_than_get_is_405_with_allow():
    with pytest.raises(HandshakeError) as info:
        validate_request(parse_request(request_with(request_line="POST /chat HTTP/1.1")))
    assert info.value.status == 405 and ("Allow", "GET") in info.value.headers


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


@pytest.mark.parametrize(
    "origin, host, allowed",
    [
        ("http://localhost:8888", "127.0.0.1:9000", True),  # the notebook's page on a laptop
        ("http://127.0.0.1:8888", "127.0.0.1:9000", True),
        ("http://127.8.9.10", "127.0.0.1:9000", True),  # all of 127.0.0.0/8
        ("http://[::1]:8888", "[::1]:9000", True),
        ("https://hub.example.org", "hub.example.org", True),  # behind jupyter-server-proxy
        ("http://192.168.1.5:8080", "192.168.1.5:8080", True),  # the server's own test page
        ("HTTP://LOCALHOST:8888", "127.0.0.1:9000", True),
        ("https://evil.example", "127.0.0.1:9000", False),
        ("http://localhost.evil.example", "127.0.0.1:9000", False),
        ("http://127.0.0.1.evil.example", "127.0.0.1:9000", False),
        ("https://hub.example.org", "other.example.org", False),
        ("null", "127.0.0.1:9000", False),  # a sandboxed frame or a file
    ],
)
def test_the_default_origin_policy_accepts_this_host_and_this_machine(origin, host, allowed):
    assert origin_is_local(origin, host) is allowed
    data = request_with(Origin=origin, Host=host)
    if allowed:
        assert validate_request(parse_request(data), origins=LOCAL)[0] == RFC_KEY
    else:
        assert status_of(data, origins=LOCAL) == 403


def test_the_default_origin_policy_lets_in_a_program_without_origin_and_says_how_to_open_up():
    assert validate_request(parse_request(request_with(Origin=None)), origins=LOCAL)
    with pytest.raises(HandshakeError) as refused:
        validate_request(parse_request(request_with(Origin="https://evil.example")), origins=LOCAL)
    assert refused.value.status == 403
    assert "origins=[...]" in refused.value.message and "--origin" in refused.value.message
    with pytest.raises(ValueError):
        validate_request(parse_request(request_with()), origins="everyone")


def test_subprotocol_chosen_from_the_servers_list_in_client_order():
    request = parse_request(request_with(Sec_WebSocket_Protocol="chat.v2, chat.v1"))
    assert validate_request(request, subprotocols=["chat.v1", "chat.v2"])[1] == "chat.v2"
    assert validate_request(request, subprotocols=["other"])[1] is None
    assert b"Sec-WebSocket-Protocol: chat.v2\r\n" in accept_response(RFC_KEY, "chat.v2")


def test_reject_response_is_plain_text_with_length_and_close():
    response = reject_response(HandshakeError(403, "origin not allowed"))
    head, body = response.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert b"Content-Type: text/plain; charset=utf-8" in head
    assert b"Content-Length: %d" % len(body) in head and b"Connection: close" in head
    assert body == b"origin not allowed\n"
    assert str(HandshakeError(403, "x")) == "HTTP 403: x"


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


def test_client_request_uses_a_given_key():
    data, key = client_request("h", key=RFC_KEY)
    assert key == RFC_KEY and f"Sec-WebSocket-Key: {RFC_KEY}\r\n".encode() in data


def test_a_426_names_upgrade_in_connection_too():
    with pytest.raises(HandshakeError) as info:
        validate_request(parse_request(request_with(Sec_WebSocket_Version="8")))
    head = reject_response(info.value).split(b"\r\n\r\n")[0]
    assert b"\r\nUpgrade: websocket\r\n" in head and b"\r\nConnection: Upgrade, close" in head
    assert head.count(b"Connection:") == 1


# ---------------------------------------------------------- the client refuses: InvalidResponse


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
