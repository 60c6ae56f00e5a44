"""The errors (``wslearn.errors``): whose fault each one is, and what it carries."""

from wslearn import (
    CloseCode,
    HandshakeError,
    InvalidResponse,
    LocalProtocolError,
    ProtocolError,
    WebSocketError,
)


def test_a_refused_101_reads_as_an_invalid_response_not_as_a_status():
    assert str(InvalidResponse("bad accept", 101)) == (
        "invalid response to our handshake (HTTP 101): bad accept"
    )
    assert str(InvalidResponse("garbled")) == "invalid response to our handshake: garbled"
    error = InvalidResponse("x", 403)
    assert (error.message, error.status) == ("x", 403)
    assert InvalidResponse("x").status is None


def test_invalid_response_is_the_clients_refusal_not_a_server_status():
    assert issubclass(InvalidResponse, WebSocketError)
    assert not issubclass(InvalidResponse, HandshakeError)
    assert not issubclass(HandshakeError, InvalidResponse)


def test_protocol_error_carries_the_close_code_as_a_plain_number():
    error = ProtocolError("reserved opcode 3")
    assert error.code == 1002 and type(error.code) is int
    assert str(error) == "close code 1002: reserved opcode 3"
    assert ProtocolError("not UTF-8", CloseCode.INVALID_DATA).code == 1007
    assert HandshakeError(426, "x", [("Sec-WebSocket-Version", "13")]).headers == (
        ("Sec-WebSocket-Version", "13"),
    )


def test_our_own_mistake_is_a_value_error_and_not_the_peers_protocol_error():
    assert issubclass(LocalProtocolError, ValueError)
    assert issubclass(LocalProtocolError, WebSocketError)
    assert not issubclass(LocalProtocolError, ProtocolError)
    assert not issubclass(ProtocolError, ValueError)
