"""Where the course teaches each rule, and the rules themselves, in plain words.

A failed conformance case names the notebook to go back to and the rule of RFC 6455 the
server broke: what the RFC requires, never how to write it. They are kept here, in one place,
so that notebook 12 can show them and every case words them the same way.
"""

from __future__ import annotations

__all__ = [
    "NOTEBOOK_REQUEST",
    "NOTEBOOK_ACCEPT",
    "NOTEBOOK_HEADER",
    "NOTEBOOK_UNMASKING",
    "NOTEBOOK_TALKING_BACK",
    "NOTEBOOK_STREAMS",
]

NOTEBOOK_REQUEST = "01 From TCP to the upgrade request"
NOTEBOOK_ACCEPT = "02 The accept key"
NOTEBOOK_HEADER = "03 The frame header"
NOTEBOOK_UNMASKING = "04 Unmasking"
NOTEBOOK_TALKING_BACK = "06 Talking back and closing"
NOTEBOOK_STREAMS = "07 Streams, fragments and UTF-8"

# The opening handshake (§4).
ACCEPT_101 = "RFC 6455 §4.2.2: a valid opening handshake is answered 101 Switching Protocols"
UPGRADE_HEADERS = "RFC 6455 §4.2.2: the 101 carries 'Upgrade: websocket' and 'Connection: Upgrade'"
ACCEPT_KEY = (
    "RFC 6455 §4.2.2: Sec-WebSocket-Accept is the base64 of the SHA-1 of the client's key "
    "followed by the GUID 258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
)
NO_UNOFFERED_EXTENSION = (
    "RFC 6455 §9.1: a server accepts only extensions the client offered (none was)"
)
MISSING_KEY = (
    "RFC 6455 §4.2.1: a request without Sec-WebSocket-Key is refused with an HTTP error "
    "status (such as 400 Bad Request), never 101"
)
WRONG_VERSION = (
    "RFC 6455 §4.4: a Sec-WebSocket-Version the server does not speak is refused with an "
    "error status (such as 426 Upgrade Required) and a Sec-WebSocket-Version header naming "
    "the versions it speaks (13)"
)

# Frames (§5).
FRAME_HEADER = (
    "RFC 6455 §5.2: every frame follows the base framing: a known opcode, RSV bits 0, and the "
    "payload length in its shortest form (7-bit up to 125, 16-bit up to 65535, else 64-bit)"
)
LENGTH_CASES = (
    "RFC 6455 §5.2: a length of 126 means a 16-bit length follows, 127 a 64-bit one; the "
    "whole payload is read and echoed"
)
SERVER_DOES_NOT_MASK = "RFC 6455 §5.1: a server MUST NOT mask any frames that it sends"
CLIENT_MUST_MASK = (
    "RFC 6455 §5.1: a server MUST close the connection on a frame from the client that is "
    "not masked (Close code 1002, protocol error)"
)
MESSAGE_TYPE = (
    "RFC 6455 §5.6: opcode 0x2 is binary data, 0x1 UTF-8 text; an echo keeps the message's "
    "type and bytes"
)
FRAGMENTS = (
    "RFC 6455 §5.4: the fragments of a message (first frame FIN=0, then continuations up to "
    "FIN=1) make one message, and control frames may come between them"
)
PONG = (
    "RFC 6455 §5.5.2-5.5.3: a Ping is answered with a Pong carrying the same application "
    "data, even in the middle of a fragmented message"
)
INVALID_UTF8 = (
    "RFC 6455 §8.1: a text message that is not valid UTF-8 fails the connection, with Close "
    "code 1007 (§7.4.1)"
)
CLOSE_ANSWERED = (
    "RFC 6455 §5.5.1: a Close frame is answered with a Close frame, which typically echoes "
    "its status code (1000 here)"
)
NO_DATA_AFTER_CLOSE = (
    "RFC 6455 §5.5.1: after sending a Close frame, an endpoint MUST NOT send any more data"
)
TCP_CLOSED_AFTER_CLOSE = (
    "RFC 6455 §7.1.1: after sending and receiving a Close frame, an endpoint MUST close the "
    "TCP connection (the server first)"
)

#: The message size limit the ``oversized`` case assumes: 1 MiB, ``wslearn.serve``'s default.
MAX_SIZE = 2**20
OVERSIZED = (
    "RFC 6455 §10.4: a server limits the size of a message and closes with 1009 (message too "
    f"big) above it; this case assumes a limit of {MAX_SIZE} bytes (1 MiB, like wslearn.serve)"
)
