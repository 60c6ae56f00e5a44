"""The descriptor kept in reserve turns a waiting client away with 503."""

from __future__ import annotations

import socket

import wslearn
from wslearn.spare_descriptor import BUSY, SpareDescriptor


def test_turn_away_answers_the_waiting_client_503_and_takes_a_spare_again() -> None:
    spare = SpareDescriptor()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        with socket.create_connection(listener.getsockname(), timeout=5) as client:
            assert spare.turn_away(listener) is True
            answer = b""
            while chunk := client.recv(4096):
                answer += chunk
        response = wslearn.parse_response(answer)
        assert response is not None and response.status == 503
        assert response.headers.get("Retry-After") == "1" and answer == BUSY
        # The spare is taken again: a second client can be turned away too.
        with socket.create_connection(listener.getsockname(), timeout=5) as client:
            assert spare.turn_away(listener) is True
            assert client.recv(12) == b"HTTP/1.1 503"
    spare.close()
    spare.close()  # closing twice is harmless


def test_turn_away_with_nobody_waiting_returns_false() -> None:
    spare = SpareDescriptor()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        assert spare.turn_away(listener) is False
    spare.close()
