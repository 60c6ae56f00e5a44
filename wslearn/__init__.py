"""wslearn: WebSocket (RFC 6455) built up from the raw socket, for learning.

The protocol core is *sans-I/O*: functions and small classes that take bytes and
return values or events, with no sockets, threads or clocks. Everything a
notebook teaches is importable from here:

* :func:`accept_key` — the ``Sec-WebSocket-Accept`` computation (§4.2.2)
* :func:`parse_request`, :func:`validate_request`, :func:`accept_response`,
  :func:`reject_response`, :func:`client_request`, :func:`check_response` — the handshake (§4);
  :func:`select_subprotocol`, the server's choice of subprotocol (§4.2.2)
* :func:`parse_frame_header`, :class:`Frame` — the frame format (§5.2); :class:`Close`, a
  Close frame's code and reason (§5.5.1)
* :func:`unmask` — masking and unmasking (§5.3)
* :class:`FrameReader` — whole frames out of a byte stream, whatever the chunking
* :class:`Connection` — messages, control frames and the closing handshake (§5.4–§7)
* :func:`parse_extensions`, :func:`negotiate_deflate`, :func:`check_deflate_answer`,
  :class:`DeflateParameters`, :class:`PerMessageDeflate` — extensions and permessage-deflate
  (RFC 6455 §9, RFC 7692)
* :func:`make_token`, :func:`check_token` — signed, expiring tokens for authentication

Around that core, :func:`serve` runs a live server in background threads (the I/O ring:
``server``, ``server_connection``, ``recording``) and records every frame it sees; the views
(:func:`frames_table`, :func:`bit_diagram`, :class:`LiveView`, :func:`describe_frame`,
:func:`sequence_diagram`) and the
in-notebook :class:`BrowserClient` show them. :func:`connect` is the client's side of the same
ring (``client``); :class:`ChatRooms` (``chat``) and :func:`first_message_auth` (``auth``) are
small applications on top. Those are imported when first used. ``wslearn.asyncio`` drives the
same core from asyncio (``import wslearn.asyncio``: ``serve``, ``connect``).
"""

from typing import TYPE_CHECKING

from .connection import (
    DEFAULT_MAX_SIZE,
    Binary,
    Close,
    Connection,
    Event,
    Failed,
    Ping,
    Pong,
    State,
    Text,
)
from .errors import (
    ConnectionClosed,
    HandshakeError,
    InvalidResponse,
    LocalProtocolError,
    ProtocolError,
    WebSocketError,
)
from .extensions import Extension, NegotiationError, parse_extensions
from .frames import Frame, FrameHeader, encode_frame_header, length_case, parse_frame_header
from .handshake import (
    GUID,
    accept_key,
    accept_response,
    check_response,
    client_request,
    reject_response,
    select_subprotocol,
    validate_request,
)
from .http11 import Headers, Request, Response, http_response, parse_request, parse_response
from .lazy import lazy_names
from .masking import mask, unmask, unmask_reference
from .opcodes import CloseCode, Opcode, close_code_is_valid
from .permessage_deflate import (
    DeflateParameters,
    PerMessageDeflate,
    check_deflate_answer,
    negotiate_deflate,
)
from .reader import FrameReader
from .tokens import TokenError, check_token, make_token

if TYPE_CHECKING:  # what the names are, for type checkers; at run time see __getattr__
    from .auth import first_message_auth
    from .chat import ChatRooms
    from .client import ClientConnection, connect
    from .recording import ConnectionRecord, FrameRecord, Recorder
    from .server import Server, ServerConnection
    from .serving import serve
    from .views import (
        FramesTable,
        LiveView,
        bit_diagram,
        describe_frame,
        frames_table,
        header_fields,
        sequence_diagram,
    )
    from .widget import BrowserClient

__version__ = "0.1.0"

#: Names of the I/O ring and the views, and the module that defines each. They are imported
#: the first time one is used (PEP 562), so ``import wslearn.frames`` loads no sockets,
#: threads or views, and the widget's anywidget only when a notebook shows one.
_LAZY = {
    "first_message_auth": "auth",
    "ChatRooms": "chat",
    "ClientConnection": "client",
    "connect": "client",
    "ConnectionRecord": "recording",
    "FrameRecord": "recording",
    "Recorder": "recording",
    "Server": "server",
    "ServerConnection": "server",
    "serve": "serving",
    "FramesTable": "views",
    "LiveView": "views",
    "bit_diagram": "views",
    "describe_frame": "views",
    "frames_table": "views",
    "header_fields": "views",
    "sequence_diagram": "views",
    "BrowserClient": "widget",
}


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())


__all__ = [
    "BrowserClient",
    "ChatRooms",
    "ClientConnection",
    "connect",
    "first_message_auth",
    "header_fields",
    "frames_table",
    "describe_frame",
    "bit_diagram",
    "sequence_diagram",
    "LiveView",
    "FramesTable",
    "DEFAULT_MAX_SIZE",
    "GUID",
    "Binary",
    "Close",
    "CloseCode",
    "Connection",
    "ConnectionClosed",
    "ConnectionRecord",
    "DeflateParameters",
    "Event",
    "Extension",
    "Failed",
    "Frame",
    "FrameHeader",
    "FrameRecord",
    "FrameReader",
    "HandshakeError",
    "InvalidResponse",
    "LocalProtocolError",
    "Headers",
    "NegotiationError",
    "Opcode",
    "PerMessageDeflate",
    "Ping",
    "Pong",
    "ProtocolError",
    "Recorder",
    "Request",
    "Response",
    "Server",
    "ServerConnection",
    "State",
    "Text",
    "TokenError",
    "WebSocketError",
    "accept_key",
    "accept_response",
    "check_deflate_answer",
    "check_response",
    "check_token",
    "client_request",
    "close_code_is_valid",
    "encode_frame_header",
    "http_response",
    "length_case",
    "make_token",
    "mask",
    "negotiate_deflate",
    "parse_extensions",
    "parse_frame_header",
    "parse_request",
    "parse_response",
    "reject_response",
    "select_subprotocol",
    "serve",
    "unmask",
    "unmask_reference",
    "validate_request",
]
