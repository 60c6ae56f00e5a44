"""A DELIBERATELY BROKEN WebSocket server, kept as the bad example of notebook 08. Do not copy it.

This is the kind of "WebSocket server in 40 lines" found in old blog posts, with
their mistakes left in on purpose so that a notebook can run real clients
against it and watch each one fail. It is *not* a second implementation of the
protocol: the real one is :class:`wslearn.Connection` and :func:`wslearn.serve`.

What it gets wrong (each one shown failing in ``08_toy_to_real.ipynb``):

* one ``recv(1024)`` is taken to be one whole frame (bursts, big messages);
* headers go into a case-sensitive ``dict`` (``Sec-Websocket-Key`` → KeyError);
* it answers with the obsolete ``WebSocket-Location`` header of a 2010 draft;
* it calls unmasking "decrypt" and assumes the 7-bit length (payloads ≤ 125);
* it never looks at the opcode: Ping and Close are echoed back as text.

Only the socket handling is made safe for a notebook: ``serve_toy(port=0)``
binds 127.0.0.1, lets in only its own user's programs (:mod:`wslearn.peer_user`), every
wait is bounded, and ``stop()`` ends every thread.
"""

import base64
import hashlib
import socket
import threading

from ..peer_user import another_users

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def handshake(conn):
    data = conn.recv(1024).decode()  # BUG: the request may take more than one recv
    headers = {}
    for line in data.split("\r\n")[1:]:
        if ": " in line:
            name, value = line.split(": ", 1)
            headers[name] = value  # BUG: header names are case-insensitive (RFC 7230)
    key = headers["Sec-WebSocket-Key"]  # KeyError when a proxy writes Sec-Websocket-Key
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    conn.send(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"WebSocket-Location: ws://{headers.get('Host')}/\r\n"  # BUG: obsolete draft header
        f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
    )


def decrypt(frame):  # BUG in the name: masking is not encryption, the key is in the frame
    length = frame[1] & 127  # BUG: 126 and 127 mean "the length follows", not a length
    key = frame[2:6]
    return bytes(b ^ key[i % 4] for i, b in enumerate(frame[6 : 6 + length]))


def encode(payload):
    return bytes([0x81, len(payload) & 0xFF]) + payload  # BUG: 7-bit length only, always text


class ToyServer:
    """The running toy: ``port``, ``errors`` (exceptions of its threads) and ``stop()``."""

    def __init__(self, port=0, timeout=5.0):
        self.errors, self._conns, self._threads = [], [], []
        self._listener = socket.create_server(("127.0.0.1", port))
        self._listener.settimeout(0.1)
        self.port, self.timeout, self.running = self._listener.getsockname()[1], timeout, True
        self._spawn(self._accept)

    def _spawn(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self):
        while self.running:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # timeout: look at self.running again
                continue
            if another_users(conn):  # another learner's program, on a shared host
                conn.close()
                continue
            conn.settimeout(self.timeout)
            self._conns.append(conn)
            self._spawn(self._client, conn)

    def _client(self, conn):
        try:
            handshake(conn)
            while self.running:
                data = conn.recv(1024)  # BUG: one recv() is not one frame
                if not data:
                    break
                conn.send(encode(decrypt(data)))  # BUG: no opcode check: Ping, Close echoed
        except Exception as error:  # kept, so a notebook can show what went wrong
            self.errors.append(error)
        finally:
            conn.close()

    def stop(self):
        self.running = False
        for conn in self._conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(timeout=2)
        self._listener.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def serve_toy(port=0):
    """Start the broken toy server on 127.0.0.1 (``port=0``: a free port); returns a ToyServer."""
    return ToyServer(port)
