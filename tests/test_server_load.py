"""The live server under load: many connections at once, many threads, restarts on one port.

One thread per connection, and every write whole under the connection's lock: these tests
check that this holds with 200 clients open together, with 8 threads sending on one
connection at the same time, and across 20 restarts on the same port.
"""

from __future__ import annotations

import contextlib
import struct
import threading
import time

import pytest
from helpers import rawclient as rc
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK

import wslearn

pytestmark = pytest.mark.timeout(60)


def server_threads(port: int):
    return [
        t
        for t in threading.enumerate()
        if t.name.startswith("wslearn-") and t.name.endswith(f"-{port}") and t.is_alive()
    ]


def test_200_connections_open_at_once_are_all_echoed():
    count = 200
    with wslearn.serve(port=0, handshake_timeout=5.0, close_timeout=2.0) as server:
        with contextlib.ExitStack() as stack:
            clients = [stack.enter_context(rc.connect_ws(server.url)) for _ in range(count)]
            for i, ws in enumerate(clients):
                ws.send(f"message {i} " + "x" * (i % 50))
            echoes = [ws.recv(timeout=5) for ws in clients]
            open_at_once = len(server.connections)
        assert echoes == [f"message {i} " + "x" * (i % 50) for i in range(count)]
        assert open_at_once == count
        assert rc.wait_until(lambda: len(server.connections) == 0, seconds=10)
        records = server.recorder.connections()
        assert len(records) == count
        assert all(r.status == 101 and r.error == "" for r in records)


def test_broadcast_reaches_every_open_connection():
    with wslearn.serve(port=0, handler="broadcast", close_timeout=1.0) as server:
        with contextlib.ExitStack() as stack:
            clients = [stack.enter_context(rc.connect_ws(server.url)) for _ in range(5)]
            assert rc.wait_until(lambda: len(server.connections) == 5)
            clients[2].send("hello, everyone")
            received = [ws.recv(timeout=5) for ws in clients]
    assert received == ["hello, everyone"] * 5


def test_handler_that_raises_closes_that_client_with_1011_and_the_server_goes_on(capsys):
    def picky(conn, message):
        if message == "boom":
            raise ValueError("this handler does not like boom")
        conn.send(message)

    with wslearn.serve(port=0, handler=picky, close_timeout=1.0) as server:
        with rc.connect_ws(server.url) as bystander, rc.connect_ws(server.url) as victim:
            victim.send("boom")
            with pytest.raises(ConnectionClosedError) as closed:
                victim.recv(timeout=5)
            assert closed.value.rcvd.code == 1011
            assert "ValueError" in closed.value.rcvd.reason
            bystander.send("still fine?")
            assert bystander.recv(timeout=5) == "still fine?"
        rc.assert_echoes(server.url)
        assert len(server.errors) == 1
        conn_id, error, text = server.errors[0]
        assert isinstance(error, ValueError)
        assert "this handler does not like boom" in text
        assert server.recorder.connection(conn_id).close_code == 1011
    assert "closing it with 1011" in capsys.readouterr().err


def test_serving_again_on_the_same_port_replaces_the_old_server_20_times():
    with wslearn.serve(port=0) as probe:
        port = probe.port
    for _ in range(20):
        with contextlib.ExitStack() as stack:
            first = wslearn.serve(port=port, handshake_timeout=2.0, close_timeout=1.0)
            stack.callback(first.stop)
            old_client = stack.enter_context(rc.connect_ws(first.url))
            old_client.send("before")
            assert old_client.recv(timeout=5) == "before"
            second = wslearn.serve(port=port, handshake_timeout=2.0, close_timeout=1.0)
            stack.callback(second.stop)
            assert not first.running
            assert second.running and second.port == port
            assert first not in wslearn.server.running_servers()
            assert second in wslearn.server.running_servers()
            with pytest.raises(ConnectionClosedOK) as closed:
                old_client.recv(timeout=5)
            assert closed.value.rcvd.code == 1001
            rc.assert_echoes(second.url, "after")
            second.stop()
            assert not second.running
            assert server_threads(port) == []


def test_stop_joins_every_thread_of_the_server():
    with wslearn.serve(port=0, handshake_timeout=5.0, close_timeout=0.5) as server:
        port = server.port
        with contextlib.ExitStack() as stack:
            for _ in range(3):
                stack.enter_context(rc.connect_ws(server.url))
            stack.enter_context(rc.handshake(port))  # never answers the Close
            half = stack.enter_context(rc.open_socket(port))
            half.sendall(rc.request()[:20])  # still in its handshake
            assert rc.wait_until(lambda: len(server.connections) == 4)
            # The accept thread, the keepalive thread, and one thread per connection (the
            # half-open one's ends at its handshake time-out, 5 s: checked well before that).
            assert rc.wait_until(lambda: len(server_threads(port)) == 2 + 5, seconds=3.0)
            server.stop()
            assert server_threads(port) == []
            assert server.connections == []


def test_concurrent_sends_on_one_connection_never_interleave():
    senders, per_sender, size = 8, 100, 20_000
    held = []

    def keep(conn, message):
        held.append(conn)

    def payload(sender: int, number: int) -> bytes:
        # Distinct throughout: every 4-byte word names its sender and message number.
        return struct.pack("!HH", sender, number) * (size // 4)

    with wslearn.serve(port=0, handler=keep, close_timeout=1.0, max_frames=100) as server:
        with rc.connect_ws(server.url, max_size=None) as ws:
            ws.send("hold me")
            assert rc.wait_until(lambda: held)
            conn = held[0]
            failures = []

            def send_all(sender: int) -> None:
                try:
                    for number in range(per_sender):
                        conn.send(payload(sender, number))
                except Exception as error:  # reported below, in the test's thread
                    failures.append(error)

            threads = [
                threading.Thread(target=send_all, args=(s,), name=f"sender-{s}")
                for s in range(senders)
            ]
            for t in threads:
                t.start()
            received = []
            deadline = time.monotonic() + 30
            while len(received) < senders * per_sender and time.monotonic() < deadline:
                received.append(ws.recv(timeout=10))
            for t in threads:
                t.join(timeout=10)
            assert not any(t.is_alive() for t in threads)
            assert failures == []
    assert len(received) == senders * per_sender
    next_number = [0] * senders
    for message in received:
        assert isinstance(message, bytes) and len(message) == size
        sender, number = struct.unpack("!HH", message[:4])
        assert message == payload(sender, number), "a message arrived mixed with another"
        assert number == next_number[sender], "one sender's messages arrived out of order"
        next_number[sender] += 1
    assert next_number == [per_sender] * senders
